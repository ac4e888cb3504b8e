/** Issues (the dashboard), their comments, and repository labels. */
import { issueJson, labelJson, repoOf, type RouteContext } from '../context.ts';
import { HttpError, objectBody, optionalString, paginate, requireString, route, type Route } from '../http.ts';
import { APP_ACTOR, type IssueRecord, type RepoRecord, type StandInState } from '../state.ts';

export function issueRoutes(ctx: RouteContext): Route[] {
  const { state } = ctx;
  const issueOf = (repo: RepoRecord, number: string | undefined): IssueRecord => {
    const issue = repo.issues.get(Number(number));
    if (!issue) throw new HttpError(404, 'Not Found');
    return issue;
  };

  return [
    route('GET', '/repos/:owner/:repo/issues', (req) => {
      const repo = repoOf(ctx, req);
      const wanted = req.query.get('state') ?? 'open';
      const labels = (req.query.get('labels') ?? '').split(',').map((l) => l.trim().toLowerCase()).filter(Boolean);
      const creator = req.query.get('creator');
      const issues = [...repo.issues.values()]
        .filter((issue) => wanted === 'all' || issue.state === wanted)
        .filter((issue) => labels.every((l) => issue.labels.some((have) => have.toLowerCase() === l)))
        .filter((issue) => creator === null || issue.user.login === creator)
        .sort((a, b) => b.number - a.number)
        .map((issue) => issueJson(ctx, repo, issue));
      return paginate(req, ctx.apiUrl, issues);
    }),

    route('POST', '/repos/:owner/:repo/issues', (req) => {
      const repo = repoOf(ctx, req);
      const body = objectBody(req);
      const now = state.now();
      const issue: IssueRecord = {
        number: repo.nextNumber++,
        title: requireString(body, 'title'),
        body: optionalString(body, 'body') ?? null,
        state: 'open',
        stateReason: null,
        labels: ensureLabels(state, repo, body.labels),
        assignees: stringList(body.assignees),
        user: APP_ACTOR,
        createdAt: now,
        updatedAt: now,
        closedAt: null,
        comments: [],
      };
      repo.issues.set(issue.number, issue);
      return { status: 201, body: issueJson(ctx, repo, issue) };
    }),

    route('GET', '/repos/:owner/:repo/issues/:number', (req) => {
      const repo = repoOf(ctx, req);
      return { status: 200, body: issueJson(ctx, repo, issueOf(repo, req.params.number)) };
    }),

    route('PATCH', '/repos/:owner/:repo/issues/:number', (req) => {
      const repo = repoOf(ctx, req);
      const issue = issueOf(repo, req.params.number);
      const body = objectBody(req);
      const title = optionalString(body, 'title');
      if (title !== undefined) issue.title = title;
      if ('body' in body) issue.body = optionalString(body, 'body') ?? null;
      if ('labels' in body) issue.labels = ensureLabels(state, repo, body.labels);
      if ('assignees' in body) issue.assignees = stringList(body.assignees);
      const wanted = optionalString(body, 'state');
      if (wanted === 'open' || wanted === 'closed') {
        issue.state = wanted;
        issue.closedAt = wanted === 'closed' ? state.now() : null;
        issue.stateReason = wanted === 'closed' ? (optionalString(body, 'state_reason') ?? 'completed') : 'reopened';
      }
      issue.updatedAt = state.now();
      return { status: 200, body: issueJson(ctx, repo, issue) };
    }),

    route('POST', '/repos/:owner/:repo/issues/:number/labels', (req) => {
      const repo = repoOf(ctx, req);
      const issue = issueOf(repo, req.params.number);
      const body = req.body;
      const wanted = Array.isArray(body) ? body : objectBody(req).labels;
      for (const name of ensureLabels(state, repo, wanted)) {
        if (!issue.labels.some((l) => l.toLowerCase() === name.toLowerCase())) issue.labels.push(name);
      }
      return { status: 200, body: issue.labels.map((name) => labelJson(repo.labels.get(name.toLowerCase())!)) };
    }),

    route('GET', '/repos/:owner/:repo/issues/:number/comments', (req) => {
      const repo = repoOf(ctx, req);
      const issue = issueOf(repo, req.params.number);
      return paginate(req, ctx.apiUrl, issue.comments.map(commentJson));
    }),

    route('POST', '/repos/:owner/:repo/issues/:number/comments', (req) => {
      const repo = repoOf(ctx, req);
      const issue = issueOf(repo, req.params.number);
      const now = state.now();
      const comment = { id: state.id(), body: requireString(objectBody(req), 'body'), user: APP_ACTOR, createdAt: now, updatedAt: now };
      issue.comments.push(comment);
      return { status: 201, body: commentJson(comment) };
    }),

    route('GET', '/repos/:owner/:repo/labels', (req) => {
      const repo = repoOf(ctx, req);
      return paginate(req, ctx.apiUrl, [...repo.labels.values()].map(labelJson));
    }),

    route('GET', '/repos/:owner/:repo/labels/:name', (req) => {
      const repo = repoOf(ctx, req);
      const label = repo.labels.get((req.params.name ?? '').toLowerCase());
      if (!label) throw new HttpError(404, 'Not Found');
      return { status: 200, body: labelJson(label) };
    }),

    route('POST', '/repos/:owner/:repo/labels', (req) => {
      const repo = repoOf(ctx, req);
      const body = objectBody(req);
      const name = requireString(body, 'name');
      if (repo.labels.has(name.toLowerCase())) throw new HttpError(422, 'Validation Failed: label already_exists');
      const label = {
        id: state.id(),
        name,
        color: optionalString(body, 'color') ?? 'ededed',
        description: optionalString(body, 'description') ?? null,
      };
      repo.labels.set(name.toLowerCase(), label);
      return { status: 201, body: labelJson(label) };
    }),
  ];
}

function stringList(value: unknown): string[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) {
    throw new HttpError(422, 'Invalid request.\n\nExpected a list of strings.');
  }
  return value as string[];
}

/** Label names, creating missing labels the way GitHub does when an issue names them. */
function ensureLabels(state: StandInState, repo: RepoRecord, value: unknown): string[] {
  const names = Array.isArray(value)
    ? value.map((v) => (typeof v === 'object' && v !== null ? (v as { name?: unknown }).name : v))
    : stringList(value);
  return names.map((name) => {
    if (typeof name !== 'string' || name.length === 0) throw new HttpError(422, 'Invalid request.\n\nBad label.');
    const existing = repo.labels.get(name.toLowerCase());
    if (existing) return existing.name;
    repo.labels.set(name.toLowerCase(), { id: state.id(), name, color: 'ededed', description: null });
    return name;
  });
}

function commentJson(comment: IssueRecord['comments'][number]) {
  return {
    id: comment.id,
    body: comment.body,
    user: comment.user,
    created_at: comment.createdAt,
    updated_at: comment.updatedAt,
  };
}
