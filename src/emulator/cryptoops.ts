/**
 * Encrypt and Decrypt, with the integrity fields (CRC32C) and the error behaviour of Cloud KMS:
 * Encrypt may name a key (its primary, possibly lagging) or a version; Decrypt names the key and
 * the version is found from the ciphertext.
 */
import type { RequestContext } from './context.ts';
import { checksum, open, referenceOf, seal } from './crypto.ts';
import { failedPrecondition, invalidArgument, versionNotEnabled } from './errors.ts';
import { findCryptoKey, findVersion } from './lookup.ts';
import type { CryptoKeyRecord, VersionRecord } from './model.ts';
import { formatCryptoKeyName, parseCryptoKeyName, parseKeyOrVersionName } from './names.ts';
import { PROTECTION_LEVEL } from './resources.ts';

const MAX_PLAINTEXT = 64 * 1024;
const MAX_AAD = 64 * 1024;
/** Format byte, reference, IV and tag around at most 64 KiB of sealed data. */
const MAX_CIPHERTEXT = MAX_PLAINTEXT + 1 + 16 + 12 + 16;

/** google.protobuf.Int64Value as proto-loader decodes it. */
type Int64Value = { value: string | number } | null;

const INVALID_CIPHERTEXT = 'Decryption failed: the ciphertext is invalid.';

function checkCrc(field: string, dataField: string, data: Uint8Array, crc: Int64Value): boolean {
  if (crc === null) return false;
  if (BigInt(crc.value) !== BigInt(checksum(data))) {
    throw invalidArgument(`The checksum in field ${field} did not match the data in field ${dataField}.`);
  }
  return true;
}

function usable(key: CryptoKeyRecord, version: VersionRecord): VersionRecord & { material: NonNullable<VersionRecord['material']> } {
  if (version.state !== 'ENABLED' || version.material === undefined) {
    throw versionNotEnabled(`${key.name}/cryptoKeyVersions/${version.id}`, version.state);
  }
  return version as VersionRecord & { material: NonNullable<VersionRecord['material']> };
}

export function encrypt(
  req: {
    name: string;
    plaintext: Buffer;
    additionalAuthenticatedData: Buffer;
    plaintextCrc32c: Int64Value;
    additionalAuthenticatedDataCrc32c: Int64Value;
  },
  ctx: RequestContext,
): object {
  const target = parseKeyOrVersionName(req.name);
  const key = findCryptoKey(ctx.state, formatCryptoKeyName(target.key));
  if (req.plaintext.length > MAX_PLAINTEXT) {
    throw invalidArgument(`The plaintext must be at most ${MAX_PLAINTEXT} bytes, got ${req.plaintext.length}.`);
  }
  if (req.additionalAuthenticatedData.length > MAX_AAD) {
    throw invalidArgument(`The additional_authenticated_data must be at most ${MAX_AAD} bytes.`);
  }
  const verifiedPlaintext = checkCrc('plaintext_crc32c', 'plaintext', req.plaintext, req.plaintextCrc32c);
  const verifiedAad = checkCrc(
    'additional_authenticated_data_crc32c',
    'additional_authenticated_data',
    req.additionalAuthenticatedData,
    req.additionalAuthenticatedDataCrc32c,
  );

  const id = target.version ?? ctx.encryptionVersion(key);
  if (id === undefined) throw failedPrecondition(`${key.name} has no primary version.`);
  const version = usable(key, findVersion(key, id));
  const ciphertext = seal(version.material, req.plaintext, req.additionalAuthenticatedData);
  return {
    name: `${key.name}/cryptoKeyVersions/${version.id}`,
    ciphertext,
    ciphertextCrc32c: { value: checksum(ciphertext) },
    verifiedPlaintextCrc32c: verifiedPlaintext,
    verifiedAdditionalAuthenticatedDataCrc32c: verifiedAad,
    protectionLevel: PROTECTION_LEVEL,
  };
}

export function decrypt(
  req: {
    name: string;
    ciphertext: Buffer;
    additionalAuthenticatedData: Buffer;
    ciphertextCrc32c: Int64Value;
    additionalAuthenticatedDataCrc32c: Int64Value;
  },
  ctx: RequestContext,
): object {
  // The real API refuses a version name here: the version comes from the ciphertext.
  const key = findCryptoKey(ctx.state, formatCryptoKeyName(parseCryptoKeyName(req.name)));
  if (req.ciphertext.length > MAX_CIPHERTEXT) throw invalidArgument(INVALID_CIPHERTEXT);
  checkCrc('ciphertext_crc32c', 'ciphertext', req.ciphertext, req.ciphertextCrc32c);
  checkCrc(
    'additional_authenticated_data_crc32c',
    'additional_authenticated_data',
    req.additionalAuthenticatedData,
    req.additionalAuthenticatedDataCrc32c,
  );

  const ref = referenceOf(req.ciphertext);
  const found = ref === undefined ? undefined : key.versions.find((v) => v.ref === ref);
  if (found === undefined) throw invalidArgument(INVALID_CIPHERTEXT);
  const version = usable(key, found);
  const plaintext = open(version.material, req.ciphertext, req.additionalAuthenticatedData);
  if (plaintext === undefined) throw invalidArgument(INVALID_CIPHERTEXT);
  return {
    plaintext,
    plaintextCrc32c: { value: checksum(plaintext) },
    usedPrimary: version.id === key.primary,
    protectionLevel: PROTECTION_LEVEL,
  };
}
