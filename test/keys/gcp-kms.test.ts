import { randomBytes } from 'node:crypto';
import { crc32c } from '@aws-crypto/crc32c';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GcpKmsKeySource, type KmsCryptoApi } from '../../src/keys/gcp-kms.ts';
import { KmsKeySourceError } from '../../src/kms/errors.ts';
import type { MasterKey } from '../../src/sops/master-key.ts';
import { createKey, HOUR, rotate, startKms, version, type KmsFixture } from '../kms/fixture.ts';

const entry = (resourceId: string, enc = ''): MasterKey => ({
  type: 'gcp_kms',
  fields: { resource_id: resourceId, created_at: '2025-01-01T00:00:00Z', enc },
});

/** Runs `fn` expecting a KmsKeySourceError and returns it. */
async function rejection(promise: Promise<unknown>): Promise<KmsKeySourceError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(KmsKeySourceError);
  return error as KmsKeySourceError;
}

let kms: KmsFixture;
beforeAll(async () => {
  kms = await startKms();
});
afterAll(async () => {
  await kms.close();
});

const noSleep = { sleep: async () => {} };

describe('GcpKmsKeySource against the emulator', () => {
  it('unwraps what it wrapped, and reports whether the primary was used', async () => {
    const key = await createKey(kms.client);
    const source = new GcpKmsKeySource({ client: kms.client });
    const dataKey = randomBytes(32);

    const wrapped = await source.wrap(entry(key), dataKey, { version: version(key, 1) });
    expect(wrapped.evidence).toEqual({ source: 'gcp_kms', version: version(key, 1) });
    // Standard padded base64, as sops writes it.
    expect(wrapped.enc).toMatch(/^[A-Za-z0-9+/]+={0,2}$/);
    expect(Buffer.from(wrapped.enc, 'base64').toString('base64')).toBe(wrapped.enc);

    const first = await source.unwrap(entry(key, wrapped.enc));
    expect(Buffer.from(first.plaintext).equals(dataKey)).toBe(true);
    expect(first.evidence).toMatchObject({ source: 'gcp_kms', usedPrimary: true });

    await rotate(kms.client, key);
    const after = await source.unwrap(entry(key, wrapped.enc));
    expect(Buffer.from(after.plaintext).equals(dataKey)).toBe(true);
    expect(after.evidence).toMatchObject({ usedPrimary: false });
  });

  it('honours the explicit version while Encrypt by key name still uses the old primary', async () => {
    kms.emulator.setPropagationLag(6 * HOUR, 1);
    try {
      const key = await createKey(kms.client);
      const v2 = await rotate(kms.client, key);
      const source = new GcpKmsKeySource({ client: kms.client });

      const byName = await source.wrap(entry(key), randomBytes(32));
      expect(byName.evidence).toEqual({ source: 'gcp_kms', version: version(key, 1) });

      const pinned = await source.wrap(entry(key), randomBytes(32), { version: v2 });
      expect(pinned.evidence).toEqual({ source: 'gcp_kms', version: v2 });
      const unwrapped = await source.unwrap(entry(key, pinned.enc));
      expect(unwrapped.evidence).toMatchObject({ usedPrimary: true });
    } finally {
      kms.emulator.setPropagationLag(0);
    }
  });

  it('reports a DISABLED version with its name and state', async () => {
    const key = await createKey(kms.client);
    const source = new GcpKmsKeySource({ client: kms.client });
    const wrapped = await source.wrap(entry(key), randomBytes(32), { version: version(key, 1) });
    await rotate(kms.client, key);
    await kms.client.updateCryptoKeyVersion({
      cryptoKeyVersion: { name: version(key, 1), state: 'DISABLED' },
      updateMask: { paths: ['state'] },
    });

    const error = await rejection(source.unwrap(entry(key, wrapped.enc)));
    expect(error).toMatchObject({ code: 'not-enabled', version: version(key, 1), state: 'DISABLED', category: 'user' });
  });

  it('reports a DESTROY_SCHEDULED version with its name and state', async () => {
    const key = await createKey(kms.client);
    const source = new GcpKmsKeySource({ client: kms.client });
    const wrapped = await source.wrap(entry(key), randomBytes(32), { version: version(key, 1) });
    await rotate(kms.client, key);
    await kms.client.destroyCryptoKeyVersion({ name: version(key, 1) });

    const error = await rejection(source.unwrap(entry(key, wrapped.enc)));
    expect(error).toMatchObject({ code: 'not-enabled', version: version(key, 1), state: 'DESTROY_SCHEDULED' });
    // Wrapping with that version is refused the same way.
    const wrapError = await rejection(source.wrap(entry(key), randomBytes(32), { version: version(key, 1) }));
    expect(wrapError).toMatchObject({ code: 'not-enabled', state: 'DESTROY_SCHEDULED' });
  });

  it('reports a missing key as key-missing, without retrying', async () => {
    const key = await createKey(kms.client);
    const source = new GcpKmsKeySource({ client: kms.client });
    const wrapped = await source.wrap(entry(key), randomBytes(32));
    const before = kms.emulator.callCounts().Decrypt ?? 0;
    const missing = key.replace(/cryptoKeys\/sops$/, 'cryptoKeys/nope');
    const error = await rejection(source.unwrap(entry(missing, wrapped.enc)));
    expect(error).toMatchObject({ code: 'key-missing', category: 'user' });
    expect((kms.emulator.callCounts().Decrypt ?? 0) - before).toBe(1);
  });

  it('retries transient errors and succeeds once they stop', async () => {
    const key = await createKey(kms.client);
    const wrapped = await new GcpKmsKeySource({ client: kms.client }).wrap(entry(key), randomBytes(32));
    kms.emulator.setFaults({ errorRate: 1, errorCodes: ['UNAVAILABLE'] });
    const sleeps: number[] = [];
    const source = new GcpKmsKeySource({
      client: kms.client,
      retry: {
        maxAttempts: 4,
        sleep: async (ms) => {
          sleeps.push(ms);
          // The outage ends after the second failed attempt.
          if (sleeps.length === 2) kms.emulator.setFaults({});
        },
      },
    });
    try {
      const before = kms.emulator.callCounts().Decrypt ?? 0;
      const result = await source.unwrap(entry(key, wrapped.enc));
      expect(result.plaintext).toHaveLength(32);
      expect((kms.emulator.callCounts().Decrypt ?? 0) - before).toBe(3);
      expect(sleeps).toHaveLength(2);
    } finally {
      kms.emulator.setFaults({});
    }
  });

  it('gives up on transient errors after the bound, as a transient error', async () => {
    const key = await createKey(kms.client);
    kms.emulator.setFaults({ errorRate: 1, errorCodes: ['RESOURCE_EXHAUSTED'] });
    try {
      const source = new GcpKmsKeySource({ client: kms.client, retry: { maxAttempts: 3, ...noSleep } });
      const before = kms.emulator.callCounts().Encrypt ?? 0;
      const error = await rejection(source.wrap(entry(key), randomBytes(32), { version: version(key, 1) }));
      expect(error).toMatchObject({ code: 'transient', category: 'transient', grpcCode: 'RESOURCE_EXHAUSTED' });
      expect((kms.emulator.callCounts().Encrypt ?? 0) - before).toBe(3);
    } finally {
      kms.emulator.setFaults({});
    }
  });

  it('catches corrupted CRC32C fields, discards the answer and retries', async () => {
    const key = await createKey(kms.client);
    const dataKey = randomBytes(32);
    kms.emulator.setFaults({ corruptCrcRate: 1 });
    let sleeps = 0;
    const healOnFirstRetry = {
      sleep: async () => {
        sleeps++;
        kms.emulator.setFaults({});
      },
    };
    try {
      const wrapped = await new GcpKmsKeySource({ client: kms.client, retry: healOnFirstRetry }).wrap(entry(key), dataKey, {
        version: version(key, 1),
      });
      expect(sleeps).toBe(1);

      kms.emulator.setFaults({ corruptCrcRate: 1 });
      const unwrapped = await new GcpKmsKeySource({ client: kms.client, retry: healOnFirstRetry }).unwrap(
        entry(key, wrapped.enc),
      );
      expect(sleeps).toBe(2);
      expect(Buffer.from(unwrapped.plaintext).equals(dataKey)).toBe(true);

      kms.emulator.setFaults({ corruptCrcRate: 1 });
      const error = await rejection(
        new GcpKmsKeySource({ client: kms.client, retry: { maxAttempts: 2, ...noSleep } }).unwrap(entry(key, wrapped.enc)),
      );
      expect(error).toMatchObject({ code: 'crc-mismatch', category: 'transient' });
    } finally {
      kms.emulator.setFaults({});
    }
  });
});

describe('GcpKmsKeySource refusals', () => {
  const KEY = 'projects/p/locations/global/keyRings/r/cryptoKeys/k';

  /** A transport that answers Encrypt with a fixed version (a misbehaving server). */
  function answeringWith(name: string): KmsCryptoApi & { calls: number } {
    const fake = {
      calls: 0,
      encrypt: async (request: { plaintext?: unknown }) => {
        fake.calls++;
        const ciphertext = Buffer.from('ciphertext');
        return [{ name, ciphertext, ciphertextCrc32c: { value: String(crc32c(ciphertext)) }, verifiedPlaintextCrc32c: request.plaintext !== undefined }];
      },
      decrypt: async () => {
        throw new Error('not used');
      },
    };
    return fake as unknown as KmsCryptoApi & { calls: number };
  }

  it('refuses a response naming another version than the one asked for', async () => {
    const client = answeringWith(`${KEY}/cryptoKeyVersions/1`);
    const source = new GcpKmsKeySource({ client, retry: noSleep });
    const error = await rejection(source.wrap(entry(KEY), randomBytes(32), { version: `${KEY}/cryptoKeyVersions/2` }));
    expect(error).toMatchObject({ code: 'wrong-version', version: `${KEY}/cryptoKeyVersions/1` });
    expect(client.calls).toBe(1);
  });

  it('refuses a version of another key before calling', async () => {
    const client = answeringWith(`${KEY}/cryptoKeyVersions/1`);
    const source = new GcpKmsKeySource({ client });
    const error = await rejection(
      source.wrap(entry(KEY), randomBytes(32), { version: 'projects/p/locations/global/keyRings/r/cryptoKeys/other/cryptoKeyVersions/1' }),
    );
    expect(error.code).toBe('wrong-version');
    expect(client.calls).toBe(0);
  });

  it('rejects a version name in resource_id, as sops does', async () => {
    const source = new GcpKmsKeySource({ client: answeringWith('') });
    await expect(source.unwrap(entry(`${KEY}/cryptoKeyVersions/1`, 'AAAA'))).rejects.toMatchObject({
      code: 'invalid-resource-id',
    });
  });

  it('rejects an enc that is not base64 without calling', async () => {
    const source = new GcpKmsKeySource({ client: answeringWith('') });
    await expect(source.unwrap(entry(KEY, 'not base64!'))).rejects.toMatchObject({ code: 'invalid-enc' });
  });
});
