import { describe, expect, it } from 'vitest';
import { backoffDelay, withRetry } from '../../src/kms/retry.ts';

class Transient extends Error {}

describe('withRetry', () => {
  it('retries transient failures and returns the first success', async () => {
    const sleeps: number[] = [];
    let calls = 0;
    const result = await withRetry(
      async () => {
        calls++;
        if (calls < 3) throw new Transient('flaky');
        return 'ok';
      },
      (e) => e instanceof Transient,
      { sleep: async (ms) => void sleeps.push(ms), random: () => 0.5, baseDelayMs: 100 },
    );
    expect(result).toBe('ok');
    expect(calls).toBe(3);
    // Exponential: half of 100, then half of 200.
    expect(sleeps).toEqual([50, 100]);
  });

  it('gives up after maxAttempts with the last error', async () => {
    let calls = 0;
    const run = withRetry(
      async () => {
        calls++;
        throw new Transient(`attempt ${calls}`);
      },
      (e) => e instanceof Transient,
      { maxAttempts: 3, sleep: async () => {} },
    );
    await expect(run).rejects.toThrow('attempt 3');
    expect(calls).toBe(3);
  });

  it('does not retry errors that are not retryable', async () => {
    let calls = 0;
    const run = withRetry(
      async () => {
        calls++;
        throw new Error('permanent');
      },
      (e) => e instanceof Transient,
      { sleep: async () => {} },
    );
    await expect(run).rejects.toThrow('permanent');
    expect(calls).toBe(1);
  });
});

describe('backoffDelay', () => {
  it('is capped and never negative', () => {
    expect(backoffDelay(20, { baseDelayMs: 100, maxDelayMs: 5_000, random: () => 0.999 })).toBeLessThan(5_000);
    expect(backoffDelay(1, { random: () => 0 })).toBe(0);
  });
});
