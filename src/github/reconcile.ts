/**
 * Rescans without webhooks: GitHub does not redeliver missed webhooks and key deadlines move with
 * time, so every installation's repositories are enqueued on a timer (and at start-up).
 */
import type { Probot, ProbotOctokit } from 'probot';
import { describeError } from '../errors.ts';
import type { RepoQueue } from './queue.ts';
import type { JobReason, RepoRef } from './repo-ref.ts';
import type { RescanSchedule } from './schedule.ts';

type Octokit = InstanceType<typeof ProbotOctokit>;

/** Enqueues every repository `octokit` (an installation client) can access. Returns how many. */
/** Which repositories to enqueue; all of them when absent. */
export type RepoFilter = (repo: RepoRef) => boolean;

/** Enqueues every repository `octokit` (an installation client) can access that passes `filter`. Returns how many. */
export async function enqueueInstallation(
  octokit: Octokit,
  installationId: number,
  queue: RepoQueue,
  reason: JobReason,
  filter?: RepoFilter,
): Promise<number> {
  const repositories = await octokit.paginate(octokit.rest.apps.listReposAccessibleToInstallation, { per_page: 100 });
  let count = 0;
  for (const repo of repositories) {
    if (repo.archived) continue;
    const ref = { owner: repo.owner.login, name: repo.name, installationId };
    if (filter && !filter(ref)) continue;
    queue.enqueue(ref, reason);
    count++;
  }
  return count;
}

/** Enqueues every repository (passing `filter`) of every (not suspended) installation of the app. */
export async function enqueueAllInstallations(app: Probot, queue: RepoQueue, reason: JobReason, filter?: RepoFilter): Promise<number> {
  const appOctokit = await app.auth();
  const installations = await appOctokit.paginate(appOctokit.rest.apps.listInstallations, { per_page: 100 });
  let count = 0;
  for (const installation of installations) {
    if (installation.suspended_at) continue;
    count += await enqueueInstallation(await app.auth(installation.id), installation.id, queue, reason, filter);
  }
  return count;
}

export interface Reconciler {
  stop(): void;
}

/**
 * Runs `enqueueAllInstallations` now and then every `intervalMs`; failures are logged. With a
 * `schedule`, it looks every `schedule.tickMs` instead and enqueues only the repositories due
 * by their own `schedule` (or the schedule's default).
 */
export function startReconciler(app: Probot, queue: RepoQueue, intervalMs: number, schedule?: RescanSchedule): Reconciler {
  const filter = schedule ? (repo: RepoRef) => schedule.due(repo) : undefined;
  const tick = () => {
    enqueueAllInstallations(app, queue, 'schedule', filter).then(
      (count) => app.log.info({ repositories: count }, 'scheduled rescan enqueued'),
      (error: unknown) => app.log.error({ err: describeError(error) }, 'scheduled rescan failed'),
    );
  };
  const timer = setInterval(tick, schedule ? schedule.tickMs : intervalMs);
  // The timer alone must not keep the process alive (tests, graceful shutdown).
  timer.unref();
  setImmediate(tick);
  return { stop: () => clearInterval(timer) };
}
