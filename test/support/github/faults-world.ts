/**
 * The world of the GitHub-side reliability scenarios (test/reliability/github-*.test.ts), all on
 * 127.0.0.1 and stopped after: the GitHub stand-in over real bare repositories and git-http, the
 * fault proxy in front of it, the Cloud KMS emulator, and the app, either in process (Probot's
 * server with the production pacing and retry policy, time-scaled) or as a child process
 * (`dist/server.js`, exactly what `npm start` runs, configured through its environment).
 *
 * The emulator's clock is the wall clock shifted into the past while the files are written and
 * the key rotated, so version 2 has been primary for a day when the app looks: the app's gate runs
 * on real time, as in production, and opens.
 *
 * `checkConverged` is what a user checks once the dust settles: one pull request (branch, title,
 * labels, body and state marker), one branch, one dashboard issue, every pushed file decrypting to
 * its plaintext on the new primary, and no canary or token where it must not be.
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import type { KeyManagementServiceClient } from '@google-cloud/kms';
import { execa } from 'execa';
import { pino } from 'pino';
import { Probot, Server } from 'probot';
import { expect } from 'vitest';
import { startEmulator, type Clock, type RunningEmulator } from '../../../src/emulator/index.ts';
import { probotRunner } from '../../../src/github/app-runner.ts';
import { deliveriesHandled } from '../../../src/github/webhook-ingress.ts';
import { RepoQueue } from '../../../src/github/queue.ts';
import type { JobRunner, RepoRef } from '../../../src/github/repo-ref.ts';
import { throttledOctokit } from '../../../src/github/throttle.ts';
import { createApp } from '../../../src/index.ts';
import { GcpKmsKeySource } from '../../../src/keys/gcp-kms.ts';
import { createKmsClient, KmsClientCache } from '../../../src/kms/client.ts';
import { decryptFile, encryptFile } from '../../../src/rekey/transform.ts';
import { formatForPath, readSopsFile } from '../../../src/sops/sops-file.ts';
import { sendWebhook } from '../webhooks.ts';
import { generateAppCredentials, type AppCredentials } from './app-credentials.ts';
import { startFaultProxy, type FaultProxy, type FaultProxyOptions } from './faults-proxy.ts';
import { startGitHubStandIn, type GitHubStandIn, type StandInOptions } from './index.ts';
import type { IssueRecord, RepoRecord } from './state.ts';
import { freePort } from '../free-port.ts';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
export const OWNER = 'acme';
export const INSTALLATION = 31;
/** One probe and a short window: the scenarios are about GitHub, not about the gate. */
export const CONFIG = 'window: 5m\nprobes: 1\n';
const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** Plaintexts, one per store, each holding the canary. */
export function plaintexts(canary: string, tag = ''): Record<string, string> {
  return {
    'apps/prod/secrets.yaml': `apiVersion: v1\nkind: Secret\nstringData:\n  password: ${canary}-yaml${tag}\n`,
    'apps/prod/app.env': `API_TOKEN=${canary}-env${tag}\nMODE=prod\n`,
    'apps/prod/config.json': `{\n\t"token": "${canary}-json${tag}",\n\t"port": 8080\n}\n`,
  };
}

export interface FaultWorld {
  readonly gh: GitHubStandIn;
  readonly proxy: FaultProxy;
  readonly kms: KeyManagementServiceClient;
  readonly emulator: RunningEmulator;
  readonly credentials: AppCredentials;
  /** The CryptoKey; v1 wraps the fixtures, v2 has been primary for a day. */
  readonly key: string;
  readonly canary: string;
  /** The rotation branch and title every scenario must end with. */
  readonly branch: string;
  readonly title: string;
  /** Encrypts plaintexts for the key's version 1 (as files written before the rotation). */
  encrypt(files: Record<string, string>): Promise<Record<string, Buffer>>;
  /** A repository of the installation holding `files` (encrypted) and the config. */
  addRepo(name: string, files: Record<string, Buffer>): Promise<RepoRecord>;
  close(): Promise<void>;
}

export interface FaultWorldOptions {
  readonly standIn?: Omit<StandInOptions, 'app'>;
  readonly proxy?: Omit<FaultProxyOptions, 'upstream'>;
}

export async function startFaultWorld(options: FaultWorldOptions = {}): Promise<FaultWorld> {
  const canary = `canary-gh-${randomBytes(8).toString('hex')}`;
  let offset = -2 * DAY;
  const clock: Clock = { now: () => Date.now() + offset };
  const emulator = await startEmulator({ clock, seed: 3 });
  const kms = createKmsClient({ kind: 'emulator', host: emulator.host });
  const ringId = `ring-${randomBytes(3).toString('hex')}`;
  const [ring] = await kms.createKeyRing({ parent: 'projects/rel/locations/global', keyRingId: ringId, keyRing: {} });
  const [created] = await kms.createCryptoKey({ parent: ring.name ?? '', cryptoKeyId: 'sops', cryptoKey: { purpose: 'ENCRYPT_DECRYPT' } });
  const key = created.name ?? '';
  const sources = { gcp_kms: new GcpKmsKeySource({ client: kms }) };
  const encrypt = async (files: Record<string, string>): Promise<Record<string, Buffer>> => {
    const out: Record<string, Buffer> = {};
    for (const [file, text] of Object.entries(files)) {
      const { bytes } = await encryptFile(Buffer.from(text), file, sources, {
        format: formatForPath(file),
        keyGroups: [[{ type: 'gcp_kms', fields: { resource_id: key } }]],
        gcpVersionFor: () => `${key}/cryptoKeyVersions/1`,
        now: new Date(clock.now()),
      });
      out[file] = Buffer.from(bytes);
    }
    return out;
  };
  offset = -DAY;
  await kms.createCryptoKeyVersion({ parent: key, cryptoKeyVersion: {} });
  await kms.updateCryptoKeyPrimaryVersion({ name: key, cryptoKeyVersionId: '2' });
  offset = 0;

  const credentials = generateAppCredentials();
  const gh = await startGitHubStandIn({ ...options.standIn, app: { id: credentials.appId, publicKey: credentials.publicKey } });
  gh.addInstallation({ id: INSTALLATION, account: OWNER, repositories: [] });
  const proxy = await startFaultProxy({ ...options.proxy, upstream: gh.url });

  return {
    gh,
    proxy,
    kms,
    emulator,
    credentials,
    key,
    canary,
    branch: `sops-rekey/${ringId}-sops-v2`,
    title: `sops-rekey: re-encrypt SOPS files to ${ringId}/sops v2`,
    encrypt,
    async addRepo(name, files) {
      gh.state.installations.get(INSTALLATION)?.repositories.push(`${OWNER}/${name}`);
      return gh.createRepo(`${OWNER}/${name}`, { files: { 'README.md': `# ${name}\n`, '.github/sops-rekey.yml': CONFIG, ...files } });
    },
    async close() {
      await proxy.close();
      await gh.close();
      await kms.close();
      await emulator.close();
    },
  };
}

// ---- The app in process ----

/**
 * The production pacing (one write at a time, spaced) with a shorter gap: a duck-typed stand-in
 * for the throttling plugin's Bottleneck groups, of which it only ever calls `key(id).schedule`.
 */
function paced(gapMs: number) {
  let last: Promise<unknown> = Promise.resolve();
  const limiter = {
    schedule<T>(_options: unknown, task: (...args: unknown[]) => Promise<T>, ...args: unknown[]): Promise<T> {
      const run = last.then(() => task(...args));
      last = run.then(
        () => new Promise((resolve) => setTimeout(resolve, gapMs)),
        () => new Promise((resolve) => setTimeout(resolve, gapMs)),
      );
      return run;
    },
  };
  return { key: () => limiter };
}

export interface InProcessApp {
  readonly queue: RepoQueue;
  readonly logs: string[];
  /** Delivers a push to the default branch touching the config, and waits until the queue is idle. */
  push(repo: string): Promise<void>;
  /** Delivers a push to the default branch touching `paths`, without waiting for its job. */
  deliverPush(repo: string, paths?: readonly string[]): Promise<void>;
  close(): Promise<void>;
}

/** Probot's real server with `throttledOctokit` and Probot's retry plugin; every wait is scaled by `msPerSecond / 1000`. */
export async function startInProcessApp(world: FaultWorld, options: { readonly msPerSecond?: number } = {}): Promise<InProcessApp> {
  const msPerSecond = options.msPerSecond ?? 10;
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logs.push(chunk.toString('utf8'));
      done();
    },
  });
  const log = pino({ level: 'debug' }, sink);
  let runner: JobRunner | undefined;
  const queue = new RepoQueue({
    run: async (repo: RepoRef, reason) => {
      if (!runner) throw new Error('runner not ready');
      await runner(repo, reason);
    },
    log: log.child({ name: 'queue' }),
  });
  const Octokit = throttledOctokit({ retryAfterBaseValue: msPerSecond, writeSpacingMs: msPerSecond }).defaults((o: Record<string, unknown>) => ({
    ...o,
    // The throttling plugin's own pacing (writes launched 1 s apart, writes that notify people
    // 3 s apart), scaled; our paced writes (1 s after the previous write ended) scale above.
    throttle: { ...(o.throttle as object | undefined), write: paced(msPerSecond), notifications: paced(3 * msPerSecond) },
    // Probot's retry plugin: 5xx answers are retried 3 times after 1, 4 and 9 "seconds".
    retry: { retryAfterBaseValue: msPerSecond },
  }));
  const kmsClients = new KmsClientCache();
  const probot = Probot.defaults({
    appId: world.credentials.appId,
    privateKey: world.credentials.privateKey,
    secret: world.credentials.webhookSecret,
    baseUrl: world.proxy.url,
    Octokit,
    log,
  });
  const server = new Server({ Probot: probot, host: '127.0.0.1', port: await freePort(), log });
  let served: Probot | undefined;
  await server.load((app, appOptions) => {
    served = app;
    runner = probotRunner(app, {
      kmsIdentity: { kind: 'emulator', host: world.emulator.host },
      kmsClients,
      // Probot's 1, 4, 9 s between attempts of a create, scaled like its retries.
      createRetryDelaysMs: [1, 4, 9].map((s) => s * msPerSecond),
    });
    return createApp({ queue })(app, appOptions);
  });
  await server.start();
  const webhookUrl = `http://127.0.0.1:${server.port}/api/github/webhooks`;
  const deliverPush = async (repo: string, paths?: readonly string[]): Promise<void> => {
    const result = await sendWebhook({ url: webhookUrl, secret: world.credentials.webhookSecret, event: 'push', payload: pushPayload(repo, paths) });
    expect(result.status).toBe(200);
    if (served) await deliveriesHandled(served);
  };
  return {
    queue,
    logs,
    deliverPush,
    async push(repo) {
      await deliverPush(repo);
      await queue.onIdle();
    },
    async close() {
      await server.stop();
      await kmsClients.close();
    },
  };
}

export function pushPayload(name: string, paths: readonly string[] = ['.github/sops-rekey.yml']) {
  return {
    ref: 'refs/heads/main',
    before: '0'.repeat(40),
    after: '1'.repeat(40),
    repository: { id: 1, name, full_name: `${OWNER}/${name}`, owner: { login: OWNER, id: 2, type: 'Organization' }, default_branch: 'main', private: true },
    installation: { id: INSTALLATION },
    sender: { login: 'alice', id: 3, type: 'User' },
    commits: [{ id: '1'.repeat(40), added: [], modified: [...paths], removed: [] }],
  };
}

// ---- The app as a child process ----

const launch = (env: Record<string, string>) =>
  execa(process.execPath, ['--no-experimental-strip-types', path.join(REPO_ROOT, 'dist/server.js')], { cwd: REPO_ROOT, extendEnv: false, env, reject: false, all: true, buffer: false });

export interface ChildApp {
  /** The child; never rejects, `kill` works on it, and it resolves once the process ended. */
  readonly process: ReturnType<typeof launch>;
  readonly webhookUrl: string;
  /** stdout and stderr so far. */
  output(): string;
  /** Resolves once the server listens (Probot logs it). */
  ready(): Promise<void>;
}

/**
 * `node dist/server.js` (what `npm start` runs; `npm test` builds it) with nothing but its documented environment: the
 * app's identity, GitHub Enterprise host (the proxy, which strips `/api/v3`), the emulator, and a
 * rescan interval (it also rescans once at start, which is how a restarted app picks work up).
 */
export async function spawnApp(world: FaultWorld): Promise<ChildApp> {
  const port = await freePort();
  const host = new URL(world.proxy.url).host;
  const child = launch({
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '/tmp',
      NODE_ENV: 'production',
      APP_ID: String(world.credentials.appId),
      PRIVATE_KEY: world.credentials.privateKey,
      WEBHOOK_SECRET: world.credentials.webhookSecret,
      GHE_HOST: host,
      GHE_PROTOCOL: 'http',
      HOST: '127.0.0.1',
      PORT: String(port),
      LOG_LEVEL: 'info',
      LOG_FORMAT: 'json',
      KMS_EMULATOR_HOST: world.emulator.host,
      SOPS_REKEY_RECONCILE_INTERVAL: '6h',
  });
  let text = '';
  child.all?.on('data', (chunk: Buffer) => {
    text += chunk.toString('utf8');
  });
  return {
    process: child,
    webhookUrl: `http://127.0.0.1:${port}/api/github/webhooks`,
    output: () => text,
    async ready() {
      const deadline = Date.now() + 20_000;
      while (!/Listening on http/.test(text)) {
        if (child.exitCode !== null || child.signalCode !== null) throw new Error(`app exited before listening:\n${text.slice(-2000)}`);
        if (Date.now() > deadline) throw new Error(`app did not listen within 20 s:\n${text.slice(-2000)}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
  };
}

// ---- What a user checks ----

export interface Converged {
  readonly pull: IssueRecord;
  readonly head: string;
  readonly dashboard: IssueRecord;
  /** Check runs named sops-rekey on main's head. */
  readonly checkRuns: number;
}

/**
 * Exactly one pull request (the rotation's branch, title, labels and body, its state marker
 * naming the branch head), exactly the default branch and that one branch, one verified commit on
 * top of main changing exactly the SOPS files, each decrypting to `plain[path]` with its Cloud KMS
 * entry on the primary, exactly one issue (the dashboard, pointing at the pull request); the
 * canary in no issue, pull request, git object of the repository, or `logs`, and no token in logs.
 */
export async function checkConverged(world: FaultWorld, name: string, plain: Record<string, string>, logs: string): Promise<Converged> {
  const repo = world.gh.state.findRepo(OWNER, name)!;
  const all = [...repo.issues.values()];
  const pulls = all.filter((i) => i.pull);
  expect(pulls.map((p) => [p.pull?.head, p.state])).toEqual([[world.branch, 'open']]);
  const pull = pulls[0]!;
  expect(pull.title).toBe(world.title);
  expect(pull.labels).toEqual(['sops-rekey']);
  expect((await repo.git.listRefs()).map((r) => r.ref).sort()).toEqual(['refs/heads/main', `refs/heads/${world.branch}`].sort());
  const head = (await repo.git.resolve(`refs/heads/${world.branch}`))!;
  const main = (await repo.git.resolve('refs/heads/main'))!;
  const body = pull.body ?? '';
  expect(body).toContain(`"commit":"${head}"`);
  expect(body).toContain(`"base":"${main}"`);
  for (const file of Object.keys(plain)) expect(body).toContain(`| \`${file}\` |`);
  expect(repo.verifiedCommits.has(head)).toBe(true);
  expect((await repo.git.readCommit(head)).parents).toEqual([main]);
  const changed = (await repo.git.git(['diff', '--name-only', main, head])).trim().split('\n').sort();
  expect(changed).toEqual(Object.keys(plain).sort());
  const sources = { gcp_kms: new GcpKmsKeySource({ client: world.kms }) };
  for (const file of changed) {
    const bytes = await repo.git.readBlob((await repo.git.resolve(`${head}:${file}`))!);
    expect(Buffer.from(await decryptFile(bytes, file, sources)).toString('utf8')).toBe(plain[file]);
    const entries = readSopsFile(bytes, file).metadata.keyGroups.flat().filter((k) => k.type === 'gcp_kms');
    expect(entries).toHaveLength(1);
    const [answer] = await world.kms.decrypt({ name: world.key, ciphertext: Buffer.from(String(entries[0]!.fields.enc), 'base64') });
    expect(answer.usedPrimary, `${file} is on the new primary`).toBe(true);
  }
  const issues = all.filter((i) => !i.pull);
  expect(issues.map((i) => i.title)).toEqual(['sops-rekey dashboard']);
  const dashboard = issues[0]!;
  expect(dashboard.body).toContain(`#${pull.number} re-encrypts ${changed.length} files.`);

  for (const issue of all) expect(`${issue.title}\n${issue.body}`).not.toContain(world.canary);
  const { stdout } = await execa('git', ['--git-dir', repo.git.dir, 'cat-file', '--batch-all-objects', '--batch'], { encoding: 'buffer', maxBuffer: 256 * 1024 * 1024 });
  expect(Buffer.from(stdout).includes(world.canary)).toBe(false);
  expect(logs).not.toContain(world.canary);
  for (const token of world.gh.state.tokens.keys()) expect(logs).not.toContain(token);
  const checkRuns = [...repo.checkRuns.values()].filter((run) => run.headSha === main && run.name === 'sops-rekey').length;
  return { pull, head, dashboard, checkRuns };
}
