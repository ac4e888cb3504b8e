/**
 * `maxOpenPullRequests`: a new rotation (a new key version while the previous rotation's pull
 * request is still open) opens a second pull request only when the limit allows it; otherwise
 * nothing is pushed and the dashboard and check run say which pull requests to merge or close.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RepoRecord } from '../support/github/state.ts';
import { pushPayload, rotateKey, startRekeyWorld, type RekeyWorld } from './rekey-world.ts';

const INSTALLATION = 51;
let world: RekeyWorld;

const repoOf = (name: string): RepoRecord => world.gh.state.findRepo('acme', name)!;
const openPulls = (name: string) => [...repoOf(name).issues.values()].filter((i) => i.pull && i.state === 'open').sort((a, b) => a.number - b.number);
const dashboard = (name: string) => [...repoOf(name).issues.values()].find((i) => !i.pull)?.body ?? '';

async function push(name: string): Promise<void> {
  await world.deliver('push', pushPayload('acme', name, INSTALLATION));
  expect(world.queue.failures).toEqual([]);
}

beforeAll(async () => {
  world = await startRekeyWorld();
  world.gh.addInstallation({ id: INSTALLATION, account: 'acme', repositories: ['acme/one', 'acme/two'] });
  const files = await world.encrypt({ 'apps/secrets.yaml': 'password: limited\n', 'apps/app.env': 'TOKEN=limited\n' });
  await world.gh.createRepo('acme/one', { files: { '.github/sops-rekey.yml': 'window: 5m\nprobes: 2\nmaxOpenPullRequests: 1\n', ...files } });
  await world.gh.createRepo('acme/two', { files: { '.github/sops-rekey.yml': 'window: 5m\nprobes: 2\nmaxOpenPullRequests: 2\n', ...files } });
  await rotateKey(world);
  await push('one');
  await push('two');
});

afterAll(async () => {
  await world?.close();
});

describe('maxOpenPullRequests', () => {
  it('opens the first rotation\'s pull request in both repositories', () => {
    expect(openPulls('one').map((p) => p.pull?.head)).toEqual([expect.stringMatching(/-v2$/)]);
    expect(openPulls('two').map((p) => p.pull?.head)).toEqual([expect.stringMatching(/-v2$/)]);
  });

  it('holds back a second pull request at the limit: no branch, and the dashboard and check run say why', async () => {
    await rotateKey(world);
    const refsBefore = (await repoOf('one').git.listRefs()).map((r) => r.ref);
    await push('one');

    const open = openPulls('one');
    expect(open.map((p) => p.pull?.head)).toEqual([expect.stringMatching(/-v2$/)]);
    expect((await repoOf('one').git.listRefs()).map((r) => r.ref)).toEqual(refsBefore);
    expect(dashboard('one')).toContain(`2 files wait for a new pull request: #${open[0]!.number} is open and \`maxOpenPullRequests\` is 1. Merge or close one.`);
    const head = await repoOf('one').git.resolve('refs/heads/main');
    const check = [...repoOf('one').checkRuns.values()].find((r) => r.headSha === head);
    expect((check?.output as { summary?: string } | undefined)?.summary).toContain(`#${open[0]!.number} is open and \`maxOpenPullRequests\` is 1`);
  });

  it('opens the second pull request where the limit allows it', async () => {
    await push('two');
    expect(openPulls('two').map((p) => p.pull?.head)).toEqual([expect.stringMatching(/-v2$/), expect.stringMatching(/-v3$/)]);
  });

  it('opens the held-back pull request once the open one is closed', async () => {
    openPulls('one')[0]!.state = 'closed';
    await push('one');
    expect(openPulls('one').map((p) => p.pull?.head)).toEqual([expect.stringMatching(/-v3$/)]);
  });
});
