/**
 * What the reliability scenarios share: a repository of SOPS files whose every plaintext holds a
 * fresh canary, the checks a user makes on a file after a run (the old bytes, or a complete file
 * that decrypts with its MAC verified to the same plaintext, wrapped by the new primary), and the
 * leak search (stdout, stderr, files created under the OS temp dir, the repository's git objects).
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { CLI_NODE_ARGS } from '../support/cli.ts';
import { seededRandom, type Random } from '../../src/emulator/random.ts';
import type { GcpKmsKeySource } from '../../src/keys/gcp-kms.ts';
import { decryptFile } from '../../src/rekey/transform.ts';
import { readSopsFile } from '../../src/sops/sops-file.ts';
import type { KmsRepo } from '../support/kms-repo.ts';

export { seededRandom, type Random };

/** A canary no earlier run, source file or other test can hold: found anywhere means leaked. */
export const newCanary = (): string => `canary-rel-${randomBytes(8).toString('hex')}`;

/** Extensions that select each store, and a document per store built around a canary. */
const DOCUMENTS: readonly { readonly ext: string; readonly doc: (canary: string, i: number) => string }[] = [
  { ext: 'yaml', doc: (c, i) => `service: svc-${i}\ncredentials:\n    password: ${c}-${i}\n    user: app${i}\nreplicas: ${i}\n` },
  { ext: 'json', doc: (c, i) => `{\n\t"token": "${c}-${i}",\n\t"port": ${8000 + i}\n}\n` },
  { ext: 'env', doc: (c, i) => `API_KEY=${c}-${i}\nREGION=eu-west${i}\n` },
  { ext: 'ini', doc: (c, i) => `[db]\npassword = ${c}-${i}\nhost = db${i}.internal\n` },
  { ext: 'txt', doc: (c, i) => `raw secret ${c}-${i}\n` },
];

export interface SecretFile {
  readonly path: string;
  /** The document written, canary included. */
  readonly document: string;
  /** What `sops -d` prints for the file (the INI store, as sops, aligns keys): the later check. */
  readonly plaintext: string;
  /** The bytes before any run: a file left alone must still be exactly these. */
  readonly before: Buffer;
}

/**
 * Writes `count` SOPS files (the five stores in turn, spread over a few folders), each wrapped by
 * `key`'s current primary and the repository's age recipient when `age` is set.
 */
export async function writeSecretFiles(repo: KmsRepo, key: string, count: number, canary: string, options: { readonly age?: boolean } = {}): Promise<SecretFile[]> {
  const files: SecretFile[] = [];
  for (let i = 0; i < count; i++) {
    const kind = DOCUMENTS[i % DOCUMENTS.length]!;
    const relative = `apps/team-${i % 3}/secret-${String(i).padStart(2, '0')}.${kind.ext}`;
    const document = kind.doc(canary, i);
    const before = await repo.writeSops(relative, { gcp: [{ key }], plaintext: document, ...(options.age ? { age: true } : {}) });
    const plaintext = Buffer.from(await decryptFile(before, relative, repo.sources)).toString('utf8');
    files.push({ path: relative, document, plaintext, before });
  }
  return files;
}

/** A `sops-rekey` child process: no hang can outlast this. */
export const CHILD_TIMEOUT_MS = 30_000;

/**
 * `sops-rekey ARGS...` as users run it (`bin/sops-rekey.js` in a child process), with an
 * environment built from nothing but the emulator's address, so no developer key can help it.
 * Never rejects: the exit code or the signal is in the result; `kill` works on the promise.
 */
export function sopsRekey(repo: KmsRepo, args: readonly string[]): ResultPromise<{ reject: false; timeout: number }> {
  return execa(process.execPath, [...CLI_NODE_ARGS, ...args], {
    extendEnv: false,
    env: { PATH: process.env.PATH ?? '', LC_ALL: 'C', HOME: repo.dir, KMS_EMULATOR_HOST: repo.emulator.host },
    reject: false,
    timeout: CHILD_TIMEOUT_MS,
  }) as ResultPromise<{ reject: false; timeout: number }>;
}

export type FileVerdict =
  | { readonly kind: 'untouched' }
  | { readonly kind: 'new'; readonly onPrimary: boolean }
  | { readonly kind: 'broken'; readonly reason: string };

/**
 * What a user finds in a file after a run: the old bytes exactly, or a new complete file whose MAC
 * verifies and whose plaintext is the original (with whether its Cloud KMS entry now unwraps with
 * the primary), or anything else, which is a broken file. Call with the emulator's faults off.
 */
export async function checkFile(repo: KmsRepo, file: SecretFile): Promise<FileVerdict> {
  const bytes = await repo.read(file.path);
  if (bytes.equals(file.before)) return { kind: 'untouched' };
  try {
    const plain = Buffer.from(await decryptFile(bytes, file.path, repo.sources)).toString('utf8');
    if (plain !== file.plaintext) return { kind: 'broken', reason: 'decrypts to another plaintext' };
    const entries = readSopsFile(bytes, file.path).metadata.keyGroups.flat().filter((key) => key.type === 'gcp_kms');
    const gcp = repo.sources.gcp_kms as GcpKmsKeySource;
    const unwrapped = await Promise.all(entries.map((entry) => gcp.unwrap(entry)));
    return { kind: 'new', onPrimary: unwrapped.length > 0 && unwrapped.every((u) => u.evidence.source === 'gcp_kms' && u.evidence.usedPrimary) };
  } catch (error) {
    // The message of a typed error never holds a plaintext, so it can be shown in the assertion.
    return { kind: 'broken', reason: error instanceof Error ? error.message : String(error) };
  }
}

/** Verdicts per file path, for one assertion over the whole repository. */
export async function checkAll(repo: KmsRepo, files: readonly SecretFile[]): Promise<Record<string, FileVerdict>> {
  const verdicts = await Promise.all(files.map(async (file) => [file.path, await checkFile(repo, file)] as const));
  return Object.fromEntries(verdicts);
}

// ---- Leak search ----

/** Folders of the machinery running the tests, not of the product: never searched. */
const NOT_OURS = ['bash_jobs.*', 'bash_tool_*'];

/** The moment a run starts, as a file whose times later files are compared with. */
export interface TmpMark {
  readonly root: string;
  readonly marker: string;
}

/** Marks now: files under the OS temp dir written after this were written during the run. */
export async function markTmp(root = tmpdir()): Promise<TmpMark> {
  const dir = await mkdtemp(path.join(root, 'sops-rekey-mark-'));
  const marker = path.join(dir, 'mark');
  await writeFile(marker, '');
  // Coarse file-system timestamps would make a file written in the same tick look older.
  await new Promise((resolve) => setTimeout(resolve, 20));
  return { root, marker };
}

/**
 * Files under the temp dir created or changed since `mark` (`find -newer`, also by change time so
 * a file whose mtime was set back is still found) that contain one of `needles`. The run's own
 * files are small; each is read in full. Ends the mark.
 */
export async function tmpFilesContaining(mark: TmpMark, ...needles: readonly string[]): Promise<{ hits: string[]; searched: number }> {
  const prune = NOT_OURS.flatMap((name, i) => [...(i > 0 ? ['-o'] : []), '-name', name]);
  const found = await execa(
    'find',
    [mark.root, '-xdev', '-mindepth', '1', '(', ...prune, ')', '-prune', '-o', '-type', 'f', '(', '-newer', mark.marker, '-o', '-cnewer', mark.marker, ')', '-print0'],
    { reject: false, maxBuffer: 256 * 1024 * 1024 },
  );
  const files = found.stdout.split('\0').filter((file) => file !== '' && file !== mark.marker);
  const hits: string[] = [];
  let searched = 0;
  for (const file of files) {
    const bytes = await readFile(file).catch(() => undefined);
    if (bytes === undefined) continue; // removed since, by its owner
    searched += 1;
    if (needles.some((needle) => bytes.includes(needle))) hits.push(file);
  }
  await rm(path.dirname(mark.marker), { recursive: true, force: true });
  return { hits, searched };
}

/**
 * Commits the work tree (or only `paths`) as a user would after a run, then searches every object
 * of the repository (blobs, trees, commits, uncompressed by `git cat-file`) for `needle`; returns
 * the object count.
 */
export async function gitObjectsContaining(dir: string, needle: string, paths?: readonly string[]): Promise<{ hit: boolean; objects: number }> {
  const git = (args: readonly string[], options: { lines?: boolean } = {}) =>
    execa('git', ['-c', 'core.hooksPath=/dev/null', '-c', 'commit.gpgsign=false', ...args], {
      cwd: dir,
      encoding: 'buffer',
      env: { GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@t.invalid', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@t.invalid', GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1' },
      maxBuffer: 1024 * 1024 * 1024,
      ...options,
    });
  await git(paths ? ['add', '--', ...paths] : ['add', '--all']);
  await git(['commit', '--quiet', '--allow-empty', '--no-verify', '-m', 'after the run']);
  const all = await git(['cat-file', '--batch-all-objects', '--batch']);
  const out = Buffer.from(all.stdout);
  const count = await git(['cat-file', '--batch-all-objects', '--batch-check']);
  return { hit: out.includes(needle), objects: Buffer.from(count.stdout).toString('utf8').split('\n').filter(Boolean).length };
}

/** Temporary files `writeFileAtomic` leaves if the process dies between open and rename. */
export async function atomicTempFiles(dir: string): Promise<string[]> {
  const found: string[] = [];
  const pending = [''];
  for (let rel = pending.pop(); rel !== undefined; rel = pending.pop()) {
    for (const entry of await readdir(path.join(dir, rel), { withFileTypes: true })) {
      const child = rel === '' ? entry.name : `${rel}/${entry.name}`;
      if (entry.isDirectory() && entry.name !== '.git') pending.push(child);
      else if (/^\..+\.[0-9a-f]{12}\.tmp$/.test(entry.name)) found.push(child);
    }
  }
  return found.sort();
}
