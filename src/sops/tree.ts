/**
 * The tree of a SOPS file: the document's data without the `sops` metadata, as sops's stores
 * load it (sops-format.md §6). Every store parses into this shape and emits from it; the
 * crypto walk (values, AAD, MAC, selectors) only ever sees this shape.
 *
 * Nodes read from a file carry an `origin`: where their text stood and the value it held. When a
 * store emits a file it re-renders only the nodes whose value differs from their origin and copies
 * every other byte, so a rotated file differs from the old one only where sops would change it.
 */

/** A typed scalar, as go-yaml v3 / encoding/json / the flat stores type it (§1.3). */
export type ScalarValue =
  | { readonly type: 'str'; readonly value: string }
  /** Raw bytes: the binary store's payload, which need not be UTF-8 (§6.5). */
  | { readonly type: 'bytes'; readonly value: Uint8Array }
  /** Go `int` (64-bit): kept as bigint so no digit is lost (§1.3.2). */
  | { readonly type: 'int'; readonly value: bigint }
  | { readonly type: 'float'; readonly value: number }
  | { readonly type: 'bool'; readonly value: boolean }
  /** A YAML timestamp, held as Go's `MarshalText` form (RFC 3339, nanoseconds, `Z`). */
  | { readonly type: 'time'; readonly value: string };

/** Where a node's text stands in the source, as UTF-16 offsets into the decoded text. */
export interface Span {
  readonly start: number;
  readonly end: number;
}

export interface Scalar {
  readonly kind: 'scalar';
  value: ScalarValue;
  /** Set by a store when the node was read from text; absent for nodes built in memory. */
  readonly origin?: { readonly span: Span; readonly value: ScalarValue };
}

export interface Null {
  readonly kind: 'null';
}

/** A comment line. `text` is what follows the `#` (YAML, dotenv) or `;`/`#` (INI). */
export interface Comment {
  readonly kind: 'comment';
  text: string;
  /** YAML line comment (`key: value # text`): sops places it before its key (§6.1). */
  readonly inline?: boolean;
  readonly origin?: { readonly span: Span; readonly text: string };
}

export interface Entry {
  readonly kind: 'entry';
  readonly key: string;
  value: Node;
}

export interface Mapping {
  readonly kind: 'map';
  readonly items: Array<Entry | Comment>;
}

export interface Sequence {
  readonly kind: 'seq';
  readonly items: Array<Node | Comment>;
}

export type Node = Scalar | Null | Mapping | Sequence;

/**
 * The file's data: one mapping per YAML document (§6.1), exactly one for every other store.
 * For INI each top-level entry is a section whose value is a mapping of its keys.
 */
export interface Tree {
  readonly branches: Mapping[];
}

/** The `sops` metadata as the store read it, before any typing: YAML/JSON values or strings. */
export type RawValue = string | number | bigint | boolean | null | RawValue[] | RawObject;
export interface RawObject {
  [key: string]: RawValue;
}

export const str = (value: string): Scalar => ({ kind: 'scalar', value: { type: 'str', value } });

/** Deep equality of two scalar values, type included (`int 1` is not `float 1`). */
export function sameScalar(a: ScalarValue, b: ScalarValue): boolean {
  if (a.type !== b.type) return false;
  if (a.type === 'bytes' && b.type === 'bytes') {
    return a.value.length === b.value.length && a.value.every((byte, i) => byte === b.value[i]);
  }
  if (a.type === 'float' && b.type === 'float') return Object.is(a.value, b.value);
  return a.value === b.value;
}
