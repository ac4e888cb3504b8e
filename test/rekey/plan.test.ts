/**
 * What the plan says about each key version, the answer an operator wants before disabling or
 * destroying it: in use, safe to disable, safe to destroy. Read from the emulator through the real
 * client, before and after the files are re-encrypted; plus the plan's edge cases on plain data.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { KeyInventory } from '../../src/kms/inventory.ts';
import { buildPlan, type ScannedFile } from '../../src/rekey/plan.ts';
import { toReport, type Report } from '../../src/rekey/report.ts';
import { HOUR, startKmsRepo, versionOf, type KmsRepo } from '../support/kms-repo.ts';

let repo: KmsRepo;

beforeEach(async () => {
  repo = await startKmsRepo();
});

afterEach(async () => {
  await repo.close();
});

const verdicts = (report: Report) => report.versions.map((v) => [v.version.replace(/^.*\/cryptoKeyVersions\//, 'v'), v.verdict, v.dependents]);

describe('version verdicts', () => {
  it('v1 is in use before apply, safe to disable after apply and a rescan', async () => {
    const key = await repo.createKey();
    await repo.writeSops('apps/a.yaml', { gcp: [{ key }] });
    await repo.writeSops('apps/b.env', { gcp: [{ key }] });
    await repo.rotate(key);
    repo.clock.advance(3 * HOUR + 1);

    const before = toReport(await repo.job('scan'));
    expect(verdicts(before)).toEqual([
      ['v1', 'in-use', ['apps/a.yaml', 'apps/b.env']],
      ['v2', 'primary', []],
    ]);
    expect(before.versions[0]?.summary).toBe('2 files still depend on it');

    const applied = await repo.job('apply');
    expect(applied.applied?.applied).toHaveLength(2);
    const after = toReport(await repo.job('scan'));
    expect(verdicts(after)).toEqual([
      ['v1', 'safe-to-disable', []],
      ['v2', 'primary', ['apps/a.yaml', 'apps/b.env']],
    ]);
    expect(after.versions[0]?.summary).toBe('no file depends on it: safe to disable');
    expect(after.versions[1]?.summary).toBe('primary; 2 files on it');
  });

  it('a DISABLED version no file depends on is safe to destroy; one with a file is in use', async () => {
    const key = await repo.createKey();
    await repo.rotate(key); // v2: the file is written for it
    await repo.writeSops('apps/a.yaml', { gcp: [{ key }] });
    await repo.rotate(key); // v3 primary
    await repo.disable(versionOf(key, 1));
    await repo.disable(versionOf(key, 2));

    const report = toReport(await repo.job('scan'));
    expect(verdicts(report)).toEqual([
      ['v1', 'safe-to-destroy', []],
      ['v2', 'in-use', ['apps/a.yaml']],
      ['v3', 'primary', []],
    ]);
    expect(report.versions[0]?.summary).toBe('no file depends on it: safe to destroy');
  });

  it('scheduled and destroyed versions say so, with the destroy time', async () => {
    const key = await repo.createKey({ destroyScheduledDuration: { seconds: 24 * 3600 } });
    await repo.rotate(key);
    await repo.rotate(key);
    await repo.writeSops('apps/a.yaml', { gcp: [{ key }] });
    const destroyTime = await repo.scheduleDestroy(versionOf(key, 1));
    repo.clock.advance(HOUR);
    await repo.scheduleDestroy(versionOf(key, 2));
    repo.clock.advance(23 * HOUR + 1); // v1 is now DESTROYED, v2 still scheduled

    const report = toReport(await repo.job('scan'));
    expect(report.versions.map((v) => [v.state, v.verdict])).toEqual([
      ['DESTROYED', 'destroyed'],
      ['DESTROY_SCHEDULED', 'scheduled-for-destruction'],
      ['ENABLED', 'primary'],
    ]);
    expect(report.versions[0]?.destroyTime).toBe(destroyTime);
    expect(report.versions[0]?.summary).toBe('destroyed; no file depends on it');
    expect(report.versions[1]?.destroyTime).toBe(new Date(Date.parse(destroyTime) + HOUR).toISOString());
  });

  it('when Cloud KMS cannot say which of two older versions a file is on, both may be in use', async () => {
    const key = await repo.createKey();
    await repo.writeSops('apps/a.yaml', { gcp: [{ key }] });
    await repo.rotate(key);
    await repo.rotate(key);

    const report = toReport(await repo.job('scan'));
    expect(report.files[0]?.entries[0]?.candidates).toEqual([versionOf(key, 1), versionOf(key, 2)]);
    expect(report.versions.map((v) => [v.verdict, v.dependents, v.possibleDependents])).toEqual([
      ['in-use', [], ['apps/a.yaml']],
      ['in-use', [], ['apps/a.yaml']],
      ['primary', [], []],
    ]);
    expect(report.versions[0]?.summary).toBe('1 file may still depend on it (1 file on an older version Cloud KMS does not name)');
  });
});

describe('buildPlan edge cases', () => {
  const KEY = 'projects/p/locations/global/keyRings/r/cryptoKeys/k';
  const inventory = (versions: KeyInventory['versions']): Map<string, KeyInventory> => new Map([[KEY, { key: KEY, versions }]]);
  const file = (overrides: Partial<ScannedFile>): ScannedFile => ({
    path: 'a.yaml',
    format: 'yaml',
    entries: [],
    foreignKeyTypes: [],
    openable: true,
    kustomizations: [],
    ...overrides,
  });

  it('an openable at-risk file is blocked when the key has no enabled primary to re-encrypt to', () => {
    const plan = buildPlan({
      files: [file({ entries: [{ key: KEY, group: 0, state: { kind: 'at-risk', version: `${KEY}/cryptoKeyVersions/1`, versionState: 'DISABLED', deadline: undefined } }] })],
      inventory: inventory([{ name: `${KEY}/cryptoKeyVersions/1`, id: '1', state: 'DISABLED', isPrimary: true }]),
      gates: new Map(),
      config: { rewrap: false },
    });
    expect(plan.files[0]?.action).toMatchObject({ kind: 'blocked', reason: `no enabled primary version to re-encrypt to for ${KEY}` });
  });

  it('a stale file with no gate decision waits, with no retry time', () => {
    const plan = buildPlan({
      files: [file({ entries: [{ key: KEY, group: 0, state: { kind: 'stale', candidates: [`${KEY}/cryptoKeyVersions/1`] } }] })],
      inventory: inventory([
        { name: `${KEY}/cryptoKeyVersions/1`, id: '1', state: 'ENABLED', isPrimary: false },
        { name: `${KEY}/cryptoKeyVersions/2`, id: '2', state: 'ENABLED', isPrimary: true },
      ]),
      gates: new Map(),
      config: { rewrap: false },
    });
    expect(plan.files[0]?.action).toEqual({ kind: 'wait', keys: [KEY], retryAfterMs: undefined });
  });

  it('a file with no Cloud KMS entry needs nothing', () => {
    const plan = buildPlan({ files: [file({})], inventory: new Map(), gates: new Map(), config: { rewrap: true } });
    expect(plan.files[0]).toMatchObject({ state: 'current', action: { kind: 'none' } });
  });
});
