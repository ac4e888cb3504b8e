/**
 * The GitHub App against a flaky GitHub: the stand-in answers ~30% of all API requests with 502
 * (seeded), and a seeded quarter of the writes with a secondary rate limit and its `retry-after`.
 * The app runs in process with the production Octokit (Probot's retry plugin for 5xx, our
 * throttle policy for rate limits, one write at a time), its waits scaled from seconds to
 * 10 ms. Each repository also meets a short outage in its first run: one write (a different
 * kind per repository) answered 502 four times in a row, more than Probot retries. A job either completes, or fails and the next push (a
 * rerun) completes it; every
 * repository ends with exactly one correct pull request, one branch, one dashboard, no canary.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seededRandom } from '../../src/emulator/random.ts';
import { describeError } from '../../src/errors.ts';
import { checkConverged, plaintexts, startFaultWorld, startInProcessApp, type FaultWorld, type InProcessApp } from '../support/github/faults-world.ts';

const HEAVY = process.env.SOPS_REKEY_HEAVY === '1';
const SEED = 11;
const REPOS = HEAVY ? 16 : 4;
const BAD_GATEWAY_RATE = 0.3;
const SECONDARY_LIMIT_RATE = 0.25;
/** Runs (the first push and reruns) a repository may need before it must have converged. */
const MAX_RUNS = 6;

let world: FaultWorld;
let app: InProcessApp;
const limits = seededRandom(SEED + 1);
let secondaryLimits = 0;
/**
 * The write that meets an outage in each repository's first run, by the path it ends with: the
 * writes that create something (labels, pull request, branch, dashboard, check run) first, as
 * what they leave half done is what a rerun must finish.
 */
const OUTAGES = ['/labels', '/pulls', '/git/refs', '/issues', '/check-runs', '/git/commits', '/git/trees', '/git/blobs'];
let outage: string | undefined;
let outageWrite = '';

beforeAll(async () => {
  world = await startFaultWorld({
    standIn: { badGatewayRate: BAD_GATEWAY_RATE, random: seededRandom(SEED) },
    proxy: {
      // A seeded quarter of the writes meet a secondary rate limit (retry-after 1-3 s) first.
      onRequest: ({ method, path, write }) => {
        if (write === 0) return;
        if (outage !== undefined && path.endsWith(outage)) {
          outage = undefined;
          outageWrite = `${method} ${path}`;
          world.gh.faults.inject({ kind: 'bad-gateway' }, { match: (m, p) => m === method && p === path, times: 4 });
          return;
        }
        if (limits() >= SECONDARY_LIMIT_RATE) return;
        secondaryLimits += 1;
        world.gh.faults.inject({ kind: 'secondary-rate-limit', retryAfterSeconds: 1 + Math.floor(limits() * 3) }, { match: (m, p) => m === method && p === path });
      },
    },
  });
  app = await startInProcessApp(world);
});

afterAll(async () => {
  await app?.close();
  await world?.close();
});

describe('GitHub answering 502 to ~30% of requests and secondary rate limits on writes', () => {
  it(`${REPOS} repositories each converge on one correct pull request, reruns finishing failed jobs`, { timeout: HEAVY ? 300_000 : 60_000 }, async () => {
    const figures: string[] = [];
    for (let i = 0; i < REPOS; i++) {
      const name = `flaky-${i}`;
      const plain = plaintexts(world.canary, `-${i}`);
      await world.addRepo(name, await world.encrypt(plain));
      const from = world.gh.requests.length;
      const limitsBefore = secondaryLimits;
      // A short outage: one write answered 502 four times, so Probot's three retries run out.
      outage = OUTAGES[i % OUTAGES.length];
      outageWrite = '';
      const errors: string[] = [];
      let runs = 0;
      for (; runs < MAX_RUNS; ) {
        runs += 1;
        const failed = app.queue.failures.length;
        await app.push(name);
        const failure = app.queue.failures[failed];
        if (!failure) break;
        errors.push(describeError(failure.error));
      }
      expect(runs - errors.length, `a run of ${name} completed within ${MAX_RUNS}`).toBe(1);
      const converged = await checkConverged(world, name, plain, app.logs.join(''));
      expect(converged.checkRuns).toBe(1);

      const seen = world.gh.requests.slice(from);
      const count = (status: number) => seen.filter((r) => r.status === status).length;
      figures.push(
        `${name}: ${runs} run(s), ${seen.length} requests, ${count(502)} answered 502, ${secondaryLimits - limitsBefore} secondary limits` +
          (outageWrite ? `, outage on ${outageWrite}` : '') +
          (errors.length > 0 ? `, failed runs: ${errors.map((e) => JSON.stringify(e)).join(', ')}` : ''),
      );
    }

    // With the faults still on, one more push per repository writes nothing: the state converged.
    const from = world.gh.requests.length;
    for (let i = 0; i < REPOS; i++) await app.push(`flaky-${i}`);
    const writes = world.gh.requests.slice(from).filter((r) => r.method !== 'GET' && !r.path.endsWith('/access_tokens') && r.status < 300);
    expect(writes.map((w) => `${w.method} ${w.path}`)).toEqual([]);
    console.info(`[reliability] github-api-faults (seed ${SEED}, 502 rate ${BAD_GATEWAY_RATE}): ${figures.join('; ')}`);
  });
});
