/**
 * The GitHub App killed with SIGKILL mid-run, as an OOM killer or a node drain would: `src/server.ts`
 * (what `npm start` runs, production pacing included) runs as a child process against the GitHub
 * stand-in (through the fault proxy, as a GitHub Enterprise host), git-http and the Cloud KMS
 * emulator started by the test. The proxy kills the child when a seeded write arrives, so that
 * write is applied but its answer never reaches the app. The app is then started again (it rescans
 * every installation at start) and a push is delivered; after the last, uninterrupted start there
 * is exactly one pull request, one branch and one dashboard issue, all correct.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { seededRandom } from '../../src/emulator/random.ts';
import { sendWebhook } from '../support/webhooks.ts';
import { checkConverged, plaintexts, pushPayload, spawnApp, startFaultWorld, type ChildApp, type FaultWorld } from '../support/github/faults-world.ts';

const HEAVY = process.env.SOPS_REKEY_HEAVY === '1';
const SEED = 6;
const KILLS = HEAVY ? 8 : 3;
/** Writes of a full first run: 3 blobs, tree, commit, ref, pull request, labels, dashboard, check run. */
const WRITES_PER_RUN = 10;
/**
 * Where a run after a kill is cut: among its first 3 writes (it makes at least labels, dashboard
 * and check run), or in the heavy variant anywhere a full run could be (it may end first).
 */
const RECOVERY_WRITES = HEAVY ? WRITES_PER_RUN : 3;
const REPO = 'crashy';

let world: FaultWorld | undefined;
let child: ChildApp | undefined;
let killAt = 0;
let killedOn = '';

afterAll(async () => {
  child?.process.kill('SIGKILL');
  await child?.process;
  await world?.close();
});

const count = (text: string, message: string): number => text.split(`"msg":"${message}"`).length - 1;

/**
 * Starts the app, delivers a push once it listens, and waits until it was killed, or until the
 * start-up rescan and the push were both enqueued and every job started has ended.
 */
async function runOnce(started: FaultWorld): Promise<{ killed: boolean; output: string; failedJobs: number }> {
  child = await spawnApp(started);
  const app = child;
  const exited = () => app.process.exitCode !== null || app.process.signalCode !== null;
  await app.ready().catch((error: unknown) => {
    if (!exited()) throw error;
  });
  let pushed = false;
  if (!exited()) {
    const answer = await sendWebhook({ url: app.webhookUrl, secret: started.credentials.webhookSecret, event: 'push', payload: pushPayload(REPO) }).catch(() => undefined);
    pushed = answer?.status === 200;
  }
  const deadline = Date.now() + 60_000;
  for (;;) {
    const text = app.output();
    const ended = count(text, 'rekey job finished') + count(text, 'rekey job failed');
    if (exited()) break;
    if (pushed && text.includes('scheduled rescan enqueued') && ended > 0 && ended === count(text, 'rekey job started')) break;
    if (Date.now() > deadline) throw new Error(`the app's jobs did not end within 60 s:\n${text.slice(-3000)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const killed = exited();
  if (!killed) app.process.kill('SIGTERM');
  const result = await app.process;
  if (killed) expect(result.signal).toBe('SIGKILL');
  const output = app.output();
  return { killed, output, failedJobs: count(output, 'rekey job failed') };
}

describe('the app process killed with SIGKILL mid-run', () => {
  it(`${KILLS} kills at seeded writes, then a clean start: one pull request, one branch, one dashboard`, { timeout: HEAVY ? 300_000 : 60_000 }, async () => {
    const random = seededRandom(SEED);
    const started = await startFaultWorld({
      proxy: {
        stripPrefix: '/api/v3',
        onRequest: ({ method, path, write }) => {
          if (killAt === 0 || write !== killAt) return;
          killedOn = `${method} ${path.replace(/^\/repos\/[^/]+\/[^/]+/, '')}`;
          child?.process.kill('SIGKILL');
        },
      },
    });
    world = started;
    const plain = plaintexts(started.canary);
    await started.addRepo(REPO, await started.encrypt(plain));

    const outputs: string[] = [];
    const rounds: string[] = [];
    for (let i = 0; i < KILLS; i++) {
      const from = started.gh.requests.length;
      killAt = started.proxy.writes() + 1 + Math.floor(random() * (i === 0 ? WRITES_PER_RUN : RECOVERY_WRITES));
      const target = killAt - started.proxy.writes();
      const { killed, output, failedJobs } = await runOnce(started);
      // The write the kill cut is still applied by the stand-in; wait for it.
      await started.proxy.idle();
      outputs.push(output);
      const writes = started.gh.requests.slice(from).filter((r) => r.method !== 'GET' && !r.path.endsWith('/access_tokens'));
      rounds.push(
        killed
          ? `killed at write ${target} (${killedOn} applied, unanswered)`
          : `not killed (run made ${writes.length} writes, ${failedJobs} failed jobs)`,
      );
      // Whatever a kill left, nothing is duplicated.
      const repo = started.gh.state.findRepo('acme', REPO)!;
      const all = [...repo.issues.values()];
      expect(all.filter((i) => i.pull).length).toBeLessThanOrEqual(1);
      expect(all.filter((i) => !i.pull).length).toBeLessThanOrEqual(1);
      expect((await repo.git.listRefs()).length).toBeLessThanOrEqual(2);
    }

    killAt = 0;
    const final = await runOnce(started);
    outputs.push(final.output);
    expect(final.killed, final.output.slice(-3000)).toBe(false);
    expect(final.failedJobs).toBe(0);
    const converged = await checkConverged(started, REPO, plain, outputs.join(''));
    expect(converged.checkRuns).toBe(1);
    console.info(
      `[reliability] github-crash (seed ${SEED}): ${rounds.join('; ')}; then a clean start converged ` +
        `(PR #${converged.pull.number}, ${started.gh.requests.length} API requests in all, ${started.proxy.writes()} writes)`,
    );
  });
});
