/**
 * Everything the end-to-end tests of the GitHub App start, all on 127.0.0.1 and stopped after:
 * the real Probot server (webhooks signed with the real secret), the GitHub stand-in over real
 * bare repositories and git-http, and the Cloud KMS emulator on a manual clock shared with the
 * propagation gate. Probot's pino output is captured so tests can search the logs.
 */
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import type { KeyManagementServiceClient } from '@google-cloud/kms';
import { pino } from 'pino';
import { Probot, ProbotOctokit, Server } from 'probot';
import { ManualClock, startEmulator, type RunningEmulator } from '../../src/emulator/index.ts';
import { probotRunner } from '../../src/github/app-runner.ts';
import { RepoQueue } from '../../src/github/queue.ts';
import { RescanSchedule } from '../../src/github/schedule.ts';
import { deliveriesHandled } from '../../src/github/webhook-ingress.ts';
import type { JobRunner, RepoRef } from '../../src/github/repo-ref.ts';
import { generateX25519Identity, identityToRecipient } from 'age-encryption';
import { AgeKeySource } from '../../src/keys/age.ts';
import { GcpKmsKeySource } from '../../src/keys/gcp-kms.ts';
import { createKmsClient, KmsClientCache, type KmsIdentity } from '../../src/kms/client.ts';
import { encryptFile } from '../../src/rekey/transform.ts';
import { formatForPath } from '../../src/sops/sops-file.ts';
import { createApp } from '../../src/index.ts';
import { generateAppCredentials } from '../support/github/app-credentials.ts';
import { startGitHubStandIn, type GitHubStandIn } from '../support/github/index.ts';
import { sendWebhook, type WebhookResult } from '../support/webhooks.ts';
import { freePort } from '../support/free-port.ts';

export const LOCATION = 'projects/demo/locations/global';
export const T0 = Date.UTC(2025, 0, 1);
const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;

export interface RekeyWorld {
  readonly gh: GitHubStandIn;
  readonly kms: KeyManagementServiceClient;
  readonly emulator: RunningEmulator;
  readonly clock: ManualClock;
  readonly queue: RepoQueue;
  /** Per-repository rescan intervals, on the manual clock (default 6 h); the runner records every job. */
  readonly schedule: RescanSchedule;
  /** The Probot app the server loaded (for the scheduled rescan, which runs without a webhook). */
  readonly app: Probot;
  /** The CryptoKey every fixture file is wrapped by (v1), with v2 primary once `rotate` ran. */
  readonly key: string;
  readonly credentials: ReturnType<typeof generateAppCredentials>;
  /** Every log line Probot and the app wrote, as JSON text. */
  readonly logs: string[];
  /** Jobs the runner started. */
  readonly jobs: { repo: string; reason: string }[];
  deliver(event: string, payload: object, secret?: string): Promise<WebhookResult>;
  /**
   * Encrypts plaintext files for `key` (default the world's key), wrapped by its `version`
   * (default 1), and
   * also for the age identity the app holds when `withAge`.
   */
  encrypt(files: Record<string, string>, options?: { key?: string; withAge?: boolean; version?: number }): Promise<Record<string, Buffer>>;
  close(): Promise<void>;
}

export async function startRekeyWorld(): Promise<RekeyWorld> {
  const credentials = generateAppCredentials();
  const clock = new ManualClock(T0);
  const emulator = await startEmulator({ clock, seed: 7 });
  const kms = createKmsClient({ kind: 'emulator', host: emulator.host });
  const [ring] = await kms.createKeyRing({ parent: LOCATION, keyRingId: `ring-${randomBytes(3).toString('hex')}`, keyRing: {} });
  const [created] = await kms.createCryptoKey({ parent: ring.name ?? '', cryptoKeyId: 'sops', cryptoKey: { purpose: 'ENCRYPT_DECRYPT' } });
  const key = created.name ?? '';
  const ageIdentity = await generateX25519Identity();
  const ageRecipient = await identityToRecipient(ageIdentity);
  const age = new AgeKeySource([ageIdentity]);
  const sources = { gcp_kms: new GcpKmsKeySource({ client: kms }), age };
  const gh = await startGitHubStandIn({ app: { id: credentials.appId, publicKey: credentials.publicKey } });

  const logs: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logs.push(chunk.toString('utf8'));
      done();
    },
  });
  const log = pino({ level: 'debug' }, sink);
  const jobs: { repo: string; reason: string }[] = [];
  let runner: JobRunner | undefined;
  let loaded: Probot | undefined;
  const schedule = new RescanSchedule({ defaultMs: 6 * 60 * MINUTE, clock });
  const queue = new RepoQueue({
    run: async (repo: RepoRef, reason) => {
      jobs.push({ repo: `${repo.owner}/${repo.name}`, reason });
      if (!runner) throw new Error('runner not ready');
      await runner(repo, reason);
    },
    log: log.child({ name: 'queue' }),
  });
  const kmsIdentity: KmsIdentity = { kind: 'emulator', host: emulator.host };
  const kmsClients = new KmsClientCache();
  const options = {
    appId: credentials.appId,
    privateKey: credentials.privateKey,
    secret: credentials.webhookSecret,
    baseUrl: gh.url,
    // The production Octokit waits a second between writes; the stand-in needs no pacing.
    Octokit: ProbotOctokit.defaults((o: Record<string, unknown>) => ({ ...o, throttle: { ...(o.throttle as object), enabled: false } })),
    log,
  };
  const server = new Server({ Probot: Probot.defaults(options), host: '127.0.0.1', port: await freePort(), log });
  await server.load((app, appOptions) => {
    loaded = app;
    runner = probotRunner(app, {
      schedule,
      kmsIdentity,
      kmsClients,
      keySources: { age },
      // The gate waits between probes: on the manual clock, waiting is moving time forward.
      gate: { clock, sleep: async (ms) => void clock.advance(ms) },
    });
    return createApp({ queue })(app, appOptions);
  });
  await server.start();
  if (!loaded) throw new Error('the app did not load');
  const app = loaded;
  const webhookUrl = `http://127.0.0.1:${server.port}/api/github/webhooks`;

  return {
    gh,
    kms,
    emulator,
    clock,
    queue,
    schedule,
    app,
    key,
    credentials,
    logs,
    jobs,
    async deliver(event, payload, secret = credentials.webhookSecret) {
      const result = await sendWebhook({ url: webhookUrl, secret, event, payload });
      await deliveriesHandled(app);
      await queue.onIdle();
      return result;
    },
    async encrypt(files, { key: cryptoKey = key, withAge = false, version = 1 } = {}) {
      const out: Record<string, Buffer> = {};
      for (const [path, text] of Object.entries(files)) {
        const result = await encryptFile(Buffer.from(text), path, sources, {
          format: formatForPath(path),
          keyGroups: [
            [
              { type: 'gcp_kms', fields: { resource_id: cryptoKey } },
              ...(withAge ? [{ type: 'age' as const, fields: { recipient: ageRecipient } }] : []),
            ],
          ],
          gcpVersionFor: () => `${cryptoKey}/cryptoKeyVersions/${version}`,
          now: new Date(clock.now()),
        });
        out[path] = Buffer.from(result.bytes);
      }
      return out;
    },
    async close() {
      await server.stop();
      await gh.close();
      await kmsClients.close();
      await kms.close();
      await emulator.close();
    },
  };
}

/** A day after the files were written, version 2 is created and made primary; 10 minutes pass. */
export async function rotateKey(world: Pick<RekeyWorld, 'kms' | 'clock' | 'key'>): Promise<{ version: string; at: number }> {
  world.clock.advance(DAY);
  const at = world.clock.now();
  const [version] = await world.kms.createCryptoKeyVersion({ parent: world.key, cryptoKeyVersion: {} });
  const name = version.name ?? '';
  await world.kms.updateCryptoKeyPrimaryVersion({ name: world.key, cryptoKeyVersionId: name.slice(name.lastIndexOf('/') + 1) });
  world.clock.advance(10 * MINUTE);
  return { version: name, at };
}

export const repository = (owner: string, name: string) => ({
  id: 1,
  name,
  full_name: `${owner}/${name}`,
  owner: { login: owner, id: 2, type: 'Organization' },
  default_branch: 'main',
  private: true,
});

export const pushPayload = (owner: string, name: string, installationId: number, paths: string[] = ['.github/sops-rekey.yml']) => ({
  ref: 'refs/heads/main',
  before: '0'.repeat(40),
  after: '1'.repeat(40),
  repository: repository(owner, name),
  installation: { id: installationId },
  sender: { login: 'alice', id: 3, type: 'User' },
  commits: [{ id: '1'.repeat(40), added: [], modified: paths, removed: [] }],
});
