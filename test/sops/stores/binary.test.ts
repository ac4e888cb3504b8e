import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { binaryStore } from '../../../src/sops/stores/binary.ts';
import type { Entry, Mapping, RawObject, Scalar, Tree } from '../../../src/sops/tree.ts';
import { formatError } from '../../support/format-error.ts';
import { VECTORS_DIR as VECTORS } from '../../support/vectors.ts';

const binaryVectors = readdirSync(VECTORS).filter((name) => /\.(txt|bin)$/.test(name));

const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);
const text = (bytes: Uint8Array): string => new TextDecoder().decode(bytes);
const vector = (name: string): Uint8Array => readFileSync(path.join(VECTORS, name));
const expectedLeaves = (name: string): Array<{ path: string[]; type: string; plaintext: string }> =>
  JSON.parse(readFileSync(path.join(VECTORS, `${name}.expected.json`), 'utf8')).leaves;

function entries(tree: Tree): Entry[] {
  return (tree.branches[0]?.items ?? []).filter((item): item is Entry => item.kind === 'entry');
}

function data(tree: Tree): Scalar {
  const value = entries(tree).find((entry) => entry.key === 'data')?.value;
  if (value?.kind !== 'scalar') throw new Error('no data scalar');
  return value;
}

const ENC = 'ENC[AES256_GCM,data:AAAA,iv:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=,tag:AAAAAAAAAAAAAAAAAAAAAA==,type:str]';

describe('binaryStore on the real sops binary vectors', () => {
  it.each(binaryVectors)('%s: one encrypted `data` string, as sops read it', (name) => {
    const file = binaryStore.parseEncrypted(vector(name));
    expect(file.format).toBe('binary');
    expect(entries(file.tree).map((entry) => entry.key)).toEqual(['data']);
    expect(expectedLeaves(name).map((leaf) => [leaf.path, leaf.type])).toEqual([[['data'], 'str']]);
    expect(data(file.tree).value.value).toMatch(/^ENC\[AES256_GCM,data:.*,type:str\]$/);
    expect(typeof file.metadata?.mac).toBe('string');
  });

  it.each(binaryVectors)('%s: unchanged tree and metadata give back the exact bytes', (name) => {
    const bytes = vector(name);
    const file = binaryStore.parseEncrypted(bytes);
    expect(text(binaryStore.emitEncrypted(file, file.metadata as RawObject))).toBe(text(bytes));
  });

  it.each(binaryVectors)('%s: decrypted, it prints the original file with nothing added', (name) => {
    const file = binaryStore.parseEncrypted(vector(name));
    const plaintext = expectedLeaves(name)[0]?.plaintext ?? '';
    data(file.tree).value = { type: 'str', value: plaintext };
    expect(text(binaryStore.emitPlain(file.tree, file))).toBe(plaintext);
  });

  it.each(binaryVectors)('%s: a new ciphertext changes only the `data` line', (name) => {
    const bytes = vector(name);
    const file = binaryStore.parseEncrypted(bytes);
    data(file.tree).value = { type: 'str', value: ENC };
    const before = text(bytes).split('\n');
    const after = text(binaryStore.emitEncrypted(file, file.metadata as RawObject)).split('\n');
    expect(after.flatMap((line, i) => (line === before[i] ? [] : [line]))).toEqual([`\t"data": "${ENC}",`]);
  });
});

describe('binaryStore', () => {
  it('takes any bytes as the payload and prints them back unchanged, UTF-8 or not', () => {
    fc.assert(
      fc.property(fc.uint8Array(), (bytes) => {
        const file = binaryStore.parsePlain(bytes);
        expect(entries(file.tree).map((entry) => entry.key)).toEqual(['data']);
        expect(data(file.tree).value).toEqual({ type: 'bytes', value: bytes });
        expect(binaryStore.emitPlain(file.tree)).toEqual(bytes);
      }),
    );
  });

  it('keeps its own copy of the payload', () => {
    const bytes = utf8('secret');
    const file = binaryStore.parsePlain(bytes);
    bytes.fill(0);
    expect(text(binaryStore.emitPlain(file.tree))).toBe('secret');
  });

  it('wraps an encrypted payload in a fresh JSON document, as sops writes it, and reads it back', () => {
    const file = binaryStore.parsePlain(utf8('hello\n'));
    data(file.tree).value = { type: 'str', value: ENC };
    const out = text(binaryStore.emitEncrypted(file, { lastmodified: '2026-01-01T00:00:00Z', pgp: [], version: '3.13.2' }));
    expect(out).toBe(`{\n\t"data": "${ENC}",\n\t"sops": {\n\t\t"lastmodified": "2026-01-01T00:00:00Z",\n\t\t"pgp": [],\n\t\t"version": "3.13.2"\n\t}\n}\n`);
    const reread = binaryStore.parseEncrypted(utf8(out));
    expect(data(reread.tree).value).toEqual({ type: 'str', value: ENC });
    expect(reread.metadata?.version).toBe('3.13.2');
  });

  it('writes a payload that is still bytes as Go writes string(bytes): one \\ufffd per invalid byte', () => {
    const file = binaryStore.parsePlain(Uint8Array.of(0x61, 0xff, 0xfe, 0x3c, 0xe2, 0x82, 0xac, 0xe2, 0x82, 0x62));
    const out = text(binaryStore.emitEncrypted(file, {}));
    expect(out).toBe('{\n\t"data": "a\\ufffd\\ufffd\\u003c€\\ufffd\\ufffdb",\n\t"sops": {}\n}\n');
  });

  it('refuses a wrapper without `data`, or a `data` that is not a string', () => {
    expect(formatError(() => binaryStore.parseEncrypted(utf8('{"other": "x", "sops": {}}'))).code).toBe('binary-data-missing');
    expect(formatError(() => binaryStore.parseEncrypted(utf8('{"data": {}, "sops": {}}'))).code).toBe('binary-data-not-string');
    const intData: Mapping = { kind: 'map', items: [{ kind: 'entry', key: 'data', value: { kind: 'scalar', value: { type: 'int', value: 1n } } }] };
    expect(formatError(() => binaryStore.emitPlain({ branches: [intData] })).code).toBe('binary-data-not-string');
    expect(formatError(() => binaryStore.emitPlain({ branches: [] })).code).toBe('binary-data-missing');
  });

  it('refuses a wrapper that is not JSON or has no metadata, with typed errors', () => {
    expect(formatError(() => binaryStore.parseEncrypted(utf8('plain text'))).code).toBe('malformed-json');
    expect(formatError(() => binaryStore.parseEncrypted(utf8('{"data": "x"}'))).code).toBe('metadata-not-found');
    const bytes = vector('mic92-sops-nix__test-assets-secrets.bin');
    expect(formatError(() => binaryStore.parseEncrypted(bytes.subarray(0, bytes.length - 2))).code).toBe('malformed-json');
  });
});
