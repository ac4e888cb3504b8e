/**
 * The shared sops vectors (files written by the real sops, with the keys that open them), and a
 * key setup able to open all of them: every age identity file, every PGP key in one GNUPGHOME.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { AgeKeySource } from '../../src/keys/age.ts';
import type { KeySources } from '../../src/keys/data-key.ts';
import { PgpKeySource } from '../../src/keys/pgp.ts';
import { makeGnupgHome, type TempGnupgHome } from './gnupg.ts';

export const VECTORS_DIR = path.resolve(fileURLToPath(import.meta.url), '../../../../shared/sops-vectors');
const KEYS_DIR = path.join(VECTORS_DIR, 'keys');

export interface ExpectedLeaf {
  readonly path: string[];
  readonly aad?: string;
  readonly encrypted: boolean;
  readonly type?: string;
  readonly plaintext?: string;
  readonly cleartext_value?: unknown;
}

export interface Vector {
  readonly name: string;
  readonly file: string;
  readonly expected: {
    readonly format: string;
    readonly data_key_hex: string;
    readonly mac_matches: boolean | null;
    readonly leaves: ExpectedLeaf[];
    readonly encrypted_comments?: { aad: string; plaintext: string }[];
  };
}

export function loadVectors(): Vector[] {
  return readdirSync(VECTORS_DIR)
    .filter((name) => !name.endsWith('.expected.json') && !name.endsWith('.md') && !name.endsWith('.plaintext') && name !== 'keys')
    .map((name) => ({
      name,
      file: path.join(VECTORS_DIR, name),
      expected: JSON.parse(readFileSync(path.join(VECTORS_DIR, `${name}.expected.json`), 'utf8')),
    }));
}

export interface VectorKeys {
  readonly sources: KeySources;
  readonly gnupg: TempGnupgHome;
  cleanup(): Promise<void>;
}

export async function vectorKeys(): Promise<VectorKeys> {
  const files = readdirSync(KEYS_DIR);
  const gnupg = await makeGnupgHome(...files.filter((f) => f.startsWith('pgp__')).map((f) => path.join(KEYS_DIR, f)));
  const ageIdentities = files
    .filter((f) => f.startsWith('age__'))
    .flatMap((f) => readFileSync(path.join(KEYS_DIR, f), 'utf8').split('\n'))
    .map((line) => line.trim())
    .filter((line) => line.startsWith('AGE-SECRET-KEY-'));
  return {
    sources: { age: new AgeKeySource(ageIdentities), pgp: new PgpKeySource({ gnupgHome: gnupg.dir }) },
    gnupg,
    cleanup: () => gnupg.cleanup(),
  };
}
