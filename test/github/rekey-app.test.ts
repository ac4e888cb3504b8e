/**
 * The GitHub App end to end, with no network: a push webhook signed with the real secret reaches
 * the real Probot server; the job clones over git-http from real bare repositories, asks the Cloud
 * KMS emulator, and writes through the GitHub stand-in. What a user would check is checked: the
 * one pull request, its branch, title and body, the pushed files, the dashboard, and that no
 * plaintext leaked anywhere.
 */
import { randomBytes } from 'node:crypto';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GcpKmsKeySource } from '../../src/keys/gcp-kms.ts';
import { decryptFile } from '../../src/rekey/transform.ts';
import { readSopsFile } from '../../src/sops/sops-file.ts';
import type { RepoRecord } from '../support/github/state.ts';
import { pushPayload, rotateKey, startRekeyWorld, type RekeyWorld } from './rekey-world.ts';

const CANARY = `canary-${randomBytes(8).toString('hex')}`;
const PLAIN: Record<string, string> = {
  'apps/prod/secrets.yaml': `apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\nstringData:\n  password: ${CANARY}-yaml\n`,
  'apps/prod/app.env': `API_TOKEN=${CANARY}-env\nMODE=prod\n`,
};
const KUSTOMIZATION = `apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: apps
  namespace: flux-system
spec:
  path: ./apps/prod
  decryption:
    provider: sops
`;
const INSTALLATION = 21;

let world: RekeyWorld;
let v2: string;
let rotatedAt: number;
let encrypted: Record<string, Buffer>;

const repoOf = (name: string): RepoRecord => world.gh.state.findRepo('acme', name)!;
const pulls = (name: string) => [...repoOf(name).issues.values()].filter((i) => i.pull);
const issues = (name: string) => [...repoOf(name).issues.values()].filter((i) => !i.pull);
/** Requests that change something (token requests aside), from index `from` on. */
const writesSince = (from: number) =>
  world.gh.requests.slice(from).filter((r) => r.method !== 'GET' && !r.path.endsWith('/access_tokens'));

async function createRepo(name: string, config: string | undefined): Promise<void> {
  world.gh.state.installations.get(INSTALLATION)?.repositories.push(`acme/${name}`);
  await world.gh.createRepo(`acme/${name}`, {
    files: {
      'README.md': '# app\n',
      'clusters/prod/apps.yaml': KUSTOMIZATION,
      ...(config === undefined ? {} : { '.github/sops-rekey.yml': config }),
      ...encrypted,
    },
  });
}

beforeAll(async () => {
  world = await startRekeyWorld();
  world.gh.addInstallation({ id: INSTALLATION, account: 'acme', repositories: [] });
  encrypted = await world.encrypt(PLAIN);
  ({ version: v2, at: rotatedAt } = await rotateKey(world));
  await createRepo('app', 'window: 5m\nprobes: 3\nlabels: [sops-rekey, security]\n');
  await createRepo('slow', 'window: 3h\n');
  await createRepo('bad', 'window: soon\nprobs: 3\n');
});

afterAll(async () => {
  await world?.close();
});

describe('a push to the default branch of a repository with stale SOPS files', () => {
  it('opens exactly one pull request with the deterministic branch, title and body', async () => {
    const result = await world.deliver('push', pushPayload('acme', 'app', INSTALLATION, ['apps/prod/secrets.yaml']));
    expect(result.status).toBe(200);
    expect(world.queue.failures).toEqual([]);

    const prs = pulls('app');
    expect(prs).toHaveLength(1);
    const pr = prs[0]!;
    const ring = /keyRings\/([^/]+)\//.exec(world.key)![1];
    expect(pr.pull?.head).toBe(`sops-rekey/${ring}-sops-v2`);
    expect(pr.pull?.base).toBe('main');
    expect(pr.title).toBe(`sops-rekey: re-encrypt SOPS files to ${ring}/sops v2`);
    expect(pr.labels).toEqual(['sops-rekey', 'security']);
    const body = pr.body ?? '';
    expect(body).toContain(`| \`apps/prod/app.env\` | ${ring}/sops | v1 (stale) | v2 | — |`);
    expect(body).toContain(`| \`apps/prod/secrets.yaml\` | ${ring}/sops | v1 (stale) | v2 | — |`);
    expect(body).toContain(`primary v2 since ${new Date(rotatedAt).toISOString()}`);
    expect(body).toMatch(/3 probes \(Encrypt by key name\):\n(  - .*: Encrypt answered with v2\n){3}/);
    expect(body).toContain('`flux-system/apps`');
    expect(body).toContain('### What closing does');
    expect(body).toMatch(/<!-- sops-rekey:state \{"v":1,"inputs":"[0-9a-f]{64}".*\} -->\n$/);
    expect(body.length).toBeLessThan(65_000);
  });

  it('pushes one verified commit on top of main whose files decrypt and are wrapped by the new primary', async () => {
    const repo = repoOf('app');
    const branch = pulls('app')[0]!.pull!.head;
    const head = (await repo.git.resolve(`refs/heads/${branch}`))!;
    const main = (await repo.git.resolve('refs/heads/main'))!;
    expect(repo.verifiedCommits.has(head)).toBe(true);
    const commit = await repo.git.readCommit(head);
    expect(commit.parents).toEqual([main]);
    expect(commit.author.name).toBe('sops-rekey[bot]');

    const changed = (await repo.git.git(['diff', '--name-only', main, head])).trim().split('\n').sort();
    expect(changed).toEqual(['apps/prod/app.env', 'apps/prod/secrets.yaml']);
    const sources = { gcp_kms: new GcpKmsKeySource({ client: world.kms }) };
    for (const path of changed) {
      const bytes = await repo.git.readBlob((await repo.git.resolve(`${head}:${path}`))!);
      expect(Buffer.from(await decryptFile(bytes, path, sources)).toString('utf8')).toBe(PLAIN[path]);
      const file = readSopsFile(bytes, path);
      const entries = file.metadata.keyGroups.flat().filter((k) => k.type === 'gcp_kms');
      expect(entries).toHaveLength(1);
      for (const entry of entries) {
        const [response] = await world.kms.decrypt({ name: world.key, ciphertext: Buffer.from(String(entry.fields.enc), 'base64') });
        expect(response.usedPrimary).toBe(true);
      }
    }
    expect((await world.kms.getCryptoKey({ name: world.key }))[0].primary?.name).toBe(v2);
  });

  it('puts the verification evidence on the pull request head as a successful sops-rekey check run', async () => {
    const repo = repoOf('app');
    const head = (await repo.git.resolve(`refs/heads/${pulls('app')[0]!.pull!.head}`))!;
    const runs = [...repo.checkRuns.values()].filter((run) => run.headSha === head);
    expect(runs.map((run) => [run.name, run.status, run.conclusion])).toEqual([['sops-rekey', 'completed', 'success']]);
    const output = runs[0]!.output as { title: string; summary: string };
    expect(output.title).toBe('2 files re-encrypted and verified');
    const ring = /keyRings\/([^/]+)\//.exec(world.key)![1];
    expect(output.summary).toContain(`| \`apps/prod/app.env\` | new data key | ${ring}/sops v2 |`);
    expect(output.summary).toContain(`| \`apps/prod/secrets.yaml\` | new data key | ${ring}/sops v2 |`);
    expect(output.summary).toContain('the MAC verified');
  });

  it('leaks no plaintext into git objects, pull request, issues or logs, and no token into logs', async () => {
    const repo = repoOf('app');
    const branch = pulls('app')[0]!.pull!.head;
    const objects = (await repo.git.git(['rev-list', '--objects', `refs/heads/${branch}`])).trim().split('\n').map((l) => l.split(' ')[0]!);
    expect(objects.length).toBeGreaterThan(5);
    const { stdout } = await execa('git', ['--git-dir', repo.git.dir, 'cat-file', '--batch'], { input: objects.join('\n') + '\n', encoding: 'buffer' });
    expect(Buffer.from(stdout).includes(CANARY)).toBe(false);
    for (const issue of repoOf('app').issues.values()) {
      expect(issue.body ?? '').not.toContain(CANARY);
      expect(issue.title).not.toContain(CANARY);
    }
    const logs = world.logs.join('');
    expect(logs).toContain('repository processed');
    expect(logs).not.toContain(CANARY);
    for (const token of world.gh.state.tokens.keys()) expect(logs).not.toContain(token);
  });

  it('creates the dashboard issue with the inventory, the verdicts and the checkboxes', async () => {
    const dashboards = issues('app');
    expect(dashboards).toHaveLength(1);
    const dashboard = dashboards[0]!;
    expect(dashboard.title).toBe('sops-rekey dashboard');
    const body = dashboard.body ?? '';
    expect(body).toContain(`#${pulls('app')[0]!.number} re-encrypts 2 files.`);
    expect(body).toContain('| `apps/prod/secrets.yaml` | yaml | stale | re-encrypt |');
    expect(body).toContain('| `apps/prod/app.env` | dotenv | stale | re-encrypt |');
    expect(body).toMatch(/\| v1 \| ENABLED \| 2 files still depend on it \| apps\/prod\/app\.env, apps\/prod\/secrets\.yaml \|/);
    expect(body).toContain('- [ ] <!-- sops-rekey:rescan -->');
    expect(body).toContain('- [ ] <!-- sops-rekey:retry -->');
  });

  it('changes nothing on a rerun with the same inputs: no commit, no pull request, no PATCH', async () => {
    const branch = pulls('app')[0]!.pull!.head;
    const headBefore = await repoOf('app').git.resolve(`refs/heads/${branch}`);
    const from = world.gh.requests.length;
    await world.deliver('push', pushPayload('acme', 'app', INSTALLATION, ['apps/prod/app.env']));
    expect(world.queue.failures).toEqual([]);
    expect(world.jobs.at(-1)).toEqual({ repo: 'acme/app', reason: 'push' });
    expect(writesSince(from)).toEqual([]);
    expect(pulls('app')).toHaveLength(1);
    expect(await repoOf('app').git.resolve(`refs/heads/${branch}`)).toBe(headBefore);
  });

  it('leaves a pull request closed unmerged alone, and says so on the dashboard', async () => {
    const pr = pulls('app')[0]!;
    pr.state = 'closed';
    const from = world.gh.requests.length;
    await world.deliver('pull_request', {
      action: 'closed',
      pull_request: { number: pr.number, head: { ref: pr.pull!.head, sha: '1'.repeat(40) }, base: { ref: 'main' }, merged: false },
      repository: pushPayload('acme', 'app', INSTALLATION).repository,
      installation: { id: INSTALLATION },
      sender: { login: 'alice', id: 3, type: 'User' },
    });
    expect(world.queue.failures).toEqual([]);
    expect(pulls('app')).toHaveLength(1);
    expect(pr.state).toBe('closed');
    const writes = writesSince(from);
    // The dashboard and the check run say so; nothing else is written.
    expect(writes.map((w) => `${w.method} ${w.path}`)).toEqual([
      `PATCH /repos/acme/app/issues/${issues('app')[0]!.number}`,
      expect.stringMatching(/^PATCH \/repos\/acme\/app\/check-runs\/\d+$/),
    ]);
    expect(issues('app')[0]!.body).toContain(`#${pr.number} was closed without merging`);
  });
});

describe('the dashboard and a merged pull request', () => {
  const dashboardEdit = (body: string) => ({
    action: 'edited',
    issue: { number: issues('app')[0]!.number, title: 'sops-rekey dashboard', body },
    changes: { body: { from: '' } },
    repository: pushPayload('acme', 'app', INSTALLATION).repository,
    installation: { id: INSTALLATION },
    sender: { login: 'alice', id: 3, type: 'User' },
  });

  it('a ticked "retry" box starts a job that opens the pull request again, and is cleared', async () => {
    const dashboard = issues('app')[0]!;
    dashboard.body = (dashboard.body ?? '').replace('- [ ] <!-- sops-rekey:retry -->', '- [x] <!-- sops-rekey:retry -->');
    await world.deliver('issues', dashboardEdit(dashboard.body));
    expect(world.queue.failures).toEqual([]);
    expect(world.jobs.at(-1)).toEqual({ repo: 'acme/app', reason: 'dashboard' });
    const prs = pulls('app').sort((a, b) => a.number - b.number);
    expect(prs.map((p) => p.state)).toEqual(['closed', 'open']);
    expect(prs[1]!.pull?.head).toBe(prs[0]!.pull?.head);
    expect(dashboard.body).toContain('- [ ] <!-- sops-rekey:retry -->');
    expect(dashboard.body).toContain(`#${prs[1]!.number} re-encrypts 2 files.`);
  });

  it('after the merge, a rescan finds every file on v2 and says v1 is safe to disable', async () => {
    const open = pulls('app').find((p) => p.state === 'open')!;
    const merged = await fetch(`${world.gh.url}/repos/acme/app/pulls/${open.number}/merge`, {
      method: 'PUT',
      headers: { authorization: `token ${world.gh.tokenFor(INSTALLATION)}` },
    });
    expect(merged.status).toBe(200);
    await world.deliver('pull_request', {
      action: 'closed',
      pull_request: { number: open.number, head: { ref: open.pull!.head, sha: '1'.repeat(40) }, base: { ref: 'main' }, merged: true },
      repository: pushPayload('acme', 'app', INSTALLATION).repository,
      installation: { id: INSTALLATION },
      sender: { login: 'alice', id: 3, type: 'User' },
    });
    expect(world.queue.failures).toEqual([]);
    expect(pulls('app').filter((p) => p.state === 'open')).toEqual([]);
    const body = issues('app')[0]!.body ?? '';
    expect(body).toContain('No pull request needed right now.');
    expect(body).toContain('| v1 | ENABLED | no file depends on it: safe to disable | — |');
    expect(body).toContain('| `apps/prod/secrets.yaml` | yaml | current | none |');
  });
});

describe('a branch that carries someone else\'s commit', () => {
  it('is left alone, and the dashboard says so', async () => {
    await createRepo('taken', 'window: 5m\n');
    const repo = repoOf('taken');
    const ring = /keyRings\/([^/]+)\//.exec(world.key)![1];
    const branch = `sops-rekey/${ring}-sops-v2`;
    const main = (await repo.git.resolve('refs/heads/main'))!;
    const person = { name: 'Mallory', email: 'mallory@example.test' };
    const theirs = await repo.git.commitTree({ tree: (await repo.git.resolve(`${main}^{tree}`))!, parents: [main], message: 'my own fix', author: person, committer: person });
    await repo.git.updateRef(`refs/heads/${branch}`, theirs, undefined);

    const from = world.gh.requests.length;
    await world.deliver('push', pushPayload('acme', 'taken', INSTALLATION));
    expect(world.queue.failures).toEqual([]);
    expect(await repo.git.resolve(`refs/heads/${branch}`)).toBe(theirs);
    expect(pulls('taken')).toEqual([]);
    expect(writesSince(from).map((w) => `${w.method} ${w.path}`)).toEqual(['POST /repos/acme/taken/issues', 'POST /repos/acme/taken/check-runs']);
    expect(issues('taken')[0]!.body).toContain(`The branch \`${branch}\` has commits sops-rekey did not make`);
  });
});

describe('a repository whose gate is still closed', () => {
  it('opens no pull request and the dashboard says when the gate opens', async () => {
    await world.deliver('push', pushPayload('acme', 'slow', INSTALLATION));
    expect(world.queue.failures).toEqual([]);
    expect(pulls('slow')).toEqual([]);
    expect((await repoOf('slow').git.listRefs()).map((r) => r.ref)).toEqual(['refs/heads/main']);
    const dashboard = issues('slow')[0]?.body ?? '';
    expect(dashboard).toContain(`The gate opens at **${new Date(rotatedAt + 3 * 3_600_000).toISOString()}** at the earliest`);
    expect(dashboard).toContain('| `apps/prod/secrets.yaml` | yaml | stale | waiting for the gate |');
  });
});

describe('a repository with an invalid config', () => {
  it('opens one action-required issue naming the file, fields and problems, and writes nothing else', async () => {
    await world.deliver('push', pushPayload('acme', 'bad', INSTALLATION));
    await world.deliver('push', pushPayload('acme', 'bad', INSTALLATION));
    expect(world.queue.failures).toEqual([]);
    expect(pulls('bad')).toEqual([]);
    expect((await repoOf('bad').git.listRefs()).map((r) => r.ref)).toEqual(['refs/heads/main']);
    const found = issues('bad');
    expect(found).toHaveLength(1);
    expect(found[0]!.title).toBe('sops-rekey: action required: invalid configuration');
    const body = found[0]!.body ?? '';
    expect(body).toContain('`acme/bad:.github/sops-rekey.yml`');
    expect(body).toContain('| `probs` | unknown field (did you mean "probes"?) |');
    expect(body).toMatch(/\| `window` \| expected a duration like "3h"/);
  });
});

describe('a file whose key version is scheduled for destruction', () => {
  it('is rescued through its age key at once, in a pull request marked urgent with the deadline', async () => {
    const ring = world.key.slice(0, world.key.indexOf('/cryptoKeys/'));
    const [legacy] = await world.kms.createCryptoKey({ parent: ring, cryptoKeyId: 'legacy', cryptoKey: { purpose: 'ENCRYPT_DECRYPT' } });
    const legacyKey = legacy.name ?? '';
    const files = await world.encrypt({ 'db/secrets.yaml': `password: ${CANARY}-urgent\n` }, { key: legacyKey, withAge: true });
    const [v2legacy] = await world.kms.createCryptoKeyVersion({ parent: legacyKey, cryptoKeyVersion: {} });
    await world.kms.updateCryptoKeyPrimaryVersion({ name: legacyKey, cryptoKeyVersionId: '2' });
    const [destroyed] = await world.kms.destroyCryptoKeyVersion({ name: `${legacyKey}/cryptoKeyVersions/1` });
    const deadline = destroyed.destroyTime;
    expect(deadline).toBeTruthy();

    world.gh.state.installations.get(INSTALLATION)?.repositories.push('acme/urgent');
    // A long window: a rescue does not wait for the gate.
    await world.gh.createRepo('acme/urgent', { files: { '.github/sops-rekey.yml': 'window: 3h\n', ...files } });
    await world.deliver('push', pushPayload('acme', 'urgent', INSTALLATION));
    expect(world.queue.failures).toEqual([]);

    const prs = pulls('urgent');
    expect(prs).toHaveLength(1);
    const ringId = /keyRings\/([^/]+)\//.exec(legacyKey)![1];
    expect(prs[0]!.title).toBe(`Urgent: sops-rekey: re-encrypt SOPS files to ${ringId}/legacy v2`);
    expect(prs[0]!.labels).toEqual(['sops-rekey', 'urgent']);
    const day = new Date(Number(deadline?.seconds) * 1000).toISOString().slice(0, 10);
    expect(prs[0]!.body).toMatch(new RegExp(`\\*\\*Urgent\\.\\*\\*.*it is destroyed at \\*\\*${day}T`));
    expect(prs[0]!.body).toContain('| `db/secrets.yaml` | ' + `${ringId}/legacy | v1 (DESTROY_SCHEDULED, at-risk) | v2 |`);
    expect(v2legacy.name).toBe(`${legacyKey}/cryptoKeyVersions/2`);
    const dashboard = issues('urgent')[0]!.body ?? '';
    expect(dashboard).toContain(`\`db/secrets.yaml\` is at-risk. Deadline: **${day}T`);
    expect(dashboard).toContain('Re-encrypted through another master key of the file');
    expect(dashboard).not.toContain(CANARY);
  });
});

describe('webhook triggers', () => {
  it('starts no job for a push that touches no SOPS, .sops.yaml, config or manifest file', async () => {
    const jobs = world.jobs.length;
    const result = await world.deliver('push', pushPayload('acme', 'app', INSTALLATION, ['README.md', 'src/main.go']));
    expect(result.status).toBe(200);
    expect(world.jobs.length).toBe(jobs);
  });

  it('rejects a bad signature and starts no work', async () => {
    const jobs = world.jobs.length;
    const from = world.gh.requests.length;
    const result = await world.deliver('push', pushPayload('acme', 'app', INSTALLATION), 'not-the-secret');
    expect(result.status).toBe(400);
    expect(world.jobs.length).toBe(jobs);
    expect(world.gh.requests.length).toBe(from);
  });
});
