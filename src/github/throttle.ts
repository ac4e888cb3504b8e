/**
 * GitHub call pacing. Probot's Octokit already carries `@octokit/plugin-throttling`, which
 * serializes mutating requests (one at a time, at least 1 s apart, per installation) and waits
 * out rate limits, and `@octokit/plugin-retry` for 5xx answers. What Probot's defaults do not do
 * is retry after a *secondary* rate limit: they only log it, and the write is lost. This Octokit
 * class retries both kinds of limit a bounded number of times, after the `retry-after` GitHub
 * sends (the plugin does the waiting).
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
  return ProbotOctokit.defaults((options: Record<string, unknown>) => ({
    ...options,
    throttle: { ...(options.throttle as object | undefined), ...throttle },
  }));
}
