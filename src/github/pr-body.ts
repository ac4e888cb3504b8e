/**
 * The rekey pull request body, a pure function of the job's report (conventions.md): what changes
 * (file, key, from version and state, to version, deadline), the gate evidence, the Flux
 * Kustomizations that decrypt these files, what merging and closing mean, and the hidden state
 * marker. Long tables are folded, and the body stays under GitHub's 65,536-character limit.
 */
import type { Report, ReportFile, ReportGate } from '../rekey/report.ts';
import { cell, code, fold, plural, shortKey, shortVersion, table } from './markdown.ts';
import { renderState, type PullState } from './pr-state.ts';

/** GitHub refuses bodies over 65,536 characters; keep a margin. */
export const MAX_BODY = 65_000;
/** Tables longer than this are folded. */
const FOLD_ROWS = 15;

export interface PullBodyInput {
  readonly report: Report;
  /** Paths of the files this pull request changes. */
  readonly files: readonly string[];
  readonly state: PullState;
  /** Earliest deadline of an urgent rescue, ISO 8601. */
  readonly deadline?: string;
}

export function renderPullBody(input: PullBodyInput): string {
  const changed = input.report.files.filter((f) => input.files.includes(f.path));
  const rows = changed.flatMap(fileRows);
  let body = compose(input, changed, rows, rows.length);
  // Too long: drop table rows until it fits, and say how many were left out.
  for (let keep = rows.length; body.length > MAX_BODY && keep > 0; keep = Math.floor(keep * 0.8)) {
    body = compose(input, changed, rows, keep);
  }
  return body;
}

function compose(input: PullBodyInput, files: readonly ReportFile[], rows: readonly string[][], keep: number): string {
  const urgent = input.state.urgent;
  const parts: string[] = [];
  parts.push(
    urgent
      ? `> [!CAUTION]\n> **Urgent.** Some of these files depend on a Cloud KMS key version that is disabled or scheduled for destruction${input.deadline ? `; it is destroyed at **${input.deadline}**` : ''}. After that they can no longer be decrypted through it. This pull request re-encrypts them through another master key of each file.`
      : '',
    `This pull request re-encrypts ${plural(files.length, 'SOPS file')} with fresh data keys wrapped by the current primary Cloud KMS key version. Every new file was decrypted again and compared with the old one before it was committed: same values, same master keys, MAC verified.`,
  );

  const shown = rows.slice(0, keep);
  const changes = table(['File', 'Key', 'From', 'To', 'Deadline'], shown);
  const omitted = rows.length - shown.length;
  parts.push('### Changes', shown.length > FOLD_ROWS ? fold(plural(rows.length, 'entry', 'entries'), changes) : changes);
  if (omitted > 0) parts.push(`_${plural(omitted, 'more entry', 'more entries')} not shown to stay under GitHub's size limit; the dashboard issue lists every file._`);

  parts.push('### Propagation gate', gateEvidence(input.report.gates, files));

  const kustomizations = [...new Set(files.flatMap((f) => f.kustomizations))].sort();
  parts.push(
    '### Flux Kustomizations',
    kustomizations.length === 0
      ? 'No Flux Kustomization found that decrypts these files.'
      : `These Kustomizations decrypt the files and will reconcile them after merge:\n\n${kustomizations.map((k) => `- ${code(k)}`).join('\n')}`,
  );

  parts.push(
    '### What merging does',
    'The files keep their values and their master keys; only the encrypted values, the wrapped data keys, `lastmodified` and `mac` change. After merge, Flux decrypts them with the new key version. Once no file depends on the old version any more, the dashboard issue says it is safe to disable, then destroy. sops-rekey never disables, destroys or restores key versions itself.',
    '### What closing does',
    'Closing this pull request without merging tells sops-rekey to leave it alone until its inputs change (a new key version, new or changed SOPS files). To get it back sooner, tick "retry" on the dashboard issue. If you push your own commits to this branch, sops-rekey stops updating it.',
  );
  parts.push(renderState(input.state));
  return parts.filter((p) => p.length > 0).join('\n\n') + '\n';
}

function fileRows(file: ReportFile): string[][] {
  const targets = file.action.to ?? [];
  const deadline = file.action.deadline ?? '—';
  return file.entries.map((entry) => {
    const to = targets.find((t) => t.startsWith(`${entry.key}/`));
    const version = entry.version ?? (entry.candidates && entry.candidates.length > 0 ? entry.candidates.map(shortVersion).join(' or ') : '?');
    const from = `${entry.version ? shortVersion(version) : version} (${entry.versionState ? `${entry.versionState}, ` : ''}${entry.state})`;
    return [code(file.path), cell(shortKey(entry.key)), cell(from), to ? shortVersion(to) : '—', cell(entry.deadline ?? deadline)];
  });
}

function gateEvidence(gates: readonly ReportGate[], files: readonly ReportFile[]): string {
  const keys = new Set(files.flatMap((f) => f.entries.map((e) => e.key)));
  const relevant = gates.filter((g) => keys.has(g.key));
  if (relevant.length === 0) return 'No gate applied: these files are rescued urgently, re-encrypted to the primary named explicitly.';
  return relevant
    .map((g) => {
      const probes = g.probes.map((p) => `  - ${p.at}: ${p.reported ? `Encrypt answered with ${shortVersion(p.reported)}` : `failed (${cell(p.error ?? 'unknown')})`}`);
      return [
        `- ${code(shortKey(g.key))}: primary ${shortVersion(g.primary)} since ${g.primarySince}; window ended ${g.windowEndsAt}; ${g.open ? 'open' : 'closed'}: ${cell(g.explanation)}`,
        `  ${plural(g.probes.length, 'probe')} (Encrypt by key name):`,
        ...probes,
      ].join('\n');
    })
    .join('\n');
}
