/**
 * The states of design.md "States of a file", as a scan reports them: every file written by the
 * engine for a Cloud KMS version, every state reached through the real client against the
 * emulator by what an operator does (rotate, disable, schedule destruction, let time pass).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { toReport, type ReportFile } from '../../src/rekey/report.ts';
import { worstState } from '../../src/rekey/states.ts';
import { CANARY, DAY, HOUR, startKmsRepo, versionOf, type KmsRepo } from '../support/kms-repo.ts';

let repo: KmsRepo;

beforeEach(async () => {
  repo = await startKmsRepo();
});

afterEach(async () => {
  await repo.close();
});

async function scanned(path: string): Promise<ReportFile> {
  const report = toReport(await repo.job('scan'));
  const file = report.files.find((f) => f.path === path);
  if (!file) throw new Error(`${path} not in the scan: ${JSON.stringify(report.files.map((f) => f.path))}`);
  return file;
}

describe('entry states through Cloud KMS', () => {
  it('current: wrapped by the primary', async () => {
    const key = await repo.createKey();
    await repo.writeSops('app/secret.yaml', { gcp: [{ key }] });

    const file = await scanned('app/secret.yaml');
    expect(file.state).toBe('current');
    expect(file.entries).toEqual([{ key, group: 0, state: 'current', version: versionOf(key, 1) }]);
    expect(file.action).toEqual({ kind: 'none' });
  });

  it('stale: on v1 after v2 became primary, v1 named as the only candidate', async () => {
    const key = await repo.createKey();
    await repo.writeSops('app/secret.yaml', { gcp: [{ key }] });
    await repo.rotate(key);

    const file = await scanned('app/secret.yaml');
    expect(file.state).toBe('stale');
    expect(file.entries).toEqual([{ key, group: 0, state: 'stale', version: versionOf(key, 1), candidates: [versionOf(key, 1)] }]);
  });

  it('at-risk: v1 DISABLED, no deadline', async () => {
    const key = await repo.createKey();
    await repo.writeSops('app/secret.yaml', { gcp: [{ key }] });
    await repo.rotate(key);
    await repo.disable(versionOf(key, 1));

    const file = await scanned('app/secret.yaml');
    expect(file.state).toBe('at-risk');
    expect(file.entries).toEqual([{ key, group: 0, state: 'at-risk', version: versionOf(key, 1), versionState: 'DISABLED' }]);
  });

  it('at-risk: v1 DESTROY_SCHEDULED, the deadline is its destroy_time', async () => {
    const key = await repo.createKey();
    await repo.writeSops('app/secret.yaml', { gcp: [{ key }] });
    await repo.rotate(key);
    const destroyTime = await repo.scheduleDestroy(versionOf(key, 1));
    expect(Date.parse(destroyTime)).toBe(repo.clock.now() + 30 * DAY); // the key's default schedule

    const file = await scanned('app/secret.yaml');
    expect(file.state).toBe('at-risk');
    expect(file.entries).toEqual([
      { key, group: 0, state: 'at-risk', version: versionOf(key, 1), versionState: 'DESTROY_SCHEDULED', deadline: destroyTime },
    ]);
  });

  it('lost: once the clock passes destroy_time the version is DESTROYED', async () => {
    const key = await repo.createKey({ destroyScheduledDuration: { seconds: DAY / 1000 } });
    await repo.writeSops('app/secret.yaml', { gcp: [{ key }] });
    await repo.rotate(key);
    await repo.scheduleDestroy(versionOf(key, 1));
    repo.clock.advance(DAY - 1);
    expect((await scanned('app/secret.yaml')).state).toBe('at-risk');

    repo.clock.advance(2);
    const file = await scanned('app/secret.yaml');
    expect(file.state).toBe('lost');
    expect(file.entries).toEqual([{ key, group: 0, state: 'lost', version: versionOf(key, 1), versionState: 'DESTROYED' }]);
  });

  it('unreachable: a key that does not exist (NOT_FOUND), reported without stopping the scan', async () => {
    const key = await repo.createKey();
    const missing = key.replace(/cryptoKeys\/sops$/, 'cryptoKeys/deleted-long-ago');
    const bytes = await repo.writeSops('app/secret.yaml', { gcp: [{ key }] });
    // The entry names a key nobody can find: only the metadata changes, which the MAC does not cover.
    await repo.write('app/secret.yaml', bytes.toString('utf8').replaceAll(key, missing));
    await repo.writeSops('app/other.yaml', { gcp: [{ key }] });

    const report = toReport(await repo.job('scan'));
    const file = report.files.find((f) => f.path === 'app/secret.yaml');
    expect(file?.state).toBe('unreachable');
    expect(file?.entries[0]).toMatchObject({ key: missing, state: 'unreachable' });
    expect(file?.entries[0]?.reason).toMatch(/not found/i);
    expect(report.inventoryFailures.map((f) => f.key)).toEqual([missing]);
    expect(report.files.find((f) => f.path === 'app/other.yaml')?.state).toBe('current');
  });

  it('unreachable: the identity lacks useToDecrypt on a key (PERMISSION_DENIED): asked once, named, not cached', async () => {
    const key = await repo.createKey();
    const other = await repo.createKey();
    await repo.writeSops('app/secret.yaml', { gcp: [{ key }] });
    await repo.writeSops('app/other.yaml', { gcp: [{ key: other }] });
    repo.emulator.setDenials([{ resource: key, permissions: ['cloudkms.cryptoKeyVersions.useToDecrypt'] }]);
    const before = repo.emulator.callCounts().Decrypt ?? 0;
    const cache = new Map();

    try {
      const report = toReport(await repo.job('scan', { cache }));
      const file = report.files.find((f) => f.path === 'app/secret.yaml');
      expect(file?.state).toBe('unreachable');
      // The reason tells the operator which permission to grant on which key.
      expect(file?.entries[0]?.reason).toContain(`Permission 'cloudkms.cryptoKeyVersions.useToDecrypt' denied on resource '${key}'`);
      expect(report.files.find((f) => f.path === 'app/other.yaml')?.state).toBe('current');
      // A permission problem is not retried (one Decrypt for the denied file, one for the other)
      // and not cached: once granted, the next scan sees the file as it is.
      expect((repo.emulator.callCounts().Decrypt ?? 0) - before).toBe(2);
      expect([...cache.keys()].some((k) => String(k).includes(`@${key}@`))).toBe(false);
      expect(cache.size).toBe(1);
    } finally {
      repo.emulator.setDenials([]);
    }
    expect((await scanned('app/secret.yaml')).state).toBe('current');
  });

  it('unreachable: transient errors on every call, retries exhausted (4 Decrypts), not cached', async () => {
    const key = await repo.createKey();
    await repo.writeSops('app/secret.yaml', { gcp: [{ key }] });
    repo.emulator.setFaults({ errorRate: 1, errorCodes: ['UNAVAILABLE'] });
    const before = repo.emulator.callCounts().Decrypt ?? 0;
    const cache = new Map();

    const result = await repo.job('scan', { cache });
    const file = toReport(result).files[0];
    expect(file?.state).toBe('unreachable');
    expect(file?.entries[0]?.reason).toMatch(/UNAVAILABLE/);
    expect(file?.action).toMatchObject({ kind: 'blocked', commands: [] });
    expect((repo.emulator.callCounts().Decrypt ?? 0) - before).toBe(4);
    expect(cache.size).toBe(0);

    // The outage ends: the next scan asks again and sees the file as it is.
    repo.emulator.setFaults({});
    expect((await scanned('app/secret.yaml')).state).toBe('current');
  });

  it('a file is as bad as its worst entry', async () => {
    const fresh = await repo.createKey();
    const old = await repo.createKey();
    await repo.writeSops('two-keys.yaml', { gcp: [{ key: fresh }, { key: old }] });
    await repo.rotate(old);
    repo.clock.advance(HOUR);
    await repo.disable(versionOf(old, 1));

    const file = await scanned('two-keys.yaml');
    expect(file.entries.map((e) => [e.key, e.state])).toEqual([
      [fresh, 'current'],
      [old, 'at-risk'],
    ]);
    expect(file.state).toBe('at-risk');
  });

  it('scan output never holds a plaintext value', async () => {
    const key = await repo.createKey();
    await repo.writeSops('app/secret.yaml', { gcp: [{ key }] });
    await repo.rotate(key);
    expect(JSON.stringify(toReport(await repo.job('scan')))).not.toContain(CANARY);
  });
});

describe('worstState', () => {
  it('orders lost, at-risk, unreachable, stale, current', () => {
    expect(worstState([])).toBe('current');
    expect(worstState(['current', 'stale'])).toBe('stale');
    expect(worstState(['stale', 'unreachable'])).toBe('unreachable');
    expect(worstState(['unreachable', 'at-risk', 'stale'])).toBe('at-risk');
    expect(worstState(['at-risk', 'lost', 'current'])).toBe('lost');
  });
});
