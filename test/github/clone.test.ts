import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { shallowClone } from '../../src/github/clone.ts';

const TOKEN = 'ghs_cloneTestToken0123456789abcdefghijklmn';

describe('shallowClone', () => {
  let server: Server | undefined;
  const sockets: Socket[] = [];
  let dir: string | undefined;
  afterEach(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('gives up on a server that accepts the connection and then says nothing, without naming the token', async () => {
    // A stalled remote: the TCP connection is accepted, no HTTP answer ever comes.
    server = createServer((socket) => void sockets.push(socket));
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    dir = await mkdtemp(path.join(tmpdir(), 'sops-rekey-clone-'));

    const clone = shallowClone({ url: `http://127.0.0.1:${port}/acme/app.git`, token: TOKEN, branch: 'main', dir: path.join(dir, 'repo'), stallTimeoutMs: 500 });
    const error = await clone.then(() => undefined, (e: unknown) => e as Error);
    expect(error).toBeInstanceOf(Error);
    expect(error?.message).toMatch(/^git stopped: no progress for 1 s from 127\.0\.0\.1:\d+ \(stalled connection\)$/);
    expect(error?.message).not.toContain(TOKEN);
    expect(sockets.length).toBeGreaterThan(0);
  }, 20_000);
});
