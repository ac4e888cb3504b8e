/**
 * The `sops-rekey` check run on the default branch's head, end to end through the real Probot
 * server, the GitHub stand-in and the Cloud KMS emulator: what a person sees on the commit.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CheckRunRecord, RepoRecord } from '../support/github/state.ts';
import { pushPayload, rotateKey, startRekeyWorld, type RekeyWorld } from './rekey-world.ts';

const INSTALLATION = 31;
const PLAIN = { 'apps/secrets.yaml': 'password: hunter2-check\n' };

let world: RekeyWorld;
let rotatedAt: number;

const repoOf = (name: string): RepoRecord => world.gh.state.findRepo('acme', name)!;

/** The app's check runs on the head of `main`. */
async function checkRuns(name: string): Promise<CheckRunRecord[]> {
  const repo = repoOf(name);
  const head = await repo.git.resolve('refs/heads/main');
  return [...repo.checkRuns.values()].filter((run) => run.headSha === head && run.name === 'sops-rekey');
}

const output = (run: CheckRunRecord | undefined) => run?.output as { title: string; summary: string } | undefined;

async function createRepo(name: string, files: Record<string, string | Buffer>): Promise<void> {
  world.gh.state.installations.get(INSTALLATION)?.repositories.push(`acme/${name}`);
  await world.gh.createRepo(`acme/${name}`, { files: { 'README.md': '# app\n', ...files } });
}

async function push(name: string): Promise<void> {
  await world.deliver('push', pushPayload('acme', name, INSTALLATION));
  expect(world.queue.failures).toEqual([]);
}

beforeAll(async () => {
  world = await startRekeyWorld();
  world.gh.addInstallation({ id: INSTALLATION, account: 'acme', repositories: [] });
  const stale = await world.encrypt(PLAIN);
  ({ at: rotatedAt } = await rotateKey(world));
  await createRepo('open-gate', { '.github/sops-rekey.yml': 'window: 5m\nprobes: 2\n', ...stale });
  await createRepo('closed-gate', { '.github/sops-rekey.yml': 'window: 3h\n', ...stale });
  await createRepo('bad-config', { '.github/sops-rekey.yml': 'probes: 0\nwindoww: 3h\n', ...stale });
  // Encrypted after the rotation: wrapped by the primary, v2.
  await createRepo('current', { '.github/sops-rekey.yml': 'window: 5m\n', ...(await world.encrypt(PLAIN, { version: 2 })) });
});

afterAll(async () => {
  await world?.close();
});

describe('the sops-rekey check run', () => {
  it('is neutral while the propagation gate is closed, and says when it opens', async () => {
    await push('closed-gate');
    const runs = await checkRuns('closed-gate');
    expect(runs).toHaveLength(1);
    expect(runs[0]!.status).toBe('completed');
    expect(runs[0]!.conclusion).toBe('neutral');
    const opens = new Date(rotatedAt + 3 * 3_600_000).toISOString();
    expect(output(runs[0])?.title).toBe(`1 stale SOPS file, waiting for the gate until ${opens}`);
    expect(output(runs[0])?.summary).toContain(`it opens at **${opens}** at the earliest`);
  });

  it('is neutral and names the pull request when stale files are being re-encrypted', async () => {
    await push('open-gate');
    const pull = [...repoOf('open-gate').issues.values()].find((i) => i.pull);
    expect(pull).toBeDefined();
    const runs = await checkRuns('open-gate');
    expect(runs.map((r) => r.conclusion)).toEqual(['neutral']);
    expect(output(runs[0])?.title).toBe(`1 stale SOPS file, re-encrypted by #${pull!.number}`);
    expect(output(runs[0])?.summary).toContain(`#${pull!.number} re-encrypts 1 file: review and merge it.`);
  });

  it('writes nothing when a rerun has the same verdict', async () => {
    const from = world.gh.requests.length;
    await push('open-gate');
    const writes = world.gh.requests.slice(from).filter((r) => r.method !== 'GET' && !r.path.endsWith('/access_tokens'));
    expect(writes).toEqual([]);
    expect(await checkRuns('open-gate')).toHaveLength(1);
  });

  it('succeeds when every file is on the primary version', async () => {
    await push('current');
    const runs = await checkRuns('current');
    expect(runs.map((r) => r.conclusion)).toEqual(['success']);
    expect(output(runs[0])?.title).toBe('1 SOPS file, all on their primary key versions');
  });

  it('fails for an invalid config, naming the file, each field and its problem', async () => {
    await push('bad-config');
    const runs = await checkRuns('bad-config');
    expect(runs.map((r) => r.conclusion)).toEqual(['failure']);
    expect(output(runs[0])?.title).toBe('Invalid configuration: 2 problems in acme/bad-config:.github/sops-rekey.yml');
    const summary = output(runs[0])?.summary ?? '';
    expect(summary).toContain('| `windoww` | unknown field (did you mean "window"?) |');
    expect(summary).toMatch(/\| `probes` \| must be at least 1/);
  });

  it('fails for a file whose version is scheduled for destruction, with the deadline', async () => {
    const ring = world.key.slice(0, world.key.indexOf('/cryptoKeys/'));
    const [legacy] = await world.kms.createCryptoKey({ parent: ring, cryptoKeyId: 'legacy-check', cryptoKey: { purpose: 'ENCRYPT_DECRYPT' } });
    const legacyKey = legacy.name ?? '';
    const files = await world.encrypt({ 'db/secrets.yaml': 'password: at-risk\n' }, { key: legacyKey });
    await world.kms.createCryptoKeyVersion({ parent: legacyKey, cryptoKeyVersion: {} });
    await world.kms.updateCryptoKeyPrimaryVersion({ name: legacyKey, cryptoKeyVersionId: '2' });
    const [destroyed] = await world.kms.destroyCryptoKeyVersion({ name: `${legacyKey}/cryptoKeyVersions/1` });
    const day = new Date(Number(destroyed.destroyTime?.seconds) * 1000).toISOString().slice(0, 10);
    await createRepo('at-risk', { '.github/sops-rekey.yml': 'window: 3h\n', ...files });

    await push('at-risk');
    const runs = await checkRuns('at-risk');
    expect(runs.map((r) => r.conclusion)).toEqual(['failure']);
    expect(output(runs[0])?.title).toMatch(new RegExp(`^1 SOPS file at risk, first deadline ${day}T`));
    expect(output(runs[0])?.summary).toMatch(new RegExp(`- \`db/secrets.yaml\` is at-risk: deadline \\*\\*${day}T`));
  });
});
