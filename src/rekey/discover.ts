import { existsSync, lstatSync, realpathSync } from 'node:fs';
import { readdir, realpath } from 'node:fs/promises';
import path from 'node:path';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { execa } from 'execa';
import { SopsRekeyError } from '../errors.ts';
import { isAtomicTemporaryName } from '../io/atomic-write.ts';

/** Files above this size are not read: no SOPS file is that large, and a scan must stay cheap. */
export const DEFAULT_MAX_FILE_SIZE = 5 * 1024 * 1024;

/** Paths inspected between two turns of the event loop (see `inspect`). */
const PATHS_PER_TURN = 256;

/** Directories a walk never enters (a git checkout lists tracked files instead). */
export const DEFAULT_IGNORED_DIRS: readonly string[] = ['.git', 'node_modules'];

export interface DiscoverOptions {
  /** Larger files are skipped with reason `too-large`. Default {@link DEFAULT_MAX_FILE_SIZE}. */
  readonly maxFileSize?: number;
  /**
   * `auto` (default): the tracked files when `root` is in a git work tree, else a directory walk.
   * `git` insists on a work tree; `walk` ignores git.
   */
  readonly source?: 'auto' | 'git' | 'walk';
  /** Directory names the walk does not enter. Default {@link DEFAULT_IGNORED_DIRS}. */
  readonly ignoredDirs?: readonly string[];
  /** Runs git in a directory and gives its output; default {@link gitOutput} (the app runs it off its event loop). */
  readonly git?: RunGit;
}

/** Runs `git ARGS` in `cwd` and resolves with its standard output; rejects when git fails. */
export type RunGit = (cwd: string, args: readonly string[]) => Promise<string>;

/** A regular file inside the tree, small enough to read. */
export interface DiscoveredFile {
  /** Relative to `root`, POSIX separators, no `.` or `..` segment. */
  readonly path: string;
  readonly size: number;
}

/**
 * Why a path was not kept:
 * - `symlink-outside-tree`: it, or a directory above it, resolves outside `root`;
 * - `symlink`: a link to a file inside the tree, which is listed (if at all) under its own path,
 *   the one a rewrite must change;
 * - `broken-symlink`, `missing` (tracked but absent from the work tree), `not-a-file` (directory,
 *   submodule, fifo…), `too-large`, `unsafe-path` (absolute, or with `.`/`..` segments).
 */
export type SkipReason =
  | 'symlink-outside-tree'
  | 'symlink'
  | 'broken-symlink'
  | 'missing'
  | 'not-a-file'
  | 'too-large'
  | 'unsafe-path';

export interface SkippedPath {
  readonly path: string;
  readonly reason: SkipReason;
  /** For `too-large`. */
  readonly size?: number;
  /** For `symlink`: the target, relative to `root`. */
  readonly target?: string;
}

export interface Discovery {
  readonly source: 'git' | 'walk';
  /** Sorted by path (code-unit order), so a scan's output is stable. */
  readonly files: DiscoveredFile[];
  readonly skipped: SkippedPath[];
}

/** Listing the files of a tree failed as a whole (git unusable in a checkout, root unreadable). */
export class DiscoveryError extends SopsRekeyError {
  readonly category = 'user';
}

/**
 * Lists the files of `root` that a scan may read: in a git checkout only tracked files (untracked
 * and ignored files are not part of the repository), elsewhere every file below `root` except in
 * `.git` and `node_modules`. Nothing is read here; only metadata is looked at, so huge files cost
 * nothing. Symlinks are never followed out of the tree.
 */
export async function discoverFiles(root: string, options: DiscoverOptions = {}): Promise<Discovery> {
  const maxFileSize = options.maxFileSize ?? DEFAULT_MAX_FILE_SIZE;
  const rootReal = await realpath(root).catch((cause: unknown) => {
    throw new DiscoveryError('root-unreadable', `cannot open the tree to scan: ${root}`, { cause });
  });
  const git = options.git ?? gitOutput;
  const source = await chooseSource(rootReal, options.source ?? 'auto', git);
  const candidates =
    source === 'git'
      ? await gitTrackedFiles(rootReal, git)
      : await walk(rootReal, new Set(options.ignoredDirs ?? DEFAULT_IGNORED_DIRS));

  const files: DiscoveredFile[] = [];
  const skipped: SkippedPath[] = [];
  for (const [index, rel] of candidates.entries()) {
    if (index > 0 && index % PATHS_PER_TURN === 0) await yieldToEventLoop();
    const verdict = inspect(rootReal, rel, maxFileSize);
    if ('reason' in verdict) skipped.push(verdict);
    else files.push(verdict);
  }
  files.sort((a, b) => compare(a.path, b.path));
  skipped.sort((a, b) => compare(a.path, b.path));
  return { source, files, skipped };
}

async function chooseSource(rootReal: string, wanted: 'auto' | 'git' | 'walk', git: RunGit): Promise<'git' | 'walk'> {
  if (wanted === 'walk') return 'walk';
  const result = await git(rootReal, ['rev-parse', '--is-inside-work-tree']).catch((error: unknown) => error);
  if (typeof result === 'string' && result.trim() === 'true') return 'git';
  // A checkout git cannot read (no git binary, unsafe ownership) must not fall back to a walk
  // silently: the walk would add untracked files.
  if (wanted === 'git' || existsSync(path.join(rootReal, '.git'))) {
    throw new DiscoveryError('git-unusable', `git cannot list the files of ${rootReal}`, {
      cause: result,
    });
  }
  return 'walk';
}

async function gitTrackedFiles(rootReal: string, git: RunGit): Promise<string[]> {
  const out = await git(rootReal, ['ls-files', '-z']);
  // Unmerged files appear once per stage.
  return [...new Set(out.split('\0').filter((p) => p !== ''))];
}

/** Git's own environment variables would point the command at another repository or index. */
const GIT_ENV_OVERRIDES = ['GIT_DIR', 'GIT_WORK_TREE', 'GIT_INDEX_FILE', 'GIT_OBJECT_DIRECTORY'];

export async function gitOutput(cwd: string, args: readonly string[]): Promise<string> {
  const env = { ...process.env };
  for (const name of GIT_ENV_OVERRIDES) delete env[name];
  const result = await execa('git', args, {
    cwd,
    env,
    extendEnv: false,
    stripFinalNewline: false,
    maxBuffer: 512 * 1024 * 1024,
  });
  return result.stdout;
}

async function walk(rootReal: string, ignoredDirs: ReadonlySet<string>): Promise<string[]> {
  const found: string[] = [];
  const pending = [''];
  for (let dir = pending.pop(); dir !== undefined; dir = pending.pop()) {
    const entries = await readdir(path.join(rootReal, dir), { withFileTypes: true });
    for (const entry of entries) {
      const rel = dir === '' ? entry.name : `${dir}/${entry.name}`;
      // Symlinked directories are not entered: they are reported like any other symlink.
      if (entry.isDirectory()) {
        if (!ignoredDirs.has(entry.name)) pending.push(rel);
      } else if (!isAtomicTemporaryName(entry.name)) {
        // A write a killed run left unfinished is no file of the tree (a checkout never lists it:
        // it is untracked); the next write of its target removes it.
        found.push(rel);
      }
    }
  }
  return found;
}

type Verdict = DiscoveredFile | SkippedPath;

/**
 * Synchronous, as the reads of find-sops-files.ts are, and for the same reason: for a checkout's
 * files lstat and realpath cost microseconds, far less than the promise API's own bookkeeping on
 * the event loop. The caller yields between batches.
 */
function inspect(rootReal: string, rel: string, maxFileSize: number): Verdict {
  if (!isSafeRelativePath(rel)) return { path: rel, reason: 'unsafe-path' };
  const full = path.join(rootReal, ...rel.split('/'));
  const stat = lstatSync(full, { throwIfNoEntry: false });
  if (stat === undefined) return { path: rel, reason: 'missing' };

  // Resolving every path (not only links) also catches a directory above the file that is a link,
  // which a tampered checkout can hold even though git itself never tracks files beyond one.
  const real = realpathOrUndefined(full);
  if (real === undefined) return { path: rel, reason: stat.isSymbolicLink() ? 'broken-symlink' : 'missing' };
  const target = insideRoot(rootReal, real);
  if (target === null) return { path: rel, reason: 'symlink-outside-tree' };
  if (target !== rel) return { path: rel, reason: 'symlink', target };

  if (!stat.isFile()) return { path: rel, reason: 'not-a-file' };
  if (stat.size > maxFileSize) return { path: rel, reason: 'too-large', size: stat.size };
  return { path: rel, size: stat.size };
}

function realpathOrUndefined(full: string): string | undefined {
  try {
    return realpathSync.native(full);
  } catch {
    return undefined;
  }
}

/** `real` relative to `rootReal` in POSIX form, or null when it lies outside. */
function insideRoot(rootReal: string, real: string): string | null {
  const rel = path.relative(rootReal, real);
  if (rel === '') return '.';
  if (rel === '..' || rel.startsWith(`..${path.sep}`) || path.isAbsolute(rel)) return null;
  return rel.split(path.sep).join('/');
}

/**
 * A path the tree may hold: relative, POSIX, no empty, `.` or `..` segment. Every path of a scan
 * goes through this, so a path read from git or from a config can never reach outside `root`.
 */
export function isSafeRelativePath(rel: string): boolean {
  if (rel === '' || rel.includes('\0') || rel.includes('\\') || rel.startsWith('/')) return false;
  return rel.split('/').every((segment) => segment !== '' && segment !== '.' && segment !== '..');
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
