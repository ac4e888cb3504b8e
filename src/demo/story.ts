/**
 * The demo's story, told step by step in one process: a local Cloud KMS emulator and the gate
 * share one manual clock, so hours of propagation lag pass instantly and the output is the same
 * on every run but for times and ports. Every step goes through the real code paths (the real
 * Cloud KMS client over gRPC, real git, the engine's encrypt/rotate with verification).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { generateX25519Identity, identityToRecipient } from 'age-encryption';
import { ManualClock, startEmulator } from '../emulator/index.ts';
import { AgeKeySource } from '../keys/age.ts';
import type { KeySources } from '../keys/data-key.ts';
import { GcpKmsKeySource } from '../keys/gcp-kms.ts';
import { createKmsClient } from '../kms/client.ts';
import { KeyInventoryReader } from '../kms/inventory.ts';
import { type JobMode, type RekeyJobResult, runRekeyJob } from '../rekey/job.ts';
import type { VersionReport } from '../rekey/plan.ts';
import { toReport } from '../rekey/report.ts';
import { worstState, type EntryStateKind } from '../rekey/states.ts';
import { renderReport } from '../cli/render-report.ts';
import { buildDemoRepository, git } from './build-repo.ts';
import { type FileChange, repositoryChanges } from './diff.ts';
import { createDemoKeys, DEMO_KEY_RING, FLUX_SECRETS_KEY, LEGACY_KEY, rotateKey, scheduleDestruction, shortVersion, versionName } from './keys.ts';
import { renderActions, renderApplied, renderBuilt, renderChangeKinds, renderDeadlines, renderDestructions, renderGate } from './render.ts';
import { isoTime, type Style } from './style.ts';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** How the demo's world is set up; tests may shorten nothing, everything runs on a manual clock. */
export interface DemoOptions {
  /** The plaintext fixture repository. */
  readonly fixtures: string;
  readonly style: Style;
  /** Receives the output one line at a time. */
  readonly write: (line: string) => void;
  /** Where the clock starts (the rotation happens 30 days later). Default: now, to the minute. */
  readonly startMs?: number;
  /** Called with the repository's folder before it is removed (tests look at its history). */
  readonly beforeCleanup?: (dir: string) => Promise<void>;
}

/** After a primary change, the emulator keeps using the old primary for Encrypt by key name this long. */
export const DEMO_LAG_MS = 2 * HOUR;
/** The gate's window, shorter than the lag on purpose so the probes have something to catch. */
export const DEMO_GATE_WINDOW_MS = 1 * HOUR;
export const DEMO_GATE_PROBES = 3;

export interface DemoOutcome {
  /** The file states of the first scan and of the rescan after apply. */
  readonly before: ReadonlyMap<string, EntryStateKind>;
  readonly after: ReadonlyMap<string, EntryStateKind>;
  /** Gate reasons of the three apply attempts, for `flux-secrets`. */
  readonly gateReasons: readonly string[];
  readonly rescued: readonly string[];
  readonly reencrypted: readonly string[];
  readonly changes: readonly FileChange[];
  readonly versions: readonly VersionReport[];
  /** Problems that mean the story did not go as told (the command then exits 1). */
  readonly problems: readonly string[];
}

export async function runDemo(options: DemoOptions): Promise<DemoOutcome> {
  const { style, write } = options;
  const say = (...lines: string[]): void => lines.forEach((line) => write(line));
  const heading = (text: string): void => say('', style.heading(text));
  const problems: string[] = [];

  const clock = new ManualClock(options.startMs ?? Math.floor(Date.now() / MINUTE) * MINUTE);
  const emulator = await startEmulator({ clock, propagationLagMs: DEMO_LAG_MS, lagFraction: 1 });
  const client = createKmsClient({ kind: 'emulator', host: emulator.host });
  const dir = await mkdtemp(path.join(tmpdir(), 'sops-rekey-demo-'));
  try {
    say(style.strong('sops-rekey demo: a Cloud KMS key rotation in a Flux repository, on a local emulator'));
    say(style.dim('No credentials, no network: Cloud KMS is emulated on 127.0.0.1, and its clock is moved by the demo.'));

    // 1. The emulator and the keys.
    heading(`1. Cloud KMS emulator at ${emulator.host} (clock ${isoTime(clock.now())})`);
    await createDemoKeys(client);
    say(
      `  key ring ${DEMO_KEY_RING}`,
      `  created flux-secrets (v1 primary) and legacy (v1 primary)`,
      `  after a primary change, Encrypt by key name keeps using the old primary for ${DEMO_LAG_MS / HOUR} h (propagation lag)`,
    );

    // 2. The repository, encrypted with version 1 of each key.
    heading(`2. Sample Flux repository (${isoTime(clock.now())})`);
    const identity = await generateX25519Identity();
    const recipient = await identityToRecipient(identity);
    const sources: KeySources = { gcp_kms: new GcpKmsKeySource({ client }), age: new AgeKeySource([identity]) };
    const built = await buildDemoRepository({
      fixtures: options.fixtures,
      dir,
      sources,
      ageRecipient: recipient,
      gcpVersionFor: (key) => versionName(key, 1),
      now: new Date(clock.now()),
    });
    const initial = (await git(dir, ['rev-parse', 'HEAD'])).trim();
    say(`  ${dir} (git, commit ${initial.slice(0, 7)}): ${built.files.length} files, ${built.encrypted.length} encrypted by their .sops.yaml rule`);
    say(...renderBuilt(built.encrypted));
    say(style.dim(`  age identity generated for this run, held in memory only (${recipient.slice(0, 12)}…)`));

    // 3. Rotation: 30 days later, both keys get a new primary; legacy v1 is scheduled for destruction.
    clock.advance(30 * DAY);
    const rotatedAt = clock.now();
    heading(`3. Key rotation (${isoTime(rotatedAt)})`);
    const fluxV2 = await rotateKey(client, FLUX_SECRETS_KEY);
    const legacyV2 = await rotateKey(client, LEGACY_KEY);
    const destroyTime = await scheduleDestruction(client, versionName(LEGACY_KEY, 1));
    say(
      `  ${shortVersion(fluxV2)} created and made primary; Encrypt by key name still uses v1 until ${isoTime(rotatedAt + DEMO_LAG_MS)} (real Cloud KMS names no time)`,
      `  ${shortVersion(legacyV2)} created and made primary; legacy/v1 scheduled for destruction` + (destroyTime ? ` at ${isoTime(Date.parse(destroyTime))}` : ''),
    );

    const gate = {
      windowMs: DEMO_GATE_WINDOW_MS,
      requiredProbes: DEMO_GATE_PROBES,
      clock,
      // The gate waits between probes: on the manual clock, waiting is moving time forward.
      sleep: async (ms: number) => clock.advance(ms),
    };
    const job = (mode: JobMode): Promise<RekeyJobResult> =>
      runRekeyJob({ root: dir, mode, sources, inventory: new KeyInventoryReader(client), kms: client, gate, now: new Date(clock.now()) });

    // 4. Scan.
    clock.advance(5 * MINUTE);
    heading(`4. Scan (${isoTime(clock.now())})`);
    const scanned = await job('scan');
    say(style.dim('  what `sops-rekey scan` prints for this repository:'), ...indent(renderReport(toReport(scanned))), '');
    say(...renderDeadlines(scanned.scan.files, style));
    say(
      style.dim('  stale: opened by an older version that is still enabled; re-encrypt once the new primary has propagated'),
      style.dim('  at-risk: its version is being destroyed; re-encrypt now through another key of the file'),
    );
    const before = fileStates(scanned);

    // 5. Apply, three times: too early, during the lag, after it.
    const gateReasons: string[] = [];
    const rescued: string[] = [];
    const reencrypted: string[] = [];
    const attempt = async (title: string, commitMessage: string): Promise<RekeyJobResult> => {
      heading(title);
      const result = await job('apply');
      const decision = result.gates.get(FLUX_SECRETS_KEY);
      if (decision) {
        gateReasons.push(decision.reason);
        say(...renderGate(decision, style));
      }
      say(...renderActions(result.plan.files, style));
      if (result.applied) {
        say('', ...renderApplied(result.applied, style));
        for (const file of result.applied.applied) (file.urgent ? rescued : reencrypted).push(file.path);
        for (const file of result.applied.failed) problems.push(`${file.path}: ${file.code}`);
        if (result.applied.applied.length > 0) {
          await git(dir, ['add', '--all']);
          await git(dir, ['commit', '--quiet', '--no-verify', '-m', commitMessage], new Date(clock.now()));
          say(style.dim(`  committed: ${commitMessage}`));
        }
      }
      return result;
    };

    heading('5. Apply');
    say(
      style.dim(`  Before re-encrypting, the gate waits ${DEMO_GATE_WINDOW_MS / HOUR} h after the primary change, then ${DEMO_GATE_PROBES} probe Encrypts by key name must all`),
      style.dim('  answer with the new primary: GetCryptoKey already names it, but that is no proof it has propagated.'),
    );
    const first = await attempt(`5a. Apply right away (${isoTime(clock.now())})`, 'sops-rekey: rescue files on a key version scheduled for destruction');
    const windowEnd = first.gates.get(FLUX_SECRETS_KEY)?.windowEndsAtMs ?? rotatedAt + DEMO_GATE_WINDOW_MS;
    clock.set(windowEnd + MINUTE);
    say('', style.dim(`  ... the demo moves the emulator's clock to ${isoTime(clock.now())}: the gate's window is over, the lag is not ...`));
    await attempt(`5b. Apply after the gate's window, still inside the propagation lag (${isoTime(clock.now())})`, 'sops-rekey: re-encrypt to the new primary');
    clock.set(rotatedAt + DEMO_LAG_MS + MINUTE);
    say('', style.dim(`  ... the demo moves the clock to ${isoTime(clock.now())}: the new primary has propagated ...`));
    await attempt(`5c. Apply after the lag (${isoTime(clock.now())})`, `sops-rekey: re-encrypt to ${shortVersion(fluxV2)}`);

    // 6. What changed, the rescan and the verdicts.
    const head = (await git(dir, ['rev-parse', 'HEAD'])).trim();
    heading(`6. What changed (git diff --stat ${initial.slice(0, 7)} ${head.slice(0, 7)})`);
    const changes = await repositoryChanges(dir, initial, head);
    say(...changes.stat.trimEnd().split('\n').map((line) => `  ${line.trim()}`));
    say('', '  changed lines by kind:', ...renderChangeKinds(changes.files, style));
    const unexpected = changes.files.filter((file) => file.kinds.other > 0);
    if (unexpected.length === 0) say(style.good('  only encrypted values, wrapped data keys (enc), lastmodified and mac changed'));
    else for (const file of unexpected) problems.push(`${file.path}: ${file.kinds.other} changed lines are not enc, values, lastmodified or mac`);

    heading(`7. Rescan, and the verdict per key version (${isoTime(clock.now())})`);
    const rescan = await job('scan');
    say(...indent(renderReport(toReport(rescan))));
    say(...renderDestructions(rescan.plan.versions, style));
    const after = fileStates(rescan);
    for (const [file, state] of after) if (state !== 'current') problems.push(`${file} is ${state} after apply`);

    say('');
    if (problems.length === 0) say(style.good('Done: every file is on the new primary; the old versions can go.'));
    else say(style.bad('The demo did not go as expected:'), ...problems.map((p) => `  ${p}`));
    return { before, after, gateReasons, rescued, reencrypted, changes: changes.files, versions: rescan.plan.versions, problems };
  } finally {
    // Everything is released even when a step or the caller's hook failed.
    const hook = await Promise.allSettled([options.beforeCleanup?.(dir)]);
    await Promise.allSettled([client.close(), emulator.close()]);
    await rm(dir, { recursive: true, force: true });
    if (hook[0]?.status === 'rejected') throw hook[0].reason;
  }
}

/** The CLI's report, indented under the demo's step heading. */
function indent(text: string): string[] {
  return text.trimEnd().split('\n').map((line) => (line === '' ? '' : `  ${line}`));
}

function fileStates(result: RekeyJobResult): Map<string, EntryStateKind> {
  return new Map(result.scan.files.map((file) => [file.path, worstState(file.entries.map((entry) => entry.state.kind))]));
}
