/**
 * `sops-rekey apply` killed with SIGKILL mid-run, as an OOM killer or a cancelled CI job would: the
 * child runs against an emulator that answers every call after a delay, and is killed after a
 * seeded number of Cloud KMS calls plus a seeded delay, in the scan, the gate or the re-encryption.
 * After each kill every file is its old bytes or a complete new file (MAC verified, the original
 * plaintext, on the new primary); a rerun finishes the job. A kill during a write leaves
 * `writeFileAtomic`'s temporary file beside an untouched target; the rerun's write removes it.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { HOUR, startKmsRepo, type KmsRepo } from '../support/kms-repo.ts';
import { atomicTempFiles, checkAll, gitObjectsContaining, markTmp, newCanary, seededRandom, sopsRekey, tmpFilesContaining, writeSecretFiles } from './support.ts';

const HEAVY = process.env.SOPS_REKEY_HEAVY === '1';
const SEED = 7;
const FILES = HEAVY ? 40 : 16;
const KILLS = HEAVY ? 12 : 5;
/** Every RPC waits this long, so a run lasts long enough to be cut anywhere. */
const LATENCY_MS = 15;
const QUICK = ['--probes', '1', '--probe-interval', '0'];

let repo: KmsRepo | undefined;
afterEach(async () => {
  await repo?.close();
  repo = undefined;
});

const kmsCalls = (repo: KmsRepo): number => Object.values(repo.emulator.callCounts()).reduce((a, b) => a + b, 0);

const apply = (repo: KmsRepo, json = false) => sopsRekey(repo, ['apply', repo.dir, ...QUICK, ...(json ? ['--json'] : [])]);
type Child = ReturnType<typeof apply>;

/** Kills `child` once `calls` more Cloud KMS calls arrived and `delayMs` passed; false if it exited first. */
async function killAfter(repo: KmsRepo, child: Child, calls: number, delayMs: number): Promise<boolean> {
  const start = kmsCalls(repo);
  let exited = false;
  void child.finally(() => {
    exited = true;
  });
  while (!exited && kmsCalls(repo) - start < calls) await new Promise((resolve) => setTimeout(resolve, 1));
  if (!exited && delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
  if (exited) return false;
  child.kill('SIGKILL');
  return true;
}

describe('apply killed with SIGKILL', () => {
  it(`${KILLS} kills at seeded points: every file is old or complete and verified, a rerun finishes`, async () => {
    const canary = newCanary();
    const started = await startKmsRepo({ startMs: Date.now() - 4 * HOUR, emulator: { seed: SEED } });
    repo = started;
    const key = await started.createKey();
    const files = await writeSecretFiles(started, key, FILES, canary);
    await started.commitAll();
    await started.rotate(key);
    const mark = await markTmp();
    const random = seededRandom(SEED);
    const outputs: string[] = [];
    const rounds: { target: number; delayMs: number; killed: boolean; newFiles: number; tempFiles: string[] }[] = [];

    let remaining = FILES;
    let tempFilesSeen = 0;
    for (let i = 0; i < KILLS && remaining > 0; i++) {
      // A run makes two inventory calls, one Decrypt per file (scan), one probe Encrypt (gate),
      // then a Decrypt and an Encrypt per file still to do. One kill in four lands before the
      // re-encryption, the others while files are being re-encrypted and written.
      const beforeApply = 2 + FILES + 1;
      const inScan = random() < 0.25;
      const target = inScan ? 1 + Math.floor(random() * beforeApply) : beforeApply + 1 + Math.floor(random() * Math.max(1, 2 * remaining - 1));
      // Calls are counted as they arrive; a file is written two answers and its CPU work (30-60 ms here) after its first call.
      const delayMs = Math.floor(random() * 10 * LATENCY_MS);
      started.emulator.setFaults({ latencyMs: LATENCY_MS });
      const child = apply(started);
      const killed = await killAfter(started, child, target, delayMs);
      const result = await child;
      started.emulator.setFaults({});
      outputs.push(String(result.stdout), String(result.stderr));
      if (killed) expect(result.signal).toBe('SIGKILL');
      else expect(result.exitCode).toBe(0);

      const verdicts = await checkAll(started, files);
      for (const [file, verdict] of Object.entries(verdicts)) {
        expect([file, verdict]).not.toEqual([file, expect.objectContaining({ kind: 'broken' })]);
        if (verdict.kind === 'new') expect(verdict.onPrimary, `${file} is complete, so it is on the new primary`).toBe(true);
      }
      const tempFiles = await atomicTempFiles(started.dir);
      // A leftover means its rename never happened: its target must still be the old file.
      for (const temp of tempFiles) {
        const target = temp.replace(/(^|\/)\.([^/]+)\.[0-9a-f]{12}\.tmp$/, '$1$2');
        expect([temp, verdicts[target]]).toEqual([temp, { kind: 'untouched' }]);
      }
      tempFilesSeen += tempFiles.length;
      // Git sees the rewritten files as modified and nothing else but such temp files.
      const status = (await started.gitStatus()).split('\n').filter(Boolean);
      const newFiles = Object.values(verdicts).filter((v) => v.kind === 'new').length;
      expect(status.filter((line) => line.startsWith(' M ')).length).toBe(newFiles);
      expect(status.filter((line) => !line.startsWith(' M ')).map((line) => line.slice(3))).toEqual(tempFiles);
      rounds.push({ target, delayMs, killed, newFiles, tempFiles });
      remaining = FILES - newFiles;
    }

    // The rerun, uninterrupted, finishes the job.
    const final = await apply(started, true);
    outputs.push(String(final.stdout), String(final.stderr));
    expect(final.stderr).toBe('');
    expect(final.exitCode).toBe(0);
    const verdicts = await checkAll(started, files);
    expect(verdicts).toEqual(Object.fromEntries(files.map((f) => [f.path, { kind: 'new', onPrimary: true }])));

    expect(outputs.filter((text) => text.includes(canary))).toEqual([]);
    const tmp = await tmpFilesContaining(mark, canary);
    expect(tmp.hits).toEqual([]);
    // The rerun wrote every file a kill had interrupted, and with it removed the leftovers.
    expect(await atomicTempFiles(started.dir)).toEqual([]);
    const git = await gitObjectsContaining(started.dir, canary);
    expect(git.hit).toBe(false);
    console.info(
      `[reliability] crash-recovery: ${FILES} files, ${rounds.filter((r) => r.killed).length} of ${rounds.length} runs killed ` +
        `(${rounds.map((r) => `${r.killed ? 'killed' : 'finished'} after ${r.target} calls+${r.delayMs} ms: ${r.newFiles} new`).join('; ')}), ` +
        `${tempFilesSeen} temp file(s) seen after kills, 0 after the rerun, which finished all ${FILES}; leak search: ${tmp.searched} temp files, ${git.objects} git objects, 0 hits`,
    );
  });
});
