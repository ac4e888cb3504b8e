/**
 * Writes a YAML file back by editing its source: only nodes whose value differs from their origin
 * are re-rendered, every other byte is copied, and the `sops` block is replaced (or removed).
 */
import { SopsFormatError } from '../../errors.ts';
import type { LoadedFile } from '../store.ts';
import { sameScalar } from '../tree.ts';
import type { Mapping, Node, RawObject, Scalar, Sequence, Span } from '../tree.ts';
import { INDENT, renderSopsBlock } from './yaml-emit.ts';
import { isYamlLayout } from './yaml-layout.ts';
import type { YamlLayout } from './yaml-layout.ts';
import { snapshot } from './yaml-parse.ts';
import { doubleQuoted, literalBlock, scalarText } from './yaml-scalars.ts';

interface Edit {
  readonly start: number;
  readonly end: number;
  readonly text: string;
}

export type EditMode = { readonly kind: 'encrypted'; readonly metadata: RawObject } | { readonly kind: 'plain' };

/**
 * The source of `file` with `branches` (the file's tree, mutated) and the `sops` blocks applied,
 * as UTF-8 bytes.
 */
export function editSource(file: LoadedFile, branches: readonly Mapping[], mode: EditMode): Uint8Array {
  const layout = file.layout;
  if (!isYamlLayout(layout)) throw new SopsFormatError('yaml-not-a-yaml-file', 'the file was not read by the YAML store');
  if (branches.length !== layout.documents.length) {
    throw new SopsFormatError('yaml-tree-shape-changed', 'the tree has a different number of documents than the file');
  }
  const text = file.text;
  const edits: Edit[] = [];
  const walker = new Walker(text, layout, mode, edits);
  branches.forEach((branch) => walker.node(branch));

  layout.documents.forEach((doc, i) => {
    if (mode.kind === 'encrypted') {
      if (doc.sops) {
        edits.push({ ...doc.sops.span, text: renderSopsBlock(mode.metadata, doc.sops.column, layout.newline) });
        return;
      }
      if (doc.flowRoot) {
        throw new SopsFormatError('yaml-flow-root', 'cannot add sops metadata to a document whose top level is a flow mapping ({...})');
      }
      const atEnd = doc.appendAt >= text.length;
      const block = ' '.repeat(doc.column) + renderSopsBlock(mode.metadata, doc.column, layout.newline);
      edits.push({ start: doc.appendAt, end: doc.appendAt, text: (doc.appendAt === 0 ? '' : layout.newline) + block + (atEnd ? layout.newline : '') });
      return;
    }
    if (!doc.sops) return;
    // `sops decrypt`: the block goes, with its lines; a document left empty prints as `{}`.
    let end = doc.sops.lineEnd;
    if (text.startsWith('\r\n', end)) end += 2;
    else if (text.startsWith('\n', end)) end += 1;
    const empty = (branches[i]?.items.length ?? 0) === 0;
    edits.push({ start: doc.sops.lineStart, end, text: empty ? '{}' + layout.newline : '' });
  });

  return apply(text, edits);
}

class Walker {
  private readonly copies: Map<Node, { span: Span; anchor: Node; snapshot: string }>;
  private readonly text: string;
  private readonly layout: YamlLayout;
  private readonly mode: EditMode;
  private readonly edits: Edit[];

  constructor(text: string, layout: YamlLayout, mode: EditMode, edits: Edit[]) {
    this.text = text;
    this.layout = layout;
    this.mode = mode;
    this.edits = edits;
    this.copies = new Map(layout.aliasCollections.map((a) => [a.copy, a]));
  }

  node(node: Node): void {
    const alias = this.copies.get(node);
    if (alias) {
      // A `*name` standing for a collection stays as it is only if nothing behind it changed.
      if (snapshot(node) !== alias.snapshot || changed(alias.anchor)) {
        throw new SopsFormatError(
          'yaml-alias-changed',
          'a value reached through a YAML alias (*name) changed; writing expanded aliases is not supported',
        );
      }
      return;
    }
    switch (node.kind) {
      case 'null':
        return;
      case 'scalar':
        this.scalar(node);
        return;
      case 'map':
      case 'seq':
        this.collection(node);
    }
  }

  private collection(node: Mapping | Sequence): void {
    for (const item of node.items) {
      if (item.kind === 'comment') {
        if (!item.origin) throw new SopsFormatError('yaml-new-node', 'a comment without a source position cannot be written in place');
        if (item.text === item.origin.text) continue;
        if (/[\r\n]/.test(item.text)) throw new SopsFormatError('yaml-bad-comment', 'a YAML comment cannot hold a line break');
        this.edits.push({ ...item.origin.span, text: '#' + item.text });
        continue;
      }
      this.node(item.kind === 'entry' ? item.value : item);
    }
  }

  private scalar(node: Scalar): void {
    if (!node.origin) {
      throw new SopsFormatError('yaml-new-node', 'a value without a source position cannot be written in place (the tree shape changed)');
    }
    const anchor = this.layout.aliasScalars.get(node);
    const anchorChanged = anchor?.origin !== undefined && !sameScalar(anchor.value, anchor.origin.value);
    // An alias (`*name`) whose anchored value is rewritten loses its anchor: write its value instead.
    if (sameScalar(node.value, node.origin.value) && !anchorChanged) return;
    // Named fields, not a spread of the span: this runs for every value a rotation rewrote.
    const { start, end } = node.origin.span;
    this.edits.push({ start, end, text: this.render(node) });
  }

  private render(node: Scalar): string {
    const place = this.layout.places.get(node);
    // Without a known place, assume a flow context: its quoting is valid everywhere.
    const flow = place?.flow ?? true;
    const value = node.value;
    if (value.type === 'str' && value.value.includes('\n')) {
      const span = node.origin?.span;
      if (this.mode.kind === 'plain' && place && !flow && span && this.restOfLineBlank(span.end)) {
        const block = literalBlock(value.value, place.parentColumn + INDENT, this.layout.newline);
        if (block !== undefined) return block;
      }
      return doubleQuoted(value.value);
    }
    return scalarText(value, { flow });
  }

  private restOfLineBlank(offset: number): boolean {
    const nl = this.text.indexOf('\n', offset);
    return this.text.slice(offset, nl === -1 ? this.text.length : nl).trim() === '';
  }
}

function changed(node: Node): boolean {
  switch (node.kind) {
    case 'null':
      return false;
    case 'scalar':
      return node.origin !== undefined && !sameScalar(node.value, node.origin.value);
    case 'map':
      return node.items.some((item) => (item.kind === 'entry' ? changed(item.value) : item.origin !== undefined && item.text !== item.origin.text));
    case 'seq':
      return node.items.some((item) => (item.kind === 'comment' ? item.origin !== undefined && item.text !== item.origin.text : changed(item)));
  }
}

/**
 * The source with the edits applied, encoded as UTF-8 straight into one buffer: building the text
 * first (a rope of two pieces per changed value, then flattened to encode it) would hold a second
 * copy of a large file and leave garbage proportional to it.
 */
function apply(text: string, edits: Edit[]): Uint8Array {
  edits.sort((a, b) => a.start - b.start || a.end - b.end);
  // The output's length in UTF-16 units: its exact UTF-8 length when it is all ASCII, as sops files are.
  let units = text.length;
  let at = 0;
  for (const edit of edits) {
    if (edit.start < at) throw new SopsFormatError('yaml-overlapping-edit', 'two changed YAML nodes share source text');
    units += edit.text.length - (edit.end - edit.start);
    at = edit.end;
  }
  const out = new Utf8Writer(units);
  at = 0;
  for (const edit of edits) {
    out.write(text.slice(at, edit.start));
    out.write(edit.text);
    at = edit.end;
  }
  out.write(text.slice(at));
  return out.bytes();
}

/** Appends strings as UTF-8 to a buffer that grows only when non-ASCII text makes it too small. */
class Utf8Writer {
  private buffer: Buffer;
  private written = 0;

  constructor(capacity: number) {
    this.buffer = Buffer.alloc(capacity);
  }

  write(piece: string): void {
    // A UTF-16 unit takes at most 3 bytes; only near the end is the exact length worth computing.
    if (this.buffer.length - this.written < piece.length * 3) {
      const needed = this.written + Buffer.byteLength(piece);
      if (needed > this.buffer.length) {
        const grown = Buffer.alloc(Math.max(this.buffer.length * 2, needed));
        this.buffer.copy(grown, 0, 0, this.written);
        this.buffer = grown;
      }
    }
    // Written in place: no view object per piece.
    this.written += this.buffer.write(piece, this.written, 'utf8');
  }

  /** The bytes written, as a plain `Uint8Array` over the same memory. */
  bytes(): Uint8Array {
    return new Uint8Array(this.buffer.buffer, this.buffer.byteOffset, this.written);
  }
}
