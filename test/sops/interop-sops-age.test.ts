/**
 * Files this engine writes must open in another implementation, not just in our own reader: the
 * npm package sops-age (independent code, age only, no MAC check; sops-format.md Appendix B)
 * decrypts what `encryptFile` and then `rotateFile` wrote, and finds the sample's values.
 */
import { decryptSops } from 'sops-age';
import { beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { AgeKeySource } from '../../src/keys/age.ts';
import { rotateFile } from '../../src/rekey/transform.ts';
import { CANARY, encryptedSample, newAgeKeyPair, plainSample, type AgeKeyPair, type SampleFormat } from '../support/cli.ts';

const text = (bytes: Uint8Array) => Buffer.from(bytes).toString('utf8');

/** What sops-age should give back: the sample as its own parser reads the plaintext. */
const EXPECTED: Record<'yaml' | 'json' | 'dotenv', (plain: string) => unknown> = {
  yaml: (plain) => YAML.parse(plain),
  json: (plain) => JSON.parse(plain),
  // Every dotenv value is a string; the fixture has no quoting or blanks for dotenv's parser to trim.
  dotenv: (plain) => Object.fromEntries(plain.trimEnd().split('\n').map((line) => line.split(/=(.*)/s).slice(0, 2))),
};
const SOPS_AGE_TYPE = { yaml: 'yaml', json: 'json', dotenv: 'env' } as const;

/** Every `ENC[...]` value of a file, in order (the `sops` block's MAC included). */
const encValues = (file: string) => file.match(/ENC\[AES256_GCM,[^\]]*\]/g) ?? [];

let key: AgeKeyPair;
beforeAll(async () => {
  key = await newAgeKeyPair();
});

describe.each(['yaml', 'json', 'dotenv'] as const)('sops-age opens %s files this engine wrote', (format: SampleFormat & keyof typeof EXPECTED) => {
  let plain: string;
  let name: string;
  let encrypted: Uint8Array;
  let rotated: Uint8Array;

  beforeAll(async () => {
    const sample = await plainSample(format);
    plain = sample.bytes.toString('utf8');
    name = sample.name;
    encrypted = (await encryptedSample(format, key)).bytes;
    rotated = (await rotateFile(encrypted, name, { age: new AgeKeySource([key.identity]) })).bytes;
  });

  const open = (bytes: Uint8Array) => decryptSops(text(bytes), { secretKey: key.identity, fileType: SOPS_AGE_TYPE[format] });

  it('after encryptFile: every value comes back as in the plaintext', async () => {
    expect(text(encrypted)).not.toContain(CANARY);
    expect(await open(encrypted)).toEqual(EXPECTED[format](plain));
  });

  it('after rotateFile: every value comes back as in the plaintext, under a new data key', async () => {
    expect(text(rotated)).not.toContain(CANARY);
    expect(await open(rotated)).toEqual(EXPECTED[format](plain));
    // Rotation re-encrypted every value (fresh IVs) and the MAC: no ciphertext survived.
    const before = new Set(encValues(text(encrypted)));
    const after = encValues(text(rotated));
    expect(after).toHaveLength(before.size);
    for (const value of after) expect(before.has(value)).toBe(false);
  });

  it('sops-age refuses the file for an identity it was not encrypted for', async () => {
    const stranger = await newAgeKeyPair();
    await expect(decryptSops(text(rotated), { secretKey: stranger.identity, fileType: SOPS_AGE_TYPE[format] })).rejects.toThrow(
      /No matching recipient/,
    );
  });
});
