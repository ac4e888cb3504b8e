import { SopsFormatError } from '../../errors.ts';
import { flatten, unflatten } from '../flatten.ts';
import type { LoadedFile, Store } from '../store.ts';
import { sameScalar, type Comment, type RawObject, type Tree } from '../tree.ts';
import {
  applyEdits,
  collectLeaves,
  decodeText,
  encodeText,
  newlineOf,
  readLine,
  sameLeaves,
  scalarText,
  type Edit,
  type Leaf,
} from './dotenv-ini-text.ts';
import { parseIni, type CommentPlace, type SopsPlace } from './ini-parse.ts';
import { renderCommentLines, renderIniTree, renderIniValue, renderSectionBody } from './ini-write.ts';

/**
 * The INI store (sops-format.md §6.4, sops's `stores/ini/store.go` on gopkg.in/ini.v1): one tree
 * entry per section, the `[sops]` section holding the flattened metadata.
 */

interface IniLayout {
  readonly store: 'ini';
  readonly leaves: readonly Leaf[];
  readonly comments: ReadonlyMap<Comment, CommentPlace>;
  readonly sops?: SopsPlace;
  readonly newline: '\n' | '\r\n';
}

function parse(bytes: Uint8Array, encrypted: boolean): LoadedFile {
  const text = decodeText(bytes);
  const parsed = parseIni(text, encrypted);
  if (encrypted && !parsed.sopsKeys) throw new SopsFormatError('metadata-not-found', 'sops metadata not found');
  const tree: Tree = { branches: [parsed.root] };
  const layout: IniLayout = {
    store: 'ini',
    leaves: collectLeaves(tree),
    comments: parsed.comments,
    ...(parsed.sops ? { sops: parsed.sops } : {}),
    newline: newlineOf(text),
  };
  if (!parsed.sopsKeys) return { format: 'ini', text, tree, layout };
  // Every literal `\n` in a metadata value is a newline (sops's `DecodeNewLines`); files from
  // 3.13.0/3.13.1 hold real newlines in `"""` values instead, which pass through unchanged.
  const flat = [...parsed.sopsKeys].map(([name, value]) => [name, value.replaceAll('\\n', '\n')] as const);
  return { format: 'ini', text, tree, metadata: unflatten(flat), layout };
}

/** The `[sops]` section as sops 3.13.2 writes it: flattened keys, newlines escaped, `=` aligned. */
function renderSops(metadata: RawObject, newline: string): string {
  const keys = [...flatten(metadata)].map(([name, value]) => ({ name, value: value.replaceAll('\n', '\\n') }));
  return `[sops]${newline}${renderSectionBody(keys, newline)}`;
}

/** ini.v1 writes a float as `FormatFloat(v, 'f', 6, 64)`; only trees from other stores hold one. */
const floatText = (x: number): string => x.toFixed(6);

function layoutOf(file: LoadedFile): IniLayout {
  const layout = file.layout as Partial<IniLayout> | undefined;
  if (file.format !== 'ini' || layout?.store !== 'ini') throw new Error('store bug: not a file read by the INI store');
  return layout as IniLayout;
}

/** End of the blank lines that follow `at`. */
function skipBlankLines(text: string, at: number): number {
  while (at < text.length) {
    const line = readLine(text, at);
    if (line.raw.trim() !== '') break;
    at = line.end;
  }
  return at;
}

function leafEdits(leaf: Leaf, layout: IniLayout): Edit[] {
  if (leaf.kind === 'scalar') {
    if (!leaf.origin || sameScalar(leaf.value, leaf.origin.value)) return [];
    return [{ ...leaf.origin.span, text: renderIniValue(scalarText(leaf.value, floatText)) }];
  }
  const place = layout.comments.get(leaf);
  if (!leaf.origin || !place || leaf.text === leaf.origin.text) return [];
  // The comment may have been several lines and an inline part: all of it goes, and its new
  // lines are written where its first line was (or above its key or header).
  const lines = renderCommentLines(leaf.text, place.style);
  const edits: Edit[] = place.deletions.map((span) => ({ ...span, text: '' }));
  if (lines.length > 0) {
    edits.push({ start: place.insertAt, end: place.insertAt, text: lines.map((line) => line + layout.newline).join('') });
  }
  return edits;
}

/**
 * The INI store. `emitEncrypted` keeps the source text and rewrites only the values and comments
 * that changed; the `[sops]` section is replaced in place when it is the last section, otherwise
 * removed and written at the end (sops always writes it last). A tree whose structure changed is
 * written afresh. `emitPlain` always writes afresh, in ini.v1's pretty format: what `sops decrypt`
 * prints.
 */
export const iniStore: Store = {
  format: 'ini',

  parseEncrypted: (bytes) => parse(bytes, true),

  parsePlain: (bytes) => parse(bytes, false),

  emitEncrypted(file, metadata) {
    const layout = layoutOf(file);
    const leaves = collectLeaves(file.tree);
    if (!sameLeaves(leaves, layout.leaves)) {
      return encodeText(renderIniTree(file.tree) + renderSops(metadata, '\n') + '\n');
    }
    const newline = layout.newline;
    const sops = renderSops(metadata, newline);
    const edits = leaves.flatMap((leaf) => leafEdits(leaf, layout));
    const old = layout.sops;
    if (old?.last) {
      edits.push({ start: old.start, end: old.contentEnd, text: sops });
      return encodeText(applyEdits(file.text, edits));
    }
    if (old) edits.push({ start: old.start, end: skipBlankLines(file.text, old.contentEnd), text: '' });
    let out = applyEdits(file.text, edits);
    if (out !== '' && !out.endsWith('\n')) out += newline;
    // A blank line between sections, as ini.v1 writes them.
    if (out !== '' && !/\n[ \t\r]*\n$/.test(out)) out += newline;
    return encodeText(out + sops + newline);
  },

  emitPlain: (tree) => encodeText(renderIniTree(tree)),
};
