import { SopsFormatError } from '../errors.ts';
import { MASTER_KEY_TYPES, type MasterKey, type MasterKeyType } from './master-key.ts';
import { SELECTOR_KINDS, type Selector } from './selectors.ts';
import type { RawObject, RawValue } from './tree.ts';

/**
 * The `sops` metadata block (sops-format.md §5), typed. Reading accepts every layout sops has
 * written (any key order, `null` and `[]` lists, strings from INI/dotenv); writing follows sops
 * 3.13 (keys sorted at every level, empty lists left out). Fields this tool does not interpret are
 * kept in `extra` and written back.
 */
export interface SopsMetadata {
  readonly keyGroups: readonly (readonly MasterKey[])[];
  /** 0 when the file names none. */
  readonly shamirThreshold: number;
  /** Exactly as stored; `macAad` gives the canonical form the MAC is bound to. */
  readonly lastModified: string;
  readonly mac: string;
  readonly version: string;
  /** The rule the file names, if any (`DEFAULT_SELECTOR` applies otherwise). */
  readonly selector: Selector | undefined;
  readonly macOnlyEncrypted: boolean;
  readonly extra: RawObject;
}

/** A master-key entry: every field sops needs must be a string; others are kept as they are. */
const entryFields: Record<MasterKeyType, readonly string[]> = {
  age: ['recipient', 'enc'],
  pgp: ['fp', 'enc'],
  gcp_kms: ['resource_id', 'enc'],
  kms: ['arn', 'enc'],
  azure_kv: ['vault_url', 'name', 'version', 'enc'],
  hc_vault: ['vault_address', 'engine_path', 'key_name', 'enc'],
  hckms: ['key_id', 'enc'],
};


const KNOWN_FIELDS = new Set<string>([
  ...MASTER_KEY_TYPES,
  ...SELECTOR_KINDS,
  'key_groups',
  'shamir_threshold',
  'lastmodified',
  'mac',
  'version',
  'mac_only_encrypted',
]);

/** Types a raw `sops` block; every problem is a format error naming the field. */
export function parseMetadata(raw: RawObject): SopsMetadata {
  const topLevel = readGroup(raw, 'sops');
  const keyGroups = topLevel.length > 0 ? [topLevel] : readKeyGroups(raw.key_groups);
  if (keyGroups.length === 0) throw new SopsFormatError('no-keys', 'sops metadata holds no master keys');

  const selectors = SELECTOR_KINDS.filter((kind) => raw[kind] !== undefined && raw[kind] !== null && raw[kind] !== '');
  if (selectors.length > 1) {
    throw new SopsFormatError('multiple-selectors', `sops metadata sets more than one of ${selectors.join(', ')}`);
  }
  const selectorKind = selectors[0];
  const extra: RawObject = {};
  for (const [key, value] of Object.entries(raw)) if (!KNOWN_FIELDS.has(key)) extra[key] = value;

  return {
    keyGroups,
    shamirThreshold: readInteger(raw.shamir_threshold, 'shamir_threshold'),
    lastModified: requireString(raw.lastmodified, 'lastmodified'),
    mac: optionalString(raw.mac, 'mac'),
    version: requireString(raw.version, 'version'),
    selector: selectorKind === undefined ? undefined : { kind: selectorKind, value: requireString(raw[selectorKind], selectorKind) },
    macOnlyEncrypted: readBoolean(raw.mac_only_encrypted, 'mac_only_encrypted'),
    extra,
  };
}

/** The block as sops 3.13 writes it: keys sorted at every level, empty key lists left out. */
export function metadataToRaw(metadata: SopsMetadata): RawObject {
  const out: RawObject = { ...metadata.extra };
  if (metadata.keyGroups.length === 1) {
    Object.assign(out, groupToRaw(metadata.keyGroups[0]!, false));
  } else {
    out.key_groups = metadata.keyGroups.map((group) => groupToRaw(group, true));
  }
  if (metadata.shamirThreshold !== 0) out.shamir_threshold = metadata.shamirThreshold;
  out.lastmodified = metadata.lastModified;
  out.mac = metadata.mac;
  out.version = metadata.version;
  if (metadata.selector) out[metadata.selector.kind] = metadata.selector.value;
  if (metadata.macOnlyEncrypted) out.mac_only_encrypted = true;
  return sortKeys(out);
}

/**
 * The MAC's AAD: `lastmodified` parsed as RFC 3339 and formatted again with Go's `time.RFC3339`
 * (sops-format.md §3.3): fraction dropped, a zero offset written `Z`.
 */
export function macAad(lastModified: string): string {
  const match = /^(\d{4}-\d{2}-\d{2})[Tt](\d{2}:\d{2}:\d{2})(?:\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/.exec(lastModified);
  if (!match) throw new SopsFormatError('bad-lastmodified', 'sops.lastmodified is not an RFC 3339 timestamp');
  const offset = match[3]!;
  const zone = /^[Zz]$|^[+-]00:00$/.test(offset) ? 'Z' : offset;
  return `${match[1]}T${match[2]}${zone}`;
}

/** `lastmodified` for a write now: `YYYY-MM-DDTHH:MM:SSZ`, as sops writes it. */
export function lastModifiedAt(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function readKeyGroups(value: RawValue | undefined): MasterKey[][] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new SopsFormatError('bad-metadata', 'sops.key_groups is not a list');
  return value.map((group, index) => {
    if (!isObject(group)) throw new SopsFormatError('bad-metadata', `sops.key_groups[${index}] is not a mapping`);
    return readGroup(group, `sops.key_groups[${index}]`);
  });
}

/** Loads one group in sops's load order: kms, gcp_kms, hckms, azure_kv, hc_vault, pgp, age. */
function readGroup(group: RawObject, where: string): MasterKey[] {
  const keys: MasterKey[] = [];
  for (const type of MASTER_KEY_TYPES) {
    const entries = readEntries(group[type]);
    if (!entries) throw new SopsFormatError('bad-metadata', `${where}.${type} is not a list of mappings`);
    entries.forEach((entry, index) => {
      for (const field of entryFields[type]) {
        if (!isScalarText(entry[field])) throw new SopsFormatError('bad-metadata', `${where}.${type}[${index}].${field} is missing`);
      }
      keys.push({ type, fields: entry });
    });
  }
  return keys;
}

/**
 * A list of master-key entries: absent and `null` are none; anything but a list of mappings is
 * undefined. Each entry is a copy without a `__proto__` key, as the schema library this replaced
 * returned it (it cost the process ~16 MiB to load, for these three checks).
 */
function readEntries(value: RawValue | undefined): RawObject[] | undefined {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) return undefined;
  const entries: RawObject[] = [];
  // Indexed, not iterated: a hole in the list is `undefined`, not a mapping.
  for (let index = 0; index < value.length; index++) {
    const item = value[index];
    if (!isObject(item)) return undefined;
    const copy: RawObject = {};
    for (const key of Object.keys(item)) if (key !== '__proto__') copy[key] = item[key]!;
    entries.push(copy);
  }
  return entries;
}

/** A field sops reads as text: a string, or a scalar it would print (no NaN or infinity). */
function isScalarText(value: RawValue | undefined): boolean {
  return typeof value === 'string' || typeof value === 'bigint' || typeof value === 'boolean' || (typeof value === 'number' && Number.isFinite(value));
}

function groupToRaw(group: readonly MasterKey[], inKeyGroups: boolean): RawObject {
  const out: RawObject = {};
  // In key_groups, sops's struct has no omitempty on age and hc_vault (sops-format.md §5.3).
  if (inKeyGroups) Object.assign(out, { age: [], hc_vault: [] });
  for (const key of group) {
    const list = (out[key.type] ??= []) as RawValue[];
    list.push(sortKeys(key.fields));
  }
  return out;
}

function sortKeys(object: RawObject): RawObject {
  const sorted: RawObject = {};
  for (const key of Object.keys(object).sort(byteOrder)) sorted[key] = object[key]!;
  return sorted;
}

const byteOrder = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

function isObject(value: RawValue | undefined): value is RawObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function requireString(value: RawValue | undefined, field: string): string {
  if (typeof value === 'string' && value !== '') return value;
  throw new SopsFormatError('bad-metadata', `sops.${field} is missing or not a string`);
}

function optionalString(value: RawValue | undefined, field: string): string {
  if (value === undefined || value === null) return '';
  if (typeof value === 'string') return value;
  throw new SopsFormatError('bad-metadata', `sops.${field} is not a string`);
}

function readInteger(value: RawValue | undefined, field: string): number {
  if (value === undefined || value === null || value === '') return 0;
  // Objects are refused before any conversion: `Number()` of a map holding `valueOf`/`toString`
  // keys throws a TypeError instead of giving NaN.
  const number = typeof value === 'object' ? Number.NaN : Number(value);
  if (!Number.isInteger(number) || number < 0 || number > 255) {
    throw new SopsFormatError('bad-metadata', `sops.${field} is not a small non-negative integer`);
  }
  return number;
}

function readBoolean(value: RawValue | undefined, field: string): boolean {
  if (value === undefined || value === null || value === false || value === 'false' || value === '') return false;
  if (value === true || value === 'true') return true;
  throw new SopsFormatError('bad-metadata', `sops.${field} is not a boolean`);
}
