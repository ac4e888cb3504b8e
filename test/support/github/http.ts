/**
 * The stand-in's tiny HTTP layer: a route table with `:param` segments, GitHub-shaped JSON
 * errors and Link-header pagination, on plain `node:http`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

/** Who a request authenticated as. */
export type Caller =
  | { readonly kind: 'app' }
  | { readonly kind: 'installation'; readonly installationId: number; readonly token: string };

export interface Request {
  readonly method: string;
  readonly path: string;
  readonly params: Readonly<Record<string, string>>;
  readonly query: URLSearchParams;
  readonly headers: IncomingMessage['headers'];
  readonly body: unknown;
  readonly caller: Caller;
}

export interface Reply {
  readonly status: number;
  readonly body?: unknown;
  readonly headers?: Readonly<Record<string, string>>;
}

export type Handler = (req: Request) => Promise<Reply> | Reply;

/** Which credential a route needs: the App JWT (`/app/...`) or an installation token. */
export type RouteAuth = 'app' | 'installation';

export interface Route {
  readonly method: string;
  readonly pattern: string;
  readonly auth: RouteAuth;
  readonly handler: Handler;
}

/** Thrown by handlers; becomes `{ message, documentation_url }` like GitHub's errors. */
export class HttpError extends Error {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;

  constructor(status: number, message: string, headers: Record<string, string> = {}) {
    super(message);
    this.status = status;
    this.headers = headers;
  }
}

export function route(method: string, pattern: string, handler: Handler, auth: RouteAuth = 'installation'): Route {
  return { method, pattern, auth, handler };
}

/** Matches `path` against `/repos/:owner/:repo/...`; a trailing `*name` takes the rest. */
export function matchRoute(pattern: string, path: string): Record<string, string> | undefined {
  const want = pattern.split('/');
  const got = path.split('/');
  const params: Record<string, string> = {};
  for (let i = 0; i < want.length; i++) {
    const segment = want[i] ?? '';
    if (segment.startsWith('*')) {
      const rest = got.slice(i).join('/');
      if (rest.length === 0) return undefined;
      params[segment.slice(1)] = decodeURIComponent(rest);
      return params;
    }
    const actual = got[i];
    if (actual === undefined) return undefined;
    if (segment.startsWith(':')) params[segment.slice(1)] = decodeURIComponent(actual);
    else if (segment !== actual) return undefined;
  }
  return got.length === want.length ? params : undefined;
}

export async function readJsonBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.length === 0) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new HttpError(400, 'Problems parsing JSON');
  }
}

export function send(res: ServerResponse, reply: Reply): void {
  const headers: Record<string, string> = { ...reply.headers };
  if (reply.body === undefined) {
    res.writeHead(reply.status, headers).end();
    return;
  }
  if (typeof reply.body === 'string' || Buffer.isBuffer(reply.body)) {
    res.writeHead(reply.status, { 'content-type': 'application/octet-stream', ...headers }).end(reply.body);
    return;
  }
  res
    .writeHead(reply.status, { 'content-type': 'application/json; charset=utf-8', ...headers })
    .end(JSON.stringify(reply.body));
}

export function errorBody(message: string): { message: string; documentation_url: string } {
  return { message, documentation_url: 'https://docs.github.com/rest' };
}

/** Pages a list like GitHub: `per_page` (default 30, max 100), `page`, and a `Link` header. */
export function paginate<T>(
  req: Request,
  baseUrl: string,
  items: readonly T[],
  wrap: (page: readonly T[]) => unknown = (page) => page,
): Reply {
  const perPage = Math.min(Math.max(Number(req.query.get('per_page') ?? 30) || 30, 1), 100);
  const page = Math.max(Number(req.query.get('page') ?? 1) || 1, 1);
  const last = Math.max(Math.ceil(items.length / perPage), 1);
  const body = items.slice((page - 1) * perPage, page * perPage);
  const links: string[] = [];
  const link = (p: number, rel: string): string => {
    const query = new URLSearchParams(req.query);
    query.set('page', String(p));
    query.set('per_page', String(perPage));
    return `<${baseUrl}${req.path}?${query.toString()}>; rel="${rel}"`;
  };
  if (page < last) links.push(link(page + 1, 'next'), link(last, 'last'));
  if (page > 1) links.push(link(1, 'first'), link(page - 1, 'prev'));
  return { status: 200, body: wrap(body), headers: links.length > 0 ? { link: links.join(', ') } : {} };
}

/** The JSON body as an object; 422 when it is missing or not an object. */
export function objectBody(req: Request): Record<string, unknown> {
  if (typeof req.body !== 'object' || req.body === null || Array.isArray(req.body)) {
    throw new HttpError(422, 'Invalid request.\n\nBody must be a JSON object.');
  }
  return req.body as Record<string, unknown>;
}

export function requireString(body: Record<string, unknown>, key: string): string {
  const value = body[key];
  if (typeof value !== 'string' || value.length === 0) {
    throw new HttpError(422, `Invalid request.\n\n"${key}" wasn't supplied.`);
  }
  return value;
}

export function optionalString(body: Record<string, unknown>, key: string): string | undefined {
  const value = body[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw new HttpError(422, `Invalid request.\n\n"${key}" is not a string.`);
  return value;
}
