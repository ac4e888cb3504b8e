// Tests for src/sops/go-json.ts (Go encoding/json output), kept beside the JSON store that uses it.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { goBytesToString, goCompact, goFloat, goIndent, goQuote, rawToGoJson } from '../../../src/sops/go-json.ts';
import type { RawValue } from '../../../src/sops/tree.ts';

describe('goQuote', () => {
  it('escapes as Go json.Marshal does', () => {
    expect(goQuote('<script>&</script>')).toBe('"\\u003cscript\\u003e\\u0026\\u003c/script\\u003e"');
    expect(goQuote('a\u2028b\u2029c')).toBe('"a\\u2028b\\u2029c"');
    expect(goQuote('"\\/\b\f\n\r\t\u0000\u001f\u007f')).toBe('"\\"\\\\/\\b\\f\\n\\r\\t\\u0000\\u001f\u007f"');
    expect(goQuote('é😀')).toBe('"é😀"');
    expect(goQuote('lone \ud800 and \udc00')).toBe('"lone \\ufffd and \\ufffd"');
  });

  it('gives JSON that reads back as the same string, with no character Go would escape left raw', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (value) => {
        const quoted = goQuote(value);
        expect(JSON.parse(quoted)).toBe(value);
        expect(quoted.slice(1, -1)).not.toMatch(/[\u0000-\u001f<>&\u2028\u2029]|(?<!\\)"/);
      }),
    );
  });
});

describe('goFloat', () => {
  it('uses the positional form between 1e-6 and 1e21 and the exponent form outside, keeping -0', () => {
    expect([1e-7, 1.5e-7, 0.000001, 0.1, 25.4, 1e20, 1e21, 1.5e300, -0, 0].map(goFloat)).toEqual([
      '1e-7',
      '1.5e-7',
      '0.000001',
      '0.1',
      '25.4',
      '100000000000000000000',
      '1e+21',
      '1.5e+300',
      '-0',
      '0',
    ]);
  });

  it('reads back as the same float64', () => {
    fc.assert(
      fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), (value) => {
        expect(Object.is(Number(goFloat(value)), value)).toBe(true);
      }),
    );
  });

  it('refuses NaN and infinities', () => {
    for (const value of [NaN, Infinity, -Infinity]) expect(() => goFloat(value)).toThrow(/NaN or infinite/);
  });
});

describe('goIndent and goCompact', () => {
  it('lay out nested values as json.Indent and json.Marshal do', () => {
    const value = rawToGoJson({ a: [1, { b: null }], e: {}, f: [], g: 12345678901234567890n, h: true });
    expect(goIndent(value, '\t')).toBe(
      '{\n\t"a": [\n\t\t1,\n\t\t{\n\t\t\t"b": null\n\t\t}\n\t],\n\t"e": {},\n\t"f": [],\n\t"g": 12345678901234567890,\n\t"h": true\n}',
    );
    expect(goIndent(rawToGoJson([{ x: 'y' }]), '  ', '    ')).toBe('[\n      {\n        "x": "y"\n      }\n    ]');
    expect(goCompact(value)).toBe('{"a":[1,{"b":null}],"e":{},"f":[],"g":12345678901234567890,"h":true}');
  });

  it('write any JSON value so that it parses back to the same value', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const go = rawToGoJson(value as RawValue);
        expect(JSON.parse(goIndent(go, '\t'))).toEqual(value);
        expect(JSON.parse(goCompact(go))).toEqual(value);
      }),
    );
  });
});

describe('goBytesToString', () => {
  it('decodes valid UTF-8 and marks each invalid byte as Go does', () => {
    expect(goBytesToString(new TextEncoder().encode('héllo €'))).toBe('héllo €');
    // Overlong `/`, a surrogate code point, and a truncated 4-byte sequence: every byte is invalid.
    const bytes = Uint8Array.of(0xc0, 0xaf, 0xed, 0xa0, 0x80, 0xf0, 0x9f, 0x98);
    expect(goQuote(goBytesToString(bytes))).toBe(`"${'\\ufffd'.repeat(8)}"`);
  });
});
