import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { dataKeyObject, newDataKey, openEncValue, parseEncValue, sealEncValue } from '../../src/sops/cipher.ts';
import { checkTree, decryptTree, encryptTree, reencryptTree } from '../../src/sops/crypt.ts';
import type { SopsMetadata } from '../../src/sops/metadata.ts';
import type { Mapping, Node, Scalar, ScalarValue, Tree } from '../../src/sops/tree.ts';

const CANARY = 'canary-crypt-7f3a9c';
const scalar = (value: ScalarValue): Scalar => ({ kind: 'scalar', value });
const e = (key: string, value: Node) => ({ kind: 'entry' as const, key, value });

function sampleTree(): Tree {
  const root: Mapping = {
    kind: 'map',
    items: [
      { kind: 'comment', text: ' a comment' },
      e('password', scalar({ type: 'str', value: CANARY })),
      e('port', scalar({ type: 'int', value: 5432n })),
      e('ratio', scalar({ type: 'float', value: 0.5 })),
      e('enabled', scalar({ type: 'bool', value: true })),
      e('empty', scalar({ type: 'str', value: '' })),
      e('nothing', { kind: 'null' }),
      e('public_unencrypted', scalar({ type: 'str', value: 'visible' })),
    ],
  };
  return { branches: [root] };
}

const metadataFor = (mac: string, lastModified: string, macOnlyEncrypted = false): SopsMetadata => ({
  keyGroups: [[{ type: 'age', fields: { recipient: 'age1x', enc: 'x' } }]],
  shamirThreshold: 0,
  lastModified,
  mac,
  version: '3.13.2',
  selector: undefined,
  macOnlyEncrypted,
  extra: {},
});

const valueAt = (tree: Tree, key: string) => {
  const item = tree.branches[0]!.items.find((i) => i.kind === 'entry' && i.key === key);
  return item?.kind === 'entry' ? item.value : undefined;
};

describe('encrypting and decrypting a tree', () => {
  const lastModified = '2026-11-22T05:00:00Z';

  it('round-trips every type, leaves empty strings, nulls and _unencrypted values clear', () => {
    const key = newDataKey();
    const tree = sampleTree();
    const encrypted = encryptTree(tree, key, metadataFor('', lastModified), 'yaml', lastModified);
    expect(JSON.stringify(tree, (_k, v) => (typeof v === 'bigint' ? String(v) : v))).not.toContain(CANARY);
    expect((valueAt(tree, 'port') as Scalar).value).toMatchObject({ type: 'str', value: expect.stringMatching(/type:int\]$/) });
    expect((valueAt(tree, 'empty') as Scalar).value).toEqual({ type: 'str', value: '' });
    expect((valueAt(tree, 'public_unencrypted') as Scalar).value).toEqual({ type: 'str', value: 'visible' });
    expect(tree.branches[0]!.items[0]).toMatchObject({ kind: 'comment', text: expect.stringMatching(/^ENC\[.*type:comment\]$/) });

    const decrypted = decryptTree(tree, key, metadataFor(encrypted.mac, lastModified), 'yaml');
    expect(decrypted.fingerprint).toBe(encrypted.fingerprint);
    expect(tree).toEqual(sampleTree());
  });

  it('refuses a tampered value, a foreign MAC, a changed lastmodified and another key', () => {
    const key = newDataKey();
    const tree = sampleTree();
    const { mac } = encryptTree(tree, key, metadataFor('', lastModified), 'yaml', lastModified);
    const snapshot = structuredClone(tree);

    expect(() => decryptTree(structuredClone(snapshot), key, metadataFor(mac, '2026-11-22T05:00:01Z'), 'yaml')).toThrow(
      expect.objectContaining({ code: 'mac-auth-failed' }),
    );
    expect(() => decryptTree(structuredClone(snapshot), newDataKey(), metadataFor(mac, lastModified), 'yaml')).toThrow(
      expect.objectContaining({ code: 'value-auth-failed' }),
    );

    const other = sampleTree();
    const foreign = encryptTree(other, key, metadataFor('', lastModified), 'yaml', lastModified);
    const changed = structuredClone(snapshot);
    (changed.branches[0]!.items[3] as { value: Scalar }).value.value = { type: 'str', value: '' };
    expect(() => decryptTree(changed, key, metadataFor(foreign.mac, lastModified), 'yaml')).toThrow(
      expect.objectContaining({ code: 'mac-mismatch' }),
    );

    const clear = structuredClone(snapshot);
    (clear.branches[0]!.items[1] as { value: Scalar }).value.value = { type: 'str', value: 'not encrypted' };
    expect(() => decryptTree(clear, key, metadataFor(mac, lastModified), 'yaml')).toThrow(/password: should be encrypted/);
  });

  it('binds the MAC to the encrypted values only when mac_only_encrypted is set', () => {
    const key = newDataKey();
    const tree = sampleTree();
    const { mac } = encryptTree(tree, key, metadataFor('', lastModified, true), 'yaml', lastModified);
    (valueAt(tree, 'public_unencrypted') as Scalar).value = { type: 'str', value: 'edited in the clear' };
    expect(() => decryptTree(tree, key, metadataFor(mac, lastModified, true), 'yaml')).not.toThrow();
  });

  it('says the file has no MAC when it has none', () => {
    const key = newDataKey();
    const tree = sampleTree();
    encryptTree(tree, key, metadataFor('', lastModified), 'yaml', lastModified);
    expect(() => decryptTree(tree, key, metadataFor('', lastModified), 'yaml')).toThrow(expect.objectContaining({ code: 'no-mac' }));
  });
});

describe('re-encrypting a tree under a new data key in one walk', () => {
  const lastModified = '2026-11-22T05:00:00Z';
  const rotatedAt = '2026-11-23T06:00:00Z';

  /** Every kind of leaf, nested, with comments before values at several levels. */
  function richTree(): Tree {
    const nested: Mapping = {
      kind: 'map',
      items: [
        { kind: 'comment', text: ' sops:enc marker' },
        e('token', scalar({ type: 'str', value: `${CANARY}-\ufeff-é` })),
        e('raw', scalar({ type: 'bytes', value: Uint8Array.of(0xff, 0x00, 0xfe) })),
        e('when', scalar({ type: 'time', value: '2026-01-02T03:04:05Z' })),
        e('list', { kind: 'seq', items: [scalar({ type: 'int', value: -7n }), { kind: 'comment', text: ' in a list' }, scalar({ type: 'float', value: 1e21 })] }),
        e('note_unencrypted', scalar({ type: 'str', value: 'clear' })),
      ],
    };
    const root = sampleTree().branches[0] as Mapping;
    return { branches: [{ kind: 'map', items: [...root.items, e('nested', nested)] }] };
  }

  const selectors = [
    ['default rule', undefined, undefined],
    ['encrypted_regex', { kind: 'encrypted_regex', value: '^(password|token|list)$' }, undefined],
    ['unencrypted_comment_regex', { kind: 'unencrypted_comment_regex', value: 'marker' }, undefined],
    ['encrypted_comment_regex', { kind: 'encrypted_comment_regex', value: 'sops:enc' }, undefined],
    // The rule is not covered by the MAC: a file encrypted under one rule and read under a comment
    // rule has encrypted comments whose plaintext decides differently than their ENC[...] text.
    ['comment rule changed after encryption', { kind: 'unencrypted_comment_regex', value: 'marker' }, { kind: 'unencrypted_comment_regex', value: '^$' }],
  ] as const;

  it.each(selectors)(
    'gives what decrypt then encrypt give (%s): same leaves encrypted, same plaintext, same fingerprint',
    (_name, selector, encryptedUnder) => {
      const oldKey = newDataKey();
      const newKey = newDataKey();
      const meta = (mac: string, at: string): SopsMetadata => ({ ...metadataFor(mac, at), selector });
      const tree = richTree();
      const first = encryptTree(tree, oldKey, { ...meta('', lastModified), selector: encryptedUnder ?? selector }, 'yaml', lastModified);

      const twoWalks = structuredClone(tree);
      const decrypted = decryptTree(twoWalks, oldKey, meta(first.mac, lastModified), 'yaml');
      const reference = encryptTree(twoWalks, newKey, meta('', rotatedAt), 'yaml', rotatedAt);

      const oneWalk = reencryptTree(tree, oldKey, newKey, meta(first.mac, lastModified), 'yaml', rotatedAt);
      expect(oneWalk.fingerprint).toBe(decrypted.fingerprint);
      expect(oneWalk.fingerprint).toBe(reference.fingerprint);
      // Fresh IVs differ; where each ENC[...] stands and its type must not.
      const layout = (t: Tree) => JSON.stringify(t, (_k, v) => (typeof v === 'bigint' ? String(v) : typeof v === 'string' ? v.replace(/^ENC\[.*(type:\w+)\]$/s, 'ENC:$1') : v));
      expect(layout(tree)).toBe(layout(twoWalks));
      expect(layout(tree)).toMatch(/ENC:type:/);

      const back = decryptTree(tree, newKey, meta(oneWalk.mac, rotatedAt), 'yaml');
      expect(back.fingerprint).toBe(decrypted.fingerprint);
      decryptTree(twoWalks, newKey, meta(reference.mac, rotatedAt), 'yaml');
      expect(tree).toEqual(twoWalks);
    },
  );

  it('writes the Go text form of a value whose stored plaintext was not in it, as sops rotate does', () => {
    const oldKey = newDataKey();
    const newKey = newDataKey();
    const tree = sampleTree();
    const { mac } = encryptTree(tree, oldKey, metadataFor('', lastModified), 'yaml', lastModified);
    // `+5432` reads as the int 5432, whose text the MAC covers: the file is valid as it is.
    (valueAt(tree, 'port') as Scalar).value = { type: 'str', value: sealEncValue(Buffer.from('+5432'), 'int', dataKeyObject(oldKey), 'port:') };
    const rotated = reencryptTree(tree, oldKey, newKey, metadataFor(mac, lastModified), 'yaml', rotatedAt);
    const stored = parseEncValue(((valueAt(tree, 'port') as Scalar).value as { value: string }).value, 'port:');
    expect(Buffer.from(openEncValue(stored, dataKeyObject(newKey), 'port:')).toString()).toBe('5432');
    decryptTree(tree, newKey, metadataFor(rotated.mac, rotatedAt), 'yaml');
    expect(tree).toEqual(sampleTree());
  });

  it('refuses what decryptTree refuses: a tampered MAC, another data key, a value left in the clear', () => {
    const key = newDataKey();
    const tree = sampleTree();
    const { mac } = encryptTree(tree, key, metadataFor('', lastModified), 'yaml', lastModified);
    const reencrypt = (t: Tree, oldKey: Uint8Array, metadata: SopsMetadata) => () => reencryptTree(structuredClone(t), oldKey, newDataKey(), metadata, 'yaml', rotatedAt);
    expect(reencrypt(tree, key, metadataFor(mac, '2026-11-22T05:00:01Z'))).toThrow(expect.objectContaining({ code: 'mac-auth-failed' }));
    expect(reencrypt(tree, newDataKey(), metadataFor(mac, lastModified))).toThrow(expect.objectContaining({ code: 'value-auth-failed' }));
    const other = encryptTree(sampleTree(), key, metadataFor('', lastModified), 'yaml', lastModified);
    const edited = structuredClone(tree);
    (valueAt(edited, 'ratio') as Scalar).value = { type: 'str', value: '' };
    expect(reencrypt(edited, key, metadataFor(other.mac, lastModified))).toThrow(expect.objectContaining({ code: 'mac-mismatch' }));
    const clear = structuredClone(tree);
    (valueAt(clear, 'password') as Scalar).value = { type: 'str', value: 'not encrypted' };
    expect(reencrypt(clear, key, metadataFor(mac, lastModified))).toThrow(/password: should be encrypted/);
    expect(reencrypt(tree, key, metadataFor('', lastModified))).toThrow(expect.objectContaining({ code: 'no-mac' }));
  });
});

describe('the MAC and the fingerprint of a large tree', () => {
  const lastModified = '2026-11-22T05:00:00Z';

  it('are SHA-512 over every leaf in order, values longer than any buffer included', () => {
    // Lengths from empty to far past 16 KiB, AADs with non-ASCII keys.
    const lengths = Array.from({ length: 3000 }, (_, i) => (i % 997 === 0 ? 20_000 + i : i % 331 === 0 ? 9_000 : i % 41));
    const leaves = lengths.map((length, i) => ({ key: i % 7 === 0 ? `clé-${i}` : `k${i}`, value: 'x'.repeat(length).replace(/x/g, (_, at: number) => String.fromCharCode(97 + ((at + i) % 26))) }));
    const tree: Tree = { branches: [{ kind: 'map', items: leaves.map((leaf) => e(leaf.key, scalar({ type: 'str', value: leaf.value }))) }] };
    const key = newDataKey();
    const { mac, fingerprint } = encryptTree(tree, key, metadataFor('', lastModified), 'yaml', lastModified);

    const expectedMac = createHash('sha512');
    const expectedFingerprint = createHash('sha512');
    for (const leaf of leaves) {
      const bytes = Buffer.from(leaf.value, 'utf8');
      expectedMac.update(bytes);
      expectedFingerprint.update(Buffer.from(`${leaf.key}:\0str\0${bytes.length}\0`, 'utf8')).update(bytes);
    }
    const storedMac = parseEncValue(mac, 'sops.mac');
    expect(Buffer.from(openEncValue(storedMac, dataKeyObject(key), lastModified)).toString()).toBe(expectedMac.digest('hex').toUpperCase());
    expect(fingerprint).toBe(expectedFingerprint.digest('hex'));
    expect(decryptTree(tree, key, metadataFor(mac, lastModified), 'yaml').fingerprint).toBe(fingerprint);
  });
});

describe('checking a tree without decrypting it in place', () => {
  const lastModified = '2026-11-22T05:00:00Z';

  it('gives decryptTree fingerprint and leaves every value and comment encrypted', () => {
    const key = newDataKey();
    const tree = sampleTree();
    const { mac, fingerprint } = encryptTree(tree, key, metadataFor('', lastModified), 'yaml', lastModified);
    const encrypted = structuredClone(tree);
    expect(checkTree(tree, key, metadataFor(mac, lastModified), 'yaml').fingerprint).toBe(fingerprint);
    expect(tree).toEqual(encrypted);
    expect(decryptTree(tree, key, metadataFor(mac, lastModified), 'yaml').fingerprint).toBe(fingerprint);
  });

  it('refuses what decryptTree refuses', () => {
    const key = newDataKey();
    const tree = sampleTree();
    const { mac } = encryptTree(tree, key, metadataFor('', lastModified), 'yaml', lastModified);
    expect(() => checkTree(tree, key, metadataFor(mac, '2026-11-22T05:00:01Z'), 'yaml')).toThrow(expect.objectContaining({ code: 'mac-auth-failed' }));
    expect(() => checkTree(tree, newDataKey(), metadataFor(mac, lastModified), 'yaml')).toThrow(expect.objectContaining({ code: 'value-auth-failed' }));
    const edited = structuredClone(tree);
    (valueAt(edited, 'ratio') as Scalar).value = { type: 'str', value: '' };
    expect(() => checkTree(edited, key, metadataFor(mac, lastModified), 'yaml')).toThrow(expect.objectContaining({ code: 'mac-mismatch' }));
    (valueAt(tree, 'port') as Scalar).value = { type: 'str', value: sealEncValue(Buffer.from('5432.5'), 'int', dataKeyObject(key), 'port:') };
    expect(() => checkTree(tree, key, metadataFor(mac, lastModified), 'yaml')).toThrow(/port: does not hold a valid integer/);
  });
});
