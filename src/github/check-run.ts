/**
 * The `sops-rekey` check run on the default branch's head commit: the job's verdict where people
 * already look (the commit's status, branch protection). Pure rendering here; `publishCheckRun`
 * writes it only when it changed, so an unchanged repository costs no write.
 *
 * - failure: the configuration is invalid (file, field, problem), or files are at risk or lost
 *   (with their deadlines): someone must act.
 * - neutral: files are stale but the app is on it (waiting for the propagation gate, with the
 *   time it opens; a pull request to merge), or a file could not be read.
 * - success: no file is stale, at risk or lost.
 *
 * And on the head commit of each pull request the app pushes, the evidence that every file in it
 * was verified before it was pushed (`verifiedCheckRun`).
 */
import type { AppliedFile } from '../rekey/apply.ts';
import type { Report } from '../rekey/report.ts';
import type { ConfigError } from './config-error.ts';
import { CONFIG_PATH } from './config.ts';
import type { PullStatus } from './dashboard.ts';
import { cell, code, plural, shortKey, shortVersion, table } from './markdown.ts';
import type { CheckRunInfo, Scm } from './scm.ts';

export const CHECK_RUN_NAME = 'sops-rekey';

export type CheckConclusion = 'success' | 'neutral' | 'failure';

export interface CheckRunOutput {
  readonly conclusion: CheckConclusion;
  readonly title: string;
  readonly summary: string;
}

/** GitHub caps a check run's summary at 65,535 characters. */
const SUMMARY_LIMIT = 60_000;

/** The check run for a configuration the app cannot use. */
export function configCheckRun(error: ConfigError): CheckRunOutput {
  const file = `${error.repository}:${error.file ?? CONFIG_PATH}`;
  return {
    conclusion: 'failure',
    title: `Invalid configuration: ${plural(error.issues.length, 'problem')} in ${file}`,
    summary: limit(
      [
        `sops-rekey cannot use ${code(file)} and writes nothing to this repository until it is fixed.`,
        table(['Field', 'Problem'], error.issues.map((i) => [code(i.path), cell(i.message)])),
      ].join('\n\n'),
    ),
  };
}

/** The check run for a job that scanned the repository. */
export function reportCheckRun(report: Report, pull: PullStatus): CheckRunOutput {
  const urgent = report.files.filter((f) => f.state === 'at-risk' || f.state === 'lost');
  const stale = report.files.filter((f) => f.state === 'stale');
  const unreadable = report.files.filter((f) => f.state === 'unreachable');

  if (urgent.length > 0) {
    const lines = urgent.map((f) => {
      const deadline = f.action.deadline ?? f.entries.find((e) => e.deadline)?.deadline;
      return `- ${code(f.path)} is ${f.state}${deadline ? `: deadline **${deadline}**` : ''}.`;
    });
    const earliest = urgent.map((f) => f.action.deadline).filter((d): d is string => d !== undefined).sort()[0];
    return {
      conclusion: 'failure',
      title: `${plural(urgent.length, 'SOPS file')} at risk${earliest ? `, first deadline ${earliest}` : ''}`,
      summary: limit([...lines, '', pullSentence(pull), 'The dashboard issue has the restore steps.'].join('\n')),
    };
  }

  const closed = report.gates.filter((g) => !g.open);
  if (stale.length > 0 || unreadable.length > 0) {
    const parts: string[] = [];
    if (closed.length > 0) {
      parts.push(
        closed
          .map((g) => `- Waiting for the propagation gate of ${code(shortKey(g.key))} (primary ${shortVersion(g.primary)}): it opens at **${gateOpens(g)}** at the earliest.`)
          .join('\n'),
      );
    }
    if (stale.length > 0) parts.push(pullSentence(pull));
    if (unreadable.length > 0) parts.push(`Could not be read: ${unreadable.map((f) => code(f.path)).join(', ')}.`);
    const title =
      closed.length > 0
        ? `${plural(stale.length, 'stale SOPS file')}, waiting for the gate until ${closed.map(gateOpens).sort()[0]}`
        : stale.length > 0
          ? `${plural(stale.length, 'stale SOPS file')}${pull.kind === 'open' ? `, re-encrypted by #${pull.number}` : ''}`
          : `${plural(unreadable.length, 'SOPS file')} could not be read`;
    return { conclusion: 'neutral', title, summary: limit(parts.join('\n\n')) };
  }

  return {
    conclusion: 'success',
    title: report.files.length === 0 ? 'No SOPS file' : `${plural(report.files.length, 'SOPS file')}, all on their primary key versions`,
    summary: report.files.length === 0 ? 'No SOPS file found on the default branch.' : 'No SOPS file depends on a key version that is not primary.',
  };
}

/**
 * The check run on a pull request's head commit: what was verified for each file it changes,
 * before anything was pushed (design.md invariant 2), where reviewers and branch protection look.
 */
export function verifiedCheckRun(files: readonly AppliedFile[]): CheckRunOutput {
  const rows = files.map((f) => [
    code(f.path),
    f.method === 'rotate' ? 'new data key' : 'same data key, re-wrapped',
    cell(f.wrappedBy.map((w) => `${shortKey(w.key)} ${shortVersion(w.version)}`).join(', ') || '—'),
  ]);
  return {
    conclusion: 'success',
    title: `${plural(files.length, 'file')} re-encrypted and verified`,
    summary: limit(
      [
        'Before this commit was pushed, each file was parsed again from its new bytes and every value decrypted: the MAC verified, the values equal to the original ones, the same master keys as before, and each Cloud KMS entry wrapped by the version named in the Encrypt request (`EncryptResponse.name` and the CRC32C fields checked).',
        table(['File', 'Re-encrypted with', 'Cloud KMS wrapped by'], rows),
      ].join('\n\n'),
    ),
  };
}

function gateOpens(gate: Report['gates'][number]): string {
  return gate.reason === 'window-not-elapsed' ? gate.windowEndsAt : (gate.retryAfter ?? gate.windowEndsAt);
}

function pullSentence(pull: PullStatus): string {
  switch (pull.kind) {
    case 'open':
      return `#${pull.number} re-encrypts ${plural(pull.files, 'file')}: review and merge it.`;
    case 'closed-unmerged':
      return `#${pull.number} was closed without merging; tick "retry" on the dashboard to open it again.`;
    case 'foreign-commits':
      return `The branch ${code(pull.branch)} has commits sops-rekey did not make, so it no longer updates it.`;
    case 'dry-run':
      return `Dry run: ${plural(pull.files, 'file')} would be re-encrypted.`;
    case 'limited':
      return `No new pull request: ${pull.open.map((n) => `#${n}`).join(', ')} ${pull.open.length === 1 ? 'is' : 'are'} open and \`maxOpenPullRequests\` is ${pull.max}. Merge or close one.`;
    case 'none':
      return 'No pull request yet.';
  }
}

function limit(text: string): string {
  return text.length <= SUMMARY_LIMIT ? text : `${text.slice(0, SUMMARY_LIMIT)}\n\n… (cut; see the dashboard issue)`;
}

export type CheckRunWrite = 'created' | 'updated' | 'unchanged';

/**
 * Puts `output` on `headSha`: creates the run, updates the app's earlier run on the same commit
 * when it says something else, and writes nothing when it already says this.
 */
export async function publishCheckRun(scm: Scm, headSha: string, output: CheckRunOutput): Promise<CheckRunWrite> {
  const existing: CheckRunInfo | undefined = (await scm.checkRunsFor(headSha, CHECK_RUN_NAME))[0];
  if (existing && existing.conclusion === output.conclusion && existing.title === output.title && existing.summary === output.summary) {
    return 'unchanged';
  }
  if (existing) {
    await scm.updateCheckRun(existing.id, output);
    return 'updated';
  }
  await scm.createCheckRun({ name: CHECK_RUN_NAME, headSha, ...output });
  return 'created';
}
