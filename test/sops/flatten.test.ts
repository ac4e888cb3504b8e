import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { flatten, unflatten } from '../../src/sops/flatten.ts';
import type { RawObject, RawValue } from '../../src/sops/tree.ts';
import { formatErrorCode as codeOf } from '../support/format-error.ts';


describe('flatten', () => {
  it('names map children with __map_ and list items with __list_<i>, in the order given', () => {
    const flat = flatten({
      key_groups: [{ pgp: [{ fp: 'A' }] }, { age: [{ recipient: 'age1x', enc: 'E' }] }],
      shamir_threshold: 2,
      mac_only_encrypted: true,
    });
    expect([...flat]).toEqual([
      ['key_groups__list_0__map_pgp__list_0__map_fp', 'A'],
      ['key_groups__list_1__map_age__list_0__map_recipient', 'age1x'],
      ['key_groups__list_1__map_age__list_0__map_enc', 'E'],
      ['shamir_threshold', '2'],
      ['mac_only_encrypted', 'true'],
    ]);
  });

  it('puts the prefix before top-level keys and leaves out nulls and empty lists', () => {
    const flat = flatten({ version: '3.13.2', kms: [], gcp_kms: null, lastmodified: 'T' }, 'sops_');
    expect([...flat.keys()]).toEqual(['sops_version', 'sops_lastmodified']);
  });
});

describe('unflatten', () => {
  it('rebuilds maps with sorted keys and lists in index order, whatever the input order', () => {
    const entries: Array<[string, string]> = [
      ['version', '3.7.3'],
      ['pgp__list_1__map_fp', 'B'],
      ['pgp__list_0__map_fp', 'A'],
      ['pgp__list_0__map_created_at', 'T0'],
      ['lastmodified', 'T'],
    ];
    const md = unflatten(entries);
    expect(Object.keys(md)).toEqual(['lastmodified', 'pgp', 'version']);
    expect(md.pgp).toEqual([{ created_at: 'T0', fp: 'A' }, { fp: 'B' }]);
    expect(Object.keys((md.pgp as RawObject[])[0]!)).toEqual(['created_at', 'fp']);
  });

  it('orders list items by number, not by text (10 after 9)', () => {
    const entries = Array.from({ length: 11 }, (_, i) => [`age__list_${i}__map_recipient`, `r${i}`] as const).reverse();
    expect((unflatten(entries).age as RawObject[]).map((item) => item.recipient)).toEqual(
      Array.from({ length: 11 }, (_, i) => `r${i}`),
    );
  });

  it('keeps a key named __proto__ as an ordinary key', () => {
    const md = unflatten([['__proto____map_x', '1']]);
    expect(Object.keys(md)).toEqual(['__proto__']);
    expect(Object.getPrototypeOf(md)).toBe(Object.prototype);
  });

  it('refuses bad list indices, missing indices and clashing structures', () => {
    expect(codeOf(() => unflatten([['age__list_x__map_enc', 'E']]))).toBe('bad-flattened-key');
    expect(codeOf(() => unflatten([['age__list_01__map_enc', 'E']]))).toBe('bad-flattened-key');
    expect(codeOf(() => unflatten([['age__list___map_enc', 'E']]))).toBe('bad-flattened-key');
    expect(codeOf(() => unflatten([['age__list_1__map_enc', 'E']]))).toBe('bad-flattened-key');
    expect(codeOf(() => unflatten([['age', 'x'], ['age__list_0__map_enc', 'E']]))).toBe('bad-flattened-key');
    expect(codeOf(() => unflatten([['age__list_0__map_enc', 'E'], ['age', 'x']]))).toBe('bad-flattened-key');
    expect(codeOf(() => unflatten([['age__map_x', 'E'], ['age__list_0', 'x']]))).toBe('bad-flattened-key');
  });

  it('names the offending key, not its value', () => {
    try {
      unflatten([['pgp__list_2__map_enc', 'SECRET-VALUE']]);
      expect.unreachable();
    } catch (error) {
      expect(String((error as Error).message)).toContain('pgp');
      expect(String((error as Error).message)).not.toContain('SECRET-VALUE');
    }
  });
});

/** Sorted keys at every level: what unflatten gives back. */
function sortedDeep(value: RawValue): RawValue {
  if (Array.isArray(value)) return value.map(sortedDeep);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.keys(value).sort().map((key) => [key, sortedDeep(value[key]!)]));
  }
  return value;
}

describe('flatten and unflatten', () => {
  // Keys made of letters and single underscores never contain a marker.
  const key = fc.stringMatching(/^[a-z]([a-z]|_[a-z]){0,6}$/);
  const { tree } = fc.letrec<{ tree: RawValue; object: RawObject }>((tie) => ({
    tree: fc.oneof(
      { depthSize: 'small' },
      fc.string({ maxLength: 8 }),
      fc.array(tie('tree'), { minLength: 1, maxLength: 3 }),
      tie('object'),
    ),
    object: fc.dictionary(key, tie('tree'), { minKeys: 1, maxKeys: 4 }) as fc.Arbitrary<RawObject>,
  }));

  it('round-trip any metadata of strings, non-empty lists and non-empty maps', () => {
    fc.assert(
      fc.property(fc.dictionary(key, tree, { minKeys: 1, maxKeys: 5 }), (obj) => {
        expect(unflatten(flatten(obj as RawObject))).toEqual(sortedDeep(obj as RawObject));
      }),
    );
  });
});
