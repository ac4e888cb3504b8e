/**
 * Serves bare repositories over smart HTTP with the real `git http-backend` (CGI), the way
 * github.com serves `https://x-access-token:TOKEN@github.com/owner/repo.git`.
 *
 * Layout: `<root>/<owner>/<repo>.git` are bare repositories. Every request needs HTTP Basic auth
 * whose password is a token the `authorize` callback accepts for that repository; anything else
 * gets a 401 with a `WWW-Authenticate` challenge, as GitHub answers.
 */
import { spawn } from 'node:child_process';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export const GIT_HTTP_BACKEND = '/usr/lib/git-core/git-http-backend';

export type GitAccess = 'read' | 'write';

export interface GitHttpOptions {
  /** Directory holding `<owner>/<repo>.git` bare repositories. */
  readonly root: string;
  /** Decides whether `token` may read or write `owner/repo`. */
  readonly authorize: (token: string, repo: { owner: string; name: string }, access: GitAccess) => boolean;
  /** Called after a receive-pack (push) request finished, e.g. to send a push webhook. */
  readonly onPush?: (repo: { owner: string; name: string }) => void;
}

export interface GitHttpServer {
  /** `http://127.0.0.1:PORT`, without a trailing slash. */
  readonly url: string;
  /** Clone URL of `owner/name` carrying `token`, as an installation would use it. */
  cloneUrl(owner: string, name: string, token: string): string;
  close(): Promise<void>;
}

const NAME = /^[A-Za-z0-9_.-]+$/;
/** The smart-HTTP paths git uses; anything else (dumb HTTP, traversal) is refused. */
const GIT_PATH = /^\/([^/]+)\/([^/]+?)(?:\.git)?\/(info\/refs|git-upload-pack|git-receive-pack)$/;

/** Starts the git server on 127.0.0.1 with an ephemeral port. */
export async function startGitHttp(options: GitHttpOptions): Promise<GitHttpServer> {
  const server = createServer((req, res) => {
    handle(options, req, res).catch((error: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(`git-http: ${error instanceof Error ? error.message : String(error)}\n`);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    cloneUrl: (owner, name, token) => `http://x-access-token:${token}@127.0.0.1:${port}/${owner}/${name}.git`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}

async function handle(options: GitHttpOptions, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://127.0.0.1');
  const match = GIT_PATH.exec(url.pathname);
  const owner = match?.[1];
  const name = match?.[2];
  if (!match || owner === undefined || name === undefined || !isSafeName(owner) || !isSafeName(name)) {
    res.writeHead(404, { 'content-type': 'text/plain' }).end('Not Found\n');
    return;
  }
  const isPush = match[3] === 'git-receive-pack' || url.searchParams.get('service') === 'git-receive-pack';
  const token = basicPassword(req.headers.authorization);
  if (token === undefined || !options.authorize(token, { owner, name }, isPush ? 'write' : 'read')) {
    // Drain the body so the client sees the 401 rather than a reset connection.
    req.resume();
    res
      .writeHead(401, { 'www-authenticate': 'Basic realm="GitHub"', 'content-type': 'text/plain' })
      .end('Invalid username or token.\n');
    return;
  }
  await runBackend(options.root, `/${owner}/${name}.git/${match[3]}`, url.search.slice(1), req, res);
  if (isPush && match[3] === 'git-receive-pack') options.onPush?.({ owner, name });
}

function isSafeName(name: string): boolean {
  return NAME.test(name) && name !== '.' && name !== '..';
}

/** The password of a Basic `Authorization` header (GitHub ignores the user name). */
function basicPassword(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const [scheme, value] = header.split(' ', 2);
  if (scheme?.toLowerCase() !== 'basic' || value === undefined) return undefined;
  const decoded = Buffer.from(value, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? undefined : decoded.slice(colon + 1);
}

/** Runs one CGI request through `git http-backend` and streams its answer back. */
function runBackend(
  root: string,
  pathInfo: string,
  query: string,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    GIT_PROJECT_ROOT: root,
    GIT_HTTP_EXPORT_ALL: '1',
    // A non-empty REMOTE_USER is what enables receive-pack in http-backend.
    REMOTE_USER: 'x-access-token',
    REMOTE_ADDR: req.socket.remoteAddress ?? '127.0.0.1',
    REQUEST_METHOD: req.method ?? 'GET',
    PATH_INFO: pathInfo,
    QUERY_STRING: query,
    CONTENT_TYPE: req.headers['content-type'] ?? '',
    GIT_CONFIG_NOSYSTEM: '1',
  };
  if (req.headers['content-length'] !== undefined) env.CONTENT_LENGTH = req.headers['content-length'];
  if (req.headers['content-encoding'] !== undefined) env.HTTP_CONTENT_ENCODING = req.headers['content-encoding'];
  const protocol = req.headers['git-protocol'];
  if (typeof protocol === 'string') env.GIT_PROTOCOL = protocol;

  return new Promise((resolve, reject) => {
    const child = spawn(GIT_HTTP_BACKEND, [], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    req.pipe(child.stdin);
    child.stdin.on('error', () => {
      // The backend may stop reading early (e.g. on a bad request); its answer still counts.
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));

    let head = Buffer.alloc(0);
    let headersDone = false;
    child.stdout.on('data', (chunk: Buffer) => {
      if (headersDone) {
        res.write(chunk);
        return;
      }
      head = Buffer.concat([head, chunk]);
      const split = headerEnd(head);
      if (split === undefined) return;
      headersDone = true;
      writeCgiHeaders(res, head.subarray(0, split.index).toString('latin1'));
      res.write(head.subarray(split.index + split.length));
    });
    child.on('error', reject);
    child.on('close', (code) => {
      if (!headersDone) {
        res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(`git http-backend exited with ${code}: ${stderr}`);
      } else {
        res.end();
      }
      resolve();
    });
  });
}

function headerEnd(buffer: Buffer): { index: number; length: number } | undefined {
  const crlf = buffer.indexOf('\r\n\r\n');
  const lf = buffer.indexOf('\n\n');
  if (crlf >= 0 && (lf < 0 || crlf < lf)) return { index: crlf, length: 4 };
  if (lf >= 0) return { index: lf, length: 2 };
  return undefined;
}

function writeCgiHeaders(res: ServerResponse, block: string): void {
  let status = 200;
  const headers: Record<string, string> = {};
  for (const line of block.split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const key = line.slice(0, colon).trim();
    const value = line.slice(colon + 1).trim();
    if (key.toLowerCase() === 'status') status = Number.parseInt(value, 10) || 500;
    else headers[key] = value;
  }
  res.writeHead(status, headers);
}
