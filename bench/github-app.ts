/**
 * The GitHub App under load, as it runs in production: the real Probot server with the throttled
 * Octokit (one mutating call at a time, a second apart) and the per-repository queue at its
 * default concurrency.
 *
 * (a) Webhook answer latency: a burst of signed deliveries (all sent at once, each on its own
 *     connection) reaches the server while repository jobs (clone, scan, gate, plan) run in the
 *     same process. Scans decrypt and parse files on the app's event loop, so this is the figure
 *     that shows whether they starve webhook answers (GitHub gives up on a delivery after 10 s
 *     and does not redeliver). A burst to the idle app is the baseline.
 * (b) Reconcile time of every repository of an installation against the GitHub stand-in with
 *     30 ms latency per call, and the mutating-call rate and largest burst seen in the stand-in's
 *     request log.
 *
 * Why (b) is 190 repositories already up to date plus 10 to rekey, and not 200 rekeys: a rekey of
 * a repository costs about ten writes (a blob per file, tree, commit, ref, pull request, labels,
 * dashboard, check run), so 200 of them at one write a second take more than half an hour. The
 * 190 were reconciled once before the measured run (the "previous run", with pacing off), so the
 * measured run does to them what a scheduled rescan does to a quiet organization: read, clone,
 * scan, and write nothing. The 10 are new, on a Cloud KMS version made stale a day ago.
 *
 * Everything outside the app runs in worker threads, the GitHub stand-in, git-http and the Cloud
 * KMS emulator in one and the webhook sender in another: it is remote in production, so its CPU
 * must not be charged to the app's event loop. The gate probes every 500 ms instead of 5 s (the emulator has
 * no propagation lag to wait out), so (b) is not dominated by probe sleeps.
 */
import { once } from 'node:events';
import { Agent, request } from 'node:http';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { pino } from 'pino';
import { Probot, ProbotOctokit, Server } from 'probot';
import { startEmulator, type Clock } from '../src/emulator/index.ts';
import { probotRunner } from '../src/github/app-runner.ts';
import { RepoQueue } from '../src/github/queue.ts';
import { enqueueAllInstallations } from '../src/github/reconcile.ts';
import type { JobRunner } from '../src/github/repo-ref.ts';
import { throttledOctokit } from '../src/github/throttle.ts';
import { createApp } from '../src/index.ts';
import { GcpKmsKeySource } from '../src/keys/gcp-kms.ts';
import { createKmsClient, KmsClientCache, type KmsIdentity } from '../src/kms/client.ts';
import { encryptFile } from '../src/rekey/transform.ts';
import { formatForPath } from '../src/sops/sops-file.ts';
import { generateAppCredentials, type AppCredentials } from '../test/support/github/app-credentials.ts';
import { startGitHubStandIn, type RecordedRequest } from '../test/support/github/index.ts';
import { signature } from '../test/support/webhooks.ts';
import type { Benchmark, BenchFigure } from './result.ts';
import { freePort } from '../test/support/free-port.ts';

const REPOSITORIES = 200;
const STALE = 10;
const DELIVERIES = 200;
const GITHUB_LATENCY_MS = 30;
const PROBE_INTERVAL_MS = 500;
/** Jobs finished before the burst is sent, so it lands while scans are running. */
const JOBS_BEFORE_BURST = 4;
/** Bursts sent before the measured ones, the first of them reported as the cold figure. */
const WARM_UP_BURSTS = 3;
const TARGET_P99_MS = 100;
const INSTALLATION = 77;
const OWNER = 'bench';
const WORKER_FLAG = 'github-app-bench-world';
const SENDER_FLAG = 'github-app-bench-sender';
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

const PLAIN: Record<string, string> = {
  'apps/prod/secrets.yaml': 'apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\nstringData:\n  password: bench-password\n  user: app\n',
  'apps/prod/app.env': 'API_TOKEN=bench-token\nMODE=prod\n',
  'apps/prod/config.json': '{\n\t"token": "bench-json-token",\n\t"port": 8080\n}\n',
};
const CONFIG = 'window: 5m\nprobes: 2\n';

/** What the world tells the app once it is set up. */
interface WorldInfo {
  readonly githubUrl: string;
  readonly kmsHost: string;
  readonly credentials: AppCredentials;
  /** Every repository, in the order the installation lists them. */
  readonly repositories: readonly string[];
  readonly stale: readonly string[];
}

interface BurstResult {
  readonly latenciesMs: readonly number[];
  readonly statuses: readonly number[];
}

interface Outcome {
  readonly requests: readonly RecordedRequest[];
  /** Open pull requests per repository name. */
  readonly openPulls: Readonly<Record<string, number>>;
}

type Call =
  | { readonly type: 'requests'; readonly from: number }
  | { readonly type: 'request-count' }
  | { readonly type: 'outcome'; readonly from: number }
  | { readonly type: 'close' };

// ---------------------------------------------------------------------------------------------
// The world (worker thread): GitHub stand-in, git-http, Cloud KMS emulator, webhook sender.

async function serveWorld(): Promise<void> {
  const port = parentPort;
  if (port === null) return;
  // The emulator's clock runs with the wall clock, shifted into the past while the files are
  // written and the key rotated, so the rotation is a day old when the app looks (gate open).
  let offset = -2 * DAY;
  const clock: Clock = { now: () => Date.now() + offset };
  const emulator = await startEmulator({ clock, seed: 11 });
  const kms = createKmsClient({ kind: 'emulator', host: emulator.host });
  const credentials = generateAppCredentials();
  const gh = await startGitHubStandIn({ app: { id: credentials.appId, publicKey: credentials.publicKey }, latencyMs: GITHUB_LATENCY_MS });

  const [ring] = await kms.createKeyRing({ parent: 'projects/bench/locations/global', keyRingId: 'apps', keyRing: {} });
  const newKey = async (id: string) => (await kms.createCryptoKey({ parent: ring.name ?? '', cryptoKeyId: id, cryptoKey: { purpose: 'ENCRYPT_DECRYPT' } }))[0].name ?? '';
  const calmKey = await newKey('calm');
  const staleKey = await newKey('stale');
  const sources = { gcp_kms: new GcpKmsKeySource({ client: kms }) };
  const encryptAll = async (key: string) => {
    const out: Record<string, Buffer> = {};
    for (const [path, text] of Object.entries(PLAIN)) {
      const { bytes } = await encryptFile(Buffer.from(text), path, sources, {
        format: formatForPath(path),
        keyGroups: [[{ type: 'gcp_kms', fields: { resource_id: key } }]],
        now: new Date(clock.now()),
      });
      out[path] = Buffer.from(bytes);
    }
    return out;
  };
  const calmFiles = await encryptAll(calmKey);
  const staleFiles = await encryptAll(staleKey);
  offset = -DAY;
  await kms.createCryptoKeyVersion({ parent: staleKey, cryptoKeyVersion: {} });
  await kms.updateCryptoKeyPrimaryVersion({ name: staleKey, cryptoKeyVersionId: '2' });
  offset = 0;

  // The stale repositories are spread over the list, as they would be in an organization.
  const every = Math.floor(REPOSITORIES / STALE);
  const repositories = Array.from({ length: REPOSITORIES }, (_, i) => `${i % every === every - 1 ? 'stale' : 'app'}-${String(i).padStart(3, '0')}`);
  const stale = repositories.filter((name) => name.startsWith('stale-'));
  gh.addInstallation({ id: INSTALLATION, account: OWNER, repositories: repositories.map((name) => `${OWNER}/${name}`) });
  for (const name of repositories) {
    await gh.createRepo(`${OWNER}/${name}`, {
      files: { 'README.md': `# ${name}\n`, '.github/sops-rekey.yml': CONFIG, ...(name.startsWith('stale-') ? staleFiles : calmFiles) },
    });
  }

  const handlers: { [K in Call['type']]: (call: Extract<Call, { type: K }>) => Promise<unknown> } = {
    'request-count': async () => gh.requests.length,
    requests: async ({ from }) => gh.requests.slice(from),
    outcome: async ({ from }) => {
      const openPulls: Record<string, number> = {};
      for (const name of repositories) {
        const record = gh.state.findRepo(OWNER, name);
        openPulls[name] = [...(record?.issues.values() ?? [])].filter((i) => i.pull && i.state === 'open').length;
      }
      return { requests: gh.requests.slice(from), openPulls } satisfies Outcome;
    },
    close: async () => {
      await kms.close();
      await gh.close();
      await emulator.close();
    },
  };
  port.on('message', (message: { id: number; call: Call }) => {
    const handler = handlers[message.call.type] as (call: Call) => Promise<unknown>;
    handler(message.call).then(
      (result) => port.postMessage({ id: message.id, result }),
      (error: unknown) => port.postMessage({ id: message.id, error: error instanceof Error ? error.stack : String(error) }),
    );
  });
  port.postMessage({
    id: 0,
    result: { githubUrl: gh.url, kmsHost: emulator.host, credentials, repositories, stale } satisfies WorldInfo,
  });
}

function pushPayload(name: string, i: number, paths: readonly string[]) {
  return {
    ref: 'refs/heads/main',
    before: '0'.repeat(40),
    after: i.toString(16).padStart(40, '0'),
    repository: { id: 1, name, full_name: `${OWNER}/${name}`, owner: { login: OWNER, id: 2, type: 'Organization' }, default_branch: 'main', private: true },
    installation: { id: INSTALLATION },
    sender: { login: 'alice', id: 3, type: 'User' },
    commits: [{ id: i.toString(16).padStart(40, '0'), added: [], modified: paths, removed: [] }],
  };
}

interface World {
  readonly info: WorldInfo;
  call<T>(call: Call): Promise<T>;
  close(): Promise<void>;
}

async function startWorld(): Promise<World> {
  const worker = new Worker(new URL(import.meta.url), { workerData: WORKER_FLAG });
  const waiting = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  let nextId = 1;
  const ready = new Promise<unknown>((resolve, reject) => waiting.set(0, { resolve, reject }));
  worker.on('message', (message: { id: number; result?: unknown; error?: string }) => {
    const pending = waiting.get(message.id);
    waiting.delete(message.id);
    if (message.error !== undefined) pending?.reject(new Error(`bench world: ${message.error}`));
    else pending?.resolve(message.result);
  });
  worker.on('error', (error) => {
    for (const pending of waiting.values()) pending.reject(error);
  });
  const info = (await ready) as WorldInfo;
  const call = <T>(message: Call): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const id = nextId++;
      waiting.set(id, { resolve: resolve as (value: unknown) => void, reject });
      worker.postMessage({ id, call: message });
    });
  return {
    info,
    call,
    close: async () => {
      await call({ type: 'close' });
      await worker.terminate();
    },
  };
}

// ---------------------------------------------------------------------------------------------
// The webhook sender (its own worker thread): GitHub delivers from many machines, so the
// sender's own work must neither share the app's event loop nor the world's.

interface BurstRequest {
  readonly url: string;
  readonly secret: string;
  readonly payloads: readonly object[];
}

async function serveSender(): Promise<void> {
  const port = parentPort;
  if (port === null) return;
  port.on('message', async (message: BurstRequest | 'close') => {
    if (message === 'close') return port.close();
    port.postMessage(await sendBurst(message));
  });
}

/**
 * Sends every delivery at once, each on its own connection, bodies serialized and signed up front;
 * each latency runs from the moment that request is written to the end of its answer.
 */
async function sendBurst({ url, secret, payloads }: BurstRequest): Promise<BurstResult> {
  const agent = new Agent({ keepAlive: false, maxSockets: Infinity });
  const bodies = payloads.map((payload) => {
    const body = JSON.stringify(payload);
    return { body, signature: signature(secret, body) };
  });
  const target = new URL(url);
  const results = await Promise.all(
    bodies.map(
      ({ body, signature: signed }, i) =>
        new Promise<{ status: number; ms: number }>((resolve, reject) => {
          const req = request(
            {
              agent,
              host: target.hostname,
              port: target.port,
              path: target.pathname,
              method: 'POST',
              headers: {
                'content-type': 'application/json',
                'content-length': Buffer.byteLength(body),
                'user-agent': 'GitHub-Hookshot/bench',
                'x-github-event': 'push',
                'x-github-delivery': `bench-${Date.now()}-${i}`,
                'x-hub-signature-256': signed,
              },
            },
            (res) => {
              res.resume();
              res.on('end', () => resolve({ status: res.statusCode ?? 0, ms: performance.now() - started }));
            },
          );
          req.on('error', reject);
          const started = performance.now();
          req.end(body);
        }),
    ),
  );
  agent.destroy();
  return { latenciesMs: results.map((r) => r.ms), statuses: results.map((r) => r.status) };
}

interface Sender {
  burst(url: string, secret: string, payloads: readonly object[]): Promise<BurstResult>;
  close(): Promise<void>;
}

async function startSender(): Promise<Sender> {
  const worker = new Worker(new URL(import.meta.url), { workerData: SENDER_FLAG });
  return {
    burst: async (url, secret, payloads) => {
      const answer = once(worker, 'message');
      worker.postMessage({ url, secret, payloads } satisfies BurstRequest);
      return (await answer)[0] as BurstResult;
    },
    close: async () => void (await worker.terminate()),
  };
}

// ---------------------------------------------------------------------------------------------
// The app (main thread).

export const run: Benchmark = async () => {
  const world = await startWorld();
  const sender = await startSender();
  const { githubUrl, kmsHost, credentials, repositories, stale } = world.info;
  const kmsIdentity: KmsIdentity = { kind: 'emulator', host: kmsHost };
  const kmsClients = new KmsClientCache();
  const gate = { probeIntervalMs: PROBE_INTERVAL_MS };
  // Production logs at info; they go to /dev/null here, but their cost stays on the event loop.
  const log = pino({ level: 'info' }, pino.destination({ dest: '/dev/null', sync: true }));
  const identity = { appId: credentials.appId, privateKey: credentials.privateKey, secret: credentials.webhookSecret, baseUrl: githubUrl, log };
  let server: Server | undefined;
  try {
    // The previous run: every up-to-date repository reconciled once, with pacing off.
    const previous = new Probot({ ...identity, Octokit: ProbotOctokit.defaults((o: Record<string, unknown>) => ({ ...o, throttle: { ...(o.throttle as object), enabled: false } })) });
    const seedQueue = new RepoQueue({ run: probotRunner(previous, { kmsIdentity, kmsClients, gate }), concurrency: 8 });
    for (const name of repositories) if (!stale.includes(name)) seedQueue.enqueue({ owner: OWNER, name, installationId: INSTALLATION }, 'installation');
    await seedQueue.onIdle();
    if (seedQueue.failures.length > 0) throw new Error(`the previous run failed: ${String(seedQueue.failures[0]?.error)}`);

    // The measured app: the real server, the production Octokit, the default queue.
    let finished = 0;
    let app: Probot | undefined;
    let runner: JobRunner | undefined;
    const queue = new RepoQueue({
      run: async (repo, reason) => {
        await runner?.(repo, reason);
        finished++;
      },
      log: log.child({ name: 'queue' }),
    });
    server = new Server({ Probot: Probot.defaults({ ...identity, Octokit: throttledOctokit() }), host: '127.0.0.1', port: await freePort(), log });
    await server.load((probot, options) => {
      app = probot;
      runner = probotRunner(probot, { kmsIdentity, kmsClients, gate });
      return createApp({ queue })(probot, options);
    });
    await server.start();
    if (!app) throw new Error('the app did not load');
    const webhookUrl = `http://127.0.0.1:${server.port}/api/github/webhooks`;

    const deliveries = (names: readonly string[], paths: readonly string[]) =>
      Array.from({ length: DELIVERIES }, (_, i) => pushPayload(names[i % names.length] ?? '', i, paths));
    // Baseline: the same burst to the idle app, as pushes the trigger filter drops (no job),
    // after WARM_UP_BURSTS such bursts: a production server is warm, and V8 optimizes the request
    // path only after some hundreds of requests (the first burst after a start is reported too).
    const calm = repositories.filter((name) => !stale.includes(name));
    const cold = await sender.burst(webhookUrl, credentials.webhookSecret, deliveries(calm, ['README.md']));
    for (let i = 1; i < WARM_UP_BURSTS; i++) await sender.burst(webhookUrl, credentials.webhookSecret, deliveries(calm, ['README.md']));
    const idle = await sender.burst(webhookUrl, credentials.webhookSecret, deliveries(calm, ['README.md']));
    if (finished > 0 || queue.pending > 0) throw new Error('the baseline burst started jobs');

    const mark = await world.call<number>({ type: 'request-count' });
    const started = performance.now();
    const listed = await enqueueAllInstallations(app, queue, 'schedule');
    if (listed !== REPOSITORIES) throw new Error(`the installation listed ${listed} repositories, not ${REPOSITORIES}`);
    while (finished < JOBS_BEFORE_BURST) await new Promise((resolve) => setTimeout(resolve, 20));
    // The deliveries name repositories still waiting in the queue, so they coalesce into their
    // jobs and the reconcile measured in (b) does the same work with or without the burst.
    const activeAtBurst = queue.active;
    const burst = await sender.burst(webhookUrl, credentials.webhookSecret, deliveries(calm.slice(-100), ['apps/prod/secrets.yaml']));
    const activeAfterBurst = queue.active;
    await queue.onIdle();
    const reconcileMs = performance.now() - started;
    if (queue.failures.length > 0) throw new Error(`a job failed: ${String(queue.failures[0]?.error)}`);

    const { requests, openPulls } = await world.call<Outcome>({ type: 'outcome', from: mark });
    const missing = stale.filter((name) => openPulls[name] !== 1);
    if (missing.length > 0) throw new Error(`no pull request for ${missing.join(', ')}`);
    const extra = repositories.filter((name) => !stale.includes(name) && (openPulls[name] ?? 0) > 0);
    if (extra.length > 0) throw new Error(`unexpected pull requests for ${extra.join(', ')}`);
    if ([...burst.statuses, ...idle.statuses, ...cold.statuses].some((s) => s !== 200)) throw new Error(`webhook answers: ${[...new Set(burst.statuses)].join(', ')}`);
    if (activeAtBurst === 0) throw new Error('no job was running when the burst was sent');

    const writes = requests.filter((r) => r.method !== 'GET' && !r.path.endsWith('/access_tokens')).map((r) => r.receivedAtMs).sort((a, b) => a - b);
    const spanS = ((writes.at(-1) ?? 0) - (writes[0] ?? 0)) / 1000;
    const rate = writes.length > 1 ? (writes.length - 1) / spanS : 0;
    const burstMax = maxInWindow(writes, 1000);
    const minGap = Math.min(...writes.slice(1).map((t, i) => t - (writes[i] ?? t)));
    const reads = requests.filter((r) => r.method === 'GET').length;
    const p50 = percentile(burst.latenciesMs, 0.5);
    const p99 = percentile(burst.latenciesMs, 0.99);

    const figures: BenchFigure[] = [
      { name: `webhooks: ${DELIVERIES} signed deliveries at once, ${activeAtBurst}-${activeAfterBurst} jobs running: p50`, value: round(p50), unit: 'ms' },
      { name: `webhooks: same burst: p99`, value: round(p99), unit: 'ms', target: `<= ${TARGET_P99_MS} ms`, ok: p99 <= TARGET_P99_MS },
      { name: `webhooks: same burst: max`, value: round(Math.max(...burst.latenciesMs)), unit: 'ms' },
      { name: 'webhooks: baseline, the burst to the idle app: p50', value: round(percentile(idle.latenciesMs, 0.5)), unit: 'ms' },
      { name: 'webhooks: baseline: p99', value: round(percentile(idle.latenciesMs, 0.99)), unit: 'ms' },
      { name: 'webhooks: first burst after the start (cold): p99', value: round(percentile(cold.latenciesMs, 0.99)), unit: 'ms' },
      { name: `reconcile: ${REPOSITORIES} repos (${REPOSITORIES - STALE} up to date + ${STALE} to rekey, 3 files each), ${GITHUB_LATENCY_MS} ms API latency`, value: round(reconcileMs / 1000), unit: 's' },
      { name: 'reconcile: GitHub reads', value: reads, unit: '' },
      { name: `reconcile: GitHub writes (${STALE} pull requests)`, value: writes.length, unit: '' },
      { name: 'reconcile: mutating-call rate, first to last write', value: round(rate), unit: '/s', target: '<= 1/s', ok: rate <= 1.0 },
      // Each write starts a second after the previous one answered (src/github/throttle.ts), so
      // no two arrive less than a second apart, whatever delays a request on its way.
      { name: 'reconcile: most mutating calls in any 1 s window', value: burstMax, unit: '', target: '1', ok: burstMax <= 1 },
      { name: 'reconcile: shortest gap between two mutating calls', value: Math.round(minGap), unit: 'ms', target: '>= 1000 ms', ok: minGap >= 1000 },
    ];
    return figures;
  } finally {
    await server?.stop();
    await kmsClients.close();
    await world.close();
    await sender.close();
  }
};

/** Most timestamps (ms, sorted) in any half-open window `[t, t + windowMs)`. */
function maxInWindow(sorted: readonly number[], windowMs: number): number {
  let best = 0;
  let start = 0;
  for (let end = 0; end < sorted.length; end++) {
    while ((sorted[end] ?? 0) - (sorted[start] ?? 0) >= windowMs) start++;
    best = Math.max(best, end - start + 1);
  }
  return best;
}

function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)] ?? Number.NaN;
}

const round = (n: number): number => Math.round(n * 10) / 10;

if (!isMainThread && workerData === WORKER_FLAG) {
  await serveWorld();
} else if (!isMainThread && workerData === SENDER_FLAG) {
  await serveSender();
} else if (import.meta.main) {
  for (const figure of await run()) console.log(JSON.stringify(figure));
}
