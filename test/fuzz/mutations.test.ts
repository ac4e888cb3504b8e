import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StoreFormat } from '../../src/sops/store.ts';
import { vectorKeys, type VectorKeys } from '../support/vectors.ts';
import { engineCorpus, fuzzMutations, vectorCorpus } from './properties/mutations.ts';
import { CI_BUDGET, CORPUS_SEED, fuzzSeed } from './support/budget.ts';
import { formatStats } from './support/outcome.ts';

/**
 * Mutated sops vectors and engine-written files, and random bytes: `decryptFile` decrypts them to
 * the original secrets or refuses them with a typed error that names the file and shows no secret.
 */

const FORMATS: readonly StoreFormat[] = ['yaml', 'json', 'dotenv', 'ini', 'binary'];

let keys: VectorKeys;
beforeAll(async () => {
  keys = await vectorKeys();
});
afterAll(async () => keys?.cleanup());

describe.each(FORMATS)('%s store, mutated and random input', (format) => {
  it(`${CI_BUDGET.mutations[format]} cases: the original secrets or a typed error, never a secret in a message`, async () => {
    const corpus = [...(await vectorCorpus(format, keys.sources)), ...(await engineCorpus(format, CI_BUDGET.engineFiles, CORPUS_SEED))];
    const seed = fuzzSeed();
    const stats = await fuzzMutations(format, corpus, { runs: CI_BUDGET.mutations[format], ...(seed === undefined ? {} : { seed }) });
    if (process.env.FUZZ_REPORT) console.info(formatStats(stats));
    expect(stats.cases).toBe(CI_BUDGET.mutations[format]);
    // The mutations reach both ends: some files still open (a harmless edit), most are refused.
    expect(stats.succeeded).toBeGreaterThan(0);
    expect(stats.errors.size).toBeGreaterThan(1);
  });
});
