/**
 * Running `sops-rekey` as users do: `bin/sops-rekey.js` in a child process, with an environment
 * built from nothing (no inherited `SOPS_AGE_KEY`, `GNUPGHOME` or home directory), plus a
 * throwaway workspace holding the files and the age identity file the command is pointed at.
 */
import { chmod, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { generateX25519Identity, identityToRecipient } from 'age-encryption';
import { execa } from 'execa';
import { AgeKeySource } from '../../src/keys/age.ts';
import { encryptFile } from '../../src/rekey/transform.ts';

const REPO = path.resolve(import.meta.dirname, '../..');
/** The installed entry point (package.json `bin`, running the compiled dist/), not a test double. */
const CLI_BIN = path.join(REPO, 'bin/sops-rekey.js');
/**
 * Node's arguments for the command: type stripping off, as it is for an installed package (Node
 * strips no types under node_modules), so a TypeScript file reached at run time fails the test.
 */
export const CLI_NODE_ARGS = ['--no-experimental-strip-types', CLI_BIN] as const;

export interface CliResult {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface RunCliOptions {
  /** Variables on top of `PATH`, `LC_ALL` and `HOME` (a home with no sops config unless given). */
  readonly env?: Readonly<Record<string, string>>;
  readonly cwd?: string;
}

/**
 * Runs `sops-rekey ARGS...` with the Node that runs the tests (the repository's Node 24), from the
 * compiled package `npm test` builds first. Never rejects: the exit code is in the result.
 */
export async function runCli(args: readonly string[], options: RunCliOptions = {}): Promise<CliResult> {
  const result = await execa(process.execPath, [...CLI_NODE_ARGS, ...args], {
    // Built from nothing so the developer's own keys and keyring can never open a test file.
    extendEnv: false,
    env: { PATH: process.env.PATH ?? '', LC_ALL: 'C', HOME: path.join(tmpdir(), 'sops-rekey-no-home'), ...options.env },
    ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
    reject: false,
    stripFinalNewline: false,
    timeout: 60_000,
  });
  if (result.exitCode === undefined) throw new Error(`sops-rekey ${args.join(' ')} did not exit: ${result.message}`);
  return { exitCode: result.exitCode, stdout: result.stdout, stderr: result.stderr };
}

/** A temporary directory for one test file: files to rotate, identity files, an empty home. */
export interface CliWorkspace {
  readonly dir: string;
  /** An empty home directory, so sops's default age key file is never found by accident. */
  readonly home: string;
  /** Writes `bytes` to `name` inside the workspace (with `mode`, default 0600); returns the path. */
  write(name: string, bytes: Uint8Array | string, mode?: number): Promise<string>;
  /** Writes an age identity file as age-keygen does; returns its path (for `SOPS_AGE_KEY_FILE`). */
  writeIdentityFile(name: string, ...identities: string[]): Promise<string>;
  read(file: string): Promise<Buffer>;
  /** The permission bits of a file. */
  mode(file: string): Promise<number>;
  cleanup(): Promise<void>;
}

export async function makeCliWorkspace(): Promise<CliWorkspace> {
  const dir = await mkdtemp(path.join(tmpdir(), 'sops-rekey-cli-'));
  const home = path.join(dir, 'home');
  await mkdir(home);
  const write = async (name: string, bytes: Uint8Array | string, mode = 0o600): Promise<string> => {
    const file = path.join(dir, name);
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, bytes, { mode });
    await chmod(file, mode); // writeFile's mode is filtered by the umask
    return file;
  };
  return {
    dir,
    home,
    write,
    writeIdentityFile: (name, ...identities) => write(name, `# created: 2025-01-01T00:00:00Z\n${identities.join('\n')}\n`),
    read: (file) => readFile(file),
    mode: async (file) => (await stat(file)).mode & 0o777,
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}

// ---- Samples: the plaintext fixtures, encrypted by the engine for a fresh age identity. ----

/** In every plaintext sample; must never appear in an error message or on stderr. */
export const CANARY = 'canary-7d1f9c2e4b8a';

export type SampleFormat = 'yaml' | 'json' | 'dotenv' | 'ini' | 'binary';

const SAMPLE_FILES: Record<SampleFormat, string> = {
  yaml: 'sample.yaml',
  json: 'sample.json',
  dotenv: 'sample.env',
  ini: 'sample.ini',
  binary: 'sample.txt',
};

/** The plaintext fixture for a store, and the file name that selects that store. */
export async function plainSample(format: SampleFormat): Promise<{ readonly name: string; readonly bytes: Buffer }> {
  const name = SAMPLE_FILES[format];
  return { name, bytes: await readFile(path.join(REPO, 'fixtures/plain', name)) };
}

export interface AgeKeyPair {
  readonly identity: string;
  readonly recipient: string;
}

export async function newAgeKeyPair(): Promise<AgeKeyPair> {
  const identity = await generateX25519Identity();
  return { identity, recipient: await identityToRecipient(identity) };
}

/** A sample encrypted by `encryptFile` for one age recipient, at a fixed `lastmodified`. */
export async function encryptedSample(format: SampleFormat, key: AgeKeyPair, now = SAMPLE_TIME): Promise<{ readonly name: string; readonly bytes: Uint8Array }> {
  const { name, bytes } = await plainSample(format);
  const encrypted = await encryptFile(bytes, name, { age: new AgeKeySource([]) }, {
    keyGroups: [[{ type: 'age', fields: { recipient: key.recipient } }]],
    now,
  });
  return { name, bytes: encrypted.bytes };
}

/** `lastmodified` of every encrypted sample: tests edit this exact text. */
export const SAMPLE_TIME = new Date('2025-03-04T05:06:07Z');
