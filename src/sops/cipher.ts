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
/** Standard padded base64: a multiple of 4 characters from the alphabet, `=` only at the end. */
const BASE64_CHARS = /^[A-Za-z0-9+/]*={0,2}$/;
const isBase64 = (text: string): boolean => text.length % 4 === 0 && BASE64_CHARS.test(text);

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
  const match = ENC_PATTERN.exec(text);
  if (!match) throw new SopsFormatError('malformed-enc', `encrypted value at ${aad} is malformed`);
  const [, data, iv, tag, type] = match as unknown as [string, string, string, string, string];
  const decoded = [data, iv, tag].map((part) => {
    if (!isBase64(part)) throw new SopsFormatError('malformed-enc', `encrypted value at ${aad} is not valid base64`);
    return Buffer.from(part, 'base64');
  }) as [Buffer, Buffer, Buffer];
  if (decoded[2].length !== TAG_BYTES) {
    throw new SopsFormatError('malformed-enc', `encrypted value at ${aad} has a ${decoded[2].length}-byte tag, expected ${TAG_BYTES}`);
  }
  if (decoded[1].length === 0) throw new SopsFormatError('malformed-enc', `encrypted value at ${aad} has an empty IV`);
  return { data: decoded[0], iv: decoded[1], tag: decoded[2], type };
}

/** Decrypts and authenticates; a wrong key or any changed byte is an integrity error. */
export function openEncValue(value: EncValue, dataKey: DataKey, aad: string): Uint8Array {
  const decipher = createDecipheriv('aes-256-gcm', dataKey, value.iv, { authTagLength: TAG_BYTES });
  decipher.setAAD(Buffer.from(aad, 'utf8'));
  decipher.setAuthTag(value.tag);
  try {
    return Buffer.concat([decipher.update(value.data), decipher.final()]);
  } catch {
    throw new SopsIntegrityError('value-auth-failed', `value at ${aad} failed authentication (tampered, or another data key)`);
  }
}

/**
 * IVs come from a pool refilled by the CSPRNG a few thousand at a time: one system call per 2,048
 * values instead of one per value. Every IV is still 32 fresh random bytes, used once.
 */
const ivPool = { bytes: Buffer.alloc(IV_BYTES * 2048), next: IV_BYTES * 2048 };

function freshIv(): Buffer {
  if (ivPool.next === ivPool.bytes.length) {
    randomFillSync(ivPool.bytes);
    ivPool.next = 0;
  }
  const iv = Buffer.from(ivPool.bytes.subarray(ivPool.next, ivPool.next + IV_BYTES));
  ivPool.next += IV_BYTES;
  return iv;
}

/** Encrypts `plaintext` (never empty: sops leaves empty values as they are) into an `ENC[...]` string. */
export function sealEncValue(plaintext: Uint8Array, type: string, dataKey: DataKey, aad: string): string {
  const iv = freshIv();
  const cipher = createCipheriv('aes-256-gcm', dataKey, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(Buffer.from(aad, 'utf8'));
  const data = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  const tag = cipher.getAuthTag();
  return `ENC[AES256_GCM,data:${data.toString('base64')},iv:${iv.toString('base64')},tag:${tag.toString('base64')},type:${type}]`;
}

export function newDataKey(): Uint8Array {
  return randomBytes(DATA_KEY_BYTES);
}
