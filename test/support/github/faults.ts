/**
 * Fault injection for the stand-in: a random 502 rate, and faults queued for the next matching
 * requests (a 502, or a secondary rate limit answered with `retry-after`, as GitHub sends it).
 */
import type { Reply } from './http.ts';
import { errorBody } from './http.ts';

export type Fault =
  | { readonly kind: 'bad-gateway' }
  | { readonly kind: 'secondary-rate-limit'; readonly retryAfterSeconds: number }
  /** Answers normally, `ms` late (a slow write, to surface overlapping requests). */
  | { readonly kind: 'delay'; readonly ms: number };

export interface FaultOptions {
  /** Fraction (0..1) of requests answered 502 at random. */
  readonly badGatewayRate?: number;
  /** Source of randomness for `badGatewayRate`; inject a seeded one for repeatable runs. */
  readonly random?: () => number;
}

export type RequestMatcher = (method: string, path: string) => boolean;

interface Pending {
  readonly fault: Fault;
  readonly match: RequestMatcher;
  remaining: number;
}

export class Faults {
  private readonly pending: Pending[] = [];
  private readonly options: FaultOptions;

  constructor(options: FaultOptions = {}) {
    this.options = options;
  }

  /** Answers the next `times` requests matching `match` (default: any) with `fault`. */
  inject(fault: Fault, options: { match?: RequestMatcher; times?: number } = {}): void {
    this.pending.push({ fault, match: options.match ?? (() => true), remaining: options.times ?? 1 });
  }

  /** The fault to answer this request with, if any (consumes a queued one). */
  take(method: string, path: string): Fault | undefined {
    const index = this.pending.findIndex((p) => p.remaining > 0 && p.match(method, path));
    const pending = this.pending[index];
    if (pending) {
      pending.remaining -= 1;
      if (pending.remaining === 0) this.pending.splice(index, 1);
      return pending.fault;
    }
    const rate = this.options.badGatewayRate ?? 0;
    if (rate > 0 && (this.options.random ?? Math.random)() < rate) return { kind: 'bad-gateway' };
    return undefined;
  }
}

export function faultReply(fault: Exclude<Fault, { kind: 'delay' }>): Reply {
  if (fault.kind === 'bad-gateway') {
    return { status: 502, body: errorBody('Server Error') };
  }
  return {
    status: 403,
    headers: { 'retry-after': String(fault.retryAfterSeconds) },
    body: errorBody(
      'You have exceeded a secondary rate limit. Please wait a few minutes before you try again.',
    ),
  };
}

/** Matches mutating requests only (what GitHub's secondary limits mostly hit). */
export const mutating: RequestMatcher = (method) => method !== 'GET' && method !== 'HEAD';
