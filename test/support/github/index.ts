/**
 * A local stand-in for the GitHub REST API an app installation uses, backed by bare repositories
 * that are also served over git-http: what the app writes through the API is what `git clone`
 * sees, and a `git push` shows up in the API.
 *
 * ```ts
 * const gh = await startGitHubStandIn({ app: credentials });
 * gh.addInstallation({ id: 1, account: 'acme', repositories: ['acme/app'] });
 * await gh.createRepo('acme/app', { files: { 'secrets.yaml': '...' } });
 * // point Probot at gh.url (baseUrl), clone from gh.git.cloneUrl('acme', 'app', token)
 * ```
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startGitHttp, type GitHttpServer } from '../git-http.ts';
import { Authenticator, type AppIdentity } from './auth.ts';
import type { RouteContext } from './context.ts';
import { faultReply, Faults, type FaultOptions } from './faults.ts';
import { errorBody, HttpError, matchRoute, readJsonBody, send, type Caller, type Reply, type Route } from './http.ts';
import { appRoutes } from './routes/apps.ts';
import { checkRoutes } from './routes/checks.ts';
import { gitDataRoutes } from './routes/git-data.ts';
import { graphqlRoutes, type GraphqlSchema } from './routes/graphql.ts';
import { issueRoutes } from './routes/issues.ts';
import { pullRoutes } from './routes/pulls.ts';
import { repoRoutes } from './routes/repos.ts';
import { StandInState, type Installation, type RepoRecord } from './state.ts';

export type { Fault } from './faults.ts';
export { mutating } from './faults.ts';

export interface StandInOptions extends FaultOptions {
  /** The app whose JWTs are accepted: its id and public key. */
  readonly app: AppIdentity;
  /** Delay before every API answer, to surface ordering assumptions. */
  readonly latencyMs?: number;
}

export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly query: Readonly<Record<string, string>>;
  readonly body: unknown;
  readonly status: number;
  readonly caller: Caller['kind'] | 'none';
  /** Logical clock ticks (not time): `start < end`; two requests overlapped if their spans did. */
  readonly start: number;
  readonly end: number;
  /**
   * Wall-clock epoch ms (sub-millisecond) when the request arrived, before any injected latency:
   * what GitHub would see when measuring a client's request rate.
   */
  readonly receivedAtMs: number;
}

export interface GitHubStandIn {
  /** REST base URL, for Probot's `baseUrl` / Octokit's `baseUrl`. */
  readonly url: string;
  readonly git: GitHttpServer;
  readonly state: StandInState;
  /** Every API request, in the order the answers were sent. */
  readonly requests: RecordedRequest[];
  readonly faults: Faults;
  /** What `POST /graphql` knows; `updateRefs: false` plays a GitHub Enterprise Server before 3.16. */
  readonly graphql: GraphqlSchema;
  addInstallation(input: { id: number; account: string; type?: 'Organization' | 'User'; repositories: string[] }): Installation;
  /** Creates a bare repository whose default branch holds `files` in one commit. */
  createRepo(fullName: string, options?: { files?: Record<string, string | Buffer>; defaultBranch?: string }): Promise<RepoRecord>;
  /** A fresh installation token, as if the app had asked for one. */
  tokenFor(installationId: number): string;
  close(): Promise<void>;
}

export async function startGitHubStandIn(options: StandInOptions): Promise<GitHubStandIn> {
  const root = await mkdtemp(join(tmpdir(), 'gh-standin-'));
  const state = new StandInState(root);
  const auth = new Authenticator(options.app, state);
  const faults = new Faults(options);
  const requests: RecordedRequest[] = [];
  let clock = 0;

  const git = await startGitHttp({
    root,
    authorize: (token, repo, _access) => {
      const installation = state.tokenInstallation(token);
      return installation !== undefined && state.canAccess(installation, repo.owner, repo.name);
    },
  });

  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const ctx: RouteContext = { state, apiUrl: url, gitUrl: git.url };
  const graphql: GraphqlSchema = { updateRefs: true };
  const routes: Route[] = [
    ...appRoutes(ctx),
    ...repoRoutes(ctx),
    ...gitDataRoutes(ctx),
    ...pullRoutes(ctx),
    ...issueRoutes(ctx),
    ...checkRoutes(ctx),
    ...graphqlRoutes(ctx, graphql),
  ];

  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const start = ++clock;
    const receivedAtMs = performance.timeOrigin + performance.now();
    const parsed = new URL(req.url ?? '/', url);
    const method = req.method ?? 'GET';
    let body: unknown;
    let caller: RecordedRequest['caller'] = 'none';
    const answer = async (): Promise<Reply> => {
      body = await readJsonBody(req);
      if (options.latencyMs) await sleep(options.latencyMs);
      const fault = faults.take(method, parsed.pathname);
      if (fault?.kind === 'delay') await sleep(fault.ms);
      else if (fault) return faultReply(fault);
      for (const candidate of routes) {
        if (candidate.method !== method) continue;
        const params = matchRoute(candidate.pattern, parsed.pathname);
        if (!params) continue;
        const who = auth.authenticate(req.headers.authorization, candidate.auth);
        caller = who.kind;
        return candidate.handler({ method, path: parsed.pathname, params, query: parsed.searchParams, headers: req.headers, body, caller: who });
      }
      throw new HttpError(404, 'Not Found');
    };
    answer()
      .catch((error: unknown): Reply => {
        if (error instanceof HttpError) return { status: error.status, body: errorBody(error.message), headers: error.headers };
        return { status: 500, body: errorBody(`stand-in bug: ${error instanceof Error ? error.stack : String(error)}`) };
      })
      .then((reply) => {
        requests.push({
          method,
          path: parsed.pathname,
          query: Object.fromEntries(parsed.searchParams),
          body,
          status: reply.status,
          caller,
          start,
          end: ++clock,
          receivedAtMs,
        });
        send(res, reply);
      });
  });

  return {
    url,
    git,
    state,
    requests,
    faults,
    graphql,
    addInstallation(input) {
      const account = state.account(input.account);
      const installation: Installation = {
        id: input.id,
        account: { ...account, type: input.type ?? account.type },
        repositories: [...input.repositories],
      };
      state.installations.set(input.id, installation);
      return installation;
    },
    async createRepo(fullName, repoOptions = {}) {
      const [owner = '', name = ''] = fullName.split('/');
      const defaultBranch = repoOptions.defaultBranch ?? 'main';
      const record = state.addRepo(owner, name, defaultBranch);
      await mkdir(join(root, owner), { recursive: true });
      await record.git.init(defaultBranch);
      const files = new Map<string, { mode: string; type: 'blob'; sha: string }>();
      for (const [path, content] of Object.entries(repoOptions.files ?? {})) {
        files.set(path, { mode: '100644', type: 'blob', sha: await record.git.hashBlob(Buffer.from(content)) });
      }
      const tree = await record.git.writeTree(files);
      const fixture = { name: 'Fixture Author', email: 'fixture@example.test' };
      const commit = await record.git.commitTree({ tree, parents: [], message: 'Initial commit', author: fixture, committer: fixture });
      await record.git.updateRef(`refs/heads/${defaultBranch}`, commit, undefined);
      return record;
    },
    tokenFor: (installationId) => state.issueToken(installationId).token,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await git.close();
      await rm(root, { recursive: true, force: true });
    },
  };
}
