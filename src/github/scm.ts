/**
 * The one seam between the domain and GitHub + git (release-please's `Scm`, Renovate's
 * `Platform`). The job runner only talks to this interface, so it never touches Octokit or
 * simple-git directly, and a test can see every write it makes.
 */

export interface RepositoryInfo {
  readonly owner: string;
  readonly name: string;
  readonly defaultBranch: string;
  readonly archived: boolean;
}

export interface CommitInfo {
  readonly sha: string;
  readonly message: string;
  readonly parents: readonly string[];
  /** GitHub signed it: true for commits the app made through the Git Data API without an author. */
  readonly verified: boolean;
}

export interface PullInfo {
  readonly number: number;
  readonly state: 'open' | 'closed';
  readonly merged: boolean;
  readonly title: string;
  readonly body: string;
  readonly headRef: string;
  readonly headSha: string | undefined;
  readonly labels: readonly string[];
}

export interface IssueInfo {
  readonly number: number;
  readonly state: 'open' | 'closed';
  readonly title: string;
  readonly body: string;
}

/** One file of a commit: repository-relative POSIX path and its new bytes. */
export interface FileChange {
  readonly path: string;
  readonly bytes: Uint8Array;
}

export interface NewPull {
  readonly title: string;
  readonly body: string;
  readonly head: string;
  readonly base: string;
  readonly draft: boolean;
  readonly labels: readonly string[];
}

/** A check run of the app on a commit. */
export interface CheckRunInfo {
  readonly id: number;
  readonly conclusion: string | null;
  readonly title: string;
  readonly summary: string;
}

export interface NewCheckRun {
  readonly name: string;
  readonly headSha: string;
  readonly conclusion: 'success' | 'neutral' | 'failure';
  readonly title: string;
  readonly summary: string;
}

/** GitHub and git for one repository of one installation. */
export interface Scm {
  repository(): Promise<RepositoryInfo>;
  /**
   * Shallow clone of the default branch into `dir` (which must not exist or be empty); resolves
   * with the commit checked out. Errors never carry the credentials used.
   */
  cloneDefaultBranch(dir: string, branch: string): Promise<string>;
  /** The commit a branch points at, or undefined when there is no such branch. */
  branchHead(branch: string): Promise<CommitInfo | undefined>;
  /**
   * One commit on top of `parent` replacing `files`, made as the app (no custom author, so GitHub
   * marks it verified). Returns the commit and its tree.
   */
  commitFiles(parent: string, files: readonly FileChange[], message: string): Promise<{ sha: string; tree: string }>;
  /** The tree of a commit. */
  treeOf(commit: string): Promise<string>;
  /**
   * Points `branch` at `sha` (a forced update: the branch is regenerated) only if it is still
   * where the caller saw it: at `expected`, or absent when `expected` is undefined (then it is
   * created). Resolves false, having written nothing, when the branch is somewhere else: a push
   * or a create by someone else is never overwritten.
   */
  setBranch(branch: string, sha: string, expected: string | undefined): Promise<boolean>;
  /** Every pull request (open or closed) whose head is `branch`, newest first. */
  pullsFor(branch: string): Promise<PullInfo[]>;
  /** Open pull requests whose head branch (in this repository) starts with `prefix`, newest first. */
  openPullsWithPrefix(prefix: string): Promise<PullInfo[]>;
  createPull(pull: NewPull): Promise<PullInfo>;
  updatePull(number: number, fields: { readonly title?: string; readonly body?: string }): Promise<void>;
  /** Adds labels to an issue or pull request (labels it already has stay). */
  addLabels(number: number, labels: readonly string[]): Promise<void>;
  /** Issues (not pull requests), open or closed, whose body contains `marker`, newest first. */
  findIssues(marker: string): Promise<IssueInfo[]>;
  getIssue(number: number): Promise<IssueInfo>;
  createIssue(issue: { readonly title: string; readonly body: string; readonly labels: readonly string[] }): Promise<IssueInfo>;
  updateIssue(number: number, fields: { readonly title?: string; readonly body?: string; readonly state?: 'open' | 'closed' }): Promise<void>;
  /** Check runs named `name` on commit `sha`, newest first. */
  checkRunsFor(sha: string, name: string): Promise<CheckRunInfo[]>;
  /** A completed check run on `headSha`. */
  createCheckRun(run: NewCheckRun): Promise<void>;
  /** Rewrites a completed check run's conclusion and output. */
  updateCheckRun(id: number, output: Pick<NewCheckRun, 'conclusion' | 'title' | 'summary'>): Promise<void>;
}
