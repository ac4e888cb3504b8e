import { Buffer } from 'node:buffer';
import { Composer, isMap, Parser } from 'yaml';
import type { Document } from 'yaml';
import type { StoreFormat } from '../sops/store.ts';
import { readBlockYaml } from '../sops/stores/yaml-block.ts';

/**
 * What the content of a file says about it:
 * - `sops`: it carries SOPS metadata, readable by the store `format`;
 * - `plain`: no SOPS metadata (or not text at all);
 * - `malformed`: it has the textual markers of SOPS metadata but does not parse as the store they
 *   point to. Callers report it rather than skip it, so a damaged secret is not silently ignored.
 */
export type SniffResult =
  | { readonly kind: 'sops'; readonly format: StoreFormat }
  | { readonly kind: 'plain' }
  | { readonly kind: 'malformed'; readonly format: StoreFormat; readonly reason: string };

const PLAIN: SniffResult = { kind: 'plain' };

/** Every store writes `lastmodified` (sops-format.md §5.2): the cheapest test that rules most files out. */
const LASTMODIFIED = Buffer.from('lastmodified');
/** How far to look for a NUL byte: text formats never hold one, real binaries do early. */
const BINARY_PROBE = 8192;

const YAML_SOPS_KEY = /^(?:sops|"sops"|'sops')[ \t]*:/m;
const JSON_SOPS_KEY = /"sops"[ \t\r\n]*:/;
const INI_SOPS_SECTION = /^[ \t]*\[[ \t]*sops[ \t]*\][ \t]*\r?$/m;
const DOTENV_LASTMODIFIED = /^sops_lastmodified=/m;
const DOTENV_MAC_OR_VERSION = /^sops_(?:mac|version)=/m;

/**
 * Tells whether `bytes` is a SOPS file and for which store, by content, not by name: sops picks a
 * store by suffix, but repositories keep SOPS YAML in `.txt`, binary-store JSON in `.yaml`, etc.
 *
 * The metadata counts when it holds `lastmodified` and `mac` (or `version`, so that files written
 * without a MAC, like the `no_mac.yaml` vector, are still found):
 * - YAML/JSON: a top-level `sops` mapping of the first document; JSON whose only keys are a string
 *   `data` and `sops` is the binary store (§6.5);
 * - dotenv: `sops_lastmodified=` and `sops_mac=` lines;
 * - INI: a `[sops]` section with `lastmodified` and `mac` keys.
 *
 * Runs on every tracked file of a repository, so it rejects most files after one byte search and
 * parses only files that carry the markers. `path` only orders the checks (the store its suffix
 * names first), which matters only for a file whose text carries the markers of several stores.
 */
export function sniffSops(bytes: Uint8Array, path: string): SniffResult {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buffer.subarray(0, BINARY_PROBE).includes(0)) return PLAIN;
  if (!buffer.includes(LASTMODIFIED)) return PLAIN;
  const text = decodeUtf8(buffer);
  if (text === null) return PLAIN;
  for (const check of orderedChecks(path)) {
    const result = check(text);
    if (result !== null) return result;
  }
  return PLAIN;
}

/** A check answers null when its store's markers are absent, so the next one can look. */
type Check = (text: string) => SniffResult | null;

const CHECKS: Record<'json' | 'yaml' | 'ini' | 'dotenv', Check> = {
  json: checkJson,
  yaml: checkYaml,
  ini: checkIni,
  dotenv: checkDotenv,
};

function orderedChecks(path: string): Check[] {
  const preferred = suffixFormat(path);
  const order: Array<keyof typeof CHECKS> = ['json', 'yaml', 'ini', 'dotenv'];
  if (preferred !== null) order.sort((a, b) => Number(b === preferred) - Number(a === preferred));
  return order.map((name) => CHECKS[name]);
}

function suffixFormat(path: string): keyof typeof CHECKS | null {
  const lower = path.toLowerCase();
  if (lower.endsWith('.yaml') || lower.endsWith('.yml')) return 'yaml';
  if (lower.endsWith('.json')) return 'json';
  if (lower.endsWith('.env')) return 'dotenv';
  if (lower.endsWith('.ini')) return 'ini';
  return null;
}

function decodeUtf8(buffer: Buffer): string | null {
  try {
    const text = new TextDecoder('utf-8', { fatal: true }).decode(buffer);
    return text.startsWith('\uFEFF') ? text.slice(1) : text;
  } catch {
    return null;
  }
}

function checkJson(text: string): SniffResult | null {
  if (!text.trimStart().startsWith('{') || !JSON_SOPS_KEY.test(text)) return null;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    // Flow-style YAML also starts with `{` and is read by the YAML store.
    const doc = firstYamlDocument(text);
    if (doc !== undefined && doc.errors.length === 0) return yamlVerdict(doc);
    return { kind: 'malformed', format: 'json', reason: 'JSON does not parse' };
  }
  if (!isRecord(value)) return null;
  const sops = value.sops;
  if (!isRecord(sops) || !hasMetadataKeys((key) => Object.hasOwn(sops, key))) return PLAIN;
  const keys = Object.keys(value);
  const binary = keys.length === 2 && typeof value.data === 'string';
  return { kind: 'sops', format: binary ? 'binary' : 'json' };
}

function checkYaml(text: string): SniffResult | null {
  if (!YAML_SOPS_KEY.test(text)) return null;
  // The engine's reader of plain block YAML first: the scan parses the file with it next anyway,
  // and it is several times faster than the general parser, which stays for everything it hands
  // back (flow style, anchors, damaged files: the general parser says why they do not parse).
  const sops = readBlockYaml(text)?.sops[0];
  if (sops !== undefined && hasMetadataKeys((key) => Object.hasOwn(sops, key))) return { kind: 'sops', format: 'yaml' };
  const doc = firstYamlDocument(text);
  if (doc === undefined || doc.errors.length > 0) {
    const reason = doc?.errors[0]?.code ?? 'no document';
    return { kind: 'malformed', format: 'yaml', reason: `YAML does not parse (${reason})` };
  }
  return yamlVerdict(doc);
}

function yamlVerdict(doc: Document.Parsed): SniffResult {
  const contents = doc.contents;
  if (!isMap(contents)) return PLAIN;
  const sops = contents.get('sops', true);
  if (!isMap(sops) || !hasMetadataKeys((key) => sops.has(key))) return PLAIN;
  return { kind: 'sops', format: 'yaml' };
}

/**
 * Only the first document holds the metadata that counts (§5.1). The composer is lazy, so the
 * documents after it are never built.
 */
function firstYamlDocument(text: string): Document.Parsed | undefined {
  const composer = new Composer({ uniqueKeys: false });
  for (const doc of composer.compose(new Parser().parse(text), true)) return doc;
  return undefined;
}

function checkIni(text: string): SniffResult | null {
  const header = INI_SOPS_SECTION.exec(text);
  if (header === null) return null;
  const keys = new Set<string>();
  const rest = text.slice(header.index + header[0].length).split('\n');
  for (const line of rest) {
    const trimmed = line.trim();
    if (trimmed.startsWith('[')) break;
    const key = /^([A-Za-z_]+)[ \t]*[=:]/.exec(trimmed)?.[1];
    if (key !== undefined) keys.add(key);
  }
  return hasMetadataKeys((key) => keys.has(key)) ? { kind: 'sops', format: 'ini' } : PLAIN;
}

function checkDotenv(text: string): SniffResult | null {
  if (!DOTENV_LASTMODIFIED.test(text)) return null;
  return DOTENV_MAC_OR_VERSION.test(text) ? { kind: 'sops', format: 'dotenv' } : PLAIN;
}

function hasMetadataKeys(has: (key: string) => boolean): boolean {
  return has('lastmodified') && (has('mac') || has('version'));
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
