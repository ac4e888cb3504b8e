/**
 * The per-repository job of the GitHub App (design.md "Data flows one way"): config → shallow
 * clone → scan, gate, plan → re-encrypt in memory → one commit and one pull request → dashboard.
 * All GitHub and git I/O goes through the `Scm` seam; nothing is written for a repository whose
 * config is invalid except the issue saying what to fix.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { KeySources } from '../keys/data-key.ts';
import { GcpKmsKeySource } from '../keys/gcp-kms.ts';
import type { KmsClientCache, KmsIdentity } from '../kms/client.ts';
import type { RunGit } from '../rekey/discover.ts';
import type { GateKeysOptions } from '../rekey/gate-keys.ts';
import { KeyInventoryReader } from '../kms/inventory.ts';
import { type AppliedFile, applyPlan } from '../rekey/apply.ts';
import { runRekeyJob } from '../rekey/job.ts';
import { toReport } from '../rekey/report.ts';
import { configCheckRun, publishCheckRun, reportCheckRun, verifiedCheckRun } from './check-run.ts';
import { ConfigError } from './config-error.ts';
import { loadConfig, type ConfigReader } from './config.ts';
import { tickedActions, type PullStatus } from './dashboard.ts';
import { kmsIdentityFor } from './kms-identity.ts';
import { parseSightings, primarySince, updateSightings } from './primary-sightings.ts';
import { renderPullBody } from './pr-body.ts';
import { closeConfigIssue, findDashboard, publishConfigIssue, publishDashboard } from './publish-issues.ts';
import { publishPull } from './publish-pull.ts';
import type { JobReason, JobRunner, RepoRef } from './repo-ref.ts';
import { describeRotation } from './rotation.ts';
import type { RescanSchedule } from './schedule.ts';
import { scopePlan } from './scope.ts';
import type { FileChange, Scm } from './scm.ts';

/** The pino-style logger subset the runner uses (Probot's `app.log` fits). */
export interface RunnerLog {
  info(meta: object, message: string): void;
  warn(meta: object, message: string): void;
  child(bindings: object): RunnerLog;
}

export interface RekeyRunnerOptions {
  /** GitHub and git for one repository, and a reader of config files, as its installation. */
  readonly connect: (repo: RepoRef) => Promise<{ readonly scm: Scm; readonly configReader: ConfigReader }>;
  /** The app's own Cloud KMS identity (environment); repositories may impersonate from it. */
  readonly kmsIdentity: KmsIdentity;
  /** One Cloud KMS client per identity for the life of the app. */
  readonly kmsClients: KmsClientCache;
  /** age and PGP identities the app holds, for urgent rescues through another master key. */
  readonly keySources?: Omit<KeySources, 'gcp_kms'>;
  /** Gate timing beyond what the config sets (probe interval; tests: clock and sleep). */
  readonly gate?: Pick<GateKeysOptions, 'probeIntervalMs' | 'clock' | 'sleep'>;
  readonly log: RunnerLog;
  /** Where clones go (default the OS temp dir); each is removed when its job ends. */
  readonly workDir?: string;
  /** Told when each job ends and what rescan interval the repository's config asks for. */
  readonly schedule?: RescanSchedule;
  /** How the scan runs git in the clone (default: a child process from this thread). */
  readonly git?: RunGit;
}

export interface RunOutcome {
  readonly status: 'config-error' | 'disabled' | 'archived' | 'done';
  readonly pull?: PullStatus;
  /** The config's `schedule` in ms, when it sets one. */
  readonly scheduleMs?: number;
  /** Epoch ms at which a closed propagation gate may open: worth a rescan then, not at the next interval. */
  readonly retryAtMs?: number;
}

/** The job runner `createApp` puts behind its queue. */
export function createRekeyRunner(options: RekeyRunnerOptions): JobRunner {
  return async (repo, reason) => {
    let outcome: RunOutcome | undefined;
    try {
      outcome = await runRepository(options, repo, reason);
    } finally {
      // A failed job is rescanned at the default interval, not sooner: failures are logged, and
      // a webhook still starts a job at once.
      options.schedule?.record(repo, outcome?.scheduleMs, outcome?.retryAtMs);
    }
  };
}

export async function runRepository(options: RekeyRunnerOptions, repo: RepoRef, reason: JobReason): Promise<RunOutcome> {
  const log = options.log.child({ repository: `${repo.owner}/${repo.name}`, installationId: repo.installationId });
  const { scm, configReader } = await options.connect(repo);
  const info = await scm.repository();
  if (info.archived) return { status: 'archived' };

  let config;
  try {
    config = await loadConfig(configReader, { owner: repo.owner, name: repo.name, defaultBranch: info.defaultBranch });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    const written = await publishConfigIssue(scm, error, ['sops-rekey']);
    const head = await scm.branchHead(info.defaultBranch);
    const check = head ? await publishCheckRun(scm, head.sha, configCheckRun(error)) : 'no-branch';
    log.warn({ reason, issue: written, check, fields: error.issues.map((i) => i.path) }, 'invalid configuration; nothing written');
    return { status: 'config-error' };
  }
  if (await closeConfigIssue(scm)) log.info({}, 'configuration valid again; closed the action-required issue');
  const settings = config.settings;
  const schedule = config.scheduleSet ? { scheduleMs: config.scheduleMs } : {};
  if (!settings.enabled) return { status: 'disabled', ...schedule };

  const dashboard = await findDashboard(scm);
  const handled = tickedActions(dashboard?.body ?? '');
  const dir = await mkdtemp(path.join(options.workDir ?? tmpdir(), 'sops-rekey-'));
  try {
    const baseSha = await scm.cloneDefaultBranch(path.join(dir, 'repo'), info.defaultBranch);
    const root = path.join(dir, 'repo');
    const client = options.kmsClients.get(kmsIdentityFor(config, options.kmsIdentity));
    const sources: KeySources = { ...options.keySources, gcp_kms: new GcpKmsKeySource({ client }) };
    // The keys the dashboard remembers are read first (the reader keeps them for the scan), so a
    // primary promoted by hand since the last run is known before the gate runs.
    const inventory = new KeyInventoryReader(client);
    const nowMs = (options.gate?.clock ?? Date).now();
    const remembered = parseSightings(dashboard?.body ?? '');
    const known = (await inventory.getAll(remembered.keys())).flatMap((entry) => (entry.ok ? [entry.inventory] : []));
    const sightings = updateSightings(remembered, known, nowMs, true);
    // A dry run first: it scans, gates and plans; files are re-encrypted only if they will be pushed.
    const unscoped = await runRekeyJob({
      root,
      ...(options.git ? { git: options.git } : {}),
      mode: 'dry-run',
      sources,
      inventory,
      kms: client,
      config: { rewrap: settings.rewrap },
      gate: {
        windowMs: config.windowMs,
        requiredProbes: settings.probes,
        ...options.gate,
        firstSeenPrimary: (key, primary) => primarySince(sightings, key, primary),
      },
    });
    const result = { ...unscoped, plan: scopePlan(unscoped.plan, settings.paths) };
    const report = toReport(result);
    const rotation = await describeRotation(result, root);
    const failed: { path: string; reason: string }[] = [];
    let pull: PullStatus = { kind: 'none' };
    let produced: readonly AppliedFile[] = [];
    if (rotation && settings.dryRun) pull = { kind: 'dry-run', files: rotation.files.length };
    else if (rotation) {
      const outcome = await publishPull({
        scm,
        rotation,
        baseBranch: info.defaultBranch,
        baseSha,
        labels: settings.labels,
        draft: settings.draft,
        maxOpen: settings.maxOpenPullRequests,
        retry: handled.has('retry'),
        produce: async () => {
          const files: FileChange[] = [];
          const applied = await applyPlan(result.plan, {
            root,
            sources,
            write: async (relativePath, bytes) => void files.push({ path: relativePath, bytes }),
          });
          failed.push(...applied.failed.map((f) => ({ path: f.path, reason: f.reason })));
          produced = applied.applied;
          return files.sort((a, b) => a.path.localeCompare(b.path));
        },
        renderBody: (state) => renderPullBody({ report, files: rotation.files, state, ...(rotation.deadline ? { deadline: rotation.deadline } : {}) }),
      });
      const { wrote, pushed, ...status } = outcome;
      pull = status;
      // A re-run that pushes nothing leaves the check on the head commit as it was.
      if (pushed) await publishCheckRun(scm, pushed, verifiedCheckRun(produced));
      log.info({ reason, pull: outcome.kind, wrote, files: rotation.files.length }, 'rotation pull request checked');
    }
    const seen = updateSightings(sightings, unscoped.scan.inventory.values(), nowMs);
    const written = await publishDashboard({ scm, existing: dashboard, handled, labels: settings.labels, report, pull, failed, sightings: seen });
    const check = await publishCheckRun(scm, baseSha, reportCheckRun(report, pull));
    log.info({ reason, dashboard: written, check, files: report.files.length, failed: failed.length }, 'repository processed');
    // The dashboard says when each closed gate opens: the app comes back then to open the pull
    // request. Not for a failed probe (a missing permission, a key gone): that needs a person,
    // and the regular schedule or their push brings the app back.
    const opens = [...result.gates.values()].flatMap((gate) =>
      !gate.open && gate.retryAfterMs !== undefined && gate.reason !== 'probe-failed' ? [gate.retryAfterMs] : [],
    );
    return { status: 'done', pull, ...schedule, ...(opens.length > 0 ? { retryAtMs: Math.min(...opens) } : {}) };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
