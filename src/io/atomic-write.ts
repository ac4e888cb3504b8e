import { randomBytes } from 'node:crypto';
import { open, readdir, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** `.NAME.<12 hex>.tmp`: the temporary file {@link writeFileAtomic} writes beside `NAME`. */
const TEMPORARY_NAME = /^\.(.+)\.[0-9a-f]{12}\.tmp$/;

/**
 * Whether a file name is one of {@link writeFileAtomic}'s temporary files. A process killed between
 * creating it and the rename (SIGKILL, power loss) leaves it behind: a tree walk must not take it
 * for a file of the repository (complete, it is a copy of a SOPS file; cut short, a broken one).
 */
export function isAtomicTemporaryName(name: string): boolean {
  return TEMPORARY_NAME.test(name);
}

/**
 * Replaces `path` with `bytes` so that a reader sees the old file or the new one, never a part:
 * a temporary file in the same folder (same file system, so the rename is atomic), flushed to disk,
 * given the old file's mode, then renamed over it. On any failure the old file is untouched.
 * Once the new file is in place, temporary files that interrupted earlier writes of the same
 * `path` left behind are removed: they hold nothing the new file does not supersede.
 */
export async function writeFileAtomic(path: string, bytes: Uint8Array): Promise<void> {
  const mode = (await stat(path).catch(() => undefined))?.mode ?? 0o644;
  const temporary = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  const handle = await open(temporary, 'wx', mode & 0o7777);
  try {
    await handle.writeFile(bytes);
    await handle.chmod(mode & 0o7777);
    await handle.sync();
    await handle.close();
    await rename(temporary, path);
  } catch (error) {
    await handle.close().catch(() => undefined);
    await rm(temporary, { force: true });
    throw error;
  }
  await removeLeftovers(path);
}

/** Best effort: a leftover that cannot be listed or removed does not undo a completed write. */
async function removeLeftovers(path: string): Promise<void> {
  const names = await readdir(dirname(path)).catch(() => [] as string[]);
  const target = basename(path);
  await Promise.all(
    names
      .filter((name) => TEMPORARY_NAME.exec(name)?.[1] === target)
      .map((name) => rm(join(dirname(path), name), { force: true }).catch(() => undefined)),
  );
}
