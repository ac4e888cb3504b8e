/**
 * Reads YAML text into the sops tree (sops-format.md §6.1): one mapping per document, scalars typed
 * as go-yaml v3 types them, aliases expanded, comments placed as go-yaml + sops place them.
 *
 * Plain block files (nearly every sops file) are read by the fast one-pass reader of
 * yaml-block.ts. Everything else comes here, to the general reader: the `yaml` package lexes,
 * parses and composes; typing and comment placement are ours and shared with the fast reader.
 */
import { CST, Composer, Parser, isAlias, isMap, isScalar, isSeq } from 'yaml';
import type { Document, ParsedNode } from 'yaml';
import { SopsFormatError } from '../../errors.ts';
import type { Entry, Mapping, Node, Null, RawObject, Scalar, Sequence, Span } from '../tree.ts';
import { SourceIndex } from './yaml-comments.ts';
import type { CommentToken, Container } from './yaml-comments.ts';
import { readBlockYaml } from './yaml-block.ts';
import { finishDocument } from './yaml-document.ts';
import type { FinishedDocument } from './yaml-document.ts';
import type { AliasCollection, DocumentLayout, ScalarPlace, YamlLayout } from './yaml-layout.ts';
import { resolvePlain, resolveTagged } from './yaml-scalars.ts';
import { LineIndex, propsStart } from './yaml-source.ts';

/**
 * Nodes an alias may create in total, counted over the whole file: a YAML "billion laughs" stops
 * here with an error long before memory runs out (the same idea as the `yaml` package's
 * `maxAliasCount` and go-yaml's "excessive aliasing" check).
 */
export const MAX_ALIAS_NODES = 100_000;

export interface ParsedYaml {
  readonly branches: Mapping[];
  /** The `sops` value of each document, where there is one, already converted to plain values. */
  readonly sops: Array<RawObject | undefined>;
  readonly layout: YamlLayout;
}

/** Parses every document of `text`. Throws `SopsFormatError` for anything sops would refuse. */
export function parseYamlText(text: string): ParsedYaml {
  // Most sops files are plain block YAML, which the fast reader takes; it hands the rest back.
  return readBlockYaml(text) ?? parseYamlDocuments(text);
}

/** The general reader: any YAML the `yaml` package composes, at the cost of its node objects. */
export function parseYamlDocuments(text: string): ParsedYaml {
  // One lex + parse: the comments are read from the same CST the documents are composed from.
  const tokens = Array.from(new Parser().parse(text));
  const comments = collectComments(tokens);
  const composer = new Composer({ keepSourceTokens: true, schema: 'failsafe', uniqueKeys: false, merge: false });
  const documents = Array.from(composer.compose(tokens));
  for (const doc of documents) {
    const error = doc.errors[0];
    if (error) {
      // Position only: the lexer's message may quote the source, which can hold plaintext secrets.
      const at = error.pos[0];
      const lines = new LineIndex(text);
      const position = ` at line ${lines.line(at) + 1}, column ${lines.column(at) + 1}`;
      throw new SopsFormatError('yaml-syntax', `invalid YAML${position}: ${describeYamlError(error.code)}`);
    }
  }

  const lines = new LineIndex(text);
  const starts = documents.map((doc) => doc.range[0]);
  const builder = new Builder(text, lines);
  const branches: Mapping[] = [];
  const sops: Array<RawObject | undefined> = [];
  const layouts: DocumentLayout[] = [];

  documents.forEach((doc, i) => {
    const from = i === 0 ? 0 : (starts[i] ?? 0);
    const to = starts[i + 1] ?? text.length;
    const docComments = comments.filter((c) => c.offset >= from && c.offset < to);
    const built = builder.document(doc, docComments, from, to);
    branches.push(built.root);
    sops.push(built.sops);
    layouts.push(built.layout);
  });

  return {
    branches,
    sops,
    layout: {
      kind: 'yaml',
      newline: text.includes('\r\n') ? '\r\n' : '\n',
      documents: layouts,
      places: builder.places,
      aliasScalars: builder.aliasScalars,
      aliasCollections: builder.aliasCollections,
    },
  };
}

class Builder {
  readonly places = new Map<Scalar, ScalarPlace>();
  readonly aliasScalars = new Map<Scalar, Scalar>();
  readonly aliasCollections: AliasCollection[] = [];
  private aliasBudget = MAX_ALIAS_NODES;
  private anchors = new Map<string, Node>();
  private index = new SourceIndex();

  private readonly text: string;
  private readonly lines: LineIndex;

  constructor(text: string, lines: LineIndex) {
    this.text = text;
    this.lines = lines;
  }

  document(doc: Document.Parsed, comments: readonly CommentToken[], from: number, to: number): FinishedDocument {
    // Anchors are scoped to their document.
    this.anchors = new Map();
    this.index = new SourceIndex();
    const contents = doc.contents as ParsedNode | null;
    let root: Mapping;
    let flowRoot = false;
    let column = 0;
    if (contents === null || (isScalar(contents) && this.isNullScalar(contents))) {
      root = { kind: 'map', items: [] };
      this.index.containers.set(root, { parent: undefined, indent: 0, flow: false });
    } else if (isMap(contents)) {
      root = this.mapping(contents, undefined);
      flowRoot = Boolean(contents.flow);
      column = Math.max(0, this.index.containers.get(root)?.indent ?? 0);
    } else {
      throw new SopsFormatError('yaml-root-not-mapping', 'the top level of a YAML document must be a mapping');
    }
    return finishDocument(this.lines, this.places, { root, flowRoot, column, index: this.index, comments, from, to });
  }

  // --- nodes ---------------------------------------------------------------------------------

  private mapping(node: ParsedNode & { items: unknown[]; flow?: boolean }, parent: Container | undefined): Mapping {
    const mapping: Mapping = { kind: 'map', items: [] };
    const flow = Boolean(node.flow) || this.isFlowParent(parent);
    const seen = new Set<string>();
    let indent = -1;
    for (const pair of node.items as Array<{ key: ParsedNode | null; value: ParsedNode | null }>) {
      const keyNode = pair.key;
      if (keyNode === null || !(isScalar(keyNode) || isAlias(keyNode))) {
        throw new SopsFormatError('yaml-non-string-key', 'only string keys are supported in YAML mappings');
      }
      const keyStart = this.nodeStart(keyNode);
      if (indent === -1) indent = this.lines.column(keyStart);
      const key = this.key(keyNode);
      if (seen.has(key)) throw new SopsFormatError('yaml-duplicate-key', `mapping key "${key}" appears twice`);
      seen.add(key);
      const value = this.value(pair.value, mapping, this.lines.column(keyStart), flow);
      const entry: Entry = { kind: 'entry', key, value };
      this.index.owners.push({ start: keyStart, container: mapping, item: entry, kind: 'key' });
      mapping.items.push(entry);
      this.index.sortKeys.set(entry, keyStart);
      // A line comment is owned by the value on its line; it sorts just before the value's entry.
      this.index.sortKeys.set(value, keyStart);
      this.index.itemStarts.set(keyStart, { container: mapping, item: entry, column: this.lines.column(keyStart) });
    }
    this.index.containers.set(mapping, { parent, indent, flow });
    return mapping;
  }

  private sequence(node: ParsedNode & { items: unknown[]; flow?: boolean; srcToken?: unknown }, parent: Container | undefined): Sequence {
    const sequence: Sequence = { kind: 'seq', items: [] };
    const flow = Boolean(node.flow) || this.isFlowParent(parent);
    const cstItems = (node.srcToken as { type?: string; items?: Array<{ start?: Array<{ type: string; offset: number }> }> } | undefined);
    let indent = -1;
    (node.items as Array<ParsedNode | null>).forEach((item, i) => {
      const dash = cstItems?.type === 'block-seq'
        ? cstItems.items?.[i]?.start?.find((t) => t.type === 'seq-item-ind')?.offset
        : undefined;
      const start = dash ?? (item ? this.nodeStart(item) : 0);
      if (indent === -1) indent = this.lines.column(start);
      const value = this.value(item, sequence, this.lines.column(start), flow);
      if (dash !== undefined) this.index.owners.push({ start: dash, container: sequence, item: value, kind: 'dash' });
      sequence.items.push(value);
      this.index.sortKeys.set(value, start);
      this.index.itemStarts.set(start, { container: sequence, item: value, column: this.lines.column(start) });
    });
    this.index.containers.set(sequence, { parent, indent, flow });
    return sequence;
  }

  /** Builds a value node and records it as a line-comment owner where it is a scalar. */
  private value(node: ParsedNode | null, container: Container, parentColumn: number, flow: boolean): Node {
    if (node === null) return { kind: 'null' };
    if (isMap(node)) return this.anchored(node, this.mapping(node, container));
    if (isSeq(node)) return this.anchored(node, this.sequence(node, container));
    if (isAlias(node)) {
      const result = this.alias(node);
      this.index.owners.push({ start: node.range[0], container, item: result, kind: container.kind === 'map' ? 'value' : 'item' });
      return result;
    }
    if (!isScalar(node)) throw new SopsFormatError('yaml-unsupported-node', 'unsupported YAML node');
    const result = this.scalar(node, parentColumn, flow);
    this.index.owners.push({ start: node.range[0], container, item: result, kind: container.kind === 'map' ? 'value' : 'item' });
    return this.anchored(node, result);
  }

  private scalar(node: ParsedNode, parentColumn: number, flow: boolean): Scalar | Null {
    const raw = this.scalarText(node);
    const tag = (node as { tag?: string }).tag;
    const type = (node as { type?: string }).type;
    const resolved = tag !== undefined ? resolveTagged(tag, raw) : type === 'PLAIN' || type === undefined ? resolvePlain(raw) : { type: 'str' as const, value: raw };
    if (resolved === null) return { kind: 'null' };
    const span = this.scalarSpan(node);
    const scalar: Scalar = { kind: 'scalar', value: resolved, origin: { span, value: resolved } };
    this.places.set(scalar, resolved.type === 'time' ? { flow, parentColumn, raw } : { flow, parentColumn });
    return scalar;
  }

  private key(node: ParsedNode): string {
    if (isAlias(node)) {
      const target = this.anchors.get(node.source);
      if (target?.kind === 'scalar' && target.value.type === 'str') return target.value.value;
      throw new SopsFormatError('yaml-non-string-key', 'only string keys are supported in YAML mappings');
    }
    const raw = this.scalarText(node);
    const tag = (node as { tag?: string }).tag;
    const type = (node as { type?: string }).type;
    const resolved = tag !== undefined ? resolveTagged(tag, raw) : type === 'PLAIN' ? resolvePlain(raw) : { type: 'str' as const, value: raw };
    if (resolved === null || resolved.type !== 'str') {
      throw new SopsFormatError('yaml-non-string-key', 'only string keys are supported in YAML mappings');
    }
    const anchor = (node as { anchor?: string }).anchor;
    if (anchor) this.anchors.set(anchor, { kind: 'scalar', value: resolved });
    return resolved.value;
  }

  private alias(node: ParsedNode & { source: string }): Node {
    const target = this.anchors.get(node.source);
    if (!target) throw new SopsFormatError('yaml-unknown-alias', `alias *${node.source} has no anchor before it`);
    const span: Span = { start: node.range[0], end: node.range[1] };
    if (target.kind === 'scalar') {
      this.spend(1);
      const copy: Scalar = { kind: 'scalar', value: target.value, origin: { span, value: target.value } };
      const place = this.places.get(target);
      const parentColumn = this.lines.column(span.start);
      this.places.set(copy, { flow: place?.flow ?? false, parentColumn, ...(place?.raw !== undefined ? { raw: place.raw } : {}) });
      this.aliasScalars.set(copy, target);
      return copy;
    }
    if (target.kind === 'null') return { kind: 'null' };
    const copy = this.copy(target);
    this.aliasCollections.push({ span, copy, anchor: target, snapshot: snapshot(copy) });
    return copy;
  }

  /** A deep copy of an anchored collection: no origins (the copy has no text of its own). */
  private copy(node: Node): Node {
    this.spend(1);
    switch (node.kind) {
      case 'null':
        return { kind: 'null' };
      case 'scalar':
        return { kind: 'scalar', value: node.value };
      case 'map':
        return {
          kind: 'map',
          items: node.items.flatMap((item) => (item.kind === 'entry' ? [{ kind: 'entry' as const, key: item.key, value: this.copy(item.value) }] : [])),
        };
      case 'seq':
        return { kind: 'seq', items: node.items.flatMap((item) => (item.kind === 'comment' ? [] : [this.copy(item)])) };
    }
  }

  private spend(nodes: number): void {
    this.aliasBudget -= nodes;
    if (this.aliasBudget < 0) {
      throw new SopsFormatError('yaml-alias-bomb', 'YAML aliases expand to too many nodes (possible alias bomb)');
    }
  }

  private anchored<T extends Node>(node: ParsedNode, result: T): T {
    const anchor = (node as { anchor?: string }).anchor;
    if (anchor) this.anchors.set(anchor, result);
    return result;
  }

  private isFlowParent(parent: Container | undefined): boolean {
    return parent !== undefined && Boolean(this.index.containers.get(parent)?.flow);
  }

  private isNullScalar(node: ParsedNode): boolean {
    const tag = (node as { tag?: string }).tag;
    const type = (node as { type?: string }).type;
    if (tag !== undefined || (type !== 'PLAIN' && type !== undefined)) return false;
    return resolvePlain(this.scalarText(node)) === null;
  }

  /** A scalar's string value before typing: unquoted, unescaped, folded. */
  private scalarText(node: ParsedNode): string {
    const token = (node as { srcToken?: CST.Token }).srcToken;
    if (token && (token.type === 'scalar' || token.type === 'single-quoted-scalar' || token.type === 'double-quoted-scalar' || token.type === 'block-scalar')) {
      const resolved = CST.resolveAsScalar(token);
      if (resolved) return resolved.value;
    }
    const source = (node as { source?: unknown }).source;
    return typeof source === 'string' ? source : '';
  }

  private nodeStart(node: ParsedNode): number {
    const start = node.range[0];
    const hasProps = (node as { tag?: string }).tag !== undefined || Boolean((node as { anchor?: string }).anchor);
    return hasProps ? propsStart(this.text, start) : start;
  }

  /** The text a new value replaces: props, quotes and block header included, final line break not. */
  private scalarSpan(node: ParsedNode): Span {
    const start = this.nodeStart(node);
    let end = node.range[1];
    const type = (node as { type?: string }).type;
    if (type === 'BLOCK_LITERAL' || type === 'BLOCK_FOLDED') {
      while (end > start && (this.text[end - 1] === '\n' || this.text[end - 1] === '\r')) end--;
    }
    return { start, end };
  }
}

/** A fixed description per `yaml` error code, so no source text reaches the message. */
function describeYamlError(code: string): string {
  const reasons: Record<string, string> = {
    BAD_INDENT: 'bad indentation',
    MISSING_CHAR: 'a closing quote or bracket is missing',
    BLOCK_AS_IMPLICIT_KEY: 'a nested mapping is not allowed in a compact mapping',
    TAB_AS_INDENT: 'tabs are not allowed as indentation',
    DUPLICATE_KEY: 'a mapping key appears twice',
    MULTILINE_IMPLICIT_KEY: 'an implicit key cannot span lines',
    UNEXPECTED_TOKEN: 'unexpected token',
    BAD_ALIAS: 'bad alias',
    BAD_DIRECTIVE: 'bad directive',
    BAD_SCALAR_START: 'a plain scalar cannot start with this character',
    MISSING_ANCHOR: 'an alias has no anchor',
    KEY_OVER_1024_CHARS: 'an implicit key is longer than 1024 characters',
  };
  return reasons[code] ?? code.toLowerCase().replaceAll('_', ' ');
}

/** Every `#…` comment token of the CST, in order. */
function collectComments(tokens: readonly CST.Token[]): CommentToken[] {
  const found: CommentToken[] = [];
  const sources = (list: readonly CST.Token[] | undefined): void => {
    if (list) for (const token of list) visit(token);
  };
  // Walks only the fields of CST tokens that can hold tokens (see the `yaml` package's cst.d.ts).
  const visit = (token: CST.Token | null | undefined): void => {
    if (!token) return;
    switch (token.type) {
      case 'comment':
        found.push({ offset: token.offset, source: token.source });
        return;
      case 'document':
        sources(token.start);
        visit(token.value);
        sources(token.end);
        return;
      case 'doc-end':
      case 'alias':
      case 'scalar':
      case 'single-quoted-scalar':
      case 'double-quoted-scalar':
        sources(token.end);
        return;
      case 'block-scalar':
        sources(token.props);
        return;
      case 'block-map':
      case 'block-seq':
      case 'flow-collection':
        if (token.type === 'flow-collection') visit(token.start);
        for (const item of token.items) {
          sources(item.start);
          visit(item.key);
          sources(item.sep);
          visit(item.value);
        }
        if (token.type === 'flow-collection') sources(token.end);
        return;
      default:
        return;
    }
  };
  sources(tokens);
  found.sort((a, b) => a.offset - b.offset);
  return found;
}

/** A stable text form of a node's values, to detect changes in alias copies. */
export function snapshot(node: Node): string {
  return JSON.stringify(node, (_key, value: unknown) => (typeof value === 'bigint' ? `${value}n` : value instanceof Uint8Array ? Array.from(value) : value));
}
