/**
 * Rescans without webhooks: GitHub does not redeliver missed webhooks and key deadlines move with
 * time, so every installation's repositories are enqueued on a timer (and at start-up).
 */
import type { Probot, ProbotOctokit } from 'probot';
import { describeError } from '../errors.ts';
import type { RepoQueue } from './queue.ts';
import type { JobReason } from './repo-ref.ts';

type Octokit = InstanceType<typeof ProbotOctokit>;

/** Enqueues every repository `octokit` (an installation client) can access. Returns how many. */
export async function enqueueInstallation(
  octokit: Octokit,
  installationId: number,
  queue: RepoQueue,
  reason: JobReason,
): Promise<number> {
  const repositories = await octokit.paginate(octokit.rest.apps.listReposAccessibleToInstallation, { per_page: 100 });
  for (const repo of repositories) {
    if (repo.archived) continue;
    queue.enqueue({ owner: repo.owner.login, name: repo.name, installationId }, reason);
  }
  return repositories.length;
}

/** Enqueues every repository of every (not suspended) installation of the app. */
export async function enqueueAllInstallations(app: Probot, queue: RepoQueue, reason: JobReason): Promise<number> {
  const appOctokit = await app.auth();
  const installations = await appOctokit.paginate(appOctokit.rest.apps.listInstallations, { per_page: 100 });
  let count = 0;
  for (const installation of installations) {
    if (installation.suspended_at) continue;
    count += await enqueueInstallation(await app.auth(installation.id), installation.id, queue, reason);
  }
  return count;
}

export interface Reconciler {
  stop(): void;
}

/** Runs `enqueueAllInstallations` now and then every `intervalMs`; failures are logged. */
export function startReconciler(app: Probot, queue: RepoQueue, intervalMs: number): Reconciler {
  const tick = () => {
    enqueueAllInstallations(app, queue, 'schedule').then(
      (count) => app.log.info({ repositories: count }, 'scheduled rescan enqueued'),
      (error: unknown) => app.log.error({ err: describeError(error) }, 'scheduled rescan failed'),
    );
  };
  const timer = setInterval(tick, intervalMs);
  // The timer alone must not keep the process alive (tests, graceful shutdown).
  timer.unref();
  setImmediate(tick);
  return { stop: () => clearInterval(timer) };
}
