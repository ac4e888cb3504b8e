/**
 * The production wiring of the job runner to a Probot app: each job authenticates as the
 * repository's installation and talks to GitHub through `octokitScm`; git runs in a worker
 * thread.
 */
import type { Probot } from 'probot';
import { githubConfigReader } from './config-reader.ts';
import { gitOffThread } from './git-off-thread.ts';
import { octokitScm } from './octokit-scm.ts';
import type { JobRunner } from './repo-ref.ts';
import { createRekeyRunner, type RekeyRunnerOptions } from './runner.ts';

export type ProbotRunnerOptions = Omit<RekeyRunnerOptions, 'connect' | 'log'> & {
  /** Clone from here instead of the URL the API reports (tests, proxies). */
  readonly cloneUrl?: (owner: string, name: string) => string;
  /** Waits between attempts of a create on GitHub (default 1, 4, 9 s; tests shrink them). */
  readonly createRetryDelaysMs?: readonly number[];
};

export function probotRunner(app: Probot, options: ProbotRunnerOptions): JobRunner {
  // git runs in a worker thread: the event loop answering webhooks never waits for a spawn.
  const { clone, git } = gitOffThread();
  return createRekeyRunner({
    ...options,
    git,
    log: app.log.child({ name: 'rekey' }),
    connect: async (repo) => {
      const octokit = await app.auth(repo.installationId);
      return {
        scm: octokitScm({
          octokit,
          owner: repo.owner,
          name: repo.name,
          clone,
          ...(options.cloneUrl ? { cloneUrl: options.cloneUrl } : {}),
          ...(options.createRetryDelaysMs ? { createRetryDelaysMs: options.createRetryDelaysMs } : {}),
        }),
        configReader: githubConfigReader(octokit),
      };
    },
  });
}
