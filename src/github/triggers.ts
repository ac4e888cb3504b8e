/**
 * Which repositories a webhook asks to (re)process, and why. Pure functions of the payload, so
 * the Probot handlers stay one line each and the rules are testable without a server.
 */
import { CONFIG_PATH, ORG_CONFIG_REPO } from './config.ts';
import { BRANCH_PREFIX, DASHBOARD_MARKER } from './markers.ts';
import type { JobReason, RepoRef } from './repo-ref.ts';

export interface Trigger {
  readonly repo: RepoRef;
  readonly reason: JobReason;
}

interface InstallationPayload {
  readonly installation?: { readonly id: number } | undefined;
}
interface RepositoryPayload extends InstallationPayload {
  readonly repository: {
    readonly name: string;
    readonly owner: { readonly login: string } | null;
    readonly default_branch?: string;
  };
  readonly sender?: { readonly type?: string } | undefined;
}

/** Installation created (or permissions accepted): every repository listed in the payload. */
export function installationTriggers(payload: {
  readonly installation: { readonly id: number };
  readonly repositories?: readonly { readonly full_name: string }[] | undefined;
}): Trigger[] {
  return fromFullNames(payload.installation.id, payload.repositories ?? [], 'installation');
}

export function repositoriesAddedTriggers(payload: {
  readonly installation: { readonly id: number };
  readonly repositories_added: readonly { readonly full_name: string }[];
}): Trigger[] {
  return fromFullNames(payload.installation.id, payload.repositories_added, 'repositories-added');
}

/**
 * A push to the default branch: files or config may have changed. Pushes to other branches
 * (including the app's own) do not change what the default branch needs.
 */
export function pushTriggers(payload: RepositoryPayload & { readonly ref: string; readonly commits?: readonly PushCommit[] }): Trigger[] {
  const repo = repoOf(payload);
  if (!repo || payload.ref !== `refs/heads/${payload.repository.default_branch}`) return [];
  if (!mayTouchSopsFiles(payload.commits ?? [])) return [];
  return [{ repo, reason: 'push' }];
}

export interface PushCommit {
  readonly added?: readonly string[];
  readonly modified?: readonly string[];
  readonly removed?: readonly string[];
}

/** Extensions of the stores SOPS files usually have; a binary SOPS file is found by the scheduled rescan. */
const SOPS_LIKE = /\.(ya?ml|json|env|ini)$|(^|\/)\.env(\.|$)|\.sops\.|\.enc\.|secret/i;
/** GitHub lists at most 20 commits in a push payload (and sometimes none, e.g. a force-push). */
const PAYLOAD_COMMIT_LIMIT = 20;

/**
 * Whether a push to the default branch may have changed a SOPS file, a `.sops.yaml`, the app's
 * config, or a Flux Kustomization (all YAML or JSON). When the payload cannot tell (no commits
 * listed, or as many as GitHub truncates to), it may have.
 */
export function mayTouchSopsFiles(commits: readonly PushCommit[]): boolean {
  if (commits.length === 0 || commits.length >= PAYLOAD_COMMIT_LIMIT) return true;
  const paths = commits.flatMap((c) => [...(c.added ?? []), ...(c.modified ?? []), ...(c.removed ?? [])]);
  return paths.some((path) => path === CONFIG_PATH || path.endsWith('.sops.yaml') || SOPS_LIKE.test(path));
}

/**
 * Whether a push to the default branch of the org `.github` repository changed the config file,
 * which changes the config of every repository of the installation.
 */
export function changesOrgConfig(
  payload: RepositoryPayload & {
    readonly ref: string;
    readonly commits?: readonly { readonly added?: readonly string[]; readonly modified?: readonly string[]; readonly removed?: readonly string[] }[];
  },
): boolean {
  if (payload.repository.name !== ORG_CONFIG_REPO) return false;
  if (payload.ref !== `refs/heads/${payload.repository.default_branch}`) return false;
  return (payload.commits ?? []).some((c) => [...(c.added ?? []), ...(c.modified ?? []), ...(c.removed ?? [])].includes(CONFIG_PATH));
}

/** Someone (not a bot) edited the dashboard issue, e.g. ticked a "rescan" or "retry" box. */
export function dashboardTriggers(payload: RepositoryPayload & { readonly issue: { readonly body?: string | null } }): Trigger[] {
  const repo = repoOf(payload);
  if (!repo || payload.sender?.type === 'Bot') return [];
  if (!(payload.issue.body ?? '').includes(DASHBOARD_MARKER)) return [];
  return [{ repo, reason: 'dashboard' }];
}

/** A change to one of the app's pull requests (closed, merged, reopened, edited by a person). */
export function pullRequestTriggers(
  payload: RepositoryPayload & { readonly action: string; readonly pull_request: { readonly head: { readonly ref: string } } },
): Trigger[] {
  const repo = repoOf(payload);
  if (!repo || !payload.pull_request.head.ref.startsWith(BRANCH_PREFIX)) return [];
  if (payload.action === 'edited' && payload.sender?.type === 'Bot') return [];
  return [{ repo, reason: 'pull-request' }];
}

function repoOf(payload: RepositoryPayload): RepoRef | undefined {
  const installationId = payload.installation?.id;
  const owner = payload.repository.owner?.login;
  if (installationId === undefined || owner === undefined) return undefined;
  return { owner, name: payload.repository.name, installationId };
}

function fromFullNames(installationId: number, repos: readonly { readonly full_name: string }[], reason: JobReason): Trigger[] {
  return repos.flatMap((r) => {
    const [owner, name] = r.full_name.split('/');
    return owner && name ? [{ repo: { owner, name, installationId }, reason }] : [];
  });
}
