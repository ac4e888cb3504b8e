import { createCipheriv, createDecipheriv, createSecretKey, type KeyObject, randomBytes, randomFillSync } from 'node:crypto';
import { SopsFormatError, SopsIntegrityError } from '../errors.ts';

/**
 * The `ENC[AES256_GCM,data:…,iv:…,tag:…,type:…]` value (sops-format.md §1): AES-256-GCM under the
 * data key with a 32-byte IV, the tag kept apart from the data, the AAD given by the caller.
 */

export const DATA_KEY_BYTES = 32;
const IV_BYTES = 32;
const TAG_BYTES = 16;
const ENC_PATTERN = /^ENC\[AES256_GCM,data:(.+),iv:(.+),tag:(.+),type:(.+)\]/s;
const ENC_PREFIX = 'ENC[AES256_GCM,data:';

/** The value of each standard base64 character (`A-Z a-z 0-9 + /`) by char code, -1 for others. */
const BASE64_VALUES = new Int8Array(128).fill(-1);
for (const [value, c] of [...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'].entries()) BASE64_VALUES[c.charCodeAt(0)] = value;

/**
 * Decodes `text[start, end)` as standard padded base64 (a multiple of 4 characters from the
 * alphabet, at most two `=` and only at the end) into `out` from `at`; returns the number of bytes,
 * or -1 when it is not such base64. Bits past the last byte are dropped, as Go's decoder and
 * Buffer's do. Reading the ENC[...] text in place spares three slices and three buffers a value.
 */
function decodeBase64(text: string, start: number, end: number, out: Uint8Array, at: number): number {
  if ((end - start) % 4 !== 0) return -1;
  let last = end;
  if (last > start && text.charCodeAt(last - 1) === 0x3d) last--;
  if (last > start && text.charCodeAt(last - 1) === 0x3d) last--;
  const first = at;
  let bits = 0;
  let count = 0;
  for (let i = start; i < last; i++) {
    const code = text.charCodeAt(i);
    const value = code < 128 ? BASE64_VALUES[code]! : -1;
    if (value < 0) return -1;
    bits = (bits << 6) | value;
    if (++count === 4) {
      out[at++] = bits >>> 16;
      out[at++] = (bits >>> 8) & 0xff;
      out[at++] = bits & 0xff;
      bits = 0;
      count = 0;
    }
  }
  // A last group of 2 or 3 characters holds 1 or 2 bytes; 1 character holds none (Go refuses it,
  // and so does the length check: `x===` has three `=`, of which the third is not padding).
  if (count === 1) return -1;
  if (count === 2) out[at++] = (bits >>> 4) & 0xff;
  if (count === 3) {
    out[at++] = (bits >>> 10) & 0xff;
    out[at++] = (bits >>> 2) & 0xff;
  }
  return at - first;
}

/**
 * The data key as the cipher calls take it. Given raw bytes, Node builds a key object on every
 * call; a file's walk builds one with `dataKeyObject` and passes it to every value.
 */
export type DataKey = Uint8Array | KeyObject;

export function dataKeyObject(dataKey: Uint8Array): KeyObject {
  return createSecretKey(dataKey);
}

export interface EncValue {
  readonly data: Uint8Array;
  readonly iv: Uint8Array;
  readonly tag: Uint8Array;
  readonly type: string;
}

export function isEncValue(text: string): boolean {
  return text.startsWith('ENC[');
}

/** Parses an `ENC[...]` string; a damaged one is a format error naming the AAD, not its content. */
export function parseEncValue(text: string, aad: string): EncValue {
  const value = readEncValue(text, aad);
  return { data: Buffer.from(value.data), iv: Buffer.from(value.iv), tag: Buffer.from(value.tag), type: value.type };
}

/**
 * Parses and decrypts an `ENC[...]` string: `parseEncValue` then `openEncValue`, with no copies.
 * `aadBytes`, when the caller has them, spares encoding the AAD again.
 */
export function openEncText(
  text: string,
  dataKey: DataKey,
  aad: string,
  aadBytes?: Uint8Array,
): { readonly type: string; readonly plaintext: Uint8Array } {
  const value = readEncValue(text, aad);
  return { type: value.type, plaintext: openEncValue(value, dataKey, aad, aadBytes) };
}

/** Where `readEncValue` decodes a value's bytes; a larger value gets a larger one. */
let decodeScratch = new Uint8Array(1024);

/**
 * The fields of an `ENC[...]` string, the bytes as views of `decodeScratch`, valid until the next
 * call. Values as sops writes them (no comma inside a field) are split with a few `indexOf`s,
 * which take the split the greedy `ENC_PATTERN` would: with no comma after `,type:` no later
 * `,iv:`, `,tag:` or `,type:` exists for it to prefer. Anything else goes to the pattern itself.
 */
function readEncValue(text: string, aad: string): EncValue {
  if (text.startsWith(ENC_PREFIX)) {
    const ivAt = text.indexOf(',', ENC_PREFIX.length);
    const tagAt = text.indexOf(',', ivAt + 1);
    const typeAt = text.indexOf(',', tagAt + 1);
    const end = text.lastIndexOf(']');
    if (
      ivAt > ENC_PREFIX.length &&
      tagAt > ivAt + 4 &&
      typeAt > tagAt + 5 &&
      end > typeAt + 6 &&
      text.startsWith(',iv:', ivAt) &&
      text.startsWith(',tag:', tagAt) &&
      text.startsWith(',type:', typeAt) &&
      text.indexOf(',', typeAt + 1) === -1
    ) {
      return decodeFields(text, [ENC_PREFIX.length, ivAt, ivAt + 4, tagAt, tagAt + 5, typeAt], text.slice(typeAt + 6, end), aad);
    }
  }
  const match = ENC_PATTERN.exec(text);
  if (!match) throw new SopsFormatError('malformed-enc', `encrypted value at ${aad} is malformed`);
  // An odd value the pattern splits otherwise: its fields are read as strings of their own.
  const [, data, iv, tag, type] = match as unknown as [string, string, string, string, string];
  const ivAt = data.length;
  const tagAt = ivAt + iv.length;
  return decodeFields(data + iv + tag, [0, ivAt, ivAt, tagAt, tagAt, tagAt + tag.length], type, aad);
}

/** Decodes the three base64 fields of `text` at `[data start, data end, iv start, iv end, tag start, tag end]`. */
function decodeFields(text: string, at: readonly [number, number, number, number, number, number], type: string, aad: string): EncValue {
  const room = ((text.length + 3) >> 2) * 3;
  if (room > decodeScratch.length) decodeScratch = new Uint8Array(Math.max(room, decodeScratch.length * 2));
  const out = decodeScratch;
  const dataBytes = decodeBase64(text, at[0], at[1], out, 0);
  const ivBytes = dataBytes < 0 ? -1 : decodeBase64(text, at[2], at[3], out, dataBytes);
  const tagBytes = ivBytes < 0 ? -1 : decodeBase64(text, at[4], at[5], out, dataBytes + ivBytes);
  if (tagBytes < 0) throw new SopsFormatError('malformed-enc', `encrypted value at ${aad} is not valid base64`);
  if (tagBytes !== TAG_BYTES) {
    throw new SopsFormatError('malformed-enc', `encrypted value at ${aad} has a ${tagBytes}-byte tag, expected ${TAG_BYTES}`);
  }
  if (ivBytes === 0) throw new SopsFormatError('malformed-enc', `encrypted value at ${aad} has an empty IV`);
  return {
    data: out.subarray(0, dataBytes),
    iv: out.subarray(dataBytes, dataBytes + ivBytes),
    tag: out.subarray(dataBytes + ivBytes, dataBytes + ivBytes + tagBytes),
    type,
  };
}

/** Decrypts and authenticates; a wrong key or any changed byte is an integrity error. */
export function openEncValue(value: EncValue, dataKey: DataKey, aad: string, aadBytes: Uint8Array = Buffer.from(aad, 'utf8')): Uint8Array {
  // Checked here rather than with GCM's `authTagLength` option (slower to create the decipher):
  // a shorter tag would make forgeries easier.
  if (value.tag.length !== TAG_BYTES) {
    throw new SopsIntegrityError('value-auth-failed', `value at ${aad} has a ${value.tag.length}-byte tag, expected ${TAG_BYTES}`);
  }
  const decipher = createDecipheriv('aes-256-gcm', dataKey, value.iv);
  decipher.setAAD(aadBytes);
  decipher.setAuthTag(value.tag);
  try {
    // GCM's final() returns no bytes: the update's buffer is the plaintext, nothing to concatenate.
    const head = decipher.update(value.data);
    const tail = decipher.final();
    return tail.length === 0 ? head : Buffer.concat([head, tail]);
  } catch {
    throw new SopsIntegrityError('value-auth-failed', `value at ${aad} failed authentication (tampered, or another data key)`);
  }
}

/**
 * IVs come from a pool refilled by the CSPRNG a few thousand at a time: one system call per 2,048
 * values instead of one per value. Every IV is still 32 fresh random bytes, used once.
 */
const ivPool = { bytes: Buffer.alloc(IV_BYTES * 2048), next: IV_BYTES * 2048 };

/** The next unused IV of the pool, as a view: the cipher copies it, and it is never handed out again. */
function freshIv(): Buffer {
  if (ivPool.next === ivPool.bytes.length) {
    randomFillSync(ivPool.bytes);
    ivPool.next = 0;
  }
  const iv = ivPool.bytes.subarray(ivPool.next, ivPool.next + IV_BYTES);
  ivPool.next += IV_BYTES;
  return iv;
}

/** Encrypts `plaintext` (never empty: sops leaves empty values as they are) into an `ENC[...]` string. */
export function sealEncValue(plaintext: Uint8Array, type: string, dataKey: DataKey, aad: string): string {
  const sealed = seal(plaintext, dataKey, Buffer.from(aad, 'utf8'));
  const length = encTextLength(sealed.data.length, type);
  if (length > encScratch.length) encScratch = Buffer.alloc(Math.max(length, encScratch.length * 2));
  const end = writeEncText(sealed.data, sealed.iv, sealed.tag, type, encScratch, 0);
  return encScratch.toString('latin1', 0, end);
}

function seal(plaintext: Uint8Array, dataKey: DataKey, aadBytes: Uint8Array): { data: Uint8Array; iv: Uint8Array; tag: Uint8Array } {
  const iv = freshIv();
  // GCM's tag is 16 bytes unless asked otherwise.
  const cipher = createCipheriv('aes-256-gcm', dataKey, iv);
  cipher.setAAD(aadBytes);
  const head = cipher.update(plaintext);
  const tail = cipher.final();
  const data = tail.length === 0 ? head : Buffer.concat([head, tail]);
  return { data, iv, tag: cipher.getAuthTag() };
}

/**
 * The `ENC[...]` texts of one walk, written one after another into a 1 MiB buffer that becomes a
 * string each time it fills (Node keeps a latin1 string of 1 MB or more outside V8's heap), each
 * text a slice of it. A string of its own per value stays in the young generation until the file
 * is written and is copied by every scavenge it lives through; on a large file those copies made
 * the young generation grow, and with it the number of finished ciphers (~1.5 KiB of native
 * memory each until a scavenge frees them) alive at once. One buffer reused, rather than one grown
 * by doubling or a new one per chunk: those stay in memory as garbage until a full collection
 * (5.5 MiB file: peak RSS over 12 runs 191-205 MiB, against 195-208 with a new buffer per chunk).
 */
export class EncTexts {
  readonly #buffer = Buffer.allocUnsafe(TEXT_CHUNK_BYTES);
  #used = 0;
  /** Where each text in the buffer ends. */
  readonly #ends: number[] = [];
  /** The texts of the buffers already made strings. */
  readonly #texts: string[] = [];

  /** Encrypts as `sealEncValue` does (under the AAD's UTF-8 bytes); its text is the next one `texts` returns. */
  seal(plaintext: Uint8Array, type: string, dataKey: DataKey, aadBytes: Uint8Array): void {
    const sealed = seal(plaintext, dataKey, aadBytes);
    const length = encTextLength(sealed.data.length, type);
    if (length > this.#buffer.length) {
      // A value larger than the buffer (a big binary file) is a string of its own.
      this.#flush();
      const own = Buffer.allocUnsafe(length);
      this.#texts.push(own.toString('latin1', 0, writeEncText(sealed.data, sealed.iv, sealed.tag, type, own, 0)));
      return;
    }
    if (this.#used + length > this.#buffer.length) this.#flush();
    this.#used = writeEncText(sealed.data, sealed.iv, sealed.tag, type, this.#buffer, this.#used);
    this.#ends.push(this.#used);
  }

  /** Every text sealed, in order. */
  texts(): string[] {
    this.#flush();
    return this.#texts;
  }

  #flush(): void {
    if (this.#ends.length === 0) return;
    const chunk = this.#buffer.toString('latin1', 0, this.#used);
    let start = 0;
    for (const end of this.#ends) {
      this.#texts.push(chunk.slice(start, end));
      start = end;
    }
    this.#ends.length = 0;
    this.#used = 0;
  }
}

/** Past 1,031,913 bytes, a latin1 string made by Node is an external one. */
const TEXT_CHUNK_BYTES = 1024 * 1024;
const latin1Bytes = (text: string): Uint8Array => Uint8Array.from(text, (c) => c.charCodeAt(0));
const PREFIX_BYTES = latin1Bytes(ENC_PREFIX);
const IV_FIELD = latin1Bytes(',iv:');
const TAG_FIELD = latin1Bytes(',tag:');
const TYPE_FIELD = latin1Bytes(',type:');
const BASE64_DIGITS = latin1Bytes('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/');
const base64Length = (bytes: number): number => Math.ceil(bytes / 3) * 4;
/** Where `sealEncValue` writes a value before making it one string; a larger value gets a larger one. */
let encScratch = Buffer.alloc(1024);

const encTextLength = (dataBytes: number, type: string): number =>
  PREFIX_BYTES.length + base64Length(dataBytes) + IV_FIELD.length + base64Length(IV_BYTES) + TAG_FIELD.length + base64Length(TAG_BYTES) + TYPE_FIELD.length + type.length + 1;

/**
 * The `ENC[...]` text as bytes into `out` from `at` (room for `encTextLength` checked by the
 * caller); returns the offset after it. Written as bytes and read back as one flat string: built
 * from a template, it was a tree of a dozen strings (three base64 strings and the joins). The
 * type is ASCII (one of the `type:` names).
 */
function writeEncText(data: Uint8Array, iv: Uint8Array, tag: Uint8Array, type: string, out: Buffer, start: number): number {
  out.set(PREFIX_BYTES, start);
  let at = writeBase64(data, out, start + PREFIX_BYTES.length);
  out.set(IV_FIELD, at);
  at = writeBase64(iv, out, at + IV_FIELD.length);
  out.set(TAG_FIELD, at);
  at = writeBase64(tag, out, at + TAG_FIELD.length);
  out.set(TYPE_FIELD, at);
  at += TYPE_FIELD.length;
  for (let i = 0; i < type.length; i++) out[at++] = type.charCodeAt(i);
  out[at++] = 0x5d;
  return at;
}

/** Standard padded base64 of `bytes` into `out` from `at`; returns the offset after it. */
function writeBase64(bytes: Uint8Array, out: Uint8Array, at: number): number {
  const digits = BASE64_DIGITS;
  const whole = bytes.length - (bytes.length % 3);
  let i = 0;
  for (; i < whole; i += 3) {
    const v = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    out[at++] = digits[v >>> 18]!;
    out[at++] = digits[(v >>> 12) & 63]!;
    out[at++] = digits[(v >>> 6) & 63]!;
    out[at++] = digits[v & 63]!;
  }
  if (i < bytes.length) {
    const two = i + 1 < bytes.length;
    const v = (bytes[i]! << 16) | (two ? bytes[i + 1]! << 8 : 0);
    out[at++] = digits[v >>> 18]!;
    out[at++] = digits[(v >>> 12) & 63]!;
    out[at++] = two ? digits[(v >>> 6) & 63]! : 0x3d;
    out[at++] = 0x3d;
  }
  return at;
}

export function newDataKey(): Uint8Array {
  return randomBytes(DATA_KEY_BYTES);
}
