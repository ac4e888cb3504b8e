import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { jsonStore } from '../../../src/sops/stores/json.ts';
import type { LoadedFile } from '../../../src/sops/store.ts';
import type { Comment, Entry, Mapping, Node, RawObject, Scalar, ScalarValue, Tree } from '../../../src/sops/tree.ts';
import { formatError } from '../../support/format-error.ts';
import { VECTORS_DIR as VECTORS } from '../../support/vectors.ts';

const jsonVectors = readdirSync(VECTORS).filter((name) => name.endsWith('.json') && !name.endsWith('.expected.json'));

interface ExpectedLeaf {
  readonly path: string[];
  readonly encrypted: boolean;
  readonly type?: string;
  readonly plaintext?: string;
  readonly cleartext_value?: unknown;
}

const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);
const text = (bytes: Uint8Array): string => new TextDecoder().decode(bytes);
const vector = (name: string): Uint8Array => readFileSync(path.join(VECTORS, name));
const expectedLeaves = (name: string): ExpectedLeaf[] =>
  JSON.parse(readFileSync(path.join(VECTORS, `${name}.expected.json`), 'utf8')).leaves;

/** Scalars and nulls in document order, with their key path (list indices left out, as sops's AAD). */
function leaves(tree: Tree): Array<{ path: string[]; node: Scalar | { kind: 'null' } }> {
  const out: Array<{ path: string[]; node: Scalar | { kind: 'null' } }> = [];
  const visit = (node: Node, at: string[]): void => {
    if (node.kind === 'scalar' || node.kind === 'null') out.push({ path: at, node });
    else if (node.kind === 'map') for (const item of node.items) item.kind === 'entry' && visit(item.value, [...at, item.key]);
    else for (const item of node.items) item.kind !== 'comment' && visit(item, at);
  };
  for (const branch of tree.branches) visit(branch, []);
  return out;
}

function scalarAt(tree: Tree, ...keys: Array<string | number>): Scalar {
  let node: Node | undefined = tree.branches[0];
  for (const key of keys) {
    if (node?.kind === 'map') {
      const entry: Entry | Comment | undefined = node.items.find((item) => item.kind === 'entry' && item.key === key);
      node = entry?.kind === 'entry' ? entry.value : undefined;
    } else if (node?.kind === 'seq') {
      const item = node.items[key as number];
      node = item?.kind === 'comment' ? undefined : item;
    } else node = undefined;
  }
  if (node?.kind !== 'scalar') throw new Error(`no scalar at ${keys.join('.')}`);
  return node;
}

/** The typed value `sops decrypt` would hold for an expected leaf. */
function plainValue(leaf: ExpectedLeaf): ScalarValue {
  const plaintext = leaf.plaintext ?? '';
  switch (leaf.type) {
    case 'float':
      return { type: 'float', value: Number(plaintext) };
    case 'int':
      return { type: 'int', value: BigInt(plaintext) };
    case 'bool':
      return { type: 'bool', value: plaintext === 'True' };
    default:
      return { type: 'str', value: plaintext };
  }
}

const ENC = 'ENC[AES256_GCM,data:AAAA,iv:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=,tag:AAAAAAAAAAAAAAAAAAAAAA==,type:str]';

describe('jsonStore on the real sops JSON vectors', () => {
  it.each(jsonVectors)('%s: leaves, paths and value types match what sops read', (name) => {
    const file = jsonStore.parseEncrypted(vector(name));
    const found = leaves(file.tree);
    const expected = expectedLeaves(name);
    expect(found.map((leaf) => leaf.path)).toEqual(expected.map((leaf) => leaf.path));
    found.forEach(({ node }, i) => {
      const want = expected[i] as ExpectedLeaf;
      expect(node.kind).toBe('scalar');
      const value = (node as Scalar).value;
      if (want.type === 'empty-string') expect(value).toEqual({ type: 'str', value: '' });
      else if (want.encrypted) {
        expect(value.type).toBe('str');
        expect(value.value).toMatch(new RegExp(`^ENC\\[AES256_GCM,.*,type:${want.type}\\]$`));
      } else expect(value).toEqual({ type: 'str', value: want.cleartext_value });
    });
    expect(file.metadata?.lastmodified).toBe(JSON.parse(text(vector(name))).sops.lastmodified);
    expect(file.tree.branches[0]?.items.some((item) => item.kind === 'entry' && item.key === 'sops')).toBe(false);
  });

  it.each(jsonVectors)('%s: unchanged tree and metadata give back the exact bytes', (name) => {
    const bytes = vector(name);
    const file = jsonStore.parseEncrypted(bytes);
    expect(text(jsonStore.emitEncrypted(file, file.metadata as RawObject))).toBe(text(bytes));
  });

  it.each(jsonVectors)('%s: a changed value is the only line that differs', (name) => {
    const bytes = vector(name);
    const file = jsonStore.parseEncrypted(bytes);
    const target = leaves(file.tree).find(({ node }) => node.kind === 'scalar' && String(node.value.value).startsWith('ENC['));
    (target?.node as Scalar).value = { type: 'str', value: ENC };
    const before = text(bytes).split('\n');
    const after = text(jsonStore.emitEncrypted(file, file.metadata as RawObject)).split('\n');
    expect(after).toHaveLength(before.length);
    const changed = after.flatMap((line, i) => (line === before[i] ? [] : [i]));
    expect(changed).toHaveLength(1);
    expect(after[changed[0] as number]).toContain(`"${ENC}"`);
  });

  it.each(jsonVectors)('%s: decrypted values are written typed, and re-encrypted ones give back the bytes', (name) => {
    const bytes = vector(name);
    const file = jsonStore.parseEncrypted(bytes);
    const scalars = leaves(file.tree).map(({ node }) => node as Scalar);
    const originals = scalars.map((scalar) => scalar.value);
    const expected = expectedLeaves(name);
    expected.forEach((leaf, i) => {
      if (leaf.encrypted) (scalars[i] as Scalar).value = plainValue(leaf);
    });
    const decrypted = text(jsonStore.emitEncrypted(file, file.metadata as RawObject));
    const reread = leaves(jsonStore.parseEncrypted(utf8(decrypted)).tree);
    reread.forEach(({ node }, i) => {
      const leaf = expected[i] as ExpectedLeaf;
      if (!leaf.encrypted) return;
      const want = plainValue(leaf);
      // Before 3.13.2 sops typed every JSON number float: the integer `7` now reads back as an int.
      if (want.type === 'float' && Number.isInteger(want.value)) expect((node as Scalar).value).toEqual({ type: 'int', value: BigInt(want.value) });
      else expect((node as Scalar).value).toEqual(want);
    });
    // Fresh objects, equal in value: re-encryption that reproduces every value changes nothing.
    scalars.forEach((scalar, i) => (scalar.value = { ...(originals[i] as ScalarValue) }));
    expect(text(jsonStore.emitEncrypted(file, file.metadata as RawObject))).toBe(text(bytes));
  });

  it('prints the decrypted functional-test file exactly as `sops decrypt` does', () => {
    const file = jsonStore.parseEncrypted(vector('getsops-sops__functional-tests-res-format.enc.json'));
    scalarAt(file.tree, 'foo').value = { type: 'str', value: 'bar' };
    expect(text(jsonStore.emitPlain(file.tree, file))).toBe('{\n\t"foo": "bar"\n}\n');
  });

  it('prints decrypted values with their types: old float-typed integers, floats, bools, empty objects', () => {
    const name = 'humphd-sops-age__tests-data-secret.enc.json';
    const file = jsonStore.parseEncrypted(vector(name));
    const scalars = leaves(file.tree).map(({ node }) => node as Scalar);
    expectedLeaves(name).forEach((leaf, i) => ((scalars[i] as Scalar).value = plainValue(leaf)));
    const printed = text(jsonStore.emitPlain(file.tree));
    expect(printed).toContain('\t"int": 7,\n\t"float": 3.14,\n\t"boolean": true,\n');
    expect(JSON.parse(printed)).toEqual(JSON.parse(readFileSync(path.join(VECTORS, 'humphd-sops-age__tests-data-secret.json.plaintext'), 'utf8')));

    const github = jsonStore.parseEncrypted(vector('getsops-sops__examples-per_file-config.enc-static_github.json'));
    expect(text(jsonStore.emitPlain(github.tree))).toContain('\t"development": {},\n');
  });

  it('keeps the metadata as plain values in file order, nulls of old layouts included', () => {
    const file = jsonStore.parseEncrypted(vector('getsops-sops__example.json'));
    expect(Object.keys(file.metadata ?? {})).toEqual(['kms', 'gcp_kms', 'azure_kv', 'lastmodified', 'mac', 'pgp', 'unencrypted_suffix', 'version']);
    expect(file.metadata?.kms).toBeNull();
    expect((file.metadata?.pgp as RawObject[])[1]?.fp).toBe('D7229043384BCC60326C6FB9D8720D957C3D3074');
  });
});

describe('jsonStore reading', () => {
  it('keeps member order, numeric-looking keys included, which JSON.parse would reorder', () => {
    const file = jsonStore.parsePlain(utf8('{"b": 1, "10": 2, "a": 3, "2": 4}'));
    const keys = file.tree.branches[0]?.items.map((item) => (item.kind === 'entry' ? item.key : ''));
    expect(keys).toEqual(['b', '10', 'a', '2']);
  });

  it('types numbers as sops 3.13.2 does and keeps integers beyond 2^53 exact', () => {
    const file = jsonStore.parsePlain(
      utf8('{"a": 9223372036854775807, "b": -9223372036854775808, "c": 9223372036854775808, "d": 1.0, "e": 1e3, "f": -0, "g": 9007199254740993}'),
    );
    const value = (key: string): ScalarValue => scalarAt(file.tree, key).value;
    expect(value('a')).toEqual({ type: 'int', value: 9223372036854775807n });
    expect(value('b')).toEqual({ type: 'int', value: -9223372036854775808n });
    expect(value('c')).toEqual({ type: 'float', value: 9223372036854775808 });
    expect(value('d')).toEqual({ type: 'float', value: 1 });
    expect(value('e')).toEqual({ type: 'float', value: 1000 });
    expect(value('f')).toEqual({ type: 'int', value: 0n });
    expect(value('g')).toEqual({ type: 'int', value: 9007199254740993n });
    expect(text(jsonStore.emitPlain(file.tree))).toContain('"g": 9007199254740993\n');
  });

  it('decodes escapes in keys and values, surrogate pairs included', () => {
    const file = jsonStore.parsePlain(utf8(String.raw`{"k\u00e9y": "a\"\\\/\b\f\n\r\t\u003c\ud83d\ude00", "lone": "\ud800x"}`));
    expect(scalarAt(file.tree, 'kéy').value).toEqual({ type: 'str', value: 'a"\\/\b\f\n\r\t<😀' });
    // Go turns a lone surrogate escape into U+FFFD.
    expect(scalarAt(file.tree, 'lone').value).toEqual({ type: 'str', value: '\ufffdx' });
  });

  it('gives every scalar its source token and value as origin', () => {
    const source = '{"a": [true, "x", 2.50]}';
    const file = jsonStore.parsePlain(utf8(source));
    const origins = [0, 1, 2].map((i) => scalarAt(file.tree, 'a', i).origin);
    expect(origins.map((origin) => origin && source.slice(origin.span.start, origin.span.end))).toEqual(['true', '"x"', '2.50']);
    expect(origins[2]?.value).toEqual({ type: 'float', value: 2.5 });
  });

  it('keeps duplicate data keys, as sops does', () => {
    const file = jsonStore.parsePlain(utf8('{"a": 1, "a": 2}'));
    expect(file.tree.branches[0]?.items).toHaveLength(2);
  });

  it.each([
    ['truncated', '{"a": "b"', 'malformed-json', /end of input/],
    ['truncated string', '{"a": "b', 'malformed-json', /unterminated string/],
    ['trailing garbage', '{"a": 1}\n}', 'malformed-json', /line 2, column 1/],
    ['second document', '{"a": 1} {"b": 2}', 'malformed-json', /after the top-level value/],
    ['trailing comma', '{"a": 1,}', 'malformed-json', /line 1, column 9/],
    ['comment', '{\n  // note\n  "a": 1\n}', 'malformed-json', /line 2, column 3/],
    ['single quotes', "{'a': 1}", 'malformed-json', /expected a string key/],
    ['leading zero', '{"a": 01}', 'malformed-json', /invalid number/],
    ['bare dot', '{"a": 1.}', 'malformed-json', /invalid number/],
    ['NaN', '{"a": NaN}', 'malformed-json', /expected a value/],
    ['control character in a string', '{"a": "x\ty"}', 'malformed-json', /control character/],
    ['invalid escape', '{"a": "\\x41"}', 'malformed-json', /invalid escape/],
    ['byte order mark', '\ufeff{"a": 1}', 'malformed-json', /line 1, column 1/],
    ['float beyond float64', '{"a": 1e400}', 'json-number-out-of-range', /float64/],
    ['top-level array', '[1, 2]', 'json-not-object', /not an array/],
    ['top-level string', '"x"', 'json-not-object', /not a string/],
  ])('refuses %s with a typed error saying where', (_, source, code, message) => {
    const error = formatError(() => jsonStore.parsePlain(utf8(source)));
    expect(error.code).toBe(code);
    expect(error.message).toMatch(message);
  });

  it('refuses nesting deeper than the documented limit instead of overflowing the stack', () => {
    const deep = `{"a": ${'['.repeat(1000)}${']'.repeat(1000)}}`;
    expect(formatError(() => jsonStore.parsePlain(utf8(deep))).code).toBe('json-too-deep');
    const fine = `{"a": ${'['.repeat(999)}${']'.repeat(999)}}`;
    expect(jsonStore.parsePlain(utf8(fine)).tree.branches).toHaveLength(1);
  });

  it('never quotes the input in an error message', () => {
    const error = formatError(() => jsonStore.parsePlain(utf8('{"password": "hunter2" oops}')));
    expect(error.message).not.toContain('hunter2');
    expect(error.message).not.toContain('oops');
  });

  it('refuses encrypted files whose metadata is missing, doubled or not an object', () => {
    expect(formatError(() => jsonStore.parseEncrypted(utf8('{"a": 1}'))).code).toBe('metadata-not-found');
    expect(formatError(() => jsonStore.parseEncrypted(utf8('{"a": 1, "sops": null}'))).code).toBe('metadata-not-found');
    expect(formatError(() => jsonStore.parseEncrypted(utf8('{"sops": [], "a": 1}'))).code).toBe('metadata-not-object');
    const duplicate = formatError(() => jsonStore.parseEncrypted(utf8('{\n"sops": {},\n"a": 1,\n"sops": {}\n}')));
    expect(duplicate.code).toBe('duplicate-metadata');
    expect(duplicate.message).toMatch(/line 4/);
  });

  it('refuses to take an already encrypted file as plaintext', () => {
    expect(formatError(() => jsonStore.parsePlain(vector('mic92-sops-nix__test-assets-secrets.json'))).code).toBe('already-encrypted');
  });

  it('gives only typed errors for any truncation of a real file', () => {
    const bytes = vector('getsops-sops__example.json');
    fc.assert(
      fc.property(fc.integer({ min: 0, max: bytes.length - 2 }), (cut) => {
        expect(formatError(() => jsonStore.parseEncrypted(bytes.subarray(0, cut))).code).toBeTypeOf('string');
      }),
    );
  });
});

describe('jsonStore writing', () => {
  it('re-renders a changed string as Go encoding/json does (HTML-safe, U+2028/2029, short escapes)', () => {
    const source = '{\n\t"a": "old",\n\t"b": 1\n}\n';
    const file = jsonStore.parsePlain(utf8(source));
    scalarAt(file.tree, 'a').value = { type: 'str', value: '<a href="x">&\u2028\u2029\n\t\\\u0001\u007f\b\fé😀' };
    const out = text(jsonStore.emitEncrypted(file, { version: '3.13.2' }));
    expect(out).toBe(
      '{\n\t"a": "\\u003ca href=\\"x\\"\\u003e\\u0026\\u2028\\u2029\\n\\t\\\\\\u0001\u007f\\b\\fé😀",\n\t"b": 1,\n\t"sops": {\n\t\t"version": "3.13.2"\n\t}\n}\n',
    );
  });

  it('keeps the exact text of values that did not change, even where Go would write them otherwise', () => {
    const source = '{\n\t"a": 1.50,\n\t"b": "caf\\u00e9 <b>",\n\t"c": 1E2,\n\t"d": "old"\n}\n';
    const file = jsonStore.parsePlain(utf8(source));
    scalarAt(file.tree, 'd').value = { type: 'str', value: 'new' };
    expect(text(jsonStore.emitEncrypted(file, {}))).toBe(
      '{\n\t"a": 1.50,\n\t"b": "caf\\u00e9 <b>",\n\t"c": 1E2,\n\t"d": "new",\n\t"sops": {}\n}\n',
    );
  });

  it('writes floats and ints as Go does: exponent thresholds, -0, exact big ints', () => {
    const branch: Mapping = {
      kind: 'map',
      items: (
        [
          ['tiny', { type: 'float', value: 1e-7 }],
          ['small', { type: 'float', value: 0.000001 }],
          ['big', { type: 'float', value: 1e21 }],
          ['below', { type: 'float', value: 1e20 }],
          ['negZero', { type: 'float', value: -0 }],
          ['whole', { type: 'float', value: 1234568000 }],
          ['max', { type: 'int', value: 9223372036854775807n }],
          ['time', { type: 'time', value: '2024-01-01T00:00:00Z' }],
          ['bytes', { type: 'bytes', value: Uint8Array.of(0xff, 0) }],
        ] as Array<[string, ScalarValue]>
      ).map(([key, value]) => ({ kind: 'entry', key, value: { kind: 'scalar', value } })),
    };
    expect(text(jsonStore.emitPlain({ branches: [branch] }))).toBe(
      '{\n\t"tiny": 1e-7,\n\t"small": 0.000001,\n\t"big": 1e+21,\n\t"below": 100000000000000000000,\n\t"negZero": -0,\n' +
        '\t"whole": 1234568000,\n\t"max": 9223372036854775807,\n\t"time": "2024-01-01T00:00:00Z",\n\t"bytes": "/wA="\n}\n',
    );
  });

  it('refuses to write NaN or infinities, which JSON cannot hold', () => {
    const branch: Mapping = { kind: 'map', items: [{ kind: 'entry', key: 'x', value: { kind: 'scalar', value: { type: 'float', value: NaN } } }] };
    expect(formatError(() => jsonStore.emitPlain({ branches: [branch] })).code).toBe('json-unsupported-value');
  });

  it('prints the plaintext in sops layout: empty collections on one line, nulls, comments skipped', () => {
    const file = jsonStore.parsePlain(utf8('{ "a" : { } , "b":[ ], "c" : [null, {"d": [1]}] }'));
    const map = file.tree.branches[0] as Mapping;
    map.items.unshift({ kind: 'comment', text: ' skipped' });
    expect(text(jsonStore.emitPlain(file.tree, file))).toBe(
      '{\n\t"a": {},\n\t"b": [],\n\t"c": [\n\t\tnull,\n\t\t{\n\t\t\t"d": [\n\t\t\t\t1\n\t\t\t]\n\t\t}\n\t]\n}\n',
    );
    expect(text(jsonStore.emitPlain({ branches: [] }))).toBe('{}\n');
  });

  it('appends the metadata to a plaintext file with the indentation it uses', () => {
    const metadata = { age: [{ recipient: 'age1x', enc: 'a\nb\n' }], lastmodified: '2026-01-01T00:00:00Z', shamir_threshold: 2, empty: [] };
    const spaces = jsonStore.parsePlain(utf8('{\n    "a": {\n        "b": "c"\n    }\n}\n'));
    expect(text(jsonStore.emitEncrypted(spaces, metadata))).toBe(
      '{\n    "a": {\n        "b": "c"\n    },\n    "sops": {\n        "age": [\n            {\n                "recipient": "age1x",\n' +
        '                "enc": "a\\nb\\n"\n            }\n        ],\n        "lastmodified": "2026-01-01T00:00:00Z",\n' +
        '        "shamir_threshold": 2,\n        "empty": []\n    }\n}\n',
    );
    const empty = jsonStore.parsePlain(utf8('{}'));
    expect(text(jsonStore.emitEncrypted(empty, { version: '3.13.2' }))).toBe('{\n\t"sops": {\n\t\t"version": "3.13.2"\n\t}\n}');
    const compact = jsonStore.parsePlain(utf8('{"a":1}'));
    expect(text(jsonStore.emitEncrypted(compact, { version: '3.13.2', kms: null }))).toBe('{"a":1,"sops":{"version":"3.13.2","kms":null}}');
  });

  it('keeps CRLF line ends when the file uses them', () => {
    const file = jsonStore.parsePlain(utf8('{\r\n  "a": 1\r\n}\r\n'));
    expect(text(jsonStore.emitEncrypted(file, { v: [1] }))).toBe('{\r\n  "a": 1,\r\n  "sops": {\r\n    "v": [\r\n      1\r\n    ]\r\n  }\r\n}\r\n');
  });

  it('replaces the metadata block in place, wherever it stands, with keys in the given order', () => {
    const source = '{\n  "sops": {\n    "old": true\n  },\n  "a": "x"\n}';
    const file = jsonStore.parseEncrypted(utf8(source));
    expect(text(jsonStore.emitEncrypted(file, { z: 1, a: '<' }))).toBe('{\n  "sops": {\n    "z": 1,\n    "a": "\\u003c"\n  },\n  "a": "x"\n}');
  });

  it('emits the whole file fresh, in the file indentation, when the tree shape changed', () => {
    const file = jsonStore.parsePlain(utf8('{\n  "a": 1.50\n}\n'));
    (file.tree.branches[0] as Mapping).items.push({ kind: 'entry', key: 'b', value: { kind: 'null' } });
    expect(text(jsonStore.emitEncrypted(file, {}))).toBe('{\n  "a": 1.5,\n  "b": null,\n  "sops": {}\n}\n');
  });

  it('refuses to write data holding its own top-level "sops" key', () => {
    const tree: Tree = { branches: [{ kind: 'map', items: [{ kind: 'entry', key: 'sops', value: { kind: 'null' } }] }] };
    const file: LoadedFile = { format: 'yaml', text: '', tree, layout: undefined };
    expect(formatError(() => jsonStore.emitEncrypted(file, {})).code).toBe('reserved-key');
  });

  it('round-trips any JSON object: what it prints parses back to the same data', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue()), fc.constantFrom(0, 2, '\t'), (data, indent) => {
        const source = JSON.stringify(data, null, indent);
        const file = jsonStore.parsePlain(utf8(source));
        expect(JSON.parse(text(jsonStore.emitPlain(file.tree)))).toEqual(JSON.parse(source));
        const encrypted = JSON.parse(text(jsonStore.emitEncrypted(file, { version: '3.13.2' })));
        expect(encrypted).toEqual({ ...JSON.parse(source), sops: { version: '3.13.2' } });
      }),
    );
  });

  it('changes exactly the one value that changed, in any JSON object', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue(), { minKeys: 1 }), fc.string(), (data, replacement) => {
        const source = JSON.stringify(data, null, '\t');
        const file = jsonStore.parsePlain(utf8(source));
        const scalar = leaves(file.tree).find(({ node }) => node.kind === 'scalar');
        fc.pre(scalar !== undefined);
        (scalar?.node as Scalar).value = { type: 'str', value: replacement };
        const out = text(jsonStore.emitEncrypted(file, {}));
        const origin = (scalar?.node as Scalar).origin;
        const start = origin?.span.start ?? 0;
        expect(out.slice(0, start)).toBe(source.slice(0, start));
        expect(JSON.parse(out.slice(start).match(/^"(?:[^"\\]|\\.)*"/)?.[0] ?? 'null')).toBe(replacement);
      }),
    );
  });
});
