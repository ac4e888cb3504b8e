import { createHash } from 'node:crypto';
import { SopsIntegrityError } from '../errors.ts';
import { type DataKey, dataKeyObject, EncTexts, isEncValue, openEncText, openEncValue, parseEncValue, sealEncValue } from './cipher.ts';
import { macAad, type SopsMetadata } from './metadata.ts';
import { compileSelector, DEFAULT_SELECTOR, ENCRYPT_EVERYTHING, type LeafRule } from './selectors.ts';
import type { StoreFormat } from './store.ts';
import type { Comment, Scalar, ScalarValue, Tree } from './tree.ts';
import { type EncType, encTypeOf, lenientUtf8, plaintextBytes, valueFromPlaintext } from './values.ts';
import { walkTree } from './walk.ts';

/**
 * Encrypting and decrypting a whole tree in place (sops-format.md §0, §3, §4). Pure: the data key
 * comes in, nothing leaves but the tree and a fingerprint.
 */

export interface DecryptOptions {
  /** Accept a missing or wrong MAC (sops's `--ignore-mac`). Never used by rotate or verification. */
  readonly ignoreMac?: boolean;
}

export interface TreeCrypt {
  /**
   * A digest of every leaf's AAD, type and plaintext, and every comment: equal fingerprints mean
   * equal plaintext trees. Lets verification compare without keeping a second copy of secrets.
   * The type is the `type:` sops writes, so a binary payload read as raw bytes and the same bytes
   * decrypted back as a UTF-8 `str` count as equal.
   */
  readonly fingerprint: string;
}

export function leafRuleFor(format: StoreFormat, metadata: Pick<SopsMetadata, 'selector'>): LeafRule {
  // Binary files always encrypt their single value; the rules are ignored (§4.1).
  if (format === 'binary') return ENCRYPT_EVERYTHING;
  return compileSelector(metadata.selector ?? DEFAULT_SELECTOR);
}

/** Decrypts every value and comment in place and checks the MAC. */
export function decryptTree(
  tree: Tree,
  dataKey: Uint8Array,
  metadata: SopsMetadata,
  format: StoreFormat,
  options: DecryptOptions = {},
): TreeCrypt {
  return openTree(tree, dataKey, metadata, format, options.ignoreMac === true, true);
}

/**
 * Decrypts every value and comment and checks the MAC as `decryptTree` does, but leaves the tree
 * as it is: for a read-back that only needs the verdict and the fingerprint. No plaintext value
 * becomes a string, and a failed check leaves no half-decrypted tree behind.
 */
export function checkTree(tree: Tree, dataKey: Uint8Array, metadata: SopsMetadata, format: StoreFormat): TreeCrypt {
  return openTree(tree, dataKey, metadata, format, false, false);
}

function openTree(tree: Tree, dataKey: Uint8Array, metadata: SopsMetadata, format: StoreFormat, ignoreMac: boolean, inPlace: boolean): TreeCrypt {
  const key = dataKeyObject(dataKey);
  const hashes = new LeafHashes(metadata.macOnlyEncrypted);
  try {
    walkTree(tree, leafRuleFor(format, metadata), {
      scalar(node, { aad, encrypt }) {
        const enc = openLeaf(node.value, aad, encrypt, key, hashes);
        if (enc === undefined) return;
        const plain = enc.plaintext;
        // A `str` or `bytes` value's plaintext is the bytes just decrypted (decoding keeps every
        // byte, and a `str` that is not UTF-8 is kept as bytes), hashed as written: `str`. Other
        // types are read as Go reads them (which may refuse them) and hashed in Go's text form.
        if (enc.type === 'str' || enc.type === 'bytes') {
          hashes.leaf(aad, 'str', plain);
          if (inPlace) node.value = valueFromPlaintext(enc.type, plain, aad);
          else plain.fill(0);
          return;
        }
        const value = valueFromPlaintext(enc.type, plain, aad);
        hashes.leaf(aad, encTypeOf(value), plaintextBytes(value));
        if (inPlace) node.value = value;
      },
      comment(node, { aad, encrypt }) {
        const text = decryptedComment(node.text, key, aad, encrypt);
        hashes.fingerprintOnly(aad, 'comment', Buffer.from(text, 'utf8'));
        if (inPlace) node.text = text;
      },
    });
    if (!ignoreMac) checkMac(hashes.macHex(), metadata, key);
    return { fingerprint: hashes.fingerprintHex() };
  } finally {
    hashes.wipe();
  }
}

/**
 * Encrypts every value and comment the file's rule selects, in place, with fresh IVs, and returns
 * the new encrypted MAC bound to `lastModified`.
 */
export function encryptTree(
  tree: Tree,
  dataKey: Uint8Array,
  metadata: Pick<SopsMetadata, 'selector' | 'macOnlyEncrypted'>,
  format: StoreFormat,
  lastModified: string,
): TreeCrypt & { readonly mac: string } {
  const key = dataKeyObject(dataKey);
  const hashes = new LeafHashes(metadata.macOnlyEncrypted);
  const sealed = new SealedLeaves();
  try {
    walkTree(tree, leafRuleFor(format, metadata), {
      scalar(node, { aad, encrypt }) {
        if (!encrypt) {
          hashes.clearLeaf(aad, node.value);
          return;
        }
        const bytes = plaintextBytes(node.value);
        const type = encTypeOf(node.value);
        hashes.leaf(aad, type, bytes);
        if (bytes.length > 0) sealed.seal(node, bytes, type, key, Buffer.from(aad, 'utf8'));
      },
      comment(node, { aad, encrypt }) {
        encryptComment(node, key, aad, encrypt, hashes);
      },
    });
    sealed.store();
    return { mac: sealMac(hashes.macHex(), key, lastModified), fingerprint: hashes.fingerprintHex() };
  } finally {
    hashes.wipe();
  }
}

/**
 * `decryptTree` under `oldKey` then `encryptTree` under `newKey`, in one walk: each value goes from
 * its old `ENC[...]` to its new one without becoming a JS string in between, and is decrypted,
 * hashed and encrypted while its bytes are at hand. The old MAC is checked before this returns,
 * so a damaged file throws as `decryptTree` would and its new tree must not be used.
 *
 * The fingerprint is `decryptTree`'s of the old tree (and `encryptTree`'s of the new one).
 */
export function reencryptTree(
  tree: Tree,
  oldKey: Uint8Array,
  newKey: Uint8Array,
  metadata: SopsMetadata,
  format: StoreFormat,
  lastModified: string,
): TreeCrypt & { readonly mac: string } {
  if (readsComments(format, metadata)) {
    // Comment rules decide on the comments seen so far. One walk decides on their stored text
    // (an ENC[...] for an encrypted comment); sops's encrypt decides on their plaintext. The two
    // differ when the file's rule is not the one it was encrypted under (the rule is outside the
    // MAC), so these files take the two walks sops takes.
    const before = decryptTree(tree, oldKey, metadata, format);
    return { ...encryptTree(tree, newKey, metadata, format, lastModified), fingerprint: before.fingerprint };
  }
  const from = dataKeyObject(oldKey);
  const to = dataKeyObject(newKey);
  const hashes = new LeafHashes(metadata.macOnlyEncrypted);
  const sealed = new SealedLeaves();
  try {
    walkTree(tree, leafRuleFor(format, metadata), {
      scalar(node, { aad, encrypt }) {
        // One AAD buffer for the value's two ciphers.
        const aadBytes = Buffer.from(aad, 'utf8');
        const enc = openLeaf(node.value, aad, encrypt, from, hashes, aadBytes);
        if (enc === undefined) return;
        const plain = enc.plaintext;
        // What decryptTree would hold, then encode again; `str` (valid UTF-8 or not) and `bytes`
        // are their decrypted bytes, written as `str`.
        let type: EncType = 'str';
        let bytes = plain;
        if (enc.type !== 'str') {
          const value = valueFromPlaintext(enc.type, plain, aad);
          type = encTypeOf(value);
          if (!holdsPlaintextBytes(value)) bytes = plaintextBytes(value);
        }
        hashes.leaf(aad, type, bytes);
        // Nothing to encrypt is left as decryptTree leaves it (sops never encrypts an empty value).
        if (bytes.length > 0) sealed.seal(node, bytes, type, to, aadBytes);
        else node.value = valueFromPlaintext(enc.type, plain, aad);
        plain.fill(0);
      },
      comment(node, { aad, encrypt }) {
        node.text = decryptedComment(node.text, from, aad, encrypt);
        encryptComment(node, to, aad, encrypt, hashes);
      },
    });
    const macHex = hashes.macHex();
    checkMac(macHex, metadata, from);
    sealed.store();
    return { mac: sealMac(macHex, to, lastModified), fingerprint: hashes.fingerprintHex() };
  } finally {
    hashes.wipe();
  }
}

/** Leaves encrypted during a walk, given their `ENC[...]` text when it is done (see `EncTexts`). */
class SealedLeaves {
  readonly #texts = new EncTexts();
  readonly #nodes: Scalar[] = [];

  seal(node: Scalar, plaintext: Uint8Array, type: EncType, key: DataKey, aadBytes: Uint8Array): void {
    this.#texts.seal(plaintext, type, key, aadBytes);
    this.#nodes.push(node);
  }

  store(): void {
    const texts = this.#texts.texts();
    for (const [index, node] of this.#nodes.entries()) node.value = { type: 'str', value: texts[index]! };
  }
}

const EMPTY = new Uint8Array(0);

/**
 * The first step of every walk that reads a file: a clear leaf or an empty value is hashed as it
 * is (undefined: nothing more to do); an encrypted one is opened and returned.
 */
function openLeaf(
  value: ScalarValue,
  aad: string,
  encrypt: boolean,
  key: DataKey,
  hashes: LeafHashes,
  aadBytes?: Uint8Array,
): ReturnType<typeof openEncText> | undefined {
  if (!encrypt) {
    hashes.clearLeaf(aad, value);
    return undefined;
  }
  const stored = storedEnc(value, aad);
  if (stored === '') {
    hashes.leaf(aad, 'str', EMPTY);
    return undefined;
  }
  return openEncText(stored, key, aad, aadBytes);
}

const readsComments = (format: StoreFormat, metadata: Pick<SopsMetadata, 'selector'>): boolean =>
  format !== 'binary' && (metadata.selector?.kind === 'encrypted_comment_regex' || metadata.selector?.kind === 'unencrypted_comment_regex');

/** The `ENC[...]` text of a leaf the rule encrypts ('' stays as it is); anything else is refused. */
function storedEnc(value: ScalarValue, aad: string): string {
  if (value.type !== 'str' || (value.value !== '' && !isEncValue(value.value))) {
    throw new SopsIntegrityError('unencrypted-value', `value at ${aad} should be encrypted but is not`);
  }
  return value.value;
}

const holdsPlaintextBytes = (value: ScalarValue): boolean => value.type === 'str' || value.type === 'bytes';

/** A comment's plaintext; sops keeps a comment that does not decrypt, with a warning (§2.2): so do we. */
function decryptedComment(text: string, key: DataKey, aad: string, encrypt: boolean): string {
  if (!encrypt || !isEncValue(text)) return text;
  try {
    const enc = parseEncValue(text, aad);
    return enc.type === 'comment' ? lenientUtf8.decode(openEncValue(enc, key, aad)) : text;
  } catch {
    return text;
  }
}

function encryptComment(node: Comment, key: DataKey, aad: string, encrypt: boolean, hashes: LeafHashes): void {
  const bytes = Buffer.from(node.text, 'utf8');
  hashes.fingerprintOnly(aad, 'comment', bytes);
  if (encrypt && node.text !== '') node.text = sealEncValue(bytes, 'comment', key, aad);
}

function sealMac(macHex: string, key: DataKey, lastModified: string): string {
  return sealEncValue(Buffer.from(macHex, 'latin1'), 'str', key, macAad(lastModified));
}

function checkMac(computed: string, metadata: SopsMetadata, dataKey: DataKey): void {
  if (metadata.mac === '') throw new SopsIntegrityError('no-mac', 'file has no MAC');
  const aad = macAad(metadata.lastModified);
  const enc = parseEncValue(metadata.mac, 'sops.mac');
  let stored: string;
  try {
    stored = new TextDecoder().decode(openEncValue(enc, dataKey, aad));
  } catch {
    throw new SopsIntegrityError('mac-auth-failed', 'the MAC failed authentication (tampered MAC or lastmodified, or another data key)');
  }
  if (stored !== computed) throw new SopsIntegrityError('mac-mismatch', 'MAC mismatch: the values were changed after the file was encrypted');
}

/** SHA-256 of `sops`, fed first when `mac_only_encrypted` is set (§3.1). */
const MAC_ONLY_ENCRYPTED_PREFIX = Buffer.from('8a3fd2ad54ce66527b1034f3d147be0b0b975b3bf44f72c6fdadec8176f27d69', 'hex');

/** The MAC (§3.1) and the fingerprint of one walk, fed leaf by leaf in document order. */
class LeafHashes {
  readonly #mac = new BatchedSha512();
  readonly #fingerprint = new BatchedSha512();
  readonly #macOnlyEncrypted: boolean;

  constructor(macOnlyEncrypted: boolean) {
    this.#macOnlyEncrypted = macOnlyEncrypted;
    if (macOnlyEncrypted) this.#mac.update(MAC_ONLY_ENCRYPTED_PREFIX);
  }

  /** A leaf the rule encrypts: in the MAC and the fingerprint. */
  leaf(aad: string, type: EncType, bytes: Uint8Array): void {
    this.#mac.update(bytes);
    this.fingerprintOnly(aad, type, bytes);
  }

  /** A leaf left in the clear: in the MAC unless `mac_only_encrypted`, always in the fingerprint. */
  clearLeaf(aad: string, value: ScalarValue): void {
    const bytes = plaintextBytes(value);
    if (!this.#macOnlyEncrypted) this.#mac.update(bytes);
    this.fingerprintOnly(aad, encTypeOf(value), bytes);
  }

  /** Comments are in the fingerprint only: sops's MAC does not cover them. */
  fingerprintOnly(aad: string, type: EncType, bytes: Uint8Array): void {
    // AAD, type and length before the bytes, so no two different leaf lists hash alike.
    this.#fingerprint.header(aad, type, bytes.length);
    this.#fingerprint.update(bytes);
  }

  /** The MAC as sops stores it: upper-case hex of the SHA-512. */
  macHex(): string {
    return this.#mac.digestHex().toUpperCase();
  }

  fingerprintHex(): string {
    return this.#fingerprint.digestHex();
  }

  /** Zeroes the plaintext still in the batch buffers. */
  wipe(): void {
    this.#mac.wipe();
    this.#fingerprint.wipe();
  }
}

const BATCH_BYTES = 16 * 1024;

/**
 * SHA-512 fed through a buffer: leaves are a few dozen bytes, and one `update` per leaf (two for
 * the fingerprint) cost more than the hashing. The digest is that of the same bytes fed one by one.
 */
class BatchedSha512 {
  readonly #hash = createHash('sha512');
  readonly #buffer = Buffer.alloc(BATCH_BYTES);
  #used = 0;

  update(bytes: Uint8Array): void {
    if (bytes.length > BATCH_BYTES - this.#used) {
      this.#flush();
      if (bytes.length > BATCH_BYTES / 2) {
        this.#hash.update(bytes);
        return;
      }
    }
    this.#buffer.set(bytes, this.#used);
    this.#used += bytes.length;
  }

  /** `${aad}\0${type}\0${length}\0` in UTF-8, written in place instead of built as a string. */
  header(aad: string, type: EncType, length: number): void {
    // At most 3 UTF-8 bytes per UTF-16 unit, the type, 16 digits and 3 separators.
    const room = aad.length * 3 + type.length + 19;
    if (room > BATCH_BYTES - this.#used) {
      this.#flush();
      if (room > BATCH_BYTES) {
        this.#hash.update(Buffer.from(`${aad}\0${type}\0${length}\0`, 'utf8'));
        return;
      }
    }
    const buffer = this.#buffer;
    let at = this.#used;
    at += buffer.write(aad, at, 'utf8');
    buffer[at++] = 0;
    at += buffer.write(type, at, 'latin1');
    buffer[at++] = 0;
    at += buffer.write(String(length), at, 'latin1');
    buffer[at++] = 0;
    this.#used = at;
  }

  digestHex(): string {
    this.#flush();
    return this.#hash.digest('hex');
  }

  wipe(): void {
    this.#buffer.fill(0);
    this.#used = 0;
  }

  #flush(): void {
    if (this.#used === 0) return;
    this.#hash.update(this.#buffer.subarray(0, this.#used));
    this.#buffer.fill(0, 0, this.#used);
    this.#used = 0;
  }
}
