/**
 * What `runRekeyJob` does to a repository, action by action (rekey, wait, rescue, blocked), as
 * an operator checks it: the bytes on disk, `git status`, the version that wraps each file now,
 * and whether the file still opens with the same values.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { GcpKmsKeySource } from '../../src/keys/gcp-kms.ts';
import { toReport } from '../../src/rekey/report.ts';
import { decryptFile } from '../../src/rekey/transform.ts';
import { HOUR, NO_WAIT_RETRY, PLAINTEXT, startKmsRepo, versionOf, type KmsRepo } from '../support/kms-repo.ts';

let repo: KmsRepo;

beforeEach(async () => {
  repo = await startKmsRepo();
});

afterEach(async () => {
  await repo.close();
});

/** Opens a file with Cloud KMS alone: proof that its gcp_kms entry holds the data key. */
async function opensThroughKms(relative: string): Promise<string> {
  const kmsOnly = { gcp_kms: new GcpKmsKeySource({ client: repo.client, retry: NO_WAIT_RETRY }) };
  return Buffer.from(await decryptFile(await repo.read(relative), relative, kmsOnly)).toString('utf8');
}

describe('rekey: stale files once the gate has opened', () => {
  it('re-encrypts to the new primary, verified; the rescan finds the file current', async () => {
    const key = await repo.createKey();
    const before = await repo.writeSops('apps/db.yaml', { gcp: [{ key }] });
    await repo.commitAll();
    await repo.rotate(key);
    repo.clock.advance(3 * HOUR + 1);

    const result = await repo.job('apply');
    expect(result.gates.get(key)).toMatchObject({ open: true, reason: 'propagated', primary: versionOf(key, 2) });
    expect(result.gates.get(key)?.probes.map((p) => p.reported)).toEqual(Array(5).fill(versionOf(key, 2)));
    expect(toReport(result).files[0]?.action).toEqual({ kind: 'rekey', method: 'rotate', urgent: false, to: [versionOf(key, 2)] });
    expect(result.applied).toEqual({
      applied: [{ path: 'apps/db.yaml', method: 'rotate', urgent: false, wrappedBy: [{ key, version: versionOf(key, 2) }] }],
      failed: [],
    });

    expect((await repo.read('apps/db.yaml')).equals(before)).toBe(false);
    expect(await repo.gitStatus()).toBe(' M apps/db.yaml');
    expect(await opensThroughKms('apps/db.yaml')).toBe(PLAINTEXT.yaml);
    expect(toReport(await repo.job('scan')).files[0]?.state).toBe('current');
  });
});

describe('wait: the gate is closed, nothing is written', () => {
  it('while the window since the primary change has not elapsed (no probe is sent)', async () => {
    const key = await repo.createKey();
    const before = await repo.writeSops('apps/db.yaml', { gcp: [{ key }] });
    await repo.commitAll();
    await repo.rotate(key);
    const rotatedAt = repo.clock.now();
    repo.clock.advance(HOUR);
    const encrypts = repo.emulator.callCounts().Encrypt ?? 0;

    const result = await repo.job('apply');
    const windowEndsAt = new Date(rotatedAt + 3 * HOUR).toISOString();
    expect(toReport(result).gates).toEqual([
      expect.objectContaining({ key, open: false, reason: 'window-not-elapsed', windowEndsAt, retryAfter: windowEndsAt, probes: [] }),
    ]);
    expect(toReport(result).files[0]?.action).toEqual({ kind: 'wait', retryAfter: windowEndsAt });
    expect(result.applied).toBeUndefined();
    expect(repo.emulator.callCounts().Encrypt ?? 0).toBe(encrypts);
    expect((await repo.read('apps/db.yaml')).equals(before)).toBe(true);
    expect(await repo.gitStatus()).toBe('');
  });

  it('while probes by key name still report v1 (the new primary lags)', async () => {
    const key = await repo.createKey();
    const before = await repo.writeSops('apps/db.yaml', { gcp: [{ key }] });
    await repo.commitAll();
    repo.emulator.setPropagationLag(24 * HOUR, 1);
    await repo.rotate(key);
    repo.clock.advance(3 * HOUR + 1);

    const result = await repo.job('apply');
    const gate = result.gates.get(key);
    expect(gate).toMatchObject({ open: false, reason: 'probe-reported-other-version' });
    expect(gate?.probes.map((p) => p.reported)).toEqual([versionOf(key, 1)]); // stops at the first wrong answer
    expect(gate?.explanation).toContain(versionOf(key, 1));
    expect(result.plan.files[0]?.action).toMatchObject({ kind: 'wait', retryAfterMs: repo.clock.now() + 15 * 60_000 });
    expect(result.applied).toBeUndefined();
    expect((await repo.read('apps/db.yaml')).equals(before)).toBe(true);
    expect(await repo.gitStatus()).toBe('');
  });
});

describe('rescue: the Cloud KMS version is going away but another master key opens the file', () => {
  it('re-encrypts through age at once, urgent with the deadline, even while the gate is closed', async () => {
    const key = await repo.createKey();
    await repo.writeSops('apps/legacy.yaml', { gcp: [{ key }], age: true });
    await repo.rotate(key);
    const waiting = await repo.writeSops('apps/db.yaml', { gcp: [{ key, version: versionOf(key, 2) }] });
    await repo.commitAll();
    // v3 just became primary: db.yaml (on v2) is stale and its gate closed; legacy.yaml is on v1,
    // which is scheduled for destruction.
    await repo.rotate(key);
    const deadline = await repo.scheduleDestroy(versionOf(key, 1));

    const result = await repo.job('apply');
    const report = toReport(result);
    // The stale file waits for the gate (window not elapsed); the rescue does not.
    expect(report.gates.map((g) => [g.key, g.open])).toEqual([[key, false]]);
    expect(report.files.find((f) => f.path === 'apps/db.yaml')?.action.kind).toBe('wait');
    expect(report.files.find((f) => f.path === 'apps/legacy.yaml')).toMatchObject({
      state: 'at-risk',
      action: { kind: 'rescue', method: 'rotate', urgent: true, to: [versionOf(key, 3)], deadline },
    });
    expect(result.applied?.applied).toEqual([
      { path: 'apps/legacy.yaml', method: 'rotate', urgent: true, wrappedBy: [{ key, version: versionOf(key, 3) }] },
    ]);

    expect(await repo.gitStatus()).toBe(' M apps/legacy.yaml');
    expect((await repo.read('apps/db.yaml')).equals(waiting)).toBe(true);
    expect(await opensThroughKms('apps/legacy.yaml')).toBe(PLAINTEXT.yaml);
    const after = toReport(await repo.job('scan'));
    expect(after.files.find((f) => f.path === 'apps/legacy.yaml')?.state).toBe('current');
  });

  it('rescues a lost file (version DESTROYED) through age', async () => {
    const key = await repo.createKey({ destroyScheduledDuration: { seconds: 24 * 3600 } });
    await repo.writeSops('apps/legacy.yaml', { gcp: [{ key }], age: true });
    await repo.rotate(key);
    await repo.scheduleDestroy(versionOf(key, 1));
    repo.clock.advance(25 * HOUR);

    const result = await repo.job('apply');
    expect(result.plan.files[0]).toMatchObject({ state: 'lost', action: { kind: 'rescue' } });
    expect(result.applied?.applied.map((a) => a.wrappedBy)).toEqual([[{ key, version: versionOf(key, 2) }]]);
    expect(await opensThroughKms('apps/legacy.yaml')).toBe(PLAINTEXT.yaml);
  });
});

describe('blocked: no other master key, nothing this app can do alone', () => {
  it('names the deadline and the exact restore-then-enable commands for DESTROY_SCHEDULED', async () => {
    const key = await repo.createKey();
    const before = await repo.writeSops('apps/db.yaml', { gcp: [{ key }] });
    await repo.commitAll();
    await repo.rotate(key);
    const deadline = await repo.scheduleDestroy(versionOf(key, 1));
    const ring = /keyRings\/([^/]+)\//.exec(key)?.[1];

    const result = await repo.job('apply');
    expect(toReport(result).files[0]?.action).toEqual({
      kind: 'blocked',
      reason: expect.stringContaining('restored and enabled'),
      deadline,
      commands: [
        `gcloud kms keys versions restore 1 --key sops --keyring ${ring} --location global --project rekey-tests`,
        `gcloud kms keys versions enable 1 --key sops --keyring ${ring} --location global --project rekey-tests`,
      ],
    });
    expect(result.applied).toBeUndefined();
    expect((await repo.read('apps/db.yaml')).equals(before)).toBe(true);
    expect(await repo.gitStatus()).toBe('');
  });

  it('asks only to enable a DISABLED version', async () => {
    const key = await repo.createKey();
    await repo.writeSops('apps/db.yaml', { gcp: [{ key }] });
    await repo.rotate(key);
    await repo.disable(versionOf(key, 1));
    const ring = /keyRings\/([^/]+)\//.exec(key)?.[1];

    const action = toReport(await repo.job('apply')).files[0]?.action;
    expect(action).toMatchObject({ kind: 'blocked', commands: [`gcloud kms keys versions enable 1 --key sops --keyring ${ring} --location global --project rekey-tests`] });
    expect(action?.deadline).toBeUndefined();
  });

  it('once the operator runs those commands, the file is only stale again', async () => {
    const key = await repo.createKey();
    await repo.writeSops('apps/db.yaml', { gcp: [{ key }] });
    await repo.rotate(key);
    await repo.scheduleDestroy(versionOf(key, 1));
    await repo.client.restoreCryptoKeyVersion({ name: versionOf(key, 1) });
    await repo.client.updateCryptoKeyVersion({ cryptoKeyVersion: { name: versionOf(key, 1), state: 'ENABLED' }, updateMask: { paths: ['state'] } });

    expect(toReport(await repo.job('scan')).files[0]).toMatchObject({ state: 'stale', action: { kind: 'wait' } });
  });
});

describe('dry run', () => {
  it('plans a rekey with the gate open but writes nothing', async () => {
    const key = await repo.createKey();
    const before = await repo.writeSops('apps/db.yaml', { gcp: [{ key }] });
    await repo.commitAll();
    await repo.rotate(key);
    repo.clock.advance(4 * HOUR);

    const result = await repo.job('dry-run');
    expect(result.plan.files[0]?.action.kind).toBe('rekey');
    expect(result.applied).toBeUndefined();
    expect((await repo.read('apps/db.yaml')).equals(before)).toBe(true);
    expect(await repo.gitStatus()).toBe('');
  });
});
