/**
 * Writing JSON (sops-format.md §6.2). A file read by `loadJson` is rewritten in place: only the
 * scalars whose value changed are re-rendered, and the `sops` member is replaced (or appended to a
 * plaintext file's root object), so a rotated file differs from the old one only where its values
 * and metadata changed. Anything else (another store's file, a tree whose shape changed) is
 * emitted fresh, in Go's `json.Indent` layout.
 */
import { Buffer } from 'node:buffer';
import { SopsFormatError } from '../../errors.ts';
import { goBytesToString, goCompact, goFloat, goIndent, goQuote, rawToGoJson, type GoJson } from '../go-json.ts';
import type { LoadedFile } from '../store.ts';
import { sameScalar, type Mapping, type Node, type RawObject, type ScalarValue, type Span } from '../tree.ts';
import { isJsonLayout, METADATA_KEY, type JsonLayout } from './json-load.ts';
import type { JsonMember, JsonSyntax } from './json-syntax.ts';

/**
 * How a `bytes` scalar is written. Go marshals a `[]byte` as base64 (`json`), but the binary
 * store holds its payload as a Go string, written as text (`binary`).
 */
export type BytesAs = 'base64' | 'text';

interface Edit {
  readonly span: Span;
  readonly text: string;
}

/** One scalar as Go's `json.Marshal` writes it. */
export function scalarText(value: ScalarValue, bytesAs: BytesAs): string {
  switch (value.type) {
    case 'str':
    case 'time':
      return goQuote(value.value);
    case 'int':
      return value.value.toString();
    case 'float':
      return goFloat(value.value);
    case 'bool':
      return value.value ? 'true' : 'false';
    case 'bytes':
      return goQuote(bytesAs === 'base64' ? Buffer.from(value.value).toString('base64') : goBytesToString(value.value));
  }
}

/** A node as Go would marshal it; comments do not exist in JSON and are left out. */
function nodeToGoJson(node: Node, bytesAs: BytesAs): GoJson {
  switch (node.kind) {
    case 'null':
      return { kind: 'text', text: 'null' };
    case 'scalar':
      return { kind: 'text', text: scalarText(node.value, bytesAs) };
    case 'seq':
      return {
        kind: 'array',
        items: node.items.flatMap((item) => (item.kind === 'comment' ? [] : [nodeToGoJson(item, bytesAs)])),
      };
    case 'map':
      return { kind: 'object', members: mapMembers(node, bytesAs) };
  }
}

function mapMembers(map: Mapping, bytesAs: BytesAs): Array<readonly [string, GoJson]> {
  return map.items.flatMap((item) => (item.kind === 'comment' ? [] : [[item.key, nodeToGoJson(item.value, bytesAs)] as const]));
}

/**
 * A whole document in sops's own layout: the data mapping, then `sops` when `metadata` is given,
 * indented by `unit` (a tab unless configured otherwise), with a trailing newline.
 */
export function emitFreshJson(
  branch: Mapping | undefined,
  metadata: RawObject | undefined,
  bytesAs: BytesAs,
  unit = '\t',
  newline = '\n',
): string {
  const members = branch === undefined ? [] : mapMembers(branch, bytesAs);
  if (metadata !== undefined) {
    if (members.some(([key]) => key === METADATA_KEY)) {
      throw new SopsFormatError('reserved-key', 'the data holds a top-level "sops" key, which is reserved for the metadata');
    }
    members.push([METADATA_KEY, rawToGoJson(metadata)]);
  }
  return goIndent({ kind: 'object', members }, unit, '', newline) + newline;
}

/**
 * The encrypted file for `file` as it is now, with `metadata` as its `sops` member. A file this
 * store read keeps every byte except the changed scalars and the metadata block.
 */
export function emitEncryptedJson(file: LoadedFile, metadata: RawObject, bytesAs: BytesAs): string {
  const layout = file.layout;
  // Like sops, JSON holds one document: only the first branch is written.
  const branch = file.tree.branches[0];
  if (!isJsonLayout(layout) || branch === undefined) {
    return emitFreshJson(branch, metadata, bytesAs);
  }
  const edits: Edit[] = [];
  const members = layout.root.members.filter((member) => member !== layout.metadata);
  if (!collectMemberEdits(branch, members, edits, bytesAs)) {
    return emitFreshJson(branch, metadata, bytesAs, layout.indent ?? '\t', layout.newline);
  }
  edits.push(metadataEdit(file.text, layout, metadata));
  return applyEdits(file.text, edits);
}

/** Replaces the old `sops` value in place, or appends a `sops` member to the root object. */
function metadataEdit(text: string, layout: JsonLayout, metadata: RawObject): Edit {
  const value = rawToGoJson(metadata);
  const { root, indent, newline } = layout;
  if (layout.metadata !== undefined) {
    const base = lineIndent(text, layout.metadata.keySpan.start);
    const rendered = indent === undefined || base === undefined ? goCompact(value) : goIndent(value, indent, base, newline);
    return { span: layout.metadata.value.span, text: rendered };
  }
  const last = root.members.at(-1);
  const key = goQuote(METADATA_KEY);
  if (last === undefined) {
    const unit = indent ?? '\t';
    const rendered = goIndent({ kind: 'object', members: [[METADATA_KEY, value]] }, unit, '', newline);
    return { span: root.span, text: rendered };
  }
  const at = { start: last.value.span.end, end: last.value.span.end };
  const base = lineIndent(text, last.keySpan.start);
  if (indent === undefined || base === undefined) {
    return { span: at, text: `,${key}:${goCompact(value)}` };
  }
  return { span: at, text: `,${newline}${base}${key}: ${goIndent(value, indent, base, newline)}` };
}

/** The whitespace that starts the line holding `offset`, if only whitespace precedes it there. */
function lineIndent(text: string, offset: number): string | undefined {
  const lineStart = text.lastIndexOf('\n', offset - 1) + 1;
  const lead = text.slice(lineStart, offset);
  return /^[ \t]*$/.test(lead) ? lead : undefined;
}

/**
 * Walks the tree against the syntax it was read from, collecting a re-render for every scalar
 * whose value left its origin. False when the shapes no longer match (an entry added, removed or
 * renamed, a node replaced): the caller then emits the whole document fresh.
 */
function collectEdits(node: Node, syntax: JsonSyntax, edits: Edit[], bytesAs: BytesAs): boolean {
  switch (node.kind) {
    case 'null':
      return syntax.kind === 'null';
    case 'map':
      return syntax.kind === 'object' && collectMemberEdits(node, syntax.members, edits, bytesAs);
    case 'seq': {
      if (syntax.kind !== 'array') return false;
      const items = node.items.filter((item) => item.kind !== 'comment');
      return (
        items.length === syntax.items.length &&
        items.every((item, i) => collectEdits(item, syntax.items[i] as JsonSyntax, edits, bytesAs))
      );
    }
    case 'scalar': {
      const origin = node.origin;
      if (origin === undefined || origin.span.start !== syntax.span.start || origin.span.end !== syntax.span.end) {
        return false;
      }
      if (!sameScalar(node.value, origin.value)) edits.push({ span: syntax.span, text: scalarText(node.value, bytesAs) });
      return true;
    }
  }
}

function collectMemberEdits(map: Mapping, members: readonly JsonMember[], edits: Edit[], bytesAs: BytesAs): boolean {
  const entries = map.items.filter((item) => item.kind === 'entry');
  return (
    entries.length === members.length &&
    entries.every((entry, i) => {
      const member = members[i] as JsonMember;
      return entry.key === member.key && collectEdits(entry.value, member.value, edits, bytesAs);
    })
  );
}

function applyEdits(text: string, edits: Edit[]): string {
  const sorted = edits.toSorted((a, b) => a.span.start - b.span.start);
  let out = '';
  let copied = 0;
  for (const edit of sorted) {
    out += text.slice(copied, edit.span.start) + edit.text;
    copied = edit.span.end;
  }
  return out + text.slice(copied);
}
