/**
 * Bounded retries with exponential backoff and full jitter, for transient failures only: a
 * missing key or a disabled version does not get better by asking again.
 */

export interface RetryOptions {
  /** Total attempts, the first one included (default 4: one call and three retries). */
  readonly maxAttempts?: number;
  /** Backoff before the first retry, before jitter (default 100 ms). */
  readonly baseDelayMs?: number;
  /** Cap of one backoff (default 5 s). */
  readonly maxDelayMs?: number;
  /** Injectable for tests; default a real timer. */
  readonly sleep?: (ms: number) => Promise<void>;
  /** Injectable for tests; default `Math.random`. Returns a number in [0, 1). */
  readonly random?: () => number;
}

export const DEFAULT_RETRY = { maxAttempts: 4, baseDelayMs: 100, maxDelayMs: 5_000 } as const;

export const realSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The backoff before retry number `retry` (1 for the first retry): a uniformly random delay up to
 * `base × 2^(retry-1)`, capped ("full jitter"), so that concurrent callers hit by the same
 * outage do not come back in lockstep.
 */
export function backoffDelay(retry: number, options: RetryOptions = {}): number {
  const base = options.baseDelayMs ?? DEFAULT_RETRY.baseDelayMs;
  const cap = options.maxDelayMs ?? DEFAULT_RETRY.maxDelayMs;
  const ceiling = Math.min(cap, base * 2 ** (retry - 1));
  return Math.floor((options.random ?? Math.random)() * ceiling);
}

/**
 * Runs `fn` until it succeeds, throws an error `isRetryable` rejects, or `maxAttempts` calls
 * were made; then the last error is thrown as is. `fn` gets the attempt number (1-based).
 */
export async function withRetry<T>(
  fn: (attempt: number) => Promise<T>,
  isRetryable: (error: unknown) => boolean,
  options: RetryOptions = {},
): Promise<T> {
  const maxAttempts = Math.max(1, options.maxAttempts ?? DEFAULT_RETRY.maxAttempts);
  const sleep = options.sleep ?? realSleep;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (error) {
      if (attempt >= maxAttempts || !isRetryable(error)) throw error;
      await sleep(backoffDelay(attempt, options));
    }
  }
}
