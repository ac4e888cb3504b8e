/** Repository metadata, branches and file contents, read straight from the bare repository. */
import { repoJson, repoOf, type RouteContext } from '../context.ts';
import { HttpError, route, type Request, type Reply, type Route } from '../http.ts';
import type { RepoRecord } from '../state.ts';

export function repoRoutes(ctx: RouteContext): Route[] {
  return [
    route('GET', '/repos/:owner/:repo', (req) => ({ status: 200, body: repoJson(ctx, repoOf(ctx, req)) })),
    route('GET', '/repos/:owner/:repo/branches/:branch', async (req) => {
      const repo = repoOf(ctx, req);
      const sha = await repo.git.resolve(`refs/heads/${req.params.branch}`);
      if (sha === undefined) throw new HttpError(404, 'Branch not found');
      return { status: 200, body: { name: req.params.branch, commit: { sha }, protected: false } };
    }),
    route('GET', '/repos/:owner/:repo/contents', (req) => contents(ctx, req, '')),
    route('GET', '/repos/:owner/:repo/contents/*path', (req) => contents(ctx, req, req.params.path ?? '')),
  ];
}

async function contents(ctx: RouteContext, req: Request, path: string): Promise<Reply> {
  const repo = repoOf(ctx, req);
  const ref = req.query.get('ref') ?? repo.defaultBranch;
  const commit = await resolveCommit(repo, ref);
  const clean = path.replace(/^\/+|\/+$/g, '');
  const spec = clean.length === 0 ? `${commit}^{tree}` : `${commit}:${clean}`;
  const type = await repo.git.objectType(spec);
  if (type === undefined) throw new HttpError(404, 'Not Found');
  const sha = (await repo.git.resolve(spec)) ?? '';
  const fullName = `${repo.owner.login}/${repo.name}`;
  const meta = (p: string, entrySha: string, entryType: string, size: number) => ({
    type: entryType === 'tree' ? 'dir' : entryType === 'commit' ? 'submodule' : 'file',
    name: p.split('/').pop() ?? p,
    path: p,
    sha: entrySha,
    size,
    url: `${ctx.apiUrl}/repos/${fullName}/contents/${p}?ref=${encodeURIComponent(ref)}`,
    download_url: null,
  });
  if (type === 'tree') {
    const entries = await repo.git.lsTree(sha, false);
    return {
      status: 200,
      body: entries.map((e) => meta(clean.length === 0 ? e.path : `${clean}/${e.path}`, e.sha, e.type, e.size ?? 0)),
    };
  }
  const bytes = await repo.git.readBlob(sha);
  if (wantsRaw(req)) return { status: 200, body: bytes, headers: { 'content-type': 'application/vnd.github.raw' } };
  return {
    status: 200,
    body: { ...meta(clean, sha, 'blob', bytes.length), encoding: 'base64', content: bytes.toString('base64') },
  };
}

/** A branch, tag or commit sha, as `?ref=` accepts them; 404 when it names nothing. */
async function resolveCommit(repo: RepoRecord, ref: string): Promise<string> {
  for (const candidate of [`refs/heads/${ref}`, `refs/tags/${ref}`, ref]) {
    const sha = await repo.git.resolve(`${candidate}^{commit}`);
    if (sha !== undefined) return sha;
  }
  throw new HttpError(404, `No commit found for the ref ${ref}`);
}

function wantsRaw(req: Request): boolean {
  const accept = req.headers.accept ?? '';
  return /application\/vnd\.github(\.v3)?\.raw/.test(accept);
}
