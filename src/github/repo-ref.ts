/** A repository of an installation: what every job and trigger is about. */
export interface RepoRef {
  readonly owner: string;
  readonly name: string;
  readonly installationId: number;
}

/** Why a repository is (re)processed; shown in logs and passed to the job runner. */
export type JobReason =
  | 'installation'
  | 'repositories-added'
  | 'push'
  | 'config-changed'
  | 'dashboard'
  | 'pull-request'
  | 'schedule';

/** Processes one repository: scan, plan, apply, PR, dashboard (injected; written elsewhere). */
export type JobRunner = (repo: RepoRef, reason: JobReason) => Promise<void>;

export function repoKey(repo: Pick<RepoRef, 'owner' | 'name'>): string {
  return `${repo.owner}/${repo.name}`.toLowerCase();
}
