/**
 * GitHub call pacing. Probot's Octokit already carries `@octokit/plugin-throttling`, which waits
 * out rate limits, and `@octokit/plugin-retry` for 5xx answers. What Probot's defaults do not do
 * is retry after a *secondary* rate limit: they only log it, and the write is lost. This Octokit
 * class retries both kinds of limit a bounded number of times, after the `retry-after` GitHub
 * sends (the plugin does the waiting).
 *
 * The throttling plugin also spaces mutating requests a second apart, but only their *launch*:
 * the request itself then waits in a shared queue of ten concurrent requests, so under read load
 * two writes reached the stand-in 110 ms apart (bench/github-app.ts). GitHub asks integrators to
 * make mutating requests one at a time and to wait a second between them, so `pacedWrites` does
 * exactly that, around the whole request (retries included).
 */
import { ProbotOctokit } from 'probot';

export interface ThrottleLog {
  warn(meta: object, message: string): void;
}

export interface ThrottlePolicy {
  /** Retries per request after a primary or secondary rate limit; default 3. */
  readonly maxRetries?: number;
  /**
   * Milliseconds per second of `retry-after`: 1000 in production; tests shrink it so a
   * `retry-after: 1` costs milliseconds, not seconds.
   */
  readonly retryAfterBaseValue?: number;
  /** Wait after each mutating request ends before the next one starts; default 1000 ms. */
  readonly writeSpacingMs?: number;
}

/** Installation-token requests: a write holding the slot may need one, so they are never paced. */
const AUTH_PATH = /^\/app\/installations\/[^/]+\/access_tokens$|^\/applications\/[^/]+\/token(\/scoped)?$/;

/**
 * An Octokit plugin running mutating requests one at a time, `spacingMs` after the previous one
 * ended, for every client of the class it is added to (all installations of the process).
 */
export function pacedWrites(spacingMs: number) {
  let tail: Promise<void> = Promise.resolve();
  // Only `hook` is used: the plugin sees the bare core client, before other plugins are added.
  return (octokit: Pick<InstanceType<typeof ProbotOctokit>, 'hook'>) => {
    octokit.hook.wrap('request', async (request, options) => {
      const method = options.method.toUpperCase();
      const pathname = new URL(options.url, 'http://github.test').pathname;
      if (method === 'GET' || method === 'HEAD' || AUTH_PATH.test(pathname)) return request(options);
      const previous = tail;
      let release: () => void = () => {};
      tail = new Promise<void>((resolve) => (release = resolve));
      await previous;
      try {
        return await request(options);
      } finally {
        setTimeout(release, spacingMs);
      }
    });
    return {};
  };
}

interface LimitedRequest {
  readonly method: string;
  readonly url: string;
}

/** The `throttle` Octokit option implementing the policy. */
export function throttleOptions(policy: ThrottlePolicy = {}) {
  const maxRetries = policy.maxRetries ?? 3;
  const decide =
    (kind: 'rate limit' | 'secondary rate limit') =>
    (retryAfter: number, options: LimitedRequest, octokit: { log: ThrottleLog }, retryCount: number): boolean => {
      const retry = retryCount < maxRetries;
      octokit.log.warn(
        { method: options.method, url: options.url, retryAfter, retryCount, retry },
        `GitHub ${kind} hit`,
      );
      return retry;
    };
  return {
    enabled: true,
    onRateLimit: decide('rate limit'),
    onSecondaryRateLimit: decide('secondary rate limit'),
    ...(policy.retryAfterBaseValue === undefined ? {} : { retryAfterBaseValue: policy.retryAfterBaseValue }),
  };
}

/**
 * Probot's Octokit with the policy above; pass it as Probot's `Octokit` option. A function
 * default, so it wins over the throttle options Probot merges in when it builds its class.
 */
export function throttledOctokit(policy: ThrottlePolicy = {}): typeof ProbotOctokit {
  const throttle = throttleOptions(policy);
  return ProbotOctokit.plugin(pacedWrites(policy.writeSpacingMs ?? 1000)).defaults((options: Record<string, unknown>) => ({
    ...options,
    throttle: { ...(options.throttle as object | undefined), ...throttle },
  }));
}
