import { describe, expect, it } from 'vitest';
import { RepoQueue, type QueueLog } from '../../src/github/queue.ts';
import type { JobReason, RepoRef } from '../../src/github/repo-ref.ts';

const repo = (name: string): RepoRef => ({ owner: 'acme', name, installationId: 1 });

/** A runner whose jobs finish only when the test says so, recording what ran concurrently. */
function controlledRunner() {
  const started: { repo: string; reason: JobReason }[] = [];
  const finishers = new Map<string, (() => void)[]>();
  let running = 0;
  let maxRunning = 0;
  const runningPerRepo = new Map<string, number>();
  let maxPerRepo = 0;
  const run = (r: RepoRef, reason: JobReason) =>
    new Promise<void>((resolve) => {
      started.push({ repo: r.name, reason });
      running += 1;
      maxRunning = Math.max(maxRunning, running);
      const perRepo = (runningPerRepo.get(r.name) ?? 0) + 1;
      runningPerRepo.set(r.name, perRepo);
      maxPerRepo = Math.max(maxPerRepo, perRepo);
      const list = finishers.get(r.name) ?? [];
      list.push(() => {
        running -= 1;
        runningPerRepo.set(r.name, (runningPerRepo.get(r.name) ?? 1) - 1);
        resolve();
      });
      finishers.set(r.name, list);
    });
  /** Finishes the oldest running job of `name` and lets the queue react. */
  const finish = async (name: string) => {
    await new Promise((resolve) => setImmediate(resolve));
    const next = finishers.get(name)?.shift();
    if (!next) throw new Error(`no running job for ${name}`);
    next();
    await new Promise((resolve) => setImmediate(resolve));
  };
  return { run, finish, started, stats: () => ({ maxRunning, maxPerRepo }) };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('RepoQueue', () => {
  it('runs one job at a time per repository and reruns once for requests made meanwhile', async () => {
    const runner = controlledRunner();
    const queue = new RepoQueue({ run: runner.run, concurrency: 4 });

    expect(queue.enqueue(repo('app'), 'push')).toBe('queued');
    await tick();
    expect(runner.started).toEqual([{ repo: 'app', reason: 'push' }]);

    // While the first job runs, three more requests arrive: they become one waiting job.
    expect(queue.enqueue(repo('app'), 'dashboard')).toBe('queued');
    expect(queue.enqueue(repo('app'), 'schedule')).toBe('coalesced');
    expect(queue.enqueue(repo('APP'), 'dashboard')).toBe('coalesced');
    await tick();
    expect(runner.started).toHaveLength(1);
    expect(queue.pending).toBe(1);

    await runner.finish('app');
    expect(runner.started).toEqual([
      { repo: 'app', reason: 'push' },
      { repo: 'app', reason: 'dashboard' },
    ]);
    await runner.finish('app');
    await queue.onIdle();
    expect(runner.started).toHaveLength(2);
    expect(runner.stats().maxPerRepo).toBe(1);
  });

  it('coalesces requests for a repository whose job has not started yet', async () => {
    const runner = controlledRunner();
    const queue = new RepoQueue({ run: runner.run, concurrency: 1 });
    queue.enqueue(repo('a'), 'push');
    expect(queue.enqueue(repo('b'), 'push')).toBe('queued');
    expect(queue.enqueue(repo('b'), 'schedule')).toBe('coalesced');
    await runner.finish('a');
    await runner.finish('b');
    await queue.onIdle();
    expect(runner.started.map((s) => s.repo)).toEqual(['a', 'b']);
  });

  it('never runs more jobs at once than the global limit, in arrival order', async () => {
    const runner = controlledRunner();
    const queue = new RepoQueue({ run: runner.run, concurrency: 2 });
    for (const name of ['a', 'b', 'c', 'd']) queue.enqueue(repo(name), 'schedule');
    await tick();
    expect(runner.started.map((s) => s.repo)).toEqual(['a', 'b']);
    expect(queue.active).toBe(2);
    await runner.finish('b');
    expect(runner.started.map((s) => s.repo)).toEqual(['a', 'b', 'c']);
    await runner.finish('a');
    await runner.finish('c');
    await runner.finish('d');
    await queue.onIdle();
    expect(runner.stats().maxRunning).toBe(2);
  });

  it('logs and keeps failures, and goes on with the next jobs', async () => {
    const logged: { meta: object; message: string }[] = [];
    const log: QueueLog = { info: () => {}, error: (meta, message) => logged.push({ meta, message }) };
    const seen: string[] = [];
    const queue = new RepoQueue({
      log,
      run: async (r) => {
        seen.push(r.name);
        if (r.name === 'bad') throw new Error('kms unavailable');
        if (r.name === 'sync-throw') throw new TypeError('bug');
      },
    });
    queue.enqueue(repo('bad'), 'push');
    queue.enqueue(repo('sync-throw'), 'push');
    queue.enqueue(repo('good'), 'push');
    await queue.onIdle();
    expect(seen.sort()).toEqual(['bad', 'good', 'sync-throw']);
    expect(queue.failures.map((f) => [f.repo.name, (f.error as Error).message])).toEqual([
      ['bad', 'kms unavailable'],
      ['sync-throw', 'bug'],
    ]);
    expect(logged).toHaveLength(2);
    expect(logged[0]).toMatchObject({ message: 'rekey job failed', meta: { repository: 'acme/bad', err: 'kms unavailable' } });
  });

  it('resolves onIdle at once when there is nothing to do', async () => {
    const queue = new RepoQueue({ run: async () => {} });
    await expect(queue.onIdle()).resolves.toBeUndefined();
  });
});
