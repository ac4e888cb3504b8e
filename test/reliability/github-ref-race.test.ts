/**
 * Ref updates losing a race: another push moves a branch between the app's read of it and its
 * update. The fault proxy makes the other push happen while the app is busy, at the arrival of one
 * of the app's own writes (its first blob, while it commits the re-encrypted files; or its branch
 * create). The app must never clobber the other push: a push to its branch makes it leave the
 * branch alone and say so (conventions.md), a push to the default branch is picked up by the job
 * that push triggers, which converges on one correct pull request on the new base.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeError } from '../../src/errors.ts';
import type { ArrivingRequest } from '../support/github/faults-proxy.ts';
import { checkConverged, OWNER, plaintexts, startFaultWorld, startInProcessApp, type FaultWorld, type InProcessApp } from '../support/github/faults-world.ts';
import type { RepoRecord } from '../support/github/state.ts';

let world: FaultWorld;
let app: InProcessApp;
/** Runs once, at the arrival of the first write it matches. */
let armed: { readonly match: (request: ArrivingRequest) => boolean; readonly run: () => Promise<void> } | undefined;

beforeAll(async () => {
  world = await startFaultWorld({
    proxy: {
      onRequest: async (request) => {
        if (!armed || request.write === 0 || !armed.match(request)) return;
        const { run } = armed;
        armed = undefined;
        await run();
      },
    },
  });
  app = await startInProcessApp(world);
});

afterAll(async () => {
  await app?.close();
  await world?.close();
});

const MALLORY = { name: 'Mallory', email: 'mallory@example.test' };
const repoOf = (name: string): RepoRecord => world.gh.state.findRepo(OWNER, name)!;
const writeTo = (name: string, suffix: string) => (r: ArrivingRequest) => r.path === `/repos/${OWNER}/${name}${suffix}`;

/** A person's commit on top of `branch` (or of main when the branch does not exist), pushed. */
async function pushForeignCommit(repo: RepoRecord, branch: string): Promise<string> {
  const ref = `refs/heads/${branch}`;
  const current = await repo.git.resolve(ref);
  const parent = current ?? (await repo.git.resolve('refs/heads/main'))!;
  const tree = (await repo.git.resolve(`${parent}^{tree}`))!;
  const sha = await repo.git.commitTree({ tree, parents: [parent], message: 'my own fix', author: MALLORY, committer: MALLORY });
  expect(await repo.git.updateRef(ref, sha, current)).toBe(true);
  return sha;
}

/** A person's push to main replacing `files`; returns the new head. */
async function pushToMain(repo: RepoRecord, files: Record<string, Buffer>): Promise<string> {
  const main = (await repo.git.resolve('refs/heads/main'))!;
  const tree = await repo.git.flatten((await repo.git.resolve(`${main}^{tree}`))!);
  for (const [file, bytes] of Object.entries(files)) tree.set(file, { mode: '100644', type: 'blob', sha: await repo.git.hashBlob(bytes) });
  const sha = await repo.git.commitTree({ tree: await repo.git.writeTree(tree), parents: [main], message: 'rotate the database password', author: MALLORY, committer: MALLORY });
  expect(await repo.git.updateRef('refs/heads/main', sha, main)).toBe(true);
  return sha;
}

async function failuresDuring(run: () => Promise<void>): Promise<string[]> {
  const before = app.queue.failures.length;
  await run();
  return app.queue.failures.slice(before).map((f) => describeError(f.error));
}

describe('another push racing the app', () => {
  it('to the rotation branch while the app regenerates it: the push is kept, the branch left alone and the dashboard says so', async () => {
    const name = 'race-branch';
    const plain = plaintexts(world.canary, '-branch');
    await world.addRepo(name, await world.encrypt(plain));
    await app.push(name);
    await checkConverged(world, name, plain, app.logs.join(''));
    const repo = repoOf(name);

    // New inputs (a file changed on main), so the app regenerates the branch; while it writes the
    // new commit's first blob, someone pushes to the branch.
    const changed = { ...plain, 'apps/prod/secrets.yaml': plain['apps/prod/secrets.yaml']!.replace('-yaml', '-yaml-new') };
    await pushToMain(repo, await world.encrypt({ 'apps/prod/secrets.yaml': changed['apps/prod/secrets.yaml']! }));
    let theirs = '';
    armed = { match: writeTo(name, '/git/blobs'), run: async () => void (theirs = await pushForeignCommit(repo, world.branch)) };
    const failures = await failuresDuring(() => app.push(name));
    expect(theirs).not.toBe('');
    expect(await repo.git.resolve(`refs/heads/${world.branch}`)).toBe(theirs);

    // A rerun leaves the branch and the pull request alone, and the dashboard says why.
    const from = world.gh.requests.length;
    failures.push(...(await failuresDuring(() => app.push(name))));
    expect(await repo.git.resolve(`refs/heads/${world.branch}`)).toBe(theirs);
    const writes = world.gh.requests.slice(from).filter((r) => r.method !== 'GET' && !r.path.endsWith('/access_tokens'));
    expect(writes.filter((w) => /\/git\/refs|\/pulls/.test(w.path))).toEqual([]);
    const issues = [...repo.issues.values()].filter((i) => !i.pull);
    expect(issues).toHaveLength(1);
    expect(issues[0]!.body).toContain(`The branch \`${world.branch}\` (#1) has commits sops-rekey did not make`);
    expect([...repo.issues.values()].filter((i) => i.pull)).toHaveLength(1);
    expect(app.logs.join('')).not.toContain(world.canary);
    console.info(`[reliability] github-ref-race: push to the rotation branch during the app's regeneration kept (${failures.length} failed jobs${failures.length ? `: ${failures.join(', ')}` : ''})`);
  });

  it('to the default branch between the clone and the branch update: the job that push triggers converges on its new base', async () => {
    const name = 'race-main';
    const plain = plaintexts(world.canary, '-main');
    await world.addRepo(name, await world.encrypt(plain));
    const repo = repoOf(name);
    const changed = { ...plain, 'apps/prod/app.env': plain['apps/prod/app.env']!.replace('MODE=prod', 'MODE=prod\nREGION=eu') };
    let delivered: Promise<void> | undefined;
    let moved = '';
    armed = {
      match: writeTo(name, '/git/refs'),
      run: async () => {
        moved = await pushToMain(repo, await world.encrypt({ 'apps/prod/app.env': changed['apps/prod/app.env']! }));
        // GitHub sends the push webhook; it arrives while the first job is still running.
        delivered = app.deliverPush(name, ['apps/prod/app.env']);
      },
    };
    const failures = await failuresDuring(async () => {
      await app.push(name);
      await delivered;
      await app.queue.onIdle();
    });
    expect(moved).not.toBe('');
    expect(await repo.git.resolve('refs/heads/main')).toBe(moved);
    const converged = await checkConverged(world, name, changed, app.logs.join(''));
    console.info(
      `[reliability] github-ref-race: push to main between clone and branch update; converged on the new base in PR #${converged.pull.number} ` +
        `(${failures.length} failed jobs${failures.length ? `: ${failures.join(', ')}` : ''})`,
    );
  });

  it('creating the rotation branch between the app\'s read and its create: the branch is kept and left alone', async () => {
    const name = 'race-create';
    const plain = plaintexts(world.canary, '-create');
    await world.addRepo(name, await world.encrypt(plain));
    const repo = repoOf(name);
    let theirs = '';
    armed = { match: writeTo(name, '/git/blobs'), run: async () => void (theirs = await pushForeignCommit(repo, world.branch)) };
    const failures = await failuresDuring(() => app.push(name));
    expect(theirs).not.toBe('');
    failures.push(...(await failuresDuring(() => app.push(name))));
    expect(await repo.git.resolve(`refs/heads/${world.branch}`)).toBe(theirs);
    expect([...repo.issues.values()].filter((i) => i.pull)).toEqual([]);
    const issues = [...repo.issues.values()].filter((i) => !i.pull);
    expect(issues).toHaveLength(1);
    expect(issues[0]!.body).toContain(`The branch \`${world.branch}\` has commits sops-rekey did not make`);
    expect(app.logs.join('')).not.toContain(world.canary);
    console.info(`[reliability] github-ref-race: branch created by someone else during the job kept and left alone (${failures.length} failed jobs${failures.length ? `: ${failures.join(', ')}` : ''})`);
  });
  it('to the rotation branch the moment the app\'s branch update arrives: the conditional update is refused and the push kept', async () => {
    const name = 'race-update';
    const plain = plaintexts(world.canary, '-update');
    await world.addRepo(name, await world.encrypt(plain));
    await app.push(name);
    await checkConverged(world, name, plain, app.logs.join(''));
    const repo = repoOf(name);

    // New inputs, so the app regenerates the branch; the push lands after the app's last read of
    // the branch, when its update (GraphQL updateRefs, or REST PATCH git/refs) reaches GitHub.
    const changed = { ...plain, 'apps/prod/app.env': plain['apps/prod/app.env']!.replace('MODE=prod', 'MODE=staging') };
    await pushToMain(repo, await world.encrypt({ 'apps/prod/app.env': changed['apps/prod/app.env']! }));
    let theirs = '';
    armed = {
      match: (r) => r.path === '/graphql' || (r.method === 'PATCH' && r.path.startsWith(`/repos/${OWNER}/${name}/git/refs/`)),
      run: async () => void (theirs = await pushForeignCommit(repo, world.branch)),
    };
    const failures = await failuresDuring(() => app.push(name));
    expect(theirs).not.toBe('');
    expect(await repo.git.resolve(`refs/heads/${world.branch}`)).toBe(theirs);
    const issues = [...repo.issues.values()].filter((i) => !i.pull);
    expect(issues).toHaveLength(1);
    expect(issues[0]!.body).toContain(`The branch \`${world.branch}\` (#1) has commits sops-rekey did not make`);
    expect(failures).toEqual([]);
    console.info('[reliability] github-ref-race: push to the rotation branch as the app\'s conditional update arrived: kept, no failed job');
  });

  it('on a GitHub whose GraphQL has no updateRefs (GHES before 3.16): the REST update still regenerates the branch', async () => {
    const name = 'rest-update';
    const plain = plaintexts(world.canary, '-rest');
    await world.addRepo(name, await world.encrypt(plain));
    await app.push(name);
    const repo = repoOf(name);
    const changed = { ...plain, 'apps/prod/app.env': plain['apps/prod/app.env']!.replace('MODE=prod', 'MODE=dr') };
    await pushToMain(repo, await world.encrypt({ 'apps/prod/app.env': changed['apps/prod/app.env']! }));
    world.gh.graphql.updateRefs = false;
    const from = world.gh.requests.length;
    try {
      expect(await failuresDuring(() => app.push(name))).toEqual([]);
    } finally {
      world.gh.graphql.updateRefs = true;
    }
    const refWrites = world.gh.requests.slice(from).filter((r) => r.path === '/graphql' || (r.method === 'PATCH' && r.path.includes('/git/refs/')));
    expect(refWrites.map((r) => `${r.method} ${decodeURIComponent(r.path).replace(/.*\/git\//, 'git/')} ${r.status}`)).toEqual(['POST /graphql 200', `PATCH git/refs/heads/${world.branch} 200`]);
    await checkConverged(world, name, changed, app.logs.join(''));
  });
});
