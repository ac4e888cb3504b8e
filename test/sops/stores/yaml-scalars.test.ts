import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SopsFormatError } from '../../../src/errors.ts';
import { yamlStore } from '../../../src/sops/stores/yaml.ts';
import { floatText, isPlainSafe, resolvePlain, resolveTagged, scalarText } from '../../../src/sops/stores/yaml-scalars.ts';
import type { Node, ScalarValue } from '../../../src/sops/tree.ts';

const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);

/** The value of `v` in a one-line document `v: <text>`, read by the store. */
function valueOf(text: string): Node {
  const file = yamlStore.parsePlain(utf8(`v: ${text}\n`));
  const entry = file.tree.branches[0]?.items[0];
  if (entry?.kind !== 'entry') throw new Error('no entry');
  return entry.value;
}

const int = (value: bigint): ScalarValue => ({ type: 'int', value });
const float = (value: number): ScalarValue => ({ type: 'float', value });
const str = (value: string): ScalarValue => ({ type: 'str', value });
const time = (value: string): ScalarValue => ({ type: 'time', value });
const bool = (value: boolean): ScalarValue => ({ type: 'bool', value });

describe('plain scalar typing (go-yaml v3)', () => {
  it.each<[string, ScalarValue]>([
    ['7', int(7n)],
    ['-7', int(-7n)],
    ['+7', int(7n)],
    ['010', int(8n)], // a leading 0 is octal in go-yaml v3
    ['0o17', int(15n)],
    ['0x1F', int(31n)],
    ['-0x1F', int(-31n)],
    ['0b101', int(5n)],
    ['1_000_000', int(1000000n)],
    ['9223372036854775807', int(9223372036854775807n)],
    ['-9223372036854775808', int(-9223372036854775808n)],
    ['08', float(8)], // not octal, not an int: go-yaml falls back to float
    ['1.0', float(1)],
    ['1.5', float(1.5)],
    ['.5', float(0.5)],
    ['1e3', float(1000)],
    ['-1.5E-3', float(-0.0015)],
    ['1.', float(1)],
    ['.inf', float(Infinity)],
    ['-.Inf', float(-Infinity)],
    ['+.INF', float(Infinity)],
    ['-9223372036854775809', float(-9223372036854775809)], // below int64: float
    ['18446744073709551616', float(18446744073709551616)], // above uint64: float
    ['true', bool(true)],
    ['True', bool(true)],
    ['FALSE', bool(false)],
    ['yes', str('yes')],
    ['no', str('no')],
    ['on', str('on')],
    ['tRUE', str('tRUE')],
    ['0x', str('0x')],
    ['1e400', str('1e400')], // ParseFloat range error: string
    ['0xFFFFFFFFFFFFFFFFFF', str('0xFFFFFFFFFFFFFFFFFF')], // beyond uint64, not decimal: string
    ['1:20', str('1:20')], // no sexagesimal
    ['.', str('.')],
    ['-x', str('-x')],
    ['+inf', str('+inf')],
    ['2024-01-01', time('2024-01-01T00:00:00Z')],
    ['2024-1-2', time('2024-01-02T00:00:00Z')],
    ['2001-12-14T21:59:43.10-05:00', time('2001-12-14T21:59:43.1-05:00')],
    ['2001-12-14t21:59:43.10+00:00', time('2001-12-14T21:59:43.1Z')],
    ['2001-12-14 21:59:43.123456789123', time('2001-12-14T21:59:43.123456789Z')],
    ['2001-12-14T21:59:43Z', time('2001-12-14T21:59:43Z')],
    ['2026-05-22T20:16:23Z', time('2026-05-22T20:16:23Z')],
    ['2001-12-14 21:59:43.10 -5', str('2001-12-14 21:59:43.10 -5')], // a YAML 1.1 form go-yaml cannot parse
    ['2023-02-29', str('2023-02-29')], // not a date: then not a number either
    ['2024-13-01', str('2024-13-01')],
    ['12024-01-01', str('12024-01-01')],
  ])('%s', (text, want) => {
    expect(resolvePlain(text)).toEqual(want);
    expect(valueOf(text)).toMatchObject({ kind: 'scalar', value: want });
  });

  it('reads NaN as a float', () => {
    const v = resolvePlain('.nan');
    expect(v?.type).toBe('float');
    expect(Number.isNaN(v?.value)).toBe(true);
  });

  it.each(['null', 'Null', 'NULL', '~', ''])('%j is null', (text) => {
    expect(resolvePlain(text)).toBeNull();
    expect(valueOf(text)).toEqual({ kind: 'null' });
  });

  it('rejects integers that decode as Go uint64', () => {
    expect(() => resolvePlain('9223372036854775808')).toThrow(SopsFormatError);
    expect(() => valueOf('0xFFFFFFFFFFFFFFFF')).toThrow(expect.objectContaining({ code: 'yaml-uint64' }));
  });

  it('keeps quoted and block scalars as strings', () => {
    expect(valueOf('"010"')).toMatchObject({ value: str('010') });
    expect(valueOf("'true'")).toMatchObject({ value: str('true') });
    expect(valueOf('"2024-01-01"')).toMatchObject({ value: str('2024-01-01') });
    expect(valueOf('|\n    1.0\n')).toMatchObject({ value: str('1.0\n') });
    expect(valueOf('>-\n    a\n    b\n')).toMatchObject({ value: str('a b') });
    expect(valueOf('"a\\tb\\u00e9"')).toMatchObject({ value: str('a\tbé') });
  });
});

describe('tagged scalars', () => {
  it.each<[string, ScalarValue | null]>([
    ['!!str 10', str('10')],
    ['!!int "10"', int(10n)],
    ['!!float 1', float(1)],
    ['!!bool true', bool(true)],
    ['!!null null', null],
    ['!!timestamp 2024-01-01', time('2024-01-01T00:00:00Z')],
    ['!!binary aGVsbG8=', str('hello')],
    ['!custom 5', str('5')],
  ])('%s', (text, want) => {
    if (want === null) expect(valueOf(text)).toEqual({ kind: 'null' });
    else expect(valueOf(text)).toMatchObject({ kind: 'scalar', value: want });
  });

  it('rejects a value that does not fit its tag', () => {
    expect(() => resolveTagged('tag:yaml.org,2002:int', '1.5')).toThrow(SopsFormatError);
    expect(() => valueOf('!!bool yes')).toThrow(expect.objectContaining({ code: 'yaml-bad-tagged-scalar' }));
    expect(() => valueOf('!!binary not*base64')).toThrow(expect.objectContaining({ code: 'yaml-bad-binary' }));
  });
});

describe('scalar text', () => {
  it('quotes strings that a plain scalar would read as another type', () => {
    for (const s of ['010', '1.0', 'true', 'True', 'null', '~', '', '2024-01-01', '2026-05-22T20:16:23Z', 'yes', 'off', '.inf', ' lead', 'a: b', 'a #b', '#c', '- x', '*x', '[x', 'x:']) {
      expect(isPlainSafe(s, { flow: false }), s).toBe(false);
    }
    for (const s of ['bar', '3.13.2', '_unencrypted', '^(encrypted)$', 'ENC[AES256_GCM,data:AA==,iv:BB==,tag:CC==,type:str]', 'a:b', 'a#b']) {
      expect(isPlainSafe(s, { flow: false }), s).toBe(true);
    }
    expect(isPlainSafe('ENC[AES256_GCM,data:AA==,iv:BB==,tag:CC==,type:str]', { flow: true })).toBe(false);
  });

  it('writes floats that go-yaml reads back as floats', () => {
    expect(floatText(1)).toBe('1.0');
    expect(floatText(1234568000)).toBe('1234568000.0');
    expect(floatText(-0)).toBe('-0.0');
    expect(floatText(1e21)).toBe('1e+21');
    expect(floatText(1.5e-7)).toBe('1.5e-7');
    expect(floatText(NaN)).toBe('.nan');
    expect(floatText(-Infinity)).toBe('-.inf');
  });

  it('round-trips any value through its text', () => {
    const value = fc.oneof(
      fc.string().map((s) => str(s)),
      fc.string({ unit: fc.constantFrom('0', '1', 'x', '.', '-', ':', ' ', '#', 'e', 'T', '_', 'n', 'u', 'l') }).map((s) => str(s)),
      fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n }).map((v) => int(v)),
      fc.double().map((v) => float(v)),
      fc.boolean().map((v) => bool(v)),
    );
    fc.assert(
      fc.property(value, (v) => {
        const back = valueOf(scalarText(v, { flow: false }));
        expect(back.kind === 'scalar' ? back.value : null).toEqual(v);
      }),
    );
  });
});
