/**
 * Go `encoding/json` output, as sops writes JSON (sops-format.md §6.2): scalars as `json.Marshal`
 * writes them, then laid out as `json.Indent` would. Pure string functions, no store knowledge.
 */
import { SopsFormatError } from '../errors.ts';
import type { RawValue } from './tree.ts';

/** A JSON value ready to lay out: scalars already rendered to their exact text. */
export type GoJson =
  | { readonly kind: 'text'; readonly text: string }
  | { readonly kind: 'object'; readonly members: ReadonlyArray<readonly [string, GoJson]> }
  | { readonly kind: 'array'; readonly items: readonly GoJson[] };

const HEX = '0123456789abcdef';

/**
 * A string as Go's `json.Marshal` quotes it: HTML-unsafe `<`, `>`, `&` and U+2028/U+2029 as
 * `\u` escapes, `\b \f \n \r \t` in short form (Go ≥ 1.22), other control characters as `\u00xx`.
 * A lone surrogate is written `\ufffd`, as Go writes a byte sequence that is not UTF-8.
 */
export function goQuote(value: string): string {
  let out = '"';
  let clean = 0;
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    let escape: string | undefined;
    if (code < 0x20 || code === 0x22 || code === 0x5c || code === 0x3c || code === 0x3e || code === 0x26) {
      escape = shortEscape(code) ?? `\\u00${HEX[code >> 4]}${HEX[code & 0xf]}`;
    } else if (code === 0x2028 || code === 0x2029) {
      escape = `\\u${code.toString(16)}`;
    } else if (code >= 0xd800 && code <= 0xdfff) {
      const next = value.charCodeAt(i + 1);
      if (code <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
        i++;
        continue;
      }
      escape = '\\ufffd';
    }
    if (escape === undefined) continue;
    out += value.slice(clean, i) + escape;
    clean = i + 1;
  }
  return out + value.slice(clean) + '"';
}

function shortEscape(code: number): string | undefined {
  switch (code) {
    case 0x22:
      return '\\"';
    case 0x5c:
      return '\\\\';
    case 0x08:
      return '\\b';
    case 0x0c:
      return '\\f';
    case 0x0a:
      return '\\n';
    case 0x0d:
      return '\\r';
    case 0x09:
      return '\\t';
    default:
      return undefined;
  }
}

/**
 * A float64 as Go's `json.Marshal` writes it: shortest digits, exponent form below 1e-6 and from
 * 1e21 (`1e-7`, `1e+21`), which is JS's own threshold, except that Go keeps the sign of `-0`.
 * NaN and infinities have no JSON form: Go refuses them, so do we.
 */
export function goFloat(value: number): string {
  if (!Number.isFinite(value)) {
    throw new SopsFormatError('json-unsupported-value', 'a NaN or infinite float cannot be written as JSON');
  }
  if (Object.is(value, -0)) return '-0';
  return String(value);
}

/** Metadata (or any plain JS value read from a store) as Go marshals it: integers exactly. */
export function rawToGoJson(value: RawValue): GoJson {
  if (value === null) return { kind: 'text', text: 'null' };
  switch (typeof value) {
    case 'string':
      return { kind: 'text', text: goQuote(value) };
    case 'number':
      return { kind: 'text', text: goFloat(value) };
    case 'bigint':
      return { kind: 'text', text: value.toString() };
    case 'boolean':
      return { kind: 'text', text: value ? 'true' : 'false' };
  }
  if (Array.isArray(value)) return { kind: 'array', items: value.map(rawToGoJson) };
  return { kind: 'object', members: Object.entries(value).map(([key, item]) => [key, rawToGoJson(item)] as const) };
}

/**
 * `value` laid out as Go's `json.Indent(dst, compact, "", unit)` would, for a value that starts
 * on a line indented by `base`: members on their own lines, `"key": value`, empty `{}` / `[]`
 * kept on one line. No trailing newline.
 */
export function goIndent(value: GoJson, unit: string, base = '', newline = '\n'): string {
  if (value.kind === 'text') return value.text;
  const inner = base + unit;
  if (value.kind === 'array') {
    if (value.items.length === 0) return '[]';
    const items = value.items.map((item) => inner + goIndent(item, unit, inner, newline));
    return `[${newline}${items.join(`,${newline}`)}${newline}${base}]`;
  }
  if (value.members.length === 0) return '{}';
  const members = value.members.map(
    ([key, item]) => `${inner}${goQuote(key)}: ${goIndent(item, unit, inner, newline)}`,
  );
  return `{${newline}${members.join(`,${newline}`)}${newline}${base}}`;
}

/** `value` as `json.Marshal` writes it, without any whitespace. */
export function goCompact(value: GoJson): string {
  if (value.kind === 'text') return value.text;
  if (value.kind === 'array') return `[${value.items.map(goCompact).join(',')}]`;
  return `{${value.members.map(([key, item]) => `${goQuote(key)}:${goCompact(item)}`).join(',')}}`;
}

/**
 * Bytes as the Go string `string(b)`, for `goQuote`: valid UTF-8 decodes as usual; every byte that
 * does not start a valid sequence becomes a lone surrogate, which `goQuote` writes as `\ufffd`,
 * one per byte, exactly as `json.Marshal` does (TextDecoder would merge some of them).
 */
export function goBytesToString(bytes: Uint8Array): string {
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    let out = '';
    for (let i = 0; i < bytes.length; ) {
      const width = utf8Width(bytes, i);
      if (width === 0) {
        out += '\udc00';
        i++;
      } else {
        out += new TextDecoder('utf-8', { ignoreBOM: true }).decode(bytes.subarray(i, i + width));
        i += width;
      }
    }
    return out;
  }
}

/** Length of the valid UTF-8 sequence at `i` (Go's `utf8.DecodeRune` rules), 0 when invalid. */
function utf8Width(bytes: Uint8Array, i: number): number {
  const b0 = bytes[i] ?? 0;
  const cont = (at: number, low = 0x80, high = 0xbf): boolean => {
    const b = bytes[at];
    return b !== undefined && b >= low && b <= high;
  };
  if (b0 < 0x80) return 1;
  if (b0 >= 0xc2 && b0 <= 0xdf) return cont(i + 1) ? 2 : 0;
  if (b0 >= 0xe0 && b0 <= 0xef) {
    const low = b0 === 0xe0 ? 0xa0 : 0x80;
    const high = b0 === 0xed ? 0x9f : 0xbf;
    return cont(i + 1, low, high) && cont(i + 2) ? 3 : 0;
  }
  if (b0 >= 0xf0 && b0 <= 0xf4) {
    const low = b0 === 0xf0 ? 0x90 : 0x80;
    const high = b0 === 0xf4 ? 0x8f : 0xbf;
    return cont(i + 1, low, high) && cont(i + 2) && cont(i + 3) ? 4 : 0;
  }
  return 0;
}
