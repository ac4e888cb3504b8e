/**
 * The sops-rekey Probot app: webhooks are answered at once by enqueueing a job for each
 * repository they concern; the work itself (scan, plan, apply, PR, dashboard) is the injected
 * job runner, run by the per-repository queue.
 */
import type { ApplicationFunction, Probot } from 'probot';
import { describeError } from './errors.ts';
import { RepoQueue } from './github/queue.ts';
import { enqueueInstallation, startReconciler } from './github/reconcile.ts';
import { answerWebhooksFirst } from './github/webhook-ingress.ts';
import type { JobReason, JobRunner } from './github/repo-ref.ts';
import type { RescanSchedule } from './github/schedule.ts';
import {
  changesOrgConfig,
  dashboardTriggers,
  installationTriggers,
  pullRequestTriggers,
  pushTriggers,
  repositoriesAddedTriggers,
  type Trigger,
} from './github/triggers.ts';

export type { JobReason, JobRunner, RepoRef } from './github/repo-ref.ts';

export type AppOptions = (
  | { readonly queue: RepoQueue }
  | { readonly runJob: JobRunner; readonly concurrency?: number }
  /** The runner needs the app itself (installation clients, logger): built once the app exists. */
  | { readonly createRunner: (app: Probot) => JobRunner; readonly concurrency?: number }
) & {
  /** Rescan every repository this often, and once at start; off when absent or 0. */
  readonly reconcileIntervalMs?: number;
  /**
   * Per-repository intervals (the runner records each job in it): the reconciler then enqueues
   * only the repositories that are due.
   */
  readonly schedule?: RescanSchedule;
};

/** Builds the Probot app function. */
export function createApp(options: AppOptions): ApplicationFunction {
  return (app: Probot) => {
    answerWebhooksFirst(app);
    const queue =
      'queue' in options
        ? options.queue
        : new RepoQueue({
            run: 'runJob' in options ? options.runJob : options.createRunner(app),
            concurrency: options.concurrency,
            log: app.log.child({ name: 'queue' }),
          });

    const enqueue = (triggers: readonly Trigger[], event: string): void => {
      for (const { repo, reason } of triggers) {
        const result = queue.enqueue(repo, reason);
        app.log.info({ repository: `${repo.owner}/${repo.name}`, reason, event, result }, 'rekey job requested');
      }
    };
    /** Answers now, lists later: listing repositories can take many API pages. */
    const enqueueWholeInstallation = (octokit: Parameters<typeof enqueueInstallation>[0], installationId: number, reason: JobReason): void => {
      enqueueInstallation(octokit, installationId, queue, reason).catch((error: unknown) =>
        app.log.error({ installationId, err: describeError(error) }, 'could not list installation repositories'),
      );
    };

    app.on(['installation.created', 'installation.new_permissions_accepted', 'installation.unsuspend'], async (context) => {
      enqueue(installationTriggers(context.payload), context.name);
    });
    app.on('installation_repositories.added', async (context) => {
      enqueue(repositoriesAddedTriggers(context.payload), context.name);
    });
    app.on('push', async (context) => {
      enqueue(pushTriggers(context.payload), context.name);
      const installationId = context.payload.installation?.id;
      if (installationId !== undefined && changesOrgConfig(context.payload)) {
        enqueueWholeInstallation(context.octokit, installationId, 'config-changed');
      }
    });
    app.on('issues.edited', async (context) => {
      enqueue(dashboardTriggers(context.payload), context.name);
    });
    app.on(['pull_request.closed', 'pull_request.reopened', 'pull_request.edited'], async (context) => {
      enqueue(pullRequestTriggers(context.payload), context.name);
    });

    if (options.reconcileIntervalMs) startReconciler(app, queue, options.reconcileIntervalMs, options.schedule);
  };
}
