/**
 * `npm start`: runs the app with Probot's server. Probot reads APP_ID, PRIVATE_KEY (or
 * PRIVATE_KEY_PATH), WEBHOOK_SECRET, GHE_HOST, PORT, HOST and LOG_LEVEL from the environment
 * (and `.env`); without APP_ID it starts its setup flow. SOPS_REKEY_RECONCILE_INTERVAL (a
 * duration, default 6h) sets how often every repository is rescanned without a webhook.
 */
import { run } from 'probot';
import { parseDuration } from './github/config-schema.ts';
import type { JobRunner } from './github/repo-ref.ts';
import { throttledOctokit } from './github/throttle.ts';
import { createApp } from './index.ts';

// The rekey job (scan, plan, gate, apply, PR, dashboard) plugs in here once it exists; until
// then jobs only show up in the queue's logs.
const runJob: JobRunner = async () => {};

await run(
  createApp({
    runJob,
    reconcileIntervalMs: parseDuration(process.env.SOPS_REKEY_RECONCILE_INTERVAL ?? '6h'),
  }),
  { Octokit: throttledOctokit() },
);
