/**
 * The propagation gate (design.md "The timeline it automates"): the app re-wraps data keys for a
 * new primary only once Cloud KMS has really switched to it. `GetCryptoKey().primary` is no proof
 * (kms-facts.md "Consistency"), so the gate asks for both a time window since the primary changed
 * and probe Encrypts by key name that all report the new primary in `EncryptResponse.name`.
 */
import { randomBytes } from 'node:crypto';
import type { KeyManagementServiceClient } from '@google-cloud/kms';
import { classifyKmsError } from './errors.ts';
import { realSleep } from './retry.ts';

export const DEFAULT_GATE_WINDOW_MS = 3 * 60 * 60 * 1000;
export const DEFAULT_GATE_PROBES = 5;
export const DEFAULT_GATE_PROBE_INTERVAL_MS = 5_000;
/** After a failed probe, propagation is still under way: look again in a quarter of an hour. */
export const DEFAULT_GATE_RETRY_BACKOFF_MS = 15 * 60 * 1000;

/** One probe Encrypt by key name: when it ran and which version answered (or why it failed). */
export interface GateProbe {
  /** Epoch ms. */
  readonly atMs: number;
  /** `EncryptResponse.name`, when the call succeeded. */
  readonly reported?: string;
  /** Classified failure (`transient: UNAVAILABLE`, `not-enabled`, ...), when it did not. */
  readonly error?: string;
}

export type GateReason =
  | 'window-not-elapsed'
  | 'probe-reported-other-version'
  | 'probe-failed'
  | 'too-few-probes'
  | 'propagated';

export interface GateDecision {
  readonly open: boolean;
  readonly reason: GateReason;
  /** One sentence for PR bodies and the dashboard. */
  readonly explanation: string;
  readonly key: string;
  readonly primary: string;
  readonly primarySinceMs: number;
  readonly windowEndsAtMs: number;
  readonly probes: readonly GateProbe[];
  /** Epoch ms of the earliest time worth asking again; absent when the gate is open. */
  readonly retryAfterMs?: number;
}

export interface GatePolicy {
  /** How long the primary must have been primary (default 3 h). */
  readonly windowMs?: number;
  /** How many consecutive probes must report the primary (default 5). */
  readonly requiredProbes?: number;
  /** Wait after a failed probe before trying again (default 15 min). */
  readonly retryBackoffMs?: number;
}

export interface GateInput extends GatePolicy {
  /** The CryptoKey name. */
  readonly key: string;
  /** The primary CryptoKeyVersion name the app wants to wrap with. */
  readonly primary: string;
  /** Epoch ms at which `primary` became primary (or was first seen as primary). */
  readonly primarySinceMs: number;
  readonly nowMs: number;
  readonly probes: readonly GateProbe[];
}

/** Decides from data alone whether the gate is open. */
export function decideGate(input: GateInput): GateDecision {
  const windowMs = input.windowMs ?? DEFAULT_GATE_WINDOW_MS;
  const required = input.requiredProbes ?? DEFAULT_GATE_PROBES;
  const backoff = input.retryBackoffMs ?? DEFAULT_GATE_RETRY_BACKOFF_MS;
  const windowEndsAtMs = input.primarySinceMs + windowMs;
  const base = {
    key: input.key,
    primary: input.primary,
    primarySinceMs: input.primarySinceMs,
    windowEndsAtMs,
    probes: input.probes,
  };
  const closed = (reason: GateReason, explanation: string, retryAfterMs: number): GateDecision => ({
    ...base,
    open: false,
    reason,
    explanation,
    retryAfterMs,
  });

  if (input.nowMs < windowEndsAtMs) {
    return closed(
      'window-not-elapsed',
      `${input.primary} has been primary since ${iso(input.primarySinceMs)}; the window of ${hours(windowMs)} ends at ${iso(windowEndsAtMs)}`,
      windowEndsAtMs,
    );
  }
  const failed = input.probes.find((p) => p.reported === undefined);
  if (failed !== undefined) {
    return closed(
      'probe-failed',
      `a probe Encrypt at ${iso(failed.atMs)} failed (${failed.error ?? 'no version reported'})`,
      input.nowMs + backoff,
    );
  }
  const other = input.probes.find((p) => p.reported !== input.primary);
  if (other !== undefined) {
    return closed(
      'probe-reported-other-version',
      `a probe Encrypt by key name at ${iso(other.atMs)} used ${other.reported ?? '?'}, not the primary ${input.primary}: the new primary has not propagated yet`,
      input.nowMs + backoff,
    );
  }
  if (input.probes.length < required) {
    return closed(
      'too-few-probes',
      `${input.probes.length} of ${required} probes ran`,
      input.nowMs,
    );
  }
  return {
    ...base,
    open: true,
    reason: 'propagated',
    explanation: `${input.primary} has been primary for more than ${hours(windowMs)} and ${input.probes.length} probe Encrypts by key name all used it`,
  };
}

export interface Clock {
  now(): number;
}

export interface RunGateOptions extends GatePolicy {
  readonly client: Pick<KeyManagementServiceClient, 'encrypt'>;
  readonly key: string;
  readonly primary: string;
  readonly primarySinceMs: number;
  /** Default `Date.now`. */
  readonly clock?: Clock;
  /** Spacing between probes (default 5 s), so they are likely to reach different servers. */
  readonly probeIntervalMs?: number;
  /** Injectable for tests; default a real timer. */
  readonly sleep?: (ms: number) => Promise<void>;
}

/**
 * Runs the gate: no probe before the window has elapsed (it could only fail, and would cost
 * calls), then up to `requiredProbes` Encrypts by key name of 32 random bytes (never data), one
 * every `probeIntervalMs`, stopping at the first one that does not report the primary.
 */
export async function runGate(options: RunGateOptions): Promise<GateDecision> {
  const clock = options.clock ?? { now: () => Date.now() };
  const sleep = options.sleep ?? realSleep;
  const required = options.requiredProbes ?? DEFAULT_GATE_PROBES;
  const interval = options.probeIntervalMs ?? DEFAULT_GATE_PROBE_INTERVAL_MS;
  const decide = (probes: readonly GateProbe[]): GateDecision =>
    decideGate({ ...options, requiredProbes: required, nowMs: clock.now(), probes });

  const before = decide([]);
  if (before.reason === 'window-not-elapsed') return before;

  const probes: GateProbe[] = [];
  for (let i = 0; i < required; i++) {
    if (i > 0) await sleep(interval);
    let attempt = await probeOnce(options.client, options.key, clock);
    // An outage says nothing about propagation: asked again a little later instead of closing the
    // gate for the whole backoff. Only the last attempt is kept as evidence.
    for (let retry = 0; attempt.transient && retry < TRANSIENT_PROBE_RETRIES; retry++) {
      await sleep(interval);
      attempt = await probeOnce(options.client, options.key, clock);
    }
    probes.push(attempt.probe);
    if (attempt.probe.reported !== options.primary) break;
  }
  return decide(probes);
}

/** Attempts after a probe that met a transient error (UNAVAILABLE and the like). */
const TRANSIENT_PROBE_RETRIES = 2;

async function probeOnce(
  client: Pick<KeyManagementServiceClient, 'encrypt'>,
  key: string,
  clock: Clock,
): Promise<{ readonly probe: GateProbe; readonly transient: boolean }> {
  const atMs = clock.now();
  try {
    // Retries are the gate's own business, so gax must not retry behind our back.
    const [response] = await client.encrypt({ name: key, plaintext: randomBytes(32) }, { retry: null });
    const reported = response.name ?? '';
    return { probe: reported === '' ? { atMs, error: 'response named no version' } : { atMs, reported }, transient: false };
  } catch (error) {
    const failure = classifyKmsError(error);
    if (failure.kind === 'transient') return { probe: { atMs, error: `transient: ${failure.grpcCode}` }, transient: true };
    // The server's message names the permission or key at fault: the operator's next step.
    return { probe: { atMs, error: `${failure.kind}: ${failure.message}` }, transient: false };
  }
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function hours(ms: number): string {
  const h = ms / 3_600_000;
  return Number.isInteger(h) ? `${h} h` : `${Math.round(ms / 60_000)} min`;
}
