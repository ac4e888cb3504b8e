/**
 * The scan reads, parses and classifies files in one overlapping pass; what callers see of it must
 * not change: results in path order, progress that reaches its total only when every file is done.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { toReport } from '../../src/rekey/report.ts';
import { newCache, startKmsRepo, type KmsRepo } from '../support/kms-repo.ts';

let repo: KmsRepo;

beforeEach(async () => {
  repo = await startKmsRepo();
});

afterEach(async () => {
  await repo.close();
});

describe('a scan of many files', () => {
  it('lists files in path order, asks Cloud KMS once per file, and reports progress up to the total once all are classified', async () => {
    const keys = [await repo.createKey(), await repo.createKey()];
    const paths: string[] = [];
    for (let i = 0; i < 40; i++) {
      const relative = `apps/team-${i % 3}/secret-${String(i).padStart(2, '0')}.yaml`;
      paths.push(relative);
      await repo.writeSops(relative, { gcp: [{ key: keys[i % 2]! }] });
    }
    await repo.write('apps/broken.yaml', 'a: [oops\nsops:\n    lastmodified: "x"\n    mac: y\n');
    await repo.write('apps/plain.yaml', 'not: secret\n');
    const decryptsBefore = repo.emulator.callCounts().Decrypt ?? 0;

    const cache = newCache();
    const cold: [number, number][] = [];
    const result = await repo.job('scan', { cache, onProgress: (done, total) => cold.push([done, total]) });

    expect(result.scan.files.map((f) => f.path)).toEqual([...paths].sort());
    expect(result.scan.problems.map((p) => p.path)).toEqual(['apps/broken.yaml']);
    expect([...result.scan.inventory.keys()].sort()).toEqual([...keys].sort());
    expect(toReport(result).files.every((f) => f.state === 'current')).toBe(true);
    expect(result.scan.decryptCalls).toBe(40);
    expect((repo.emulator.callCounts().Decrypt ?? 0) - decryptsBefore).toBe(40);

    // A warm rescan classifies from the cache as fast as files are read: progress must still name
    // the final total in every call, and reach it only at the end.
    const warm: [number, number][] = [];
    const rescan = await repo.job('scan', { cache, onProgress: (done, total) => warm.push([done, total]) });
    expect(rescan.scan.decryptCalls).toBe(0);
    for (const calls of [cold, warm]) {
      expect(calls.length).toBeGreaterThan(0);
      expect(calls.every(([, total]) => total === 40)).toBe(true);
      expect(calls.at(-1)).toEqual([40, 40]);
      expect(calls.slice(0, -1).every(([done]) => done < 40)).toBe(true);
    }
  });
});
