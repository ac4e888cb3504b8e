/**
 * Writes the dashboard issue and the "action required" config issue through the `Scm` seam,
 * writing only when the body changed. The dashboard is re-read right before it is rewritten, so
 * a box ticked while the job ran stays ticked (and its own job follows).
 */
import type { ConfigError } from './config-error.ts';
import { CONFIG_ISSUE_MARKER, CONFIG_ISSUE_TITLE, renderConfigIssue } from './config-issue.ts';
import { DASHBOARD_TITLE, renderDashboard, tickedActions, worthADashboard, type DashboardAction, type DashboardInput } from './dashboard.ts';
import { DASHBOARD_MARKER } from './markers.ts';
import type { IssueInfo, Scm } from './scm.ts';

/** The dashboard issue, if there is one (the newest, open ones first). */
export async function findDashboard(scm: Scm): Promise<IssueInfo | undefined> {
  const found = await scm.findIssues(DASHBOARD_MARKER);
  return found.find((i) => i.state === 'open') ?? found[0];
}

export interface PublishDashboardInput extends Omit<DashboardInput, 'ticked'> {
  readonly scm: Scm;
  readonly existing: IssueInfo | undefined;
  /** Boxes ticked when the job started: this job handled them, so they are cleared. */
  readonly handled: ReadonlySet<DashboardAction>;
  readonly labels: readonly string[];
}

export type DashboardWrite = 'created' | 'updated' | 'unchanged' | 'not-needed';

export async function publishDashboard(input: PublishDashboardInput): Promise<DashboardWrite> {
  const { scm, existing } = input;
  if (!existing) {
    if (!worthADashboard(input.report)) return 'not-needed';
    const body = renderDashboard({ ...input, ticked: new Set() });
    await scm.createIssue({ title: DASHBOARD_TITLE, body, labels: input.labels });
    return 'created';
  }
  const fresh = await scm.getIssue(existing.number);
  const ticked = new Set([...tickedActions(fresh.body)].filter((a) => !input.handled.has(a)));
  const body = renderDashboard({ ...input, ticked });
  if (body === fresh.body) return 'unchanged';
  await scm.updateIssue(existing.number, { body });
  return 'updated';
}

/** Opens (or updates) the one "action required" issue for an invalid config. */
export async function publishConfigIssue(scm: Scm, error: ConfigError, labels: readonly string[]): Promise<'created' | 'updated' | 'unchanged'> {
  const body = renderConfigIssue(error);
  const open = (await scm.findIssues(CONFIG_ISSUE_MARKER)).find((i) => i.state === 'open');
  if (!open) {
    await scm.createIssue({ title: CONFIG_ISSUE_TITLE, body, labels });
    return 'created';
  }
  if (open.body === body) return 'unchanged';
  await scm.updateIssue(open.number, { body });
  return 'updated';
}

/** Closes the config issue once the config is valid again. */
export async function closeConfigIssue(scm: Scm): Promise<boolean> {
  const open = (await scm.findIssues(CONFIG_ISSUE_MARKER)).filter((i) => i.state === 'open');
  for (const issue of open) await scm.updateIssue(issue.number, { state: 'closed' });
  return open.length > 0;
}
