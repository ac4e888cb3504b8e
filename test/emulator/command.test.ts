import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/errors.ts';
import { parseEmulatorArgs, runEmulatorCommand } from '../../src/emulator/command.ts';
import { startEmulator } from '../../src/emulator/index.ts';
import { clientFor, LOCATION } from './harness.ts';
import { KeyManagementServiceClient } from '@google-cloud/kms';
import * as grpc from '@grpc/grpc-js';

const commandModule = fileURLToPath(new URL('../../src/emulator/command.ts', import.meta.url));

function clientForHost(host: string): KeyManagementServiceClient {
  const port = Number(host.split(':').pop());
  return new KeyManagementServiceClient({
    apiEndpoint: '127.0.0.1',
    port,
    sslCreds: grpc.credentials.createInsecure(),
    universeDomain: 'googleapis.com',
  });
}

describe('parseEmulatorArgs', () => {
  it('reads --port, --state, --lag (as a duration) and --lag-fraction, in both spellings', () => {
    expect(parseEmulatorArgs(['--port', '9011', '--state', 'kms.json', '--lag=1h30m', '--lag-fraction', '0.25'])).toEqual({
      port: 9011,
      stateFile: 'kms.json',
      propagationLagMs: 90 * 60_000,
      lagFraction: 0.25,
    });
    expect(parseEmulatorArgs(['--lag', '90s']).propagationLagMs).toBe(90_000);
    expect(parseEmulatorArgs([])).toEqual({});
  });

  it('reads each --deny as a resource and, after =, the permissions denied on it', () => {
    const ring = 'projects/p/locations/global/keyRings/apps';
    expect(parseEmulatorArgs(['--deny', ring, `--deny=${ring}/cryptoKeys/k=cloudkms.cryptoKeyVersions.useToEncrypt`]).denials).toEqual([
      { resource: ring },
      { resource: `${ring}/cryptoKeys/k`, permissions: ['cloudkms.cryptoKeyVersions.useToEncrypt'] },
    ]);
    expect(() => parseEmulatorArgs(['--deny', 'apps'])).toThrow(/--deny: not a Cloud KMS resource name/);
  });

  it('names the bad option in a UsageError', () => {
    expect(() => parseEmulatorArgs(['--port', 'http'])).toThrow(UsageError);
    expect(() => parseEmulatorArgs(['--lag', 'soon'])).toThrow(/--lag/);
    expect(() => parseEmulatorArgs(['--state'])).toThrow(/--state needs a value/);
    expect(() => parseEmulatorArgs(['--verbose'])).toThrow(/unknown option "--verbose"/);
  });
});

describe('runEmulatorCommand', () => {
  it('prints KMS_EMULATOR_HOST, serves until stopped, then exits 0', async () => {
    const lines: string[] = [];
    const stop = new AbortController();
    let announced!: () => void;
    const ready = new Promise<void>((resolve) => (announced = resolve));
    const done = runEmulatorCommand(['--port', '0'], {
      stdout: (line) => {
        lines.push(line);
        announced();
      },
      signal: stop.signal,
    });
    await ready;
    expect(lines[0]).toMatch(/^KMS_EMULATOR_HOST=127\.0\.0\.1:\d+\n$/);
    const client = clientForHost(lines[0]!.trim().split('=')[1]!);
    const [ring] = await client.createKeyRing({ parent: LOCATION, keyRingId: 'cli', keyRing: {} });
    expect(ring.name).toBe(`${LOCATION}/keyRings/cli`);
    await client.close();
    stop.abort();
    expect(await done).toBe(0);
  });

  it('runs as its own process sharing a state file, and stops on SIGTERM', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'kms-emulator-cli-'));
    const stateFile = path.join(dir, 'kms.json');
    const child = spawn(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `import { runEmulatorCommand } from ${JSON.stringify(commandModule)}; process.exitCode = await runEmulatorCommand(process.argv.slice(1));`,
        '--',
        '--state',
        stateFile,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    try {
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const host = await new Promise<string>((resolve, reject) => {
        let out = '';
        child.stdout.on('data', (chunk: Buffer) => {
          out += chunk.toString();
          const m = /KMS_EMULATOR_HOST=(\S+)\n/.exec(out);
          if (m) resolve(m[1]!);
        });
        child.once('exit', (code) => reject(new Error(`emulator exited early (${code}): ${stderr}`)));
      });

      const remote = clientForHost(host);
      const [ring] = await remote.createKeyRing({ parent: LOCATION, keyRingId: 'shared', keyRing: {} });
      const [key] = await remote.createCryptoKey({ parent: ring.name!, cryptoKeyId: 'k', cryptoKey: { purpose: 'ENCRYPT_DECRYPT' } });
      const [enc] = await remote.encrypt({ name: key.name!, plaintext: Buffer.from('shared secret key') });
      await remote.close();

      // Another process (this one) reads the same file and opens what the child wrapped.
      const local = await startEmulator({ stateFile });
      const client = clientFor(local);
      const [dec] = await client.decrypt({ name: key.name!, ciphertext: enc.ciphertext });
      expect(Buffer.from(dec.plaintext as Uint8Array).toString()).toBe('shared secret key');
      await client.close();
      await local.close();

      const exit = new Promise<number | null>((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      expect(await exit).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      await rm(dir, { recursive: true, force: true });
    }
  });
});
