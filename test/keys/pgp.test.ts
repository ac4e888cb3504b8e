import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { KeySourceError } from '../../src/errors.ts';
import { PgpKeySource } from '../../src/keys/pgp.ts';
import type { MasterKey } from '../../src/sops/master-key.ts';
import { makeGnupgHome, type TempGnupgHome } from '../support/gnupg.ts';

const VECTORS = path.resolve(import.meta.dirname, '../../../shared/sops-vectors');
const SOPS_KEYS = path.join(VECTORS, 'keys', 'pgp__getsops-sops__sops_functional_tests_key.asc');
const TERRAGRUNT_KEY = path.join(VECTORS, 'keys', 'pgp__gruntwork-io-terragrunt__test_pgp_key.asc');
const FT_KEY_1 = 'FBC7B9E2A4F9289AC0C1D4843D16CEE4A27381B4';
const TERRAGRUNT_PRIMARY = '3EF98802EEDCAF0C688B81F419546E0C123C664E';

const pgpKey = (fp: string, enc = ''): MasterKey => ({ type: 'pgp', fields: { fp, created_at: '2024-01-01T00:00:00Z', enc } });

/** A data key that starts with 0x00 and ends with 0x0a: binary, and a newline that must survive. */
const dataKey = Uint8Array.from({ length: 32 }, (_, i) => (i === 31 ? 0x0a : (i * 37) & 0xff));

/** The first PGP entry of the getsops example.yaml vector (wrapped for FT key 1). */
function vectorEntry(): MasterKey {
  const doc = YAML.parse(readFileSync(path.join(VECTORS, 'getsops-sops__example.yaml'), 'utf8')) as {
    sops: { pgp: Array<Record<string, string>> };
  };
  return { type: 'pgp', fields: doc.sops.pgp[0] ?? {} };
}

let full: TempGnupgHome;
let publicOnly: TempGnupgHome;
let locked: TempGnupgHome;
let lockedFp: string;

beforeAll(async () => {
  full = await makeGnupgHome(SOPS_KEYS, TERRAGRUNT_KEY);
  publicOnly = await makeGnupgHome();
  await publicOnly.importText(await full.exportPublicKey(FT_KEY_1));
  locked = await makeGnupgHome();
  lockedFp = await locked.generateKey('Locked Test <locked@example.invalid>', 'correct horse');
});

afterAll(async () => {
  await Promise.all([full?.cleanup(), publicOnly?.cleanup(), locked?.cleanup()]);
});

describe('PgpKeySource', () => {
  it('wraps and unwraps a binary data key, reporting the fingerprints used', async () => {
    const source = new PgpKeySource({ gnupgHome: full.dir });
    const wrapped = await source.wrap(pgpKey(FT_KEY_1), dataKey);
    expect(wrapped.evidence).toEqual({ source: 'pgp', fingerprint: FT_KEY_1 });
    const opened = await source.unwrap(pgpKey(FT_KEY_1, wrapped.enc));
    expect(opened.plaintext).toEqual(dataKey);
    expect(opened.evidence).toEqual({ source: 'pgp', keyId: FT_KEY_1 });
  });

  it('writes an armored PGP message, whitespace-trimmed as sops stores gpg output', async () => {
    const { enc } = await new PgpKeySource({ gnupgHome: full.dir }).wrap(pgpKey(FT_KEY_1), dataKey);
    expect(enc.startsWith('-----BEGIN PGP MESSAGE-----\n')).toBe(true);
    expect(enc.endsWith('-----END PGP MESSAGE-----')).toBe(true);
    expect(enc).toBe(enc.trim());
  });

  it('wraps for a short subkey id and opens it with the primary key named as evidence', async () => {
    const source = new PgpKeySource({ gnupgHome: full.dir });
    const { enc, evidence } = await source.wrap(pgpKey('4B17CCC82911A6E0'), dataKey);
    expect(evidence).toEqual({ source: 'pgp', fingerprint: TERRAGRUNT_PRIMARY });
    const opened = await source.unwrap(pgpKey('4B17CCC82911A6E0', enc));
    expect(opened.plaintext).toEqual(dataKey);
    expect(opened.evidence).toEqual({ source: 'pgp', keyId: TERRAGRUNT_PRIMARY });
  });

  it('reads the keyring from GNUPGHOME', async () => {
    const source = PgpKeySource.fromEnvironment({ GNUPGHOME: full.dir });
    expect((await source.unwrap(vectorEntry())).evidence).toEqual({ source: 'pgp', keyId: FT_KEY_1 });
  });

  it('says no-secret-key, with the key id the message is for, when only the public key is there', async () => {
    const attempt = new PgpKeySource({ gnupgHome: publicOnly.dir }).unwrap(vectorEntry());
    await expect(attempt).rejects.toBeInstanceOf(KeySourceError);
    await expect(attempt).rejects.toMatchObject({ code: 'no-secret-key' });
    // 25294A17CD90507F is FT key 1's encryption subkey, as named in the message.
    await expect(attempt).rejects.toThrow(/25294A17CD90507F/);
  });

  it('can still wrap with a public-only keyring', async () => {
    const { enc } = await new PgpKeySource({ gnupgHome: publicOnly.dir }).wrap(pgpKey(FT_KEY_1), dataKey);
    expect((await new PgpKeySource({ gnupgHome: full.dir }).unwrap(pgpKey(FT_KEY_1, enc))).plaintext).toEqual(dataKey);
  });

  it('says no-public-key when the fingerprint is not in the keyring', async () => {
    const attempt = new PgpKeySource({ gnupgHome: full.dir }).wrap(pgpKey('0123456789ABCDEF0123456789ABCDEF01234567'), dataKey);
    await expect(attempt).rejects.toMatchObject({ code: 'no-public-key' });
  });

  it('says passphrase-required at once for a locked secret key, instead of waiting on a prompt', async () => {
    const source = new PgpKeySource({ gnupgHome: locked.dir });
    const { enc } = await source.wrap(pgpKey(lockedFp), dataKey);
    await expect(source.unwrap(pgpKey(lockedFp, enc))).rejects.toMatchObject({ code: 'passphrase-required' });
  });

  it('says gpg-missing when the gpg binary cannot be run', async () => {
    const source = new PgpKeySource({ gnupgHome: full.dir, gpgBinary: '/nonexistent/gpg' });
    await expect(source.unwrap(vectorEntry())).rejects.toMatchObject({ code: 'gpg-missing' });
    await expect(source.wrap(pgpKey(FT_KEY_1), dataKey)).rejects.toMatchObject({ code: 'gpg-missing' });
  });

  it('refuses an enc that is not an OpenPGP message, and an fp that is not a key id', async () => {
    const source = new PgpKeySource({ gnupgHome: full.dir });
    await expect(source.unwrap(pgpKey(FT_KEY_1, 'hello'))).rejects.toMatchObject({ code: 'malformed-enc' });
    await expect(source.unwrap(pgpKey(FT_KEY_1, ''))).rejects.toMatchObject({ code: 'malformed-enc' });
    await expect(source.wrap(pgpKey('--armor'), dataKey)).rejects.toMatchObject({ code: 'invalid-fingerprint' });
  });
});
