/**
 * What every route group needs: the state, the public URLs, and GitHub-shaped JSON for the
 * records (only the fields an app reads; shapes follow the REST API).
 */
import type { Request } from './http.ts';
import { HttpError } from './http.ts';
import type { IssueRecord, LabelRecord, RepoRecord, StandInState } from './state.ts';

export interface RouteContext {
  readonly state: StandInState;
  /** Base URL of the REST API, e.g. `http://127.0.0.1:PORT`. */
  readonly apiUrl: string;
  /** Base URL of git over HTTP. */
  readonly gitUrl: string;
}

/** The repository named by `:owner/:repo` as visible to the calling installation. */
export function repoOf(ctx: RouteContext, req: Request): RepoRecord {
  if (req.caller.kind !== 'installation') throw new HttpError(403, 'Resource not accessible by integration');
  return ctx.state.repoFor(req.caller.installationId, req.params.owner ?? '', req.params.repo ?? '');
}

export function repoJson(ctx: RouteContext, repo: RepoRecord): Record<string, unknown> {
  const fullName = `${repo.owner.login}/${repo.name}`;
  return {
    id: repo.id,
    node_id: `R_${repo.id}`,
    name: repo.name,
    full_name: fullName,
    private: true,
    owner: { login: repo.owner.login, id: repo.owner.id, type: repo.owner.type },
    html_url: `${ctx.gitUrl}/${fullName}`,
    url: `${ctx.apiUrl}/repos/${fullName}`,
    clone_url: `${ctx.gitUrl}/${fullName}.git`,
    default_branch: repo.defaultBranch,
    archived: false,
    disabled: false,
    fork: false,
    visibility: 'private',
  };
}

export function labelJson(label: LabelRecord): Record<string, unknown> {
  return { id: label.id, name: label.name, color: label.color, description: label.description, default: false };
}

export function issueJson(ctx: RouteContext, repo: RepoRecord, issue: IssueRecord): Record<string, unknown> {
  const fullName = `${repo.owner.login}/${repo.name}`;
  const json: Record<string, unknown> = {
    id: issue.number + repo.id * 100_000,
    number: issue.number,
    title: issue.title,
    body: issue.body,
    state: issue.state,
    state_reason: issue.stateReason,
    labels: issue.labels.map((name) => {
      const label = repo.labels.get(name.toLowerCase());
      return label ? labelJson(label) : { name };
    }),
    assignees: issue.assignees.map((login) => ({ login })),
    user: issue.user,
    comments: issue.comments.length,
    created_at: issue.createdAt,
    updated_at: issue.updatedAt,
    closed_at: issue.closedAt,
    html_url: `${ctx.gitUrl}/${fullName}/${issue.pull ? 'pull' : 'issues'}/${issue.number}`,
    url: `${ctx.apiUrl}/repos/${fullName}/issues/${issue.number}`,
  };
  // The issues API lists pull requests too, marked by this key; apps must skip them.
  if (issue.pull) json.pull_request = { url: `${ctx.apiUrl}/repos/${fullName}/pulls/${issue.number}` };
  return json;
}

export async function pullJson(ctx: RouteContext, repo: RepoRecord, issue: IssueRecord): Promise<Record<string, unknown>> {
  const pull = issue.pull;
  if (!pull) throw new HttpError(404, 'Not Found');
  const fullName = `${repo.owner.login}/${repo.name}`;
  const branch = async (ref: string) => ({
    label: `${repo.owner.login}:${ref}`,
    ref,
    sha: (await repo.git.resolve(`refs/heads/${ref}`)) ?? null,
    repo: repoJson(ctx, repo),
    user: { login: repo.owner.login },
  });
  return {
    ...issueJson(ctx, repo, issue),
    url: `${ctx.apiUrl}/repos/${fullName}/pulls/${issue.number}`,
    head: await branch(pull.head),
    base: await branch(pull.base),
    draft: pull.draft,
    merged: pull.merged,
    merged_at: pull.mergedAt,
    merge_commit_sha: pull.mergeCommitSha,
    maintainer_can_modify: false,
  };
}
