/**
 * The Cloud KMS emulator in a worker thread, so the benchmarks charge its CPU to another thread
 * than the client's. This module is both the parent's handle and the worker's entry point.
 */
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { startEmulator, type FaultOptions } from '../src/emulator/index.ts';

const WORKER_FLAG = 'bench-kms-emulator';

type ToWorker = { readonly type: 'set-faults'; readonly faults: FaultOptions } | { readonly type: 'close' };
type FromWorker = { readonly type: 'ready'; readonly host: string } | { readonly type: 'done' };

export interface RemoteEmulator {
  /** The `KMS_EMULATOR_HOST` value. */
  readonly host: string;
  setFaults(faults: FaultOptions): Promise<void>;
  close(): Promise<void>;
}

/** Starts the emulator in a new worker thread and waits until it listens. */
export async function startEmulatorWorker(): Promise<RemoteEmulator> {
  const worker = new Worker(new URL(import.meta.url), { workerData: WORKER_FLAG });
  const next = (): Promise<FromWorker> =>
    new Promise((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
  const ready = await next();
  if (ready.type !== 'ready') throw new Error('emulator worker did not start');
  const send = async (message: ToWorker): Promise<void> => {
    const reply = next();
    worker.postMessage(message);
    await reply;
  };
  return {
    host: ready.host,
    setFaults: (faults) => send({ type: 'set-faults', faults }),
    close: async () => {
      await send({ type: 'close' });
      await worker.terminate();
    },
  };
}

/** The worker side: the emulator, driven by messages. */
async function serveInWorker(): Promise<void> {
  const port = parentPort;
  if (port === null) return;
  const emulator = await startEmulator();
  port.on('message', async (message: ToWorker) => {
    if (message.type === 'set-faults') emulator.setFaults(message.faults);
    if (message.type === 'close') await emulator.close();
    port.postMessage({ type: 'done' } satisfies FromWorker);
    if (message.type === 'close') port.close();
  });
  port.postMessage({ type: 'ready', host: emulator.host } satisfies FromWorker);
}

if (!isMainThread && workerData === WORKER_FLAG) await serveInWorker();
