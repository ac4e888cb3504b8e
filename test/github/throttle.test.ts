import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { throttledOctokit } from '../../src/github/throttle.ts';
import { generateAppCredentials } from '../support/github/app-credentials.ts';
import { mutating, startGitHubStandIn, type GitHubStandIn } from '../support/github/index.ts';

const credentials = generateAppCredentials();
let gh: GitHubStandIn;

beforeAll(async () => {
  // Latency makes overlapping requests observable in the log's spans.
  gh = await startGitHubStandIn({ app: { id: credentials.appId, publicKey: credentials.publicKey }, latencyMs: 20 });
  gh.addInstallation({ id: 3, account: 'acme', repositories: ['acme/app'] });
  await gh.createRepo('acme/app', { files: { 'README.md': 'x' } });
});
afterAll(async () => gh?.close());

function client(maxRetries = 3, writeSpacingMs = 50) {
  const warnings: object[] = [];
  const log = { debug() {}, info() {}, warn: (meta: unknown) => void warnings.push(meta as object), error() {} };
  // retryAfterBaseValue shrinks `retry-after: N` to N×10 ms so the test does not sleep for seconds.
  // writeSpacingMs shrinks the production second between writes.
  const Octokit = throttledOctokit({ maxRetries, retryAfterBaseValue: 10, writeSpacingMs });
  const octokit = new Octokit({ baseUrl: gh.url, auth: { token: gh.tokenFor(3) }, log, retry: { retryAfterBaseValue: 10 } });
  return { octokit, warnings };
}

const since = (mark: number) => gh.requests.slice(mark);

describe('throttled Octokit', () => {
  it('retries a write after a secondary rate limit, honouring retry-after', async () => {
    const { octokit, warnings } = client();
    gh.faults.inject({ kind: 'secondary-rate-limit', retryAfterSeconds: 2 }, { match: mutating });
    const mark = gh.requests.length;
    const { status } = await octokit.request('POST /repos/{owner}/{repo}/labels', { owner: 'acme', repo: 'app', name: 'after-limit' });
    expect(status).toBe(201);
    expect(since(mark).map((r) => r.status)).toEqual([403, 201]);
    expect(warnings).toEqual([expect.objectContaining({ retryAfter: 2, retry: true })]);
  });

  it('gives up after the configured number of retries', async () => {
    const { octokit } = client(2);
    gh.faults.inject({ kind: 'secondary-rate-limit', retryAfterSeconds: 1 }, { match: mutating, times: 5 });
    const mark = gh.requests.length;
    await expect(
      octokit.request('POST /repos/{owner}/{repo}/labels', { owner: 'acme', repo: 'app', name: 'never' }),
    ).rejects.toMatchObject({ status: 403 });
    expect(since(mark).map((r) => r.status)).toEqual([403, 403, 403]);
    // Leave no queued fault behind for the next tests.
    while (gh.faults.take('POST', '/x')) {}
  });

  it('retries a 502 answer', async () => {
    const { octokit } = client();
    gh.faults.inject({ kind: 'bad-gateway' });
    const mark = gh.requests.length;
    const { data } = await octokit.request('GET /repos/{owner}/{repo}', { owner: 'acme', repo: 'app' });
    expect(data.full_name).toBe('acme/app');
    expect(since(mark).map((r) => r.status)).toEqual([502, 200]);
  });

  it('never has two mutating requests in flight at once', async () => {
    const { octokit } = client();
    const mark = gh.requests.length;
    await Promise.all(
      ['one', 'two', 'three'].map((name) =>
        octokit.request('POST /repos/{owner}/{repo}/labels', { owner: 'acme', repo: 'app', name: `serial-${name}` }),
      ),
    );
    const writes = since(mark).filter((r) => r.method === 'POST');
    expect(writes).toHaveLength(3);
    const spans = writes.map((r) => [r.start, r.end] as const).sort((a, b) => a[0] - b[0]);
    for (let i = 1; i < spans.length; i++) expect(spans[i]![0]).toBeGreaterThan(spans[i - 1]![1]);
  });

  it('starts no write before the previous one has answered and the spacing has passed, however slow it is', async () => {
    const spacing = 150;
    const { octokit } = client(3, spacing);
    // Slower than the throttling plugin's one second between launches, which alone let the next
    // write start while this one was still in flight.
    gh.faults.inject({ kind: 'delay', ms: 1500 }, { match: mutating });
    const mark = gh.requests.length;
    await Promise.all(['a', 'b', 'c'].map((name) => octokit.request('POST /repos/{owner}/{repo}/labels', { owner: 'acme', repo: 'app', name: `spaced-${name}` })));
    const writes = since(mark).filter((r) => r.method === 'POST').sort((a, b) => a.start - b.start);
    expect(writes).toHaveLength(3);
    for (let i = 1; i < writes.length; i++) expect(writes[i]!.start).toBeGreaterThan(writes[i - 1]!.end);
    expect(writes[1]!.receivedAtMs - writes[0]!.receivedAtMs).toBeGreaterThanOrEqual(1500 + spacing);
  });
});
