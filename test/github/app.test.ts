import { Probot, Server, type Logger } from 'probot';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RepoQueue } from '../../src/github/queue.ts';
import { enqueueAllInstallations } from '../../src/github/reconcile.ts';
import type { JobReason, RepoRef } from '../../src/github/repo-ref.ts';
import { throttledOctokit } from '../../src/github/throttle.ts';
import { deliveriesHandled } from '../../src/github/webhook-ingress.ts';
import { DASHBOARD_MARKER } from '../../src/github/markers.ts';
import { createApp } from '../../src/index.ts';
import { generateAppCredentials } from '../support/github/app-credentials.ts';
import { startGitHubStandIn, type GitHubStandIn } from '../support/github/index.ts';
import { sendWebhook } from '../support/webhooks.ts';
import { freePort } from '../support/free-port.ts';

const credentials = generateAppCredentials();
let gh: GitHubStandIn;
let server: Server;
let webhookUrl: string;
let probot: Probot;
/** The server's own Probot, the one webhooks reach. */
let served: Probot;
const jobs: { repo: string; installationId: number; reason: JobReason }[] = [];
const queue = new RepoQueue({
  run: async (repo: RepoRef, reason) => void jobs.push({ repo: `${repo.owner}/${repo.name}`, installationId: repo.installationId, reason }),
});

beforeAll(async () => {
  gh = await startGitHubStandIn({ app: { id: credentials.appId, publicKey: credentials.publicKey } });
  gh.addInstallation({ id: 11, account: 'acme', repositories: ['acme/app', 'acme/api', 'acme/.github'] });
  for (const repo of ['acme/app', 'acme/api', 'acme/.github']) await gh.createRepo(repo, { files: { 'README.md': 'x' } });

  const options = {
    appId: credentials.appId,
    privateKey: credentials.privateKey,
    secret: credentials.webhookSecret,
    baseUrl: gh.url,
    Octokit: throttledOctokit(),
    // The bad-signature test makes Probot log an error on purpose.
    logLevel: 'fatal' as const,
  };
  // A quiet logger without importing pino: Probot builds one from logLevel.
  const log: Logger = (await new Probot(options).ready()).log;
  server = new Server({ Probot: Probot.defaults({ ...options, log }), host: '127.0.0.1', port: await freePort(), log });
  await server.load((app, appOptions) => {
    served = app;
    return createApp({ queue })(app, appOptions);
  });
  await server.start();
  // The scheduled rescan runs against a Probot configured like the server's.
  probot = new Probot({ ...options, log });
  webhookUrl = `http://127.0.0.1:${server.port}/api/github/webhooks`;
});

afterAll(async () => {
  await server?.stop();
  await gh?.close();
});

const repository = (name: string) => ({
  id: 1,
  name,
  full_name: `acme/${name}`,
  owner: { login: 'acme', id: 2, type: 'Organization' },
  default_branch: 'main',
  private: true,
});
const sender = { login: 'alice', id: 3, type: 'User' };

async function deliver(event: string, payload: object, secret = credentials.webhookSecret) {
  const before = jobs.length;
  const result = await sendWebhook({ url: webhookUrl, secret, event, payload });
  await deliveriesHandled(served);
  await queue.onIdle();
  return { status: result.status, jobs: jobs.slice(before) };
}

describe('the Probot app server', () => {
  it('accepts a push webhook signed with the real secret and enqueues one job', async () => {
    const result = await deliver('push', {
      ref: 'refs/heads/main',
      before: '0'.repeat(40),
      after: '1'.repeat(40),
      repository: repository('app'),
      installation: { id: 11 },
      sender,
      commits: [],
    });
    expect(result.status).toBe(200);
    expect(result.jobs).toEqual([{ repo: 'acme/app', installationId: 11, reason: 'push' }]);
  });

  it('rejects a webhook with a bad signature and enqueues nothing', async () => {
    const result = await deliver(
      'push',
      { ref: 'refs/heads/main', repository: repository('app'), installation: { id: 11 }, sender, commits: [] },
      'not-the-secret',
    );
    expect(result.status).toBe(400);
    expect(result.jobs).toEqual([]);
  });

  it('ignores pushes to other branches', async () => {
    const result = await deliver('push', {
      ref: 'refs/heads/feature',
      repository: repository('app'),
      installation: { id: 11 },
      sender,
      commits: [],
    });
    expect(result.status).toBe(200);
    expect(result.jobs).toEqual([]);
  });

  it('enqueues every repository of a new installation', async () => {
    const result = await deliver('installation', {
      action: 'created',
      installation: { id: 11, account: { login: 'acme' } },
      repositories: [{ full_name: 'acme/app' }, { full_name: 'acme/api' }],
      sender,
    });
    expect(result.status).toBe(200);
    expect(result.jobs.map((j) => [j.repo, j.reason])).toEqual([
      ['acme/app', 'installation'],
      ['acme/api', 'installation'],
    ]);
  });

  it('rescans the whole installation when the org config changes, authenticating as the installation', async () => {
    const tokenRequests = () => gh.requests.filter((r) => r.path === '/app/installations/11/access_tokens' && r.status === 201).length;
    const tokensBefore = tokenRequests();
    const before = jobs.length;
    const result = await sendWebhook({
      url: webhookUrl,
      secret: credentials.webhookSecret,
      event: 'push',
      payload: {
        ref: 'refs/heads/main',
        repository: repository('.github'),
        installation: { id: 11 },
        sender,
        commits: [{ added: [], modified: ['.github/sops-rekey.yml'], removed: [] }],
      },
    });
    expect(result.status).toBe(200);
    // The fan-out lists repositories after the webhook was answered.
    await expect.poll(() => jobs.length - before).toBe(4);
    await queue.onIdle();
    const reasons = jobs.slice(before).map((j) => `${j.repo}:${j.reason}`).sort();
    expect(reasons).toEqual(['acme/.github:config-changed', 'acme/.github:push', 'acme/api:config-changed', 'acme/app:config-changed']);
    expect(tokenRequests()).toBeGreaterThan(tokensBefore);
  });

  it('enqueues a rescan when a person edits the dashboard, not when the app does', async () => {
    const issue = { number: 5, title: 'SOPS rekey dashboard', body: `${DASHBOARD_MARKER}\n- [x] rescan` };
    const byPerson = await deliver('issues', { action: 'edited', issue, repository: repository('app'), installation: { id: 11 }, sender, changes: {} });
    expect(byPerson.jobs).toEqual([{ repo: 'acme/app', installationId: 11, reason: 'dashboard' }]);
    const byBot = await deliver('issues', {
      action: 'edited',
      issue,
      repository: repository('app'),
      installation: { id: 11 },
      sender: { login: 'sops-rekey[bot]', id: 4, type: 'Bot' },
      changes: {},
    });
    expect(byBot.jobs).toEqual([]);
  });

  it("reacts to the app's own pull requests only", async () => {
    const pr = (ref: string) => ({ number: 7, head: { ref, sha: '1'.repeat(40) }, base: { ref: 'main' }, merged: false });
    const ours = await deliver('pull_request', { action: 'closed', pull_request: pr('sops-rekey/key-v3'), repository: repository('api'), installation: { id: 11 }, sender });
    expect(ours.jobs).toEqual([{ repo: 'acme/api', installationId: 11, reason: 'pull-request' }]);
    const theirs = await deliver('pull_request', { action: 'closed', pull_request: pr('feature/x'), repository: repository('api'), installation: { id: 11 }, sender });
    expect(theirs.jobs).toEqual([]);
  });
});

describe('scheduled rescan', () => {
  it('lists installations with the App JWT and enqueues every repository', async () => {
    const before = jobs.length;
    const count = await enqueueAllInstallations(probot, queue, 'schedule');
    await queue.onIdle();
    expect(count).toBe(3);
    expect(jobs.slice(before).map((j) => j.repo).sort()).toEqual(['acme/.github', 'acme/api', 'acme/app']);
    // The JWT was verified by the stand-in (a bad one gets 401 and this would have thrown).
    expect(gh.requests.some((r) => r.path === '/app/installations' && r.caller === 'app' && r.status === 200)).toBe(true);
  });
});
