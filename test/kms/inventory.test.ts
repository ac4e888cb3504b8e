import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KeyInventoryReader } from '../../src/kms/inventory.ts';
import { createKey, rotate, startKms, T0, version, type KmsFixture } from './fixture.ts';

const DAY = 86_400_000;

let kms: KmsFixture;
beforeAll(async () => {
  kms = await startKms();
});
afterAll(async () => {
  await kms.close();
});

describe('KeyInventoryReader', () => {
  it('reads every version of a key with its state and deadline, across pages', async () => {
    const key = await createKey(kms.client, {
      rotationPeriod: { seconds: 90 * 86_400 },
      nextRotationTime: { seconds: (T0 + 60 * DAY) / 1000 },
      destroyScheduledDuration: { seconds: 7 * 86_400 },
    });
    await rotate(kms.client, key); // v2
    await rotate(kms.client, key); // v3, primary
    await rotate(kms.client, key, false); // v4, enabled, not primary
    await kms.client.destroyCryptoKeyVersion({ name: version(key, 1) });
    await kms.client.updateCryptoKeyVersion({
      cryptoKeyVersion: { name: version(key, 2), state: 'DISABLED' },
      updateMask: { paths: ['state'] },
    });

    const reader = new KeyInventoryReader(kms.client, { pageSize: 2 });
    const listsBefore = kms.emulator.callCounts().ListCryptoKeyVersions ?? 0;
    const entry = await reader.get(key);
    expect((kms.emulator.callCounts().ListCryptoKeyVersions ?? 0) - listsBefore).toBeGreaterThanOrEqual(2);
    if (!entry.ok) throw new Error(`inventory failed: ${entry.failure.kind}`);
    const inv = entry.inventory;

    expect(inv.primary).toBe(version(key, 3));
    expect(inv.destroyScheduledDurationMs).toBe(7 * DAY);
    expect(inv.rotationPeriodMs).toBe(90 * DAY);
    expect(inv.nextRotationTime).toBe(new Date(T0 + 60 * DAY).toISOString());
    expect(inv.versions.map((v) => [v.id, v.state, v.isPrimary])).toEqual([
      ['1', 'DESTROY_SCHEDULED', false],
      ['2', 'DISABLED', false],
      ['3', 'ENABLED', true],
      ['4', 'ENABLED', false],
    ]);
    const v1 = inv.versions[0];
    expect(v1?.destroyTime).toBe(new Date(T0 + 7 * DAY).toISOString());
    expect(v1?.createTime).toBe(new Date(T0).toISOString());
    expect(inv.versions[2]?.destroyTime).toBeUndefined();
    // Plain data: survives JSON unchanged.
    expect(JSON.parse(JSON.stringify(inv))).toEqual(inv);
  });

  it('reads each key once per run, and reports a key it cannot read without failing the others', async () => {
    const key = await createKey(kms.client);
    const missing = key.replace(/cryptoKeys\/sops$/, 'cryptoKeys/gone');
    const reader = new KeyInventoryReader(kms.client);
    const before = kms.emulator.callCounts().GetCryptoKey ?? 0;

    const entries = await reader.getAll([key, missing, key]);
    await reader.get(key);

    expect(entries.map((e) => [e.key, e.ok])).toEqual([
      [key, true],
      [missing, false],
    ]);
    const failed = entries[1];
    expect(failed?.ok === false ? failed.failure.kind : undefined).toBe('key-missing');
    expect((kms.emulator.callCounts().GetCryptoKey ?? 0) - before).toBe(2);
  });
});
