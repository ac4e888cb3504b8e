import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { discoverFiles, DiscoveryError, isSafeRelativePath } from '../../src/rekey/discover.ts';
import { findSopsFiles } from '../../src/rekey/find-sops-files.ts';
import { VECTORS_DIR as VECTORS } from '../support/vectors.ts';

const SIX_MIB = 6 * 1024 * 1024;

let base: string;
let root: string;
let outside: string;

beforeEach(() => {
  base = mkdtempSync(path.join(tmpdir(), 'discover-'));
  root = path.join(base, 'repo');
  outside = path.join(base, 'outside');
  mkdirSync(root);
  mkdirSync(outside);
  writeFileSync(path.join(outside, 'secret.yaml'), 'not: yours\n');
});

afterEach(() => {
  rmSync(base, { recursive: true, force: true });
});

function write(rel: string, content: string | Uint8Array): void {
  const full = path.join(root, rel);
  mkdirSync(path.dirname(full), { recursive: true });
  writeFileSync(full, content);
}

function git(...args: string[]): void {
  const env = { ...process.env };
  delete env.GIT_DIR;
  delete env.GIT_INDEX_FILE;
  delete env.GIT_WORK_TREE;
  execFileSync('git', args, { cwd: root, env, stdio: 'pipe' });
}

/** A tree with one of each kind of entry discovery must tell apart. */
function buildTree(): void {
  write('apps/secret.enc.yaml', 'a: 1\n');
  write('apps/plain.txt', 'hello\n');
  write('dir with space/ünïcode.json', '{}\n');
  write('big.bin', new Uint8Array(SIX_MIB));
  symlinkSync(path.join(outside, 'secret.yaml'), path.join(root, 'escape.yaml'));
  symlinkSync(outside, path.join(root, 'escape-dir'));
  symlinkSync('apps/secret.enc.yaml', path.join(root, 'alias.yaml'));
}

describe('discoverFiles in a git checkout', () => {
  it('lists tracked files only, and says why the others were skipped', async () => {
    buildTree();
    git('init', '-q');
    git('add', '--', 'apps', 'dir with space', 'big.bin', 'escape.yaml', 'escape-dir', 'alias.yaml');
    write('untracked.yaml', 'x: 1\n');
    write('apps/also-untracked.yaml', 'x: 1\n');

    const result = await discoverFiles(root);

    expect(result.source).toBe('git');
    expect(result.files.map((f) => f.path)).toEqual([
      'apps/plain.txt',
      'apps/secret.enc.yaml',
      'dir with space/ünïcode.json',
    ]);
    expect(result.files[0]?.size).toBe(6);
    expect(result.skipped).toEqual([
      { path: 'alias.yaml', reason: 'symlink', target: 'apps/secret.enc.yaml' },
      { path: 'big.bin', reason: 'too-large', size: SIX_MIB },
      { path: 'escape-dir', reason: 'symlink-outside-tree' },
      { path: 'escape.yaml', reason: 'symlink-outside-tree' },
    ]);
  });

  it('a tracked file deleted from the work tree is reported missing', async () => {
    write('gone.yaml', 'x: 1\n');
    git('init', '-q');
    git('add', 'gone.yaml');
    unlinkSync(path.join(root, 'gone.yaml'));
    const result = await discoverFiles(root);
    expect(result.skipped).toEqual([{ path: 'gone.yaml', reason: 'missing' }]);
  });

  it('a tracked directory replaced by a link out of the tree does not leak files', async () => {
    write('conf/app.yaml', 'x: 1\n');
    git('init', '-q');
    git('add', 'conf/app.yaml');
    rmSync(path.join(root, 'conf'), { recursive: true });
    copyFileSync(path.join(outside, 'secret.yaml'), path.join(outside, 'app.yaml'));
    symlinkSync(outside, path.join(root, 'conf'));
    const result = await discoverFiles(root);
    expect(result.files).toEqual([]);
    expect(result.skipped).toEqual([{ path: 'conf/app.yaml', reason: 'symlink-outside-tree' }]);
  });

  it('the size limit is an option', async () => {
    write('a.yaml', 'x'.repeat(100));
    git('init', '-q');
    git('add', 'a.yaml');
    const result = await discoverFiles(root, { maxFileSize: 99 });
    expect(result.skipped).toEqual([{ path: 'a.yaml', reason: 'too-large', size: 100 }]);
  });

  it('source git refuses a directory that is no checkout', async () => {
    await expect(discoverFiles(root, { source: 'git' })).rejects.toBeInstanceOf(DiscoveryError);
  });
});

describe('discoverFiles outside git', () => {
  it('walks the tree, skipping .git and node_modules and never following links out', async () => {
    buildTree();
    write('node_modules/pkg/secret.yaml', 'x: 1\n');
    write('.git/config', '[core]\n');
    write('nested/node_modules/x.yaml', 'x: 1\n');

    const result = await discoverFiles(root, { source: 'walk' });

    expect(result.source).toBe('walk');
    expect(result.files.map((f) => f.path)).toEqual([
      'apps/plain.txt',
      'apps/secret.enc.yaml',
      'dir with space/ünïcode.json',
    ]);
    expect(result.skipped.map((s) => [s.path, s.reason])).toEqual([
      ['alias.yaml', 'symlink'],
      ['big.bin', 'too-large'],
      ['escape-dir', 'symlink-outside-tree'],
      ['escape.yaml', 'symlink-outside-tree'],
    ]);
  });

  it('auto mode walks a plain directory', async () => {
    write('a.yaml', 'x: 1\n');
    const result = await discoverFiles(root);
    expect(result.source).toBe('walk');
    expect(result.files.map((f) => f.path)).toEqual(['a.yaml']);
  });

  it('a dangling link is reported, not followed', async () => {
    symlinkSync(path.join(root, 'nowhere'), path.join(root, 'dangling.yaml'));
    const result = await discoverFiles(root);
    expect(result.skipped).toEqual([{ path: 'dangling.yaml', reason: 'broken-symlink' }]);
  });
});

describe('isSafeRelativePath', () => {
  it.each(['a.yaml', 'a/b/c.json', '..hidden', 'a/.sops.yaml'])('accepts %s', (p) => {
    expect(isSafeRelativePath(p)).toBe(true);
  });
  it.each(['', '/etc/passwd', '../x', 'a/../../x', 'a/./b', 'a//b', 'a\\..\\b', 'a/..'])(
    'refuses %s',
    (p) => {
      expect(isSafeRelativePath(p)).toBe(false);
    },
  );
});

describe('findSopsFiles', () => {
  it('finds SOPS files by content among tracked files and reports malformed ones', async () => {
    copyFileSync(path.join(VECTORS, 'getsops-sops__example.yaml'), path.join(root, 'secret.yaml'));
    mkdirSync(path.join(root, 'conf'));
    copyFileSync(path.join(VECTORS, 'getsops-sops__functional-tests-res-format.enc.env'), path.join(root, 'conf/app.cfg'));
    copyFileSync(path.join(VECTORS, 'getsops-sops__example.txt'), path.join(root, 'conf/blob.txt'));
    write('broken.yaml', 'a: [oops\nsops:\n    lastmodified: "x"\n    mac: y\n');
    write('values.yaml', 'sops:\n  enabled: true\n');
    write('image.png', new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 0]));
    write('big.yaml', `sops:\n  lastmodified: x\n  mac: y\npad: "${'x'.repeat(SIX_MIB)}"\n`);
    git('init', '-q');
    git('add', '.');
    copyFileSync(path.join(VECTORS, 'getsops-sops__example.json'), path.join(root, 'untracked.json'));

    const scan = await findSopsFiles(root);

    expect(scan.sopsFiles.map((f) => [f.path, f.format])).toEqual([
      ['conf/app.cfg', 'dotenv'],
      ['conf/blob.txt', 'binary'],
      ['secret.yaml', 'yaml'],
    ]);
    expect(scan.malformed).toMatchObject([{ path: 'broken.yaml', format: 'yaml' }]);
    expect(scan.skipped).toMatchObject([{ path: 'big.yaml', reason: 'too-large' }]);
    expect(scan.discovery.files.map((f) => f.path)).toContain('values.yaml');
  });
});
