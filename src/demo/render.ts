/**
 * Text for the steps of the demo that the CLI's report does not tell (the CLI's `renderReport`
 * prints the scans): what was encrypted, deadlines, gate decisions with their probes, what apply
 * did, what changed. Pure: data in, lines out. Nothing here ever sees plaintext.
 */
import type { GateDecision } from '../kms/gate.ts';
import type { ApplyResult } from '../rekey/apply.ts';
import type { FilePlan, ScannedFile, VersionReport } from '../rekey/plan.ts';
import type { BuiltFile } from './build-repo.ts';
import { type FileChange, LINE_KINDS } from './diff.ts';
import { shortKey, shortVersion } from './keys.ts';
import { isoTime, type Style, table } from './style.ts';

/** Step 2: what was encrypted, and for which keys. */
export function renderBuilt(files: readonly BuiltFile[]): string[] {
  return table(
    ['FILE', 'FORMAT', 'ENCRYPTED FOR'],
    files.map((file) => [file.path, file.format, file.keys.map((key) => (key.includes('/') ? shortVersion(key) : key)).join(' + ')]),
  );
}

/** A deadline line for each at-risk file of a scan. */
export function renderDeadlines(files: readonly ScannedFile[], style: Style): string[] {
  return files.flatMap((file) =>
    file.entries.flatMap((entry) =>
      entry.state.kind === 'at-risk'
        ? [
            `  ${style.bad('!')} ${file.path}: ${shortVersion(entry.state.version)} is ${entry.state.versionState}` +
              (entry.state.deadline ? `, destroyed at ${isoTime(Date.parse(entry.state.deadline))}` : '') +
              (file.openable ? '; another key of the file still opens it' : '; nothing else opens it'),
          ]
        : [],
    ),
  );
}

/**
 * The gate's sentence made shorter for a terminal: version names as `key/vN`, times to the
 * second. The gate's wording itself is kept: it is what PR bodies and the dashboard say.
 */
function tidy(text: string): string {
  return text
    .replace(/projects\/[^/\s]+\/locations\/[^/\s]+\/keyRings\/[^/\s]+\/cryptoKeys\/[^/\s]+\/cryptoKeyVersions\/[^/\s,:;)]+/g, (name) => shortVersion(name))
    .replace(/(T\d{2}:\d{2}:\d{2})\.\d{3}Z/g, '$1Z');
}

/** A gate decision: open or closed, why, the probe evidence and when to ask again. */
export function renderGate(decision: GateDecision, style: Style): string[] {
  const verdict = decision.open ? style.good('open') : style.warn('closed');
  const lines = [`  gate for ${shortKey(decision.key)} -> ${shortVersion(decision.primary)}: ${verdict} (${decision.reason})`, `    ${tidy(decision.explanation)}`];
  for (const probe of decision.probes) {
    const answer = probe.reported === undefined ? style.bad(`failed: ${probe.error ?? 'no answer'}`) : probe.reported === decision.primary ? style.good(shortVersion(probe.reported)) : style.warn(shortVersion(probe.reported));
    lines.push(`    probe Encrypt by key name at ${isoTime(probe.atMs)} -> ${answer}`);
  }
  if (!decision.open && decision.retryAfterMs !== undefined) lines.push(`    retry after ${isoTime(decision.retryAfterMs)}`);
  return lines;
}

/** What the plan decided for each file that is not current. */
export function renderActions(files: readonly FilePlan[], style: Style): string[] {
  const rows = files
    .filter((file) => file.action.kind !== 'none')
    .map((file) => {
      const action = file.action;
      switch (action.kind) {
        case 'rescue':
          return [file.file.path, style.bad('rescue now'), `urgent: re-encrypt to ${[...action.target.values()].map(shortVersion).join(', ')} without waiting for the gate`];
        case 'rekey':
          return [file.file.path, style.good('re-encrypt'), `to ${[...action.target.values()].map(shortVersion).join(', ')} (${action.method})`];
        case 'wait':
          return [file.file.path, style.warn('wait'), action.retryAfterMs === undefined ? 'until the gate opens' : `until ${isoTime(action.retryAfterMs)} at the earliest`];
        case 'blocked':
          return [file.file.path, style.bad('blocked'), tidy(action.reason)];
        default:
          return [file.file.path, '', ''];
      }
    });
  return rows.length === 0 ? ['  nothing to do'] : table(['FILE', 'ACTION', 'DETAIL'], rows);
}

/** What apply wrote: each file, how, and the version Cloud KMS reported wrapping with. */
export function renderApplied(result: ApplyResult | undefined, style: Style): string[] {
  if (result === undefined || (result.applied.length === 0 && result.failed.length === 0)) return ['  nothing written'];
  const rows = [
    ...result.applied.map((file) => [
      file.path,
      file.urgent ? style.bad('rescued') : style.good('re-encrypted'),
      file.method,
      file.wrappedBy.map((w) => shortVersion(w.version)).join(', '),
      style.good('verified, written'),
    ]),
    ...result.failed.map((file) => [file.path, style.bad('failed'), '', '', `${file.code}: ${tidy(file.reason)}`]),
  ];
  return table(['FILE', 'RESULT', 'METHOD', 'WRAPPED BY', 'CHECK'], rows);
}

/** Per changed file: lines changed by kind, and whether anything but the expected kinds moved. */
export function renderChangeKinds(files: readonly FileChange[], style: Style): string[] {
  const rows = files.map((file) => [
    file.path,
    ...LINE_KINDS.map((kind) => (kind === 'other' && file.kinds.other > 0 ? style.bad(String(file.kinds.other)) : String(file.kinds[kind]))),
  ]);
  return table(['FILE', 'VALUES', 'ENC', 'LASTMODIFIED', 'MAC', 'OTHER'], rows);
}

/** Versions scheduled for destruction: when, and whether anything still needs them. */
export function renderDestructions(versions: readonly VersionReport[], style: Style): string[] {
  return versions
    .filter((v) => v.state === 'DESTROY_SCHEDULED' && v.destroyTime !== undefined)
    .map((v) => {
      const users = v.dependents.length + v.possibleDependents.length;
      const note = users === 0 ? style.good('nothing depends on it any more') : style.bad(`${users} file(s) still depend on it`);
      return `  ${shortVersion(v.version)} will be destroyed at ${isoTime(Date.parse(v.destroyTime!))}: ${note}`;
    });
}
