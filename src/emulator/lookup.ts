/** Finding resources by name, with the real API's NOT_FOUND wording. */
import { notFound } from './errors.ts';
import type { CryptoKeyRecord, EmulatorState, KeyRingRecord, VersionRecord } from './model.ts';

export function findKeyRing(state: EmulatorState, name: string): KeyRingRecord {
  const ring = state.keyRings[name];
  if (ring === undefined) throw notFound(`KeyRing ${name} not found.`);
  return ring;
}

export function findCryptoKey(state: EmulatorState, name: string): CryptoKeyRecord {
  const key = state.cryptoKeys[name];
  if (key === undefined) throw notFound(`CryptoKey ${name} not found.`);
  return key;
}

export function findVersion(key: CryptoKeyRecord, id: number): VersionRecord {
  const version = key.versions.find((v) => v.id === id);
  if (version === undefined) throw notFound(`CryptoKeyVersion ${key.name}/cryptoKeyVersions/${id} not found.`);
  return version;
}
