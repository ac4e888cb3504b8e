/**
 * The leak search the other scenarios rely on finds what it must: a canary in a file written
 * under the temp dir after the mark (and not one written before it), and a canary committed to a
 * repository, even though git stores objects compressed. A search that cannot find would pass
 * every scenario for nothing.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterEach, describe, expect, it } from 'vitest';
import { gitObjectsContaining, markTmp, newCanary, tmpFilesContaining } from './support.ts';

const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

async function scratch(): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'sops-rekey-leak-'));
  dirs.push(dir);
  return dir;
}

describe('leak search', () => {
  it('finds a canary in a temp file written during the run, not in one written before', async () => {
    const canary = newCanary();
    const dir = await scratch();
    await writeFile(path.join(dir, 'before.txt'), `old ${canary}`);
    const mark = await markTmp();
    await writeFile(path.join(dir, 'nested-during.txt'), `x${canary}x`);
    const other = newCanary();
    await writeFile(path.join(dir, 'unrelated.txt'), other);

    const result = await tmpFilesContaining(mark, canary);
    expect(result.hits).toEqual([path.join(dir, 'nested-during.txt')]);
    expect(result.searched).toBeGreaterThanOrEqual(2);
  });

  it('finds a canary committed to a repository, and none in one that never held it', async () => {
    const canary = newCanary();
    const dir = await scratch();
    await execa('git', ['init', '--quiet'], { cwd: dir });
    await writeFile(path.join(dir, 'clean.txt'), 'nothing to see\n');
    expect(await gitObjectsContaining(dir, canary)).toEqual({ hit: false, objects: 3 });

    await writeFile(path.join(dir, 'leak.txt'), `secret: ${canary}\n`);
    expect((await gitObjectsContaining(dir, canary)).hit).toBe(true);
  });
});
