/**
 * A damaged, tampered or foreign file must be refused with a typed error that names the file and
 * the reason, by `decryptFile` and `rotateFile` alike, and `sops-rekey rotate` must leave it
 * byte for byte as it was (exit 1, file and reason on stderr). No error may carry plaintext: every
 * sample holds a canary value that must never show up in a message or on stderr.
 */
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataKeyUnavailableError, SopsFormatError, SopsIntegrityError, SopsRekeyError } from '../../src/errors.ts';
import { AgeKeySource } from '../../src/keys/age.ts';
import { decryptFile, rotateFile } from '../../src/rekey/transform.ts';
import {
  CANARY,
  SAMPLE_TIME,
  encryptedSample,
  makeCliWorkspace,
  newAgeKeyPair,
  plainSample,
  runCli,
  type AgeKeyPair,
  type CliWorkspace,
  type SampleFormat,
} from '../support/cli.ts';

type ErrorClass = abstract new (...args: never[]) => SopsRekeyError;

interface Damage {
  readonly what: string;
  readonly formats: readonly SampleFormat[];
  /** The bad file, made from the sample encrypted for the test's key. */
  make(format: SampleFormat, encrypted: string): Promise<string> | string;
  readonly error: ErrorClass;
  readonly code: string | ((format: SampleFormat) => string);
  /** The reason as a user reads it, on stderr and in the message. */
  readonly reason: RegExp;
}

const TEXT_FORMATS = ['yaml', 'json', 'dotenv', 'ini'] as const;

// ---- Editing encrypted text -------------------------------------------------------------------

/** The span of the first `ENC[...]` after the first match of `marker`. */
function encAfter(text: string, marker: RegExp): { start: number; end: number } {
  const found = marker.exec(text);
  if (!found) throw new Error(`test setup: ${marker} not in the file`);
  const start = text.indexOf('ENC[', found.index);
  const end = text.indexOf(']', start) + 1;
  if (start < 0 || end <= start) throw new Error(`test setup: no ENC[...] after ${marker}`);
  return { start, end };
}

function replaceEnc(text: string, marker: RegExp, edit: (enc: string) => string): string {
  const { start, end } = encAfter(text, marker);
  return text.slice(0, start) + edit(text.slice(start, end)) + text.slice(end);
}

/** Flips the lowest bit of the first byte of the ciphertext (`data:`), keeping valid base64. */
function flipDataBit(enc: string): string {
  return enc.replace(/data:([^,]+),/, (_, data: string) => {
    const bytes = Buffer.from(data, 'base64');
    bytes[0] = (bytes[0] ?? 0) ^ 1;
    return `data:${bytes.toString('base64')},`;
  });
}

/** The secret value: `password` in YAML/JSON/INI, `DB_PASSWORD` in dotenv. */
const SECRET = /password/i;
/** The MAC: `mac:` (YAML), `"mac":` (JSON), `sops_mac=` (dotenv), `mac   =` (INI). */
const MAC = /(?:^|[\s"_])mac"?\s*[:=]/m;

/** The file without its `sops` metadata, in each store's own terms. */
function withoutMetadata(format: SampleFormat, text: string): string {
  switch (format) {
    case 'yaml':
      return text.slice(0, text.indexOf('\nsops:') + 1);
    case 'json': {
      const { sops: _, ...data } = JSON.parse(text) as Record<string, unknown>;
      return `${JSON.stringify(data, null, 4)}\n`;
    }
    case 'dotenv':
      return text
        .split('\n')
        .filter((line) => !line.startsWith('sops_'))
        .join('\n');
    case 'ini':
      return text.slice(0, text.indexOf('[sops]'));
    case 'binary':
      throw new Error('not used');
  }
}

/** A billion laughs: 10 levels of 10 aliases each, about 10^10 nodes once expanded. */
function aliasBomb(sopsBlock: string): string {
  const lines = [`l0: &l0 [${Array(10).fill(`"${CANARY}"`).join(', ')}]`];
  for (let level = 1; level <= 10; level++) lines.push(`l${level}: &l${level} [${Array(10).fill(`*l${level - 1}`).join(', ')}]`);
  return `${lines.join('\n')}\n${sopsBlock}`;
}

// ---- The cases ----------------------------------------------------------------------------------

let key: AgeKeyPair;
let stranger: AgeKeyPair;

const DAMAGES: readonly Damage[] = [
  {
    what: 'a flipped bit in one value',
    formats: TEXT_FORMATS,
    make: (_, text) => replaceEnc(text, SECRET, flipDataBit),
    error: SopsIntegrityError,
    code: 'value-auth-failed',
    reason: /password:? failed authentication/i,
  },
  {
    what: 'a flipped bit in the MAC',
    formats: TEXT_FORMATS,
    make: (_, text) => replaceEnc(text, MAC, flipDataBit),
    error: SopsIntegrityError,
    code: 'mac-auth-failed',
    reason: /MAC failed authentication/,
  },
  {
    what: 'a changed lastmodified',
    formats: TEXT_FORMATS,
    make: (_, text) => {
      const stamp = SAMPLE_TIME.toISOString().replace('.000', '');
      if (!text.includes(stamp)) throw new Error('test setup: lastmodified not found');
      return text.replaceAll(stamp, stamp.replace(/07Z$/, '08Z'));
    },
    error: SopsIntegrityError,
    code: 'mac-auth-failed',
    reason: /MAC failed authentication/,
  },
  {
    what: 'a file encrypted for another age identity',
    formats: TEXT_FORMATS,
    make: async (format) => Buffer.from((await encryptedSample(format, stranger)).bytes).toString('utf8'),
    error: DataKeyUnavailableError,
    code: 'data-key-unavailable',
    reason: /no master key could unwrap the data key/,
  },
  {
    what: 'a truncated ENC[...]',
    formats: TEXT_FORMATS,
    make: (_, text) => replaceEnc(text, SECRET, (enc) => enc.slice(0, Math.floor(enc.length / 2))),
    error: SopsFormatError,
    code: 'malformed-enc',
    reason: /password:? is malformed/i,
  },
  {
    what: 'type:int on a string value',
    formats: TEXT_FORMATS,
    make: (_, text) => replaceEnc(text, SECRET, (enc) => enc.replace(/type:str\]$/, 'type:int]')),
    error: SopsIntegrityError,
    code: 'bad-plaintext',
    reason: /password:? does not hold a valid integer/i,
  },
  {
    what: 'a missing sops block',
    formats: TEXT_FORMATS,
    make: withoutMetadata,
    error: SopsFormatError,
    code: 'metadata-not-found',
    reason: /metadata not found/,
  },
  {
    what: 'a file that is not a SOPS file (its plaintext)',
    formats: [...TEXT_FORMATS, 'binary'],
    make: async (format) => (await plainSample(format)).bytes.toString('utf8'),
    error: SopsFormatError,
    code: (format) => (format === 'binary' ? 'malformed-json' : 'metadata-not-found'),
    reason: /metadata not found|malformed JSON/,
  },
  {
    what: 'malformed syntax (with the canary on the broken line)',
    formats: TEXT_FORMATS,
    make: (format, text) => {
      switch (format) {
        case 'yaml':
          return `broken: [${CANARY}\n${text}`;
        case 'json':
          return `{"broken": ${CANARY}, ${text.slice(text.indexOf('{') + 1)}`;
        case 'dotenv':
          return `${CANARY}\n${text}`;
        default:
          return `[${CANARY}\n${text}`;
      }
    },
    error: SopsFormatError,
    code: (format) => ({ yaml: 'yaml-syntax', json: 'malformed-json', dotenv: 'dotenv-missing-equals', ini: 'ini-unclosed-section', binary: '' })[format],
    reason: /invalid YAML|malformed JSON|has no "="|has no "]"/,
  },
  {
    what: 'a YAML alias bomb',
    formats: ['yaml'],
    make: (_, text) => aliasBomb(text.slice(text.indexOf('\nsops:') + 1)),
    error: SopsFormatError,
    code: 'yaml-alias-bomb',
    reason: /alias bomb/,
  },
];

const CASES = DAMAGES.flatMap((damage) => damage.formats.map((format) => ({ damage, format })));

// ---- The checks ---------------------------------------------------------------------------------

let workspace: CliWorkspace;
let keyFile: string;
const encrypted = new Map<SampleFormat, string>();

beforeAll(async () => {
  [key, stranger] = await Promise.all([newAgeKeyPair(), newAgeKeyPair()]);
  for (const format of TEXT_FORMATS) {
    encrypted.set(format, Buffer.from((await encryptedSample(format, key)).bytes).toString('utf8'));
  }
  workspace = await makeCliWorkspace();
  keyFile = await workspace.writeIdentityFile('keys.txt', key.identity);
});

afterAll(async () => {
  await workspace.cleanup();
});

/** Writes the damaged file under its own folder, named so the extension picks the store. */
async function damagedFile(damage: Damage, format: SampleFormat, index: number): Promise<{ file: string; bytes: Buffer }> {
  const { name } = await plainSample(format);
  const text = await damage.make(format, encrypted.get(format) ?? '');
  const file = await workspace.write(path.join(`case-${index}`, name), text);
  return { file, bytes: Buffer.from(text, 'utf8') };
}

async function refusal(run: () => Promise<unknown>): Promise<SopsRekeyError> {
  const error = await run().then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  if (!(error instanceof SopsRekeyError)) throw new Error(`expected a typed error, got ${String(error)}`);
  return error;
}

describe.concurrent.each(CASES.map((c, index) => ({ ...c, index, title: `${c.damage.what} (${c.format})` })))(
  '$title',
  ({ damage, format, index }) => {
    it('is refused by decryptFile and rotateFile with a typed error naming the file', async () => {
      const { file, bytes } = await damagedFile(damage, format, index);
      const sources = { age: new AgeKeySource([key.identity]) };
      const code = typeof damage.code === 'string' ? damage.code : damage.code(format);
      for (const run of [() => decryptFile(bytes, file, sources), () => rotateFile(bytes, file, sources)]) {
        const error = await refusal(run);
        expect(error).toBeInstanceOf(damage.error);
        expect(error.code).toBe(code);
        expect(error.file).toBe(file);
        expect(error.describe()).toMatch(damage.reason);
        expect(error.describe().startsWith(`${file}: `)).toBe(true);
        expect(`${error.describe()}\n${String(error.cause ?? '')}`).not.toContain(CANARY);
      }
    });

    it('makes `rotate` exit 1, name the file and the reason, and leave the file untouched', async () => {
      const { file, bytes } = await damagedFile(damage, format, index + CASES.length);
      const result = await runCli(['rotate', file], { env: { SOPS_AGE_KEY_FILE: keyFile, HOME: workspace.home } });
      expect(result.exitCode).toBe(1);
      const line = result.stderr.split('\n').find((l) => l.includes(`${file}: `)) ?? '';
      expect(line).toMatch(damage.reason);
      expect(result.stderr).not.toContain(CANARY);
      expect(result.stdout).toBe('');
      expect(await workspace.read(file)).toEqual(bytes);
      // No temporary file left beside it either.
      expect(await readdir(path.dirname(file))).toEqual([path.basename(file)]);
    });
  },
);
