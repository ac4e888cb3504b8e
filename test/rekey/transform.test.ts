/**
 * The three writes (encrypt, rotate, rewrap) as a user sees them: what goes in comes back out of
 * `decryptFile`, under a new data key after a rotation, for every store and every value type.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { AgeKeySource } from '../../src/keys/age.ts';
import { decryptFile, encryptFile, rotateFile } from '../../src/rekey/transform.ts';
import { newAgeKeyPair, type AgeKeyPair } from '../support/cli.ts';

let key: AgeKeyPair;
let sources: { age: AgeKeySource };
beforeAll(async () => {
  key = await newAgeKeyPair();
  sources = { age: new AgeKeySource([key.identity]) };
});

const text = (bytes: Uint8Array) => Buffer.from(bytes).toString('utf8');
const encrypt = async (plain: string, name: string) =>
  (await encryptFile(Buffer.from(plain), name, sources, { keyGroups: [[{ type: 'age', fields: { recipient: key.recipient } }]] })).bytes;

describe('a value starting with U+FEFF (byte order mark)', () => {
  // Go keeps the mark in the string and in the MAC; a decoder that dropped it failed every such file.
  it.each([
    ['yaml', 'bom.yaml', 'a: "\\ufeffhello"\nb: plain\n', (plain: string) => YAML.parse(plain).a],
    ['json', 'bom.json', '{\n\t"a": "\\ufeffhello"\n}\n', (plain: string) => JSON.parse(plain).a],
    ['dotenv', 'bom.env', 'A=\ufeffhello\n', (plain: string) => plain.slice(2, -1)],
  ])('is encrypted, rotated and decrypted with the mark kept (%s)', async (_format, name, plain, valueOf) => {
    const encrypted = await encrypt(plain, name);
    expect(valueOf(text(await decryptFile(encrypted, name, sources)))).toBe('\ufeffhello');
    const rotated = (await rotateFile(encrypted, name, sources)).bytes;
    expect(text(await decryptFile(rotated, name, sources))).toBe(text(await decryptFile(encrypted, name, sources)));
  });
});
