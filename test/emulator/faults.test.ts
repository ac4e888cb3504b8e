import { crc32c } from '@aws-crypto/crc32c';
import { status } from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { createKey, failure, NO_RETRY, startHarness, type Harness } from './harness.ts';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const plaintext = Buffer.from('0123456789abcdef0123456789abcdef');

describe('fault injection', () => {
  it('corrupts the CRC32C fields of Encrypt and Decrypt responses when asked', async () => {
    h = await startHarness();
    const key = await createKey(h.client);
    const [clean] = await h.client.encrypt({ name: key, plaintext });

    h.emulator.setFaults({ corruptCrcRate: 1 });
    const [enc] = await h.client.encrypt({ name: key, plaintext });
    expect(Number(enc.ciphertextCrc32c?.value)).not.toBe(crc32c(Buffer.from(enc.ciphertext as Uint8Array)));
    const [dec] = await h.client.decrypt({ name: key, ciphertext: clean.ciphertext });
    expect(Buffer.from(dec.plaintext as Uint8Array)).toEqual(plaintext);
    expect(Number(dec.plaintextCrc32c?.value)).not.toBe(crc32c(plaintext));

    h.emulator.setFaults({});
    const [fine] = await h.client.encrypt({ name: key, plaintext });
    expect(Number(fine.ciphertextCrc32c?.value)).toBe(crc32c(Buffer.from(fine.ciphertext as Uint8Array)));
  });

  it('answers Encrypt and Decrypt with the configured transient errors, leaving other calls alone', async () => {
    h = await startHarness();
    const key = await createKey(h.client);
    h.emulator.setFaults({ errorRate: 1, errorCodes: ['RESOURCE_EXHAUSTED'] });
    const err = await failure(h.client.encrypt({ name: key, plaintext }, NO_RETRY));
    expect(err.code).toBe(status.RESOURCE_EXHAUSTED);
    const [got] = await h.client.getCryptoKey({ name: key });
    expect(got.name).toBe(key);

    h.emulator.setFaults({ errorRate: 1 });
    const unavailable = await failure(h.client.decrypt({ name: key, ciphertext: Buffer.alloc(60) }, NO_RETRY));
    expect(unavailable.code).toBe(status.UNAVAILABLE);
  });

  it('fails the same calls for the same seed', async () => {
    const pattern = async () => {
      const harness = await startHarness({ seed: 99, faults: { errorRate: 0.5 } });
      try {
        const key = await createKey(harness.client);
        const outcome: string[] = [];
        for (let i = 0; i < 20; i++) {
          try {
            await harness.client.encrypt({ name: key, plaintext }, NO_RETRY);
            outcome.push('ok');
          } catch {
            outcome.push('err');
          }
        }
        return outcome;
      } finally {
        await harness.close();
      }
    };
    const first = await pattern();
    expect(first).toContain('ok');
    expect(first).toContain('err');
    expect(await pattern()).toEqual(first);
  });

  it('holds every answer, errors included, until the injected latency has passed since the call arrived', async () => {
    h = await startHarness({ faults: { latencyMs: 60, errorRate: 1 } });
    const key = await createKey(h.client);
    const started = performance.now();
    const error = await failure(h.client.decrypt({ name: key, ciphertext: Buffer.alloc(64) }, NO_RETRY));
    expect(error.code).toBe(status.UNAVAILABLE);
    // A lower bound only: the latency is what the emulator adds, whatever the machine's speed.
    expect(performance.now() - started).toBeGreaterThanOrEqual(59);
  });

  it('counts RPCs per method, failed ones included', async () => {
    h = await startHarness({ faults: { latencyMs: 5 } });
    const key = await createKey(h.client);
    const [enc] = await h.client.encrypt({ name: key, plaintext });
    await h.client.decrypt({ name: key, ciphertext: enc.ciphertext });
    await h.client.decrypt({ name: key, ciphertext: enc.ciphertext });
    await failure(h.client.getCryptoKey({ name: `${key}-missing` }));
    expect(h.emulator.callCounts()).toEqual({
      CreateKeyRing: 1,
      CreateCryptoKey: 1,
      Encrypt: 1,
      Decrypt: 2,
      GetCryptoKey: 1,
    });
  });

  it('rejects rates outside 0..1', async () => {
    h = await startHarness();
    expect(() => h!.emulator.setFaults({ errorRate: 2 })).toThrow(RangeError);
    expect(() => h!.emulator.setPropagationLag(1000, -1)).toThrow(RangeError);
  });
});
