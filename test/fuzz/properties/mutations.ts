/**
 * Property 1 (and 4): mutated and random inputs given to `decryptFile` either decrypt to the
 * original's secrets or throw a typed `SopsRekeyError` with a code, never anything else, never a
 * secret in a message. The corpus is the real sops vectors of the format plus files this engine
 * wrote for a fresh age key from random documents holding the canary.
 */
import { deepStrictEqual } from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import type { KeySources } from '../../../src/keys/data-key.ts';
import { decryptFile, encryptFile } from '../../../src/rekey/transform.ts';
import { formatForPath, storeFor } from '../../../src/sops/sops-file.ts';
import type { StoreFormat } from '../../../src/sops/store.ts';
import { loadVectors } from '../../support/vectors.ts';
import { CANARY, documentArbs, FILE_NAMES } from '../support/documents.ts';
import { ageGroup, freshAgeKey, memoizeSources, type FreshAgeKey } from '../support/keys.ts';
import { applyMutations, describeMutations, type Mutation, mutationsArb } from '../support/mutate.ts';
import { newStats, runCase, type FuzzStats } from '../support/outcome.ts';
import { encryptedLeaves, type EncryptedLeaf } from '../support/shape.ts';
import type { FuzzRun } from './round-trip.ts';

export interface CorpusFile {
  readonly name: string;
  readonly bytes: Uint8Array;
  readonly sources: KeySources;
  /** The encrypted leaves of the unmutated file; undefined when it does not decrypt (no MAC). */
  readonly leaves: EncryptedLeaf[] | undefined;
  /** Plaintexts that must never show in an error. */
  readonly secrets: readonly string[];
}

/** Vector secrets shorter than this are ordinary words ("string", "office") a message may hold. */
const MIN_SECRET_LENGTH = 8;

/** The format's sops vectors, with memoised copies of `vectorSources` (PGP closed after warm-up). */
export async function vectorCorpus(format: StoreFormat, vectorSources: KeySources): Promise<CorpusFile[]> {
  const memo = memoizeSources(vectorSources, { closed: new Set(['pgp']) });
  const corpus: CorpusFile[] = [];
  for (const vector of loadVectors().filter((v) => formatForPath(v.name) === format)) {
    const bytes = new Uint8Array(readFileSync(vector.file));
    const leaves = await encryptedLeaves(bytes, vector.name, memo.sources).catch(() => undefined);
    const secrets = (leaves ?? [])
      .map((leaf) => Buffer.from(leaf.plaintext, 'hex').toString('utf8'))
      .filter((text) => text.length >= MIN_SECRET_LENGTH);
    corpus.push({ name: vector.name, bytes, sources: memo.sources, leaves, secrets });
  }
  memo.close();
  return corpus;
}

/** `count` files the engine wrote from random documents, for `key` (a fresh age key by default). */
export async function engineCorpus(format: StoreFormat, count: number, seed: number, key?: FreshAgeKey): Promise<CorpusFile[]> {
  key ??= await freshAgeKey();
  const name = FILE_NAMES[format];
  const corpus: CorpusFile[] = [];
  for (const doc of fc.sample(documentArbs[format], { numRuns: count, seed })) {
    const { bytes } = await encryptFile(doc.bytes, name, key.sources, { keyGroups: ageGroup(key.recipient) });
    corpus.push({ name, bytes, sources: key.sources, leaves: await encryptedLeaves(bytes, name, key.sources), secrets: [CANARY] });
  }
  return corpus;
}

type Input =
  | { readonly kind: 'mutated'; readonly file: number; readonly mutations: Mutation[] }
  | { readonly kind: 'random'; readonly bytes: Uint8Array };

const inputArb: fc.Arbitrary<Input> = fc.oneof(
  { weight: 8, arbitrary: fc.record({ kind: fc.constant('mutated' as const), file: fc.nat(), mutations: mutationsArb }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('random' as const), bytes: fc.uint8Array({ maxLength: 256 }) }) },
);

export async function fuzzMutations(format: StoreFormat, corpus: readonly CorpusFile[], { runs, seed }: FuzzRun): Promise<FuzzStats> {
  if (corpus.length === 0) throw new Error(`no ${format} file to mutate`);
  const stats = newStats(`mutations ${format} (${corpus.length} files)`);
  const allSecrets = [...new Set(corpus.flatMap((file) => file.secrets))];
  const property = fc.asyncProperty(inputArb, async (input) => {
    const file = corpus[input.kind === 'mutated' ? input.file % corpus.length : 0]!;
    const bytes = input.kind === 'mutated' ? applyMutations(file.bytes, input.mutations) : input.bytes;
    const what = input.kind === 'mutated' ? `${file.name} after ${describeMutations(input.mutations)}` : `${input.bytes.length} random bytes`;
    const result = await runCase(stats, allSecrets, async () => {
      const printed = await decryptFile(bytes, file.name, file.sources);
      // What decrypted must be the original's secrets, each at its place (the MAC binds them).
      const leaves = await encryptedLeaves(bytes, file.name, file.sources);
      if (input.kind === 'random' || file.leaves === undefined) throw new Error(`${what} decrypted, but its source never did`);
      deepStrictEqual(leaves, file.leaves, `${what} decrypted to other secrets`);
      // And what is printed is a document the store reads.
      if (format !== 'binary') storeFor(format).parsePlain(printed);
      return printed;
    });
    if (!result.ok && result.error.file !== file.name) {
      throw new Error(`${what}: ${result.error.name} ${result.error.code} does not name the file (${String(result.error.file)})`);
    }
  });
  await fc.assert(property, { numRuns: runs, ...(seed === undefined ? {} : { seed }) });
  return stats;
}
