import { createHash } from 'node:crypto';
import { describeError, SopsRekeyError } from '../errors.ts';
import type { KeySources } from '../keys/data-key.ts';
import type { KeySource } from '../keys/key-source.ts';
import { DEFAULT_KMS_CONCURRENCY } from '../keys/gcp-kms.ts';
import { KmsKeySourceError } from '../kms/errors.ts';
import type { InventoryEntry, KeyInventory, KeyInventoryReader } from '../kms/inventory.ts';
import { type MasterKey, type MasterKeyType, masterKeyEnc, masterKeyId } from '../sops/master-key.ts';
import { readSopsFile, type SopsFile } from '../sops/sops-file.ts';
import type { RunGit, SkippedPath } from './discover.ts';
import { findSopsFiles, type SopsFileEntry, type SopsFileScan } from './find-sops-files.ts';
import { findFluxKustomizations, mapSopsFilesToKustomizations } from './flux.ts';
import type { GcpEntry, ScannedFile } from './plan.ts';
import { compareWithRule, loadSopsConfigs, matchCreationRule, nearestSopsConfig } from './sops-config.ts';
import { entryState, inventoryFingerprint, type UnwrapOutcome } from './states.ts';

/**
 * Scan of one working tree: every SOPS file found by content, each Cloud KMS entry unwrapped once
 * (or answered from the cache) and classified, the key inventory, Flux Kustomizations and
 * `.sops.yaml` rules. Data keys are dropped as soon as an unwrap has answered.
 */

/** Unwrap outcomes keyed by `enc` and the key's state: a warm rescan makes no Decrypt call. */
export type UnwrapCache = Map<string, UnwrapOutcome>;

export interface ScanOptions {
  readonly root: string;
  readonly sources: KeySources;
  readonly inventory: KeyInventoryReader;
  readonly cache?: UnwrapCache;
  readonly maxFileSize?: number;
  /** Decrypts in flight at once (default 16). */
  readonly concurrency?: number;
  /** Called as files are classified, for progress on a terminal. */
  readonly onProgress?: (done: number, total: number) => void;
  /** How git is run to list a checkout's files (default: a child process from this thread). */
  readonly git?: RunGit;
}

export interface ProblemFile {
  readonly path: string;
  readonly code: string;
  readonly reason: string;
}

export interface RuleNote {
  readonly path: string;
  readonly config: string;
  readonly missing: readonly string[];
  readonly extra: readonly string[];
}

export interface RepoScan {
  readonly files: readonly ScannedFile[];
  /** Files with SOPS markers that could not be read: the rest of the tree was still scanned. */
  readonly problems: readonly ProblemFile[];
  readonly skipped: readonly SkippedPath[];
  readonly inventory: ReadonlyMap<string, KeyInventory>;
  readonly inventoryFailures: readonly { readonly key: string; readonly reason: string }[];
  /** Files whose Cloud KMS keys differ from the `.sops.yaml` rule that matches them. */
  readonly ruleNotes: readonly RuleNote[];
  /** Decrypt calls this scan made (0 on a warm rescan). */
  readonly decryptCalls: number;
}

/** Types whose entries this app can wrap again; any other type makes a file a rewrap candidate. */
const WRAPPABLE: readonly MasterKeyType[] = ['gcp_kms', 'age', 'pgp'];

export async function scanRepository(options: ScanOptions): Promise<RepoScan> {
  // One pass: each SOPS file is parsed while its bytes are in hand (only the metadata is kept: the
  // tree and source text of thousands of files are not needed to classify them), the inventory of
  // each Cloud KMS key is read when a file first names it, and a file is classified (its Decrypt
  // sent) as soon as its keys' inventories are in, while later files are still being read.
  const inventories = new Map<string, Promise<InventoryEntry>>();
  const inventoryLimit = new Limiter(INVENTORY_CONCURRENCY);
  const inventoryOf = (key: string): Promise<InventoryEntry> => {
    let entry = inventories.get(key);
    if (entry === undefined) {
      entry = inventoryLimit.run(() => options.inventory.get(key));
      inventories.set(key, entry);
    }
    return entry;
  };
  const classifier = new EntryClassifier(options);
  const progress = new Progress(options.onProgress);
  const reads = new Map<string, ParsedFile | ProblemFile>();
  const classified = new Map<string, Omit<ScannedFile, 'kustomizations'>>();
  // Parsed files wait in a queue that `concurrency` workers drain: a waiting file costs an array
  // slot, not a suspended task of its own.
  const queue = new FileQueue();

  const classifyNext = async (): Promise<void> => {
    for (let file = await queue.next(); file !== undefined; file = await queue.next()) {
      const keys = gcpEntriesOf(file).map(({ key }) => masterKeyId(key));
      const inventory = new Map<string, KeyInventory>();
      for (const key of keys) {
        const read = await inventoryOf(key);
        if (read.ok) inventory.set(key, read.inventory);
      }
      classified.set(file.name, await classifyFile(file, classifier, inventory, options.sources));
      progress.done();
    }
  };
  const workers = Array.from({ length: Math.max(1, options.concurrency ?? DEFAULT_KMS_CONCURRENCY) }, () => {
    const worker = classifyNext();
    // A failure stops the queue so the other workers end too; it is rethrown below.
    worker.catch(() => queue.close());
    return worker;
  });

  const onSopsFile = (entry: SopsFileEntry, bytes: Uint8Array): void => {
    let file: ParsedFile;
    try {
      const { name, format, metadata } = readSopsFile(bytes, entry.path, entry.format);
      file = { name, format, metadata };
    } catch (error) {
      if (!(error instanceof SopsRekeyError)) throw error;
      reads.set(entry.path, { path: entry.path, code: error.code, reason: error.message });
      return;
    }
    reads.set(entry.path, file);
    for (const { key } of gcpEntriesOf(file)) void inventoryOf(masterKeyId(key));
    queue.push(file);
  };

  let found: SopsFileScan;
  try {
    found = await findSopsFiles(options.root, {
      ...(options.maxFileSize === undefined ? {} : { maxFileSize: options.maxFileSize }),
      ...(options.git ? { git: options.git } : {}),
      onSopsFile,
    });
  } catch (error) {
    queue.close();
    await Promise.allSettled(workers);
    throw error;
  }
  progress.total(queue.pushed);
  queue.end();

  // Results in path order, as the discovery lists the files.
  const problems: ProblemFile[] = found.malformed.map((m) => ({ path: m.path, code: 'malformed', reason: m.reason }));
  const parsed: ParsedFile[] = [];
  for (const entry of found.sopsFiles) {
    const read = reads.get(entry.path);
    if (read === undefined) continue;
    if ('metadata' in read) parsed.push(read);
    else problems.push(read);
  }
  // The Flux manifests and `.sops.yaml` rules are read while the last Decrypts are in flight: they
  // need the files, not the classification.
  const allPaths = found.discovery.files.map((f) => f.path);
  const around = Promise.all([fluxMapping(options.root, allPaths, parsed.map((f) => f.name)), ruleComparisons(options.root, allPaths, parsed)]);
  around.catch(() => {}); // awaited below, after the classifiers; a rejection is rethrown there

  for (const result of await Promise.allSettled(workers)) {
    if (result.status === 'rejected') throw result.reason;
  }
  const files = parsed.map((file) => classified.get(file.name)!);

  const inventory = new Map<string, KeyInventory>();
  const inventoryFailures: { key: string; reason: string }[] = [];
  const gcpKeys = new Set(parsed.flatMap((file) => gcpEntriesOf(file).map(({ key }) => masterKeyId(key))));
  for (const key of gcpKeys) {
    const entry = await inventoryOf(key);
    if (entry.ok) inventory.set(entry.key, entry.inventory);
    else inventoryFailures.push({ key: entry.key, reason: entry.failure.message });
  }

  const [flux, ruleNotes] = await around;
  return {
    files: files.map((file) => ({ ...file, kustomizations: flux.get(file.path) ?? [] })),
    problems: problems.sort((a, b) => (a.path < b.path ? -1 : 1)),
    skipped: found.skipped,
    inventory,
    inventoryFailures,
    ruleNotes,
    decryptCalls: classifier.decryptCalls,
  };
}

/** Inventory reads in flight at once (what `KeyInventoryReader.getAll` allows). */
const INVENTORY_CONCURRENCY = 8;

/** At most `limit` tasks run at once; the others wait their turn in the order they came. */
class Limiter {
  readonly #limit: number;
  #running = 0;
  readonly #waiting: (() => void)[] = [];

  constructor(limit: number) {
    this.#limit = Math.max(1, limit);
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.#running >= this.#limit) await new Promise<void>((resolve) => this.#waiting.push(resolve));
    this.#running++;
    try {
      return await task();
    } finally {
      this.#running--;
      this.#waiting.shift()?.();
    }
  }
}

/** Files waiting for a classifier: `next()` waits for one until `end()`; `close()` drops the rest. */
class FileQueue {
  pushed = 0;
  readonly #files: ParsedFile[] = [];
  #head = 0;
  #ended = false;
  #waiting: (() => void)[] = [];

  push(file: ParsedFile): void {
    this.#files.push(file);
    this.pushed++;
    this.#waiting.shift()?.();
  }

  async next(): Promise<ParsedFile | undefined> {
    while (this.#head === this.#files.length && !this.#ended) await new Promise<void>((resolve) => this.#waiting.push(resolve));
    if (this.#head === this.#files.length) return undefined;
    const file = this.#files[this.#head]!;
    // Handed over: the queue does not keep it (the classifier and the results do).
    this.#files[this.#head++] = undefined as never;
    return file;
  }

  /** No more files will come: waiting classifiers finish once the queue is empty. */
  end(): void {
    this.#ended = true;
    for (const resolve of this.#waiting.splice(0)) resolve();
  }

  /** Stops handing out files (after a failure). */
  close(): void {
    this.#head = this.#files.length;
    this.end();
  }
}

/**
 * `onProgress` as before the scan overlapped reading and classifying: called with the final total
 * only, so `done === total` still means every file was classified. Files classified while others
 * were still being read are reported when the reading ends.
 */
class Progress {
  readonly #report: ScanOptions['onProgress'];
  #done = 0;
  #total: number | undefined;

  constructor(report: ScanOptions['onProgress']) {
    this.#report = report;
  }

  done(): void {
    this.#done++;
    if (this.#total !== undefined) this.#report?.(this.#done, this.#total);
  }

  total(total: number): void {
    this.#total = total;
    if (this.#done > 0) this.#report?.(this.#done, total);
  }
}

/** What classification needs of a file. */
type ParsedFile = Pick<SopsFile, 'name' | 'format' | 'metadata'>;

function gcpEntriesOf(file: ParsedFile): { key: MasterKey; group: number }[] {
  return file.metadata.keyGroups.flatMap((group, index) => group.filter((key) => key.type === 'gcp_kms').map((key) => ({ key, group: index })));
}

class EntryClassifier {
  decryptCalls = 0;
  readonly #gcp: KeySource | undefined;
  readonly #cache: UnwrapCache;

  constructor(options: ScanOptions) {
    this.#gcp = options.sources.gcp_kms;
    this.#cache = options.cache ?? new Map();
  }

  async outcome(key: MasterKey, inventory: KeyInventory | undefined): Promise<UnwrapOutcome> {
    const cacheKey = `${createHash('sha256').update(masterKeyEnc(key)).digest('hex')}@${masterKeyId(key)}@${inventoryFingerprint(inventory)}`;
    const cached = this.#cache.get(cacheKey);
    if (cached) return cached;
    const outcome = await this.#unwrap(key);
    // Only definite answers are cached; an outage or a permission problem is asked again next time.
    if (outcome.ok || outcome.code === 'not-enabled') this.#cache.set(cacheKey, outcome);
    return outcome;
  }

  async #unwrap(key: MasterKey): Promise<UnwrapOutcome> {
    if (!this.#gcp) return { ok: false, code: 'no-source', reason: 'no Cloud KMS access is configured' };
    this.decryptCalls++;
    try {
      const { plaintext, evidence } = await this.#gcp.unwrap(key);
      plaintext.fill(0);
      return { ok: true, usedPrimary: evidence.source === 'gcp_kms' && evidence.usedPrimary };
    } catch (error) {
      if (error instanceof KmsKeySourceError) {
        return {
          ok: false,
          code: error.code,
          reason: error.message,
          ...(error.version === undefined ? {} : { version: error.version }),
          ...(error.state === undefined ? {} : { versionState: error.state }),
        };
      }
      if (error instanceof SopsRekeyError) return { ok: false, code: error.code, reason: error.message };
      return { ok: false, code: 'unexpected', reason: describeError(error) };
    }
  }
}

/** `inventory` holds the inventory of each of the file's Cloud KMS keys that could be read. */
async function classifyFile(
  file: ParsedFile,
  classifier: EntryClassifier,
  inventory: ReadonlyMap<string, KeyInventory>,
  sources: KeySources,
): Promise<Omit<ScannedFile, 'kustomizations'>> {
  const entries: GcpEntry[] = [];
  for (const { key, group } of gcpEntriesOf(file)) {
    const keyInventory = inventory.get(masterKeyId(key));
    const outcome = await classifier.outcome(key, keyInventory);
    entries.push({ key: masterKeyId(key), group, state: entryState(outcome, keyInventory) });
  }
  const types = new Set(file.metadata.keyGroups.flat().map((key) => key.type));
  return {
    path: file.name,
    format: file.format,
    entries,
    foreignKeyTypes: [...types].filter((type) => !WRAPPABLE.includes(type)).sort(),
    openable: await isOpenable(file, entries, sources),
  };
}

/**
 * Whether the data key can be had: enough groups hold either a Cloud KMS entry that still unwraps
 * (current or stale) or an age/PGP entry this app can open. Local keys are only tried when the
 * Cloud KMS entries alone do not suffice, and their plaintext is dropped at once.
 */
async function isOpenable(file: ParsedFile, entries: readonly GcpEntry[], sources: KeySources): Promise<boolean> {
  const groups = file.metadata.keyGroups;
  const needed = groups.length === 1 ? 1 : file.metadata.shamirThreshold || groups.length;
  let open = 0;
  for (const [index, group] of groups.entries()) {
    const viaKms = entries.some((e) => e.group === index && (e.state.kind === 'current' || e.state.kind === 'stale'));
    if (viaKms || (await opensLocally(group, sources))) open++;
    if (open >= needed) return true;
  }
  return false;
}

async function opensLocally(group: readonly MasterKey[], sources: KeySources): Promise<boolean> {
  for (const key of group) {
    if (key.type !== 'age' && key.type !== 'pgp') continue;
    const source = sources[key.type];
    if (!source) continue;
    try {
      (await source.unwrap(key)).plaintext.fill(0);
      return true;
    } catch {
      /* this key is not ours; try the next */
    }
  }
  return false;
}

async function fluxMapping(root: string, allFiles: readonly string[], sopsFiles: readonly string[]): Promise<Map<string, string[]>> {
  const { kustomizations } = await findFluxKustomizations(root, allFiles);
  const mapping = mapSopsFilesToKustomizations(kustomizations, sopsFiles);
  return new Map([...mapping].map(([file, refs]) => [file, refs.map((ref) => ref.id)]));
}

async function ruleComparisons(root: string, allFiles: readonly string[], files: readonly ParsedFile[]): Promise<RuleNote[]> {
  const configs = await loadSopsConfigs(root, allFiles);
  const notes: RuleNote[] = [];
  for (const file of files) {
    const configPath = nearestSopsConfig(file.name, configs.keys());
    const config = configPath === null ? undefined : configs.get(configPath);
    if (!config || config instanceof Error) continue;
    const relative = config.dir === '' ? file.name : file.name.slice(config.dir.length + 1);
    const rule = matchCreationRule(config, relative);
    if (!rule) continue;
    const comparison = compareWithRule(gcpEntriesOf(file).map(({ key }) => masterKeyId(key)), rule);
    if (!comparison.same) notes.push({ path: file.name, config: config.path, missing: comparison.missing, extra: comparison.extra });
  }
  return notes;
}
