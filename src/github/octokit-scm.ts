/**
 * The `Scm` seam on Probot's installation Octokit (REST + Git Data API) and simple-git for the
 * clone. Commits are created through the Git Data API with no author or committer, so GitHub
 * makes them as the app and signs them ("verified"), which "require signed commits" accepts.
 */
import type { ProbotOctokit } from 'probot';
import { type CloneRequest, shallowClone } from './clone.ts';
import { createOnce } from './create-once.ts';
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
  /** Waits between attempts of a create (`createOnce`); default 1, 4 and 9 s. */
  readonly createRetryDelaysMs?: readonly number[];
  /** Makes the shallow clone (default {@link shallowClone} on this thread). */
  readonly clone?: (request: CloneRequest) => Promise<string>;
}

/**
 * Per-request option turning Probot's retry plugin off: a create it retried after a lost answer
 * would be made twice, so creates retry through `createOnce`, which looks before it re-sends.
 */
const NO_RETRY = { request: { retries: 0 } };

export function octokitScm(options: OctokitScmOptions): Scm {
  const { octokit, owner, name } = options;
  const repo = { owner, repo: name };
  let cloneUrl: string | undefined;
  let repositoryId: string | undefined;
  /** False once GitHub said its GraphQL has no `updateRefs` (an older GitHub Enterprise Server). */
  let graphqlRefs = true;
  const nodeId = async (): Promise<string> => (repositoryId ??= (await octokit.rest.repos.get(repo)).data.node_id);
  const once = <T>(create: () => Promise<T>, find: () => Promise<T | undefined>): Promise<T> =>
    createOnce({ create, find, ...(options.createRetryDelaysMs ? { delaysMs: options.createRetryDelaysMs } : {}) });

  const token = async (): Promise<string> => {
    const auth = (await octokit.auth({ type: 'installation' })) as { token?: unknown };
    if (typeof auth.token !== 'string') throw new Error('no installation token available');
    return auth.token;
  };

  const commit = async (sha: string): Promise<CommitInfo> => {
    const { data } = await octokit.rest.git.getCommit({ ...repo, commit_sha: sha });
    return { sha: data.sha, message: data.message, parents: data.parents.map((p) => p.sha), verified: data.verification?.verified === true };
  };

  const scm: Scm = {
    async repository(): Promise<RepositoryInfo> {
      const { data } = await octokit.rest.repos.get(repo);
      cloneUrl = data.clone_url;
      repositoryId = data.node_id;
      return { owner: data.owner.login, name: data.name, defaultBranch: data.default_branch, archived: data.archived };
    },

    async cloneDefaultBranch(dir, branch) {
      const url = options.cloneUrl?.(owner, name) ?? cloneUrl ?? (await octokit.rest.repos.get(repo)).data.clone_url;
      return (options.clone ?? shallowClone)({ url, token: await token(), branch, dir });
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

    async setBranch(branch, sha, expected) {
      if (expected === undefined) {
        try {
          return await once(
            async () => (await octokit.rest.git.createRef({ ...repo, ref: `refs/heads/${branch}`, sha, ...NO_RETRY }), true),
            // Created by the lost attempt when it already points at this very commit.
            async () => ((await scm.branchHead(branch))?.sha === sha ? true : undefined),
          );
        } catch (error) {
          // "Reference already exists", and not at our commit: someone else created it.
          if (statusOf(error) === 422 && (await scm.branchHead(branch)) !== undefined) return false;
          throw error;
        }
      }
      if (graphqlRefs) {
        try {
          await octokit.graphql(UPDATE_REFS, {
            input: { repositoryId: await nodeId(), refUpdates: [{ name: `refs/heads/${branch}`, beforeOid: expected, afterOid: sha, force: true }] },
          });
          return true;
        } catch (error) {
          if (!lacksUpdateRefs(error)) {
            // Refused, or the answer was lost: where the branch is now tells which.
            const now = (await scm.branchHead(branch))?.sha;
            if (now === sha) return true;
            if (now !== expected) return false;
            throw error;
          }
          graphqlRefs = false;
        }
      }
      // GitHub Enterprise Server before 3.16 has no updateRefs, and REST's PATCH git/refs has no
      // compare-and-swap: read again right before the forced update. A push landing between this
      // read and the update (one round trip) is still overwritten there.
      if ((await scm.branchHead(branch))?.sha !== expected) return false;
      await octokit.rest.git.updateRef({ ...repo, ref: `heads/${branch}`, sha, force: true });
      return true;
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
      const created = await once(
        async () => pullInfo((await octokit.rest.pulls.create({ ...repo, title: pull.title, body: pull.body, head: pull.head, base: pull.base, draft: pull.draft, ...NO_RETRY })).data),
        // GitHub allows one open pull request per head and base: an open one is the lost attempt's.
        async () => {
          const { data } = await octokit.rest.pulls.list({ ...repo, state: 'open', head: `${owner}:${pull.head}`, base: pull.base, per_page: 100 });
          const found = data.find((p) => p.head.ref === pull.head);
          return found ? pullInfo(found) : undefined;
        },
      );
      // Adding labels is idempotent, so Probot may retry it as it likes.
      if (pull.labels.length > 0) await octokit.rest.issues.addLabels({ ...repo, issue_number: created.number, labels: [...pull.labels] });
      return { ...created, labels: [...new Set([...created.labels, ...pull.labels])] };
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
      return once(
        async () => issueInfo((await octokit.rest.issues.create({ ...repo, title: issue.title, body: issue.body, labels: [...issue.labels], ...NO_RETRY })).data),
        // The app's issues carry a hidden marker in their body: an open issue with this very title
        // and body is the lost attempt's.
        async () => {
          const open = await octokit.paginate(octokit.rest.issues.listForRepo, { ...repo, state: 'open', per_page: 100 });
          const found = open.filter((i) => i.pull_request === undefined && i.title === issue.title && (i.body ?? '') === issue.body).sort((a, b) => b.number - a.number)[0];
          return found ? issueInfo(found) : undefined;
        },
      );
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
      await once(
        async () => {
          await octokit.rest.checks.create({
            ...repo,
            name: run.name,
            head_sha: run.headSha,
            status: 'completed',
            conclusion: run.conclusion,
            output: { title: run.title, summary: run.summary },
            ...NO_RETRY,
          });
          return true;
        },
        // A run of ours with this name, on this commit, saying exactly this, is the lost attempt's.
        async () => {
          const runs = await scm.checkRunsFor(run.headSha, run.name);
          return runs.some((r) => r.conclusion === run.conclusion && r.title === run.title && r.summary === run.summary) ? true : undefined;
        },
      );
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
  return scm;
}

/**
 * GitHub's atomic, conditional ref update (GraphQL; github.com, GHES 3.16+): `beforeOid` makes the
 * forced update a compare-and-swap.
 */
const UPDATE_REFS = `mutation UpdateRefs($input: UpdateRefsInput!) {
  updateRefs(input: $input) { clientMutationId }
}`;

/** GitHub answered that its GraphQL schema has no `updateRefs` (or that there is no GraphQL). */
function lacksUpdateRefs(error: unknown): boolean {
  if (statusOf(error) === 404) return true;
  const errors = (error as { errors?: unknown } | null)?.errors;
  if (!Array.isArray(errors)) return false;
  return errors.some((e: { extensions?: { code?: unknown; fieldName?: unknown }; message?: unknown }) =>
    (e.extensions?.code === 'undefinedField' && e.extensions.fieldName === 'updateRefs') ||
    (typeof e.message === 'string' && e.message.includes("Field 'updateRefs' doesn't exist")),
  );
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
