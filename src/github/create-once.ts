/**
 * Creates on GitHub that survive a lost answer. GitHub sometimes applies a write and still answers
 * 502 (or the connection drops after the write landed); Probot's retry plugin then sends the same
 * POST again, and a second dashboard issue, check run or pull request appears (or the retry fails
 * with 422 because the first one exists). So creates run with the plugin's retries off, and this
 * loop does the retrying: after any failed attempt it first looks for what that attempt may have
 * made (by hidden marker, head branch, check name + head SHA) and reuses it, and only sends the
 * create again when nothing is there and the failure was one worth retrying.
 */

export interface CreateOnceOptions<T> {
  /** One attempt at the create, with the HTTP client's own retries off. */
  readonly create: () => Promise<T>;
  /** What an earlier attempt may have created, or undefined when there is none. */
  readonly find: () => Promise<T | undefined>;
  /**
   * Waits before the 2nd, 3rd, ... attempt (and so their count). Default: Probot's retry plugin's
   * own 1, 4 and 9 s.
   */
  readonly delaysMs?: readonly number[];
  readonly sleep?: (ms: number) => Promise<void>;
}

export const DEFAULT_CREATE_DELAYS_MS: readonly number[] = [1000, 4000, 9000];

const realSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Runs `create` until it succeeds, or until `find` shows an earlier attempt did; rethrows the last
 * error when neither happens. A 4xx is not retried (GitHub refused, nothing was created) but still
 * looked behind: a retry's 422 "already exists" means an earlier attempt did create it.
 */
export async function createOnce<T>(options: CreateOnceOptions<T>): Promise<T> {
  const delays = options.delaysMs ?? DEFAULT_CREATE_DELAYS_MS;
  const sleep = options.sleep ?? realSleep;
  for (let attempt = 0; ; attempt++) {
    let failure: unknown;
    try {
      return await options.create();
    } catch (error) {
      failure = error;
    }
    // A lookup that fails too is no answer either way: the create's own error is the one to report.
    const found = await options.find().catch(() => undefined);
    if (found !== undefined) return found;
    const delay = delays[attempt];
    if (delay === undefined || !retryable(failure)) throw failure;
    await sleep(delay);
  }
}

/**
 * Worth another attempt: GitHub failed with a 5xx, or the answer never came (Octokit reports a
 * reset connection or a timeout as status 500 too). Anything without a status is not GitHub's
 * (a bug here) and is not retried. Rate limits are waited out by the throttling plugin, below
 * this loop.
 */
export function retryable(error: unknown): boolean {
  const status = (error as { status?: unknown } | null)?.status;
  return typeof status === 'number' && status >= 500;
}
