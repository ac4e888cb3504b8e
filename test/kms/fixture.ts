/** Set-up shared by the Cloud KMS client tests: an emulator and the app's own client for it. */
import type { KeyManagementServiceClient } from '@google-cloud/kms';
import { ManualClock, startEmulator, type EmulatorOptions, type RunningEmulator } from '../../src/emulator/index.ts';
import { createKmsClient } from '../../src/kms/client.ts';

export const LOCATION = 'projects/demo/locations/global';
export const HOUR = 3_600_000;
export const T0 = Date.UTC(2025, 0, 1);

export interface KmsFixture {
  readonly emulator: RunningEmulator;
  readonly client: KeyManagementServiceClient;
  readonly clock: ManualClock;
  close(): Promise<void>;
}

/** An emulator on 127.0.0.1 with a manual clock, and a client built as the app builds it. */
export async function startKms(options: EmulatorOptions = {}): Promise<KmsFixture> {
  const clock = new ManualClock(T0);
  const emulator = await startEmulator({ clock, seed: 11, ...options });
  const client = createKmsClient({ kind: 'emulator', host: emulator.host });
  return {
    emulator,
    client,
    clock,
    async close() {
      await client.close();
      await emulator.close();
    },
  };
}

let counter = 0;

/** A fresh key ring with one symmetric key (version 1 primary); returns the CryptoKey name. */
export async function createKey(client: KeyManagementServiceClient, cryptoKey: Record<string, unknown> = {}): Promise<string> {
  counter += 1;
  const [ring] = await client.createKeyRing({ parent: LOCATION, keyRingId: `kms-${counter}-${process.pid}`, keyRing: {} });
  const [key] = await client.createCryptoKey({
    parent: ring.name ?? '',
    cryptoKeyId: 'sops',
    cryptoKey: { purpose: 'ENCRYPT_DECRYPT', ...cryptoKey },
  });
  return key.name ?? '';
}

/** Adds a version and, unless told otherwise, makes it primary; returns its name. */
export async function rotate(client: KeyManagementServiceClient, key: string, makePrimary = true): Promise<string> {
  const [version] = await client.createCryptoKeyVersion({ parent: key, cryptoKeyVersion: {} });
  const name = version.name ?? '';
  if (makePrimary) {
    await client.updateCryptoKeyPrimaryVersion({ name: key, cryptoKeyVersionId: name.slice(name.lastIndexOf('/') + 1) });
  }
  return name;
}

export const version = (key: string, n: number): string => `${key}/cryptoKeyVersions/${n}`;
