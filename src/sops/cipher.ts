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

/** 1 for the characters of standard base64 (`A-Z a-z 0-9 + /`), by char code. */
const BASE64_ALPHABET = new Uint8Array(128);
for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/') BASE64_ALPHABET[c.charCodeAt(0)] = 1;

/**
 * Standard padded base64: a multiple of 4 characters from the alphabet, `=` only at the end (at
 * most two). A loop over a table: three of these per value, and a regex costs ~3x more per call.
 */
function isBase64(text: string): boolean {
  const length = text.length;
  if (length % 4 !== 0) return false;
  let end = length;
  if (end > 0 && text.charCodeAt(end - 1) === 0x3d) end--;
  if (end > 0 && text.charCodeAt(end - 1) === 0x3d) end--;
  for (let i = 0; i < end; i++) {
    const code = text.charCodeAt(i);
    if (code > 127 || BASE64_ALPHABET[code] === 0) return false;
  }
  return true;
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
  const parts = splitEncValue(text);
  if (!parts) throw new SopsFormatError('malformed-enc', `encrypted value at ${aad} is malformed`);
  const [data, iv, tag, type] = parts;
  if (!isBase64(data) || !isBase64(iv) || !isBase64(tag)) {
    throw new SopsFormatError('malformed-enc', `encrypted value at ${aad} is not valid base64`);
  }
  const tagBytes = Buffer.from(tag, 'base64');
  if (tagBytes.length !== TAG_BYTES) {
    throw new SopsFormatError('malformed-enc', `encrypted value at ${aad} has a ${tagBytes.length}-byte tag, expected ${TAG_BYTES}`);
  }
  const ivBytes = Buffer.from(iv, 'base64');
  if (ivBytes.length === 0) throw new SopsFormatError('malformed-enc', `encrypted value at ${aad} has an empty IV`);
  return { data: Buffer.from(data, 'base64'), iv: ivBytes, tag: tagBytes, type };
}

/**
 * The four fields of an `ENC[...]` string, split as `ENC_PATTERN` splits them. Values as sops
 * writes them (no comma inside a field) are split with a few `indexOf`s, which take the same
 * split the greedy pattern would: with no comma after `,type:`, no later `,iv:`, `,tag:` or
 * `,type:` exists for it to prefer. Anything else goes through the pattern itself.
 */
function splitEncValue(text: string): [string, string, string, string] | undefined {
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
      return [text.slice(ENC_PREFIX.length, ivAt), text.slice(ivAt + 4, tagAt), text.slice(tagAt + 5, typeAt), text.slice(typeAt + 6, end)];
    }
  }
  const match = ENC_PATTERN.exec(text);
  return match ? (match.slice(1, 5) as [string, string, string, string]) : undefined;
}

/** Decrypts and authenticates; a wrong key or any changed byte is an integrity error. */
export function openEncValue(value: EncValue, dataKey: DataKey, aad: string): Uint8Array {
  const decipher = createDecipheriv('aes-256-gcm', dataKey, value.iv, { authTagLength: TAG_BYTES });
  decipher.setAAD(Buffer.from(aad, 'utf8'));
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
  const iv = freshIv();
  const cipher = createCipheriv('aes-256-gcm', dataKey, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(Buffer.from(aad, 'utf8'));
  const head = cipher.update(plaintext);
  const tail = cipher.final();
  const data = tail.length === 0 ? head : Buffer.concat([head, tail]);
  return encText(data, iv, cipher.getAuthTag(), type);
}

const latin1Bytes = (text: string): Uint8Array => Uint8Array.from(text, (c) => c.charCodeAt(0));
const PREFIX_BYTES = latin1Bytes(ENC_PREFIX);
const IV_FIELD = latin1Bytes(',iv:');
const TAG_FIELD = latin1Bytes(',tag:');
const TYPE_FIELD = latin1Bytes(',type:');
const BASE64_DIGITS = latin1Bytes('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/');
const base64Length = (bytes: number): number => Math.ceil(bytes / 3) * 4;
/** Where `encText` writes a value before making it one string; a larger value gets its own buffer. */
let encScratch = Buffer.alloc(1024);

/**
 * The `ENC[...]` text, written as bytes and read back as one flat string. Built from a template,
 * it was a tree of a dozen strings (three base64 strings and the joins), every one of which stays
 * alive in the tree until the file is written: ~2x the memory, and young-generation growth.
 * The type is ASCII (one of the `type:` names).
 */
function encText(data: Uint8Array, iv: Uint8Array, tag: Uint8Array, type: string): string {
  const length = PREFIX_BYTES.length + base64Length(data.length) + IV_FIELD.length + base64Length(iv.length) + TAG_FIELD.length + base64Length(tag.length) + TYPE_FIELD.length + type.length + 1;
  if (length > encScratch.length) encScratch = Buffer.alloc(Math.max(length, encScratch.length * 2));
  const out = encScratch;
  out.set(PREFIX_BYTES, 0);
  let at = writeBase64(data, out, PREFIX_BYTES.length);
  out.set(IV_FIELD, at);
  at = writeBase64(iv, out, at + IV_FIELD.length);
  out.set(TAG_FIELD, at);
  at = writeBase64(tag, out, at + TAG_FIELD.length);
  out.set(TYPE_FIELD, at);
  at += TYPE_FIELD.length;
  for (let i = 0; i < type.length; i++) out[at++] = type.charCodeAt(i);
  out[at++] = 0x5d;
  return out.toString('latin1', 0, at);
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
