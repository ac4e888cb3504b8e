import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { OffThread, OffThreadError } from '../../src/io/off-thread.ts';

const FIXTURE = new URL('./off-thread-fixture.ts', import.meta.url).href;
const whereAmI = { module: FIXTURE, name: 'whereAmI' };

describe('OffThread', () => {
  let thread: OffThread | undefined;
  afterEach(async () => {
    await thread?.close();
    thread = undefined;
  });

  it('runs the function in one worker thread, calls overlapping, each answer to its own caller', async () => {
    thread = new OffThread();
    const started = performance.now();
    const answers = await Promise.all([
      thread.call<{ label: string; isMainThread: boolean; threadId: number }>(whereAmI, 'a', 150),
      thread.call<{ label: string; isMainThread: boolean; threadId: number }>(whereAmI, 'b', 150),
      thread.call<{ label: string; isMainThread: boolean; threadId: number }>(whereAmI, 'c', 0),
    ]);
    expect(answers.map((a) => a.label)).toEqual(['a', 'b', 'c']);
    expect(answers.every((a) => !a.isMainThread)).toBe(true);
    expect(new Set(answers.map((a) => a.threadId)).size).toBe(1);
    // Two 150 ms waits in one worker overlap: the calls are not queued one behind the other.
    expect(performance.now() - started).toBeLessThan(295);
  });

  it("rejects with the function's error name and message", async () => {
    thread = new OffThread();
    const error = await thread.call({ module: FIXTURE, name: 'refuse' }, 'no').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OffThreadError);
    expect(error).toMatchObject({ name: 'RefusalError', message: 'refused: no' });
  });

  it('names a missing export', async () => {
    thread = new OffThread();
    await expect(thread.call({ module: FIXTURE, name: 'nothing' })).rejects.toThrow(/has no function nothing/);
  });

  it('rejects calls still running when closed', async () => {
    thread = new OffThread();
    const running = expect(thread.call(whereAmI, 'slow', 5_000)).rejects.toThrow(/closed/);
    await thread.call(whereAmI, 'warm');
    await thread.close();
    await running;
  });

  it('does not keep a process alive once its calls are done', async () => {
    const script = `
      import { OffThread } from ${JSON.stringify(new URL('../../src/io/off-thread.ts', import.meta.url).href)};
      const answer = await new OffThread().call(${JSON.stringify(whereAmI)}, 'last', 50);
      console.log(answer.label);
    `;
    const dir = await mkdtemp(path.join(tmpdir(), 'off-thread-'));
    try {
      await writeFile(path.join(dir, 'main.mjs'), script);
      // Never closed: the process must still end by itself, as a CLI run does.
      const { stdout } = await promisify(execFile)(process.execPath, [path.join(dir, 'main.mjs')], { timeout: 20_000 });
      expect(stdout.trim()).toBe('last');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('runs git in its worker from the compiled package too, with no TypeScript file reached', async () => {
    const dist = new URL('../../dist/github/git-off-thread.js', import.meta.url).href;
    const dir = await mkdtemp(path.join(tmpdir(), 'sops-rekey-off-thread-'));
    try {
      const script = `const { gitOffThread } = await import(${JSON.stringify(dist)});\nprocess.stdout.write(await gitOffThread().git(${JSON.stringify(process.cwd())}, ['rev-parse', '--is-inside-work-tree']));\n`;
      await writeFile(path.join(dir, 'main.mjs'), script);
      const { stdout } = await promisify(execFile)(process.execPath, ['--no-experimental-strip-types', path.join(dir, 'main.mjs')], { timeout: 20_000 });
      expect(stdout.trim()).toBe('true');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
