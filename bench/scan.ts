/**
 * Scanning a repository of 2,000 SOPS files (one Cloud KMS key, every store) against Cloud KMS
 * latency. Each file costs one Decrypt, so at the default concurrency a scan cannot beat
 * 2,000 × 20 ms / 16, plus the inventory reads (GetCryptoKey, ListCryptoKeyVersions). The figures:
 * how close the scan comes to that bound (the median of three cold scans), how many Decrypts a
 * warm rescan makes (none), and the peak RSS of `sops-rekey scan --json` on the same tree, run as
 * an installed sops-rekey runs (see peak-rss-of.ts).
 *
 * The emulator runs in a worker thread (as in kms-unwrap.ts): Cloud KMS is remote, so its CPU must
 * not be charged to the scan.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { KeyManagementServiceClient } from '@google-cloud/kms';
import { DEFAULT_KMS_CONCURRENCY, GcpKmsKeySource } from '../src/keys/gcp-kms.ts';
import { createKmsClient } from '../src/kms/client.ts';
import { mapConcurrent } from '../src/kms/concurrency.ts';
import { KeyInventoryReader } from '../src/kms/inventory.ts';
import { runRekeyJob } from '../src/rekey/job.ts';
import type { UnwrapCache } from '../src/rekey/scan-repo.ts';
import { encryptFile } from '../src/rekey/transform.ts';
import { startEmulatorWorker } from './emulator-worker.ts';
import { peakRssOf } from './peak-rss-of.ts';
import type { Benchmark, BenchFigure } from './result.ts';

const FILES = 2_000;
const LATENCY_MS = 20;
/** GetCryptoKey and ListCryptoKeyVersions of the one key, one after the other. */
const INVENTORY_CALLS = 2;
const TARGET_RATIO = 1.25;
const COLD_PASSES = 3;
const TARGET_RSS_MIB = 250;

/** Small documents of every store, the shapes Flux repositories hold. */
const DOCUMENTS = [
  { ext: 'yaml', text: (i: number) => `apiVersion: v1\nkind: Secret\nmetadata:\n    name: app-${i}\nstringData:\n    password: pw-${i}-${'x'.repeat(24)}\n    user: app${i}\n` },
  { ext: 'json', text: (i: number) => `{\n\t"token": "tok-${i}-${'y'.repeat(24)}",\n\t"port": ${8000 + (i % 1000)}\n}\n` },
  { ext: 'env', text: (i: number) => `API_KEY=key-${i}-${'z'.repeat(24)}\nREGION=eu-west${i % 4}\n` },
  { ext: 'ini', text: (i: number) => `[db]\npassword = db-${i}\nhost = db${i}.internal\n` },
  { ext: 'txt', text: (i: number) => `raw secret ${i}\n` },
] as const;

/** Writes `FILES` SOPS files for `key` under `dir` (20 per directory); returns the key name. */
async function generateRepository(client: KeyManagementServiceClient, dir: string): Promise<string> {
  const [ring] = await client.createKeyRing({ parent: 'projects/bench/locations/global', keyRingId: 'scan', keyRing: {} });
  const [key] = await client.createCryptoKey({ parent: ring.name ?? '', cryptoKeyId: 'sops', cryptoKey: { purpose: 'ENCRYPT_DECRYPT' } });
  const resourceId = key.name ?? '';
  const sources = { gcp_kms: new GcpKmsKeySource({ client }) };
  await mapConcurrent(Array.from({ length: FILES }, (_, i) => i), DEFAULT_KMS_CONCURRENCY, async (i) => {
    const doc = DOCUMENTS[i % DOCUMENTS.length]!;
    const relative = `apps/team-${Math.floor(i / 20)}/secret-${i}.${doc.ext}`;
    const { bytes } = await encryptFile(Buffer.from(doc.text(i)), relative, sources, { keyGroups: [[{ type: 'gcp_kms', fields: { resource_id: resourceId } }]] });
    await mkdir(path.join(dir, path.dirname(relative)), { recursive: true });
    await writeFile(path.join(dir, relative), bytes);
  });
  return resourceId;
}

/** One scan of `dir` as `sops-rekey scan` runs it, with a cache the caller may keep. */
async function scan(client: KeyManagementServiceClient, dir: string, cache: UnwrapCache) {
  const result = await runRekeyJob({
    root: dir,
    mode: 'scan',
    sources: { gcp_kms: new GcpKmsKeySource({ client }) },
    inventory: new KeyInventoryReader(client),
    kms: client,
    cache,
  });
  return result.scan;
}

export const run: Benchmark = async () => {
  const emulator = await startEmulatorWorker();
  const client = createKmsClient({ kind: 'emulator', host: emulator.host });
  const dir = await mkdtemp(path.join(tmpdir(), 'sops-rekey-bench-scan-'));
  try {
    await generateRepository(client, dir);
    await emulator.setFaults({ latencyMs: LATENCY_MS });

    // Cold scans (each with an empty cache), the median reported: one stall of a shared machine
    // moves a single three-second scan by several percent.
    const colds: { elapsed: number; cache: UnwrapCache; result: Awaited<ReturnType<typeof scan>> }[] = [];
    for (let pass = 0; pass < COLD_PASSES; pass++) {
      const cache: UnwrapCache = new Map();
      const start = performance.now();
      const result = await scan(client, dir, cache);
      colds.push({ elapsed: performance.now() - start, cache, result });
    }
    colds.sort((a, b) => a.elapsed - b.elapsed);
    const { elapsed, cache, result: cold } = colds[Math.floor(COLD_PASSES / 2)]!;
    if (cold.files.length !== FILES) throw new Error(`the scan found ${cold.files.length} files, not ${FILES}`);

    const warmStart = performance.now();
    const warm = await scan(client, dir, cache);
    const warmMs = performance.now() - warmStart;

    // The transport's own floor: the same number of Decrypts, at the same concurrency, through the
    // same client and key source, with nothing else around them.
    const transportMs = await rawDecrypts(client, dir);

    const { mib: rssMiB, exitCode } = await peakRssOf(['scan', dir, '--json'], { KMS_EMULATOR_HOST: emulator.host });
    if (exitCode !== 0) throw new Error(`sops-rekey scan exited ${exitCode}`);

    const bound = (FILES * LATENCY_MS) / DEFAULT_KMS_CONCURRENCY + INVENTORY_CALLS * LATENCY_MS;
    const ratio = elapsed / bound;
    const figures: BenchFigure[] = [
      { name: `scan: ${FILES} files, ${LATENCY_MS} ms latency, concurrency ${DEFAULT_KMS_CONCURRENCY} (median of ${COLD_PASSES})`, value: Math.round(elapsed), unit: 'ms' },
      { name: 'scan: fastest / slowest cold scan', value: Math.round(colds[0]!.elapsed), unit: `/ ${Math.round(colds.at(-1)!.elapsed)} ms` },
      { name: 'scan: elapsed / (files x latency / concurrency + inventory)', value: round(ratio), unit: 'x', target: `<= ${TARGET_RATIO}x`, ok: ratio <= TARGET_RATIO },
      { name: `scan: ${FILES} bare Decrypts at concurrency ${DEFAULT_KMS_CONCURRENCY} (transport floor)`, value: Math.round(transportMs), unit: 'ms' },
      { name: 'scan: transport floor / (files x latency / concurrency)', value: round(transportMs / (bound - INVENTORY_CALLS * LATENCY_MS)), unit: 'x' },
      { name: 'scan: elapsed / transport floor', value: round(elapsed / transportMs), unit: 'x' },
      { name: 'scan: Decrypt calls, cold', value: cold.decryptCalls, unit: '' },
      { name: 'scan: Decrypt calls, warm rescan with the same cache', value: warm.decryptCalls, unit: '', target: '0', ok: warm.decryptCalls === 0 },
      { name: 'scan: warm rescan elapsed', value: Math.round(warmMs), unit: 'ms' },
      { name: `scan: peak RSS of sops-rekey scan --json on the ${FILES} files`, value: round(rssMiB), unit: 'MiB', target: `< ${TARGET_RSS_MIB} MiB`, ok: rssMiB < TARGET_RSS_MIB },
    ];
    return figures;
  } finally {
    await client.close();
    await emulator.close();
    await rm(dir, { recursive: true, force: true });
  }
};

const round = (n: number): number => Math.round(n * 100) / 100;

/** `FILES` unwraps of one file's entry through GcpKmsKeySource, `DEFAULT_KMS_CONCURRENCY` at a time. */
async function rawDecrypts(client: KeyManagementServiceClient, dir: string): Promise<number> {
  const sample = await readFile(path.join(dir, 'apps/team-0/secret-0.yaml'), 'utf8');
  const resourceId = /resource_id: (\S+)/.exec(sample)?.[1] ?? '';
  const enc = /enc: (\S+)/.exec(sample.slice(sample.indexOf('gcp_kms:')))?.[1] ?? '';
  const source = new GcpKmsKeySource({ client });
  const key = { type: 'gcp_kms' as const, fields: { resource_id: resourceId, enc } };
  const start = performance.now();
  await mapConcurrent(Array.from({ length: FILES }), DEFAULT_KMS_CONCURRENCY, async () => (await source.unwrap(key)).plaintext.fill(0));
  return performance.now() - start;
}

if (import.meta.main) {
  for (const figure of await run()) console.log(JSON.stringify(figure));
}
