/**
 * The dashboard issue, one per repository (like Renovate's Dependency Dashboard), as a pure
 * function of the job's report and what happened to the pull request. It holds no times that
 * change from run to run, so a rerun with nothing new renders the same body and nothing is
 * written. Checkboxes carry hidden markers; ticking one edits the issue, and that webhook starts
 * a job.
 */
import type { Report } from '../rekey/report.ts';
import { cell, code, fold, plural, shortKey, shortVersion, table } from './markdown.ts';
import { DASHBOARD_MARKER } from './markers.ts';
import { renderSightings, type Sightings } from './primary-sightings.ts';

export const DASHBOARD_TITLE = 'sops-rekey dashboard';

/** What the dashboard's checkboxes ask for. */
export type DashboardAction = 'rescan' | 'retry';
export const DASHBOARD_ACTIONS: readonly DashboardAction[] = ['rescan', 'retry'];

const ACTION_TEXT: Record<DashboardAction, string> = {
  rescan: 'Rescan this repository now',
  retry: 'Retry: open the pull request again even if it was closed without merging',
};

const FOLD_ROWS = 15;

/** Where the rotation's pull request stands, as the job left it. */
export type PullStatus =
  | { readonly kind: 'none' }
  | { readonly kind: 'open'; readonly number: number; readonly files: number; readonly urgent: boolean; readonly changed: boolean }
  | { readonly kind: 'closed-unmerged'; readonly number: number }
  | { readonly kind: 'foreign-commits'; readonly branch: string; readonly number?: number }
  | { readonly kind: 'dry-run'; readonly files: number }
  /** `maxOpenPullRequests` of the app's pull requests are open: no new one until one is merged or closed. */
  | { readonly kind: 'limited'; readonly files: number; readonly open: readonly number[]; readonly max: number };

export interface DashboardInput {
  readonly report: Report;
  readonly pull: PullStatus;
  /** Boxes to show ticked: ticked by someone after this job read the issue. */
  readonly ticked: ReadonlySet<DashboardAction>;
  /** Files whose re-encryption failed verification or a key call in this run (not pushed). */
  readonly failed?: readonly { readonly path: string; readonly reason: string }[];
  /** When the app first saw each key's primary: kept in a hidden marker for the next run's gate. */
  readonly sightings?: Sightings;
}

/** The actions whose boxes are ticked in a dashboard body. */
export function tickedActions(body: string): Set<DashboardAction> {
  const out = new Set<DashboardAction>();
  for (const match of body.matchAll(/^\s*[-*] \[([ xX])\] <!-- sops-rekey:([a-z-]+) -->/gm)) {
    const action = match[2] as DashboardAction;
    if (match[1] !== ' ' && DASHBOARD_ACTIONS.includes(action)) out.add(action);
  }
  return out;
}

/** Whether the dashboard has something to say (otherwise it is not created). */
export function worthADashboard(report: Report): boolean {
  return report.files.length > 0 || report.problems.length > 0 || report.inventoryFailures.length > 0;
}

export function renderDashboard(input: DashboardInput): string {
  const { report } = input;
  const parts: string[] = [DASHBOARD_MARKER, 'This issue lists the SOPS files of this repository, the Cloud KMS key versions they depend on, and what sops-rekey is doing about them. It is rewritten after every scan.'];

  parts.push('## Pull request', pullLine(input.pull));

  const urgent = report.files.filter((f) => f.state === 'at-risk' || f.state === 'lost');
  if (urgent.length > 0) {
    parts.push(
      '## Urgent',
      urgent
        .map((f) => {
          const deadline = f.action.deadline ? ` Deadline: **${f.action.deadline}**.` : '';
          const what =
            f.action.kind === 'rescue'
              ? 'Re-encrypted through another master key of the file (see the pull request).'
              : `${cell(f.action.reason ?? 'blocked')}.`;
          const steps = (f.action.commands ?? []).length > 0 ? `\n  Restore, then enable the version (sops-rekey never does this itself):\n${f.action.commands!.map((c) => `  \`\`\`\n  ${c}\n  \`\`\``).join('\n')}` : '';
          return `- ${code(f.path)} is ${f.state}.${deadline} ${what}${steps}`;
        })
        .join('\n'),
    );
  }

  const closed = report.gates.filter((g) => !g.open);
  if (closed.length > 0) {
    parts.push(
      '## Waiting for the propagation gate',
      closed
        .map((g) => {
          const opens = g.reason === 'window-not-elapsed' ? g.windowEndsAt : (g.retryAfter ?? g.windowEndsAt);
          const waiting = report.files.filter((f) => f.action.kind === 'wait' && f.entries.some((e) => e.key === g.key)).length;
          return `- ${code(shortKey(g.key))}: primary ${shortVersion(g.primary)} since ${g.primarySince}. The gate opens at **${opens}** at the earliest (${cell(g.explanation)}). ${plural(waiting, 'file')} wait${waiting === 1 ? 's' : ''} for it.`;
        })
        .join('\n'),
    );
  }

  if (report.versions.length > 0) {
    const rows = report.versions.map((v) => [
      cell(shortKey(v.key)),
      shortVersion(v.version),
      v.state,
      cell(v.summary),
      v.dependents.length + v.possibleDependents.length === 0 ? '—' : cell([...v.dependents, ...v.possibleDependents.map((p) => `${p} (maybe)`)].join(', ')),
    ]);
    const t = table(['Key', 'Version', 'State', 'Verdict', 'Files'], rows);
    parts.push('## Key versions', rows.length > FOLD_ROWS ? fold(plural(rows.length, 'version'), t) : t);
  }

  const files = report.files.map((f) => [code(f.path), f.format, f.state, actionText(f.action.kind, f.action.deadline)]);
  const filesTable = table(['File', 'Format', 'State', 'Action'], files);
  parts.push('## SOPS files', files.length === 0 ? 'No SOPS file found.' : files.length > FOLD_ROWS ? fold(plural(files.length, 'file'), filesTable) : filesTable);

  const problems = [
    ...report.problems.map((p) => `- ${code(p.path)}: ${cell(p.reason)}`),
    ...report.inventoryFailures.map((f) => `- key ${code(shortKey(f.key))}: ${cell(f.reason)}`),
    ...(input.failed ?? []).map((f) => `- ${code(f.path)}: not re-encrypted: ${cell(f.reason)}`),
  ];
  if (problems.length > 0) parts.push('## Problems', problems.join('\n'));

  parts.push(
    '## Actions',
    DASHBOARD_ACTIONS.map((a) => `- [${input.ticked.has(a) ? 'x' : ' '}] <!-- sops-rekey:${a} --> ${ACTION_TEXT[a]}`).join('\n'),
  );
  if (input.sightings && input.sightings.size > 0) parts.push(renderSightings(input.sightings));
  return parts.join('\n\n') + '\n';
}

function pullLine(pull: PullStatus): string {
  switch (pull.kind) {
    case 'none':
      return 'No pull request needed right now.';
    case 'open':
      return `${pull.urgent ? '**Urgent:** ' : ''}#${pull.number} re-encrypts ${plural(pull.files, 'file')}.`;
    case 'closed-unmerged':
      return `#${pull.number} was closed without merging: sops-rekey leaves it alone until its inputs change (tick "retry" below to open it again).`;
    case 'foreign-commits':
      return `The branch ${code(pull.branch)}${pull.number ? ` (#${pull.number})` : ''} has commits sops-rekey did not make: it no longer updates it. Delete the branch to hand it back.`;
    case 'dry-run':
      return `Dry run (\`dryRun: true\`): ${plural(pull.files, 'file')} would be re-encrypted; nothing was written.`;
    case 'limited':
      return `${plural(pull.files, 'file')} wait${pull.files === 1 ? 's' : ''} for a new pull request: ${pull.open.map((n) => `#${n}`).join(', ')} ${pull.open.length === 1 ? 'is' : 'are'} open and \`maxOpenPullRequests\` is ${pull.max}. Merge or close one.`;
  }
}

function actionText(kind: string, deadline: string | undefined): string {
  switch (kind) {
    case 'none':
      return 'none';
    case 'rekey':
      return 're-encrypt';
    case 'rescue':
      return `urgent rescue${deadline ? ` (deadline ${deadline})` : ''}`;
    case 'wait':
      return 'waiting for the gate';
    default:
      return `blocked${deadline ? ` (deadline ${deadline})` : ''}`;
  }
}
