/**
 * `sops-rekey apply` against a Cloud KMS that fails: 30% of Encrypt/Decrypt calls answer
 * UNAVAILABLE, DEADLINE_EXCEEDED or RESOURCE_EXHAUSTED and 20% of the rest carry a wrong CRC32C
 * (seeded). After every run, each file is either its old bytes or a complete file that decrypts,
 * MAC verified, to its plaintext; files whose retries ran out are named with a typed error and
 * left byte for byte; reruns finish the job. Nothing the runs print or leave holds a plaintext.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { applyCommand } from '../../src/cli/apply.ts';
import type { FaultOptions } from '../../src/emulator/index.ts';
import { HOUR, NO_WAIT_RETRY, runCommand, startKmsRepo, type KmsRepo } from '../support/kms-repo.ts';
import { replayFaults } from './fault-replay.ts';
import { checkAll, gitObjectsContaining, newCanary, markTmp, tmpFilesContaining, writeSecretFiles, type SecretFile, type TmpMark } from './support.ts';

const HEAVY = process.env.SOPS_REKEY_HEAVY === '1';
const FAULTS: FaultOptions = {
  errorRate: 0.3,
  errorCodes: ['UNAVAILABLE', 'DEADLINE_EXCEEDED', 'RESOURCE_EXHAUSTED'],
  corruptCrcRate: 0.2,
};
/** One probe, no pause: the gate's behaviour under faults is part of what is tested. */
const QUICK = ['--probes', '1', '--probe-interval', '0'];
const MAX_RUNS = 12;

let repo: KmsRepo | undefined;
afterEach(async () => {
  await repo?.close();
  repo = undefined;
});

interface ApplyJson {
  files: { path: string; state: string; action: { kind: string } }[];
  gates: { open: boolean; reason: string }[];
  applied?: { applied: { path: string; wrappedBy: { version: string }[] }[]; failed: { path: string; code: string; reason: string }[] };
}

/** A git repository of `count` files on v1 of one key, v2 primary for 4 h (the gate's window is 3 h). */
async function staleRepository(seed: number, count: number, canary: string) {
  const started = await startKmsRepo({ startMs: Date.now() - 4 * HOUR, emulator: { seed } });
  repo = started;
  const key = await started.createKey();
  const files = await writeSecretFiles(started, key, count, canary);
  await started.commitAll();
  const primary = await started.rotate(key);
  return { repo: started, key, primary, files };
}

const faultyCalls = (repo: KmsRepo): number => {
  const counts = repo.emulator.callCounts();
  return (counts.Encrypt ?? 0) + (counts.Decrypt ?? 0);
};

describe('apply under Cloud KMS faults', () => {
  const seeds = HEAVY ? [11, 12, 13, 14, 15] : [11];
  const count = HEAVY ? 100 : 30;

  for (const seed of seeds) {
    it(`${count} files, seed ${seed}: every file ends on the new primary with its plaintext, failures are named and untouched`, async () => {
      const canary = newCanary();
      const { repo, primary, files } = await staleRepository(seed, count, canary);
      const tmpBefore = await markTmp();
      const outputs: string[] = [];
      let calls = 0;
      let reportedFailures = 0;
      let gateClosures = 0;
      let runs = 0;

      const done = (verdicts: Awaited<ReturnType<typeof checkAll>>) => Object.values(verdicts).every((v) => v.kind === 'new' && v.onPrimary);
      for (let verdicts = await checkAll(repo, files); !done(verdicts); verdicts = await checkAll(repo, files)) {
        expect(runs, 'reruns finish the job').toBeLessThan(MAX_RUNS);
        runs += 1;
        const callsBefore = faultyCalls(repo);
        repo.emulator.setFaults(FAULTS);
        const { exitCode, stdout, stderr } = await runCommand(repo, applyCommand, [repo.dir, '--json', ...QUICK]);
        // Checks run on a healthy Cloud KMS, as a user's later `sops -d` would.
        repo.emulator.setFaults({});
        calls += faultyCalls(repo) - callsBefore;
        outputs.push(stdout, stderr);

        expect(stderr).toBe('');
        const report = JSON.parse(stdout) as ApplyJson;
        const failed = report.applied?.failed ?? [];
        reportedFailures += failed.length;
        if (report.gates.some((gate) => !gate.open)) gateClosures += 1;
        // 0: all done; 1: a file failed (named in `failed`); 4: the gate closed on a failed probe.
        expect(exitCode).toBe(failed.length > 0 ? 1 : report.gates.some((g) => !g.open) ? 4 : 0);

        const after = await checkAll(repo, files);
        const byPath = new Map(files.map((f) => [f.path, f]));
        for (const failure of failed) {
          expect(byPath.has(failure.path), 'a failure names a file of the repository').toBe(true);
          expect(failure.code).toMatch(/^[a-z][a-z-]+$/);
          expect(after[failure.path], `${failure.path} failed, so it is left byte for byte`).toEqual({ kind: 'untouched' });
        }
        for (const applied of report.applied?.applied ?? []) {
          expect(after[applied.path], `${applied.path} was re-encrypted`).toEqual({ kind: 'new', onPrimary: true });
          expect(applied.wrappedBy.map((w) => w.version)).toEqual([primary]);
        }
        for (const [file, verdict] of Object.entries(after)) {
          expect([file, verdict.kind]).not.toEqual([file, 'broken']);
          if (verdict.kind === 'new') expect(verdict.onPrimary, `${file} is complete, so it is on the new primary`).toBe(true);
        }
      }

      const injected = replayFaults(seed, FAULTS, calls);
      const leaks = await leakSearch(repo, files, canary, tmpBefore, outputs);
      console.info(
        `[reliability] kms-faults seed ${seed}: ${files.length} files, ${runs} run(s), ${calls} Encrypt/Decrypt calls, ` +
          `injected ${JSON.stringify(injected.errors)} + ${injected.corruptedCrc} bad CRC32C, ` +
          `${reportedFailures} file failure(s) reported, ${gateClosures} gate closure(s), all ${files.length} files recovered; ` +
          `leak search: ${leaks.tmpFiles} temp files, ${leaks.objects} git objects, 0 hits`,
      );
      // A test that injected nothing would prove nothing.
      expect(Object.values(injected.errors).reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
      expect(injected.corruptedCrc).toBeGreaterThan(0);
    });
  }

  it('a file whose Cloud KMS calls keep failing is named with a typed error, left untouched, and a rerun completes it', async () => {
    const canary = newCanary();
    const { repo, files } = await staleRepository(21, 3, canary);
    const tmpBefore = await markTmp();
    const [victim] = files as [SecretFile, ...SecretFile[]];
    repo.clock.advance(4 * HOUR); // the job's gate reads the emulator's clock: past the window

    // Every CRC32C wrong once the scan has classified the files: the probe (which reads only the
    // version name) passes, then every Decrypt of the re-encryption is discarded and retried until
    // the retries run out. The CLI's own job runs here so the switch can happen between the steps.
    let decryptsBefore = 0;
    const result = await repo.job('apply', {
      onProgress: (done, total) => {
        if (done < total) return;
        decryptsBefore = repo.emulator.callCounts().Decrypt ?? 0;
        repo.emulator.setFaults({ corruptCrcRate: 1 });
      },
    });
    repo.emulator.setFaults({});
    // Four attempts per file (the default policy), each answer discarded, then the file is given up.
    expect((repo.emulator.callCounts().Decrypt ?? 0) - decryptsBefore).toBe(files.length * NO_WAIT_RETRY.maxAttempts);
    expect(result.applied?.applied).toEqual([]);
    expect(result.applied?.failed.map((f) => [f.path, f.code])).toEqual(files.map((f) => [f.path, 'data-key-unavailable']));
    for (const failure of result.applied?.failed ?? []) {
      expect(failure.reason).toMatch(/^no master key could unwrap the data key \(projects\/\S+: Decrypt with projects\/\S+: plaintext_crc32c does not match the plaintext\)$/);
    }
    expect(await checkAll(repo, files)).toEqual(Object.fromEntries(files.map((f) => [f.path, { kind: 'untouched' }])));
    expect(await repo.gitStatus()).toBe('');

    const rerun = await runCommand(repo, applyCommand, [repo.dir, ...QUICK]);
    expect(rerun.exitCode).toBe(0);
    expect(rerun.stdout).toContain(`${victim.path}: rotate -> `);
    expect(await checkAll(repo, files)).toEqual(Object.fromEntries(files.map((f) => [f.path, { kind: 'new', onPrimary: true }])));
    const failureText = (result.applied?.failed ?? []).map((f) => f.reason).join('\n');
    await leakSearch(repo, files, canary, tmpBefore, [rerun.stdout, rerun.stderr, failureText]);
  });
});

/** The canary must be nowhere: outputs, files created under the temp dir, the repository's objects. */
async function leakSearch(repo: KmsRepo, files: readonly SecretFile[], canary: string, tmpBefore: TmpMark, outputs: readonly string[]) {
  // The search must be able to find something: the plaintexts do hold the canary.
  expect(files.every((f) => f.document.includes(canary) && f.plaintext.includes(canary))).toBe(true);
  expect(outputs.filter((text) => text.includes(canary))).toEqual([]);
  const tmp = await tmpFilesContaining(tmpBefore, canary);
  expect(tmp.hits).toEqual([]);
  const git = await gitObjectsContaining(repo.dir, canary);
  expect(git.hit).toBe(false);
  return { tmpFiles: tmp.searched, objects: git.objects };
}
