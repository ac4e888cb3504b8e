/**
 * A small recursive-descent JSON parser that keeps what `JSON.parse` loses: member order (JSON.parse
 * moves integer-like keys such as `"0"` first), duplicate keys, the exact text of numbers, and the
 * span of every token, so a store can rewrite one value and copy every other byte.
 *
 * It accepts exactly the RFC 8259 grammar that Go's `encoding/json` accepts: no comments, no
 * trailing commas, whitespace is space, tab, CR and LF only, nothing after the top-level value.
 */
import { SopsFormatError } from '../../errors.ts';
import type { Span } from '../tree.ts';

export interface JsonMember {
  readonly key: string;
  readonly keySpan: Span;
  readonly value: JsonSyntax;
}

export type JsonSyntax =
  | { readonly kind: 'object'; readonly span: Span; readonly members: readonly JsonMember[] }
  | { readonly kind: 'array'; readonly span: Span; readonly items: readonly JsonSyntax[] }
  | { readonly kind: 'string'; readonly span: Span; readonly value: string }
  /** `text` is the literal as written, so integers beyond 2^53 keep every digit. */
  | { readonly kind: 'number'; readonly span: Span; readonly text: string }
  | { readonly kind: 'bool'; readonly span: Span; readonly value: boolean }
  | { readonly kind: 'null'; readonly span: Span };

export type JsonObjectSyntax = Extract<JsonSyntax, { kind: 'object' }>;

/**
 * Deepest nesting accepted. Go's `encoding/json` allows 10,000 levels, but every later walk over
 * the tree (crypto, emit) recurses too, and Node's default stack overflows near 2,000 levels of
 * them; no real secrets file comes close, so a typed refusal beats a stack overflow.
 */
export const MAX_JSON_DEPTH = 1000;

/**
 * Parses one JSON document. Malformed input gives a `SopsFormatError` with code `malformed-json`
 * naming the line and column; messages never quote the input, which may be a secret.
 */
export function parseJsonSyntax(text: string): JsonSyntax {
  const parser = new Parser(text);
  parser.skipSpace();
  const value = parser.value(0);
  parser.skipSpace();
  if (parser.pos < text.length) parser.fail('unexpected text after the top-level value');
  return value;
}

/** 1-based line and column of a UTF-16 offset. */
export function lineColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = text.indexOf('\n'); i !== -1 && i < offset; i = text.indexOf('\n', i + 1)) {
    line++;
    lineStart = i + 1;
  }
  return { line, column: offset - lineStart + 1 };
}

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;

class Parser {
  readonly text: string;
  pos = 0;

  constructor(text: string) {
    this.text = text;
  }

  fail(reason: string, at = this.pos, code = 'malformed-json'): never {
    const { line, column } = lineColumn(this.text, at);
    const where = at >= this.text.length ? 'at end of input' : `at line ${line}, column ${column}`;
    throw new SopsFormatError(code, `malformed JSON ${where}: ${reason}`);
  }

  skipSpace(): void {
    const text = this.text;
    while (this.pos < text.length) {
      const c = text.charCodeAt(this.pos);
      if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) return;
      this.pos++;
    }
  }

  value(depth: number): JsonSyntax {
    const start = this.pos;
    const c = this.text[start];
    switch (c) {
      case '{':
        return this.object(depth + 1);
      case '[':
        return this.array(depth + 1);
      case '"':
        return { kind: 'string', value: this.string(), span: { start, end: this.pos } };
      case 't':
        return this.literal('true', { kind: 'bool', value: true, span: { start, end: start + 4 } });
      case 'f':
        return this.literal('false', { kind: 'bool', value: false, span: { start, end: start + 5 } });
      case 'n':
        return this.literal('null', { kind: 'null', span: { start, end: start + 4 } });
      case undefined:
        return this.fail('expected a value');
    }
    NUMBER.lastIndex = start;
    const match = NUMBER.exec(this.text);
    if (match === null) return this.fail('expected a value');
    this.pos = NUMBER.lastIndex;
    // `1.` or `01` stop the pattern early; what follows must not continue the number.
    if (/[\d.eE+-]/.test(this.text[this.pos] ?? '')) this.fail('invalid number');
    // Go's ParseFloat fails on a literal beyond float64 (`1e400`) rather than giving an infinity.
    if (!Number.isFinite(Number(match[0]))) this.fail('number out of the float64 range', start, 'json-number-out-of-range');
    return { kind: 'number', text: match[0], span: { start, end: this.pos } };
  }

  literal<T extends JsonSyntax>(word: string, node: T): T {
    if (!this.text.startsWith(word, this.pos)) this.fail('expected a value');
    this.pos += word.length;
    return node;
  }

  object(depth: number): JsonSyntax {
    if (depth > MAX_JSON_DEPTH) this.fail(`nested deeper than ${MAX_JSON_DEPTH} levels`, this.pos, 'json-too-deep');
    const start = this.pos;
    this.pos++;
    const members: JsonMember[] = [];
    this.skipSpace();
    if (this.text[this.pos] === '}') {
      this.pos++;
      return { kind: 'object', members, span: { start, end: this.pos } };
    }
    for (;;) {
      this.skipSpace();
      if (this.text[this.pos] !== '"') this.fail('expected a string key');
      const keyStart = this.pos;
      const key = this.string();
      const keySpan = { start: keyStart, end: this.pos };
      this.skipSpace();
      if (this.text[this.pos] !== ':') this.fail("expected ':' after an object key");
      this.pos++;
      this.skipSpace();
      members.push({ key, keySpan, value: this.value(depth) });
      this.skipSpace();
      const next = this.text[this.pos];
      this.pos++;
      if (next === '}') return { kind: 'object', members, span: { start, end: this.pos } };
      if (next !== ',') this.fail("expected ',' or '}' after an object member", this.pos - 1);
    }
  }

  array(depth: number): JsonSyntax {
    if (depth > MAX_JSON_DEPTH) this.fail(`nested deeper than ${MAX_JSON_DEPTH} levels`, this.pos, 'json-too-deep');
    const start = this.pos;
    this.pos++;
    const items: JsonSyntax[] = [];
    this.skipSpace();
    if (this.text[this.pos] === ']') {
      this.pos++;
      return { kind: 'array', items, span: { start, end: this.pos } };
    }
    for (;;) {
      this.skipSpace();
      items.push(this.value(depth));
      this.skipSpace();
      const next = this.text[this.pos];
      this.pos++;
      if (next === ']') return { kind: 'array', items, span: { start, end: this.pos } };
      if (next !== ',') this.fail("expected ',' or ']' after an array element", this.pos - 1);
    }
  }

  /** Reads a string token starting at its opening quote; leaves `pos` after the closing quote. */
  string(): string {
    const text = this.text;
    let pos = this.pos + 1;
    let out = '';
    let clean = pos;
    for (;;) {
      if (pos >= text.length) {
        this.pos = pos;
        this.fail('unterminated string');
      }
      const c = text.charCodeAt(pos);
      if (c === 0x22) break;
      if (c < 0x20) this.fail('control character in a string', pos);
      if (c !== 0x5c) {
        pos++;
        continue;
      }
      out += text.slice(clean, pos);
      const escaped = text[pos + 1];
      const simple = escaped === undefined ? undefined : SIMPLE_ESCAPES[escaped];
      if (simple !== undefined) {
        out += simple;
        pos += 2;
      } else if (escaped === 'u') {
        const unit = this.hex4(pos + 2);
        pos += 6;
        if (unit >= 0xd800 && unit <= 0xdbff && text.startsWith('\\u', pos)) {
          const low = this.hex4(pos + 2);
          if (low >= 0xdc00 && low <= 0xdfff) {
            out += String.fromCharCode(unit, low);
            pos += 6;
          } else {
            out += '\ufffd';
          }
        } else {
          // Go decodes a lone surrogate escape to U+FFFD.
          out += unit >= 0xd800 && unit <= 0xdfff ? '\ufffd' : String.fromCharCode(unit);
        }
      } else {
        this.fail('invalid escape in a string', pos);
      }
      clean = pos;
    }
    this.pos = pos + 1;
    return out + text.slice(clean, pos);
  }

  hex4(at: number): number {
    const digits = this.text.slice(at, at + 4);
    if (!/^[0-9a-fA-F]{4}$/.test(digits)) this.fail('invalid \\u escape in a string', at - 2);
    return parseInt(digits, 16);
  }
}

const SIMPLE_ESCAPES: Readonly<Record<string, string>> = {
  '"': '"',
  '\\': '\\',
  '/': '/',
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
};
