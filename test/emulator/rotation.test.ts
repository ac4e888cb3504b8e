import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKey, DAY, failure, HOUR, ms, seconds, startHarness, type Harness } from './harness.ts';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.close();
});

const versionIds = async (key: string) => {
  const [versions] = await h.client.listCryptoKeyVersions({ parent: key });
  return versions.map((v) => Number(v.name!.split('/').pop()));
};

describe('automatic rotation', () => {
  it('creates a version and makes it primary at next_rotation_time, then advances it by rotation_period', async () => {
    const start = h.clock.now();
    const key = await createKey(h.client, { rotationPeriod: seconds(7 * DAY), nextRotationTime: seconds(start + DAY) });
    const [created] = await h.client.getCryptoKey({ name: key });
    expect(ms(created.rotationPeriod)).toBe(7 * DAY);
    expect(ms(created.nextRotationTime)).toBe(start + DAY);

    h.clock.advance(DAY - 1000);
    expect((await h.client.getCryptoKey({ name: key }))[0].primary?.name).toBe(`${key}/cryptoKeyVersions/1`);

    h.clock.advance(1000);
    const [rotated] = await h.client.getCryptoKey({ name: key });
    expect(rotated.primary?.name).toBe(`${key}/cryptoKeyVersions/2`);
    expect(ms(rotated.primary?.createTime)).toBe(start + DAY);
    expect(ms(rotated.nextRotationTime)).toBe(start + 8 * DAY);
    const [enc] = await h.client.encrypt({ name: key, plaintext: Buffer.from('k') });
    expect(enc.name).toBe(`${key}/cryptoKeyVersions/2`);
  });

  it('catches up several periods at once, one version per period', async () => {
    const start = h.clock.now();
    const key = await createKey(h.client, { rotationPeriod: seconds(DAY), nextRotationTime: seconds(start + DAY) });
    h.clock.advance(3 * DAY + HOUR);
    const [rotated] = await h.client.getCryptoKey({ name: key });
    expect(rotated.primary?.name).toBe(`${key}/cryptoKeyVersions/4`);
    expect(ms(rotated.nextRotationTime)).toBe(start + 4 * DAY);
    expect(await versionIds(key)).toEqual([1, 2, 3, 4]);
    const [v3] = await h.client.getCryptoKeyVersion({ name: `${key}/cryptoKeyVersions/3` });
    expect(ms(v3.createTime)).toBe(start + 2 * DAY);
  });

  it('sets, changes and clears the schedule with UpdateCryptoKey and an update_mask', async () => {
    const start = h.clock.now();
    const key = await createKey(h.client);
    const [scheduled] = await h.client.updateCryptoKey({
      cryptoKey: { name: key, rotationPeriod: seconds(2 * DAY), nextRotationTime: seconds(start + HOUR) },
      updateMask: { paths: ['rotation_period', 'next_rotation_time'] },
    });
    expect(ms(scheduled.rotationPeriod)).toBe(2 * DAY);
    expect(ms(scheduled.nextRotationTime)).toBe(start + HOUR);

    // Only the masked field changes.
    const [relabelled] = await h.client.updateCryptoKey({
      cryptoKey: { name: key, labels: { team: 'platform' }, rotationPeriod: seconds(99 * DAY) },
      updateMask: { paths: ['labels'] },
    });
    expect(relabelled.labels).toEqual({ team: 'platform' });
    expect(ms(relabelled.rotationPeriod)).toBe(2 * DAY);

    h.clock.advance(HOUR);
    expect((await h.client.getCryptoKey({ name: key }))[0].primary?.name).toBe(`${key}/cryptoKeyVersions/2`);

    const [cleared] = await h.client.updateCryptoKey({
      cryptoKey: { name: key },
      updateMask: { paths: ['rotation_period', 'next_rotation_time'] },
    });
    expect(cleared.nextRotationTime).toBeNull();
    expect(cleared.rotationPeriod ?? null).toBeNull();
    h.clock.advance(10 * DAY);
    expect(await versionIds(key)).toEqual([1, 2]);
  });

  it('rotates once at next_rotation_time when no period is set', async () => {
    const start = h.clock.now();
    const key = await createKey(h.client, { nextRotationTime: seconds(start + HOUR) });
    h.clock.advance(5 * DAY);
    const [rotated] = await h.client.getCryptoKey({ name: key });
    expect(rotated.primary?.name).toBe(`${key}/cryptoKeyVersions/2`);
    expect(rotated.nextRotationTime).toBeNull();
  });

  it('refuses a rotation period under 24 hours, one without next_rotation_time, and immutable fields', async () => {
    const key = await createKey(h.client);
    const short = await failure(
      h.client.updateCryptoKey({
        cryptoKey: { name: key, rotationPeriod: seconds(HOUR), nextRotationTime: seconds(h.clock.now() + DAY) },
        updateMask: { paths: ['rotation_period', 'next_rotation_time'] },
      }),
    );
    expect(short.code).toBe(status.INVALID_ARGUMENT);
    const alone = await failure(
      h.client.updateCryptoKey({ cryptoKey: { name: key, rotationPeriod: seconds(DAY) }, updateMask: { paths: ['rotation_period'] } }),
    );
    expect(alone.code).toBe(status.INVALID_ARGUMENT);
    const immutable = await failure(
      h.client.updateCryptoKey({
        cryptoKey: { name: key, destroyScheduledDuration: seconds(DAY) },
        updateMask: { paths: ['destroy_scheduled_duration'] },
      }),
    );
    expect(immutable.code).toBe(status.INVALID_ARGUMENT);
    // Nothing changed.
    const [unchanged] = await h.client.getCryptoKey({ name: key });
    expect(unchanged.nextRotationTime).toBeNull();
    expect(ms(unchanged.destroyScheduledDuration)).toBe(30 * DAY);
  });
});
