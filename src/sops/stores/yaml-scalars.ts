/**
 * YAML scalar typing as go-yaml v3 does it (sops-format.md §6.1), and the reverse: scalar text that
 * go-yaml reads back as the same typed value.
 *
 * The typing decides the encryption `type` of a value and the bytes a clear value adds to the MAC,
 * so it follows go-yaml's `resolve` rules to the letter rather than YAML 1.2's core schema.
 */
import { SopsFormatError } from '../../errors.ts';
import { formatRfc3339Nano, parseYamlTimestamp } from '../time.ts';
import type { ScalarValue } from '../tree.ts';

/** A resolved scalar: a typed value, or YAML null (which sops keeps as null, never encrypts). */
export type Resolved = ScalarValue | null;

const INT64_MAX = (1n << 63n) - 1n;
const INT64_MIN = -(1n << 63n);
const UINT64_MAX = (1n << 64n) - 1n;

const NULLS = new Set(['', '~', 'null', 'Null', 'NULL']);
const TRUES = new Set(['true', 'True', 'TRUE']);
const FALSES = new Set(['false', 'False', 'FALSE']);
const SPECIAL_FLOATS = new Map<string, number>([
  ['.nan', NaN], ['.NaN', NaN], ['.NAN', NaN],
  ['.inf', Infinity], ['.Inf', Infinity], ['.INF', Infinity],
  ['+.inf', Infinity], ['+.Inf', Infinity], ['+.INF', Infinity],
  ['-.inf', -Infinity], ['-.Inf', -Infinity], ['-.INF', -Infinity],
]);
/** go-yaml's `yamlStyleFloat`. */
const YAML_STYLE_FLOAT = /^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$/;
/** go-yaml's resolve table: only texts starting with these characters can be anything but a string. */
const HINTED = /^[-+0-9yYnNtTfFoO~.]/;

/**
 * Types an untagged plain scalar like go-yaml v3 decoding into `interface{}`.
 * Integers between 2^63 and 2^64−1 decode to Go `uint64`, which the sops walker rejects: they are a
 * `SopsFormatError` here too.
 */
export function resolvePlain(text: string): Resolved {
  if (text !== '' && !HINTED.test(text)) return str(text);
  if (NULLS.has(text)) return null;
  if (TRUES.has(text)) return { type: 'bool', value: true };
  if (FALSES.has(text)) return { type: 'bool', value: false };
  const special = SPECIAL_FLOATS.get(text);
  if (special !== undefined) return { type: 'float', value: special };

  const first = text[0];
  if (first === '.') {
    const f = parseGoFloat(text);
    return f === undefined ? str(text) : { type: 'float', value: f };
  }
  if (first === undefined || !/[-+0-9]/.test(first)) return str(text);

  const time = parseYamlTimestamp(text);
  if (time) return { type: 'time', value: formatRfc3339Nano(time) };
  return resolveNumber(text) ?? str(text);
}

/**
 * Types a scalar with an explicit tag (`!!int 0x10`, `!!str 1`, `!!binary aGk=`), quoted or not, as
 * go-yaml does; a value that does not fit its tag is an error. Unknown and local tags give strings.
 */
export function resolveTagged(tag: string, text: string): Resolved {
  const short = tag.startsWith('tag:yaml.org,2002:') ? '!!' + tag.slice('tag:yaml.org,2002:'.length) : tag;
  switch (short) {
    case '!!str':
    case '!':
      return str(text);
    case '!!binary':
      return str(decodeBinary(text));
    case '!!null':
      if (NULLS.has(text)) return null;
      break;
    case '!!bool':
      if (TRUES.has(text)) return { type: 'bool', value: true };
      if (FALSES.has(text)) return { type: 'bool', value: false };
      break;
    case '!!int': {
      const v = resolveNumber(text);
      if (v?.type === 'int') return v;
      break;
    }
    case '!!float': {
      const special = SPECIAL_FLOATS.get(text);
      if (special !== undefined) return { type: 'float', value: special };
      const v = text.startsWith('.') ? (parseGoFloat(text) ?? undefined) : resolveNumber(text);
      if (typeof v === 'number') return { type: 'float', value: v };
      // go-yaml turns an int under `!!float` into a float64.
      if (v?.type === 'int') return { type: 'float', value: Number(v.value) };
      if (v?.type === 'float') return v;
      break;
    }
    case '!!timestamp': {
      const time = parseYamlTimestamp(text);
      if (time) return { type: 'time', value: formatRfc3339Nano(time) };
      break;
    }
    default:
      return str(text);
  }
  throw new SopsFormatError('yaml-bad-tagged-scalar', `a scalar tagged ${short} does not hold a valid ${short.slice(2)}`);
}

/** Go `strconv.ParseInt(s, 0, 64)` after go-yaml removed every `_`, then its float fallback. */
function resolveNumber(text: string): ScalarValue | undefined {
  const plain = text.replaceAll('_', '');
  const int = parseGoIntBase0(plain);
  if (int !== undefined) {
    if (int >= INT64_MIN && int <= INT64_MAX) return { type: 'int', value: int };
    if (int > 0n && int <= UINT64_MAX) {
      throw new SopsFormatError(
        'yaml-uint64',
        'an integer above 2^63-1 decodes as a Go uint64, which sops does not support',
      );
    }
    // Out of the 64-bit range: go-yaml falls through to its float rule, which only accepts decimals.
  }
  if (YAML_STYLE_FLOAT.test(plain)) {
    const f = parseGoFloat(plain);
    if (f !== undefined) return { type: 'float', value: f };
  }
  return undefined;
}

/** Go base-0 integer syntax: sign, then `0x`, `0o`, `0b`, a leading `0` (octal) or decimal. */
function parseGoIntBase0(s: string): bigint | undefined {
  const m = /^([-+]?)(0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|0[0-7]*|[1-9][0-9]*)$/.exec(s);
  if (!m) return undefined;
  const sign = m[1] === '-' ? -1n : 1n;
  const body = m[2] ?? '';
  let value: bigint;
  if (/^0[xXoObB]/.test(body)) value = BigInt(body.toLowerCase());
  else if (body.length > 1 && body.startsWith('0')) value = BigInt('0o' + body.slice(1));
  else value = BigInt(body);
  return sign * value;
}

/** Go `strconv.ParseFloat` for the decimal forms go-yaml lets through (no hex floats, no `Inf`). */
function parseGoFloat(s: string): number | undefined {
  if (!YAML_STYLE_FLOAT.test(s)) return undefined;
  const value = Number(s);
  // ParseFloat reports a range error (and go-yaml then keeps the text as a string) on overflow.
  return Number.isFinite(value) ? value : undefined;
}

function decodeBinary(text: string): string {
  // Go's StdEncoding skips line breaks; anything else outside the alphabet is an error.
  const b64 = text.replace(/[\r\n]/g, '');
  if (!/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(b64)) {
    throw new SopsFormatError('yaml-bad-binary', 'a !!binary scalar is not valid base64');
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(Buffer.from(b64, 'base64'));
  } catch {
    throw new SopsFormatError('yaml-binary-not-utf8', 'a !!binary scalar does not decode to UTF-8 text, which is not supported');
  }
}

function str(value: string): ScalarValue {
  return { type: 'str', value };
}

// --- Writing -----------------------------------------------------------------------------------

/** Where a scalar is written: flow collections forbid `,[]{}` in plain scalars. */
export interface ScalarContext {
  readonly flow: boolean;
}

/** YAML 1.1 booleans: go-yaml v3 quotes them on output so older readers keep them strings. */
const OLD_BOOLS = /^(y|Y|yes|Yes|YES|n|N|no|No|NO|on|On|ON|off|Off|OFF)$/;

/**
 * True when `s` can be written as a plain scalar that go-yaml reads back as this same string.
 * Conservative: anything doubtful is quoted.
 */
export function isPlainSafe(s: string, context: ScalarContext): boolean {
  if (s === '' || s !== s.trim() || OLD_BOOLS.test(s)) return false;
  if (/[\u0000-\u001f\u007f-\u009f\u2028\u2029\ufeff]/.test(s)) return false;
  if (/^[-?:,[\]{}#&*!|>'"%@`]/.test(s)) return false;
  if (s.includes(': ') || s.includes(' #') || s.endsWith(':')) return false;
  if (context.flow && /[,[\]{}]/.test(s)) return false;
  if (s.startsWith('---') || s.startsWith('...')) return false;
  let resolved: Resolved;
  try {
    resolved = resolvePlain(s);
  } catch {
    return false;
  }
  return resolved !== null && resolved.type === 'str' && resolved.value === s;
}

/** A YAML double-quoted scalar: every string can be written this way on one line. */
export function doubleQuoted(s: string): string {
  let out = '"';
  for (const ch of s) {
    const code = ch.codePointAt(0) ?? 0;
    switch (ch) {
      case '"': out += '\\"'; break;
      case '\\': out += '\\\\'; break;
      case '\n': out += '\\n'; break;
      case '\t': out += '\\t'; break;
      case '\r': out += '\\r'; break;
      case '\0': out += '\\0'; break;
      default:
        if (code < 0x20 || (code >= 0x7f && code <= 0x9f)) out += '\\x' + code.toString(16).padStart(2, '0');
        else if (code === 0x2028 || code === 0x2029 || code === 0xfeff) out += '\\u' + code.toString(16).padStart(4, '0');
        else out += ch;
    }
  }
  return out + '"';
}

/** A string as a plain scalar when safe, else double-quoted (single line either way). */
export function inlineString(s: string, context: ScalarContext): string {
  return isPlainSafe(s, context) ? s : doubleQuoted(s);
}

/**
 * A float as text go-yaml reads back as the same float64 (never as an int): `.nan`, `.inf`, `-.inf`,
 * and otherwise JS's shortest round-trip digits with a `.0` added when there is no point or exponent.
 */
export function floatText(value: number): string {
  if (Number.isNaN(value)) return '.nan';
  if (value === Infinity) return '.inf';
  if (value === -Infinity) return '-.inf';
  if (Object.is(value, -0)) return '-0.0';
  const s = String(value);
  return /[.e]/.test(s) ? s : s + '.0';
}

/**
 * The single-line text of a typed value (strings plain or double-quoted). Multi-line strings come
 * out double-quoted; callers that can place a literal block use {@link literalBlock} instead.
 */
export function scalarText(value: ScalarValue, context: ScalarContext): string {
  switch (value.type) {
    case 'str':
      return inlineString(value.value, context);
    case 'int':
      return value.value.toString();
    case 'float':
      return floatText(value.value);
    case 'bool':
      return value.value ? 'true' : 'false';
    case 'time':
      return value.value;
    case 'bytes':
      return '!!binary ' + Buffer.from(value.value).toString('base64');
  }
}

/**
 * A literal block scalar (`|`, `|-` or `|+`) for a multi-line string, with content lines at
 * `indent` spaces, or `undefined` when the string cannot be one (leading space on its first line,
 * control characters, carriage returns). The text ends at the last content line, without its line
 * break: the caller's following line break ends it.
 */
export function literalBlock(s: string, indent: number, newline = '\n'): string | undefined {
  if (!s.includes('\n')) return undefined;
  if (/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029\ufeff]/.test(s)) return undefined;
  // A first line starting with a space (or an empty first line) would need an indentation indicator.
  if (s.startsWith(' ') || s.startsWith('\n')) return undefined;
  let chomp: '' | '-' | '+';
  let body: string;
  if (!s.endsWith('\n')) {
    chomp = '-';
    body = s;
  } else if (s.endsWith('\n\n')) {
    chomp = '+';
    body = s.slice(0, -1);
  } else {
    chomp = '';
    body = s.slice(0, -1);
  }
  const pad = ' '.repeat(indent);
  return '|' + chomp + body.split('\n').map((line) => newline + (line === '' ? '' : pad + line)).join('');
}
