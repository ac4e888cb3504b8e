/**
 * A repository of SOPS files wrapped by Cloud KMS key versions, for the rekey tests: an emulator
 * on 127.0.0.1 with a manual clock, the app's own client for it, keys and versions made through
 * the real admin API, and files written by `encryptFile` pinned to the version a test names
 * (optionally in a git repository). Everything runs through the same code the CLI uses.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { KeyManagementServiceClient } from '@google-cloud/kms';
import { generateX25519Identity, identityToRecipient } from 'age-encryption';
import { execa } from 'execa';
import { ManualClock, startEmulator, type EmulatorOptions, type RunningEmulator } from '../../src/emulator/index.ts';
import { AgeKeySource } from '../../src/keys/age.ts';
import type { KeySources } from '../../src/keys/data-key.ts';
import { GcpKmsKeySource } from '../../src/keys/gcp-kms.ts';
import { createKmsClient } from '../../src/kms/client.ts';
import { KeyInventoryReader } from '../../src/kms/inventory.ts';
import { runRekeyJob, type RekeyJobOptions, type RekeyJobResult } from '../../src/rekey/job.ts';
import type { UnwrapCache } from '../../src/rekey/scan-repo.ts';
import { encryptFile } from '../../src/rekey/transform.ts';
import type { MasterKey } from '../../src/sops/master-key.ts';
import { metadataToRaw } from '../../src/sops/metadata.ts';
import { readSopsFile, storeFor } from '../../src/sops/sops-file.ts';

export const LOCATION = 'projects/rekey-tests/locations/global';
export const HOUR = 3_600_000;
export const DAY = 24 * HOUR;
/** Retries without waiting: a test of exhausted retries must not sleep through the backoff. */
export const NO_WAIT_RETRY = { maxAttempts: 4, sleep: async () => {} } as const;

/** Plaintext documents, one per store, with a value no message may ever show. */
export const CANARY = 'canary-5e0c1a77';
export const PLAINTEXT = {
  yaml: `database:\n    user: app\n    password: ${CANARY}\nreplicas: 3\n`,
  // Tab-indented: the layout sops prints a decrypted JSON document in.
  json: `{\n\t"token": "${CANARY}",\n\t"port": 8443\n}\n`,
  dotenv: `API_KEY=${CANARY}\nREGION=eu-west1\n`,
  ini: `[db]\npassword = ${CANARY}\nhost = db.internal\n`,
  binary: `raw secret ${CANARY}\n`,
} as const;
export type PlainFormat = keyof typeof PLAINTEXT;
const EXTENSION: Record<PlainFormat, string> = { yaml: '.yaml', json: '.json', dotenv: '.env', ini: '.ini', binary: '.txt' };

export interface WriteSopsOptions {
  /** Cloud KMS entries: the key and the version Encrypt must name (default the key's primary). */
  readonly gcp?: readonly { readonly key: string; readonly version?: string }[];
  /** Add an entry for the repository's age recipient. */
  readonly age?: boolean;
  /** Add a PGP entry for this fingerprint (its key must be in the sources' GNUPGHOME). */
  readonly pgp?: string;
  /** Entries added after encryption, as another tool wrote them (e.g. an AWS `kms` entry). */
  readonly foreign?: readonly MasterKey[];
  /** The document (default the sample of the store the extension selects). */
  readonly plaintext?: string;
}

export interface JobOverrides extends Partial<Omit<RekeyJobOptions, 'root' | 'mode'>> {}

export interface KmsRepo {
  readonly emulator: RunningEmulator;
  readonly client: KeyManagementServiceClient;
  readonly clock: ManualClock;
  /** The working tree the files are written to. */
  readonly dir: string;
  readonly age: { readonly identity: string; readonly recipient: string };
  /** age (the repository's identity) and Cloud KMS (retries without waiting); add pgp as needed. */
  sources: KeySources;
  /** A key with version 1 primary, in a fresh key ring; returns the CryptoKey name. */
  createKey(cryptoKey?: Record<string, unknown>): Promise<string>;
  /** Adds a version and makes it primary, as a rotation does; returns the new version's name. */
  rotate(key: string): Promise<string>;
  disable(version: string): Promise<void>;
  /** Schedules destruction; returns `destroy_time` as Cloud KMS reports it (ISO 8601). */
  scheduleDestroy(version: string): Promise<string>;
  /** Encrypts a document to `relative` with the given master keys; returns the bytes written. */
  writeSops(relative: string, options: WriteSopsOptions): Promise<Buffer>;
  write(relative: string, bytes: Uint8Array | string): Promise<void>;
  read(relative: string): Promise<Buffer>;
  /** `git init` and a first commit of everything (files are then found through `git ls-files`). */
  commitAll(message?: string): Promise<void>;
  /** `git status --porcelain`: empty when nothing in the tree changed. */
  gitStatus(): Promise<string>;
  /**
   * The repository job with this repository's keys, a fresh inventory reader (one per run, as the
   * CLI makes one), and a gate on the manual clock that never sleeps.
   */
  job(mode: RekeyJobOptions['mode'], overrides?: JobOverrides): Promise<RekeyJobResult>;
  close(): Promise<void>;
}

let rings = 0;

export const versionOf = (key: string, n: number): string => `${key}/cryptoKeyVersions/${n}`;

export async function startKmsRepo(options: { readonly emulator?: EmulatorOptions; readonly startMs?: number } = {}): Promise<KmsRepo> {
  const clock = new ManualClock(options.startMs ?? Date.UTC(2025, 5, 1));
  const emulator = await startEmulator({ clock, seed: 5, ...options.emulator });
  const client = createKmsClient({ kind: 'emulator', host: emulator.host });
  const dir = await mkdtemp(path.join(tmpdir(), 'sops-rekey-repo-'));
  const identity = await generateX25519Identity();
  const age = { identity, recipient: await identityToRecipient(identity) };
  const git = (args: readonly string[]) =>
    execa('git', ['-c', 'core.hooksPath=/dev/null', '-c', 'commit.gpgsign=false', '-c', 'init.defaultBranch=main', ...args], {
      cwd: dir,
      env: {
        GIT_AUTHOR_NAME: 'rekey tests',
        GIT_AUTHOR_EMAIL: 'tests@sops-rekey.invalid',
        GIT_COMMITTER_NAME: 'rekey tests',
        GIT_COMMITTER_EMAIL: 'tests@sops-rekey.invalid',
        GIT_CONFIG_NOSYSTEM: '1',
        GIT_CONFIG_GLOBAL: '/dev/null',
      },
    });

  const repo: KmsRepo = {
    emulator,
    client,
    clock,
    dir,
    age,
    sources: {
      age: new AgeKeySource([identity]),
      gcp_kms: new GcpKmsKeySource({ client, retry: NO_WAIT_RETRY }),
    },
    async createKey(cryptoKey = {}) {
      rings += 1;
      const [ring] = await client.createKeyRing({ parent: LOCATION, keyRingId: `ring-${rings}-${process.pid}`, keyRing: {} });
      const [key] = await client.createCryptoKey({ parent: ring.name ?? '', cryptoKeyId: 'sops', cryptoKey: { purpose: 'ENCRYPT_DECRYPT', ...cryptoKey } });
      return key.name ?? '';
    },
    async rotate(key) {
      const [version] = await client.createCryptoKeyVersion({ parent: key, cryptoKeyVersion: {} });
      const name = version.name ?? '';
      await client.updateCryptoKeyPrimaryVersion({ name: key, cryptoKeyVersionId: name.slice(name.lastIndexOf('/') + 1) });
      return name;
    },
    async disable(version) {
      await client.updateCryptoKeyVersion({ cryptoKeyVersion: { name: version, state: 'DISABLED' }, updateMask: { paths: ['state'] } });
    },
    async scheduleDestroy(version) {
      const [destroyed] = await client.destroyCryptoKeyVersion({ name: version });
      return new Date(Number(String(destroyed.destroyTime?.seconds ?? 0)) * 1000).toISOString();
    },
    async writeSops(relative, write) {
      const format = formatOf(relative);
      const group: MasterKey[] = [
        ...(write.gcp ?? []).map(({ key }): MasterKey => ({ type: 'gcp_kms', fields: { resource_id: key } })),
        ...(write.age ? [{ type: 'age', fields: { recipient: age.recipient } } as const] : []),
        ...(write.pgp ? [{ type: 'pgp', fields: { fp: write.pgp } } as const] : []),
      ];
      const versions = new Map((write.gcp ?? []).flatMap(({ key, version }) => (version ? [[key, version] as const] : [])));
      const encrypted = await encryptFile(Buffer.from(write.plaintext ?? PLAINTEXT[format]), relative, repo.sources, {
        keyGroups: [group],
        gcpVersionFor: (key) => versions.get(key),
        now: new Date(clock.now()),
      });
      let bytes: Buffer = Buffer.from(encrypted.bytes);
      if (write.foreign?.length) bytes = withForeignEntries(bytes, relative, write.foreign);
      await repo.write(relative, bytes);
      return bytes;
    },
    async write(relative, bytes) {
      const file = path.join(dir, relative);
      await mkdir(path.dirname(file), { recursive: true });
      await writeFile(file, bytes);
    },
    read: (relative) => readFile(path.join(dir, relative)),
    async commitAll(message = 'secrets') {
      await git(['init', '--quiet']);
      await git(['add', '--all']);
      await git(['commit', '--quiet', '--no-verify', '-m', message]);
    },
    async gitStatus() {
      return (await git(['status', '--porcelain'])).stdout;
    },
    job(mode, overrides = {}) {
      return runRekeyJob({
        root: dir,
        mode,
        sources: repo.sources,
        inventory: new KeyInventoryReader(client, { retry: NO_WAIT_RETRY }),
        kms: client,
        gate: { clock, sleep: async () => {}, probeIntervalMs: 0, ...overrides.gate },
        now: new Date(clock.now()),
        ...withoutGate(overrides),
      });
    },
    async close() {
      await client.close();
      await emulator.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
  return repo;
}

function withoutGate(overrides: JobOverrides): Omit<JobOverrides, 'gate'> {
  const { gate: _gate, ...rest } = overrides;
  return rest;
}

function formatOf(relative: string): PlainFormat {
  const match = (Object.entries(EXTENSION) as [PlainFormat, string][]).find(([, ext]) => relative.endsWith(ext));
  return match?.[0] ?? 'binary';
}

/** Adds entries to the first key group of an encrypted file, as a teammate's `sops` would have. */
function withForeignEntries(bytes: Buffer, name: string, entries: readonly MasterKey[]): Buffer {
  const file = readSopsFile(bytes, name);
  const [first = [], ...rest] = file.metadata.keyGroups;
  const metadata = { ...file.metadata, keyGroups: [[...first, ...entries], ...rest] };
  return Buffer.from(storeFor(file.format).emitEncrypted(file.loaded, metadataToRaw(metadata)));
}

/** A cache the caller keeps between scans, as the GitHub App keeps one per repository. */
export const newCache = (): UnwrapCache => new Map();

/** A fake AWS KMS entry: never unwrapped, only carried along. */
export const AWS_ENTRY: MasterKey = {
  type: 'kms',
  fields: {
    arn: 'arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab',
    created_at: '2025-01-01T00:00:00Z',
    enc: 'AQICAHhFAKEFAKEFAKEnotarealciphertextAAAA==',
    aws_profile: '',
  },
};

export interface CommandOutput {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs a CLI command in this process, as `sops-rekey` would, against the repository's emulator:
 * `KMS_EMULATOR_HOST` and `SOPS_AGE_KEY` set (and Google credentials unset) for the call only,
 * stdout and stderr captured. The environment and the streams are restored afterwards.
 */
export async function runCommand(
  repo: KmsRepo,
  command: (argv: string[]) => Promise<number>,
  argv: string[],
  env: Readonly<Record<string, string | undefined>> = {},
): Promise<CommandOutput> {
  const wanted: Record<string, string | undefined> = {
    KMS_EMULATOR_HOST: repo.emulator.host,
    SOPS_AGE_KEY: repo.age.identity,
    SOPS_AGE_KEY_FILE: undefined,
    GOOGLE_CREDENTIALS: undefined,
    GOOGLE_OAUTH_ACCESS_TOKEN: undefined,
    GOOGLE_APPLICATION_CREDENTIALS: undefined,
    ...env,
  };
  const saved = Object.fromEntries(Object.keys(wanted).map((name) => [name, process.env[name]]));
  const setEnv = (values: Record<string, string | undefined>) => {
    for (const [name, value] of Object.entries(values)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  };
  const out: string[] = [];
  const err: string[] = [];
  const stdoutWrite = process.stdout.write;
  const stderrWrite = process.stderr.write;
  const capture = (into: string[]) =>
    ((chunk: string | Uint8Array) => {
      into.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
      return true;
    }) as typeof process.stdout.write;
  setEnv(wanted);
  process.stdout.write = capture(out);
  process.stderr.write = capture(err);
  try {
    const exitCode = await command(argv);
    return { exitCode, stdout: out.join(''), stderr: err.join('') };
  } finally {
    process.stdout.write = stdoutWrite;
    process.stderr.write = stderrWrite;
    setEnv(saved);
  }
}
