/**
 * `sops-rekey apply`, run in-process against the emulator. The CLI's gate runs on the wall clock,
 * so the emulator's clock is set to real time (or hours before it, for a primary that has been
 * primary long enough). A closed gate exits 4 and says when to retry; a dry run writes nothing.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { EXIT_GATE_CLOSED, applyCommand } from '../../src/cli/apply.ts';
import { HOUR, runCommand, startKmsRepo, versionOf, type KmsRepo } from '../support/kms-repo.ts';

let repo: KmsRepo | undefined;

afterEach(async () => {
  await repo?.close();
  repo = undefined;
});

/** A git repository with one file on v1 and v2 primary since `primaryAgeMs` ago (wall clock). */
async function staleRepo(primaryAgeMs: number) {
  const started = await startKmsRepo({ startMs: Date.now() - primaryAgeMs });
  repo = started;
  const key = await started.createKey();
  const before = await started.writeSops('apps/db.yaml', { gcp: [{ key }] });
  await started.commitAll();
  await started.rotate(key);
  const [crypto] = await started.client.getCryptoKey({ name: key });
  const primarySince = Number(String(crypto.primary?.createTime?.seconds ?? 0)) * 1000 + Math.floor((crypto.primary?.createTime?.nanos ?? 0) / 1e6);
  return { repo: started, key, before, primarySince };
}

/** Flags for a quick gate: one probe, no pause between probes. */
const QUICK = ['--probes', '1', '--probe-interval', '0'];

describe('apply', () => {
  it(`exits ${EXIT_GATE_CLOSED} while the gate is closed, names the retry time, writes nothing`, async () => {
    const { repo, key, before, primarySince } = await staleRepo(0);

    const { exitCode, stdout, stderr } = await runCommand(repo, applyCommand, [repo.dir, ...QUICK]);
    const retryAfter = new Date(primarySince + 3 * HOUR).toISOString();
    expect(exitCode).toBe(EXIT_GATE_CLOSED);
    expect(stderr).toBe(`gate closed: 1 file(s) not re-encrypted yet; retry after ${retryAfter}\n`);
    expect(stdout).toContain(`closed: ${versionOf(key, 2)} has been primary since`);
    expect(stdout).not.toContain('Re-encrypted');
    expect((await repo.read('apps/db.yaml')).equals(before)).toBe(true);
    expect(await repo.gitStatus()).toBe('');
  });

  it('--window shortens the wait: a primary older than the window lets the file through', async () => {
    const { repo } = await staleRepo(2 * HOUR);
    expect((await runCommand(repo, applyCommand, [repo.dir, ...QUICK])).exitCode).toBe(EXIT_GATE_CLOSED);
    expect((await runCommand(repo, applyCommand, [repo.dir, ...QUICK, '--window', '1h'])).exitCode).toBe(0);
  });

  it('--dry-run shows the re-encryption it would do and writes nothing', async () => {
    const { repo, key, before } = await staleRepo(4 * HOUR);

    const { exitCode, stdout } = await runCommand(repo, applyCommand, [repo.dir, '--dry-run', '--json', ...QUICK]);
    expect(exitCode).toBe(0);
    const report = JSON.parse(stdout) as { files: { action: unknown }[]; gates: { open: boolean }[]; applied?: unknown };
    expect(report.files[0]?.action).toEqual({ kind: 'rekey', method: 'rotate', urgent: false, to: [versionOf(key, 2)] });
    expect(report.gates.map((g) => g.open)).toEqual([true]);
    expect(report.applied).toBeUndefined();
    expect((await repo.read('apps/db.yaml')).equals(before)).toBe(true);
    expect(await repo.gitStatus()).toBe('');
  });

  it('re-encrypts once the gate is open and shows the verdicts that hold afterwards', async () => {
    const { repo, before } = await staleRepo(4 * HOUR);

    const { exitCode, stdout, stderr } = await runCommand(repo, applyCommand, [repo.dir, ...QUICK]);
    expect(stderr).toBe('');
    expect(exitCode).toBe(0);
    expect(stdout).toMatch(/Re-encrypted 1 file\(s\)\n {2}apps\/db\.yaml: rotate -> \S+ v2\n/);
    const after = stdout.slice(stdout.indexOf('After re-encryption'));
    expect(after).toMatch(/\s1\s+ENABLED\s+no file depends on it: safe to disable\n/);
    expect((await repo.read('apps/db.yaml')).equals(before)).toBe(false);
    expect(await repo.gitStatus()).toBe(' M apps/db.yaml');

    // Nothing left to do: a second run changes nothing.
    const again = await runCommand(repo, applyCommand, [repo.dir, ...QUICK]);
    expect(again.exitCode).toBe(0);
    expect(again.stdout).not.toContain('Re-encrypted');
  });
});
