import { realpath } from 'node:fs/promises';
import path from 'node:path';
import { SopsRekeyError } from '../errors.ts';
import { writeFileAtomic } from '../io/atomic-write.ts';
import type { KeySources } from '../keys/data-key.ts';
import { mapConcurrent } from '../kms/concurrency.ts';
import { DEFAULT_MAX_FILE_SIZE } from './discover.ts';
import { readTextCandidate } from './find-sops-files.ts';
import type { FilePlan, Method, Plan } from './plan.ts';
import { rewrapFile, rotateFile } from './transform.ts';

/**
 * Carries out a plan on a working tree: each file to re-encrypt gets new bytes, wrapped by the
 * primary the plan names (explicitly, in the Encrypt request), verified, and only then written.
 * A file that fails stays untouched and is reported; the others go on.
 */

export interface ApplyOptions {
  readonly root: string;
  readonly sources: KeySources;
  /** Default: atomic write in place. The GitHub App collects the bytes for a commit instead. */
  readonly write?: (relativePath: string, bytes: Uint8Array) => Promise<void>;
  readonly now?: Date;
  /** Files re-encrypted at once (default 4). */
  readonly concurrency?: number;
}

export interface AppliedFile {
  readonly path: string;
  readonly method: Method;
  readonly urgent: boolean;
  /** For each Cloud KMS entry wrapped anew, the version Cloud KMS reported using. */
  readonly wrappedBy: readonly { readonly key: string; readonly version: string }[];
}

export interface FailedFile {
  readonly path: string;
  readonly code: string;
  readonly reason: string;
}

export interface ApplyResult {
  readonly applied: readonly AppliedFile[];
  readonly failed: readonly FailedFile[];
}

/** The files the plan re-encrypts now (`rekey` and `rescue`), in plan order. */
export function actionable(plan: Plan): FilePlan[] {
  return plan.files.filter((file) => file.action.kind === 'rekey' || file.action.kind === 'rescue');
}

/**
 * Re-encrypts every actionable file of `plan`, a few at a time. Only typed errors become `failed`
 * entries: anything else is a bug and is thrown, since the remaining files may be affected too.
 */
export async function applyPlan(plan: Plan, options: ApplyOptions): Promise<ApplyResult> {
  const write = options.write ?? ((relative, bytes) => writeFileAtomic(path.join(options.root, relative), bytes));
  // The tree's real location, once: each planned file's directory must still resolve inside it.
  const rootReal = await realpath(options.root);
  const applied: AppliedFile[] = [];
  const failed: FailedFile[] = [];
  await mapConcurrent(actionable(plan), options.concurrency ?? 4, async ({ file, action }) => {
    if (action.kind !== 'rekey' && action.kind !== 'rescue') return;
    try {
      const bytes = await readPlannedFile(options.root, rootReal, file.path);
      const rekeyOptions = { format: file.format, gcpVersionFor: (key: string) => action.target.get(key), ...(options.now ? { now: options.now } : {}) };
      const result =
        action.method === 'rotate'
          ? await rotateFile(bytes, file.path, options.sources, rekeyOptions)
          : // Rewrap touches only the Cloud KMS entries: the others keep their exact `enc`.
            await rewrapFile(bytes, file.path, options.sources, { ...rekeyOptions, include: (key) => key.type === 'gcp_kms' });
      await write(file.path, result.bytes);
      applied.push({
        path: file.path,
        method: action.method,
        urgent: action.kind === 'rescue',
        wrappedBy: result.wrapped.flatMap(({ key, evidence }) =>
          evidence.source === 'gcp_kms' ? [{ key: String(key.fields.resource_id), version: evidence.version }] : [],
        ),
      });
    } catch (error) {
      if (!(error instanceof SopsRekeyError)) throw error;
      failed.push({ path: file.path, code: error.code, reason: error.message });
    }
  });
  const byPath = (a: { path: string }, b: { path: string }) => (a.path < b.path ? -1 : 1);
  return { applied: applied.sort(byPath), failed: failed.sort(byPath) };
}

const CHANGED: Partial<Record<string, string>> = {
  symlink: 'a symbolic link',
  missing: 'missing',
  'not-a-file': 'not a regular file',
  'too-large': 'larger than the scan limit',
};

/** A planned file is no longer the regular file inside the tree that the scan read. */
export class TreeChangedError extends SopsRekeyError {
  readonly category = 'user';
}

/**
 * Reads a planned file as the scan did, not through whatever is at its path now: a file or a
 * directory above it that became a symlink since the scan (it could point out of the tree, and
 * the re-encrypted copy of an outside file would then be written into the tree and pushed), or a
 * file that became something else or too large, is refused and left alone.
 */
async function readPlannedFile(root: string, rootReal: string, relative: string): Promise<Uint8Array> {
  const full = path.join(root, relative);
  const dirReal = await realpath(path.dirname(full)).catch(() => undefined);
  if (dirReal === undefined || (dirReal !== rootReal && !dirReal.startsWith(rootReal + path.sep))) {
    throw new TreeChangedError('changed-since-scan', 'changed since the scan: it is no longer inside the tree (a directory above it moved or became a link)', { file: relative });
  }
  const read = readTextCandidate(full, DEFAULT_MAX_FILE_SIZE);
  if (read.kind === 'text') return read.bytes;
  const now = read.kind === 'binary' ? 'binary' : CHANGED[read.reason] ?? read.reason;
  throw new TreeChangedError('changed-since-scan', `changed since the scan: it is now ${now}`, { file: relative });
}
