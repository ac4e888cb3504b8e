import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { yamlStore } from '../../../src/sops/stores/yaml.ts';
import type { LoadedFile } from '../../../src/sops/store.ts';
import type { Comment, Node, Scalar, ScalarValue, Tree } from '../../../src/sops/tree.ts';
import { VECTORS_DIR as VECTORS } from '../../support/vectors.ts';

const yamlVectors = readdirSync(VECTORS).filter((name) => /\.ya?ml$/.test(name));

interface ExpectedLeaf {
  readonly path: string[];
  readonly encrypted: boolean;
  readonly type?: string;
  readonly plaintext?: string;
  readonly cleartext_value?: unknown;
}
interface ExpectedComment {
  readonly line: number;
  readonly aad: string;
  readonly plaintext: string;
}
interface Expected {
  readonly leaves: ExpectedLeaf[];
  readonly encrypted_comments?: ExpectedComment[];
}

const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);
const text = (bytes: Uint8Array): string => new TextDecoder().decode(bytes);
const load = (name: string): LoadedFile => yamlStore.parseEncrypted(readFileSync(path.join(VECTORS, name)));
const expected = (name: string): Expected => JSON.parse(readFileSync(path.join(VECTORS, `${name}.expected.json`), 'utf8'));

type Leaf = { path: string[]; node: Scalar | { kind: 'null' } };

function leaves(tree: Tree): Leaf[] {
  const out: Leaf[] = [];
  const visit = (node: Node, at: string[]): void => {
    if (node.kind === 'scalar' || node.kind === 'null') out.push({ path: at, node });
    else if (node.kind === 'map') for (const item of node.items) item.kind === 'entry' && visit(item.value, [...at, item.key]);
    else for (const item of node.items) item.kind !== 'comment' && visit(item, at);
  };
  for (const branch of tree.branches) visit(branch, []);
  return out;
}

/** Every comment with the AAD sops gives it: the path of the collection holding it, plus ':'. */
function comments(tree: Tree): Array<{ comment: Comment; aad: string }> {
  const out: Array<{ comment: Comment; aad: string }> = [];
  const visit = (node: Node, at: string[]): void => {
    if (node.kind === 'map') {
      for (const item of node.items) {
        if (item.kind === 'comment') out.push({ comment: item, aad: `${at.join(':')}:` });
        else visit(item.value, [...at, item.key]);
      }
    } else if (node.kind === 'seq') {
      for (const item of node.items) {
        if (item.kind === 'comment') out.push({ comment: item, aad: `${at.join(':')}:` });
        else visit(item, at);
      }
    }
  };
  for (const branch of tree.branches) visit(branch, []);
  return out;
}

/** The tree's values and comment texts, without source positions. */
function shape(tree: Tree): unknown {
  return JSON.parse(
    JSON.stringify(tree, (key, value: unknown) => (key === 'origin' ? undefined : typeof value === 'bigint' ? `${value}n` : value)),
  );
}

function lineOf(source: string, offset: number): number {
  return source.slice(0, offset).split('\n').length;
}

/** The typed value `sops decrypt` gives for an expected leaf (§1.3). */
function typed(leaf: ExpectedLeaf): ScalarValue {
  const p = leaf.plaintext ?? '';
  switch (leaf.type) {
    case 'int':
      return { type: 'int', value: BigInt(p) };
    case 'float':
      return { type: 'float', value: Number(p) };
    case 'bool':
      return { type: 'bool', value: p === 'True' };
    case 'time':
      return { type: 'time', value: p };
    default:
      return { type: 'str', value: p };
  }
}

/** Replaces every ENC value and comment with its expected plaintext, as the engine's decrypt would. */
function decryptInPlace(file: LoadedFile, exp: Expected): void {
  const found = leaves(file.tree);
  exp.leaves.forEach((leaf, i) => {
    const node = found[i]?.node;
    if (leaf.encrypted && node?.kind === 'scalar') node.value = typed(leaf);
  });
  const byLine = new Map((exp.encrypted_comments ?? []).map((c) => [c.line, c.plaintext]));
  for (const { comment } of comments(file.tree)) {
    const plain = comment.origin ? byLine.get(lineOf(file.text, comment.origin.span.start)) : undefined;
    if (plain !== undefined) comment.text = plain;
  }
}

describe.each(yamlVectors)('YAML vector %s', (name) => {
  it('gives the leaves sops walks, in MAC order, with their key paths and types', () => {
    const file = load(name);
    const exp = expected(name);
    const got = leaves(file.tree);
    expect(got.map((leaf) => leaf.path)).toEqual(exp.leaves.map((leaf) => leaf.path));
    exp.leaves.forEach((leaf, i) => {
      const node = got[i]?.node;
      if (leaf.encrypted) {
        expect(node?.kind).toBe('scalar');
        const value = (node as Scalar).value;
        expect(value.type).toBe('str');
        expect(String(value.value)).toMatch(new RegExp(`^ENC\\[AES256_GCM,.*,type:${leaf.type}\\]$`));
      } else if (leaf.cleartext_value === null) {
        expect(node).toEqual({ kind: 'null' });
      } else {
        expect((node as Scalar).value).toEqual({ type: 'str', value: leaf.cleartext_value });
      }
    });
  });

  it('puts every comment in the collection whose path is its AAD', () => {
    const file = load(name);
    const exp = expected(name);
    const got = comments(file.tree).map(({ comment, aad }) => ({
      line: lineOf(file.text, comment.origin?.span.start ?? 0),
      aad,
      encrypted: comment.text.startsWith('ENC['),
    }));
    const encrypted = got.filter((c) => c.encrypted).map(({ line, aad }) => ({ line, aad }));
    expect(encrypted).toEqual((exp.encrypted_comments ?? []).map(({ line, aad }) => ({ line, aad })));
  });

  it('reads the sops metadata as plain values', () => {
    const file = load(name);
    expect(typeof file.metadata?.lastmodified).toBe('string');
    expect(typeof file.metadata?.version).toBe('string');
    expect(file.metadata).not.toHaveProperty('sops');
    expect(file.tree.branches.every((b) => b.items.every((item) => item.kind !== 'entry' || item.key !== 'sops'))).toBe(true);
  });

  it('writes back a file that reads as the same tree and metadata', () => {
    const file = load(name);
    const out = yamlStore.emitEncrypted(file, file.metadata ?? {});
    const again = yamlStore.parseEncrypted(out);
    expect(shape(again.tree)).toEqual(shape(file.tree));
    expect(again.metadata).toEqual(file.metadata);
    // Data lines are copied byte for byte: everything before the sops block is unchanged.
    const dataPart = (s: string) => s.slice(0, s.search(/^sops:/m));
    expect(dataPart(text(out))).toBe(dataPart(file.text));
  });

  it('changes only the line of a changed value', () => {
    const file = load(name);
    const before = text(yamlStore.emitEncrypted(file, file.metadata ?? {}));
    const target = leaves(file.tree).find((leaf) => leaf.node.kind === 'scalar')?.node as Scalar;
    target.value = { type: 'str', value: 'ENC[AES256_GCM,data:AAAA,iv:BBBB,tag:CCCC,type:str]' };
    const after = text(yamlStore.emitEncrypted(file, file.metadata ?? {}));
    const a = before.split('\n');
    const b = after.split('\n');
    expect(b).toHaveLength(a.length);
    const differing = a.flatMap((line, i) => (line === b[i] ? [] : [i]));
    expect(differing).toHaveLength(1);
    expect(b[differing[0] ?? 0]).toContain('ENC[AES256_GCM,data:AAAA,iv:BBBB,tag:CCCC,type:str]');
  });

  it('prints decrypted values that read back with their types, without the sops block', () => {
    const file = load(name);
    const exp = expected(name);
    decryptInPlace(file, exp);
    const want = leaves(file.tree).map((leaf) => ({ path: leaf.path, value: leaf.node.kind === 'scalar' ? leaf.node.value : null }));

    for (const printed of [yamlStore.emitPlain(file.tree, file), yamlStore.emitPlain(file.tree)]) {
      const plain = yamlStore.parsePlain(printed);
      expect(text(printed)).not.toMatch(/^sops:/m);
      const got = leaves(plain.tree).map((leaf) => ({ path: leaf.path, value: leaf.node.kind === 'scalar' ? leaf.node.value : null }));
      expect(got).toEqual(want);
      // Decrypted comments come back in the same collections.
      expect(comments(plain.tree).map((c) => [c.aad, c.comment.text])).toEqual(comments(file.tree).map((c) => [c.aad, c.comment.text]));
    }
  });
});

describe('YAML vector layout', () => {
  it('reproduces a file written by sops 3.13 byte for byte when nothing changed', () => {
    const name = 'getsops-sops__functional-tests-res-format.enc.yaml';
    const file = load(name);
    expect(text(yamlStore.emitEncrypted(file, file.metadata ?? {}))).toBe(file.text);
  });

  it('prints what `sops decrypt` prints for the format vector', () => {
    const name = 'getsops-sops__functional-tests-res-format.enc.yaml';
    const file = load(name);
    decryptInPlace(file, expected(name));
    expect(text(yamlStore.emitPlain(file.tree, file))).toBe('foo: bar\n');
    expect(text(yamlStore.emitPlain(file.tree))).toBe('foo: bar\n');
  });

  it('re-renders an old-style sops block in the 3.13 layout', () => {
    const file = load('carlpett-terraform-provider-sops__test-fixtures-basic.yaml');
    const out = text(yamlStore.emitEncrypted(file, file.metadata ?? {}));
    expect(out).toContain('\nsops:\n    kms: []\n');
    expect(out).toContain('    lastmodified: "2019-04-26T18:43:59Z"\n');
    expect(out).toContain('    pgp:\n        - created_at: "2019-01-23T10:01:20Z"\n          enc: |-\n            -----BEGIN PGP MESSAGE-----\n\n');
    expect(out).toContain('          fp: 3CE5CC7219D6597CE6488BF1BF36CD3D0749A11A\n    unencrypted_suffix: _unencrypted\n    version: 3.2.0\n');
    expect(utf8(out)).toEqual(yamlStore.emitEncrypted(yamlStore.parseEncrypted(utf8(out)), file.metadata ?? {}));
  });
});
