/**
 * GitHub applying a create and answering 502 anyway (the fault proxy's 'lose-answer': the stand-in
 * applies the write, the app gets a 502). Before the creates were idempotent, Probot's retry plugin
 * sent the same POST again: a second dashboard issue, a second check run, a 422 for the pull
 * request and the branch. Each repository here loses the answer of one kind of create, the first
 * time it is sent; its first run must complete and leave exactly one of everything.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeError } from '../../src/errors.ts';
import { checkConverged, OWNER, plaintexts, startFaultWorld, startInProcessApp, type FaultWorld, type InProcessApp } from '../support/github/faults-world.ts';

let world: FaultWorld;
let app: InProcessApp;
/** The create whose answer is lost next: method and the end of its path. */
let lose: { readonly method: string; readonly suffix: RegExp } | undefined;

beforeAll(async () => {
  world = await startFaultWorld({
    proxy: {
      onRequest: ({ method, path, write }) => {
        if (write === 0 || !lose || method !== lose.method || !lose.suffix.test(path)) return;
        lose = undefined;
        return 'lose-answer';
      },
    },
  });
  app = await startInProcessApp(world);
});

afterAll(async () => {
  await app?.close();
  await world?.close();
});

const CREATES = [
  { kind: 'dashboard issue', method: 'POST', suffix: /\/issues$/ },
  { kind: 'pull request', method: 'POST', suffix: /\/pulls$/ },
  { kind: 'check run', method: 'POST', suffix: /\/check-runs$/ },
  { kind: 'branch', method: 'POST', suffix: /\/git\/refs$/ },
  { kind: 'labels', method: 'POST', suffix: /\/issues\/\d+\/labels$/ },
] as const;

describe('a create GitHub applied but answered with 502', () => {
  for (const [i, create] of CREATES.entries()) {
    it(`${create.kind}: one run completes and leaves exactly one of each`, { timeout: 30_000 }, async () => {
      const name = `lost-${i}`;
      const plain = plaintexts(world.canary, `-${i}`);
      await world.addRepo(name, await world.encrypt(plain));
      const lostBefore = world.proxy.lostAnswers.length;
      lose = { method: create.method, suffix: create.suffix };
      const failed = app.queue.failures.length;
      await app.push(name);

      const lost = world.proxy.lostAnswers.slice(lostBefore);
      expect(lost.map((l) => [l.method, create.suffix.test(l.path), l.status < 300])).toEqual([[create.method, true, true]]);
      expect(app.queue.failures.slice(failed).map((f) => describeError(f.error))).toEqual([]);
      const converged = await checkConverged(world, name, plain, app.logs.join(''));
      expect(converged.checkRuns).toBe(1);
      const repo = world.gh.state.findRepo(OWNER, name)!;
      // One on main's head (the repository's verdict), one on the pull request's head (its verification).
      const runs = [...repo.checkRuns.values()];
      expect(runs.filter((run) => run.headSha === converged.head)).toHaveLength(1);
      expect(runs).toHaveLength(2);

      // The next push finds everything in place and writes nothing.
      const from = world.gh.requests.length;
      await app.push(name);
      const writes = world.gh.requests.slice(from).filter((r) => r.method !== 'GET' && !r.path.endsWith('/access_tokens'));
      expect(writes.map((w) => `${w.method} ${w.path}`)).toEqual([]);
    });
  }
});
