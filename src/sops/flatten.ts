import { SopsFormatError } from '../errors.ts';
import type { RawObject, RawValue } from './tree.ts';

/**
 * Flattening of the `sops` metadata for the INI and dotenv stores (sops-format.md §6.6, sops's
 * `stores/flatten.go`): nested maps and lists become one level of string keys such as
 * `key_groups__list_1__map_age__list_0__map_recipient`.
 */

const MAP_SEPARATOR = '__map_';
const LIST_SEPARATOR = '__list_';

/**
 * Flattens `obj` into name → string, in depth-first order of the object as given (so the caller
 * decides the order lines are written in). Scalars become their text (`true`, `2`); `null`s and
 * empty lists or maps leave no entry, as sops writes none for them. `prefix` goes before every
 * top-level key (`sops_` for dotenv).
 */
export function flatten(obj: RawObject, prefix = ''): Map<string, string> {
  const out = new Map<string, string>();
  for (const [key, value] of Object.entries(obj)) flattenInto(out, prefix + key, value);
  return out;
}

function flattenInto(out: Map<string, string>, name: string, value: RawValue): void {
  if (value === null) return;
  if (Array.isArray(value)) {
    value.forEach((item, index) => flattenInto(out, `${name}${LIST_SEPARATOR}${index}`, item));
    return;
  }
  if (typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) flattenInto(out, name + MAP_SEPARATOR + key, item);
    return;
  }
  out.set(name, String(value));
}

type Token = { readonly kind: 'map'; readonly key: string } | { readonly kind: 'list'; readonly index: number };

/** What is being rebuilt: list items are kept by index until every index is known. */
type Building =
  | { readonly kind: 'map'; readonly entries: Map<string, Building | string> }
  | { readonly kind: 'list'; readonly items: Map<number, Building | string> };

/**
 * Rebuilds the nested metadata from flattened names (prefix already removed). Maps come back with
 * their keys sorted by byte order, as sops's Go maps do; values stay strings (the caller types
 * `shamir_threshold` and `mac_only_encrypted`). A later duplicate name wins, like a Go map.
 *
 * @throws SopsFormatError `bad-flattened-key` for a list index that is not a decimal number, a
 *   list with a missing index, or a name used both as a value and as a map or list.
 */
export function unflatten(entries: Iterable<readonly [string, string]>): RawObject {
  const root: Building = { kind: 'map', entries: new Map() };
  for (const [name, value] of entries) insert(root, tokenize(name), value, name);
  return finishMap(root, '');
}

/** Splits a name on the markers, as `tokenize` in flatten.go: the first token is always a map key. */
function tokenize(name: string): Token[] {
  const tokens: Token[] = [];
  let kind: 'first' | 'map' | 'list' = 'first';
  let tokenStart = 0;
  let i = 0;
  const finish = (): void => {
    if (kind === 'list') {
      const digits = name.slice(tokenStart + LIST_SEPARATOR.length, i);
      if (!/^(0|[1-9][0-9]{0,8})$/.test(digits)) {
        throw new SopsFormatError('bad-flattened-key', `metadata key "${name}" has a bad list index "${digits}"`);
      }
      tokens.push({ kind: 'list', index: Number(digits) });
    } else {
      const skip = kind === 'map' ? MAP_SEPARATOR.length : 0;
      tokens.push({ kind: 'map', key: name.slice(tokenStart + skip, i) });
    }
    tokenStart = i;
  };
  while (i < name.length) {
    if (name.startsWith(MAP_SEPARATOR, i)) {
      finish();
      kind = 'map';
      i += MAP_SEPARATOR.length;
    } else if (name.startsWith(LIST_SEPARATOR, i)) {
      finish();
      kind = 'list';
      i += LIST_SEPARATOR.length;
    } else {
      i++;
    }
  }
  finish();
  return tokens;
}

function insert(root: Building, tokens: readonly Token[], value: string, name: string): void {
  let node: Building = root;
  for (let t = 0; t < tokens.length; t++) {
    const token = tokens[t]!;
    const next = tokens[t + 1];
    const existing = get(node, token, name);
    if (next === undefined) {
      if (existing !== undefined && typeof existing !== 'string') conflict(name);
      set(node, token, value, name);
      return;
    }
    const wanted = next.kind;
    if (existing === undefined) {
      const child: Building = wanted === 'map' ? { kind: 'map', entries: new Map() } : { kind: 'list', items: new Map() };
      set(node, token, child, name);
      node = child;
    } else if (typeof existing === 'string' || existing.kind !== wanted) {
      conflict(name);
    } else {
      node = existing;
    }
  }
}

function get(node: Building, token: Token, name: string): Building | string | undefined {
  if (node.kind === 'map' && token.kind === 'map') return node.entries.get(token.key);
  if (node.kind === 'list' && token.kind === 'list') return node.items.get(token.index);
  return conflict(name);
}

function set(node: Building, token: Token, value: Building | string, name: string): void {
  if (node.kind === 'map' && token.kind === 'map') node.entries.set(token.key, value);
  else if (node.kind === 'list' && token.kind === 'list') node.items.set(token.index, value);
  else conflict(name);
}

function conflict(name: string): never {
  throw new SopsFormatError('bad-flattened-key', `metadata key "${name}" clashes with another key's structure`);
}

const utf8 = new TextEncoder();
/** Go sorts map keys by their UTF-8 bytes; UTF-16 order differs above the BMP. */
const byteOrder = (a: string, b: string): number => Buffer.compare(utf8.encode(a), utf8.encode(b));

function finish(node: Building | string, path: string): RawValue {
  if (typeof node === 'string') return node;
  return node.kind === 'map' ? finishMap(node, path) : finishList(node, path);
}

function finishMap(node: Building & { kind: 'map' }, path: string): RawObject {
  const out: RawObject = {};
  for (const key of [...node.entries.keys()].sort(byteOrder)) {
    // defineProperty: a key such as `__proto__` must stay an ordinary own key.
    Object.defineProperty(out, key, {
      value: finish(node.entries.get(key)!, path + MAP_SEPARATOR + key),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return out;
}

function finishList(node: Building & { kind: 'list' }, path: string): RawValue[] {
  const out: RawValue[] = [];
  for (let index = 0; index < node.items.size; index++) {
    const item = node.items.get(index);
    if (item === undefined) {
      throw new SopsFormatError('bad-flattened-key', `metadata list "${path.replace(/^__map_/, '')}" is missing index ${index}`);
    }
    out.push(finish(item, `${path}${LIST_SEPARATOR}${index}`));
  }
  return out;
}
