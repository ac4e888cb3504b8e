/**
 * A forwarding proxy in front of the GitHub stand-in, for faults the stand-in cannot make by
 * itself because they happen around a request rather than instead of it:
 *
 * - a hook that runs (and may await, e.g. a foreign `git push`) when a request arrives, before the
 *   stand-in sees it: a push racing the app, a kill of the app's process after its Nth write;
 * - an answer lost after the write was applied (GitHub's 502 after committing the change): the
 *   request is forwarded, the stand-in applies it, and the client gets a 502 instead of the answer.
 *
 * It also strips a path prefix, so a Probot started with `GHE_HOST` (whose base URL ends in
 * `/api/v3`, and whose GraphQL is at `/api/graphql`) reaches the stand-in, which serves the API at
 * the root and GraphQL at `/graphql`.
 */
import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ArrivingRequest {
  readonly method: string;
  /** Path without the stripped prefix and without the query. */
  readonly path: string;
  /** 1-based count of mutating requests (not GET/HEAD, not token requests) so far, this one included; 0 for reads. */
  readonly write: number;
}

/** What to do with an arriving request: forward it (default), or forward it and lose the answer. */
export type ProxyAction = 'forward' | 'lose-answer';

export interface FaultProxyOptions {
  /** The stand-in's URL. */
  readonly upstream: string;
  /** Removed from the start of every path (e.g. `/api/v3`). */
  readonly stripPrefix?: string;
  readonly onRequest?: (request: ArrivingRequest) => ProxyAction | void | Promise<ProxyAction | void>;
}

export interface FaultProxy {
  readonly url: string;
  /** Answers replaced by a 502 after the stand-in applied the request. */
  readonly lostAnswers: { readonly method: string; readonly path: string; readonly status: number }[];
  /** Mutating requests seen so far. */
  readonly writes: () => number;
  /** Resolves once every request that arrived has been answered by the stand-in (its write applied). */
  idle(): Promise<void>;
  close(): Promise<void>;
}

/** Token requests are the app authenticating, not a write to a repository. */
export const isWrite = (method: string, path: string): boolean =>
  method !== 'GET' && method !== 'HEAD' && !path.endsWith('/access_tokens');

export async function startFaultProxy(options: FaultProxyOptions): Promise<FaultProxy> {
  const upstream = new URL(options.upstream);
  const lostAnswers: FaultProxy['lostAnswers'][number][] = [];
  let writes = 0;
  let inFlight = 0;
  let idleWaiters: (() => void)[] = [];

  const forward = (req: IncomingMessage, body: Buffer, path: string): Promise<{ status: number; headers: IncomingMessage['headers']; body: Buffer }> =>
    new Promise((resolve, reject) => {
      const out = httpRequest(
        { host: upstream.hostname, port: upstream.port, method: req.method, path, headers: { ...req.headers, host: upstream.host } },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () => resolve({ status: res.statusCode ?? 502, headers: res.headers, body: Buffer.concat(chunks) }));
          res.on('error', reject);
        },
      );
      out.on('error', reject);
      out.end(body);
    });

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const method = req.method ?? 'GET';
    let target = req.url ?? '/';
    if (options.stripPrefix && target.startsWith(options.stripPrefix)) target = target.slice(options.stripPrefix.length) || '/';
    // GitHub Enterprise serves GraphQL at /api/graphql (Octokit derives it from an /api/v3 base),
    // the stand-in at /graphql, as github.com does.
    else if (options.stripPrefix === '/api/v3' && target.startsWith('/api/graphql')) target = target.slice('/api'.length);
    const path = target.split('?')[0] ?? '/';
    const write = isWrite(method, path) ? ++writes : 0;
    const action = (await options.onRequest?.({ method, path, write })) ?? 'forward';
    const answer = await forward(req, body, target);
    if (action === 'lose-answer') {
      lostAnswers.push({ method, path, status: answer.status });
      res.writeHead(502, { 'content-type': 'application/json; charset=utf-8' }).end(JSON.stringify({ message: 'Server Error' }));
      return;
    }
    // Bodies are passed on whole, so the length is known; chunked framing would not apply.
    const { 'transfer-encoding': _chunked, connection: _connection, ...headers } = answer.headers;
    res.writeHead(answer.status, { ...headers, 'content-length': String(answer.body.length) }).end(answer.body);
  };

  const server = createServer((req, res) => {
    inFlight += 1;
    handle(req, res)
      .catch((error: unknown) => {
        // The client may be gone (a killed app); nothing else to do with the request.
        if (!res.headersSent) res.writeHead(502).end(JSON.stringify({ message: `proxy: ${error instanceof Error ? error.message : String(error)}` }));
      })
      .finally(() => {
        inFlight -= 1;
        if (inFlight > 0) return;
        const waiters = idleWaiters;
        idleWaiters = [];
        for (const resolve of waiters) resolve();
      });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    lostAnswers,
    writes: () => writes,
    idle: () => (inFlight === 0 ? Promise.resolve() : new Promise((resolve) => idleWaiters.push(resolve))),
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
