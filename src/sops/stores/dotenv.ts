import { SopsFormatError } from '../../errors.ts';
import { flatten, unflatten } from '../flatten.ts';
import type { LoadedFile, Store } from '../store.ts';
import { sameScalar, type Entry, type Comment, type Mapping, type RawObject, type Span, type Tree } from '../tree.ts';
import {
  applyEdits,
  collectLeaves,
  commentWithOrigin,
  decodeText,
  encodeText,
  readLine,
  sameLeaves,
  scalarText,
  scalarWithOrigin,
  type Edit,
  type Leaf,
} from './dotenv-ini-text.ts';

/**
 * The dotenv store (sops-format.md §6.3, sops's `stores/dotenv/store.go`): `KEY=value` lines,
 * nothing trimmed and no quoting; `#` lines are top-level comments; metadata is the `sops_…` lines.
 */

const METADATA_PREFIX = 'sops_';

interface DotenvLayout {
  readonly store: 'dotenv';
  /** The tree's leaves as read, to tell an in-place edit from a changed structure. */
  readonly leaves: readonly Leaf[];
  /** Whole `sops_…` lines, newline included. */
  readonly metadataLines: readonly Span[];
}

function parse(bytes: Uint8Array, encrypted: boolean): LoadedFile {
  const text = decodeText(bytes);
  const items: Array<Entry | Comment> = [];
  const metadataLines: Span[] = [];
  const metadata = new Map<string, string>();

  for (let at = 0, lineNo = 1; at < text.length; lineNo++) {
    const line = readLine(text, at);
    at = line.end;
    // Only `\n` splits lines: a `\r` before it stays in the value, as in sops.
    const lineEnd = line.eof ? line.end : line.end - 1;
    const content = text.slice(line.start, lineEnd);
    if (content === '') continue;
    if (content.startsWith('#')) {
      items.push(commentWithOrigin(content.slice(1), { start: line.start + 1, end: lineEnd }));
      continue;
    }
    const equals = content.indexOf('=');
    if (equals < 0) {
      // The line itself may be a secret: name it by number only.
      if (/^\s+$/.test(content)) throw new SopsFormatError('dotenv-blank-line', `dotenv line ${lineNo} holds only blanks`);
      throw new SopsFormatError('dotenv-missing-equals', `dotenv line ${lineNo} has no "="`);
    }
    const key = content.slice(0, equals);
    const value = content.slice(equals + 1).replaceAll('\\n', '\n');
    if (key.startsWith(METADATA_PREFIX)) {
      if (!encrypted) throw new SopsFormatError('already-encrypted', `file already encrypted: it has a "${METADATA_PREFIX}" key`);
      metadata.set(key.slice(METADATA_PREFIX.length), value);
      metadataLines.push({ start: line.start, end: line.end });
      continue;
    }
    items.push({ kind: 'entry', key, value: scalarWithOrigin(value, { start: line.start + equals + 1, end: lineEnd }) });
  }

  if (encrypted && metadata.size === 0) throw new SopsFormatError('metadata-not-found', 'sops metadata not found');
  const tree: Tree = { branches: [{ kind: 'map', items }] };
  const layout: DotenvLayout = { store: 'dotenv', leaves: collectLeaves(tree), metadataLines };
  return {
    format: 'dotenv',
    text,
    tree,
    ...(encrypted ? { metadata: unflatten(metadata) } : {}),
    layout,
  };
}

/** A value as sops writes it: a newline becomes the two characters `\n`. */
function renderValue(leaf: Leaf): string {
  if (leaf.kind === 'comment') return leaf.text.replaceAll('\n', '\n#');
  // sops writes non-strings with Go's `%v`-like text; floats never reach dotenv from its own files.
  return scalarText(leaf.value, (x) => String(x)).replaceAll('\n', '\\n');
}

/** The data as `sops decrypt` prints it: one `key=value` or `#comment` line per item. */
function renderTree(tree: Tree): string {
  const branch: Mapping | undefined = tree.branches[0];
  let out = '';
  for (const item of branch?.items ?? []) {
    if (item.kind === 'comment') {
      out += `#${renderValue(item)}\n`;
      continue;
    }
    const value = item.value;
    if (value.kind === 'map' || value.kind === 'seq') {
      throw new SopsFormatError('complex-value', `cannot use complex value in dotenv file (key "${item.key}")`);
    }
    out += `${item.key}=${value.kind === 'null' ? '' : renderValue(value)}\n`;
  }
  return out;
}

function renderMetadata(metadata: RawObject): string {
  let out = '';
  for (const [name, value] of flatten(metadata, METADATA_PREFIX)) out += `${name}=${value.replaceAll('\n', '\\n')}\n`;
  return out;
}

function layoutOf(file: LoadedFile): DotenvLayout {
  const layout = file.layout as Partial<DotenvLayout> | undefined;
  if (file.format !== 'dotenv' || layout?.store !== 'dotenv') throw new Error('store bug: not a file read by the dotenv store');
  return layout as DotenvLayout;
}

/**
 * The dotenv store. `emitEncrypted` keeps every line of the source and rewrites only values and
 * comments that changed; the old `sops_` lines are dropped and the new ones appended in the order
 * `metadata` gives. If the tree's structure changed (items added or removed) it writes the file
 * afresh as sops does. `emitPlain` always writes afresh: that is exactly what `sops decrypt` prints.
 */
export const dotenvStore: Store = {
  format: 'dotenv',

  parseEncrypted: (bytes) => parse(bytes, true),

  parsePlain: (bytes) => parse(bytes, false),

  emitEncrypted(file, metadata) {
    const layout = layoutOf(file);
    const leaves = collectLeaves(file.tree);
    if (!sameLeaves(leaves, layout.leaves)) return encodeText(renderTree(file.tree) + renderMetadata(metadata));

    const edits: Edit[] = layout.metadataLines.map((span) => ({ ...span, text: '' }));
    for (const leaf of leaves) {
      if (leaf.kind === 'scalar' && leaf.origin && !sameScalar(leaf.value, leaf.origin.value)) {
        edits.push({ ...leaf.origin.span, text: renderValue(leaf) });
      } else if (leaf.kind === 'comment' && leaf.origin && leaf.text !== leaf.origin.text) {
        edits.push({ ...leaf.origin.span, text: renderValue(leaf) });
      }
    }
    let out = applyEdits(file.text, edits);
    if (out !== '' && !out.endsWith('\n')) out += '\n';
    return encodeText(out + renderMetadata(metadata));
  },

  emitPlain: (tree) => encodeText(renderTree(tree)),
};
