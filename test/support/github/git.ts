/**
 * Real git plumbing against one bare repository: what the stand-in's Git Data and contents
 * endpoints write is what `git clone` over git-http reads, and the other way round.
 */
import { execa } from 'execa';

export interface TreeEntry {
  readonly mode: string;
  readonly type: 'blob' | 'tree' | 'commit';
  readonly sha: string;
  readonly path: string;
  readonly size?: number;
}

export interface CommitObject {
  readonly sha: string;
  readonly tree: string;
  readonly parents: readonly string[];
  readonly author: Signature;
  readonly committer: Signature;
  readonly message: string;
}

export interface Signature {
  readonly name: string;
  readonly email: string;
  /** ISO 8601, as the REST API returns it. */
  readonly date: string;
}

/** Identity git needs for commits made by the stand-in itself (fixtures, app commits). */
export const BOT_IDENTITY = { name: 'sops-rekey[bot]', email: '1+sops-rekey[bot]@users.noreply.github.com' };

const ZERO = '0000000000000000000000000000000000000000';

export class BareRepo {
  readonly dir: string;

  constructor(dir: string) {
    this.dir = dir;
  }

  async git(args: readonly string[], input?: string | Buffer, env?: Record<string, string>): Promise<string> {
    const result = await execa('git', ['--git-dir', this.dir, ...args], {
      input,
      env: { GIT_CONFIG_NOSYSTEM: '1', ...env },
      stripFinalNewline: false,
    });
    return result.stdout;
  }

  /** Like `git` but answers undefined where git exits non-zero (missing object or ref). */
  async tryGit(args: readonly string[]): Promise<string | undefined> {
    const result = await execa('git', ['--git-dir', this.dir, ...args], {
      reject: false,
      env: { GIT_CONFIG_NOSYSTEM: '1' },
      stripFinalNewline: false,
    });
    return result.exitCode === 0 ? result.stdout : undefined;
  }

  async init(defaultBranch: string): Promise<void> {
    await execa('git', ['init', '--bare', '--quiet', `--initial-branch=${defaultBranch}`, this.dir]);
  }

  async hashBlob(content: Buffer): Promise<string> {
    return (await this.git(['hash-object', '-w', '--stdin'], content)).trim();
  }

  async readBlob(sha: string): Promise<Buffer> {
    const result = await execa('git', ['--git-dir', this.dir, 'cat-file', 'blob', sha], {
      encoding: 'buffer',
      stripFinalNewline: false,
    });
    return Buffer.from(result.stdout);
  }

  /** The object type of `spec` (`sha`, `ref:path`), or undefined when it does not exist. */
  async objectType(spec: string): Promise<'blob' | 'tree' | 'commit' | 'tag' | undefined> {
    const out = await this.tryGit(['cat-file', '-t', spec]);
    return out === undefined ? undefined : (out.trim() as 'blob' | 'tree' | 'commit' | 'tag');
  }

  async resolve(spec: string): Promise<string | undefined> {
    const out = await this.tryGit(['rev-parse', '--verify', '--quiet', `${spec}`]);
    return out?.trim() || undefined;
  }

  /** Entries of a tree; `recursive` also lists the subtrees themselves, as GitHub does. */
  async lsTree(treeish: string, recursive: boolean): Promise<TreeEntry[]> {
    const out = await this.git(['ls-tree', '-z', '-l', ...(recursive ? ['-r', '-t'] : []), treeish]);
    return out
      .split('\0')
      .filter((line) => line.length > 0)
      .map((line) => {
        const tab = line.indexOf('\t');
        const [mode = '', type = '', sha = '', size = '-'] = line.slice(0, tab).split(/\s+/);
        const entry: TreeEntry = { mode, type: type as TreeEntry['type'], sha, path: line.slice(tab + 1) };
        return size === '-' ? entry : { ...entry, size: Number(size) };
      });
  }

  /** Writes one tree level; entries are direct children (no slashes in paths). */
  async mktree(entries: readonly TreeEntry[]): Promise<string> {
    const input = entries.map((e) => `${e.mode} ${e.type} ${e.sha}\t${e.path}\0`).join('');
    return (await this.git(['mktree', '-z'], input)).trim();
  }

  /**
   * Writes a (possibly nested) tree from a flat map of file paths to entries, building every
   * intermediate directory; what GitHub does for `POST git/trees`.
   */
  async writeTree(files: ReadonlyMap<string, Omit<TreeEntry, 'path'>>): Promise<string> {
    const children = new Map<string, Map<string, Omit<TreeEntry, 'path'>>>();
    const direct: TreeEntry[] = [];
    for (const [path, entry] of files) {
      const slash = path.indexOf('/');
      if (slash < 0) {
        direct.push({ ...entry, path });
        continue;
      }
      const dir = path.slice(0, slash);
      let sub = children.get(dir);
      if (!sub) children.set(dir, (sub = new Map()));
      sub.set(path.slice(slash + 1), entry);
    }
    for (const [dir, sub] of children) {
      direct.push({ mode: '040000', type: 'tree', sha: await this.writeTree(sub), path: dir });
    }
    return this.mktree(direct);
  }

  /** All non-tree entries below a tree, keyed by full path. */
  async flatten(tree: string): Promise<Map<string, Omit<TreeEntry, 'path'>>> {
    const files = new Map<string, Omit<TreeEntry, 'path'>>();
    for (const entry of await this.lsTree(tree, true)) {
      if (entry.type !== 'tree') files.set(entry.path, { mode: entry.mode, type: entry.type, sha: entry.sha });
    }
    return files;
  }

  async commitTree(input: {
    tree: string;
    parents: readonly string[];
    message: string;
    author: { name: string; email: string; date?: string };
    committer: { name: string; email: string; date?: string };
  }): Promise<string> {
    const env: Record<string, string> = {
      GIT_AUTHOR_NAME: input.author.name,
      GIT_AUTHOR_EMAIL: input.author.email,
      GIT_COMMITTER_NAME: input.committer.name,
      GIT_COMMITTER_EMAIL: input.committer.email,
    };
    if (input.author.date !== undefined) env.GIT_AUTHOR_DATE = input.author.date;
    if (input.committer.date !== undefined) env.GIT_COMMITTER_DATE = input.committer.date;
    const args = ['commit-tree', input.tree, ...input.parents.flatMap((p) => ['-p', p])];
    return (await this.git(args, input.message, env)).trim();
  }

  async readCommit(sha: string): Promise<CommitObject> {
    const raw = await this.git(['cat-file', 'commit', sha]);
    const split = raw.indexOf('\n\n');
    const header = raw.slice(0, split);
    const message = raw.slice(split + 2);
    let tree = '';
    const parents: string[] = [];
    let author: Signature = { name: '', email: '', date: '' };
    let committer = author;
    for (const line of header.split('\n')) {
      const space = line.indexOf(' ');
      const key = line.slice(0, space);
      const value = line.slice(space + 1);
      if (key === 'tree') tree = value;
      else if (key === 'parent') parents.push(value);
      else if (key === 'author') author = parseSignature(value);
      else if (key === 'committer') committer = parseSignature(value);
    }
    return { sha, tree, parents, author, committer, message };
  }

  async isAncestor(ancestor: string, descendant: string): Promise<boolean> {
    const result = await execa('git', ['--git-dir', this.dir, 'merge-base', '--is-ancestor', ancestor, descendant], {
      reject: false,
    });
    return result.exitCode === 0;
  }

  /** Compare-and-swap ref update: fails when the ref moved since `expected` was read. */
  async updateRef(ref: string, sha: string, expected: string | undefined): Promise<boolean> {
    const result = await execa('git', ['--git-dir', this.dir, 'update-ref', ref, sha, expected ?? ZERO], {
      reject: false,
    });
    return result.exitCode === 0;
  }

  async deleteRef(ref: string): Promise<void> {
    await this.git(['update-ref', '-d', ref]);
  }

  /** `refs/...` names with their commit, optionally only those starting with `prefix`. */
  async listRefs(prefix = 'refs/'): Promise<{ ref: string; sha: string }[]> {
    const out = await this.git(['for-each-ref', '--format=%(refname) %(objectname)', prefix]);
    return out
      .split('\n')
      .filter((line) => line.length > 0)
      .map((line) => {
        const [ref = '', sha = ''] = line.split(' ');
        return { ref, sha };
      });
  }
}

function parseSignature(value: string): Signature {
  const match = /^(.*) <(.*)> (\d+) ([+-]\d{4})$/.exec(value);
  if (!match) return { name: value, email: '', date: '' };
  return { name: match[1] ?? '', email: match[2] ?? '', date: new Date(Number(match[3]) * 1000).toISOString() };
}
