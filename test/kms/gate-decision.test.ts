import { describe, expect, it } from 'vitest';
import { decideGate, type GateProbe } from '../../src/kms/gate.ts';

const KEY = 'projects/p/locations/global/keyRings/r/cryptoKeys/k';
const V1 = `${KEY}/cryptoKeyVersions/1`;
const V2 = `${KEY}/cryptoKeyVersions/2`;
const HOUR = 3_600_000;
const T0 = Date.parse('2025-01-01T00:00:00Z');

const probes = (n: number, reported: string, from = T0 + 4 * HOUR): GateProbe[] =>
  Array.from({ length: n }, (_, i) => ({ atMs: from + i * 5_000, reported }));

describe('decideGate', () => {
  it('is closed before the window, and says when to come back', () => {
    const d = decideGate({ key: KEY, primary: V2, primarySinceMs: T0, nowMs: T0 + HOUR, probes: probes(5, V2) });
    expect(d).toMatchObject({ open: false, reason: 'window-not-elapsed', retryAfterMs: T0 + 3 * HOUR });
    expect(d.explanation).toContain('2025-01-01T03:00:00.000Z');
  });

  it('is closed when any probe reported the old version', () => {
    const p = [...probes(4, V2), { atMs: T0 + 5 * HOUR, reported: V1 }];
    const now = T0 + 5 * HOUR;
    const d = decideGate({ key: KEY, primary: V2, primarySinceMs: T0, nowMs: now, probes: p, retryBackoffMs: 60_000 });
    expect(d).toMatchObject({ open: false, reason: 'probe-reported-other-version', retryAfterMs: now + 60_000 });
    expect(d.explanation).toContain(V1);
  });

  it('is closed when a probe failed', () => {
    const p = [{ atMs: T0 + 4 * HOUR, error: 'transient: UNAVAILABLE' }];
    const d = decideGate({ key: KEY, primary: V2, primarySinceMs: T0, nowMs: T0 + 4 * HOUR, probes: p });
    expect(d).toMatchObject({ open: false, reason: 'probe-failed' });
    expect(d.explanation).toContain('UNAVAILABLE');
  });

  it('is closed with fewer probes than required', () => {
    const d = decideGate({ key: KEY, primary: V2, primarySinceMs: T0, nowMs: T0 + 4 * HOUR, probes: probes(4, V2) });
    expect(d).toMatchObject({ open: false, reason: 'too-few-probes' });
  });

  it('opens after the window with every probe on the primary', () => {
    const d = decideGate({ key: KEY, primary: V2, primarySinceMs: T0, nowMs: T0 + 4 * HOUR, probes: probes(5, V2) });
    expect(d).toMatchObject({ open: true, reason: 'propagated', windowEndsAtMs: T0 + 3 * HOUR });
    expect(d.retryAfterMs).toBeUndefined();
    expect(d.probes).toHaveLength(5);
  });

  it('honours a custom window and probe count', () => {
    const d = decideGate({
      key: KEY,
      primary: V2,
      primarySinceMs: T0,
      nowMs: T0 + 60_000,
      windowMs: 60_000,
      requiredProbes: 2,
      probes: probes(2, V2),
    });
    expect(d.open).toBe(true);
  });
});
