import { describe, expect, it } from 'vitest';
import { goFloatText, plaintextBytes, valueFromPlaintext } from '../../src/sops/values.ts';

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

describe('Go text forms of values', () => {
  it.each([
    [1, '1'],
    [1234568000, '1234568000'],
    [0.1, '0.1'],
    [1e21, '1000000000000000000000'],
    [1.5e-7, '0.00000015'],
    [-2.5e-8, '-0.000000025'],
    [1.2345e25, '12345000000000000000000000'],
    [-0, '-0'],
    [NaN, 'NaN'],
    [Infinity, '+Inf'],
    [-Infinity, '-Inf'],
  ])('formats float %s as %s', (value, expected) => {
    expect(goFloatText(value)).toBe(expected);
  });

  it('writes booleans capitalised and integers without losing digits', () => {
    expect(text(plaintextBytes({ type: 'bool', value: true }))).toBe('True');
    expect(text(plaintextBytes({ type: 'bool', value: false }))).toBe('False');
    expect(text(plaintextBytes({ type: 'int', value: 9223372036854775807n }))).toBe('9223372036854775807');
  });

  it('reads plaintext back as Go does and refuses what Go refuses', () => {
    const bytes = (s: string) => new TextEncoder().encode(s);
    expect(valueFromPlaintext('int', bytes('-42'), 'a:')).toEqual({ type: 'int', value: -42n });
    expect(valueFromPlaintext('bool', bytes('T'), 'a:')).toEqual({ type: 'bool', value: true });
    expect(valueFromPlaintext('float', bytes('+Inf'), 'a:')).toEqual({ type: 'float', value: Infinity });
    expect(() => valueFromPlaintext('bool', bytes('yes'), 'a:')).toThrow(/a: does not hold a valid boolean/);
    expect(() => valueFromPlaintext('int', bytes('9223372036854775808'), 'a:')).toThrow(/64-bit/);
    expect(() => valueFromPlaintext('weird', bytes('x'), 'a:')).toThrow(/unknown type/);
  });

  it('keeps non-UTF-8 plaintext as bytes', () => {
    const raw = Uint8Array.of(0xff, 0x00, 0xfe);
    expect(valueFromPlaintext('str', raw, 'data:')).toEqual({ type: 'bytes', value: raw });
  });
});
