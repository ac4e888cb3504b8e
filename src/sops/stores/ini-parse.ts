import { SopsFormatError } from '../../errors.ts';
import type { Comment, Entry, Mapping, Span } from '../tree.ts';
import { commentWithOrigin, goTrimSpace, leadingSpace, readLine, scalarWithOrigin, type Line } from './dotenv-ini-text.ts';
import { hasSurroundedQuote, type CommentStyle } from './ini-write.ts';

/**
 * Reading INI as sops does through gopkg.in/ini.v1 1.67 with default options (sops-format.md §6.4
 * Reading), keeping where every value and comment stands so they can be rewritten in place.
 *
 * Followed from ini.v1: `=` and `:` both end a key; keys and bare values are trimmed; `"""…"""`
 * and backquoted values (possibly over several lines) are unquoted; a bare value loses an inline
 * `#`/`;` comment and one pair of surrounding `"` or `'`; a trailing `\` continues it on the next
 * line; comment lines (and inline comments) belong to the next key or section header; `DEFAULT`
 * is always the first section. Refused where ini.v1 would silently merge or invent names: a
 * section or key given twice (except keys before any header plus one `[DEFAULT]` section) and the
 * auto-numbered key `-`.
 */

/** Where a comment's text stands, to rewrite it: the lines or inline parts to delete, and where its new lines go. */
export interface CommentPlace {
  readonly style: CommentStyle;
  readonly insertAt: number;
  readonly deletions: readonly Span[];
}

/** The `[sops]` section's place in the text. */
export interface SopsPlace {
  /** Its first comment line, or its header line. */
  readonly start: number;
  /** End (newline included) of its last line with a key. */
  readonly contentEnd: number;
  /** No section header follows it. */
  readonly last: boolean;
}

export interface ParsedIni {
  /** One entry per section, `DEFAULT` first; the `[sops]` section is left out. */
  readonly root: Mapping;
  readonly comments: ReadonlyMap<Comment, CommentPlace>;
  /** The `[sops]` keys in file order, values as written. */
  readonly sopsKeys?: ReadonlyMap<string, string>;
  readonly sops?: SopsPlace;
}

interface Section {
  readonly name: string;
  comment?: Comment;
  readonly items: Array<Entry | Comment>;
  readonly keys: Map<string, string>;
  /** Opened by a header (the implicit `DEFAULT` is not). */
  explicit: boolean;
}

/** Comment text gathered for the next key or header, as ini.v1's comment buffer. */
interface PendingComment {
  raw: string;
  readonly lines: Span[];
  readonly inline: Span[];
}

const fail = (code: string, lineNo: number, reason: string): never => {
  // Line numbers only: the line may hold a secret.
  throw new SopsFormatError(code, `INI line ${lineNo}: ${reason}`);
};

function indexOfAny(s: string, chars: string): number {
  for (let i = 0; i < s.length; i++) if (chars.includes(s[i]!)) return i;
  return -1;
}

/** sops's `stripCommentChar`: drops the leading `;`/`#` and spaces of the whole comment. */
function stripCommentChar(comment: string): string {
  if (comment.startsWith(';')) return comment.replace(/^[; ]+/, '');
  if (comment.startsWith('#')) return comment.replace(/^[# ]+/, '');
  return comment;
}

interface ValueRead {
  readonly value: string;
  readonly span: Span;
  /** Offset after the last line the value used. */
  readonly next: number;
  readonly lastLine: number;
  readonly inline?: { readonly raw: string; readonly span: Span };
}

/** Parses INI text; `sopsAllowed` false makes a `[sops]` section an error (a plaintext file). */
export function parseIni(text: string, sopsAllowed: boolean): ParsedIni {
  const sections = new Map<string, Section>();
  const order: Section[] = [];
  const open = (name: string, explicit: boolean, lineNo: number): Section => {
    const existing = sections.get(name);
    if (existing) {
      if (existing.explicit || name !== 'DEFAULT') fail('ini-duplicate-section', lineNo, `section [${name}] appears twice`);
      existing.explicit = explicit;
      return existing;
    }
    const section: Section = { name, items: [], keys: new Map(), explicit };
    sections.set(name, section);
    order.push(section);
    return section;
  };
  let current = open('DEFAULT', false, 0);

  const comments = new Map<Comment, CommentPlace>();
  let pending: PendingComment = { raw: '', lines: [], inline: [] };
  const takeComment = (style: CommentStyle, lineStart: number): Comment | undefined => {
    const taken = pending;
    pending = { raw: '', lines: [], inline: [] };
    const trimmed = goTrimSpace(taken.raw);
    if (trimmed === '') return undefined;
    const first = taken.lines[0];
    const last = taken.lines.at(-1);
    // The origin span covers the comment lines when there are any, else the inline part.
    const span = first && last ? { start: first.start, end: last.end } : taken.inline[0]!;
    const node = commentWithOrigin(stripCommentChar(trimmed), span);
    comments.set(node, { style, insertAt: first?.start ?? lineStart, deletions: [...taken.lines, ...taken.inline] });
    return node;
  };

  let sopsStart: number | undefined;
  let sopsContentEnd = 0;
  let sopsLast = false;

  // ini.v1 skips a UTF-8 byte order mark; the text keeps it so it is written back.
  let at = text.startsWith('\uFEFF') ? 1 : 0;
  let lineNo = 0;
  while (at < text.length) {
    const line = readLine(text, at);
    lineNo++;
    at = line.end;
    const lead = leadingSpace(line.raw);
    const rest = line.raw.slice(lead);
    const restAt = line.start + lead;
    if (rest === '') continue;

    if (rest[0] === '#' || rest[0] === ';') {
      pending.raw += rest;
      pending.lines.push({ start: line.start, end: line.end });
      continue;
    }

    if (rest[0] === '[') {
      // ini.v1 takes the last `]` of the line, even one inside an inline comment.
      const close = rest.lastIndexOf(']');
      if (close < 0) fail('ini-unclosed-section', lineNo, 'section header has no "]"');
      const name = rest.slice(1, close);
      if (name === '') fail('ini-empty-section-name', lineNo, 'section name is empty');
      const after = rest.slice(close + 1);
      const hash = indexOfAny(after, '#;');
      if (hash >= 0) {
        pending.raw += after.slice(hash);
        pending.inline.push({ start: restAt + close + 1, end: line.contentEnd });
      }
      if (sopsStart !== undefined) sopsLast = false;
      if (name === 'sops') {
        if (!sopsAllowed) throw new SopsFormatError('already-encrypted', 'file already encrypted: it has a [sops] section');
        sopsStart = pending.lines[0]?.start ?? line.start;
        sopsContentEnd = line.end;
        sopsLast = true;
      }
      current = open(name, true, lineNo);
      current.comment = takeComment('section', line.start);
      continue;
    }

    const { name, offset } = readKeyName(rest, lineNo);
    if (name === '-') fail('ini-unsupported', lineNo, 'auto-numbered keys ("-") are not supported');
    if (name === '') fail('ini-empty-key', lineNo, 'key name is empty');
    if (current.keys.has(name)) fail('ini-duplicate-key', lineNo, `key "${name}" appears twice in [${current.name}]`);
    const value = readValue(text, line, rest.slice(offset), restAt + offset, lineNo);
    at = value.next;
    lineNo = value.lastLine;
    current.keys.set(name, value.value);
    current.items.push({ kind: 'entry', key: name, value: scalarWithOrigin(value.value, value.span) });
    if (value.inline) {
      pending.raw += value.inline.raw;
      pending.inline.push(value.inline.span);
    }
    const comment = takeComment('key', line.start);
    if (comment) current.items.push(comment);
    if (current.name === 'sops') sopsContentEnd = value.next;
  }

  const sopsSection = sections.get('sops');
  const root: Mapping = {
    kind: 'map',
    items: order
      .filter((section) => section !== sopsSection)
      .map((section) => ({
        kind: 'entry',
        key: section.name,
        value: { kind: 'map', items: section.comment ? [section.comment, ...section.items] : section.items },
      })),
  };
  if (!sopsSection || sopsStart === undefined) return { root, comments };
  return {
    root,
    comments,
    sopsKeys: sopsSection.keys,
    sops: { start: sopsStart, contentEnd: sopsContentEnd, last: sopsLast },
  };
}

/** ini.v1 `readKeyName`: a key may be quoted with `"`, `"""` or a backquote; `=` or `:` ends it. */
function readKeyName(line: string, lineNo: number): { name: string; offset: number } {
  let quote = '';
  if (line[0] === '"') quote = line.length > 6 && line.startsWith('"""') ? '"""' : '"';
  else if (line[0] === '`') quote = '`';

  if (quote !== '') {
    const close = line.indexOf(quote, quote.length);
    if (close < 0) fail('ini-unclosed-quote', lineNo, 'key has no closing quote');
    const delimiter = indexOfAny(line.slice(close + quote.length), '=:');
    if (delimiter < 0) fail('ini-missing-delimiter', lineNo, 'no "=" or ":" after the key');
    return { name: goTrimSpace(line.slice(quote.length, close)), offset: close + quote.length + delimiter + 1 };
  }
  const delimiter = indexOfAny(line, '=:');
  if (delimiter < 0) fail('ini-missing-delimiter', lineNo, 'line is neither a section, a comment nor "key = value"');
  return { name: goTrimSpace(line.slice(0, delimiter)), offset: delimiter + 1 };
}

/**
 * ini.v1 `readValue` on the rest of a key's line (`input` starts at `inputAt` in `text` and runs to
 * the end of the line, newline included). Reads further lines for multi-line quoted values and
 * `\` continuations. The span covers the value as written, quotes included, inline comment not.
 */
function readValue(text: string, line: Line, input: string, inputAt: number, lineNo: number): ValueRead {
  const lead = leadingSpace(input);
  const value = input.slice(lead);
  const valueAt = inputAt + lead;
  const single = (v: string, end: number, inline?: ValueRead['inline']): ValueRead => ({
    value: v,
    span: { start: valueAt, end },
    next: line.end,
    lastLine: lineNo,
    ...(inline ? { inline } : {}),
  });
  if (value === '') return { value: '', span: { start: line.contentEnd, end: line.contentEnd }, next: line.end, lastLine: lineNo };

  let quote = '';
  if (value.length > 3 && value.startsWith('"""')) quote = '"""';
  else if (value[0] === '`') quote = '`';
  if (quote !== '') {
    const close = value.slice(quote.length).lastIndexOf(quote);
    // Single-line quoted: ini.v1 ignores whatever follows the closing quote.
    if (close >= 0) return single(value.slice(quote.length, quote.length + close), valueAt + 2 * quote.length + close);
    return readMultiline(text, line, value.slice(quote.length), valueAt, quote, lineNo);
  }

  let bare = goTrimSpace(value);
  if (bare.endsWith('\\')) return readContinuation(text, line, bare.slice(0, -1), valueAt, lineNo);

  let inline: ValueRead['inline'];
  const hash = indexOfAny(bare, '#;');
  if (hash >= 0) {
    const before = goTrimSpace(bare.slice(0, hash));
    inline = { raw: bare.slice(hash), span: { start: valueAt + before.length, end: valueAt + bare.length } };
    bare = before;
  }
  const end = valueAt + bare.length;
  if (hasSurroundedQuote(bare, '"') || hasSurroundedQuote(bare, "'")) bare = bare.slice(1, -1);
  return single(bare, end, inline);
}

/** ini.v1 `readMultilines`: raw lines until one holds the closing quote; a comment may follow it. */
function readMultiline(text: string, first: Line, start: string, valueAt: number, quote: string, lineNo: number): ValueRead {
  let value = start;
  let line = first;
  for (;;) {
    if (line.eof) fail('ini-unclosed-quote', lineNo, `value has no closing ${quote}`);
    line = readLine(text, line.end);
    lineNo++;
    const close = line.raw.lastIndexOf(quote);
    if (close < 0) {
      value += line.raw;
      continue;
    }
    value += line.raw.slice(0, close);
    const closeEnd = line.start + close + quote.length;
    const after = line.raw.slice(close);
    const hash = indexOfAny(after, '#;');
    const inline = hash < 0 ? undefined : { raw: goTrimSpace(after.slice(hash)), span: { start: closeEnd, end: line.contentEnd } };
    return { value, span: { start: valueAt, end: closeEnd }, next: line.end, lastLine: lineNo, ...(inline ? { inline } : {}) };
  }
}

/** ini.v1 `readContinuationLines`: trimmed lines are appended while each ends in `\`. */
function readContinuation(text: string, first: Line, start: string, valueAt: number, lineNo: number): ValueRead {
  let value = start;
  let line = first;
  let end = valueAt + start.length + 1;
  while (!line.eof) {
    line = readLine(text, line.end);
    lineNo++;
    const next = goTrimSpace(line.raw);
    if (next === '') break;
    value += next;
    end = line.start + leadingSpace(line.raw) + next.length;
    if (!value.endsWith('\\')) break;
    value = value.slice(0, -1);
  }
  return { value, span: { start: valueAt, end }, next: line.end, lastLine: lineNo };
}
