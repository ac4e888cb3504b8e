/**
 * Every age and PGP master key of the real sops files in shared/sops-vectors opens with the keys
 * shipped beside them and gives the data key recorded in the vector's `.expected.json`.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { AgeKeySource } from '../../src/keys/age.ts';
import { PgpKeySource } from '../../src/keys/pgp.ts';
import type { MasterKey } from '../../src/sops/master-key.ts';
import type { RawObject } from '../../src/sops/tree.ts';
import { makeGnupgHome, type TempGnupgHome } from '../support/gnupg.ts';

const VECTORS = path.resolve(import.meta.dirname, '../../../shared/sops-vectors');
const KEYS = path.join(VECTORS, 'keys');

interface Expected {
  readonly data_key_hex: string;
  readonly unwrapped_with: ReadonlyArray<{ readonly master_key: string; readonly keyfile: string }>;
}

interface VectorKey {
  readonly vector: string;
  readonly type: 'age' | 'pgp';
  readonly index: number;
  readonly key: MasterKey;
  readonly keyfile: string;
  readonly dataKeyHex: string;
}

/**
 * The `sops` metadata of a vector, read just enough for this test (the stores are elsewhere):
 * YAML/JSON/binary parse as YAML; INI (`[sops]` section) and dotenv (`sops_` lines) are flattened.
 */
function readMetadata(file: string): RawObject {
  const text = readFileSync(file, 'utf8');
  if (file.endsWith('.env')) {
    const flat = text
      .split('\n')
      .filter((line) => line.startsWith('sops_'))
      .map((line) => {
        const eq = line.indexOf('=');
        return [line.slice('sops_'.length, eq), line.slice(eq + 1).replaceAll('\\n', '\n')] as const;
      });
    return unflatten(flat);
  }
  if (file.endsWith('.ini')) return unflatten(iniSection(text, 'sops'));
  return (YAML.parse(text) as { sops: RawObject }).sops;
}

function iniSection(text: string, name: string): Array<readonly [string, string]> {
  const lines = text.split('\n');
  const entries: Array<readonly [string, string]> = [];
  let inSection = false;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? '';
    if (line.startsWith('[')) {
      inSection = line.trim() === `[${name}]`;
      continue;
    }
    if (!inSection || !line.includes('=')) continue;
    const eq = line.indexOf('=');
    const key = line.slice(0, eq).trim();
    let value = line.slice(eq + 1).trim();
    if (value.startsWith('"""')) {
      // A triple-quoted value runs to the closing quotes, newlines kept (sops 3.13.0/3.13.1).
      const parts = [value.slice(3)];
      while (!parts.at(-1)?.endsWith('"""')) parts.push(lines[++i] ?? '"""');
      value = parts.join('\n').slice(0, -3);
    } else {
      value = value.replaceAll('\\n', '\n');
    }
    entries.push([key, value]);
  }
  return entries;
}

/** `age__list_0__map_enc` → `{ age: [{ enc }] }` (sops-format.md §6.6). */
function unflatten(entries: ReadonlyArray<readonly [string, string]>): RawObject {
  const root: RawObject = {};
  for (const [flatKey, value] of entries) {
    const [first = '', ...rest] = flatKey.split('__');
    let container: RawObject | RawObject[] = root;
    let slot: string | number = first;
    for (const segment of rest) {
      const list = /^list_(\d+)$/.exec(segment);
      const next: RawObject | RawObject[] = list ? [] : {};
      const existing = (container as Record<string | number, unknown>)[slot];
      (container as Record<string | number, unknown>)[slot] = existing ?? next;
      container = (container as Record<string | number, RawObject | RawObject[]>)[slot] as RawObject | RawObject[];
      slot = list ? Number(list[1]) : segment.replace(/^map_/, '');
    }
    (container as Record<string | number, unknown>)[slot] = value;
  }
  return root;
}

function vectorKeys(): VectorKey[] {
  const keys: VectorKey[] = [];
  for (const name of readdirSync(VECTORS).filter((n) => n.endsWith('.expected.json')).sort()) {
    const vector = name.slice(0, -'.expected.json'.length);
    const expected = JSON.parse(readFileSync(path.join(VECTORS, name), 'utf8')) as Expected;
    const metadata = readMetadata(path.join(VECTORS, vector));
    for (const used of expected.unwrapped_with) {
      const match = /^(age|pgp)\[(\d+)\]/.exec(used.master_key);
      if (match === null) continue;
      const type = match[1] as 'age' | 'pgp';
      const index = Number(match[2]);
      const fields = (metadata[type] as RawObject[] | undefined)?.[index];
      if (fields === undefined) throw new Error(`${vector}: no ${type}[${index}] in the metadata`);
      keys.push({ vector, type, index, key: { type, fields }, keyfile: used.keyfile, dataKeyHex: expected.data_key_hex });
    }
  }
  return keys;
}

const all = vectorKeys();
const ageKeys = all.filter((k) => k.type === 'age');
const pgpKeys = all.filter((k) => k.type === 'pgp');
const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');

describe('age vectors', () => {
  it('covers every age vector', () => {
    expect(new Set(ageKeys.map((k) => k.vector)).size).toBe(5);
  });

  it.each(ageKeys.map((k) => [`${k.vector} age[${k.index}]`, k] as const))('%s opens', async (_, k) => {
    const source = AgeKeySource.fromEnvironment({ SOPS_AGE_KEY_FILE: path.join(KEYS, k.keyfile), HOME: '/nonexistent' });
    const { plaintext, evidence } = await source.unwrap(k.key);
    expect(hex(plaintext)).toBe(k.dataKeyHex);
    expect(evidence).toEqual({ source: 'age', identity: k.key.fields.recipient });
  });
});

describe('PGP vectors', () => {
  let home: TempGnupgHome;
  beforeAll(async () => {
    const keyFiles = readdirSync(KEYS).filter((n) => n.startsWith('pgp__'));
    home = await makeGnupgHome(...keyFiles.map((n) => path.join(KEYS, n)));
  });
  afterAll(async () => {
    await home?.cleanup();
  });

  it('covers every PGP vector', () => {
    expect(new Set(pgpKeys.map((k) => k.vector)).size).toBe(23);
  });

  it.each(pgpKeys.map((k) => [`${k.vector} pgp[${k.index}]`, k] as const))('%s opens', async (_, k) => {
    const source = new PgpKeySource({ gnupgHome: home.dir });
    const { plaintext, evidence } = await source.unwrap(k.key);
    expect(hex(plaintext)).toBe(k.dataKeyHex);
    const fp = String(k.key.fields.fp);
    // The terragrunt YAML names the encryption subkey by its short id; gpg reports the primary.
    const primary = fp === '4B17CCC82911A6E0' ? '3EF98802EEDCAF0C688B81F419546E0C123C664E' : fp;
    expect(evidence).toEqual({ source: 'pgp', keyId: primary });
  });
});
