/**
 * A scan over a whole repository: bad files are reported and the rest is still scanned and
 * re-encrypted; huge files are skipped, not read; a warm rescan with the same cache asks Cloud
 * KMS nothing, and any change of a key's versions makes it ask again.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { toReport } from '../../src/rekey/report.ts';
import { CANARY, HOUR, newCache, startKmsRepo, versionOf, type KmsRepo } from '../support/kms-repo.ts';

let repo: KmsRepo;

beforeEach(async () => {
  repo = await startKmsRepo();
});

afterEach(async () => {
  await repo.close();
});

/** The same file with its MAC replaced by the MAC of another file (well-formed, wrong). */
function withForeignMac(bytes: Buffer, other: Buffer): string {
  const mac = (b: Buffer) => /^ {4}mac: (ENC\[.*\])$/m.exec(b.toString('utf8'))?.[1] ?? '';
  return bytes.toString('utf8').replace(mac(bytes), mac(other));
}

describe('malformed and oversized files', () => {
  it('broken YAML with sops markers is a problem; the other files are still scanned', async () => {
    const key = await repo.createKey();
    await repo.writeSops('apps/good.yaml', { gcp: [{ key }] });
    const good = await repo.read('apps/good.yaml');
    // A merge gone wrong: an unclosed flow sequence above intact sops metadata.
    await repo.write('apps/broken.yaml', `broken: [unclosed\n${good.toString('utf8')}`);
    const json = await repo.writeSops('apps/cut.json', { gcp: [{ key }] });
    await repo.write('apps/cut.json', json.subarray(0, json.length - 4));

    const report = toReport(await repo.job('scan'));
    expect(report.files.map((f) => [f.path, f.state])).toEqual([['apps/good.yaml', 'current']]);
    expect(report.problems.map((p) => p.path)).toEqual(['apps/broken.yaml', 'apps/cut.json']);
    for (const problem of report.problems) {
      expect(problem.reason).not.toBe('');
      expect(problem.reason).not.toContain(CANARY);
    }
  });

  it('a file whose MAC does not verify is refused by apply and left untouched; the others are re-encrypted', async () => {
    const key = await repo.createKey();
    const tampered = await repo.writeSops('apps/tampered.yaml', { gcp: [{ key }] });
    const donor = await repo.writeSops('apps/donor.yaml', { gcp: [{ key }] });
    const bad = withForeignMac(tampered, donor);
    await repo.write('apps/tampered.yaml', bad);
    await repo.writeSops('apps/fine.yaml', { gcp: [{ key }] });
    await repo.commitAll();
    await repo.rotate(key);
    repo.clock.advance(3 * HOUR + 1);

    const result = await repo.job('apply');
    expect(result.applied?.applied.map((a) => a.path)).toEqual(['apps/donor.yaml', 'apps/fine.yaml']);
    expect(result.applied?.failed).toEqual([{ path: 'apps/tampered.yaml', code: 'mac-auth-failed', reason: expect.stringMatching(/MAC/i) }]);
    expect(result.applied?.failed[0]?.reason).not.toContain(CANARY);
    expect((await repo.read('apps/tampered.yaml')).toString('utf8')).toBe(bad);
    expect((await repo.gitStatus()).split('\n').sort()).toEqual([' M apps/donor.yaml', ' M apps/fine.yaml']);
  });

  it('files over 5 MiB are skipped as too large, with their size, and never read', async () => {
    const key = await repo.createKey();
    await repo.writeSops('apps/small.yaml', { gcp: [{ key }] });
    const size = 5 * 1024 * 1024 + 1;
    const header = 'sops:\n    lastmodified: "2025-01-01T00:00:00Z"\n    mac: ENC[x]\n';
    await repo.write('blobs/huge.yaml', header + '#'.repeat(size - header.length));

    const report = toReport(await repo.job('scan'));
    expect(report.skipped).toEqual([{ path: 'blobs/huge.yaml', reason: 'too-large', size }]);
    expect(report.files.map((f) => f.path)).toEqual(['apps/small.yaml']);
    expect(report.problems).toEqual([]);
  });
});

describe('the unwrap cache', () => {
  it('a warm rescan makes no Decrypt call', async () => {
    const key = await repo.createKey();
    for (const name of ['a', 'b', 'c']) await repo.writeSops(`apps/${name}.yaml`, { gcp: [{ key }] });
    await repo.rotate(key);
    const cache = newCache();

    const decrypts = () => repo.emulator.callCounts().Decrypt ?? 0;
    const cold = decrypts();
    const first = await repo.job('scan', { cache });
    expect(first.scan.decryptCalls).toBe(3);
    expect(decrypts() - cold).toBe(3);

    const warm = decrypts();
    const second = await repo.job('scan', { cache });
    expect(second.scan.decryptCalls).toBe(0);
    expect(decrypts()).toBe(warm);
    expect(toReport(second).files).toEqual(toReport(first).files);
  });

  it('a change of a version state invalidates the cached answers for that key', async () => {
    const key = await repo.createKey();
    const other = await repo.createKey();
    await repo.writeSops('apps/a.yaml', { gcp: [{ key }] });
    await repo.writeSops('apps/b.yaml', { gcp: [{ key: other }] });
    await repo.rotate(key);
    const cache = newCache();
    await repo.job('scan', { cache });

    await repo.disable(versionOf(key, 1));
    const decrypts = repo.emulator.callCounts().Decrypt ?? 0;
    const after = await repo.job('scan', { cache });
    // Only the entry of the changed key is asked again; the other key's answer still holds.
    expect(after.scan.decryptCalls).toBe(1);
    expect((repo.emulator.callCounts().Decrypt ?? 0) - decrypts).toBe(1);
    expect(toReport(after).files.map((f) => [f.path, f.state])).toEqual([
      ['apps/a.yaml', 'at-risk'],
      ['apps/b.yaml', 'current'],
    ]);
  });

  it('a new primary invalidates them too: a current file becomes stale', async () => {
    const key = await repo.createKey();
    await repo.writeSops('apps/a.yaml', { gcp: [{ key }] });
    const cache = newCache();
    expect(toReport(await repo.job('scan', { cache })).files[0]?.state).toBe('current');

    await repo.rotate(key);
    const after = await repo.job('scan', { cache });
    expect(after.scan.decryptCalls).toBe(1);
    expect(toReport(after).files[0]?.state).toBe('stale');
  });
});
