import { describe, expect, it } from 'vitest';
import { macAad, metadataToRaw, parseMetadata } from '../../src/sops/metadata.ts';

const base = {
  kms: null,
  gcp_kms: [{ resource_id: 'projects/p/locations/l/keyRings/r/cryptoKeys/k', created_at: '2026-01-01T00:00:00Z', enc: 'CiQA' }],
  age: [{ recipient: 'age1abc', enc: '-----BEGIN AGE ENCRYPTED FILE-----\n' }],
  lastmodified: '2026-05-22T20:16:23Z',
  mac: 'ENC[AES256_GCM,data:x,iv:y,tag:z,type:str]',
  pgp: [],
  unencrypted_suffix: '_unencrypted',
  version: '3.7.1',
  attention: 'kept from sops 1.x',
};

describe('sops metadata', () => {
  it('reads an old layout and writes the sops 3.13 one: sorted keys, no empty lists, unknown fields kept', () => {
    const metadata = parseMetadata(base);
    expect(metadata.keyGroups).toHaveLength(1);
    expect(metadata.keyGroups[0]!.map((k) => k.type)).toEqual(['gcp_kms', 'age']);
    const raw = metadataToRaw(metadata);
    expect(Object.keys(raw)).toEqual(['age', 'attention', 'gcp_kms', 'lastmodified', 'mac', 'unencrypted_suffix', 'version']);
    expect(Object.keys((raw.gcp_kms as object[])[0]!)).toEqual(['created_at', 'enc', 'resource_id']);
  });

  it('reads key groups and a Shamir threshold written as a string (INI, dotenv)', () => {
    const metadata = parseMetadata({
      key_groups: [{ age: [{ recipient: 'age1a', enc: 'a' }] }, { pgp: [{ fp: 'ABCD', enc: 'b', created_at: 'x' }] }],
      shamir_threshold: '2',
      mac_only_encrypted: 'true',
      lastmodified: '2026-05-22T20:16:23Z',
      mac: '',
      version: '3.13.2',
    });
    expect(metadata.keyGroups).toHaveLength(2);
    expect(metadata.shamirThreshold).toBe(2);
    expect(metadata.macOnlyEncrypted).toBe(true);
    expect(metadataToRaw(metadata).key_groups).toEqual([
      { age: [{ enc: 'a', recipient: 'age1a' }], hc_vault: [] },
      { age: [], hc_vault: [], pgp: [{ created_at: 'x', enc: 'b', fp: 'ABCD' }] },
    ]);
  });

  it.each([
    [{ ...base, gcp_kms: [{ enc: 'x' }] }, /gcp_kms\[0\]\.resource_id is missing/],
    [{ ...base, gcp_kms: [], age: [] }, /holds no master keys/],
    [{ ...base, encrypted_regex: '^x' }, /more than one of unencrypted_suffix, encrypted_regex/],
    [{ ...base, lastmodified: 5 }, /lastmodified is missing or not a string/],
    [{ ...base, age: 'nope' }, /sops\.age is not a list/],
  ])('names the field of a malformed block', (raw, message) => {
    expect(() => parseMetadata(raw as never)).toThrow(message);
  });

  it('binds the MAC to the canonical lastmodified', () => {
    expect(macAad('2026-05-22T20:16:23Z')).toBe('2026-05-22T20:16:23Z');
    expect(macAad('2026-05-22T20:16:23.123+00:00')).toBe('2026-05-22T20:16:23Z');
    expect(macAad('2026-05-22T22:16:23+02:00')).toBe('2026-05-22T22:16:23+02:00');
    expect(() => macAad('yesterday')).toThrow(/RFC 3339/);
  });
});

describe('master key names', () => {
  it('names a key whose field holds a mapping without throwing (found by fuzzing)', async () => {
    const { masterKeyId } = await import('../../src/sops/master-key.ts');
    const key = { type: 'kms' as const, fields: { arn: 'arn:aws:kms:us-east-1:1:key/x', enc: 'abc', role: { toString: 1, valueOf: 1 } } };
    expect(masterKeyId(key)).toBe('arn:aws:kms:us-east-1:1:key/x');
  });
});
