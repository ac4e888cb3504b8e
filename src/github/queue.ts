/**
 * The in-process work queue between webhooks (answered at once) and rekey jobs (slow). One job
 * at a time per repository, so two runs never race on the same branch or PR; requests for a
 * repository that already has a job waiting coalesce into it; at most `concurrency` jobs run at
 * once overall. A failing job is logged and kept in `failures`, and never stops the queue.
 */
import { describeError } from '../errors.ts';
import { repoKey, type JobReason, type JobRunner, type RepoRef } from './repo-ref.ts';

/** The pino-style subset of a logger the queue uses (Probot's `app.log` fits). */
export interface QueueLog {
  info(meta: object, message: string): void;
  error(meta: object, message: string): void;
}

export interface JobFailure {
  readonly repo: RepoRef;
  readonly reason: JobReason;
  readonly error: unknown;
  readonly at: Date;
}

export interface QueueOptions {
  readonly run: JobRunner;
  /** Jobs running at once across all repositories; default 2. */
  readonly concurrency?: number;
  readonly log?: QueueLog;
  readonly onFailure?: (failure: JobFailure) => void;
}

export type EnqueueResult = 'queued' | 'coalesced';

interface Waiting {
  readonly repo: RepoRef;
  readonly reasons: JobReason[];
}

const KEEP_FAILURES = 100;
const silent: QueueLog = { info: () => {}, error: () => {} };

export class RepoQueue {
  private readonly run: JobRunner;
  private readonly concurrency: number;
  private readonly log: QueueLog;
  private readonly onFailure: ((failure: JobFailure) => void) | undefined;
  /** At most one waiting job per repository, in arrival order (Map keeps insertion order). */
  private readonly waiting = new Map<string, Waiting>();
  private readonly running = new Set<string>();
  private idleWaiters: (() => void)[] = [];
  /** The most recent failures, oldest first. */
  readonly failures: JobFailure[] = [];

  constructor(options: QueueOptions) {
    this.run = options.run;
    this.concurrency = Math.max(1, options.concurrency ?? 2);
    this.log = options.log ?? silent;
    this.onFailure = options.onFailure;
  }

  /**
   * Asks for a run of `repo`. A request for a repository that already has a job waiting joins
   * it ('coalesced'); a request for a repository whose job is running waits for that job to end,
   * since the running job may have read the repository before the change that caused this one.
   */
  enqueue(repo: RepoRef, reason: JobReason): EnqueueResult {
    const key = repoKey(repo);
    const waiting = this.waiting.get(key);
    if (waiting) {
      if (!waiting.reasons.includes(reason)) waiting.reasons.push(reason);
      return 'coalesced';
    }
    this.waiting.set(key, { repo, reasons: [reason] });
    this.pump();
    return 'queued';
  }

  /** Jobs waiting to start. */
  get pending(): number {
    return this.waiting.size;
  }

  /** Jobs running now. */
  get active(): number {
    return this.running.size;
  }

  /** Resolves once nothing is waiting or running. */
  onIdle(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private isIdle(): boolean {
    return this.waiting.size === 0 && this.running.size === 0;
  }

  private pump(): void {
    for (const [key, job] of this.waiting) {
      if (this.running.size >= this.concurrency) return;
      if (this.running.has(key)) continue;
      this.waiting.delete(key);
      this.running.add(key);
      void this.execute(key, job);
    }
  }

  private async execute(key: string, job: Waiting): Promise<void> {
    const reason = job.reasons[0] ?? 'schedule';
    const meta = { repository: `${job.repo.owner}/${job.repo.name}`, installationId: job.repo.installationId, reasons: job.reasons };
    this.log.info(meta, 'rekey job started');
    try {
      // Through a microtask so a runner that throws synchronously is caught like a rejection.
      await Promise.resolve().then(() => this.run(job.repo, reason));
      this.log.info(meta, 'rekey job finished');
    } catch (error) {
      this.log.error({ ...meta, err: describeError(error) }, 'rekey job failed');
      const failure: JobFailure = { repo: job.repo, reason, error, at: new Date() };
      this.failures.push(failure);
      if (this.failures.length > KEEP_FAILURES) this.failures.shift();
      try {
        this.onFailure?.(failure);
      } catch (hookError) {
        this.log.error({ ...meta, err: describeError(hookError) }, 'rekey failure hook failed');
      }
    } finally {
      this.running.delete(key);
      this.pump();
      if (this.isIdle()) {
        const waiters = this.idleWaiters;
        this.idleWaiters = [];
        for (const resolve of waiters) resolve();
      }
    }
  }
}
