/**
 * How files get re-encrypted: rotate (new data key) by default, rewrap (same data key, only the
 * Cloud KMS entries wrapped again) when the file holds a key this app cannot wrap or the config
 * asks for it; files with gcp, age and PGP entries stay openable through each of them.
 */
import { lstat, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AgeKeySource } from '../../src/keys/age.ts';
import type { KeySources } from '../../src/keys/data-key.ts';
import { GcpKmsKeySource } from '../../src/keys/gcp-kms.ts';
import { PgpKeySource } from '../../src/keys/pgp.ts';
import { actionable, applyPlan } from '../../src/rekey/apply.ts';
import { decryptFile } from '../../src/rekey/transform.ts';
import { makeGnupgHome, type TempGnupgHome } from '../support/gnupg.ts';
import { AWS_ENTRY, CANARY, HOUR, NO_WAIT_RETRY, PLAINTEXT, startKmsRepo, versionOf, type KmsRepo } from '../support/kms-repo.ts';
import { VECTORS_DIR } from '../support/vectors.ts';

/** The sops functional-test key: unprotected, so gpg opens it in batch mode. */
const PGP_KEY_FILE = path.join(VECTORS_DIR, 'keys', 'pgp__getsops-sops__sops_functional_tests_key.asc');
const PGP_FP = 'FBC7B9E2A4F9289AC0C1D4843D16CEE4A27381B4';

let repo: KmsRepo;
let gnupg: TempGnupgHome;

beforeAll(async () => {
  gnupg = await makeGnupgHome(PGP_KEY_FILE);
});

afterAll(async () => {
  await gnupg?.cleanup();
});

beforeEach(async () => {
  repo = await startKmsRepo();
  repo.sources = { ...repo.sources, pgp: new PgpKeySource({ gnupgHome: gnupg.dir }) };
});

afterEach(async () => {
  await repo.close();
});

const text = (bytes: Uint8Array): string => Buffer.from(bytes).toString('utf8');
/** Every `ENC[...]` of a file, the MAC included: unchanged means same data key, same values. */
const encValues = (bytes: Uint8Array): string[] => text(bytes).match(/ENC\[AES256_GCM,[^\]]*\]/g) ?? [];
/** The YAML `kms:` block of the sops metadata, exactly as written. */
const awsBlock = (bytes: Uint8Array): string | undefined => /^ {4}kms:\n(?: {8}.*\n)+/m.exec(text(bytes))?.[0];
const gcpEnc = (bytes: Uint8Array): string | undefined => /^ {4}gcp_kms:\n(?: {8}.*\n)*? {10}enc: (\S+)\n/m.exec(text(bytes))?.[1];

async function opensWith(relative: string, sources: KeySources): Promise<string> {
  return text(await decryptFile(await repo.read(relative), relative, sources));
}

/** A file on v1 of a new key, v2 primary since long enough for the gate to open. */
async function staleFile(relative: string, extra: { age?: boolean; pgp?: string; foreign?: typeof AWS_ENTRY[] } = {}) {
  const key = await repo.createKey();
  const before = await repo.writeSops(relative, { gcp: [{ key }], ...extra });
  await repo.rotate(key);
  repo.clock.advance(3 * HOUR + 1);
  return { key, before };
}

describe('rewrap', () => {
  it('a file with an AWS kms entry beside gcp is re-wrapped: its kms entry kept byte for byte', async () => {
    const { key, before } = await staleFile('infra/aws.yaml', { foreign: [AWS_ENTRY] });
    expect(awsBlock(before)).toContain(AWS_ENTRY.fields.enc as string);

    const result = await repo.job('apply');
    expect(result.plan.files[0]?.file.foreignKeyTypes).toEqual(['kms']);
    expect(result.applied?.applied).toEqual([
      { path: 'infra/aws.yaml', method: 'rewrap', urgent: false, wrappedBy: [{ key, version: versionOf(key, 2) }] },
    ]);

    const after = await repo.read('infra/aws.yaml');
    expect(awsBlock(after)).toBe(awsBlock(before));
    expect(encValues(after)).toEqual(encValues(before));
    expect(gcpEnc(after)).not.toBe(gcpEnc(before));
    expect(await opensWith('infra/aws.yaml', { gcp_kms: new GcpKmsKeySource({ client: repo.client, retry: NO_WAIT_RETRY }) })).toBe(PLAINTEXT.yaml);
  });

  it('config rewrap: true re-wraps the same data key instead of rotating it', async () => {
    const { key, before } = await staleFile('apps/db.yaml', { age: true });

    const result = await repo.job('apply', { config: { rewrap: true } });
    expect(result.applied?.applied).toEqual([{ path: 'apps/db.yaml', method: 'rewrap', urgent: false, wrappedBy: [{ key, version: versionOf(key, 2) }] }]);
    const after = await repo.read('apps/db.yaml');
    expect(encValues(after)).toEqual(encValues(before));
    expect(text(after)).toContain(/lastmodified: .*/.exec(text(before))?.[0]);
    expect(gcpEnc(after)).not.toBe(gcpEnc(before));
  });

  it('without either, a stale file is rotated: a new data key, every value encrypted again', async () => {
    const { before } = await staleFile('apps/db.yaml');
    const result = await repo.job('apply');
    expect(result.applied?.applied.map((a) => a.method)).toEqual(['rotate']);
    const after = await repo.read('apps/db.yaml');
    const [oldValues, newValues] = [encValues(before), encValues(after)];
    expect(newValues).toHaveLength(oldValues.length);
    expect(newValues.filter((value) => oldValues.includes(value))).toEqual([]);
  });
});

describe('mixed master keys (gcp_kms + age + pgp)', () => {
  it('rotates all of them; afterwards each one alone opens the file with the same values', async () => {
    const { key } = await staleFile('apps/mixed.json', { age: true, pgp: PGP_FP });

    const result = await repo.job('apply');
    expect(result.applied?.applied).toEqual([{ path: 'apps/mixed.json', method: 'rotate', urgent: false, wrappedBy: [{ key, version: versionOf(key, 2) }] }]);

    expect(await opensWith('apps/mixed.json', { age: new AgeKeySource([repo.age.identity]) })).toBe(PLAINTEXT.json);
    expect(await opensWith('apps/mixed.json', { pgp: new PgpKeySource({ gnupgHome: gnupg.dir }) })).toBe(PLAINTEXT.json);
    expect(await opensWith('apps/mixed.json', { gcp_kms: new GcpKmsKeySource({ client: repo.client, retry: NO_WAIT_RETRY }) })).toBe(PLAINTEXT.json);
  });

  it('rescues through PGP when it is the only other key', async () => {
    const key = await repo.createKey();
    await repo.writeSops('apps/pgp.env', { gcp: [{ key }], pgp: PGP_FP });
    await repo.rotate(key);
    await repo.disable(versionOf(key, 1));
    repo.sources = { gcp_kms: repo.sources.gcp_kms!, pgp: new PgpKeySource({ gnupgHome: gnupg.dir }) };

    const result = await repo.job('apply');
    expect(result.plan.files[0]).toMatchObject({ state: 'at-risk', action: { kind: 'rescue' } });
    expect(result.applied?.applied.map((a) => [a.path, a.urgent])).toEqual([['apps/pgp.env', true]]);
    expect(await opensWith('apps/pgp.env', { gcp_kms: new GcpKmsKeySource({ client: repo.client, retry: NO_WAIT_RETRY }) })).toBe(PLAINTEXT.dotenv);
  });

  it('every store is re-encrypted and still opens', async () => {
    const key = await repo.createKey();
    const files = ['s/a.yaml', 's/b.json', 's/c.env', 's/d.ini', 's/e.txt'] as const;
    for (const file of files) await repo.writeSops(file, { gcp: [{ key }], age: true });
    const ageOnly = { age: new AgeKeySource([repo.age.identity]) };
    const plain = await Promise.all(files.map((file) => opensWith(file, ageOnly)));
    expect(plain.every((p) => p.includes(CANARY))).toBe(true);
    await repo.rotate(key);
    repo.clock.advance(3 * HOUR + 1);

    const result = await repo.job('apply');
    expect(result.plan.files.map((f) => [f.file.path, f.file.format])).toEqual([
      ['s/a.yaml', 'yaml'],
      ['s/b.json', 'json'],
      ['s/c.env', 'dotenv'],
      ['s/d.ini', 'ini'],
      ['s/e.txt', 'binary'],
    ]);
    expect(result.applied?.applied.map((a) => a.path)).toEqual([...files]);
    const kmsOnly = { gcp_kms: new GcpKmsKeySource({ client: repo.client, retry: NO_WAIT_RETRY }) };
    for (const [i, file] of files.entries()) expect(await opensWith(file, kmsOnly)).toBe(plain[i]);
  });
});

describe('a tree that changed between the scan and the write', () => {
  it('leaves a planned file that became a link out of the tree, or moved behind a linked directory, untouched and reports it', async () => {
    await staleFile('apps/linked.yaml');
    await staleFile('moved/inner/secret.yaml');
    await staleFile('apps/kept.yaml');
    const result = await repo.job('dry-run');
    expect(actionable(result.plan).map((f) => f.file.path)).toEqual(['apps/kept.yaml', 'apps/linked.yaml', 'moved/inner/secret.yaml']);

    // Outside the tree: a SOPS file the app could open, which must not be copied into the tree.
    const outside = await mkdtemp(path.join(tmpdir(), 'sops-rekey-outside-'));
    try {
      await writeFile(path.join(outside, 'other.yaml'), await repo.read('apps/linked.yaml'));
      await mkdir(path.join(outside, 'inner'));
      await writeFile(path.join(outside, 'inner', 'secret.yaml'), await repo.read('moved/inner/secret.yaml'));
      await rm(path.join(repo.dir, 'apps/linked.yaml'));
      await symlink(path.join(outside, 'other.yaml'), path.join(repo.dir, 'apps/linked.yaml'));
      await rm(path.join(repo.dir, 'moved'), { recursive: true });
      await symlink(outside, path.join(repo.dir, 'moved'));
      const outsideBefore = await readFile(path.join(outside, 'other.yaml'));

      const applied = await applyPlan(result.plan, { root: repo.dir, sources: repo.sources, now: new Date(repo.clock.now()) });
      expect(applied.applied.map((a) => a.path)).toEqual(['apps/kept.yaml']);
      expect(applied.failed).toEqual([
        { path: 'apps/linked.yaml', code: 'changed-since-scan', reason: 'changed since the scan: it is now a symbolic link' },
        { path: 'moved/inner/secret.yaml', code: 'changed-since-scan', reason: expect.stringMatching(/no longer inside the tree/) },
      ]);
      expect((await lstat(path.join(repo.dir, 'apps/linked.yaml'))).isSymbolicLink()).toBe(true);
      expect(await readFile(path.join(outside, 'other.yaml'))).toEqual(outsideBefore);
    } finally {
      await rm(outside, { recursive: true, force: true });
    }
  });
});
