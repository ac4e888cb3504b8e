import { Buffer } from 'node:buffer';
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import path from 'node:path';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import type { StoreFormat } from '../sops/store.ts';
import { DEFAULT_MAX_FILE_SIZE, discoverFiles } from './discover.ts';
import type { DiscoverOptions, Discovery, SkippedPath } from './discover.ts';
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

/**
 * Files read between two turns of the event loop. The reads are synchronous: for the small files
 * of a checkout, open/fstat/read/close cost a few microseconds each, while the promise API spent
 * 40-75 us of the event loop's own time per file on its bookkeeping (measured on 2,000 files: 15-21
 * ms in all against 80-200 ms), time the GitHub App's webhook answers wait behind. Yielding every
 * so many files keeps any one block short however large the repository.
 */
const FILES_PER_TURN = 16;

/** A text file never holds NUL; most binaries show one in their first block. */
const PROBE_SIZE = 8192;

export interface FindSopsFilesOptions extends DiscoverOptions {
  /**
   * Called for each SOPS file as soon as it is sniffed, with its bytes, in path order: a caller
   * that needs the content (the scan parses the metadata) reads each file once, and can start work
   * on it (its Decrypt) while the other files are still being read. The bytes are not kept afterwards.
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
  for (const [index, file] of discovery.files.entries()) {
    if (index > 0 && index % FILES_PER_TURN === 0) await yieldToEventLoop();
    const read = readTextCandidate(path.join(root, file.path), maxFileSize);
    if (read.kind === 'skip') {
      skipped.push({ path: file.path, reason: read.reason, ...(read.size === undefined ? {} : { size: read.size }) });
      continue;
    }
    if (read.kind !== 'text') continue;
    // The bytes go no further than here (and `onSopsFile`): the scan's memory does not grow with
    // the size of the repository.
    const sniffed = sniffSops(read.bytes, file.path);
    if (sniffed.kind === 'sops') {
      const entry = { path: file.path, format: sniffed.format, size: read.bytes.length };
      sopsFiles.push(entry);
      options.onSopsFile?.(entry, read.bytes);
    }
    if (sniffed.kind === 'malformed') malformed.push({ path: file.path, format: sniffed.format, reason: sniffed.reason });
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
export function readTextCandidate(full: string, maxFileSize: number): ReadResult {
  let fd: number;
  try {
    fd = openSync(full, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (error) {
    return { kind: 'skip', reason: (error as NodeJS.ErrnoException).code === 'ELOOP' ? 'symlink' : 'missing' };
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) return { kind: 'skip', reason: 'not-a-file' };
    if (stat.size > maxFileSize) return { kind: 'skip', reason: 'too-large', size: stat.size };
    const buffer = Buffer.alloc(stat.size);
    const first = readSync(fd, buffer, 0, Math.min(PROBE_SIZE, stat.size), 0);
    if (buffer.subarray(0, first).includes(0)) return { kind: 'binary' };
    let filled = first;
    while (filled < stat.size) {
      const bytesRead = readSync(fd, buffer, filled, stat.size - filled, filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    return { kind: 'text', bytes: buffer.subarray(0, filled) };
  } finally {
    closeSync(fd);
  }
}
