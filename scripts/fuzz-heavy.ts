/**
 * The heavy fuzz run: at least 10,000 cases per format and property (docs/reliability.md,
 * "Fuzzing"). `npm test` runs the same properties with smaller counts (test/fuzz/support/budget.ts).
 *
 *   npx node scripts/fuzz-heavy.ts                       # everything
 *   npx node scripts/fuzz-heavy.ts --only mutations,metadata --formats yaml,json
 *   FUZZ_SEED=1234 npx node scripts/fuzz-heavy.ts        # replay a seed fast-check printed
 *
 * Prints one line per property (cases, max and mean time per case, error codes). Exit 1 on the
 * first failing property, with fast-check's counterexample.
 */
import { parseArgs } from 'node:util';
import type { StoreFormat } from '../src/sops/store.ts';
import { readSopsFile } from '../src/sops/sops-file.ts';
import { fuzzMetadata, fuzzUnflatten } from '../test/fuzz/properties/metadata.ts';
import { engineCorpus, fuzzMutations, vectorCorpus, type CorpusFile } from '../test/fuzz/properties/mutations.ts';
import { fuzzRotateCommand } from '../test/fuzz/properties/rotate-cli.ts';
import { fuzzRoundTrip } from '../test/fuzz/properties/round-trip.ts';
import { CORPUS_SEED, fuzzSeed, HEAVY_BUDGET } from '../test/fuzz/support/budget.ts';
import { vectorAgeIdentities } from '../test/fuzz/support/corpus.ts';
import { freshAgeKey } from '../test/fuzz/support/keys.ts';
import { formatStats, type FuzzStats } from '../test/fuzz/support/outcome.ts';
import { vectorKeys } from '../test/support/vectors.ts';

const ALL_FORMATS: readonly StoreFormat[] = ['yaml', 'json', 'dotenv', 'ini', 'binary'];
const ALL_PROPERTIES = ['mutations', 'round-trip', 'rotate-command', 'metadata'] as const;

const { values } = parseArgs({ options: { only: { type: 'string' }, formats: { type: 'string' }, scale: { type: 'string' } } });
const only = new Set(values.only ? values.only.split(',') : ALL_PROPERTIES);
const formats = (values.formats ? values.formats.split(',') : ALL_FORMATS) as StoreFormat[];
/** `--scale 0.1` for a quicker look with the same mix. */
const scale = Number(values.scale ?? 1);
const count = (n: number): number => Math.max(1, Math.round(n * scale));
const seed = fuzzSeed();
const run = (runs: number) => ({ runs: count(runs), ...(seed === undefined ? {} : { seed }) });

const keys = await vectorKeys();
const lines: string[] = [];
async function report(work: () => Promise<FuzzStats>): Promise<void> {
  const started = Date.now();
  const stats = await work();
  const line = `${formatStats(stats)} [${((Date.now() - started) / 1000).toFixed(1)} s]`;
  lines.push(line);
  console.log(line);
}

let failed = false;
try {
  for (const format of formats) {
    if (only.has('mutations')) {
      const corpus = [...(await vectorCorpus(format, keys.sources)), ...(await engineCorpus(format, HEAVY_BUDGET.engineFiles, CORPUS_SEED))];
      await report(() => fuzzMutations(format, corpus, run(HEAVY_BUDGET.mutations[format])));
    }
    if (only.has('round-trip')) await report(() => fuzzRoundTrip(format, run(HEAVY_BUDGET.roundTrip[format])));
  }
  if (only.has('rotate-command')) {
    const key = await freshAgeKey();
    const corpus: CorpusFile[] = [];
    for (const format of formats) {
      const local = (file: CorpusFile) =>
        readSopsFile(file.bytes, file.name).metadata.keyGroups.every((group) => group.every((k) => k.type === 'age' || k.type === 'pgp'));
      corpus.push(...(await vectorCorpus(format, keys.sources)).filter(local), ...(await engineCorpus(format, 10, CORPUS_SEED, key)));
    }
    await report(() => fuzzRotateCommand(corpus, [...vectorAgeIdentities(), key.identity], run(HEAVY_BUDGET.rotateCommand)));
  }
  if (only.has('metadata')) {
    await report(() => fuzzMetadata(run(HEAVY_BUDGET.metadata)));
    await report(() => fuzzUnflatten(run(HEAVY_BUDGET.metadata)));
  }
} catch (error) {
  failed = true;
  console.error(error instanceof Error ? `${error.message}\n${String((error.cause as Error | undefined)?.stack ?? '')}` : String(error));
} finally {
  await keys.cleanup();
}
console.log(failed ? 'fuzz-heavy: FAILED' : `fuzz-heavy: ${lines.length} properties passed`);
process.exitCode = failed ? 1 : 0;
