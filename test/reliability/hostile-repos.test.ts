/**
 * `sops-rekey scan` and `apply` (child processes, bounded in time) on a repository built to hurt
 * them, both as a git checkout that was tampered with after the commit and as a plain directory:
 * each hostile entry is skipped or reported with its reason, the ordinary stale files are still
 * re-encrypted, nothing outside the tree is read or written, and no plaintext is echoed back.
 */
import { execFile } from 'node:child_process';
import { constants } from 'node:fs';
import { lstat, mkdtemp, open, readFile, readlink, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { readTextCandidate } from '../../src/rekey/find-sops-files.ts';
import { HOUR, startKmsRepo, type KmsRepo } from '../support/kms-repo.ts';
import { buildHostileTree, type HostileTree } from './hostile-tree.ts';
import { checkAll, gitObjectsContaining, markTmp, newCanary, sopsRekey, tmpFilesContaining, writeSecretFiles } from './support.ts';

const QUICK = ['--probes', '1', '--probe-interval', '0'];

let repo: KmsRepo | undefined;
let tree: HostileTree | undefined;
afterEach(async () => {
  await tree?.cleanup();
  await repo?.close();
  tree = undefined;
  repo = undefined;
});

interface ScanJson {
  files: { path: string; state: string }[];
  problems: { path: string; code: string; reason: string }[];
  skipped: { path: string; reason: string; size?: number }[];
  applied?: { applied: { path: string }[]; failed: unknown[] };
}

describe.each([
  ['a tampered git checkout', true],
  ['a plain directory', false],
])('a hostile repository: %s', (_name, git) => {
  it('skips or reports every hostile entry with its reason and re-encrypts the rest', async () => {
    const secretCanary = newCanary(); // inside the encrypted files: must be nowhere in clear
    const hostileCanary = newCanary(); // in clear inside the hostile documents: never echoed back
    const started = await startKmsRepo({ startMs: Date.now() - 4 * HOUR });
    repo = started;
    const key = await started.createKey();
    const files = await writeSecretFiles(started, key, 5, secretCanary);
    const [yaml, json] = files as [(typeof files)[0], (typeof files)[0]];
    // A real SOPS file of the same key, which the tree will link to from outside.
    const outsideSecret = await started.writeSops('outside.yaml', { gcp: [{ key }], plaintext: `outside: ${secretCanary}\n` });
    await rm(path.join(started.dir, 'outside.yaml'));
    tree = await buildHostileTree(started, { yaml: yaml.before.toString('utf8'), json: json.before.toString('utf8'), outsideSecret, canary: hostileCanary }, async () => {
      if (git) await started.commitAll();
    });
    const { paths } = tree;
    await started.rotate(key);
    const statusBefore = git ? (await started.gitStatus()).split('\n').filter(Boolean) : [];
    const mark = await markTmp();

    const scanStarted = Date.now();
    const scan = await sopsRekey(started, ['scan', started.dir, '--json']);
    const scanMs = Date.now() - scanStarted;
    expect(scan.timedOut).toBe(false);
    expect(scan.stderr).toBe('');
    expect(scan.exitCode).toBe(0);
    const report = JSON.parse(String(scan.stdout)) as ScanJson;

    // The ordinary files are all found, and nothing else is taken for a SOPS file.
    expect(report.files.map((f) => [f.path, f.state])).toEqual(files.map((f) => [f.path, 'stale']).sort());
    expect(report.problems.map(({ path, code }) => ({ path, code }))).toEqual([
      { path: paths.aliasBomb, code: 'yaml-alias-bomb' },
      { path: paths.deepJson, code: 'json-too-deep' },
      { path: paths.deepYaml, code: 'malformed' },
    ]);
    const reasons = Object.fromEntries(report.problems.map((p) => [p.path, p.reason]));
    expect(reasons[paths.aliasBomb]).toBe('YAML aliases expand to too many nodes (possible alias bomb)');
    expect(reasons[paths.deepJson]).toMatch(/nested deeper than 1000 levels$/);
    expect(reasons[paths.deepYaml]).toMatch(/^YAML does not parse/);
    expect(report.skipped).toEqual(
      [
        { path: paths.huge, reason: 'too-large', size: (await lstat(path.join(started.dir, paths.huge))).size },
        // A checkout lists the file under the linked folder; a walk meets the link itself.
        { path: git ? paths.linkedDir : path.dirname(paths.linkedDir), reason: 'symlink-outside-tree' },
        { path: paths.linkAbsolute, reason: 'symlink-outside-tree' },
        { path: paths.linkRelative, reason: 'symlink-outside-tree' },
        // A walk enters a folder, whatever its name; a checkout expected a file there.
        ...(git ? [{ path: paths.dirLikeFile, reason: 'not-a-file' }] : []),
        { path: paths.fifo, reason: 'not-a-file' },
      ].sort((a, b) => (a.path < b.path ? -1 : 1)),
    );

    const apply = await sopsRekey(started, ['apply', started.dir, ...QUICK]);
    expect(apply.timedOut).toBe(false);
    expect(apply.stderr).toBe('');
    expect(apply.exitCode).toBe(0);
    const text = String(apply.stdout);
    // The text report names the problems and the skips a user must look at.
    for (const problem of report.problems) expect(text).toContain(`! ${problem.path}: ${problem.reason}\n`);
    expect(text).toContain(`skipped ${paths.huge}: too-large\n`);
    expect(text).toContain(`skipped ${paths.linkAbsolute}: symlink-outside-tree\n`);
    expect(await checkAll(started, files)).toEqual(Object.fromEntries(files.map((f) => [f.path, { kind: 'new', onPrimary: true }])));

    // Nothing outside the tree was written, and the links are still the same links.
    expect((await readFile(tree.outsideSecret)).equals(outsideSecret)).toBe(true);
    expect(await readlink(path.join(started.dir, paths.linkAbsolute))).toBe(tree.outsideSecret);
    expect(path.resolve(started.dir, 'links', await readlink(path.join(started.dir, paths.linkRelative)))).toBe(tree.outsideSecret);
    expect((await lstat(path.join(started.dir, paths.fifo))).isFIFO()).toBe(true);
    if (git) {
      // Git sees the tampering done before the run, and the run's re-encrypted files: nothing else.
      const statusAfter = (await started.gitStatus()).split('\n').filter(Boolean);
      expect(statusAfter.sort()).toEqual([...statusBefore, ...files.map((f) => ` M ${f.path}`)].sort());
    }

    // Leaks: neither canary in any output, no file the runs wrote under the temp dir holds one.
    const outputs = [scan.stdout, scan.stderr, apply.stdout, apply.stderr].map(String);
    expect(outputs.filter((o) => o.includes(secretCanary) || o.includes(hostileCanary))).toEqual([]);
    const tmp = await tmpFilesContaining(mark, secretCanary, hostileCanary);
    expect(tmp.hits).toEqual([]);
    // The hostile documents were committed in clear by this test; the secrets never were.
    if (git) expect((await gitObjectsContaining(started.dir, secretCanary, files.map((f) => f.path))).hit).toBe(false);
    console.info(`[reliability] hostile repository (${git ? 'git checkout' : 'plain directory'}): ${report.problems.length} reported, ${report.skipped.length} skipped, ${files.length} files re-encrypted; scan took ${scanMs} ms; leak search: ${tmp.searched} temp files, 0 hits`);
  });
});

describe('a file that becomes a FIFO after it was listed', () => {
  it('is skipped as not-a-file by the second, defensive read, not waited on', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'sops-rekey-fifo-'));
    const fifo = path.join(dir, 'secret.enc.yaml');
    await promisify(execFile)('mkfifo', [fifo]);
    try {
      // open(2) of a FIFO for reading waits for a writer: were it to wait, the test plays the
      // writer after a while so the read ends (and the worker can exit), and reports the wait.
      let waited = false;
      const timer = setTimeout(() => {
        waited = true;
        void open(fifo, constants.O_WRONLY | constants.O_NONBLOCK).then((handle) => handle.close());
      }, 2_000);
      const read = await readTextCandidate(fifo, 1024 * 1024);
      clearTimeout(timer);
      expect(waited, 'the read waited for a writer').toBe(false);
      expect(read).toEqual({ kind: 'skip', reason: 'not-a-file' });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
