/**
 * `sops-rekey decrypt FILE`, run as a user runs it: the plaintext on stdout in the file's own
 * format (or `--output-type`), keys from `SOPS_AGE_KEY_FILE` or `GNUPGHOME`, exit 2 on misuse.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { makeGnupgHome, type TempGnupgHome } from '../support/gnupg.ts';
import { VECTORS_DIR } from '../support/vectors.ts';
import {
  CANARY,
  encryptedSample,
  makeCliWorkspace,
  newAgeKeyPair,
  plainSample,
  runCli,
  type AgeKeyPair,
  type CliWorkspace,
  type SampleFormat,
} from '../support/cli.ts';

let workspace: CliWorkspace;
let key: AgeKeyPair;
let keyFile: string;
let ageEnv: Record<string, string>;
const files = new Map<SampleFormat, string>();

beforeAll(async () => {
  workspace = await makeCliWorkspace();
  key = await newAgeKeyPair();
  keyFile = await workspace.writeIdentityFile('keys.txt', key.identity);
  ageEnv = { SOPS_AGE_KEY_FILE: keyFile, HOME: workspace.home };
  for (const format of ['yaml', 'json', 'dotenv', 'ini', 'binary'] as const) {
    const { name, bytes } = await encryptedSample(format, key);
    files.set(format, await workspace.write(name, bytes));
  }
});

afterAll(async () => {
  await workspace.cleanup();
});

const fileOf = (format: SampleFormat): string => files.get(format) ?? '';
const plainText = async (format: SampleFormat) => (await plainSample(format)).bytes.toString('utf8');

/** `KEY=value` / `key = value` lines as a map: what dotenv and INI files say, whatever the spacing. */
function pairs(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  let section = '';
  for (const line of text.split('\n')) {
    const header = /^\[(.+)\]$/.exec(line.trim());
    if (header) section = `${header[1]}.`;
    const pair = /^([^=\s]+)\s*=\s?(.*)$/.exec(line);
    if (pair) out[section + pair[1]] = pair[2] ?? '';
  }
  return out;
}

describe('decrypt FILE with identities from SOPS_AGE_KEY_FILE', () => {
  it('prints a YAML file as YAML with the original values', async () => {
    const result = await runCli(['decrypt', fileOf('yaml')], { env: ageEnv });
    expect(result).toMatchObject({ exitCode: 0, stderr: '' });
    expect(YAML.parse(result.stdout)).toEqual(YAML.parse(await plainText('yaml')));
    expect(result.stdout).not.toMatch(/ENC\[|sops:/);
  });

  it('prints a JSON file as JSON with the original values', async () => {
    const result = await runCli(['decrypt', fileOf('json')], { env: ageEnv });
    expect(result).toMatchObject({ exitCode: 0, stderr: '' });
    expect(JSON.parse(result.stdout)).toEqual(JSON.parse(await plainText('json')));
  });

  it('prints a dotenv file as dotenv lines', async () => {
    const result = await runCli(['decrypt', fileOf('dotenv')], { env: ageEnv });
    expect(result).toMatchObject({ exitCode: 0, stderr: '' });
    expect(result.stdout).toBe(await plainText('dotenv'));
  });

  it('prints an INI file as INI sections and keys', async () => {
    const result = await runCli(['decrypt', fileOf('ini')], { env: ageEnv });
    expect(result).toMatchObject({ exitCode: 0, stderr: '' });
    expect(pairs(result.stdout)).toEqual(pairs(await plainText('ini')));
    expect(pairs(result.stdout)['database.password']).toBe(CANARY);
    expect(result.stdout).not.toContain('[sops]');
  });

  it('prints a binary file as its exact bytes', async () => {
    const result = await runCli(['decrypt', fileOf('binary')], { env: ageEnv });
    expect(result).toMatchObject({ exitCode: 0, stderr: '' });
    expect(result.stdout).toBe(await plainText('binary'));
  });

  it('--output-type json prints a YAML file as JSON', async () => {
    const result = await runCli(['decrypt', '--output-type', 'json', fileOf('yaml')], { env: ageEnv });
    expect(result).toMatchObject({ exitCode: 0, stderr: '' });
    expect(JSON.parse(result.stdout)).toEqual(YAML.parse(await plainText('yaml')));
  });

  it('--output-type json prints a dotenv file as a JSON object of strings', async () => {
    const result = await runCli(['decrypt', '--output-type', 'json', fileOf('dotenv')], { env: ageEnv });
    expect(result).toMatchObject({ exitCode: 0, stderr: '' });
    expect(JSON.parse(result.stdout)).toEqual(pairs(await plainText('dotenv')));
  });

  it('exits 1 naming the file when no identity opens it, printing no plaintext', async () => {
    const other = await workspace.writeIdentityFile('other-keys.txt', (await newAgeKeyPair()).identity);
    const result = await runCli(['decrypt', fileOf('yaml')], { env: { SOPS_AGE_KEY_FILE: other, HOME: workspace.home } });
    expect(result.exitCode).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain(`${fileOf('yaml')}: no master key could unwrap the data key`);
    expect(result.stderr).toContain(key.recipient);
    expect(result.stderr).not.toContain(CANARY);
  });

  it('exits 1 when SOPS_AGE_KEY_FILE is not set and the home has no sops key file', async () => {
    const result = await runCli(['decrypt', fileOf('json')], { env: { HOME: workspace.home } });
    expect(result.exitCode).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain(fileOf('json'));
  });

  it('exits 1 naming a file that does not exist', async () => {
    const missing = path.join(workspace.dir, 'missing.yaml');
    const result = await runCli(['decrypt', missing], { env: ageEnv });
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain(missing);
  });
});

describe('decrypt FILE with the keyring from GNUPGHOME', () => {
  let gnupg: TempGnupgHome;
  beforeAll(async () => {
    gnupg = await makeGnupgHome(path.join(VECTORS_DIR, 'keys/pgp__getsops-sops__sops_functional_tests_key.asc'));
  });
  afterAll(async () => {
    await gnupg.cleanup();
  });

  // What sops wrote: the dotenv vector's key and value really are `foo ` and ` bar` (nothing trimmed).
  it.each([
    ['getsops-sops__functional-tests-res-format.enc.json', { foo: 'bar' }],
    ['getsops-sops__functional-tests-res-format.enc.yaml', { foo: 'bar' }],
    ['getsops-sops__functional-tests-res-format.enc.env', { 'foo ': ' bar' }],
    // ini.v1 always lists the DEFAULT section, empty or not, so sops prints it too (sops-format.md §6.4).
    ['getsops-sops__functional-tests-res-format.enc.ini', { DEFAULT: {}, foo: { bar: 'baz' } }],
  ])('opens the sops-written PGP vector %s', async (vector, expected) => {
    const result = await runCli(['decrypt', '--output-type', 'json', path.join(VECTORS_DIR, vector)], { env: { GNUPGHOME: gnupg.dir } });
    expect(result).toMatchObject({ exitCode: 0, stderr: '' });
    expect(JSON.parse(result.stdout)).toEqual(expected);
  });

  it('prints the PGP dotenv vector as dotenv, byte for byte', async () => {
    const vector = path.join(VECTORS_DIR, 'getsops-sops__functional-tests-res-format.enc.env');
    const result = await runCli(['decrypt', vector], { env: { GNUPGHOME: gnupg.dir } });
    expect(result).toEqual({ exitCode: 0, stdout: 'foo = bar\n', stderr: '' });
  });

  it('exits 1 without the keyring', async () => {
    const vector = path.join(VECTORS_DIR, 'getsops-sops__functional-tests-res-format.enc.json');
    const empty = await makeGnupgHome();
    const result = await runCli(['decrypt', vector], { env: { GNUPGHOME: empty.dir } }).finally(() => empty.cleanup());
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain(`${vector}: no master key could unwrap the data key`);
    expect(result.stderr).toContain('FBC7B9E2A4F9289AC0C1D4843D16CEE4A27381B4');
  });
});

describe('usage errors exit 2 and say what is wrong', () => {
  it.each([
    ['no command', [], /usage: sops-rekey <command>/],
    ['an unknown command', ['decrypt-all', 'x.yaml'], /unknown command "decrypt-all"/],
    ['decrypt without a file', ['decrypt'], /usage: sops-rekey decrypt FILE/],
    ['decrypt with two files', ['decrypt', 'a.yaml', 'b.yaml'], /exactly one file/],
    ['an unknown flag', ['decrypt', '--in-place', 'a.yaml'], /--in-place[\s\S]*usage: sops-rekey decrypt/],
    // Checked before the (missing) file is read: still a usage error.
    ['an unknown --output-type', ['decrypt', '--output-type', 'xml', 'a.yaml'], /--output-type must be one of yaml, json/],
    ['an unknown --input-type', ['decrypt', '--input-type', 'toml', 'a.yaml'], /--input-type must be one of yaml, json/],
  ])('%s', async (_, args, message) => {
    const result = await runCli(args, { env: ageEnv });
    expect(result.exitCode).toBe(2);
    expect(`${result.stdout}${result.stderr}`).toMatch(message);
  });
});
