/**
 * Pull requests between branches of the same repository. Head and base shas are read from the
 * refs on every request, so a force-push over git or the Git Data API shows up at once.
 */
import { pullJson, repoOf, type RouteContext } from '../context.ts';
import { HttpError, objectBody, optionalString, paginate, requireString, route, type Route } from '../http.ts';
import { BOT_IDENTITY } from '../git.ts';
import { APP_ACTOR, type IssueRecord, type RepoRecord } from '../state.ts';

export function pullRoutes(ctx: RouteContext): Route[] {
  const { state } = ctx;
  const pullOf = (repo: RepoRecord, number: string | undefined): IssueRecord => {
    const issue = repo.issues.get(Number(number));
    if (!issue?.pull) throw new HttpError(404, 'Not Found');
    return issue;
  };

  return [
    route('GET', '/repos/:owner/:repo/pulls', async (req) => {
      const repo = repoOf(ctx, req);
      const wanted = req.query.get('state') ?? 'open';
      const head = req.query.get('head');
      const base = req.query.get('base');
      const pulls = [...repo.issues.values()]
        .filter((issue) => issue.pull !== undefined)
        .filter((issue) => wanted === 'all' || issue.state === wanted)
        // `head` is `owner:branch`; GitHub ignores a filter without the owner prefix.
        .filter((issue) => head === null || !head.includes(':') || `${repo.owner.login}:${issue.pull?.head}`.toLowerCase() === head.toLowerCase())
        .filter((issue) => base === null || issue.pull?.base === base)
        .sort((a, b) => b.number - a.number);
      const page = paginate(req, ctx.apiUrl, pulls);
      return { ...page, body: await Promise.all((page.body as IssueRecord[]).map((p) => pullJson(ctx, repo, p))) };
    }),

    route('POST', '/repos/:owner/:repo/pulls', async (req) => {
      const repo = repoOf(ctx, req);
      const body = objectBody(req);
      const title = requireString(body, 'title');
      const head = requireString(body, 'head').replace(/^[^:]+:/, '');
      const base = requireString(body, 'base');
      const headSha = await repo.git.resolve(`refs/heads/${head}`);
      const baseSha = await repo.git.resolve(`refs/heads/${base}`);
      if (headSha === undefined) throw new HttpError(422, `Validation Failed: head "${head}" does not exist`);
      if (baseSha === undefined) throw new HttpError(422, `Validation Failed: base "${base}" does not exist`);
      const duplicate = [...repo.issues.values()].find((i) => i.state === 'open' && i.pull?.head === head && i.pull.base === base);
      if (duplicate) throw new HttpError(422, `Validation Failed: A pull request already exists for ${repo.owner.login}:${head}.`);
      if (await repo.git.isAncestor(headSha, baseSha)) throw new HttpError(422, `Validation Failed: No commits between ${base} and ${head}`);
      const now = state.now();
      const issue: IssueRecord = {
        number: repo.nextNumber++,
        title,
        body: optionalString(body, 'body') ?? null,
        state: 'open',
        stateReason: null,
        labels: [],
        assignees: [],
        user: APP_ACTOR,
        createdAt: now,
        updatedAt: now,
        closedAt: null,
        comments: [],
        pull: { head, base, draft: body.draft === true, merged: false, mergedAt: null, mergeCommitSha: null },
      };
      repo.issues.set(issue.number, issue);
      return { status: 201, body: await pullJson(ctx, repo, issue) };
    }),

    route('GET', '/repos/:owner/:repo/pulls/:number', async (req) => {
      const repo = repoOf(ctx, req);
      return { status: 200, body: await pullJson(ctx, repo, pullOf(repo, req.params.number)) };
    }),

    // Merges with a merge commit (GitHub's default method); the head's tree wins, which is right for
    // the head branches this stand-in serves (made on top of the base, no conflicts).
    route('PUT', '/repos/:owner/:repo/pulls/:number/merge', async (req) => {
      const repo = repoOf(ctx, req);
      const issue = pullOf(repo, req.params.number);
      const pull = issue.pull!;
      if (issue.state !== 'open' || pull.merged) throw new HttpError(405, 'Pull Request is not mergeable');
      const head = await repo.git.resolve(`refs/heads/${pull.head}`);
      const base = await repo.git.resolve(`refs/heads/${pull.base}`);
      if (head === undefined || base === undefined) throw new HttpError(422, 'Head or base branch is missing');
      if (!(await repo.git.isAncestor(base, head))) throw new HttpError(405, 'Base branch was modified. Review and try the merge again.');
      const tree = (await repo.git.resolve(`${head}^{tree}`))!;
      const message = `Merge pull request #${issue.number} from ${repo.owner.login}/${pull.head}`;
      const sha = await repo.git.commitTree({ tree, parents: [base, head], message, author: BOT_IDENTITY, committer: BOT_IDENTITY });
      if (!(await repo.git.updateRef(`refs/heads/${pull.base}`, sha, base))) throw new HttpError(409, 'Base branch moved during the merge');
      const now = state.now();
      Object.assign(pull, { merged: true, mergedAt: now, mergeCommitSha: sha });
      Object.assign(issue, { state: 'closed', closedAt: now, updatedAt: now });
      return { status: 200, body: { sha, merged: true, message: 'Pull Request successfully merged' } };
    }),

    route('PATCH', '/repos/:owner/:repo/pulls/:number', async (req) => {
      const repo = repoOf(ctx, req);
      const issue = pullOf(repo, req.params.number);
      const body = objectBody(req);
      const title = optionalString(body, 'title');
      if (title !== undefined) issue.title = title;
      if ('body' in body) issue.body = optionalString(body, 'body') ?? null;
      const base = optionalString(body, 'base');
      if (base !== undefined && issue.pull) issue.pull.base = base;
      const wanted = optionalString(body, 'state');
      if (wanted === 'open' || wanted === 'closed') {
        if (issue.pull?.merged) throw new HttpError(422, 'Validation Failed: cannot change the state of a merged pull request');
        issue.state = wanted;
        issue.closedAt = wanted === 'closed' ? state.now() : null;
      }
      issue.updatedAt = state.now();
      return { status: 200, body: await pullJson(ctx, repo, issue) };
    }),
  ];
}
