import { describe, expect, it } from 'vitest';
import type { StoreFormat } from '../../src/sops/store.ts';
import { fuzzRoundTrip } from './properties/round-trip.ts';
import { CI_BUDGET, fuzzSeed } from './support/budget.ts';
import { formatStats } from './support/outcome.ts';

/**
 * Random documents (unicode strings holding the canary, int64 edges, -0, 1e21, 1e-7, bools, nulls,
 * nested maps and lists, YAML comments): encrypt then decrypt gives the same document, and so do
 * rotate and rewrap. The heavy run (scripts/fuzz-heavy.ts) does 10,000 per format.
 */

const FORMATS: readonly StoreFormat[] = ['yaml', 'json', 'dotenv', 'ini', 'binary'];

describe.each(FORMATS)('%s store, random documents', (format) => {
  it(`${CI_BUDGET.roundTrip[format]} documents survive encrypt, decrypt, rotate and rewrap`, async () => {
    const seed = fuzzSeed();
    const stats = await fuzzRoundTrip(format, { runs: CI_BUDGET.roundTrip[format], ...(seed === undefined ? {} : { seed }) });
    if (process.env.FUZZ_REPORT) console.info(formatStats(stats));
    expect(stats.succeeded).toBe(CI_BUDGET.roundTrip[format]);
  });
});
