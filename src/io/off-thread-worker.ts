/**
 * The worker side of `OffThread`: imports the named module, calls the export, replies. Calls run
 * concurrently (each is mostly waiting on a child process).
 */
import { parentPort } from 'node:worker_threads';
import type { OffThreadReply, OffThreadRequest } from './off-thread.ts';

const port = parentPort;
if (port === null) throw new Error('off-thread-worker.ts runs only as a worker thread');

port.on('message', (request: OffThreadRequest) => {
  void call(request).then((reply) => port.postMessage(reply));
});

async function call({ id, module, name, args }: OffThreadRequest): Promise<OffThreadReply> {
  try {
    const fn = ((await import(module)) as Record<string, unknown>)[name];
    if (typeof fn !== 'function') throw new TypeError(`${module} has no function ${name}`);
    return { id, ok: true, value: await (fn as (...a: readonly unknown[]) => unknown)(...args) };
  } catch (error) {
    return { id, ok: false, name: error instanceof Error ? error.name : 'Error', message: error instanceof Error ? error.message : String(error) };
  }
}
