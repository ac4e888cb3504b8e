import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readSopsFile } from '../../src/sops/sops-file.ts';
import type { StoreFormat } from '../../src/sops/store.ts';
import { vectorKeys, type VectorKeys } from '../support/vectors.ts';
import { engineCorpus, vectorCorpus, type CorpusFile } from './properties/mutations.ts';
import { fuzzRotateCommand } from './properties/rotate-cli.ts';
import { CI_BUDGET, CORPUS_SEED, fuzzSeed } from './support/budget.ts';
import { vectorAgeIdentities } from './support/corpus.ts';
import { freshAgeKey } from './support/keys.ts';
import { formatStats } from './support/outcome.ts';

/** `sops-rekey rotate` on mutated files: rotated correctly, or exit 1 with the file untouched. */

const FORMATS: readonly StoreFormat[] = ['yaml', 'json', 'dotenv', 'ini', 'binary'];

let keys: VectorKeys;
beforeAll(async () => {
  keys = await vectorKeys();
});
afterAll(async () => keys?.cleanup());

/** Only files whose master keys are all age or PGP: a Cloud KMS entry would look for credentials. */
const localKeysOnly = (file: CorpusFile): boolean =>
  readSopsFile(file.bytes, file.name).metadata.keyGroups.every((group) => group.every((key) => key.type === 'age' || key.type === 'pgp'));

describe('rotate command on mutated files', () => {
  it(`${CI_BUDGET.rotateCommand} cases: a verified new file, or the old one byte for byte`, async () => {
    const key = await freshAgeKey();
    const corpus: CorpusFile[] = [];
    for (const format of FORMATS) {
      corpus.push(...(await vectorCorpus(format, keys.sources)).filter(localKeysOnly));
      corpus.push(...(await engineCorpus(format, 4, CORPUS_SEED, key)));
    }
    const seed = fuzzSeed();
    const stats = await fuzzRotateCommand(corpus, [...vectorAgeIdentities(), key.identity], { runs: CI_BUDGET.rotateCommand, ...(seed === undefined ? {} : { seed }) });
    if (process.env.FUZZ_REPORT) console.info(formatStats(stats));
    expect(stats.cases).toBe(CI_BUDGET.rotateCommand);
    // Both outcomes were reached: harmless edits rotate, damaging ones are refused.
    expect(stats.succeeded).toBeGreaterThan(0);
    expect(stats.errors.get('exit 1, file untouched')).toBeGreaterThan(0);
  });
});
