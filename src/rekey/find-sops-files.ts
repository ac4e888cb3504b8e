import { Buffer } from 'node:buffer';
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';
import type { StoreFormat } from '../sops/store.ts';
import { DEFAULT_MAX_FILE_SIZE, discoverFiles } from './discover.ts';
import type { DiscoverOptions, Discovery, SkippedPath } from './discover.ts';
import { mapConcurrent } from '../kms/concurrency.ts';
import { sniffSops } from './sniff.ts';

export interface SopsFileEntry {
  readonly path: string;
  readonly format: StoreFormat;
  readonly size: number;
}

/** A file carrying SOPS markers that its store cannot parse: reported, never skipped silently. */
export interface MalformedSopsFile {
  readonly path: string;
  readonly format: StoreFormat;
  readonly reason: string;
}

export interface SopsFileScan {
  /** Every file the scan looked at, for the steps that read other files (`.sops.yaml`, Flux). */
  readonly discovery: Discovery;
  readonly sopsFiles: SopsFileEntry[];
  readonly malformed: MalformedSopsFile[];
  /** Paths from the discovery plus files that changed under the scan (grew, became a link). */
  readonly skipped: SkippedPath[];
}

/** Files read at once: enough to hide the file system's latency, few enough to bound memory. */
const READ_CONCURRENCY = 16;

/** A text file never holds NUL; most binaries show one in their first block. */
const PROBE_SIZE = 8192;

export interface FindSopsFilesOptions extends DiscoverOptions {
  /**
   * Called for each SOPS file as soon as it is sniffed, with its bytes, in the order reads finish:
   * a caller that needs the content (the scan parses the metadata) reads each file once, and can
   * start work on it while other files are still being read. The bytes are not kept afterwards.
   */
  readonly onSopsFile?: (entry: SopsFileEntry, bytes: Uint8Array) => void;
}

/**
 * Finds the SOPS files of `root` by content: {@link discoverFiles}, then each file is read (at
 * most `maxFileSize` bytes, binaries after their first block only) and sniffed.
 */
export async function findSopsFiles(root: string, options: FindSopsFilesOptions = {}): Promise<SopsFileScan> {
  const discovery = await discoverFiles(root, options);
  const maxFileSize = options.maxFileSize ?? DEFAULT_MAX_FILE_SIZE;
  const sopsFiles: SopsFileEntry[] = [];
  const malformed: MalformedSopsFile[] = [];
  const skipped = [...discovery.skipped];
  // Reads overlap (each is several round trips to the thread pool); a file's bytes are dropped as
  // soon as it is sniffed, and the verdicts keep the path order.
  const verdicts = await mapConcurrent(discovery.files, READ_CONCURRENCY, async (file) => {
    const read = await readTextCandidate(path.join(root, file.path), maxFileSize);
    // Only the verdict is kept: holding every file's bytes until the loop ends would make the
    // scan's memory grow with the size of the repository.
    if (read.kind !== 'text') return { read };
    const sniffed = sniffSops(read.bytes, file.path);
    if (sniffed.kind === 'sops') options.onSopsFile?.({ path: file.path, format: sniffed.format, size: read.bytes.length }, read.bytes);
    return { read: { kind: 'text' as const }, size: read.bytes.length, sniffed };
  });
  for (const [index, file] of discovery.files.entries()) {
    const { read, size, sniffed } = verdicts[index]!;
    if (read.kind === 'skip') {
      skipped.push({ path: file.path, reason: read.reason, ...(read.size === undefined ? {} : { size: read.size }) });
      continue;
    }
    if (sniffed?.kind === 'sops') sopsFiles.push({ path: file.path, format: sniffed.format, size: size ?? 0 });
    if (sniffed?.kind === 'malformed') malformed.push({ path: file.path, format: sniffed.format, reason: sniffed.reason });
  }
  return { discovery, sopsFiles, malformed, skipped };
}

type ReadResult =
  | { readonly kind: 'text'; readonly bytes: Uint8Array }
  | { readonly kind: 'binary' }
  | { readonly kind: 'skip'; readonly reason: SkippedPath['reason']; readonly size?: number };

/**
 * Reads a discovered file again, defensively: the tree may have changed since it was listed.
 * `O_NOFOLLOW` refuses a file that became a symlink, `O_NONBLOCK` keeps a file that became a FIFO
 * from blocking the open until some writer comes (it changes nothing for a regular file), and the
 * type and size are checked on the open file.
 */
export async function readTextCandidate(full: string, maxFileSize: number): Promise<ReadResult> {
  let handle: FileHandle;
  try {
    handle = await open(full, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (error) {
    return { kind: 'skip', reason: (error as NodeJS.ErrnoException).code === 'ELOOP' ? 'symlink' : 'missing' };
  }
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) return { kind: 'skip', reason: 'not-a-file' };
    if (stat.size > maxFileSize) return { kind: 'skip', reason: 'too-large', size: stat.size };
    const buffer = Buffer.alloc(stat.size);
    const first = await handle.read(buffer, 0, Math.min(PROBE_SIZE, stat.size), 0);
    if (buffer.subarray(0, first.bytesRead).includes(0)) return { kind: 'binary' };
    let filled = first.bytesRead;
    while (filled < stat.size) {
      const { bytesRead } = await handle.read(buffer, filled, stat.size - filled, filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    return { kind: 'text', bytes: buffer.subarray(0, filled) };
  } finally {
    await handle.close();
  }
}
