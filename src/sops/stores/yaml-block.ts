/**
 * A fast reader for the YAML that sops files almost always are: one document of block mappings and
 * block sequences, one-line plain or quoted scalars, literal blocks (`|`, `|-`) and comments.
 *
 * It reads the text in one pass, straight into the tree, without the `yaml` package's token and
 * node objects: on a large file those cost most of a rotation's time and memory. Anything outside
 * that subset (flow collections, anchors and aliases, tags, multi-line plain or quoted scalars,
 * escapes, several documents, tabs, CRLF, …) makes it give up, and so does anything that would be
 * an error: the general reader (yaml-parse.ts) then reads the file, so behaviour and error messages
 * are the general reader's in every case. The fast reader records exactly what the general one
 * records (spans, places, comment owners), so the two give the same result; a property test
 * compares them.
 */
import { SopsFormatError } from '../../errors.ts';
import type { Entry, Mapping, Node, Null, RawObject, Scalar, ScalarValue, Sequence } from '../tree.ts';
import { SourceIndex } from './yaml-comments.ts';
import type { CommentToken, Container } from './yaml-comments.ts';
import { finishDocument } from './yaml-document.ts';
import type { ScalarPlace, YamlLayout } from './yaml-layout.ts';
import { resolvePlain } from './yaml-scalars.ts';
import { LineIndex } from './yaml-source.ts';

/** The result of reading a file, as the general reader returns it. */
export interface ReadYaml {
  readonly branches: Mapping[];
  readonly sops: Array<RawObject | undefined>;
  readonly layout: YamlLayout;
}

/** Thrown inside the reader when the text leaves the subset it handles. */
class Unsupported {}
const UNSUPPORTED = new Unsupported();

/**
 * Characters that make the general reader necessary: control characters other than `\n` (tabs,
 * CR), C1 controls, the BOM and Unicode line separators.
 */
const SPECIAL_CHARS = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029\ufeff]/;

/**
 * Deeper nesting goes to the general reader, whose outcome there depends on the stack left
 * (the `yaml` package reports "resource exhaustion" from some depth on): no sops file nests so.
 */
const MAX_DEPTH = 100;

/** The longest implicit key YAML allows. */
const MAX_KEY_LENGTH = 1024;

const SPACE = 0x20;
const NEWLINE = 0x0a;
const HASH = 0x23;
const COLON = 0x3a;
const DASH = 0x2d;

/**
 * Reads `text` when it is a plain block document, or returns `undefined` so the caller uses the
 * general reader. Never throws for input reasons: errors are left to the general reader too.
 */
export function readBlockYaml(text: string): ReadYaml | undefined {
  if (SPECIAL_CHARS.test(text)) return undefined;
  try {
    return new BlockReader(text).read();
  } catch (error) {
    // `Unsupported`, an input error (an integer too large, …) the general reader reports, or
    // nesting too deep for the stack: the general reader decides.
    if (error === UNSUPPORTED || error instanceof SopsFormatError || error instanceof RangeError) return undefined;
    throw error;
  }
}

/** Where the next content line starts: its first non-blank character and that character's column. */
interface Content {
  readonly at: number;
  readonly indent: number;
}

class BlockReader {
  private readonly text: string;
  private readonly places = new Map<Scalar, ScalarPlace>();
  /** One place per column for the scalars that need no text of their own (all but timestamps). */
  private readonly sharedPlaces: ScalarPlace[] = [];
  private readonly index = new SourceIndex();
  private readonly comments: CommentToken[] = [];
  /** Start of the first line not read yet (or, right after `peek`, of the content line found). */
  private at = 0;
  /** Start of the line holding the content `peek` last returned. */
  private lineStart = 0;
  /**
   * Whether the text has a `#` at all. Without one there are no comments to place, and the
   * bookkeeping comment placement needs (owners, item starts, containers) is skipped.
   */
  private readonly commented: boolean;
  /** The first `#` at or after the last plain scalar's start (`Infinity`: none). */
  private hashAt = -1;
  /** Collections open around the one being read. */
  private depth = 0;

  constructor(text: string) {
    this.text = text;
    this.commented = text.includes('#');
    if (!this.commented) this.hashAt = Infinity;
  }

  read(): ReadYaml {
    const first = this.peek();
    if (!first || first.indent !== 0 || this.isDash(first.at)) throw UNSUPPORTED;
    const root = this.mapping(0, undefined, undefined);
    // Anything left (a line the root mapping could not take) is for the general reader.
    if (this.peek()) throw UNSUPPORTED;
    const lines = new LineIndex(this.text);
    const doc = finishDocument(lines, this.places, {
      root,
      flowRoot: false,
      column: 0,
      index: this.index,
      comments: this.comments,
      from: 0,
      to: this.text.length,
    });
    return {
      branches: [doc.root],
      sops: [doc.sops],
      layout: {
        kind: 'yaml',
        newline: '\n',
        documents: [doc.layout],
        places: this.places,
        aliasScalars: new Map(),
        aliasCollections: [],
      },
    };
  }

  // --- lines ---------------------------------------------------------------------------------

  /**
   * Skips blank and comment lines from `at` (recording the comments) and returns the next content
   * line's first character, leaving `at` at that line's start. Repeated calls return the same.
   */
  private peek(): Content | undefined {
    const text = this.text;
    for (;;) {
      const start = this.at;
      if (start >= text.length) return undefined;
      let p = start;
      while (text.charCodeAt(p) === SPACE) p++;
      if (p >= text.length) {
        this.at = p;
        return undefined;
      }
      const c = text.charCodeAt(p);
      if (c === NEWLINE) {
        this.at = p + 1;
        continue;
      }
      if (c === HASH) {
        const end = this.lineEnd(p);
        this.comments.push({ offset: p, source: text.slice(p, end) });
        this.at = end + 1;
        continue;
      }
      // Directives and document markers belong to the general reader.
      if (p === start && (c === 0x25 || text.startsWith('---', p) || text.startsWith('...', p))) throw UNSUPPORTED;
      this.lineStart = start;
      return { at: p, indent: p - start };
    }
  }

  private lineEnd(p: number): number {
    const end = this.text.indexOf('\n', p);
    return end === -1 ? this.text.length : end;
  }

  /** Moves past the line holding `p`. */
  private nextLine(p: number): void {
    this.at = this.lineEnd(p) + 1;
  }

  /** `-` followed by a space or the end of the line: a block sequence item. */
  private isDash(p: number): boolean {
    if (this.text.charCodeAt(p) !== DASH) return false;
    const next = this.text.charCodeAt(p + 1);
    return next === SPACE || next === NEWLINE || Number.isNaN(next);
  }

  // --- collections ---------------------------------------------------------------------------

  /**
   * A block mapping whose keys stand at column `indent`. With `firstKey`, the first key starts
   * there, mid-line (`- key: value`); otherwise at the next content line.
   */
  private mapping(indent: number, parent: Container | undefined, firstKey: number | undefined): Mapping {
    if (++this.depth > MAX_DEPTH) throw UNSUPPORTED;
    const mapping: Mapping = { kind: 'map', items: [] };
    const seen = new Set<string>();
    let keyStart = firstKey;
    let lineStart = this.lineStart;
    for (;;) {
      if (keyStart === undefined) {
        const next = this.peek();
        if (!next || next.indent < indent) break;
        if (next.indent > indent || this.isDash(next.at)) throw UNSUPPORTED;
        keyStart = next.at;
        lineStart = this.lineStart;
      }
      const column = keyStart - lineStart;
      const keyEnd = this.keyEnd(keyStart);
      if (keyEnd === undefined) throw UNSUPPORTED;
      const key = this.text.slice(keyStart, keyEnd);
      const typed = resolvePlain(key);
      // Keys that type as anything but this same string (`1`, `true`, `null`) go to the general reader.
      if (typed === null || typed.type !== 'str' || typed.value !== key) throw UNSUPPORTED;
      // A repeated key is an error the general reader reports.
      if (seen.has(key)) throw UNSUPPORTED;
      seen.add(key);

      const value = this.afterIndicator(keyEnd + 1, mapping, column, indent);
      const entry: Entry = { kind: 'entry', key, value };
      mapping.items.push(entry);
      if (this.commented) {
        this.index.owners.push({ start: keyStart, container: mapping, item: entry, kind: 'key' });
        this.index.sortKeys.set(entry, keyStart);
        this.index.sortKeys.set(value, keyStart);
        this.index.itemStarts.set(keyStart, { container: mapping, item: entry, column });
      } else if (parent === undefined && key === 'sops') {
        // The metadata block's layout starts at its key.
        this.index.sortKeys.set(entry, keyStart);
      }
      keyStart = undefined;
    }
    if (this.commented) this.index.containers.set(mapping, { parent, indent, flow: false });
    this.depth--;
    return mapping;
  }

  /** A block sequence whose dashes stand at column `indent`, from the next content line. */
  private sequence(indent: number, parent: Container): Sequence {
    if (++this.depth > MAX_DEPTH) throw UNSUPPORTED;
    const sequence: Sequence = { kind: 'seq', items: [] };
    for (;;) {
      const next = this.peek();
      if (!next || next.indent < indent) break;
      if (next.indent > indent) throw UNSUPPORTED;
      // A key at the dashes' column ends a sequence that hangs at its key's column (`key:` / `- a`).
      if (!this.isDash(next.at)) break;
      const dash = next.at;
      const lineStart = this.lineStart;
      let p = dash + 1;
      while (this.text.charCodeAt(p) === SPACE) p++;
      const c = this.text.charCodeAt(p);
      // An empty item, or one whose value starts on a later line or is itself a sequence.
      if (Number.isNaN(c) || c === NEWLINE || c === HASH || this.isDash(p)) throw UNSUPPORTED;
      let value: Node;
      if (this.keyEnd(p) !== undefined) {
        value = this.mapping(p - lineStart, sequence, p);
      } else {
        value = this.scalarValue(p, sequence, dash - lineStart);
      }
      sequence.items.push(value);
      if (this.commented) {
        this.index.owners.push({ start: dash, container: sequence, item: value, kind: 'dash' });
        this.index.sortKeys.set(value, dash);
        this.index.itemStarts.set(dash, { container: sequence, item: value, column: indent });
      }
    }
    if (this.commented) this.index.containers.set(sequence, { parent, indent, flow: false });
    this.depth--;
    return sequence;
  }

  /**
   * End of a plain key at `p` that is followed by `:` and a space or line end, or `undefined`.
   * Keys are limited to characters that never need quoting or escaping.
   */
  private keyEnd(p: number): number | undefined {
    const text = this.text;
    if (!isKeyStart(text.charCodeAt(p))) return undefined;
    let q = p + 1;
    while (isKeyChar(text.charCodeAt(q))) q++;
    if (text.charCodeAt(q) !== COLON || q - p > MAX_KEY_LENGTH) return undefined;
    const after = text.charCodeAt(q + 1);
    return after === SPACE || after === NEWLINE || Number.isNaN(after) ? q : undefined;
  }

  /** The value after a key's `:` (at `p`): on the same line, or a collection on the next lines. */
  private afterIndicator(p: number, mapping: Mapping, column: number, indent: number): Node {
    const text = this.text;
    let r = p;
    while (text.charCodeAt(r) === SPACE) r++;
    const c = text.charCodeAt(r);
    if (!Number.isNaN(c) && c !== NEWLINE && !(c === HASH && r > p)) return this.scalarValue(r, mapping, column);

    if (c === HASH) this.comments.push({ offset: r, source: text.slice(r, this.lineEnd(r)) });
    this.nextLine(r);
    const next = this.peek();
    if (next && next.indent > indent) {
      return this.isDash(next.at) ? this.sequence(next.indent, mapping) : this.mapping(next.indent, mapping, undefined);
    }
    if (next && next.indent === indent && this.isDash(next.at)) return this.sequence(indent, mapping);
    // `key:` alone: a null value, which the `yaml` package places after the `:` and its spaces.
    const value: Null = { kind: 'null' };
    if (this.commented) this.index.owners.push({ start: r, container: mapping, item: value, kind: 'value' });
    return value;
  }

  // --- scalars -------------------------------------------------------------------------------

  /**
   * The scalar starting at `p` (a mapping value or a sequence item), up to the end of its line,
   * where only a comment may follow. `parentColumn` is the column of its key or dash.
   */
  private scalarValue(p: number, container: Container, parentColumn: number): Node {
    const text = this.text;
    const c = text.charCodeAt(p);
    let raw: string;
    let end: number;
    let typed: ScalarValue | null;
    if (c === 0x22 /* " */) {
      end = text.indexOf('"', p + 1);
      if (end === -1) throw UNSUPPORTED;
      raw = text.slice(p + 1, end);
      // Escapes and line folding are the general reader's.
      if (raw.includes('\\') || raw.includes('\n')) throw UNSUPPORTED;
      end++;
      typed = { type: 'str', value: raw };
    } else if (c === 0x27 /* ' */) {
      end = p + 1;
      for (;;) {
        end = text.indexOf("'", end);
        if (end === -1) throw UNSUPPORTED;
        if (text.charCodeAt(end + 1) !== 0x27) break;
        end += 2;
      }
      raw = text.slice(p + 1, end);
      if (raw.includes('\n')) throw UNSUPPORTED;
      raw = raw.replaceAll("''", "'");
      end++;
      typed = { type: 'str', value: raw };
    } else if (c === 0x7c /* | */) {
      return this.literalBlock(p, container, parentColumn);
    } else if ((c === 0x5b /* [ */ && text.charCodeAt(p + 1) === 0x5d) || (c === 0x7b /* { */ && text.charCodeAt(p + 1) === 0x7d)) {
      return this.emptyFlow(p, container, c === 0x5b ? 'seq' : 'map');
    } else {
      if (!isPlainStart(c, text.charCodeAt(p + 1))) throw UNSUPPORTED;
      // The value ends at a comment (` #`) or at the line's end.
      const lineEnd = this.lineEnd(p);
      end = lineEnd;
      for (let hash = this.hashFrom(p); hash < lineEnd; hash = this.hashFrom(hash + 1)) {
        if (text.charCodeAt(hash - 1) === SPACE) {
          end = hash;
          break;
        }
      }
      while (text.charCodeAt(end - 1) === SPACE) end--;
      raw = text.slice(p, end);
      // `: ` (or a final `:`) makes a mapping, which a plain value on a key's line cannot be.
      if (raw.includes(': ') || raw.endsWith(':')) throw UNSUPPORTED;
      typed = resolvePlain(raw);
    }
    this.restOfLine(end);

    const result: Scalar | Null =
      typed === null ? { kind: 'null' } : { kind: 'scalar', value: typed, origin: { span: { start: p, end }, value: typed } };
    if (result.kind === 'scalar') this.places.set(result, typed?.type === 'time' ? { flow: false, parentColumn, raw } : this.place(parentColumn));
    if (this.commented) this.index.owners.push({ start: p, container, item: result, kind: container.kind === 'map' ? 'value' : 'item' });
    return result;
  }

  private place(parentColumn: number): ScalarPlace {
    let place = this.sharedPlaces[parentColumn];
    if (place === undefined) {
      place = { flow: false, parentColumn };
      this.sharedPlaces[parentColumn] = place;
    }
    return place;
  }

  /** `[]` or `{}` (older sops metadata writes `kms: []`): an empty flow collection. */
  private emptyFlow(p: number, container: Container, kind: 'seq' | 'map'): Mapping | Sequence {
    this.restOfLine(p + 2);
    const result: Mapping | Sequence = kind === 'seq' ? { kind: 'seq', items: [] } : { kind: 'map', items: [] };
    if (this.commented) this.index.containers.set(result, { parent: container, indent: -1, flow: true });
    return result;
  }

  /**
   * The first `#` at or after `from`. Plain scalars are read in source order, so the position found
   * for one serves the following ones until they pass it: the text is searched once in all.
   */
  private hashFrom(from: number): number {
    if (this.hashAt < from) {
      const at = this.text.indexOf('#', from);
      this.hashAt = at === -1 ? Infinity : at;
    }
    return this.hashAt;
  }

  /** After a scalar ending at `end`: spaces, then a comment or the line's end. Moves to the next line. */
  private restOfLine(end: number): void {
    const text = this.text;
    let q = end;
    while (text.charCodeAt(q) === SPACE) q++;
    const c = text.charCodeAt(q);
    if (c === HASH && q > end) {
      const lineEnd = this.lineEnd(q);
      this.comments.push({ offset: q, source: text.slice(q, lineEnd) });
      this.at = lineEnd + 1;
      return;
    }
    if (c !== NEWLINE && !Number.isNaN(c)) throw UNSUPPORTED;
    this.at = q + 1;
  }

  /**
   * A literal block (`|` or `|-`, no indentation indicator, nothing after the header) whose
   * content is indented more than `parentColumn`. Its span runs from the header to the end of its
   * last content line.
   */
  private literalBlock(p: number, container: Container, parentColumn: number): Scalar {
    const text = this.text;
    let q = p + 1;
    const strip = text.charCodeAt(q) === DASH;
    if (strip) q++;
    while (text.charCodeAt(q) === SPACE) q++;
    if (text.charCodeAt(q) !== NEWLINE) throw UNSUPPORTED;

    const lines: string[] = [];
    let contentIndent = -1;
    let lastContentEnd = -1;
    /** Blank lines seen since the last content line. */
    let blanks = 0;
    let lineStart = q + 1;
    while (lineStart < text.length) {
      let s = lineStart;
      while (text.charCodeAt(s) === SPACE) s++;
      const lineEnd = this.lineEnd(lineStart);
      if (s === lineEnd) {
        // A blank line with more spaces than the content's indentation holds content spaces.
        if (contentIndent === -1 ? false : s - lineStart > contentIndent) throw UNSUPPORTED;
        blanks++;
        lineStart = lineEnd + 1;
        continue;
      }
      if (contentIndent === -1) {
        // Leading blank lines would decide the indentation too; leave them to the general reader.
        if (blanks > 0 || s - lineStart <= parentColumn) throw UNSUPPORTED;
        contentIndent = s - lineStart;
      }
      if (s - lineStart < contentIndent) break;
      for (; blanks > 0; blanks--) lines.push('');
      lines.push(text.slice(lineStart + contentIndent, lineEnd));
      lastContentEnd = lineEnd;
      lineStart = lineEnd + 1;
    }
    // Without a line break after the last line, clipping is the general reader's to decide.
    if (contentIndent === -1 || lastContentEnd >= text.length) throw UNSUPPORTED;
    this.at = lastContentEnd + 1;

    const raw = lines.join('\n') + (strip ? '' : '\n');
    const typed: ScalarValue = { type: 'str', value: raw };
    const result: Scalar = { kind: 'scalar', value: typed, origin: { span: { start: p, end: lastContentEnd }, value: typed } };
    this.places.set(result, this.place(parentColumn));
    if (this.commented) this.index.owners.push({ start: p, container, item: result, kind: container.kind === 'map' ? 'value' : 'item' });
    return result;
  }
}

/** Letters, digits and `_` may start a key the fast reader accepts. */
function isKeyStart(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) || c === 0x5f;
}

/** Then also `.`, `-` and `/` (`app.kubernetes.io/name`). */
function isKeyChar(c: number): boolean {
  return isKeyStart(c) || c === 0x2e || c === DASH || c === 0x2f;
}

/**
 * Whether a plain scalar may start with `c` (followed by `next`) without the general reader: no
 * indicator characters, except `-` before a non-blank character (`-1`, `-x`: YAML allows it in
 * block context, and random base64url values start so one time in 64).
 */
function isPlainStart(c: number, next: number): boolean {
  if (Number.isNaN(c) || c === SPACE || c === NEWLINE) return false;
  if (c === DASH) return !Number.isNaN(next) && next !== SPACE && next !== NEWLINE;
  // ? : , [ ] { } # & * ! | > ' " % @ `
  return !'?:,[]{}#&*!|>\'"%@`'.includes(String.fromCharCode(c));
}
