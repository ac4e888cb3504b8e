import { afterEach, describe, expect, it } from 'vitest';
import { createKey, HOUR, seconds, startHarness, type Harness } from './harness.ts';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const plaintext = Buffer.from('0123456789abcdef0123456789abcdef');

async function encryptByName(harness: Harness, key: string): Promise<string> {
  const [res] = await harness.client.encrypt({ name: key, plaintext });
  return res.name!.split('/').pop()!;
}

describe('propagation lag after a primary change', () => {
  it('keeps Encrypt by key name on the old primary during the lag, while GetCryptoKey shows the new one', async () => {
    h = await startHarness({ propagationLagMs: HOUR });
    const key = await createKey(h.client);
    // The first primary has no predecessor: nothing to lag behind.
    expect(await encryptByName(h, key)).toBe('1');

    await h.client.createCryptoKeyVersion({ parent: key, cryptoKeyVersion: {} });
    await h.client.updateCryptoKeyPrimaryVersion({ name: key, cryptoKeyVersionId: '2' });
    const [shown] = await h.client.getCryptoKey({ name: key });
    expect(shown.primary?.name).toBe(`${key}/cryptoKeyVersions/2`);

    expect(await encryptByName(h, key)).toBe('1');
    // Naming the version is never subject to the lag.
    const [explicit] = await h.client.encrypt({ name: `${key}/cryptoKeyVersions/2`, plaintext });
    expect(explicit.name).toBe(`${key}/cryptoKeyVersions/2`);

    h.clock.advance(HOUR - 1);
    expect(await encryptByName(h, key)).toBe('1');
    h.clock.advance(1);
    expect(await encryptByName(h, key)).toBe('2');
  });

  it('lags after an automatic rotation too, counted from the rotation time', async () => {
    h = await startHarness({ propagationLagMs: 2 * HOUR });
    const start = h.clock.now();
    const key = await createKey(h.client, { rotationPeriod: seconds(24 * HOUR), nextRotationTime: seconds(start + 10 * HOUR) });
    h.clock.advance(11 * HOUR);
    expect((await h.client.getCryptoKey({ name: key }))[0].primary?.name).toBe(`${key}/cryptoKeyVersions/2`);
    expect(await encryptByName(h, key)).toBe('1');
    h.clock.advance(HOUR);
    expect(await encryptByName(h, key)).toBe('2');
  });

  it('uses the old primary for about lagFraction of the calls, the same ones for the same seed', async () => {
    const run = async () => {
      const harness = await startHarness({ propagationLagMs: HOUR, lagFraction: 0.5, seed: 42 });
      try {
        const key = await createKey(harness.client);
        await harness.client.createCryptoKeyVersion({ parent: key, cryptoKeyVersion: {} });
        await harness.client.updateCryptoKeyPrimaryVersion({ name: key, cryptoKeyVersionId: '2' });
        const used: string[] = [];
        for (let i = 0; i < 40; i++) used.push(await encryptByName(harness, key));
        return used;
      } finally {
        await harness.close();
      }
    };
    const first = await run();
    const old = first.filter((v) => v === '1').length;
    expect(old).toBeGreaterThan(8);
    expect(old).toBeLessThan(32);
    expect(await run()).toEqual(first);
  });

  it('can be switched on and off while running', async () => {
    h = await startHarness();
    const key = await createKey(h.client);
    await h.client.createCryptoKeyVersion({ parent: key, cryptoKeyVersion: {} });
    await h.client.updateCryptoKeyPrimaryVersion({ name: key, cryptoKeyVersionId: '2' });
    expect(await encryptByName(h, key)).toBe('2');
    h.emulator.setPropagationLag(HOUR);
    expect(await encryptByName(h, key)).toBe('1');
    h.emulator.setPropagationLag(0);
    expect(await encryptByName(h, key)).toBe('2');
  });
});
