/**
 * Cloud KMS resource names. Parsing is strict because the real API rejects malformed names with
 * INVALID_ARGUMENT before looking anything up, and clients rely on that to tell "bad input" from
 * "missing key".
 */
import { invalidArgument } from './errors.ts';

export interface LocationName {
  readonly project: string;
  readonly location: string;
}
export interface KeyRingName extends LocationName {
  readonly keyRing: string;
}
export interface CryptoKeyName extends KeyRingName {
  readonly cryptoKey: string;
}
export interface CryptoKeyVersionName extends CryptoKeyName {
  readonly version: number;
}

const SEGMENT = '[^/]+';
/** Key ring and crypto key ids, as documented for Cloud KMS. */
const ID = /^[a-zA-Z0-9_-]{1,63}$/;
const LOCATION_RE = new RegExp(`^projects/(${SEGMENT})/locations/(${SEGMENT})$`);
const KEY_RING_RE = new RegExp(`^projects/(${SEGMENT})/locations/(${SEGMENT})/keyRings/(${SEGMENT})$`);
const CRYPTO_KEY_RE = new RegExp(
  `^projects/(${SEGMENT})/locations/(${SEGMENT})/keyRings/(${SEGMENT})/cryptoKeys/(${SEGMENT})$`,
);
const VERSION_RE = new RegExp(
  `^projects/(${SEGMENT})/locations/(${SEGMENT})/keyRings/(${SEGMENT})/cryptoKeys/(${SEGMENT})/cryptoKeyVersions/([1-9][0-9]{0,17})$`,
);

function badName(field: string, name: string): Error {
  return invalidArgument(`Invalid resource name in field ${field}: ${JSON.stringify(name)}.`);
}

/** Checks a key ring or crypto key id supplied at creation. */
export function checkId(field: string, id: string): void {
  if (!ID.test(id)) {
    throw invalidArgument(`Field ${field} must match [a-zA-Z0-9_-]{1,63}, got ${JSON.stringify(id)}.`);
  }
}

export function parseLocationName(name: string, field = 'parent'): LocationName {
  const m = LOCATION_RE.exec(name);
  if (!m) throw badName(field, name);
  return { project: m[1]!, location: m[2]! };
}

export function parseKeyRingName(name: string, field = 'name'): KeyRingName {
  const m = KEY_RING_RE.exec(name);
  if (!m || !ID.test(m[3]!)) throw badName(field, name);
  return { project: m[1]!, location: m[2]!, keyRing: m[3]! };
}

export function parseCryptoKeyName(name: string, field = 'name'): CryptoKeyName {
  const m = CRYPTO_KEY_RE.exec(name);
  if (!m || !ID.test(m[3]!) || !ID.test(m[4]!)) throw badName(field, name);
  return { project: m[1]!, location: m[2]!, keyRing: m[3]!, cryptoKey: m[4]! };
}

export function parseCryptoKeyVersionName(name: string, field = 'name'): CryptoKeyVersionName {
  const m = VERSION_RE.exec(name);
  if (!m || !ID.test(m[3]!) || !ID.test(m[4]!)) throw badName(field, name);
  return { project: m[1]!, location: m[2]!, keyRing: m[3]!, cryptoKey: m[4]!, version: Number(m[5]) };
}

/** A CryptoKey or one of its versions: what Encrypt accepts in `name`. */
export function parseKeyOrVersionName(
  name: string,
  field = 'name',
): { readonly key: CryptoKeyName; readonly version: number | undefined } {
  if (VERSION_RE.test(name)) {
    const v = parseCryptoKeyVersionName(name, field);
    return { key: v, version: v.version };
  }
  return { key: parseCryptoKeyName(name, field), version: undefined };
}

export function formatLocationName(n: LocationName): string {
  return `projects/${n.project}/locations/${n.location}`;
}
export function formatKeyRingName(n: KeyRingName): string {
  return `${formatLocationName(n)}/keyRings/${n.keyRing}`;
}
export function formatCryptoKeyName(n: CryptoKeyName): string {
  return `${formatKeyRingName(n)}/cryptoKeys/${n.cryptoKey}`;
}
