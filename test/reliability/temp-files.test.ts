/**
 * What a SIGKILL during a write leaves: `writeFileAtomic`'s temporary file beside the target
 * (`.NAME.<12 hex>.tmp`), complete (killed between fsync and rename) or cut short (killed while
 * writing), with the target still its old bytes. The next run must neither take the leftover for a
 * SOPS file of the repository nor leave it behind once the target has been written.
 */
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { applyCommand } from '../../src/cli/apply.ts';
import { scanCommand } from '../../src/cli/scan.ts';
import { HOUR, runCommand, startKmsRepo, type KmsRepo } from '../support/kms-repo.ts';
import { atomicTempFiles, checkAll, newCanary, writeSecretFiles } from './support.ts';

const QUICK = ['--probes', '1', '--probe-interval', '0'];

let repo: KmsRepo | undefined;
afterEach(async () => {
  await repo?.close();
  repo = undefined;
});

/** Two stale files; beside the first, the leftovers of two killed writes of its new version. */
async function repoWithLeftovers(git: boolean) {
  const started = await startKmsRepo({ startMs: Date.now() - 4 * HOUR });
  repo = started;
  const key = await started.createKey();
  const files = await writeSecretFiles(started, key, 2, newCanary());
  if (git) await started.commitAll();
  await started.rotate(key);
  // What the killed run had written: the new bytes, whole in one leftover and cut in the other.
  const first = files[0]!;
  const name = path.basename(first.path);
  const dir = path.dirname(first.path);
  const newBytes = (await runInScratch(started, first.path)).subarray();
  const leftovers = [`${dir}/.${name}.0123456789ab.tmp`, `${dir}/.${name}.ba9876543210.tmp`];
  await started.write(leftovers[0]!, newBytes);
  await started.write(leftovers[1]!, newBytes.subarray(0, Math.floor(newBytes.length / 2)));
  return { repo: started, files, leftovers };
}

/** The bytes a run would write for `relative`: produced by `sops-rekey apply` on a copy of it. */
async function runInScratch(repo: KmsRepo, relative: string): Promise<Buffer> {
  const scratch = `scratch-${Date.now()}`;
  await mkdir(path.join(repo.dir, scratch));
  await repo.write(`${scratch}/${path.basename(relative)}`, await repo.read(relative));
  const { exitCode } = await runCommand(repo, applyCommand, [path.join(repo.dir, scratch), ...QUICK]);
  expect(exitCode).toBe(0);
  const bytes = await repo.read(`${scratch}/${path.basename(relative)}`);
  await rm(path.join(repo.dir, scratch), { recursive: true });
  return bytes;
}

interface ScanJson {
  files: { path: string }[];
  problems: { path: string }[];
  skipped: { path: string }[];
}

describe.each([
  ['a git checkout', true],
  ['a plain directory', false],
])('leftover temporary files in %s', (_name, git) => {
  it('are not taken for SOPS files, and the next write of their target removes them', async () => {
    const { repo, files, leftovers } = await repoWithLeftovers(git);
    expect(await atomicTempFiles(repo.dir)).toEqual([...leftovers].sort());

    const scan = await runCommand(repo, scanCommand, [repo.dir, '--json']);
    expect(scan.exitCode).toBe(0);
    const report = JSON.parse(scan.stdout) as ScanJson;
    expect(report.files.map((f) => f.path)).toEqual(files.map((f) => f.path).sort());
    expect(report.problems).toEqual([]);

    const apply = await runCommand(repo, applyCommand, [repo.dir, '--json', ...QUICK]);
    expect(apply.stderr).toBe('');
    expect(apply.exitCode).toBe(0);
    expect(await checkAll(repo, files)).toEqual(Object.fromEntries(files.map((f) => [f.path, { kind: 'new', onPrimary: true }])));
    expect(await atomicTempFiles(repo.dir)).toEqual([]);
    if (git) expect((await repo.gitStatus()).split('\n').sort()).toEqual(files.map((f) => ` M ${f.path}`).sort());
  });
});
