/**
 * The key inventory: for each CryptoKey the run touches, its primary, every version with its
 * state and deadlines, and the key's rotation and destruction settings. Read once per key per
 * run; a key that cannot be read is reported with its classified failure, never fatal.
 */
import type { KeyManagementServiceClient } from '@google-cloud/kms';
import { mapConcurrent } from './concurrency.ts';
import { classifyKmsError, type KmsFailure, type VersionState } from './errors.ts';
import { withRetry, type RetryOptions } from './retry.ts';

export type KmsInventoryApi = Pick<KeyManagementServiceClient, 'getCryptoKey' | 'listCryptoKeyVersionsAsync'>;

export interface KeyVersionInfo {
  /** `projects/…/cryptoKeys/K/cryptoKeyVersions/N`. */
  readonly name: string;
  /** `N`. */
  readonly id: string;
  /** A `VersionState`, or the server's text for a state this code does not know. */
  readonly state: VersionState | string;
  readonly isPrimary: boolean;
  /** ISO 8601 UTC times; absent when the server did not set them. */
  readonly createTime?: string;
  readonly generateTime?: string;
  /** Set for DESTROY_SCHEDULED: when the version becomes DESTROYED (the deadline). */
  readonly destroyTime?: string;
  readonly destroyEventTime?: string;
  readonly algorithm?: string;
  readonly protectionLevel?: string;
}

export interface KeyInventory {
  readonly key: string;
  /** The primary version name, as `GetCryptoKey` reports it (not proof of propagation). */
  readonly primary?: string;
  readonly purpose?: string;
  readonly createTime?: string;
  /** Versions sorted by their numeric id. */
  readonly versions: readonly KeyVersionInfo[];
  /** Time between DestroyCryptoKeyVersion and DESTROYED, fixed at key creation. */
  readonly destroyScheduledDurationMs?: number;
  readonly rotationPeriodMs?: number;
  readonly nextRotationTime?: string;
}

export type InventoryEntry =
  | { readonly key: string; readonly ok: true; readonly inventory: KeyInventory }
  | { readonly key: string; readonly ok: false; readonly failure: KmsFailure };

export interface InventoryOptions {
  readonly retry?: RetryOptions;
  /** Keys read at once (default 8). */
  readonly concurrency?: number;
  /** Versions asked per page (default: the server's). */
  readonly pageSize?: number;
}

/**
 * Reads keys, each once for the life of this object (one run): repeated and concurrent asks for
 * the same key share one read.
 */
export class KeyInventoryReader {
  readonly #client: KmsInventoryApi;
  readonly #options: InventoryOptions;
  readonly #entries = new Map<string, Promise<InventoryEntry>>();

  constructor(client: KmsInventoryApi, options: InventoryOptions = {}) {
    this.#client = client;
    this.#options = options;
  }

  /** The inventory of one key, read on first ask. */
  get(key: string): Promise<InventoryEntry> {
    let entry = this.#entries.get(key);
    if (entry === undefined) {
      entry = readKey(this.#client, key, this.#options);
      this.#entries.set(key, entry);
    }
    return entry;
  }

  /** The inventories of `keys` (deduplicated), in the order first given. */
  async getAll(keys: Iterable<string>): Promise<InventoryEntry[]> {
    const unique = [...new Set(keys)];
    return mapConcurrent(unique, this.#options.concurrency ?? 8, (key) => this.get(key));
  }
}

/** Reads one key and its versions; failures are classified and returned, not thrown. */
async function readKey(client: KmsInventoryApi, key: string, options: InventoryOptions = {}): Promise<InventoryEntry> {
  const transient = (error: unknown): boolean => classifyKmsError(error).kind === 'transient';
  try {
    const [cryptoKey] = await withRetry(() => client.getCryptoKey({ name: key }, { retry: null }), transient, options.retry);
    const primary = cryptoKey.primary?.name ?? undefined;
    const raw = await withRetry(
      async () => {
        const all = [];
        const request = { parent: key, ...(options.pageSize === undefined ? {} : { pageSize: options.pageSize }) };
        for await (const version of client.listCryptoKeyVersionsAsync(request, { retry: null, autoPaginate: false })) all.push(version);
        return all;
      },
      transient,
      options.retry,
    );
    const versions = raw
      .map((v) => versionInfo(v, primary))
      .sort((a, b) => Number(a.id) - Number(b.id) || a.id.localeCompare(b.id));
    const inventory: KeyInventory = compact({
      key,
      primary: primary || undefined,
      purpose: enumText(cryptoKey.purpose),
      createTime: isoTime(cryptoKey.createTime),
      versions,
      destroyScheduledDurationMs: durationMs(cryptoKey.destroyScheduledDuration),
      rotationPeriodMs: durationMs(cryptoKey.rotationPeriod),
      nextRotationTime: isoTime(cryptoKey.nextRotationTime),
    });
    return { key, ok: true, inventory };
  } catch (error) {
    return { key, ok: false, failure: classifyKmsError(error) };
  }
}

interface RawVersion {
  name?: string | null;
  state?: unknown;
  createTime?: Timestamp | null;
  generateTime?: Timestamp | null;
  destroyTime?: Timestamp | null;
  destroyEventTime?: Timestamp | null;
  algorithm?: unknown;
  protectionLevel?: unknown;
}

function versionInfo(v: RawVersion, primary: string | undefined): KeyVersionInfo {
  const name = v.name ?? '';
  return compact({
    name,
    id: name.slice(name.lastIndexOf('/') + 1),
    state: enumText(v.state) ?? 'CRYPTO_KEY_VERSION_STATE_UNSPECIFIED',
    isPrimary: name !== '' && name === primary,
    createTime: isoTime(v.createTime),
    generateTime: isoTime(v.generateTime),
    destroyTime: isoTime(v.destroyTime),
    destroyEventTime: isoTime(v.destroyEventTime),
    algorithm: enumText(v.algorithm),
    protectionLevel: enumText(v.protectionLevel),
  });
}

interface Timestamp {
  seconds?: unknown;
  nanos?: number | null;
}

/** Timestamp/Duration → milliseconds. gax hands int64 `seconds` over as a string. */
function millis(value: Timestamp | null | undefined): number | undefined {
  if (value === null || value === undefined) return undefined;
  const seconds = Number(String(value.seconds ?? 0));
  if (!Number.isFinite(seconds)) return undefined;
  return seconds * 1000 + Math.floor((value.nanos ?? 0) / 1e6);
}

function isoTime(value: Timestamp | null | undefined): string | undefined {
  const ms = millis(value);
  // proto3 sends an unset message as absent, but an all-zero Timestamp means unset as well.
  return ms === undefined || ms === 0 ? undefined : new Date(ms).toISOString();
}

function durationMs(value: Timestamp | null | undefined): number | undefined {
  const ms = millis(value);
  return ms === 0 ? undefined : ms;
}

function enumText(value: unknown): string | undefined {
  if (typeof value === 'string' && value !== '') return value;
  if (typeof value === 'number') return String(value);
  return undefined;
}

/** Drops `undefined` fields so the data stays plain and its JSON minimal. */
function compact<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
