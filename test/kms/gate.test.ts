import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runGate } from '../../src/kms/gate.ts';
import { createKey, HOUR, rotate, startKms, T0, version, type KmsFixture } from './fixture.ts';

let kms: KmsFixture;
beforeAll(async () => {
  // Encrypt by key name keeps using the previous primary for 2 h after a change.
  kms = await startKms({ propagationLagMs: 2 * HOUR, lagFraction: 1 });
});
afterAll(async () => {
  await kms.close();
});

/** A key whose version 2 became primary at T0 (the fixture's clock start). */
async function rotatedKey(): Promise<{ key: string; v2: string }> {
  kms.clock.set(T0);
  const key = await createKey(kms.client);
  return { key, v2: await rotate(kms.client, key) };
}

const encrypts = (): number => kms.emulator.callCounts().Encrypt ?? 0;
const sleep = async (ms: number): Promise<void> => kms.clock.advance(ms);

describe('runGate against the emulator', () => {
  it('stays closed before the window, without spending a probe', async () => {
    const { key, v2 } = await rotatedKey();
    kms.clock.set(T0 + HOUR);
    const before = encrypts();
    const d = await runGate({ client: kms.client, key, primary: v2, primarySinceMs: T0, clock: kms.clock, sleep });
    expect(d).toMatchObject({ open: false, reason: 'window-not-elapsed', retryAfterMs: T0 + 3 * HOUR, probes: [] });
    expect(encrypts() - before).toBe(0);
  });

  it('stays closed during the propagation lag: a probe reports the old version', async () => {
    const { key, v2 } = await rotatedKey();
    kms.clock.set(T0 + HOUR);
    const d = await runGate({
      client: kms.client,
      key,
      primary: v2,
      primarySinceMs: T0,
      windowMs: 30 * 60_000,
      retryBackoffMs: 10 * 60_000,
      clock: kms.clock,
      sleep,
    });
    expect(d).toMatchObject({ open: false, reason: 'probe-reported-other-version' });
    expect(d.probes[0]).toEqual({ atMs: T0 + HOUR, reported: version(key, 1) });
    expect(d.retryAfterMs).toBe(T0 + HOUR + 10 * 60_000);
    expect(d.explanation).toContain(version(key, 1));
  });

  it('stays closed when only some Encrypts still use the old version', async () => {
    kms.emulator.setPropagationLag(2 * HOUR, 0.5);
    try {
      const { key, v2 } = await rotatedKey();
      kms.clock.set(T0 + HOUR);
      const d = await runGate({
        client: kms.client,
        key,
        primary: v2,
        primarySinceMs: T0,
        windowMs: 30 * 60_000,
        // Enough probes that at least one lands on the old version (all new: 2^-20).
        requiredProbes: 20,
        clock: kms.clock,
        sleep,
      });
      expect(d).toMatchObject({ open: false, reason: 'probe-reported-other-version' });
      // Probing stops at the first probe on the old version.
      expect(d.probes.at(-1)?.reported).toBe(version(key, 1));
      expect(d.probes.slice(0, -1).every((p) => p.reported === v2)).toBe(true);
    } finally {
      kms.emulator.setPropagationLag(2 * HOUR, 1);
    }
  });

  it('opens after the window once every probe reports the new primary', async () => {
    const { key, v2 } = await rotatedKey();
    kms.clock.set(T0 + 3 * HOUR);
    const before = encrypts();
    const d = await runGate({
      client: kms.client,
      key,
      primary: v2,
      primarySinceMs: T0,
      probeIntervalMs: 4_000,
      clock: kms.clock,
      sleep,
    });
    expect(d).toMatchObject({ open: true, reason: 'propagated' });
    expect(d.probes.map((p) => p.reported)).toEqual(Array(5).fill(v2));
    expect(d.probes.map((p) => p.atMs - T0 - 3 * HOUR)).toEqual([0, 4_000, 8_000, 12_000, 16_000]);
    expect(encrypts() - before).toBe(5);
  });

  it('asks again after a transient error, and closes when the outage lasts, saying when to retry', async () => {
    const { key, v2 } = await rotatedKey();
    kms.clock.set(T0 + 3 * HOUR);
    kms.emulator.setFaults({ errorRate: 1, errorCodes: ['UNAVAILABLE'] });
    const before = encrypts();
    try {
      const d = await runGate({ client: kms.client, key, primary: v2, primarySinceMs: T0, clock: kms.clock, sleep, probeIntervalMs: 5_000 });
      expect(d).toMatchObject({ open: false, reason: 'probe-failed' });
      // The first probe and two more attempts, 5 s apart; the last one is the evidence.
      expect(encrypts() - before).toBe(3);
      expect(d.probes).toEqual([{ atMs: T0 + 3 * HOUR + 10_000, error: 'transient: UNAVAILABLE' }]);
      expect(d.retryAfterMs).toBeGreaterThan(T0 + 3 * HOUR);
    } finally {
      kms.emulator.setFaults({});
    }
  });

  it('opens when an outage ends between two attempts of a probe', async () => {
    const { key, v2 } = await rotatedKey();
    kms.clock.set(T0 + 3 * HOUR);
    kms.emulator.setFaults({ errorRate: 1, errorCodes: ['UNAVAILABLE'] });
    // The outage ends with the first wait.
    const outageEnds = async (ms: number): Promise<void> => {
      kms.emulator.setFaults({});
      kms.clock.advance(ms);
    };
    try {
      const d = await runGate({ client: kms.client, key, primary: v2, primarySinceMs: T0, clock: kms.clock, sleep: outageEnds, requiredProbes: 3 });
      expect(d).toMatchObject({ open: true, reason: 'propagated' });
      expect(d.probes.map((p) => p.reported)).toEqual([v2, v2, v2]);
    } finally {
      kms.emulator.setFaults({});
    }
  });

  it('closes when the identity may not encrypt, naming the missing permission', async () => {
    const { key, v2 } = await rotatedKey();
    kms.clock.set(T0 + 3 * HOUR);
    kms.emulator.setDenials([{ resource: key, permissions: ['cloudkms.cryptoKeyVersions.useToEncrypt'] }]);
    try {
      const d = await runGate({ client: kms.client, key, primary: v2, primarySinceMs: T0, clock: kms.clock, sleep });
      expect(d).toMatchObject({ open: false, reason: 'probe-failed' });
      expect(d.probes[0]?.error).toBe(`permission-denied: Permission 'cloudkms.cryptoKeyVersions.useToEncrypt' denied on resource '${key}' (or it may not exist).`);
    } finally {
      kms.emulator.setDenials([]);
    }
  });
});
