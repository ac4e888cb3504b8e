import { shortKey, versionId } from '../kms/names.ts';
import type { Report, ReportFile } from '../rekey/report.ts';

/** The report as text tables for a terminal: files, gates, per-version verdicts, problems. */
export function renderReport(report: Report): string {
  const out: string[] = [];
  out.push(table(['FILE', 'FORMAT', 'STATE', 'CLOUD KMS KEY @ VERSION', 'ACTION', 'FLUX KUSTOMIZATIONS'], report.files.map(fileRow)));
  for (const file of report.files) {
    if (file.action.kind === 'blocked') {
      out.push(`\n! ${file.path}: ${file.action.reason}${file.action.deadline ? ` (deadline ${file.action.deadline})` : ''}`);
      for (const command of file.action.commands ?? []) out.push(`    ${command}`);
    }
  }
  if (report.gates.length > 0) {
    out.push('\nPropagation gates');
    for (const gate of report.gates) {
      out.push(`  ${shortKey(gate.key)}: ${gate.open ? 'open' : 'closed'}: ${gate.explanation}${gate.retryAfter ? `; retry after ${gate.retryAfter}` : ''}`);
      for (const probe of gate.probes) out.push(`    probe ${probe.at}: ${probe.reported ? shortVersion(probe.reported) : `failed (${probe.error})`}`);
    }
  }
  if (report.versions.length > 0) out.push(`\nKey versions\n${renderVersions(report).trimEnd()}`);
  if (report.applied) {
    out.push(`\nRe-encrypted ${report.applied.applied.length} file(s)${report.applied.failed.length ? `, ${report.applied.failed.length} failed` : ''}`);
    for (const file of report.applied.applied) {
      out.push(`  ${file.path}: ${file.method}${file.urgent ? ' (urgent)' : ''} -> ${file.wrappedBy.map((w) => shortVersion(w.version)).join(', ')}`);
    }
    for (const file of report.applied.failed) out.push(`  ! ${file.path}: ${file.reason}`);
  }
  for (const note of report.ruleNotes) {
    out.push(`\nnote: ${note.path} differs from its rule in ${note.config}: ${[...note.missing.map((k) => `missing ${shortKey(k)}`), ...note.extra.map((k) => `extra ${shortKey(k)}`)].join(', ')}`);
  }
  for (const failure of report.inventoryFailures) out.push(`\n! cannot read key ${failure.key}: ${failure.reason}`);
  for (const problem of report.problems) out.push(`! ${problem.path}: ${problem.reason}`);
  for (const skipped of report.skipped) {
    if (skipped.reason === 'too-large' || skipped.reason === 'symlink-outside-tree') out.push(`skipped ${skipped.path}: ${skipped.reason}`);
  }
  return `${out.join('\n')}\n`;
}

/** Per key version: state and whether any file still depends on it. */
export function renderVersions(report: Report): string {
  return `${table(['KEY', 'VERSION', 'STATE', 'VERDICT'], report.versions.map((v) => [shortKey(v.key), versionId(v.version), v.state, v.summary]))}\n`;
}

function fileRow(file: ReportFile): string[] {
  const keys = file.entries.map((e) => `${shortKey(e.key)} @ ${e.version ? versionId(e.version) : e.candidates ? `v${e.candidates.map(versionId).join('|v')}` : '?'}`);
  const action = actionText(file.action);
  return [file.path, file.format, file.state, keys.join(', ') || '(no Cloud KMS key)', action, file.kustomizations.join(', ') || '-'];
}

function actionText(action: ReportFile['action']): string {
  switch (action.kind) {
    case 'none':
      return '-';
    case 'rekey':
      return action.method ?? 'rotate';
    case 'rescue':
      return `rescue (${action.method}, urgent)`;
    case 'wait':
      return action.retryAfter ? `${action.method ?? 'rotate'} after gate (${action.retryAfter})` : 'rotate after gate';
    case 'blocked':
      return 'blocked';
  }
}

const shortVersion = (name: string): string => `${shortKey(name)} v${versionId(name)}`;

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}
