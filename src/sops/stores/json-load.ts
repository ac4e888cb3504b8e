/**
 * Reading JSON into the tree model (sops-format.md §6.2): the document is parsed once into a
 * syntax tree with spans; the data becomes `Node`s whose scalars remember their source token, the
 * top-level `sops` member becomes plain metadata. The syntax tree and the layout facts the emitter
 * needs are kept in the file's `layout`.
 */
import { SopsFormatError } from '../../errors.ts';
import type { LoadedFile, StoreFormat } from '../store.ts';
import type { Entry, Mapping, Node, RawObject, RawValue, Scalar, ScalarValue, Sequence } from '../tree.ts';
import { lineColumn, parseJsonSyntax, type JsonMember, type JsonObjectSyntax, type JsonSyntax } from './json-syntax.ts';

/** What the JSON emitter needs to rewrite a file it read. */
export interface JsonLayout {
  readonly root: JsonObjectSyntax;
  /** The top-level `sops` member of an encrypted file. */
  readonly metadata: JsonMember | undefined;
  /** One level of indentation as the file writes it; `undefined` when members share a line. */
  readonly indent: string | undefined;
  readonly newline: '\n' | '\r\n';
}

// Layouts this module made: a `LoadedFile` from another store (or forged) is never mistaken for one.
const layouts = new WeakSet<JsonLayout>();

export function isJsonLayout(layout: unknown): layout is JsonLayout {
  return typeof layout === 'object' && layout !== null && layouts.has(layout as JsonLayout);
}

export const METADATA_KEY = 'sops';

/**
 * Decodes and parses `bytes` as a JSON document whose top level is an object. With `encrypted`,
 * the top-level `sops` member is required and becomes `metadata`; without, it is refused.
 */
export function loadJson(bytes: Uint8Array, format: StoreFormat, encrypted: boolean): LoadedFile {
  // Keep a BOM in the text so the parser refuses it, as Go does, rather than dropping it silently.
  const text = new TextDecoder('utf-8', { ignoreBOM: true }).decode(bytes);
  const root = parseJsonSyntax(text);
  if (root.kind !== 'object') {
    throw new SopsFormatError('json-not-object', `the top level of a JSON document must be an object, not ${describe(root)}`);
  }
  const sopsMembers = root.members.filter((member) => member.key === METADATA_KEY);
  const [metadataMember, duplicate] = sopsMembers;
  if (duplicate !== undefined) {
    const { line } = lineColumn(text, duplicate.keySpan.start);
    throw new SopsFormatError('duplicate-metadata', `the top-level "sops" key appears more than once (again at line ${line})`);
  }
  if (!encrypted && metadataMember !== undefined) {
    throw new SopsFormatError('already-encrypted', 'the file already has a top-level "sops" key: it is already encrypted');
  }
  let metadata: RawObject | undefined;
  if (encrypted) {
    if (metadataMember === undefined || metadataMember.value.kind === 'null') {
      throw new SopsFormatError('metadata-not-found', 'sops metadata not found: the file has no top-level "sops" object');
    }
    if (metadataMember.value.kind !== 'object') {
      throw new SopsFormatError('metadata-not-object', `the top-level "sops" value must be an object, not ${describe(metadataMember.value)}`);
    }
    metadata = toRawObject(metadataMember.value);
  }
  const data: Mapping = {
    kind: 'map',
    items: root.members.filter((member) => member !== metadataMember).map(toEntry),
  };
  const layout: JsonLayout = { root, metadata: metadataMember, indent: detectIndent(text, root), newline: detectNewline(text) };
  layouts.add(layout);
  return { format, text, tree: { branches: [data] }, ...(metadata === undefined ? {} : { metadata }), layout };
}

function toEntry(member: JsonMember): Entry {
  return { kind: 'entry', key: member.key, value: toNode(member.value) };
}

function toNode(syntax: JsonSyntax): Node {
  switch (syntax.kind) {
    case 'object':
      return { kind: 'map', items: syntax.members.map(toEntry) } satisfies Mapping;
    case 'array':
      return { kind: 'seq', items: syntax.items.map(toNode) } satisfies Sequence;
    case 'null':
      return { kind: 'null' };
    default: {
      const value = scalarValue(syntax);
      return { kind: 'scalar', value, origin: { span: syntax.span, value } } satisfies Scalar;
    }
  }
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/**
 * The typed value of a scalar token, as sops ≥ 3.13.2 reads it: an integer literal in the int64
 * range is an `int` (kept as bigint), any other number a float64 (§6.2, §1.3.2).
 */
export function scalarValue(syntax: Extract<JsonSyntax, { kind: 'string' | 'number' | 'bool' }>): ScalarValue {
  if (syntax.kind === 'string') return { type: 'str', value: syntax.value };
  if (syntax.kind === 'bool') return { type: 'bool', value: syntax.value };
  if (!/[.eE]/.test(syntax.text)) {
    const int = BigInt(syntax.text);
    if (int >= INT64_MIN && int <= INT64_MAX) return { type: 'int', value: int };
  }
  // The parser has refused literals beyond float64, so this is finite.
  return { type: 'float', value: Number(syntax.text) };
}

function toRawObject(syntax: JsonObjectSyntax): RawObject {
  const out: RawObject = {};
  for (const member of syntax.members) {
    // defineProperty, not assignment: a key named `__proto__` must stay a plain key.
    Object.defineProperty(out, member.key, { value: toRaw(member.value), enumerable: true, writable: true, configurable: true });
  }
  return out;
}

function toRaw(syntax: JsonSyntax): RawValue {
  switch (syntax.kind) {
    case 'object':
      return toRawObject(syntax);
    case 'array':
      return syntax.items.map(toRaw);
    case 'null':
      return null;
    case 'string':
    case 'bool':
      return syntax.value;
    case 'number': {
      // Metadata numbers (`shamir_threshold`) are small; plain numbers are what callers expect.
      const value = scalarValue(syntax).value;
      return typeof value === 'bigint' ? Number(value) : (value as number);
    }
  }
}

function describe(syntax: JsonSyntax): string {
  return syntax.kind === 'bool' ? 'a boolean' : `${syntax.kind === 'array' || syntax.kind === 'object' ? 'an' : 'a'} ${syntax.kind}`;
}

/**
 * The indentation of one level, taken from the whitespace before the first member of the root
 * object: a tab (sops's default), or N spaces. `undefined` when the first member does not start a
 * line (a compact document), and a tab for an empty root.
 */
function detectIndent(text: string, root: JsonObjectSyntax): string | undefined {
  const first = root.members[0];
  if (first === undefined) return '\t';
  const before = text.slice(root.span.start + 1, first.keySpan.start);
  const lineBreak = before.lastIndexOf('\n');
  if (lineBreak === -1) return undefined;
  const indent = before.slice(lineBreak + 1);
  return /^(?:\t|  *)$/.test(indent) ? indent : '\t';
}

function detectNewline(text: string): '\n' | '\r\n' {
  const at = text.indexOf('\n');
  return at > 0 && text[at - 1] === '\r' ? '\r\n' : '\n';
}
