import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateAppCredentials } from '../support/github/app-credentials.ts';
import { startGitHubStandIn, type GitHubStandIn } from '../support/github/index.ts';

const credentials = generateAppCredentials();
let gh: GitHubStandIn;
let work: string;
const gitEnv = { GIT_TERMINAL_PROMPT: '0', GIT_CONFIG_NOSYSTEM: '1', GIT_ASKPASS: '', SSH_ASKPASS: '' };
const identity = ['-c', 'user.name=Test', '-c', 'user.email=test@example.test'];

beforeAll(async () => {
  gh = await startGitHubStandIn({ app: { id: credentials.appId, publicKey: credentials.publicKey } });
  gh.addInstallation({ id: 7, account: 'acme', repositories: ['acme/app'] });
  gh.addInstallation({ id: 8, account: 'other', repositories: ['other/thing'] });
  await gh.createRepo('acme/app', { files: { 'README.md': 'hello\n', 'deploy/secrets.yaml': 'a: 1\n' } });
  await gh.createRepo('other/thing', { files: { 'x.txt': 'x\n' } });
  work = await mkdtemp(join(tmpdir(), 'standin-test-'));
});

afterAll(async () => {
  await gh?.close();
  if (work) await rm(work, { recursive: true, force: true });
});

/** A minimal REST client with the installation token, as Octokit would send it. */
async function api(method: string, path: string, token: string, body?: unknown) {
  const response = await fetch(`${gh.url}${path}`, {
    method,
    headers: { authorization: `token ${token}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, data: text ? (JSON.parse(text) as Record<string, any>) : undefined };
}

describe('git over HTTP', () => {
  it('clones and pushes with a token the stand-in issued', async () => {
    const token = gh.tokenFor(7);
    const dir = join(work, 'clone-ok');
    await execa('git', ['clone', '--depth', '1', gh.git.cloneUrl('acme', 'app', token), dir], { env: gitEnv });
    expect(await readFile(join(dir, 'deploy/secrets.yaml'), 'utf8')).toBe('a: 1\n');

    await writeFile(join(dir, 'new.txt'), 'pushed\n');
    await execa('git', ['-C', dir, 'add', 'new.txt'], { env: gitEnv });
    await execa('git', ['-C', dir, ...identity, 'commit', '-m', 'add new.txt'], { env: gitEnv });
    await execa('git', ['-C', dir, 'push', 'origin', 'HEAD:refs/heads/feature'], { env: gitEnv });

    // The push is visible through the API at once.
    const contents = await api('GET', '/repos/acme/app/contents/new.txt?ref=feature', token);
    expect(contents.status).toBe(200);
    expect(Buffer.from(contents.data?.content, 'base64').toString()).toBe('pushed\n');
  });

  it('refuses a bad token with 401 and git fails to clone', async () => {
    const url = gh.git.cloneUrl('acme', 'app', 'ghs_not-a-real-token');
    const result = await execa('git', ['clone', '--depth', '1', url, join(work, 'clone-bad')], { env: gitEnv, reject: false });
    expect(result.exitCode).not.toBe(0);
    expect(result.stderr).toMatch(/Authentication failed|401/);

    const response = await fetch(`${gh.git.url}/acme/app.git/info/refs?service=git-upload-pack`, {
      headers: { authorization: `Basic ${Buffer.from('x-access-token:nope').toString('base64')}` },
    });
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toMatch(/^Basic/);
  });

  it("refuses a valid token for a repository outside its installation", async () => {
    const url = gh.git.cloneUrl('other', 'thing', gh.tokenFor(7));
    const result = await execa('git', ['clone', url, join(work, 'clone-other')], { env: gitEnv, reject: false });
    expect(result.exitCode).not.toBe(0);
  });
});

describe('REST authentication', () => {
  it('rejects requests without a token, with an unknown token, and app routes without a JWT', async () => {
    expect((await fetch(`${gh.url}/repos/acme/app`)).status).toBe(401);
    expect((await api('GET', '/repos/acme/app', 'ghs_unknown')).status).toBe(401);
    expect((await api('POST', '/app/installations/7/access_tokens', gh.tokenFor(7))).status).toBe(401);
  });

  it('answers 404 for a repository of another installation', async () => {
    expect((await api('GET', '/repos/other/thing', gh.tokenFor(7))).status).toBe(404);
  });
});

describe('Git Data API', () => {
  it('writes a verified commit that git log in the bare repository shows', async () => {
    const token = gh.tokenFor(7);
    const main = await api('GET', '/repos/acme/app/git/ref/heads/main', token);
    const parent = main.data?.object.sha as string;
    const parentCommit = await api('GET', `/repos/acme/app/git/commits/${parent}`, token);

    const blob = await api('POST', '/repos/acme/app/git/blobs', token, {
      content: Buffer.from('a: 2\n').toString('base64'),
      encoding: 'base64',
    });
    expect(blob.status).toBe(201);
    const tree = await api('POST', '/repos/acme/app/git/trees', token, {
      base_tree: parentCommit.data?.tree.sha,
      tree: [
        { path: 'deploy/secrets.yaml', mode: '100644', type: 'blob', sha: blob.data?.sha },
        { path: 'README.md', mode: '100644', type: 'blob', sha: null },
      ],
    });
    expect(tree.status).toBe(201);
    const commit = await api('POST', '/repos/acme/app/git/commits', token, {
      message: 'rekey: re-encrypt deploy/secrets.yaml',
      tree: tree.data?.sha,
      parents: [parent],
    });
    expect(commit.status).toBe(201);
    expect(commit.data?.verification.verified).toBe(true);

    const created = await api('POST', '/repos/acme/app/git/refs', token, { ref: 'refs/heads/sops-rekey/test', sha: commit.data?.sha });
    expect(created.status).toBe(201);

    const bare = gh.state.findRepo('acme', 'app')!.git.dir;
    const log = await execa('git', ['--git-dir', bare, 'log', '--format=%s', 'sops-rekey/test']);
    expect(log.stdout.split('\n')[0]).toBe('rekey: re-encrypt deploy/secrets.yaml');
    const files = await execa('git', ['--git-dir', bare, 'ls-tree', '-r', '--name-only', 'sops-rekey/test']);
    // README.md was deleted with `sha: null`; the file pushed to `feature` is not on main.
    expect(files.stdout.split('\n')).toEqual(['deploy/secrets.yaml']);
    const content = await execa('git', ['--git-dir', bare, 'show', 'sops-rekey/test:deploy/secrets.yaml']);
    expect(content.stdout).toBe('a: 2');
  });

  it('marks commits with a custom author as unverified', async () => {
    const token = gh.tokenFor(7);
    const head = (await api('GET', '/repos/acme/app/git/ref/heads/main', token)).data?.object.sha as string;
    const tree = (await api('GET', `/repos/acme/app/git/commits/${head}`, token)).data?.tree.sha as string;
    const commit = await api('POST', '/repos/acme/app/git/commits', token, {
      message: 'by a person',
      tree,
      parents: [head],
      author: { name: 'Someone', email: 'someone@example.test' },
    });
    expect(commit.data?.verification.verified).toBe(false);
    expect(commit.data?.author.name).toBe('Someone');
  });

  it('refuses a ref update that is not a fast-forward unless forced', async () => {
    const token = gh.tokenFor(7);
    const main = (await api('GET', '/repos/acme/app/git/ref/heads/main', token)).data?.object.sha as string;
    const tree = (await api('GET', `/repos/acme/app/git/commits/${main}`, token)).data?.tree.sha as string;
    const first = (await api('POST', '/repos/acme/app/git/commits', token, { message: 'one', tree, parents: [main] })).data?.sha;
    const sibling = (await api('POST', '/repos/acme/app/git/commits', token, { message: 'two', tree, parents: [main] })).data?.sha;
    await api('POST', '/repos/acme/app/git/refs', token, { ref: 'refs/heads/ff-test', sha: first });

    const refused = await api('PATCH', '/repos/acme/app/git/refs/heads/ff-test', token, { sha: sibling });
    expect(refused.status).toBe(422);
    expect(refused.data?.message).toMatch(/not a fast forward/);
    const bare = gh.state.findRepo('acme', 'app')!.git.dir;
    expect((await execa('git', ['--git-dir', bare, 'rev-parse', 'ff-test'])).stdout).toBe(first);

    const forced = await api('PATCH', '/repos/acme/app/git/refs/heads/ff-test', token, { sha: sibling, force: true });
    expect(forced.status).toBe(200);
    expect((await execa('git', ['--git-dir', bare, 'rev-parse', 'ff-test'])).stdout).toBe(sibling);
  });
});

describe('pull requests and issues', () => {
  it('opens a pull request from a branch and finds it with the head filter', async () => {
    const token = gh.tokenFor(7);
    const created = await api('POST', '/repos/acme/app/pulls', token, {
      title: 'Re-encrypt 1 file',
      head: 'sops-rekey/test',
      base: 'main',
      body: 'body',
    });
    expect(created.status).toBe(201);
    const again = await api('POST', '/repos/acme/app/pulls', token, { title: 'dup', head: 'sops-rekey/test', base: 'main' });
    expect(again.status).toBe(422);

    const listed = await api('GET', '/repos/acme/app/pulls?state=open&head=acme:sops-rekey/test', token);
    expect(listed.data).toHaveLength(1);
    expect(listed.data?.[0].number).toBe(created.data?.number);
    const none = await api('GET', '/repos/acme/app/pulls?state=open&head=acme:other-branch', token);
    expect(none.data).toEqual([]);

    await api('PATCH', `/repos/acme/app/pulls/${created.data?.number}`, token, { state: 'closed' });
    expect((await api('GET', '/repos/acme/app/pulls?state=open', token)).data).toEqual([]);
    expect((await api('GET', '/repos/acme/app/pulls?state=closed', token)).data).toHaveLength(1);
  });

  it('creates and updates the dashboard issue, creating its labels', async () => {
    const token = gh.tokenFor(7);
    const created = await api('POST', '/repos/acme/app/issues', token, { title: 'SOPS rekey dashboard', body: 'v1', labels: ['sops-rekey'] });
    expect(created.status).toBe(201);
    const number = created.data?.number as number;
    await api('PATCH', `/repos/acme/app/issues/${number}`, token, { body: 'v2' });
    expect((await api('GET', `/repos/acme/app/issues/${number}`, token)).data?.body).toBe('v2');
    const labelled = await api('GET', '/repos/acme/app/issues?labels=sops-rekey', token);
    expect(labelled.data?.map((i: { number: number }) => i.number)).toEqual([number]);
    expect((await api('GET', '/repos/acme/app/labels/sops-rekey', token)).status).toBe(200);
  });
});

describe('check runs and contents', () => {
  it('creates a check run on a commit and completes it', async () => {
    const token = gh.tokenFor(7);
    const sha = (await api('GET', '/repos/acme/app/git/ref/heads/main', token)).data?.object.sha as string;
    const created = await api('POST', '/repos/acme/app/check-runs', token, { name: 'sops-rekey', head_sha: sha, status: 'in_progress' });
    expect(created.status).toBe(201);
    const done = await api('PATCH', `/repos/acme/app/check-runs/${created.data?.id}`, token, {
      conclusion: 'failure',
      output: { title: 'Invalid config', summary: 'window: expected a duration' },
    });
    expect(done.data).toMatchObject({ status: 'completed', conclusion: 'failure', head_sha: sha });
    const missing = await api('POST', '/repos/acme/app/check-runs', token, { name: 'x', head_sha: 'f'.repeat(40) });
    expect(missing.status).toBe(422);
  });

  it('lists a directory and serves raw file bytes when asked', async () => {
    const token = gh.tokenFor(7);
    const dir = await api('GET', '/repos/acme/app/contents/deploy', token);
    expect(dir.data?.map((e: { path: string; type: string }) => [e.path, e.type])).toEqual([['deploy/secrets.yaml', 'file']]);
    const raw = await fetch(`${gh.url}/repos/acme/app/contents/deploy/secrets.yaml`, {
      headers: { authorization: `token ${token}`, accept: 'application/vnd.github.raw' },
    });
    expect(await raw.text()).toBe('a: 1\n');
    expect((await api('GET', '/repos/acme/app/contents/nope.txt', token)).status).toBe(404);
  });
});

describe('request log and faults', () => {
  it('records method, path and body of every request', async () => {
    const token = gh.tokenFor(7);
    await api('POST', '/repos/acme/app/labels', token, { name: 'recorded' });
    const last = gh.requests.at(-1);
    expect(last).toMatchObject({ method: 'POST', path: '/repos/acme/app/labels', body: { name: 'recorded' }, status: 201, caller: 'installation' });
  });

  it('answers an injected secondary rate limit with retry-after, then recovers', async () => {
    const token = gh.tokenFor(7);
    gh.faults.inject({ kind: 'secondary-rate-limit', retryAfterSeconds: 7 });
    const response = await fetch(`${gh.url}/repos/acme/app`, { headers: { authorization: `token ${token}` } });
    expect(response.status).toBe(403);
    expect(response.headers.get('retry-after')).toBe('7');
    expect(((await response.json()) as { message: string }).message).toMatch(/secondary rate limit/);
    expect((await api('GET', '/repos/acme/app', token)).status).toBe(200);
  });
});

describe('GraphQL updateRefs', () => {
  const mutation = 'mutation UpdateRefs($input: UpdateRefsInput!) { updateRefs(input: $input) { clientMutationId } }';

  it('moves a ref only while it is at beforeOid, with GraphQL-shaped answers', async () => {
    const token = gh.tokenFor(7);
    const repo = gh.state.findRepo('acme', 'app')!;
    const main = (await repo.git.resolve('refs/heads/main'))!;
    const tree = (await repo.git.resolve(`${main}^{tree}`))!;
    const person = { name: 'T', email: 't@example.test' };
    const one = await repo.git.commitTree({ tree, parents: [main], message: 'one', author: person, committer: person });
    const two = await repo.git.commitTree({ tree, parents: [main], message: 'two', author: person, committer: person });
    await repo.git.updateRef('refs/heads/cas', one, undefined);
    const repositoryId = (await api('GET', '/repos/acme/app', token)).data?.node_id;
    const update = (beforeOid: string) =>
      api('POST', '/graphql', token, { query: mutation, variables: { input: { repositoryId, clientMutationId: 'c1', refUpdates: [{ name: 'refs/heads/cas', beforeOid, afterOid: two, force: true }] } } });

    // Not where the caller thinks: refused, nothing written.
    const stale = await update(main);
    expect(stale.status).toBe(200);
    expect(stale.data?.data).toEqual({ updateRefs: null });
    expect(stale.data?.errors?.[0]?.message).toMatch(/rejected/);
    expect(await repo.git.resolve('refs/heads/cas')).toBe(one);

    // Where the caller thinks: forced past the non-fast-forward.
    const ok = await update(one);
    expect(ok.data).toEqual({ data: { updateRefs: { clientMutationId: 'c1' } } });
    expect(await repo.git.resolve('refs/heads/cas')).toBe(two);
  });

  it('answers like a GHES without updateRefs when switched off, and 404s for another installation\'s repository', async () => {
    const token = gh.tokenFor(7);
    const other = await api('GET', '/repos/other/thing', gh.tokenFor(8));
    const input = { repositoryId: other.data?.node_id, refUpdates: [{ name: 'refs/heads/x', afterOid: '1'.repeat(40) }] };
    const foreign = await api('POST', '/graphql', token, { query: mutation, variables: { input } });
    expect(foreign.data?.errors?.[0]?.type).toBe('NOT_FOUND');
    gh.graphql.updateRefs = false;
    try {
      const old = await api('POST', '/graphql', token, { query: mutation, variables: { input } });
      expect(old.data?.errors?.[0]?.extensions).toMatchObject({ code: 'undefinedField', fieldName: 'updateRefs' });
    } finally {
      gh.graphql.updateRefs = true;
    }
  });
});
