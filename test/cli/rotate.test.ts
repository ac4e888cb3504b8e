/**
 * `sops-rekey rotate FILE...`, run as a user runs it: every file rewritten in place with a new
 * data key (or with `--rewrap` the same one, re-wrapped), its mode kept, its values unchanged; a
 * file that fails is left untouched while the others still rotate; exit 1 if any failed, 2 on misuse.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SopsIntegrityError } from '../../src/errors.ts';
import { AgeKeySource } from '../../src/keys/age.ts';
import { recoverDataKey, type KeySources } from '../../src/keys/data-key.ts';
import { PgpKeySource } from '../../src/keys/pgp.ts';
import { decryptFile } from '../../src/rekey/transform.ts';
import { decryptTree } from '../../src/sops/crypt.ts';
import { readSopsFile } from '../../src/sops/sops-file.ts';
import { makeGnupgHome, type TempGnupgHome } from '../support/gnupg.ts';
import { VECTORS_DIR } from '../support/vectors.ts';
import {
  CANARY,
  SAMPLE_TIME,
  encryptedSample,
  makeCliWorkspace,
  newAgeKeyPair,
  runCli,
  type AgeKeyPair,
  type CliWorkspace,
  type SampleFormat,
} from '../support/cli.ts';

const FORMATS = ['yaml', 'json', 'dotenv', 'ini', 'binary'] as const;

let workspace: CliWorkspace;
let key: AgeKeyPair;
let ageEnv: Record<string, string>;
let sources: KeySources;

beforeAll(async () => {
  workspace = await makeCliWorkspace();
  key = await newAgeKeyPair();
  ageEnv = { SOPS_AGE_KEY_FILE: await workspace.writeIdentityFile('keys.txt', key.identity), HOME: workspace.home };
  sources = { age: new AgeKeySource([key.identity]) };
});

afterAll(async () => {
  await workspace.cleanup();
});

/** Writes the sample of `format`, encrypted for the test key, as `folder/sample.ext`. */
async function writeSample(folder: string, format: SampleFormat, mode = 0o600): Promise<{ file: string; bytes: Uint8Array }> {
  const { name, bytes } = await encryptedSample(format, key);
  return { file: await workspace.write(path.join(folder, name), bytes, mode), bytes };
}

const dataKeyOf = async (bytes: Uint8Array, file: string, keys: KeySources = sources) =>
  Buffer.from((await recoverDataKey(readSopsFile(bytes, file).metadata, keys)).dataKey);

/** Every `ENC[...]` value of a file, in order, the MAC included. */
const encValues = (bytes: Uint8Array) => Buffer.from(bytes).toString('utf8').match(/ENC\[AES256_GCM,[^\]]*\]/g) ?? [];

/** The file with each age entry's armored `enc` blanked out. */
const withoutAgeEnc = (bytes: Uint8Array) =>
  Buffer.from(bytes).toString('utf8').replace(/-----BEGIN AGE ENCRYPTED FILE-----[\s\S]*?-----END AGE ENCRYPTED FILE-----/g, '<enc>');

/** Expects `after` to hold a new data key: the old one fails on its values, its own opens them. */
async function expectNewDataKey(before: Uint8Array, after: Uint8Array, file: string, keys: KeySources = sources): Promise<void> {
  const oldKey = await dataKeyOf(before, file, keys);
  const newKey = await dataKeyOf(after, file, keys);
  expect(newKey.equals(oldKey)).toBe(false);
  const rotated = readSopsFile(after, file);
  expect(() => decryptTree(rotated.loaded.tree, oldKey, rotated.metadata, rotated.format)).toThrow(SopsIntegrityError);
}

describe('rotate FILE... with identities from SOPS_AGE_KEY_FILE', () => {
  it('rewrites every store in place: new data key, same values, same file mode', async () => {
    const written = await Promise.all(FORMATS.map((format, i) => writeSample('all', format, i % 2 === 0 ? 0o600 : 0o640)));
    const result = await runCli(['rotate', ...written.map((w) => w.file)], { env: ageEnv });

    expect(result.exitCode).toBe(0);
    expect(result.stdout).toBe('');
    for (const [i, { file, bytes }] of written.entries()) {
      expect(result.stderr).toContain(`rotated ${file}\n`);
      const after = await workspace.read(file);
      expect(await workspace.mode(file)).toBe(i % 2 === 0 ? 0o600 : 0o640);
      expect(after.equals(Buffer.from(bytes))).toBe(false);
      expect(Buffer.from(await decryptFile(after, file, sources))).toEqual(Buffer.from(await decryptFile(bytes, file, sources)));
      await expectNewDataKey(bytes, after, file);
      // A fresh IV for every value and a new MAC: no ciphertext is reused.
      const old = new Set(encValues(bytes));
      for (const value of encValues(after)) expect(old.has(value)).toBe(false);
      expect(readSopsFile(after, file).metadata.lastModified).not.toBe(readSopsFile(bytes, file).metadata.lastModified);
    }
    expect(result.stderr).not.toContain(CANARY);
  });

  it.each(['yaml', 'json', 'dotenv', 'ini'] as const)('--rewrap on %s keeps the data key: only the age entry changes', async (format) => {
    const { file, bytes } = await writeSample('rewrap', format);
    const result = await runCli(['rotate', '--rewrap', file], { env: ageEnv });

    expect(result).toMatchObject({ exitCode: 0, stderr: `rewrapped ${file}\n` });
    const after = await workspace.read(file);
    expect(after.equals(Buffer.from(bytes))).toBe(false);
    expect((await dataKeyOf(after, file)).equals(await dataKeyOf(bytes, file))).toBe(true);
    // Values, MAC and lastmodified are the same text; every other byte but the age `enc` too.
    expect(encValues(after)).toEqual(encValues(bytes));
    expect(withoutAgeEnc(after)).toBe(withoutAgeEnc(bytes));
    expect(readSopsFile(after, file).metadata.lastModified).toBe(SAMPLE_TIME.toISOString().replace('.000', ''));
  });

  it('goes on past a file that fails: the others rotate, the bad one is untouched, exit 1', async () => {
    const first = await writeSample('mixed', 'yaml');
    const second = await writeSample('mixed', 'dotenv');
    // One value's ciphertext copied from another key: it no longer authenticates at its own path.
    const json = await writeSample('mixed-bad', 'json');
    const text = Buffer.from(json.bytes).toString('utf8');
    const [userEnc, tokenEnc] = [/"user": "(ENC\[[^\]]*\])"/, /"api_token": "(ENC\[[^\]]*\])"/].map((re) => re.exec(text)?.[1] ?? '');
    const bad = await workspace.write('mixed-bad/sample.json', text.replace(userEnc ?? '', tokenEnc ?? ''));
    const badBytes = await workspace.read(bad);

    const result = await runCli(['rotate', first.file, bad, second.file], { env: ageEnv });

    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain(`rotated ${first.file}\n`);
    expect(result.stderr).toContain(`rotated ${second.file}\n`);
    expect(result.stderr).toMatch(new RegExp(`${escape(bad)}: value at database:user: failed authentication`));
    expect(result.stderr).not.toContain(`rotated ${bad}`);
    expect(result.stderr).not.toContain(CANARY);
    expect(await workspace.read(bad)).toEqual(badBytes);
    for (const { file, bytes } of [first, second]) await expectNewDataKey(bytes, await workspace.read(file), file);
  });

  it('--rewrap refuses a file whose MAC does not verify, leaving it untouched', async () => {
    const { file, bytes } = await writeSample('rewrap-bad', 'yaml');
    const text = Buffer.from(bytes).toString('utf8').replace(/lastmodified: "?[^"\n]+"?/, 'lastmodified: "2020-01-01T00:00:00Z"');
    await workspace.write(path.join('rewrap-bad', 'sample.yaml'), text);

    const result = await runCli(['rotate', '--rewrap', file], { env: ageEnv });

    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain(`${file}: the MAC failed authentication`);
    expect((await workspace.read(file)).toString('utf8')).toBe(text);
  });

  it('exits 1 and leaves the file when SOPS_AGE_KEY_FILE names a missing file', async () => {
    const { file, bytes } = await writeSample('no-key', 'yaml');
    const missing = path.join(workspace.dir, 'no-such-keys.txt');
    const result = await runCli(['rotate', file], { env: { SOPS_AGE_KEY_FILE: missing, HOME: workspace.home } });
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain(`${file}: no master key could unwrap the data key`);
    expect(result.stderr).toContain(missing);
    expect(await workspace.read(file)).toEqual(Buffer.from(bytes));
  });
});

describe('rotate FILE... with the keyring from GNUPGHOME', () => {
  let gnupg: TempGnupgHome;
  beforeAll(async () => {
    gnupg = await makeGnupgHome(path.join(VECTORS_DIR, 'keys/pgp__getsops-sops__sops_functional_tests_key.asc'));
  });
  afterAll(async () => {
    await gnupg.cleanup();
  });

  it('rotates sops-written PGP files of every text store; they decrypt to the same values', async () => {
    // Each vector's plaintext as sops prints it in JSON: dotenv trims nothing (`foo ` = ` bar`),
    // INI always has the DEFAULT section (sops-format.md §6.4).
    const expected: Record<string, unknown> = {
      yaml: { foo: 'bar' },
      json: { foo: 'bar' },
      env: { 'foo ': ' bar' },
      ini: { DEFAULT: {}, foo: { bar: 'baz' } },
    };
    const files = await Promise.all(
      Object.entries(expected).map(async ([ext, plaintext]) => {
        const vector = `getsops-sops__functional-tests-res-format.enc.${ext}`;
        const bytes = await readFile(path.join(VECTORS_DIR, vector));
        return { file: await workspace.write(path.join('pgp', vector), bytes), bytes, plaintext };
      }),
    );
    const env = { GNUPGHOME: gnupg.dir };
    const pgp: KeySources = { pgp: new PgpKeySource({ gnupgHome: gnupg.dir }) };

    const result = await runCli(['rotate', ...files.map((f) => f.file)], { env });

    expect(result.exitCode).toBe(0);
    for (const { file, bytes, plaintext } of files) {
      expect(result.stderr).toContain(`rotated ${file}\n`);
      const after = await workspace.read(file);
      await expectNewDataKey(bytes, after, file, pgp);
      const decrypted = await runCli(['decrypt', '--output-type', 'json', file], { env });
      expect(decrypted.exitCode).toBe(0);
      expect(JSON.parse(decrypted.stdout)).toEqual(plaintext);
      // The same PGP key still holds the (new) data key.
      expect(readSopsFile(after, file).metadata.keyGroups.flat().map((k) => k.fields.fp)).toEqual(['FBC7B9E2A4F9289AC0C1D4843D16CEE4A27381B4']);
    }
  });
});

describe('usage errors exit 2', () => {
  it.each([
    ['rotate without a file', ['rotate'], /usage: sops-rekey rotate/],
    ['an unknown flag', ['rotate', '--force', 'a.yaml'], /--force[\s\S]*usage: sops-rekey rotate/],
    ['--rewrap given a value', ['rotate', '--rewrap=yes', 'a.yaml'], /--rewrap[\s\S]*usage: sops-rekey rotate/],
    ['an unknown --input-type', ['rotate', '--input-type', 'toml', 'a.yaml'], /--input-type must be one of/],
  ])('%s', async (_, args, message) => {
    const result = await runCli(args, { env: ageEnv });
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(message);
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
