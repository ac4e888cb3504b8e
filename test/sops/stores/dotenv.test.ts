import { readFileSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { dotenvStore } from '../../../src/sops/stores/dotenv.ts';
import { collectLeaves } from '../../../src/sops/stores/dotenv-ini-text.ts';
import type { Comment, RawObject, Scalar, Tree } from '../../../src/sops/tree.ts';
import { formatErrorCode as codeOf } from '../../support/format-error.ts';
import { leavesWithPaths } from '../../support/tree-leaves.ts';
import { VECTORS_DIR } from '../../support/vectors.ts';

const VECTORS = `${VECTORS_DIR}/`;
const vectors = readdirSync(VECTORS).filter((name) => name.endsWith('.env'));
const utf8 = new TextEncoder();
const text = (bytes: Uint8Array): string => new TextDecoder().decode(bytes);
const load = (name: string): Uint8Array => readFileSync(VECTORS + name);

interface Expected {
  sops_version_field: string;
  lastmodified: string;
  leaves: Array<{ path: string[]; encrypted: boolean; type?: string; cleartext_value?: string }>;
  encrypted_comments?: Array<{ line: number; aad: string }>;
}
const expected = (name: string): Expected => JSON.parse(readFileSync(`${VECTORS}${name}.expected.json`, 'utf8'));

const scalarText = (node: Scalar | Comment): string =>
  node.kind === 'comment' ? node.text : node.value.type === 'str' ? node.value.value : '';


describe('dotenv store on the sops vectors', () => {
  it('has vectors to check', () => expect(vectors.length).toBeGreaterThanOrEqual(3));

  for (const name of vectors) {
    describe(name, () => {
      const bytes = load(name);
      const want = expected(name);

      it('reads the values in MAC order with their paths', () => {
        const file = dotenvStore.parseEncrypted(bytes);
        const values = leavesWithPaths(file.tree).filter(([, node]) => node.kind === 'scalar');
        expect(values.map(([path]) => path)).toEqual(want.leaves.map((leaf) => leaf.path));
        values.forEach(([, node], i) => {
          const leaf = want.leaves[i]!;
          if (leaf.encrypted) expect(scalarText(node)).toMatch(new RegExp(`^ENC\\[AES256_GCM,.*,type:${leaf.type}\\]$`));
          else expect(scalarText(node)).toBe(leaf.cleartext_value);
        });
      });

      it('reads comments as top-level items holding the text after #', () => {
        const file = dotenvStore.parseEncrypted(bytes);
        const comments = leavesWithPaths(file.tree).filter(([, node]) => node.kind === 'comment');
        const lines = text(bytes).split('\n');
        expect(comments.map(([path, node]) => [`${path.join(':')}:`, scalarText(node)])).toEqual(
          (want.encrypted_comments ?? []).map((c) => [c.aad, lines[c.line - 1]!.slice(1)]),
        );
      });

      it('unflattens the sops_ lines into the metadata, with real newlines in enc', () => {
        const md = dotenvStore.parseEncrypted(bytes).metadata!;
        expect(md.version).toBe(want.sops_version_field);
        expect(md.lastmodified).toBe(want.lastmodified);
        expect(md.mac).toMatch(/^ENC\[AES256_GCM,/);
        const pgp = md.pgp as RawObject[];
        expect(pgp.length).toBeGreaterThan(0);
        for (const entry of pgp) {
          expect(entry.enc).toMatch(/^-----BEGIN PGP MESSAGE-----\n(.+\n)*\n?[\s\S]*-----END PGP MESSAGE-----\n?$/);
          expect(entry.fp).toMatch(/^[0-9A-F]{40}$/);
        }
        expect(Object.keys(md)).toEqual([...Object.keys(md)].sort());
      });

      it('writes back a file that reads the same when nothing changed', () => {
        const file = dotenvStore.parseEncrypted(bytes);
        const again = dotenvStore.parseEncrypted(dotenvStore.emitEncrypted(file, file.metadata!));
        expect(collectLeaves(again.tree).map(scalarText)).toEqual(collectLeaves(file.tree).map(scalarText));
        expect(again.metadata).toEqual(file.metadata);
      });

      it('keeps every line but the changed value and the metadata', () => {
        const file = dotenvStore.parseEncrypted(bytes);
        const value = collectLeaves(file.tree).find((leaf): leaf is Scalar => leaf.kind === 'scalar')!;
        const before = text(bytes).split('\n').filter((line) => !line.startsWith('sops_'));
        value.value = { type: 'str', value: 'ENC[AES256_GCM,data:bmV3,iv:aXY=,tag:dGFn,type:str]' };
        const after = text(dotenvStore.emitEncrypted(file, file.metadata!)).split('\n').filter((line) => !line.startsWith('sops_'));
        const changed = before.flatMap((line, i) => (line === after[i] ? [] : [i]));
        expect(changed).toHaveLength(1);
        expect(after[changed[0]!]).toMatch(/=ENC\[AES256_GCM,data:bmV3,/);
      });
    });
  }

  it('writes a 3.13 file byte for byte when nothing changed', () => {
    const bytes = load('getsops-sops__functional-tests-res-format.enc.env');
    const file = dotenvStore.parseEncrypted(bytes);
    expect(text(dotenvStore.emitEncrypted(file, file.metadata!))).toBe(text(bytes));
  });

  it('keeps spaces around "=" in the key and the value', () => {
    const file = dotenvStore.parseEncrypted(load('getsops-sops__functional-tests-res-format.enc.env'));
    const [path] = leavesWithPaths(file.tree)[0]!;
    expect(path).toEqual(['foo ']);
  });
});

describe('dotenv store', () => {
  const metadata: RawObject = {
    age: [{ enc: '-----BEGIN AGE ENCRYPTED FILE-----\nAAA\n-----END AGE ENCRYPTED FILE-----\n', recipient: 'age1abc' }],
    lastmodified: '2026-01-01T00:00:00Z',
    mac: 'ENC[AES256_GCM,data:bWFj,iv:aXY=,tag:dGFn,type:str]',
    unencrypted_suffix: '_unencrypted',
    version: '3.13.2',
  };

  it('prints decrypted values as sops decrypt does: key=value, newlines as \\n, comments as #text', () => {
    const file = dotenvStore.parsePlain(utf8.encode('#note\nfoo = bar\n\nmulti=a\\nb\n'));
    const leaves = collectLeaves(file.tree);
    expect(leaves.map(scalarText)).toEqual(['note', ' bar', 'a\nb']);
    expect(text(dotenvStore.emitPlain(file.tree))).toBe('#note\nfoo = bar\nmulti=a\\nb\n');
  });

  it('appends the metadata to an encrypted plaintext file and reads it back', () => {
    const file = dotenvStore.parsePlain(utf8.encode('# top\nA=1\nB=two words'));
    for (const leaf of collectLeaves(file.tree)) {
      if (leaf.kind === 'scalar') leaf.value = { type: 'str', value: 'ENC[AES256_GCM,data:eA==,iv:aXY=,tag:dGFn,type:str]' };
    }
    const out = text(dotenvStore.emitEncrypted(file, metadata));
    expect(out).toBe(
      '# top\nA=ENC[AES256_GCM,data:eA==,iv:aXY=,tag:dGFn,type:str]\nB=ENC[AES256_GCM,data:eA==,iv:aXY=,tag:dGFn,type:str]\n' +
        'sops_age__list_0__map_enc=-----BEGIN AGE ENCRYPTED FILE-----\\nAAA\\n-----END AGE ENCRYPTED FILE-----\\n\n' +
        'sops_age__list_0__map_recipient=age1abc\n' +
        'sops_lastmodified=2026-01-01T00:00:00Z\n' +
        'sops_mac=ENC[AES256_GCM,data:bWFj,iv:aXY=,tag:dGFn,type:str]\n' +
        'sops_unencrypted_suffix=_unencrypted\n' +
        'sops_version=3.13.2\n',
    );
    expect(dotenvStore.parseEncrypted(utf8.encode(out)).metadata).toEqual(metadata);
  });

  it('moves metadata lines found between values to the end', () => {
    const file = dotenvStore.parseEncrypted(utf8.encode('A=1\nsops_version=3.7.1\nB=2\n'));
    expect(text(dotenvStore.emitEncrypted(file, { version: '3.13.2' }))).toBe('A=1\nB=2\nsops_version=3.13.2\n');
  });

  it('rewrites a changed comment in place', () => {
    const file = dotenvStore.parseEncrypted(utf8.encode('#old\nA=1\nsops_version=1\n'));
    (collectLeaves(file.tree)[0] as Comment).text = 'ENC[x]';
    expect(text(dotenvStore.emitEncrypted(file, { version: '1' }))).toBe('#ENC[x]\nA=1\nsops_version=1\n');
  });

  it('writes the whole file afresh when the tree changed shape', () => {
    const file = dotenvStore.parseEncrypted(utf8.encode('A=1\n\nB=2\nsops_version=1\n'));
    file.tree.branches[0]!.items.splice(0, 1);
    expect(text(dotenvStore.emitEncrypted(file, { version: '1' }))).toBe('B=2\nsops_version=1\n');
  });

  it('refuses nested values when printing', () => {
    const tree: Tree = { branches: [{ kind: 'map', items: [{ kind: 'entry', key: 'a', value: { kind: 'map', items: [] } }] }] };
    expect(codeOf(() => dotenvStore.emitPlain(tree))).toBe('complex-value');
  });

  it('gives typed errors for malformed input, without the line in the message', () => {
    expect(codeOf(() => dotenvStore.parsePlain(utf8.encode('A=1\nsecretvalue\n')))).toBe('dotenv-missing-equals');
    expect(codeOf(() => dotenvStore.parsePlain(utf8.encode('A=1\n   \n')))).toBe('dotenv-blank-line');
    expect(codeOf(() => dotenvStore.parseEncrypted(utf8.encode('A=1\n')))).toBe('metadata-not-found');
    expect(codeOf(() => dotenvStore.parsePlain(utf8.encode('A=1\nsops_version=3\n')))).toBe('already-encrypted');
    expect(codeOf(() => dotenvStore.parseEncrypted(utf8.encode('sops_pgp__list_1__map_fp=X\n')))).toBe('bad-flattened-key');
    expect(codeOf(() => dotenvStore.parsePlain(Uint8Array.of(0x41, 0x3d, 0xff)))).toBe('not-utf8');
    try {
      dotenvStore.parsePlain(utf8.encode('A=1\nsecretvalue\n'));
      expect.unreachable();
    } catch (error) {
      expect((error as Error).message).toContain('line 2');
      expect((error as Error).message).not.toContain('secretvalue');
    }
  });

  it('keeps a carriage return in the value, as sops splits on \\n only', () => {
    const file = dotenvStore.parsePlain(utf8.encode('A=1\r\n'));
    expect(collectLeaves(file.tree).map(scalarText)).toEqual(['1\r']);
  });
});
