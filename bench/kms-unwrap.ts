/**
 * Unwrap throughput against Cloud KMS latency: with every RPC taking 20 ms, unwrapping N data keys
 * at the default concurrency cannot beat N × 20 ms / concurrency. The figure is how close the key
 * source comes to that bound (client, gRPC channel, CRC32C checks and retry wrapper included).
 *
 * The emulator runs in a worker thread: Cloud KMS is remote, so its CPU must not be charged to
 * the client, as it would be if both shared one event loop.
 */
import { randomBytes } from 'node:crypto';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { startEmulator, type FaultOptions } from '../src/emulator/index.ts';
import { DEFAULT_KMS_CONCURRENCY, GcpKmsKeySource } from '../src/keys/gcp-kms.ts';
import { createKmsClient } from '../src/kms/client.ts';
import { mapConcurrent } from '../src/kms/concurrency.ts';
import type { MasterKey } from '../src/sops/master-key.ts';
import type { Benchmark, BenchFigure } from './result.ts';

const N = 400;
const LATENCY_MS = 20;
const TARGET = 1.25;
const WORKER_FLAG = 'kms-unwrap-emulator';

type ToWorker = { readonly type: 'set-faults'; readonly faults: FaultOptions } | { readonly type: 'close' };
type FromWorker = { readonly type: 'ready'; readonly host: string } | { readonly type: 'done' };

/** The emulator side: runs in the worker, driven by messages. */
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

interface RemoteEmulator {
  readonly host: string;
  setFaults(faults: FaultOptions): Promise<void>;
  close(): Promise<void>;
}

async function startEmulatorWorker(): Promise<RemoteEmulator> {
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

export const run: Benchmark = async () => {
  const emulator = await startEmulatorWorker();
  const client = createKmsClient({ kind: 'emulator', host: emulator.host });
  try {
    const [ring] = await client.createKeyRing({ parent: 'projects/bench/locations/global', keyRingId: 'bench', keyRing: {} });
    const [key] = await client.createCryptoKey({
      parent: ring.name ?? '',
      cryptoKeyId: 'sops',
      cryptoKey: { purpose: 'ENCRYPT_DECRYPT' },
    });
    const resourceId = key.name ?? '';
    const source = new GcpKmsKeySource({ client });
    const entry = (enc: string): MasterKey => ({ type: 'gcp_kms', fields: { resource_id: resourceId, enc } });

    // Set-up, without latency: wrap the data keys (this also warms the channel and the JIT).
    const entries = await mapConcurrent(Array.from({ length: N }), DEFAULT_KMS_CONCURRENCY, async () =>
      entry((await source.wrap(entry(''), randomBytes(32))).enc),
    );

    await emulator.setFaults({ latencyMs: LATENCY_MS });
    const elu = performance.eventLoopUtilization();
    const start = performance.now();
    await mapConcurrent(entries, DEFAULT_KMS_CONCURRENCY, (e) => source.unwrap(e));
    const elapsed = performance.now() - start;
    // Time the client's event loop was busy: the part of `elapsed` that is our own CPU, which
    // tells a slow client from a busy machine.
    const busy = performance.eventLoopUtilization(elu).active;

    const bound = (N * LATENCY_MS) / DEFAULT_KMS_CONCURRENCY;
    const ratio = elapsed / bound;
    const figures: BenchFigure[] = [
      {
        name: `kms unwrap: ${N} data keys, ${LATENCY_MS} ms latency, concurrency ${DEFAULT_KMS_CONCURRENCY}`,
        value: Math.round(elapsed),
        unit: 'ms',
      },
      {
        name: 'kms unwrap: elapsed / (N x latency / concurrency)',
        value: Math.round(ratio * 100) / 100,
        unit: 'x',
        target: `<= ${TARGET}x`,
        ok: ratio <= TARGET,
      },
      { name: 'kms unwrap: client event-loop busy time per unwrap', value: Math.round((busy / N) * 1000) / 1000, unit: 'ms' },
    ];
    return figures;
  } finally {
    await client.close();
    await emulator.close();
  }
};

if (!isMainThread && workerData === WORKER_FLAG) {
  await serveInWorker();
} else if (import.meta.main) {
  for (const figure of await run()) console.log(JSON.stringify(figure));
}
