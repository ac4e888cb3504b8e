import { describe, expect, it } from 'vitest';
import { fuzzMetadata, fuzzUnflatten } from './properties/metadata.ts';
import { CI_BUDGET, fuzzSeed } from './support/budget.ts';
import { formatStats } from './support/outcome.ts';

/** Random and edited `sops` blocks: typed or refused with a SopsFormatError; accepted ones write back. */

const seed = fuzzSeed();
const run = { runs: CI_BUDGET.metadata, ...(seed === undefined ? {} : { seed }) };

describe('sops metadata', () => {
  it(`${CI_BUDGET.metadata} random and edited blocks: typed, or refused with a SopsFormatError`, async () => {
    const stats = await fuzzMetadata(run);
    if (process.env.FUZZ_REPORT) console.info(formatStats(stats));
    expect(stats.succeeded).toBeGreaterThan(0);
    expect(stats.cases - stats.succeeded).toBeGreaterThan(0);
  });

  it(`${CI_BUDGET.metadata} sets of flattened names: rebuilt, or refused with a SopsFormatError`, async () => {
    const stats = await fuzzUnflatten(run);
    if (process.env.FUZZ_REPORT) console.info(formatStats(stats));
    expect(stats.succeeded).toBeGreaterThan(0);
  });
});
