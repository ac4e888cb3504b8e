/**
 * The last step of reading one YAML document, shared by both readers (the general one on the
 * `yaml` package's documents and the fast one for plain block files): comments placed, the `sops`
 * entry taken out of the tree, and the layout the editor needs.
 */
import { SopsFormatError } from '../../errors.ts';
import type { Entry, Mapping, Node, RawObject, RawValue, Scalar } from '../tree.ts';
import { placeComments } from './yaml-comments.ts';
import type { CommentToken, SourceIndex } from './yaml-comments.ts';
import type { DocumentLayout, ScalarPlace } from './yaml-layout.ts';
import type { LineIndex } from './yaml-source.ts';

/** What a reader built for one document, before comments and metadata are sorted out. */
export interface BuiltDocument {
  readonly root: Mapping;
  readonly flowRoot: boolean;
  /** Column of the root mapping's keys. */
  readonly column: number;
  readonly index: SourceIndex;
  /** The document's comments, in source order. */
  readonly comments: readonly CommentToken[];
  /** The document's text range. */
  readonly from: number;
  readonly to: number;
}

export interface FinishedDocument {
  readonly root: Mapping;
  readonly sops: RawObject | undefined;
  readonly layout: DocumentLayout;
}

/** Places comments, removes the top-level `sops` entry (returned as plain values) and lays out the document. */
export function finishDocument(
  lines: LineIndex,
  places: ReadonlyMap<Scalar, ScalarPlace>,
  built: BuiltDocument,
): FinishedDocument {
  const { root, index } = built;
  placeComments(lines, index, root, built.comments);

  const sopsAt = root.items.findIndex((item) => item.kind === 'entry' && item.key === 'sops');
  let sops: RawObject | undefined;
  let sopsLayout: DocumentLayout['sops'];
  if (sopsAt !== -1) {
    const entry = root.items[sopsAt] as Entry;
    if (entry.value.kind !== 'map') {
      throw new SopsFormatError('sops-metadata-not-mapping', 'the top-level sops key must hold a mapping');
    }
    sops = raw(places, entry.value) as RawObject;
    sopsLayout = sopsBlock(lines, index.sortKeys.get(entry) ?? 0);
    root.items.splice(sopsAt, 1);
  }

  return {
    root,
    sops,
    layout: {
      ...(sopsLayout ? { sops: sopsLayout } : {}),
      appendAt: documentEnd(lines, built.from, built.to),
      column: built.column,
      flowRoot: built.flowRoot,
      root,
    },
  };
}

/** The `sops` block converted to plain values; unquoted timestamps stay as their text. */
function raw(places: ReadonlyMap<Scalar, ScalarPlace>, node: Node): RawValue {
  switch (node.kind) {
    case 'null':
      return null;
    case 'scalar': {
      const v = node.value;
      if (v.type === 'time') return places.get(node)?.raw ?? v.value;
      if (v.type === 'bytes') return new TextDecoder().decode(v.value);
      return v.value;
    }
    case 'seq':
      return node.items.flatMap((item) => (item.kind === 'comment' ? [] : [raw(places, item)]));
    case 'map': {
      const out: RawObject = {};
      for (const item of node.items) {
        if (item.kind !== 'entry') continue;
        // defineProperty: a key such as `__proto__` must stay an ordinary key.
        Object.defineProperty(out, item.key, { value: raw(places, item.value), enumerable: true, writable: true, configurable: true });
      }
      return out;
    }
  }
}

/**
 * From the `sops` key to the last line indented under it (comments and blank lines inside
 * included). A comment line does not end the block, whatever its column: YAML ignores comment
 * lines when it reads indentation, so entries after one still belong to `sops`.
 */
function sopsBlock(lines: LineIndex, keyStart: number): DocumentLayout['sops'] {
  const column = lines.column(keyStart);
  const text = lines.text;
  let end = lines.lineEnd(keyStart);
  let at = text.indexOf('\n', keyStart);
  while (at !== -1) {
    const lineStart = at + 1;
    const lineEnd = lines.lineEnd(lineStart);
    const line = text.slice(lineStart, lineEnd);
    const indent = line.length - line.trimStart().length;
    if (line.trim() !== '' && !line.trimStart().startsWith('#')) {
      if (indent <= column) break;
      end = lineEnd;
    }
    at = text.indexOf('\n', lineStart);
  }
  return { span: { start: keyStart, end }, column, lineStart: lines.lineStart(keyStart), lineEnd: end };
}

/**
 * End of the document's last line that is neither blank nor a `...` marker. Scans back from the
 * document's end, so a large document costs only its trailing lines.
 */
function documentEnd(lines: LineIndex, from: number, to: number): number {
  const text = lines.text;
  if (to <= from) return from;
  // The lines considered start at `from` and after every line break before `to`.
  let lineStart = Math.max(from, lines.lineStart(to - 1));
  for (;;) {
    const lineEnd = lines.lineEnd(lineStart);
    const line = text.slice(lineStart, lineEnd).trim();
    if (line !== '' && line !== '...') return lineEnd;
    if (lineStart === from) return from;
    lineStart = Math.max(from, lines.lineStart(lineStart - 1));
  }
}
