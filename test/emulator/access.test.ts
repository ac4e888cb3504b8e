import { status } from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { createKey, failure, NO_RETRY, startHarness, type Harness } from './harness.ts';

let h: Harness;
afterEach(async () => {
  await h.close();
});

const plaintext = Buffer.from('0123456789abcdef0123456789abcdef');

describe('missing IAM permissions', () => {
  it('answers PERMISSION_DENIED in the real wording on a denied key, and only there', async () => {
    h = await startHarness();
    const denied = await createKey(h.client);
    const other = await createKey(h.client);
    const [enc] = await h.client.encrypt({ name: denied, plaintext });
    h.emulator.setDenials([{ resource: denied }]);

    const refused = await failure(h.client.decrypt({ name: denied, ciphertext: enc.ciphertext }, NO_RETRY));
    expect(refused.code).toBe(status.PERMISSION_DENIED);
    expect(refused.details).toBe(`Permission 'cloudkms.cryptoKeyVersions.useToDecrypt' denied on resource '${denied}' (or it may not exist).`);
    // Below the key too: its versions.
    expect((await failure(h.client.getCryptoKeyVersion({ name: `${denied}/cryptoKeyVersions/1` }, NO_RETRY))).details).toMatch(
      /^Permission 'cloudkms\.cryptoKeyVersions\.get' denied on resource '.*\/cryptoKeyVersions\/1'/,
    );
    const [fine] = await h.client.encrypt({ name: other, plaintext });
    expect(fine.name).toBe(`${other}/cryptoKeyVersions/1`);
  });

  it('denies only the permissions listed: a decrypter-only identity cannot encrypt', async () => {
    h = await startHarness();
    const key = await createKey(h.client);
    const [enc] = await h.client.encrypt({ name: key, plaintext });
    const ring = key.replace(/\/cryptoKeys\/[^/]+$/, '');
    h.emulator.setDenials([{ resource: ring, permissions: ['cloudkms.cryptoKeyVersions.useToEncrypt'] }]);

    const [dec] = await h.client.decrypt({ name: key, ciphertext: enc.ciphertext });
    expect(Buffer.from(dec.plaintext as Uint8Array)).toEqual(plaintext);
    const refused = await failure(h.client.encrypt({ name: key, plaintext }, NO_RETRY));
    expect(refused.code).toBe(status.PERMISSION_DENIED);
    expect(refused.details).toContain('cloudkms.cryptoKeyVersions.useToEncrypt');

    h.emulator.setDenials([]);
    await expect(h.client.encrypt({ name: key, plaintext })).resolves.toBeDefined();
  });

  it('refuses denials that name no Cloud KMS resource or permission', async () => {
    h = await startHarness();
    expect(() => h.emulator.setDenials([{ resource: 'keyRings/r' }])).toThrow(/not a Cloud KMS resource name/);
    expect(() => h.emulator.setDenials([{ resource: 'projects/p/locations/global', permissions: ['kms.decrypt'] }])).toThrow(/not a Cloud KMS permission/);
  });
});
