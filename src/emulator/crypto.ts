/**
 * Per-version authenticated encryption. Each CryptoKeyVersion has 32 random bytes of AES-256-GCM
 * key material and a random 16-byte reference. A ciphertext is binary, not JSON, so no client is
 * tempted to parse it (Cloud KMS documents its format as opaque):
 *
 *   0x01 | reference (16) | IV (12) | sealed data | GCM tag (16)
 *
 * The reference lets Decrypt find the version without the caller naming it, as the real API does.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { crc32c } from '@aws-crypto/crc32c';

const FORMAT = 0x01;
const REF_BYTES = 16;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const HEADER_BYTES = 1 + REF_BYTES + IV_BYTES;

export interface VersionMaterial {
  /** Random 16 bytes, base64: the version's reference inside ciphertexts. */
  readonly ref: string;
  /** Random 32 bytes, base64: the AES-256 key. */
  readonly key: string;
}

export function newVersionMaterial(): VersionMaterial {
  return { ref: randomBytes(REF_BYTES).toString('base64'), key: randomBytes(32).toString('base64') };
}

function aadFor(ref: Buffer, aad: Uint8Array): Buffer {
  // Binding the reference and the caller's AAD: changing either breaks the tag.
  return Buffer.concat([ref, Buffer.from(aad)]);
}

export function seal(material: VersionMaterial, plaintext: Uint8Array, aad: Uint8Array): Buffer {
  const ref = Buffer.from(material.ref, 'base64');
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', Buffer.from(material.key, 'base64'), iv);
  cipher.setAAD(aadFor(ref, aad));
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([Buffer.from([FORMAT]), ref, iv, body, cipher.getAuthTag()]);
}

/** The version reference a ciphertext claims, or undefined when it is not one of ours. */
export function referenceOf(ciphertext: Uint8Array): string | undefined {
  if (ciphertext.length < HEADER_BYTES + TAG_BYTES || ciphertext[0] !== FORMAT) return undefined;
  return Buffer.from(ciphertext.subarray(1, 1 + REF_BYTES)).toString('base64');
}

/** The plaintext, or undefined when the ciphertext or AAD was altered or the key is another's. */
export function open(material: VersionMaterial, ciphertext: Uint8Array, aad: Uint8Array): Buffer | undefined {
  if (referenceOf(ciphertext) !== material.ref) return undefined;
  const bytes = Buffer.from(ciphertext);
  const iv = bytes.subarray(1 + REF_BYTES, HEADER_BYTES);
  const body = bytes.subarray(HEADER_BYTES, bytes.length - TAG_BYTES);
  const tag = bytes.subarray(bytes.length - TAG_BYTES);
  try {
    const decipher = createDecipheriv('aes-256-gcm', Buffer.from(material.key, 'base64'), iv);
    decipher.setAAD(aadFor(bytes.subarray(1, 1 + REF_BYTES), aad));
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(body), decipher.final()]);
  } catch {
    return undefined;
  }
}

/** CRC32C as Cloud KMS uses it in `*_crc32c` fields. */
export function checksum(data: Uint8Array): number {
  return crc32c(data);
}
