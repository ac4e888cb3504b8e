/**
 * Calls exported async functions of our own modules in one worker thread, for work that must not
 * hold the app's event loop: starting a child process. `spawn` returns only once the child has
 * exec'd, and on a busy two-core machine the child first waits for a core: the GitHub App bench
 * (bench/github-app.ts) found `spawn` the largest main-thread cost of a job (git clone, remote,
 * rev-parse, ls-files), milliseconds at a time, while webhook deliveries waited to be answered.
 * In a worker thread only that thread waits.
 *
 * Arguments and results cross by structured clone (plain data only). An error crosses as its name
 * and message (the worker's stack, which may name paths, stays there): callers that scrub or
 * classify errors do it inside the called function.
 */
import { Worker } from 'node:worker_threads';

/** A function's module (a `file:` URL) and export name, as the worker imports it. */
export interface OffThreadFunction {
  readonly module: string;
  readonly name: string;
}

export interface OffThreadRequest extends OffThreadFunction {
  readonly id: number;
  readonly args: readonly unknown[];
}

export type OffThreadReply =
  | { readonly id: number; readonly ok: true; readonly value: unknown }
  | { readonly id: number; readonly ok: false; readonly name: string; readonly message: string };

/** The error a called function threw, rebuilt on this side of the thread boundary. */
export class OffThreadError extends Error {}

export class OffThread {
  #worker: Worker | undefined;
  #nextId = 1;
  readonly #pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();

  /** Runs `fn(...args)` in the worker; the first call starts it. */
  call<T>(fn: OffThreadFunction, ...args: readonly unknown[]): Promise<T> {
    const worker = this.#start();
    const id = this.#nextId++;
    // An idle worker must not keep the process alive (a CLI run, a test), a busy one must.
    if (this.#pending.size === 0) worker.ref();
    return new Promise<T>((resolve, reject) => {
      this.#pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      worker.postMessage({ id, module: fn.module, name: fn.name, args } satisfies OffThreadRequest);
    });
  }

  /** Stops the worker; calls still running are rejected. */
  async close(): Promise<void> {
    const worker = this.#worker;
    this.#worker = undefined;
    this.#failAll(new OffThreadError('the worker thread was closed'));
    await worker?.terminate();
  }

  #start(): Worker {
    if (this.#worker) return this.#worker;
    const worker = new Worker(moduleBeside('./off-thread-worker.ts', import.meta.url));
    worker.on('message', (reply: OffThreadReply) => this.#settle(reply));
    worker.on('error', (error) => this.#failAll(error));
    worker.on('exit', () => {
      if (this.#worker === worker) this.#worker = undefined;
      this.#failAll(new OffThreadError('the worker thread stopped'));
    });
    this.#worker = worker;
    return worker;
  }

  #settle(reply: OffThreadReply): void {
    const pending = this.#pending.get(reply.id);
    if (!pending) return;
    this.#pending.delete(reply.id);
    if (this.#pending.size === 0) this.#worker?.unref();
    if (reply.ok) pending.resolve(reply.value);
    else {
      const error = new OffThreadError(reply.message);
      error.name = reply.name;
      pending.reject(error);
    }
  }

  #failAll(error: Error): void {
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    this.#worker?.unref();
    for (const { reject } of pending) reject(error);
  }
}

/**
 * A module of this package by its path from `base` as the sources name it: the `.ts` file while
 * the sources run (the repo's scripts, the tests), the `.js` file in the compiled package (dist/
 * keeps src/'s layout), where a `.ts` URL written as a string would not be rewritten by tsc.
 */
export function moduleBeside(relative: string, base: string): URL {
  const url = new URL(relative, base);
  if (base.endsWith('.js')) url.pathname = url.pathname.replace(/\.ts$/u, '.js');
  return url;
}
