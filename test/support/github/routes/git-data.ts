/**
 * The Git Data API (blobs, trees, commits, refs) on real git plumbing. Commits made without a
 * custom author are the app's own and come back `verification.verified: true`, as GitHub signs
 * them; a ref update that is not a fast-forward is refused with 422 unless `force` is set.
 */
import { repoOf, type RouteContext } from '../context.ts';
import { BOT_IDENTITY, type BareRepo, type TreeEntry } from '../git.ts';
import { HttpError, objectBody, optionalString, requireString, route, type Request, type Route } from '../http.ts';

const SHA = /^[0-9a-f]{40}$/;

export function gitDataRoutes(ctx: RouteContext): Route[] {
  const url = (req: Request, rest: string) => `${ctx.apiUrl}/repos/${req.params.owner}/${req.params.repo}/git/${rest}`;

  return [
    route('POST', '/repos/:owner/:repo/git/blobs', async (req) => {
      const repo = repoOf(ctx, req);
      const body = objectBody(req);
      const content = body.content;
      if (typeof content !== 'string') throw new HttpError(422, 'Invalid request.\n\n"content" wasn\'t supplied.');
      const encoding = optionalString(body, 'encoding') ?? 'utf-8';
      if (encoding !== 'utf-8' && encoding !== 'base64') throw new HttpError(422, `encoding must be utf-8 or base64`);
      const sha = await repo.git.hashBlob(Buffer.from(content, encoding === 'base64' ? 'base64' : 'utf8'));
      return { status: 201, body: { sha, url: url(req, `blobs/${sha}`) } };
    }),

    route('GET', '/repos/:owner/:repo/git/blobs/:sha', async (req) => {
      const repo = repoOf(ctx, req);
      const sha = req.params.sha ?? '';
      if ((await repo.git.objectType(sha)) !== 'blob') throw new HttpError(404, 'Not Found');
      const bytes = await repo.git.readBlob(sha);
      return { status: 200, body: { sha, size: bytes.length, encoding: 'base64', content: bytes.toString('base64') } };
    }),

    route('GET', '/repos/:owner/:repo/git/trees/:sha', async (req) => {
      const repo = repoOf(ctx, req);
      const tree = await repo.git.resolve(`${req.params.sha}^{tree}`);
      if (tree === undefined) throw new HttpError(404, 'Not Found');
      const recursive = req.query.has('recursive') && req.query.get('recursive') !== '0';
      const entries = await repo.git.lsTree(tree, recursive);
      return { status: 200, body: { sha: tree, url: url(req, `trees/${tree}`), tree: entries, truncated: false } };
    }),

    route('POST', '/repos/:owner/:repo/git/trees', async (req) => {
      const repo = repoOf(ctx, req);
      const body = objectBody(req);
      if (!Array.isArray(body.tree)) throw new HttpError(422, 'Invalid request.\n\n"tree" wasn\'t supplied.');
      const baseTree = optionalString(body, 'base_tree');
      let files = new Map<string, Omit<TreeEntry, 'path'>>();
      if (baseTree !== undefined) {
        const resolved = await repo.git.resolve(`${baseTree}^{tree}`);
        if (resolved === undefined) throw new HttpError(422, 'Invalid request.\n\nbase_tree is not a valid tree.');
        files = await repo.git.flatten(resolved);
      }
      for (const raw of body.tree as unknown[]) await applyTreeEntry(repo.git, files, raw);
      const sha = await repo.git.writeTree(files);
      return {
        status: 201,
        body: { sha, url: url(req, `trees/${sha}`), tree: await repo.git.lsTree(sha, false), truncated: false },
      };
    }),

    route('POST', '/repos/:owner/:repo/git/commits', async (req) => {
      const repo = repoOf(ctx, req);
      const body = objectBody(req);
      const message = requireString(body, 'message');
      const tree = requireString(body, 'tree');
      if ((await repo.git.objectType(tree)) !== 'tree') throw new HttpError(422, 'Tree SHA does not exist');
      const parents = Array.isArray(body.parents) ? (body.parents as unknown[]) : [];
      for (const parent of parents) {
        if (typeof parent !== 'string' || (await repo.git.objectType(parent)) !== 'commit') {
          throw new HttpError(422, 'Parent SHA does not exist or is not a commit object');
        }
      }
      const author = person(body.author);
      const committer = person(body.committer) ?? author;
      const sha = await repo.git.commitTree({
        tree,
        parents: parents as string[],
        message,
        author: author ?? BOT_IDENTITY,
        committer: committer ?? BOT_IDENTITY,
      });
      // GitHub signs commits an app creates without a custom author or committer.
      const verified = author === undefined && committer === undefined;
      if (verified) repo.verifiedCommits.add(sha);
      return { status: 201, body: await commitJson(ctx, req, repo.git, sha, verified) };
    }),

    route('GET', '/repos/:owner/:repo/git/commits/:sha', async (req) => {
      const repo = repoOf(ctx, req);
      const sha = req.params.sha ?? '';
      if ((await repo.git.objectType(sha)) !== 'commit') throw new HttpError(404, 'Not Found');
      return { status: 200, body: await commitJson(ctx, req, repo.git, sha, repo.verifiedCommits.has(sha)) };
    }),

    route('GET', '/repos/:owner/:repo/git/ref/*ref', async (req) => {
      const repo = repoOf(ctx, req);
      return { status: 200, body: await refJson(req, repo.git, `refs/${req.params.ref}`) };
    }),
    // The older plural form still answers a single ref.
    route('GET', '/repos/:owner/:repo/git/refs/*ref', async (req) => {
      const repo = repoOf(ctx, req);
      return { status: 200, body: await refJson(req, repo.git, `refs/${req.params.ref}`) };
    }),
    route('GET', '/repos/:owner/:repo/git/matching-refs/*ref', async (req) => {
      const repo = repoOf(ctx, req);
      const prefix = `refs/${req.params.ref}`;
      const refs = (await repo.git.listRefs()).filter((r) => r.ref.startsWith(prefix));
      return { status: 200, body: refs.map((r) => ({ ref: r.ref, object: { sha: r.sha, type: 'commit' } })) };
    }),

    route('POST', '/repos/:owner/:repo/git/refs', async (req) => {
      const repo = repoOf(ctx, req);
      const body = objectBody(req);
      const ref = requireString(body, 'ref');
      const sha = requireString(body, 'sha');
      if (!/^refs\/[^/]+\/.+/.test(ref)) throw new HttpError(422, 'Reference name must start with \'refs/\' and have at least two slashes.');
      if ((await repo.git.objectType(sha)) !== 'commit') throw new HttpError(422, 'Object does not exist');
      if (!(await repo.git.updateRef(ref, sha, undefined))) throw new HttpError(422, 'Reference already exists');
      return { status: 201, body: await refJson(req, repo.git, ref) };
    }),

    route('PATCH', '/repos/:owner/:repo/git/refs/*ref', async (req) => {
      const repo = repoOf(ctx, req);
      const body = objectBody(req);
      const ref = `refs/${req.params.ref}`;
      const sha = requireString(body, 'sha');
      const force = body.force === true;
      const current = await repo.git.resolve(ref);
      if (current === undefined) throw new HttpError(422, 'Reference does not exist');
      if (!SHA.test(sha) || (await repo.git.objectType(sha)) !== 'commit') throw new HttpError(422, 'Object does not exist');
      if (!force && !(await repo.git.isAncestor(current, sha))) throw new HttpError(422, 'Update is not a fast forward');
      // Compare-and-swap so a concurrent `git push` is not silently overwritten.
      if (!(await repo.git.updateRef(ref, sha, current))) throw new HttpError(422, 'Reference cannot be updated');
      return { status: 200, body: await refJson(req, repo.git, ref) };
    }),

    route('DELETE', '/repos/:owner/:repo/git/refs/*ref', async (req) => {
      const repo = repoOf(ctx, req);
      const ref = `refs/${req.params.ref}`;
      if ((await repo.git.resolve(ref)) === undefined) throw new HttpError(422, 'Reference does not exist');
      await repo.git.deleteRef(ref);
      return { status: 204 };
    }),
  ];
}

/** One `tree` entry of `POST git/trees` applied to the flat file map. */
async function applyTreeEntry(git: BareRepo, files: Map<string, Omit<TreeEntry, 'path'>>, raw: unknown): Promise<void> {
  if (typeof raw !== 'object' || raw === null) throw new HttpError(422, 'Invalid tree entry');
  const entry = raw as Record<string, unknown>;
  const path = entry.path;
  const mode = entry.mode;
  const type = entry.type ?? 'blob';
  if (typeof path !== 'string' || path.length === 0 || path.startsWith('/') || path.split('/').includes('..')) {
    throw new HttpError(422, 'Invalid tree entry path');
  }
  if (typeof mode !== 'string' || !['100644', '100755', '040000', '160000', '120000'].includes(mode)) {
    throw new HttpError(422, `Invalid tree entry mode for ${path}`);
  }
  if (type !== 'blob' && type !== 'tree' && type !== 'commit') throw new HttpError(422, `Invalid tree entry type for ${path}`);
  // `sha: null` deletes the path (a file or a whole directory).
  if ('sha' in entry && entry.sha === null) {
    for (const existing of [...files.keys()]) {
      if (existing === path || existing.startsWith(`${path}/`)) files.delete(existing);
    }
    return;
  }
  let sha: string;
  if (typeof entry.content === 'string') {
    if (type !== 'blob') throw new HttpError(422, `content is only allowed for blobs (${path})`);
    sha = await git.hashBlob(Buffer.from(entry.content, 'utf8'));
  } else if (typeof entry.sha === 'string' && SHA.test(entry.sha)) {
    sha = entry.sha;
    if (type !== 'commit' && (await git.objectType(sha)) !== type) {
      throw new HttpError(422, `GitRPC::BadObjectState (${path})`);
    }
  } else {
    throw new HttpError(422, `Must supply either tree.sha or tree.content (${path})`);
  }
  for (const existing of [...files.keys()]) {
    if (existing.startsWith(`${path}/`)) files.delete(existing);
  }
  if (type === 'tree') {
    for (const [sub, value] of await git.flatten(sha)) files.set(`${path}/${sub}`, value);
    return;
  }
  files.set(path, { mode, type, sha });
}

function person(value: unknown): { name: string; email: string; date?: string } | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const { name, email, date } = value as Record<string, unknown>;
  if (typeof name !== 'string' || typeof email !== 'string') {
    throw new HttpError(422, 'Invalid request.\n\nauthor/committer need name and email.');
  }
  return typeof date === 'string' ? { name, email, date } : { name, email };
}

async function commitJson(ctx: RouteContext, req: Request, git: BareRepo, sha: string, verified: boolean) {
  const commit = await git.readCommit(sha);
  const base = `${ctx.apiUrl}/repos/${req.params.owner}/${req.params.repo}/git`;
  return {
    sha,
    url: `${base}/commits/${sha}`,
    message: commit.message.replace(/\n$/, ''),
    tree: { sha: commit.tree, url: `${base}/trees/${commit.tree}` },
    parents: commit.parents.map((p) => ({ sha: p, url: `${base}/commits/${p}` })),
    author: commit.author,
    committer: commit.committer,
    verification: verified
      ? { verified: true, reason: 'valid', signature: '-----BEGIN PGP SIGNATURE-----\n(stand-in)\n-----END PGP SIGNATURE-----', payload: null }
      : { verified: false, reason: 'unsigned', signature: null, payload: null },
  };
}

async function refJson(req: Request, git: BareRepo, ref: string) {
  const sha = await git.resolve(ref);
  if (sha === undefined) throw new HttpError(404, 'Not Found');
  return { ref, object: { sha, type: 'commit' } };
}
