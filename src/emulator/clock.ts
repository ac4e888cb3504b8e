/** A source of "now". The emulator reads it on every request, so time can be driven by tests. */
export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
}

/** The wall clock. */
export const systemClock: Clock = { now: () => Date.now() };

/**
 * A clock that moves only when told to: tests and the demo use it to reach a destroy time or a
 * rotation time without waiting.
 */
export class ManualClock implements Clock {
  #ms: number;

  constructor(startMs: number = Date.now()) {
    this.#ms = startMs;
  }

  now(): number {
    return this.#ms;
  }

  advance(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) throw new RangeError('ManualClock.advance needs a finite, non-negative number of milliseconds');
    this.#ms += ms;
  }

  set(ms: number): void {
    if (!Number.isFinite(ms)) throw new RangeError('ManualClock.set needs a finite number of milliseconds');
    this.#ms = ms;
  }
}
