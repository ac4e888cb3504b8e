import { crc32c } from '@aws-crypto/crc32c';
import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKey, DAY, failure, startHarness, type Harness } from './harness.ts';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.close();
});

const dataKey = Buffer.from('0123456789abcdef0123456789abcdef');
const bytes = (value: unknown) => Buffer.from(value as Uint8Array);
const disable = (name: string) =>
  h.client.updateCryptoKeyVersion({ cryptoKeyVersion: { name, state: 'DISABLED' }, updateMask: { paths: ['state'] } });

describe('Encrypt', () => {
  it('wraps with the primary, names the version used and returns correct CRC32C fields', async () => {
    const key = await createKey(h.client);
    const [res] = await h.client.encrypt({ name: key, plaintext: dataKey, plaintextCrc32c: { value: crc32c(dataKey) } });
    expect(res.name).toBe(`${key}/cryptoKeyVersions/1`);
    expect(res.verifiedPlaintextCrc32c).toBe(true);
    expect(Number(res.ciphertextCrc32c?.value)).toBe(crc32c(bytes(res.ciphertext)));
    expect(res.protectionLevel).toBe('SOFTWARE');
    // The ciphertext is binary and does not carry the plaintext.
    expect(bytes(res.ciphertext).includes(dataKey)).toBe(false);
    expect(() => JSON.parse(bytes(res.ciphertext).toString('utf8'))).toThrow();
  });

  it('reports verified_plaintext_crc32c false when no checksum was sent', async () => {
    const key = await createKey(h.client);
    const [res] = await h.client.encrypt({ name: key, plaintext: dataKey });
    expect(res.verifiedPlaintextCrc32c).toBe(false);
  });

  it('uses the version it is given, not the primary', async () => {
    const key = await createKey(h.client);
    await h.client.createCryptoKeyVersion({ parent: key, cryptoKeyVersion: {} });
    const [res] = await h.client.encrypt({ name: `${key}/cryptoKeyVersions/2`, plaintext: dataKey });
    expect(res.name).toBe(`${key}/cryptoKeyVersions/2`);
    const [dec] = await h.client.decrypt({ name: key, ciphertext: res.ciphertext });
    expect(bytes(dec.plaintext)).toEqual(dataKey);
    expect(dec.usedPrimary).toBe(false);
  });

  it('refuses a wrong plaintext_crc32c with the real message', async () => {
    const key = await createKey(h.client);
    const err = await failure(h.client.encrypt({ name: key, plaintext: dataKey, plaintextCrc32c: { value: crc32c(dataKey) ^ 1 } }));
    expect(err.code).toBe(status.INVALID_ARGUMENT);
    expect(err.details).toBe('The checksum in field plaintext_crc32c did not match the data in field plaintext.');
  });

  it('refuses a plaintext over 64 KiB and accepts exactly 64 KiB', async () => {
    const key = await createKey(h.client);
    const ok = await h.client.encrypt({ name: key, plaintext: Buffer.alloc(65536, 1) });
    expect(ok[0].name).toBe(`${key}/cryptoKeyVersions/1`);
    const err = await failure(h.client.encrypt({ name: key, plaintext: Buffer.alloc(65537, 1) }));
    expect(err.code).toBe(status.INVALID_ARGUMENT);
  });

  it('answers NOT_FOUND for a missing key and INVALID_ARGUMENT for a malformed name', async () => {
    const key = await createKey(h.client);
    const missing = await failure(h.client.encrypt({ name: `${key}x`, plaintext: dataKey }));
    expect(missing.code).toBe(status.NOT_FOUND);
    const missingVersion = await failure(h.client.encrypt({ name: `${key}/cryptoKeyVersions/5`, plaintext: dataKey }));
    expect(missingVersion.code).toBe(status.NOT_FOUND);
    const malformed = await failure(h.client.encrypt({ name: 'projects/demo/cryptoKeys/k', plaintext: dataKey }));
    expect(malformed.code).toBe(status.INVALID_ARGUMENT);
  });

  it('fails with FAILED_PRECONDITION and a KEY_DISABLED detail when the primary is disabled', async () => {
    const key = await createKey(h.client);
    const v1 = `${key}/cryptoKeyVersions/1`;
    await disable(v1);
    const err = await failure(h.client.encrypt({ name: key, plaintext: dataKey }));
    expect(err.code).toBe(status.FAILED_PRECONDITION);
    expect(err.details).toBe(`${v1} is not enabled, current state is: DISABLED.`);
    expect(err.violations).toEqual([expect.objectContaining({ type: 'KEY_DISABLED', subject: v1 })]);
    // google-gax decodes the same detail for callers that read error.statusDetails.
    expect(err.statusDetails).toEqual([{ violations: [expect.objectContaining({ type: 'KEY_DISABLED', subject: v1 })] }]);
  });

  it('fails with FAILED_PRECONDITION when the key has no primary', async () => {
    const key = await createKey(h.client, {}, { skipInitialVersionCreation: true });
    const err = await failure(h.client.encrypt({ name: key, plaintext: dataKey }));
    expect(err.code).toBe(status.FAILED_PRECONDITION);
  });
});

describe('Decrypt', () => {
  it('unwraps, reports used_primary and a correct plaintext_crc32c', async () => {
    const key = await createKey(h.client);
    const [enc] = await h.client.encrypt({ name: key, plaintext: dataKey });
    const [dec] = await h.client.decrypt({ name: key, ciphertext: enc.ciphertext, ciphertextCrc32c: enc.ciphertextCrc32c });
    expect(bytes(dec.plaintext)).toEqual(dataKey);
    expect(Number(dec.plaintextCrc32c?.value)).toBe(crc32c(dataKey));
    expect(dec.usedPrimary).toBe(true);

    // After a rotation the old ciphertext still opens, but not with the primary.
    await h.client.createCryptoKeyVersion({ parent: key, cryptoKeyVersion: {} });
    await h.client.updateCryptoKeyPrimaryVersion({ name: key, cryptoKeyVersionId: '2' });
    const [old] = await h.client.decrypt({ name: key, ciphertext: enc.ciphertext });
    expect(old.usedPrimary).toBe(false);
  });

  it('binds additional authenticated data', async () => {
    const key = await createKey(h.client);
    const aad = Buffer.from('file.yaml');
    const [enc] = await h.client.encrypt({ name: key, plaintext: dataKey, additionalAuthenticatedData: aad });
    const [dec] = await h.client.decrypt({ name: key, ciphertext: enc.ciphertext, additionalAuthenticatedData: aad });
    expect(bytes(dec.plaintext)).toEqual(dataKey);
    const wrong = await failure(h.client.decrypt({ name: key, ciphertext: enc.ciphertext, additionalAuthenticatedData: Buffer.from('other') }));
    expect(wrong.code).toBe(status.INVALID_ARGUMENT);
    expect(wrong.details).toBe('Decryption failed: the ciphertext is invalid.');
  });

  it('refuses a tampered ciphertext, a ciphertext of another key and garbage', async () => {
    const key = await createKey(h.client);
    const other = await createKey(h.client);
    const [enc] = await h.client.encrypt({ name: key, plaintext: dataKey });
    const ciphertext = bytes(enc.ciphertext);
    for (const index of [0, 5, 30, ciphertext.length - 1]) {
      const tampered = Buffer.from(ciphertext);
      tampered[index] = tampered[index]! ^ 0x01;
      const err = await failure(h.client.decrypt({ name: key, ciphertext: tampered }));
      expect(err.code, `byte ${index}`).toBe(status.INVALID_ARGUMENT);
      expect(err.details).toBe('Decryption failed: the ciphertext is invalid.');
    }
    const foreign = await failure(h.client.decrypt({ name: other, ciphertext }));
    expect(foreign.code).toBe(status.INVALID_ARGUMENT);
    const garbage = await failure(h.client.decrypt({ name: key, ciphertext: Buffer.from('{"version":1}') }));
    expect(garbage.code).toBe(status.INVALID_ARGUMENT);
  });

  it('refuses a version name: Decrypt must name the CryptoKey', async () => {
    const key = await createKey(h.client);
    const [enc] = await h.client.encrypt({ name: key, plaintext: dataKey });
    const err = await failure(h.client.decrypt({ name: `${key}/cryptoKeyVersions/1`, ciphertext: enc.ciphertext }));
    expect(err.code).toBe(status.INVALID_ARGUMENT);
  });

  it('refuses a wrong ciphertext_crc32c', async () => {
    const key = await createKey(h.client);
    const [enc] = await h.client.encrypt({ name: key, plaintext: dataKey });
    const err = await failure(h.client.decrypt({ name: key, ciphertext: enc.ciphertext, ciphertextCrc32c: { value: 1 } }));
    expect(err.code).toBe(status.INVALID_ARGUMENT);
    expect(err.details).toBe('The checksum in field ciphertext_crc32c did not match the data in field ciphertext.');
  });

  it('fails with FAILED_PRECONDITION and the matching detail for DISABLED, DESTROY_SCHEDULED and DESTROYED', async () => {
    const key = await createKey(h.client);
    const v1 = `${key}/cryptoKeyVersions/1`;
    const [enc] = await h.client.encrypt({ name: key, plaintext: dataKey });

    await disable(v1);
    const disabled = await failure(h.client.decrypt({ name: key, ciphertext: enc.ciphertext }));
    expect(disabled.code).toBe(status.FAILED_PRECONDITION);
    expect(disabled.details).toBe(`${v1} is not enabled, current state is: DISABLED.`);
    expect(disabled.violations).toEqual([expect.objectContaining({ type: 'KEY_DISABLED', subject: v1 })]);

    await h.client.destroyCryptoKeyVersion({ name: v1 });
    const scheduled = await failure(h.client.decrypt({ name: key, ciphertext: enc.ciphertext }));
    expect(scheduled.code).toBe(status.FAILED_PRECONDITION);
    expect(scheduled.details).toBe(`${v1} is not enabled, current state is: DESTROY_SCHEDULED.`);
    expect(scheduled.violations).toEqual([expect.objectContaining({ type: 'KEY_DESTROY_SCHEDULED', subject: v1 })]);

    h.clock.advance(30 * DAY);
    const destroyed = await failure(h.client.decrypt({ name: key, ciphertext: enc.ciphertext }));
    expect(destroyed.code).toBe(status.FAILED_PRECONDITION);
    expect(destroyed.details).toBe(`${v1} is not enabled, current state is: DESTROYED.`);
    expect(destroyed.violations).toEqual([expect.objectContaining({ type: 'KEY_DESTROYED', subject: v1 })]);
  });

  it('opens a DESTROY_SCHEDULED version again once restored and re-enabled', async () => {
    const key = await createKey(h.client);
    const v1 = `${key}/cryptoKeyVersions/1`;
    const [enc] = await h.client.encrypt({ name: key, plaintext: dataKey });
    await h.client.destroyCryptoKeyVersion({ name: v1 });
    await h.client.restoreCryptoKeyVersion({ name: v1 });
    const stillDisabled = await failure(h.client.decrypt({ name: key, ciphertext: enc.ciphertext }));
    expect(stillDisabled.violations[0]?.type).toBe('KEY_DISABLED');
    await h.client.updateCryptoKeyVersion({ cryptoKeyVersion: { name: v1, state: 'ENABLED' }, updateMask: { paths: ['state'] } });
    const [dec] = await h.client.decrypt({ name: key, ciphertext: enc.ciphertext });
    expect(bytes(dec.plaintext)).toEqual(dataKey);
  });
});
