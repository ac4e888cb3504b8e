import { SopsFormatError } from '../../errors.ts';
import type { Comment, Node, Scalar, ScalarValue, Span, Tree } from '../tree.ts';

/** Text helpers shared by the dotenv and INI stores: decoding, Go's whitespace, in-place edits. */

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const utf8 = new TextEncoder();

/**
 * Decodes a file as UTF-8. A BOM is kept in the text (the dotenv store keeps it in the first key,
 * as sops does; the INI parser skips it), so every byte can be written back.
 */
export function decodeText(bytes: Uint8Array): string {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    throw new SopsFormatError('not-utf8', 'file is not valid UTF-8 text');
  }
}

export function encodeText(text: string): Uint8Array {
  return utf8.encode(text);
}

/** Go's `unicode.IsSpace`, which `strings.TrimSpace` uses (it differs from JS `trim`: U+0085 yes, U+FEFF no). */
function isGoSpace(ch: string): boolean {
  switch (ch) {
    case '\t':
    case '\n':
    case '\v':
    case '\f':
    case '\r':
    case ' ':
    case '\u0085':
    case '\u00a0':
    case '\u1680':
    case '\u2028':
    case '\u2029':
    case '\u202f':
    case '\u205f':
    case '\u3000':
      return true;
    default:
      return ch >= '\u2000' && ch <= '\u200a';
  }
}

/** Length of the leading Go whitespace of `s`. */
export function leadingSpace(s: string): number {
  let i = 0;
  while (i < s.length && isGoSpace(s[i]!)) i++;
  return i;
}

export function goTrimSpace(s: string): string {
  let end = s.length;
  while (end > 0 && isGoSpace(s[end - 1]!)) end--;
  return s.slice(leadingSpace(s.slice(0, end)), end);
}

/** One replacement of `text[start, end)`; `start === end` inserts. */
export interface Edit {
  readonly start: number;
  readonly end: number;
  readonly text: string;
}

/**
 * Applies edits that do not overlap. Insertions at the offset where a replacement starts go first.
 * Overlapping edits are a bug in the store, never a user error.
 */
export function applyEdits(text: string, edits: readonly Edit[]): string {
  const sorted = [...edits].sort((a, b) => a.start - b.start || a.end - b.end);
  let out = '';
  let at = 0;
  for (const edit of sorted) {
    if (edit.start < at || edit.end < edit.start || edit.end > text.length) {
      throw new Error(`store bug: overlapping edit at ${edit.start}`);
    }
    out += text.slice(at, edit.start) + edit.text;
    at = edit.end;
  }
  return out + text.slice(at);
}

/** One physical line: `raw` includes its `\n`; `eof` when no `\n` ended it (Go's `ReadBytes`). */
export interface Line {
  readonly start: number;
  /** End of the content, before `\r\n` or `\n`. */
  readonly contentEnd: number;
  readonly end: number;
  readonly raw: string;
  readonly eof: boolean;
}

export function readLine(text: string, start: number): Line {
  const newline = text.indexOf('\n', start);
  if (newline < 0) return { start, contentEnd: text.length, end: text.length, raw: text.slice(start), eof: true };
  const contentEnd = newline > start && text[newline - 1] === '\r' ? newline - 1 : newline;
  return { start, contentEnd, end: newline + 1, raw: text.slice(start, newline + 1), eof: false };
}

/** The newline the file uses, for lines the store writes into it. */
export function newlineOf(text: string): '\n' | '\r\n' {
  const newline = text.indexOf('\n');
  return newline > 0 && text[newline - 1] === '\r' ? '\r\n' : '\n';
}

export type Leaf = Scalar | Comment;

/** Every scalar and comment of the tree in document order: what the emitters compare with the source. */
export function collectLeaves(tree: Tree): Leaf[] {
  const out: Leaf[] = [];
  const visit = (node: Node | Comment): void => {
    if (node.kind === 'scalar' || node.kind === 'comment') out.push(node);
    else if (node.kind === 'map') for (const item of node.items) visit(item.kind === 'entry' ? item.value : item);
    else if (node.kind === 'seq') for (const item of node.items) visit(item);
  };
  for (const branch of tree.branches) visit(branch);
  return out;
}

/** True when the tree still holds exactly the nodes read from the file, in the same order. */
export function sameLeaves(a: readonly Leaf[], b: readonly Leaf[]): boolean {
  return a.length === b.length && a.every((leaf, i) => leaf === b[i]);
}

function strValue(value: string): ScalarValue {
  return { type: 'str', value };
}

export function scalarWithOrigin(value: string, span: Span): Scalar {
  return { kind: 'scalar', value: strValue(value), origin: { span, value: strValue(value) } };
}

export function commentWithOrigin(text: string, span: Span): Comment {
  return { kind: 'comment', text, origin: { span, text } };
}

/**
 * Text of a value for a flat store. Both stores only ever read strings; other types reach them
 * when another store's tree is written as dotenv/INI. `floatText` is the store's float form.
 */
export function scalarText(value: ScalarValue, floatText: (x: number) => string): string {
  switch (value.type) {
    case 'str':
    case 'time':
      return value.value;
    case 'bytes':
      return new TextDecoder().decode(value.value);
    case 'int':
      return value.value.toString();
    case 'float':
      return floatText(value.value);
    case 'bool':
      return value.value ? 'true' : 'false';
  }
}
