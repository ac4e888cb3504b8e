import { SopsIntegrityError } from '../errors.ts';
import type { ScalarValue } from './tree.ts';

/**
 * The bytes sops encrypts for a value and feeds to the MAC (sops-format.md §1.3, §3.1): Go's text
 * forms, which differ from JavaScript's for booleans, floats and large integers.
 */

const utf8 = new TextEncoder();
// `ignoreBOM` keeps a leading U+FEFF: Go's `string(bytes)` keeps it, so the MAC covers it, and a
// decoder that dropped it would make every such value fail its MAC (and never round-trip).
const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
/** Lossy decoding for the typed forms and comments, keeping a leading U+FEFF as Go does. */
export const lenientUtf8 = new TextDecoder('utf-8', { ignoreBOM: true });

/** The `type:` sops writes for a value. Raw bytes are written as `str` (sops-format.md §1.3). */
export type EncType = 'str' | 'int' | 'float' | 'bool' | 'time' | 'comment' | 'bytes';

export function encTypeOf(value: ScalarValue): EncType {
  return value.type === 'bytes' ? 'str' : value.type;
}

export function plaintextBytes(value: ScalarValue): Uint8Array {
  switch (value.type) {
    case 'str':
    case 'time':
      return utf8.encode(value.value);
    case 'bytes':
      return value.value;
    case 'int':
      return utf8.encode(value.value.toString());
    case 'float':
      return utf8.encode(goFloatText(value.value));
    case 'bool':
      return utf8.encode(value.value ? 'True' : 'False');
  }
}

/** Go's `strconv.FormatFloat(x, 'f', -1, 64)`: shortest digits, never an exponent (§1.3.1). */
export function goFloatText(x: number): string {
  if (Number.isNaN(x)) return 'NaN';
  if (x === Infinity) return '+Inf';
  if (x === -Infinity) return '-Inf';
  if (Object.is(x, -0)) return '-0';
  const text = String(x);
  const exponentAt = text.indexOf('e');
  if (exponentAt < 0) return text;
  return expandExponent(text.slice(0, exponentAt), Number(text.slice(exponentAt + 1)));
}

/** `1.5e-7` → `0.00000015`, `1e21` → `1000000000000000000000`: JS digits, Go's positional form. */
function expandExponent(mantissa: string, exponent: number): string {
  const negative = mantissa.startsWith('-');
  const unsigned = negative ? mantissa.slice(1) : mantissa;
  const [whole = '', fraction = ''] = unsigned.split('.');
  const digits = whole + fraction;
  const pointAt = whole.length + exponent;
  let result: string;
  if (pointAt <= 0) result = `0.${'0'.repeat(-pointAt)}${digits}`;
  else if (pointAt >= digits.length) result = digits + '0'.repeat(pointAt - digits.length);
  else result = `${digits.slice(0, pointAt)}.${digits.slice(pointAt)}`;
  return negative ? `-${result}` : result;
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const GO_BOOLS: Record<string, boolean> = {
  '1': true, t: true, T: true, TRUE: true, true: true, True: true,
  '0': false, f: false, F: false, FALSE: false, false: false, False: false,
};

/**
 * Turns decrypted bytes back into a value of the given `type:` as sops's `Decrypt` does.
 * `str` that is not valid UTF-8 (binary store payloads) comes back as `bytes`, so no byte is lost.
 * Errors name the AAD path only, never the plaintext.
 */
export function valueFromPlaintext(type: string, bytes: Uint8Array, aad: string): ScalarValue {
  if (type === 'bytes') return { type: 'bytes', value: bytes };
  if (type === 'str') {
    try {
      return { type: 'str', value: strictUtf8.decode(bytes) };
    } catch {
      return { type: 'bytes', value: bytes };
    }
  }
  const text = lenientUtf8.decode(bytes);
  const bad = (what: string): never => {
    throw new SopsIntegrityError('bad-plaintext', `value at ${aad} does not hold a valid ${what}`);
  };
  switch (type) {
    case 'int': {
      if (!/^[+-]?\d+$/.test(text)) return bad('integer');
      const value = BigInt(text);
      if (value < INT64_MIN || value > INT64_MAX) return bad('64-bit integer');
      return { type: 'int', value };
    }
    case 'float': {
      const value = parseGoFloat(text);
      return value === undefined ? bad('float') : { type: 'float', value };
    }
    case 'bool': {
      const value = GO_BOOLS[text];
      return value === undefined ? bad('boolean') : { type: 'bool', value };
    }
    case 'time':
      if (Number.isNaN(Date.parse(text))) return bad('timestamp');
      return { type: 'time', value: text };
    default:
      throw new SopsIntegrityError('unknown-type', `value at ${aad} has unknown type "${type}"`);
  }
}

/** Go's `strconv.ParseFloat(s, 64)` for the forms sops writes and the special values it accepts. */
function parseGoFloat(text: string): number | undefined {
  const special = /^([+-]?)(inf|infinity|nan)$/i.exec(text);
  if (special) {
    if (special[2]!.toLowerCase() === 'nan') return NaN;
    return special[1] === '-' ? -Infinity : Infinity;
  }
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(text)) return undefined;
  return Number(text);
}
