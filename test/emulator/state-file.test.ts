import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock, startEmulator, type RunningEmulator } from '../../src/emulator/index.ts';
import { clientFor, createKey, DAY, failure, LOCATION } from './harness.ts';

let dir: string;
const open: Array<{ close(): Promise<void> }> = [];

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'kms-emulator-'));
});
afterEach(async () => {
  for (const item of open.splice(0).reverse()) await item.close();
  await rm(dir, { recursive: true, force: true });
});

async function start(stateFile: string, clock: ManualClock): Promise<{ emulator: RunningEmulator; client: ReturnType<typeof clientFor> }> {
  const emulator = await startEmulator({ stateFile, clock });
  const client = clientFor(emulator);
  open.push(emulator, client);
  return { emulator, client };
}

const plaintext = Buffer.from('0123456789abcdef0123456789abcdef');

describe('state file', () => {
  it('shares keys, key material and state changes between two emulators', async () => {
    const file = path.join(dir, 'kms.json');
    const clock = new ManualClock(Date.UTC(2025, 5, 1));
    const a = await start(file, clock);
    const b = await start(file, clock);

    const key = await createKey(a.client);
    const [enc] = await a.client.encrypt({ name: key, plaintext });
    const [dec] = await b.client.decrypt({ name: key, ciphertext: enc.ciphertext });
    expect(Buffer.from(dec.plaintext as Uint8Array)).toEqual(plaintext);

    await b.client.updateCryptoKeyVersion({
      cryptoKeyVersion: { name: `${key}/cryptoKeyVersions/1`, state: 'DISABLED' },
      updateMask: { paths: ['state'] },
    });
    const refused = await failure(a.client.decrypt({ name: key, ciphertext: enc.ciphertext }));
    expect(refused.details).toContain('current state is: DISABLED.');

    const [rings] = await b.client.listKeyRings({ parent: LOCATION });
    expect(rings).toHaveLength(1);
  });

  it('survives a restart, time-driven changes included', async () => {
    const file = path.join(dir, 'kms.json');
    const clock = new ManualClock(Date.UTC(2025, 5, 1));
    const first = await start(file, clock);
    const key = await createKey(first.client);
    const [enc] = await first.client.encrypt({ name: key, plaintext });
    await first.client.destroyCryptoKeyVersion({ name: `${key}/cryptoKeyVersions/1` });
    await first.client.close();
    await first.emulator.close();
    open.length = 0;

    clock.advance(30 * DAY);
    const second = await start(file, clock);
    const [version] = await second.client.getCryptoKeyVersion({ name: `${key}/cryptoKeyVersions/1` });
    expect(version.state).toBe('DESTROYED');
    const err = await failure(second.client.decrypt({ name: key, ciphertext: enc.ciphertext }));
    expect(err.violations[0]?.type).toBe('KEY_DESTROYED');
    // Destroyed key material is gone from the file too.
    const saved = JSON.parse(await readFile(file, 'utf8')) as { cryptoKeys: Record<string, { versions: Array<{ material?: unknown }> }> };
    expect(saved.cryptoKeys[key]?.versions[0]?.material).toBeUndefined();
  });

  it('refuses to start on a file that is not an emulator state', async () => {
    const file = path.join(dir, 'kms.json');
    const { writeFile } = await import('node:fs/promises');
    await writeFile(file, '{"hello": "world"}');
    await expect(startEmulator({ stateFile: file })).rejects.toThrow(/not a valid state/);
  });
});
