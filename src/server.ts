/**
 * `npm start`: runs the app with Probot's server. Probot reads APP_ID, PRIVATE_KEY (or
 * PRIVATE_KEY_PATH), WEBHOOK_SECRET, GHE_HOST, PORT, HOST and LOG_LEVEL from the environment
 * (and `.env`); without APP_ID it starts its setup flow. SOPS_REKEY_RECONCILE_INTERVAL (a
 * duration, default 6h) sets how often a repository is rescanned without a webhook when its
 * config sets no `schedule`. Cloud KMS credentials come from the environment as sops reads them
 * (KMS_EMULATOR_HOST,
 * GOOGLE_CREDENTIALS, GOOGLE_OAUTH_ACCESS_TOKEN, Application Default Credentials); age and PGP
 * identities for urgent rescues from SOPS_AGE_KEY, SOPS_AGE_KEY_FILE and GNUPGHOME.
 */
import { run } from 'probot';
import { AgeKeySource } from './keys/age.ts';
import { PgpKeySource } from './keys/pgp.ts';
import { identityFromEnv, KmsClientCache } from './kms/client.ts';
import { probotRunner } from './github/app-runner.ts';
import { parseDuration } from './github/config-schema.ts';
import { RescanSchedule } from './github/schedule.ts';
import { throttledOctokit } from './github/throttle.ts';
import { createApp } from './index.ts';

const kmsClients = new KmsClientCache();
const reconcileIntervalMs = parseDuration(process.env.SOPS_REKEY_RECONCILE_INTERVAL ?? '6h');
// Repositories whose config sets `schedule` are rescanned at that interval, the others at this one.
const schedule = new RescanSchedule({ defaultMs: reconcileIntervalMs });

await run(
  createApp({
    createRunner: (app) =>
      probotRunner(app, {
        kmsIdentity: identityFromEnv(process.env),
        kmsClients,
        keySources: { age: AgeKeySource.fromEnvironment(process.env), pgp: PgpKeySource.fromEnvironment(process.env) },
        schedule,
      }),
    reconcileIntervalMs,
    schedule,
  }),
  { Octokit: throttledOctokit() },
);
