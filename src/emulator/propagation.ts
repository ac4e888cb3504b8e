/**
 * The lagging primary. Cloud KMS documents primary changes as eventually consistent: for a while
 * after a change, Encrypt by key name may still use the previous primary, while GetCryptoKey
 * already shows the new one. The emulator reproduces that window so the app's propagation gate
 * can be tested.
 */
import type { CryptoKeyRecord } from './model.ts';
import type { Random } from './random.ts';

export interface PropagationLag {
  /** How long after a primary change Encrypt by key name may use the previous primary. */
  readonly lagMs: number;
  /** Share (0..1) of such calls during the window that still use the previous primary. */
  readonly fraction: number;
}

/** The version an Encrypt naming only `key` uses at `now`. */
export function encryptionVersion(
  key: CryptoKeyRecord,
  now: number,
  lag: PropagationLag,
  random: Random,
): number | undefined {
  const changedAt = key.primaryChangedAt;
  if (key.previousPrimary === undefined || changedAt === undefined) return key.primary;
  if (lag.lagMs <= 0 || now >= changedAt + lag.lagMs) return key.primary;
  return random() < lag.fraction ? key.previousPrimary : key.primary;
}

export function checkLag(lag: PropagationLag): PropagationLag {
  if (!Number.isFinite(lag.lagMs) || lag.lagMs < 0) throw new RangeError('propagationLagMs must be a non-negative number');
  if (!(lag.fraction >= 0 && lag.fraction <= 1)) throw new RangeError('lagFraction must be between 0 and 1');
  return lag;
}
