/**
 * The demo's Cloud KMS keys, created through the real client against the emulator: a key ring
 * with `flux-secrets` (the key most files use) and `legacy` (one file, whose version 1 is about
 * to be destroyed), and the rotation that makes the demo's story.
 */
import type { KeyManagementServiceClient } from '@google-cloud/kms';

export const DEMO_LOCATION = 'projects/demo/locations/global';
export const DEMO_KEY_RING = `${DEMO_LOCATION}/keyRings/sops-rekey-demo`;
export const FLUX_SECRETS_KEY = `${DEMO_KEY_RING}/cryptoKeys/flux-secrets`;
export const LEGACY_KEY = `${DEMO_KEY_RING}/cryptoKeys/legacy`;

type AdminApi = Pick<
  KeyManagementServiceClient,
  'createKeyRing' | 'createCryptoKey' | 'createCryptoKeyVersion' | 'updateCryptoKeyPrimaryVersion' | 'destroyCryptoKeyVersion'
>;

export const versionName = (key: string, id: number | string): string => `${key}/cryptoKeyVersions/${id}`;

/** Creates the key ring and both keys, each with version 1 as primary. */
export async function createDemoKeys(client: AdminApi): Promise<void> {
  const ringId = DEMO_KEY_RING.slice(DEMO_KEY_RING.lastIndexOf('/') + 1);
  await client.createKeyRing({ parent: DEMO_LOCATION, keyRingId: ringId, keyRing: {} });
  for (const key of [FLUX_SECRETS_KEY, LEGACY_KEY]) {
    await client.createCryptoKey({ parent: DEMO_KEY_RING, cryptoKeyId: key.slice(key.lastIndexOf('/') + 1), cryptoKey: { purpose: 'ENCRYPT_DECRYPT' } });
  }
}

/** Adds a version to `key` and makes it primary, as a rotation does; returns its name. */
export async function rotateKey(client: AdminApi, key: string): Promise<string> {
  const [version] = await client.createCryptoKeyVersion({ parent: key, cryptoKeyVersion: {} });
  const name = version.name ?? '';
  await client.updateCryptoKeyPrimaryVersion({ name: key, cryptoKeyVersionId: name.slice(name.lastIndexOf('/') + 1) });
  return name;
}

/** Schedules a version for destruction; returns the destroy time Cloud KMS set (ISO), if any. */
export async function scheduleDestruction(client: AdminApi, version: string): Promise<string | undefined> {
  const [destroyed] = await client.destroyCryptoKeyVersion({ name: version });
  const seconds = Number(String(destroyed.destroyTime?.seconds ?? 0));
  return seconds > 0 ? new Date(seconds * 1000).toISOString() : undefined;
}

/** `flux-secrets/v2` for a version name of the demo key ring: short enough for a table column. */
export function shortVersion(name: string): string {
  const match = /\/cryptoKeys\/([^/]+)\/cryptoKeyVersions\/([^/]+)$/.exec(name);
  return match ? `${match[1]}/v${match[2]}` : name;
}

/** `flux-secrets` for a CryptoKey name. */
export function shortKey(name: string): string {
  const match = /\/cryptoKeys\/([^/]+)$/.exec(name);
  return match?.[1] ?? name;
}
