import { createServer } from 'node:net';

/** A free loopback port: Probot's Server treats port 0 as "use 3000", so the OS is asked first. */
export async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as { port: number };
  await new Promise((resolve) => probe.close(resolve));
  return port;
}
