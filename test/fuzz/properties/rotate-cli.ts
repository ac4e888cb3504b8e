/**
 * Property 3: `sops-rekey rotate` (the command function, in process) on a mutated file either
 * rotates it to a file that decrypts to what the mutated file decrypted to, or exits 1 and leaves
 * it byte for byte as it was, with no temporary file beside it. Nothing it prints holds a secret.
 */
import { deepStrictEqual, ok } from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { rotateCommand } from '../../../src/cli/rotate.ts';
import { decryptFile } from '../../../src/rekey/transform.ts';
import { CANARY } from '../support/documents.ts';
import { applyMutations, describeMutations, mutationsArb } from '../support/mutate.ts';
import { newStats, runCase, type FuzzStats } from '../support/outcome.ts';
import type { CorpusFile } from './mutations.ts';
import type { FuzzRun } from './round-trip.ts';

/**
 * Runs `work` with `env` set and stderr captured: the command reads its keys from the environment
 * (`SOPS_AGE_KEY`) and reports on stderr. Both are put back afterwards.
 */
async function withCommandEnvironment<T>(env: Record<string, string>, work: (stderr: () => string) => Promise<T>): Promise<T> {
  const saved = new Map(Object.keys(env).map((key) => [key, process.env[key]]));
  const write = process.stderr.write;
  let captured = '';
  Object.assign(process.env, env);
  process.stderr.write = ((chunk: string | Uint8Array) => {
    captured += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
    return true;
  }) as typeof process.stderr.write;
  try {
    return await work(() => captured);
  } finally {
    process.stderr.write = write;
    for (const [key, value] of saved) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  }
}

export async function fuzzRotateCommand(corpus: readonly CorpusFile[], ageIdentities: readonly string[], { runs, seed }: FuzzRun): Promise<FuzzStats> {
  const stats = newStats(`rotate command (${corpus.length} files)`);
  const secrets = [...new Set([CANARY, ...corpus.flatMap((file) => file.secrets)])];
  const home = await mkdtemp(path.join(tmpdir(), 'fuzz-rotate-'));
  // A config dir of its own, so no age key file of the machine is read; an empty GNUPGHOME.
  const env = { SOPS_AGE_KEY: ageIdentities.join('\n'), XDG_CONFIG_HOME: home, HOME: home, GNUPGHOME: path.join(home, 'gnupg') };
  let count = 0;
  try {
    await withCommandEnvironment(env, async (stderr) => {
      const property = fc.asyncProperty(fc.nat(), mutationsArb, fc.boolean(), async (index, mutations, rewrap) => {
        const file = corpus[index % corpus.length]!;
        const bytes = applyMutations(file.bytes, mutations);
        const dir = path.join(home, `case-${count++}`);
        const target = path.join(dir, path.basename(file.name));
        const before = stderr().length;
        await rm(dir, { recursive: true, force: true });
        await mkdir(dir);
        await writeFile(target, bytes);
        const result = await runCase(stats, secrets, () => rotateCommand(rewrap ? ['--rewrap', target] : [target]));
        const what = `${file.name} after ${describeMutations(mutations)}${rewrap ? ' (--rewrap)' : ''}`;
        ok(result.ok, `${what}: the command threw instead of exiting with a code`);
        const after = new Uint8Array(await readFile(target));
        deepStrictEqual(await readdir(dir), [path.basename(target)], `${what}: a temporary file was left behind`);
        const printed = stderr().slice(before);
        for (const secret of secrets) ok(!printed.includes(secret), `${what}: stderr shows a secret`);
        if (result.value === 0) {
          // Rotated: the new file must decrypt to what the mutated one decrypted to.
          const expected = await decryptFile(bytes, file.name, file.sources);
          deepStrictEqual(Buffer.from(await decryptFile(after, file.name, file.sources)), Buffer.from(expected), `${what}: rotated to other plaintext`);
        } else {
          deepStrictEqual(result.value, 1, `${what}: exit code`);
          ok(Buffer.from(after).equals(bytes), `${what}: a failed rotate changed the file`);
          // Counted as refused, not as succeeded: the command ran fine but rotated nothing.
          stats.succeeded--;
          stats.errors.set('exit 1, file untouched', (stats.errors.get('exit 1, file untouched') ?? 0) + 1);
        }
        await rm(dir, { recursive: true, force: true });
      });
      await fc.assert(property, { numRuns: runs, ...(seed === undefined ? {} : { seed }) });
    });
  } finally {
    await rm(home, { recursive: true, force: true });
  }
  return stats;
}
