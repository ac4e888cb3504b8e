import { createHash, type Hash } from 'node:crypto';
import { SopsIntegrityError } from '../errors.ts';
import { type DataKey, dataKeyObject, isEncValue, openEncValue, parseEncValue, sealEncValue } from './cipher.ts';
import { macAad, type SopsMetadata } from './metadata.ts';
import { compileSelector, DEFAULT_SELECTOR, ENCRYPT_EVERYTHING, type LeafRule } from './selectors.ts';
import type { StoreFormat } from './store.ts';
import type { Tree } from './tree.ts';
import { encTypeOf, lenientUtf8, plaintextBytes, valueFromPlaintext } from './values.ts';
import { walkTree } from './walk.ts';

/**
 * Encrypting and decrypting a whole tree in place (sops-format.md §0, §3, §4). Pure: the data key
 * comes in, nothing leaves but the tree and a fingerprint.
 */

/** SHA-256 of `sops`, fed first when `mac_only_encrypted` is set (§3.1). */
const MAC_ONLY_ENCRYPTED_PREFIX = Buffer.from('8a3fd2ad54ce66527b1034f3d147be0b0b975b3bf44f72c6fdadec8176f27d69', 'hex');

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
  const key = dataKeyObject(dataKey);
  const mac = startMac(metadata.macOnlyEncrypted);
  const fingerprint = createHash('sha512');
  walkTree(tree, leafRuleFor(format, metadata), {
    scalar(node, { aad, encrypt }) {
      if (encrypt) {
        const stored = node.value;
        if (stored.type !== 'str' || (stored.value !== '' && !isEncValue(stored.value))) {
          throw new SopsIntegrityError('unencrypted-value', `value at ${aad} should be encrypted but is not`);
        }
        if (stored.value !== '') {
          const enc = parseEncValue(stored.value, aad);
          node.value = valueFromPlaintext(enc.type, openEncValue(enc, key, aad), aad);
        }
      }
      const bytes = plaintextBytes(node.value);
      if (encrypt || !metadata.macOnlyEncrypted) mac.update(bytes);
      addToFingerprint(fingerprint, aad, encTypeOf(node.value), bytes);
    },
    comment(node, { aad, encrypt }) {
      if (encrypt && isEncValue(node.text)) {
        // sops keeps a comment that does not decrypt, with a warning (§2.2): so do we.
        try {
          const enc = parseEncValue(node.text, aad);
          if (enc.type === 'comment') node.text = lenientUtf8.decode(openEncValue(enc, key, aad));
        } catch {
          /* left as it is */
        }
      }
      addToFingerprint(fingerprint, aad, 'comment', Buffer.from(node.text, 'utf8'));
    },
  });
  if (!options.ignoreMac) checkMac(mac.digest('hex').toUpperCase(), metadata, key);
  return { fingerprint: fingerprint.digest('hex') };
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
  const mac = startMac(metadata.macOnlyEncrypted);
  const fingerprint = createHash('sha512');
  walkTree(tree, leafRuleFor(format, metadata), {
    scalar(node, { aad, encrypt }) {
      const bytes = plaintextBytes(node.value);
      if (encrypt || !metadata.macOnlyEncrypted) mac.update(bytes);
      addToFingerprint(fingerprint, aad, encTypeOf(node.value), bytes);
      if (encrypt && bytes.length > 0) {
        node.value = { type: 'str', value: sealEncValue(bytes, encTypeOf(node.value), key, aad) };
      }
    },
    comment(node, { aad, encrypt }) {
      addToFingerprint(fingerprint, aad, 'comment', Buffer.from(node.text, 'utf8'));
      if (encrypt && node.text !== '') node.text = sealEncValue(Buffer.from(node.text, 'utf8'), 'comment', key, aad);
    },
  });
  const digest = Buffer.from(mac.digest('hex').toUpperCase(), 'utf8');
  return {
    mac: sealEncValue(digest, 'str', key, macAad(lastModified)),
    fingerprint: fingerprint.digest('hex'),
  };
}

function startMac(macOnlyEncrypted: boolean): Hash {
  const mac = createHash('sha512');
  if (macOnlyEncrypted) mac.update(MAC_ONLY_ENCRYPTED_PREFIX);
  return mac;
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

function addToFingerprint(hash: Hash, aad: string, type: string, bytes: Uint8Array): void {
  const header = Buffer.from(`${aad}\0${type}\0${bytes.length}\0`, 'utf8');
  hash.update(header);
  hash.update(bytes);
}
