/**
 * The `Scm` seam on Probot's installation Octokit (REST + Git Data API) and simple-git for the
 * clone. Commits are created through the Git Data API with no author or committer, so GitHub
 * makes them as the app and signs them ("verified"), which "require signed commits" accepts.
 */
import type { ProbotOctokit } from 'probot';
import { shallowClone } from './clone.ts';
import type { CheckRunInfo, CommitInfo, FileChange, IssueInfo, NewPull, PullInfo, RepositoryInfo, Scm } from './scm.ts';

type Octokit = InstanceType<typeof ProbotOctokit>;

export interface OctokitScmOptions {
  readonly octokit: Octokit;
  readonly owner: string;
  readonly name: string;
  /**
   * The clone URL to use instead of the one the API reports (GitHub Enterprise behind a proxy,
   * tests). The token is added to it.
   */
  readonly cloneUrl?: (owner: string, name: string) => string;
}

export function octokitScm(options: OctokitScmOptions): Scm {
  const { octokit, owner, name } = options;
  const repo = { owner, repo: name };
  let cloneUrl: string | undefined;

  const token = async (): Promise<string> => {
    const auth = (await octokit.auth({ type: 'installation' })) as { token?: unknown };
    if (typeof auth.token !== 'string') throw new Error('no installation token available');
    return auth.token;
  };

  const commit = async (sha: string): Promise<CommitInfo> => {
    const { data } = await octokit.rest.git.getCommit({ ...repo, commit_sha: sha });
    return { sha: data.sha, message: data.message, parents: data.parents.map((p) => p.sha), verified: data.verification?.verified === true };
  };

  return {
    async repository(): Promise<RepositoryInfo> {
      const { data } = await octokit.rest.repos.get(repo);
      cloneUrl = data.clone_url;
      return { owner: data.owner.login, name: data.name, defaultBranch: data.default_branch, archived: data.archived };
    },

    async cloneDefaultBranch(dir, branch) {
      const url = options.cloneUrl?.(owner, name) ?? cloneUrl ?? (await octokit.rest.repos.get(repo)).data.clone_url;
      return shallowClone({ url, token: await token(), branch, dir });
    },

    async branchHead(branch) {
      try {
        const { data } = await octokit.rest.git.getRef({ ...repo, ref: `heads/${branch}` });
        return await commit(data.object.sha);
      } catch (error) {
        if (statusOf(error) === 404) return undefined;
        throw error;
      }
    },

    async commitFiles(parent, files: readonly FileChange[], message) {
      const baseTree = (await octokit.rest.git.getCommit({ ...repo, commit_sha: parent })).data.tree.sha;
      const tree = [];
      // One blob per file, base64 so binary SOPS files and any encoding survive byte for byte.
      for (const file of files) {
        const { data } = await octokit.rest.git.createBlob({ ...repo, content: Buffer.from(file.bytes).toString('base64'), encoding: 'base64' });
        tree.push({ path: file.path, mode: '100644' as const, type: 'blob' as const, sha: data.sha });
      }
      const { data: newTree } = await octokit.rest.git.createTree({ ...repo, base_tree: baseTree, tree });
      const { data: created } = await octokit.rest.git.createCommit({ ...repo, message, tree: newTree.sha, parents: [parent] });
      return { sha: created.sha, tree: newTree.sha };
    },

    async treeOf(sha) {
      return (await octokit.rest.git.getCommit({ ...repo, commit_sha: sha })).data.tree.sha;
    },

    async setBranch(branch, sha, exists) {
      if (exists) await octokit.rest.git.updateRef({ ...repo, ref: `heads/${branch}`, sha, force: true });
      else await octokit.rest.git.createRef({ ...repo, ref: `refs/heads/${branch}`, sha });
    },

    async pullsFor(branch) {
      const pulls = await octokit.paginate(octokit.rest.pulls.list, { ...repo, state: 'all', head: `${owner}:${branch}`, per_page: 100 });
      return pulls.filter((p) => p.head.ref === branch).sort((a, b) => b.number - a.number).map(pullInfo);
    },

    async openPullsWithPrefix(prefix) {
      const pulls = await octokit.paginate(octokit.rest.pulls.list, { ...repo, state: 'open', per_page: 100 });
      // A fork's branch with the same name is someone else's pull request, not the app's.
      const ours = (p: (typeof pulls)[number]) => p.head.ref.startsWith(prefix) && (p.head.repo?.full_name ?? `${owner}/${name}`).toLowerCase() === `${owner}/${name}`.toLowerCase();
      return pulls.filter(ours).sort((a, b) => b.number - a.number).map(pullInfo);
    },

    async createPull(pull: NewPull) {
      const { data } = await octokit.rest.pulls.create({ ...repo, title: pull.title, body: pull.body, head: pull.head, base: pull.base, draft: pull.draft });
      if (pull.labels.length > 0) await octokit.rest.issues.addLabels({ ...repo, issue_number: data.number, labels: [...pull.labels] });
      return pullInfo({ ...data, labels: pull.labels.map((n) => ({ name: n })) });
    },

    async updatePull(number, fields) {
      await octokit.rest.pulls.update({ ...repo, pull_number: number, ...fields });
    },

    async addLabels(number, labels) {
      await octokit.rest.issues.addLabels({ ...repo, issue_number: number, labels: [...labels] });
    },

    async findIssues(marker) {
      const issues = await octokit.paginate(octokit.rest.issues.listForRepo, { ...repo, state: 'all', per_page: 100 });
      return issues
        .filter((i) => i.pull_request === undefined && (i.body ?? '').includes(marker))
        .sort((a, b) => b.number - a.number)
        .map(issueInfo);
    },

    async getIssue(number) {
      return issueInfo((await octokit.rest.issues.get({ ...repo, issue_number: number })).data);
    },

    async createIssue(issue) {
      const { data } = await octokit.rest.issues.create({ ...repo, title: issue.title, body: issue.body, labels: [...issue.labels] });
      return issueInfo(data);
    },

    async updateIssue(number, fields) {
      await octokit.rest.issues.update({ ...repo, issue_number: number, ...fields });
    },

    async checkRunsFor(sha, checkName) {
      // Filtered by name here too: a GitHub App only sees its own runs' outputs, but the list
      // holds every app's runs.
      const { data } = await octokit.rest.checks.listForRef({ ...repo, ref: sha, check_name: checkName, filter: 'latest', per_page: 100 });
      return data.check_runs
        .filter((run) => run.name === checkName)
        .sort((a, b) => b.id - a.id)
        .map((run): CheckRunInfo => ({ id: run.id, conclusion: run.conclusion, title: run.output.title ?? '', summary: run.output.summary ?? '' }));
    },

    async createCheckRun(run) {
      await octokit.rest.checks.create({
        ...repo,
        name: run.name,
        head_sha: run.headSha,
        status: 'completed',
        conclusion: run.conclusion,
        output: { title: run.title, summary: run.summary },
      });
    },

    async updateCheckRun(id, output) {
      await octokit.rest.checks.update({
        ...repo,
        check_run_id: id,
        status: 'completed',
        conclusion: output.conclusion,
        output: { title: output.title, summary: output.summary },
      });
    },
  };
}

interface RawPull {
  number: number;
  state: string;
  merged_at?: string | null;
  merged?: boolean;
  title: string;
  body: string | null;
  head: { ref: string; sha: string | null };
  labels: readonly { name?: string }[];
}

function pullInfo(p: RawPull): PullInfo {
  return {
    number: p.number,
    state: p.state === 'open' ? 'open' : 'closed',
    merged: p.merged === true || (p.merged_at ?? null) !== null,
    title: p.title,
    body: p.body ?? '',
    headRef: p.head.ref,
    headSha: p.head.sha ?? undefined,
    labels: p.labels.flatMap((l) => (l.name ? [l.name] : [])),
  };
}

function issueInfo(i: { number: number; state: string; title: string; body?: string | null }): IssueInfo {
  return { number: i.number, state: i.state === 'open' ? 'open' : 'closed', title: i.title, body: i.body ?? '' };
}

function statusOf(error: unknown): number | undefined {
  const status = (error as { status?: unknown } | null)?.status;
  return typeof status === 'number' ? status : undefined;
}
