/**
 * Opens or updates the rotation's one pull request, respecting people (conventions.md): the same
 * inputs change nothing; a pull request closed unmerged is left alone until the inputs change (or
 * "retry" is ticked); a branch carrying commits the app did not make is never touched again.
 * Files are re-encrypted (`produce`) only once it is clear they will be pushed.
 */
import { branchName, pullTitle } from './branch-name.ts';
import { BRANCH_PREFIX } from './markers.ts';
import type { PullStatus } from './dashboard.ts';
import { parseState, type PullState } from './pr-state.ts';
import type { Rotation } from './rotation.ts';
import type { FileChange, PullInfo, Scm } from './scm.ts';

/** Trailer of every commit the app makes; with GitHub's signature it marks the commit as the app's. */
export const COMMIT_TRAILER = 'Sops-Rekey-Inputs:';

export interface PublishPullInput {
  readonly scm: Scm;
  readonly rotation: Rotation;
  readonly baseBranch: string;
  /** The default-branch commit the files were read from. */
  readonly baseSha: string;
  readonly labels: readonly string[];
  readonly draft: boolean;
  /** Never more than this many of the app's pull requests open in the repository. */
  readonly maxOpen: number;
  /** "retry" was ticked on the dashboard: a pull request closed unmerged does not hold this back. */
  readonly retry: boolean;
  /** Re-encrypts the files; called at most once, only when a commit will be made. */
  readonly produce: () => Promise<readonly FileChange[]>;
  readonly renderBody: (state: PullState) => string;
}

/** `pushed`: the commit this call put on the branch, when it pushed one. */
export type PublishOutcome = PullStatus & { readonly wrote: boolean; readonly pushed?: string };

export async function publishPull(input: PublishPullInput): Promise<PublishOutcome> {
  const { scm, rotation } = input;
  const branch = branchName(rotation.targets);
  const [pulls, head] = await Promise.all([scm.pullsFor(branch), scm.branchHead(branch)]);
  const open = pulls.find((p) => p.state === 'open');
  const latest = pulls[0];

  if (head && !isOurs(head, pulls)) {
    return { kind: 'foreign-commits', branch, ...(open ? { number: open.number } : {}), wrote: false };
  }
  const labels = rotation.urgent ? [...input.labels, 'urgent'] : input.labels;
  const openState = open ? parseState(open.body) : undefined;
  if (open && openState?.inputs === rotation.inputs && head?.sha === openState.commit) {
    const labelled = await labelPull(scm, open, labels);
    return { kind: 'open', number: open.number, files: rotation.files.length, urgent: rotation.urgent, changed: false, wrote: labelled };
  }
  if (!open && latest && !latest.merged && !input.retry && parseState(latest.body)?.inputs === rotation.inputs) {
    return { kind: 'closed-unmerged', number: latest.number, wrote: false };
  }

  if (!open) {
    // A new pull request (not an update of this rotation's own): only within the limit, checked
    // before anything is pushed so no orphan branch is left behind.
    const others = await scm.openPullsWithPrefix(BRANCH_PREFIX);
    if (others.length >= input.maxOpen) {
      return { kind: 'limited', files: rotation.files.length, open: others.map((p) => p.number).sort((a, b) => a - b), max: input.maxOpen, wrote: false };
    }
  }
  const files = await input.produce();
  if (files.length === 0) return { kind: 'none', wrote: false };
  const message = commitMessage(rotation, files.length);
  const commit = await scm.commitFiles(input.baseSha, files, message);
  // The update is forced (the branch is regenerated from the base) but conditional on the branch
  // still being where it was read above: a push that came while the files were re-encrypted and
  // committed is someone else's, and is not overwritten.
  if (!(await scm.setBranch(branch, commit.sha, head?.sha))) {
    return { kind: 'foreign-commits', branch, ...(open ? { number: open.number } : {}), wrote: false };
  }
  const state: PullState = { v: 1, inputs: rotation.inputs, commit: commit.sha, base: input.baseSha, urgent: rotation.urgent };
  const title = pullTitle(rotation.targets, rotation.urgent);
  const body = input.renderBody(state);
  const number = open
    ? (await scm.updatePull(open.number, { title, body }), await labelPull(scm, open, labels), open.number)
    : (await scm.createPull({ title, body, head: branch, base: input.baseBranch, draft: input.draft, labels })).number;
  return { kind: 'open', number, files: files.length, urgent: rotation.urgent, changed: true, wrote: true, pushed: commit.sha };
}

/**
 * Adds the labels the pull request lacks. Opening a pull request and labelling it are two calls:
 * a job that failed or was killed between them left it unlabelled, and a rerun that finds it
 * otherwise up to date must still finish that. Returns whether it wrote.
 */
async function labelPull(scm: Scm, pull: PullInfo, labels: readonly string[]): Promise<boolean> {
  const has = new Set(pull.labels.map((l) => l.toLowerCase()));
  const missing = labels.filter((l) => !has.has(l.toLowerCase()));
  if (missing.length === 0) return false;
  await scm.addLabels(pull.number, missing);
  return true;
}

/**
 * The branch head is the app's: the commit some pull request's marker recorded, or (after a run
 * that pushed but died before opening the pull request) a commit GitHub signed for the app that
 * carries the app's trailer. Commits pushed with git are not signed by GitHub.
 */
function isOurs(head: { sha: string; verified: boolean; message: string }, pulls: readonly PullInfo[]): boolean {
  if (pulls.some((p) => parseState(p.body)?.commit === head.sha)) return true;
  return head.verified && head.message.includes(`\n${COMMIT_TRAILER} `);
}

function commitMessage(rotation: Rotation, count: number): string {
  const subject = `${rotation.urgent ? 'sops-rekey: rescue' : 'sops-rekey: re-encrypt'} ${count} SOPS file${count === 1 ? '' : 's'}`;
  return `${subject}\n\nFresh data keys wrapped by ${rotation.targets.join(', ')}.\n\n${COMMIT_TRAILER} ${rotation.inputs}\n`;
}
