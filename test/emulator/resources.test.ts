import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKey, DAY, failure, LOCATION, ms, seconds, startHarness, type Harness } from './harness.ts';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.close();
});

describe('key rings', () => {
  it('creates, gets and lists a key ring; a second create is ALREADY_EXISTS', async () => {
    const [ring] = await h.client.createKeyRing({ parent: LOCATION, keyRingId: 'team-a', keyRing: {} });
    expect(ring.name).toBe(`${LOCATION}/keyRings/team-a`);
    expect(ms(ring.createTime)).toBe(h.clock.now());

    const [got] = await h.client.getKeyRing({ name: ring.name! });
    expect(got.name).toBe(ring.name);
    const [rings] = await h.client.listKeyRings({ parent: LOCATION });
    expect(rings.map((r) => r.name)).toContain(ring.name);

    const again = await failure(h.client.createKeyRing({ parent: LOCATION, keyRingId: 'team-a', keyRing: {} }));
    expect(again.code).toBe(status.ALREADY_EXISTS);
    expect(again.details).toBe(`KeyRing ${ring.name} already exists.`);
  });

  it('answers NOT_FOUND for a missing key ring and INVALID_ARGUMENT for a malformed name or id', async () => {
    const missing = await failure(h.client.getKeyRing({ name: `${LOCATION}/keyRings/nope` }));
    expect(missing.code).toBe(status.NOT_FOUND);
    expect(missing.details).toBe(`KeyRing ${LOCATION}/keyRings/nope not found.`);

    const bad = await failure(h.client.getKeyRing({ name: 'projects/demo/keyRings/x' }));
    expect(bad.code).toBe(status.INVALID_ARGUMENT);
    const badId = await failure(h.client.createKeyRing({ parent: LOCATION, keyRingId: 'no spaces', keyRing: {} }));
    expect(badId.code).toBe(status.INVALID_ARGUMENT);
  });
});

describe('crypto keys', () => {
  it('creates an ENCRYPT_DECRYPT key with version 1 as primary and a 30-day destroy_scheduled_duration', async () => {
    const name = await createKey(h.client);
    const [key] = await h.client.getCryptoKey({ name });
    expect(key.purpose).toBe('ENCRYPT_DECRYPT');
    expect(key.primary?.name).toBe(`${name}/cryptoKeyVersions/1`);
    expect(key.primary?.state).toBe('ENABLED');
    expect(key.primary?.algorithm).toBe('GOOGLE_SYMMETRIC_ENCRYPTION');
    expect(ms(key.destroyScheduledDuration)).toBe(30 * DAY);
    expect(key.nextRotationTime).toBeNull();
  });

  it('keeps the destroy_scheduled_duration it is given, and rejects one outside 24 h..120 days', async () => {
    const name = await createKey(h.client, { destroyScheduledDuration: seconds(DAY) });
    const [key] = await h.client.getCryptoKey({ name });
    expect(ms(key.destroyScheduledDuration)).toBe(DAY);

    const [ring] = await h.client.createKeyRing({ parent: LOCATION, keyRingId: 'short-destroy', keyRing: {} });
    const tooShort = await failure(
      h.client.createCryptoKey({
        parent: ring.name!,
        cryptoKeyId: 'k',
        cryptoKey: { purpose: 'ENCRYPT_DECRYPT', destroyScheduledDuration: seconds(3_600_000) },
      }),
    );
    expect(tooShort.code).toBe(status.INVALID_ARGUMENT);
  });

  it('creates no version with skip_initial_version_creation', async () => {
    const name = await createKey(h.client, {}, { skipInitialVersionCreation: true });
    const [key] = await h.client.getCryptoKey({ name });
    expect(key.primary).toBeNull();
    const [versions] = await h.client.listCryptoKeyVersions({ parent: name });
    expect(versions).toEqual([]);
  });

  it('refuses a second key with the same id, a key in a missing ring, and other purposes', async () => {
    const name = await createKey(h.client);
    const parent = name.slice(0, name.indexOf('/cryptoKeys/'));
    const dup = await failure(h.client.createCryptoKey({ parent, cryptoKeyId: 'sops', cryptoKey: { purpose: 'ENCRYPT_DECRYPT' } }));
    expect(dup.code).toBe(status.ALREADY_EXISTS);
    expect(dup.details).toBe(`CryptoKey ${name} already exists.`);

    const noRing = await failure(
      h.client.createCryptoKey({ parent: `${LOCATION}/keyRings/ghost`, cryptoKeyId: 'k', cryptoKey: { purpose: 'ENCRYPT_DECRYPT' } }),
    );
    expect(noRing.code).toBe(status.NOT_FOUND);

    const signing = await failure(h.client.createCryptoKey({ parent, cryptoKeyId: 'sign', cryptoKey: { purpose: 'ASYMMETRIC_SIGN' } }));
    expect(signing.code).toBe(status.INVALID_ARGUMENT);

    const missing = await failure(h.client.getCryptoKey({ name: `${parent}/cryptoKeys/ghost` }));
    expect(missing.code).toBe(status.NOT_FOUND);
    expect(missing.details).toBe(`CryptoKey ${parent}/cryptoKeys/ghost not found.`);
  });

  it('lists the keys of a ring, page by page', async () => {
    const [ring] = await h.client.createKeyRing({ parent: LOCATION, keyRingId: 'many-keys', keyRing: {} });
    for (const id of ['a', 'b', 'c']) {
      await h.client.createCryptoKey({ parent: ring.name!, cryptoKeyId: id, cryptoKey: { purpose: 'ENCRYPT_DECRYPT' } });
    }
    const [first, next, raw] = await h.client.listCryptoKeys({ parent: ring.name!, pageSize: 2 }, { autoPaginate: false });
    expect(first.map((k) => k.name!.split('/').pop())).toEqual(['a', 'b']);
    expect(raw?.totalSize).toBe(3);
    expect(next?.pageToken).toBeTruthy();
    const [second, after] = await h.client.listCryptoKeys({ parent: ring.name!, pageSize: 2, pageToken: next!.pageToken! }, { autoPaginate: false });
    expect(second.map((k) => k.name!.split('/').pop())).toEqual(['c']);
    expect(after).toBeNull();
  });
});

describe('versions', () => {
  it('creates versions with sequential ids that do not become primary', async () => {
    const name = await createKey(h.client);
    const [v2] = await h.client.createCryptoKeyVersion({ parent: name, cryptoKeyVersion: {} });
    expect(v2.name).toBe(`${name}/cryptoKeyVersions/2`);
    expect(v2.state).toBe('ENABLED');
    const [key] = await h.client.getCryptoKey({ name });
    expect(key.primary?.name).toBe(`${name}/cryptoKeyVersions/1`);

    const [got] = await h.client.getCryptoKeyVersion({ name: v2.name! });
    expect(got.state).toBe('ENABLED');
    const missing = await failure(h.client.getCryptoKeyVersion({ name: `${name}/cryptoKeyVersions/9` }));
    expect(missing.code).toBe(status.NOT_FOUND);
    expect(missing.details).toBe(`CryptoKeyVersion ${name}/cryptoKeyVersions/9 not found.`);
  });

  it('paginates ListCryptoKeyVersions with page_size, page_token and next_page_token', async () => {
    const name = await createKey(h.client);
    for (let i = 0; i < 4; i++) await h.client.createCryptoKeyVersion({ parent: name, cryptoKeyVersion: {} });

    const seen: string[] = [];
    let pageToken = '';
    let pages = 0;
    do {
      const [versions, next] = await h.client.listCryptoKeyVersions({ parent: name, pageSize: 2, pageToken }, { autoPaginate: false });
      expect(versions.length).toBeLessThanOrEqual(2);
      seen.push(...versions.map((v) => v.name!.split('/').pop()!));
      pageToken = next?.pageToken ?? '';
      pages += 1;
    } while (pageToken !== '');
    expect(pages).toBe(3);
    expect(seen).toEqual(['1', '2', '3', '4', '5']);

    // The client's own auto-pagination walks the same pages.
    const all: string[] = [];
    for await (const v of h.client.listCryptoKeyVersionsAsync({ parent: name, pageSize: 2 })) all.push(v.name!);
    expect(all).toHaveLength(5);

    const bogus = await failure(h.client.listCryptoKeyVersions({ parent: name, pageToken: 'not-a-token' }, { autoPaginate: false }));
    expect(bogus.code).toBe(status.INVALID_ARGUMENT);
  });

  it('filters versions by state', async () => {
    const name = await createKey(h.client);
    await h.client.createCryptoKeyVersion({ parent: name, cryptoKeyVersion: {} });
    await h.client.updateCryptoKeyVersion({ cryptoKeyVersion: { name: `${name}/cryptoKeyVersions/1`, state: 'DISABLED' }, updateMask: { paths: ['state'] } });
    const [enabled] = await h.client.listCryptoKeyVersions({ parent: name, filter: 'state=ENABLED' });
    expect(enabled.map((v) => v.name)).toEqual([`${name}/cryptoKeyVersions/2`]);
  });

  it('moves ENABLED <-> DISABLED with UpdateCryptoKeyVersion and nothing else', async () => {
    const name = await createKey(h.client);
    const v1 = `${name}/cryptoKeyVersions/1`;
    const [disabled] = await h.client.updateCryptoKeyVersion({ cryptoKeyVersion: { name: v1, state: 'DISABLED' }, updateMask: { paths: ['state'] } });
    expect(disabled.state).toBe('DISABLED');
    const [enabled] = await h.client.updateCryptoKeyVersion({ cryptoKeyVersion: { name: v1, state: 'ENABLED' }, updateMask: { paths: ['state'] } });
    expect(enabled.state).toBe('ENABLED');

    const toDestroyed = await failure(
      h.client.updateCryptoKeyVersion({ cryptoKeyVersion: { name: v1, state: 'DESTROYED' }, updateMask: { paths: ['state'] } }),
    );
    expect(toDestroyed.code).toBe(status.INVALID_ARGUMENT);
    const noMask = await failure(h.client.updateCryptoKeyVersion({ cryptoKeyVersion: { name: v1, state: 'DISABLED' } }));
    expect(noMask.code).toBe(status.INVALID_ARGUMENT);

    await h.client.destroyCryptoKeyVersion({ name: v1 });
    const fromScheduled = await failure(
      h.client.updateCryptoKeyVersion({ cryptoKeyVersion: { name: v1, state: 'ENABLED' }, updateMask: { paths: ['state'] } }),
    );
    expect(fromScheduled.code).toBe(status.FAILED_PRECONDITION);
    expect(fromScheduled.details).toContain('current state is: DESTROY_SCHEDULED.');
  });

  it('changes the primary with UpdateCryptoKeyPrimaryVersion, only to an ENABLED version', async () => {
    const name = await createKey(h.client);
    await h.client.createCryptoKeyVersion({ parent: name, cryptoKeyVersion: {} });
    const [key] = await h.client.updateCryptoKeyPrimaryVersion({ name, cryptoKeyVersionId: '2' });
    expect(key.primary?.name).toBe(`${name}/cryptoKeyVersions/2`);

    await h.client.updateCryptoKeyVersion({ cryptoKeyVersion: { name: `${name}/cryptoKeyVersions/1`, state: 'DISABLED' }, updateMask: { paths: ['state'] } });
    const toDisabled = await failure(h.client.updateCryptoKeyPrimaryVersion({ name, cryptoKeyVersionId: '1' }));
    expect(toDisabled.code).toBe(status.FAILED_PRECONDITION);
    expect(toDisabled.details).toBe(`${name}/cryptoKeyVersions/1 is not enabled, current state is: DISABLED.`);
    const toMissing = await failure(h.client.updateCryptoKeyPrimaryVersion({ name, cryptoKeyVersionId: '7' }));
    expect(toMissing.code).toBe(status.NOT_FOUND);
  });

  it('schedules destruction at now + destroy_scheduled_duration and reaches DESTROYED at that time', async () => {
    const name = await createKey(h.client, { destroyScheduledDuration: seconds(2 * DAY) });
    const v1 = `${name}/cryptoKeyVersions/1`;
    const start = h.clock.now();
    const [scheduled] = await h.client.destroyCryptoKeyVersion({ name: v1 });
    expect(scheduled.state).toBe('DESTROY_SCHEDULED');
    expect(ms(scheduled.destroyTime)).toBe(start + 2 * DAY);
    expect(scheduled.destroyEventTime).toBeNull();

    h.clock.advance(2 * DAY - 1000);
    const [before] = await h.client.getCryptoKeyVersion({ name: v1 });
    expect(before.state).toBe('DESTROY_SCHEDULED');

    h.clock.advance(1000);
    const [after] = await h.client.getCryptoKeyVersion({ name: v1 });
    expect(after.state).toBe('DESTROYED');
    expect(ms(after.destroyEventTime)).toBe(start + 2 * DAY);

    const again = await failure(h.client.destroyCryptoKeyVersion({ name: v1 }));
    expect(again.code).toBe(status.FAILED_PRECONDITION);
    const restore = await failure(h.client.restoreCryptoKeyVersion({ name: v1 }));
    expect(restore.code).toBe(status.FAILED_PRECONDITION);
    expect(restore.details).toContain('current state is: DESTROYED.');
  });

  it('restores a DESTROY_SCHEDULED version to DISABLED, clearing destroy_time; enabling is a second call', async () => {
    const name = await createKey(h.client);
    const v1 = `${name}/cryptoKeyVersions/1`;
    await h.client.updateCryptoKeyVersion({ cryptoKeyVersion: { name: v1, state: 'DISABLED' }, updateMask: { paths: ['state'] } });
    const [scheduled] = await h.client.destroyCryptoKeyVersion({ name: v1 });
    expect(scheduled.state).toBe('DESTROY_SCHEDULED');

    const [restored] = await h.client.restoreCryptoKeyVersion({ name: v1 });
    expect(restored.state).toBe('DISABLED');
    expect(restored.destroyTime).toBeNull();
    // Past the old destroy time nothing happens any more.
    h.clock.advance(31 * DAY);
    const [later] = await h.client.getCryptoKeyVersion({ name: v1 });
    expect(later.state).toBe('DISABLED');

    const [enabled] = await h.client.updateCryptoKeyVersion({ cryptoKeyVersion: { name: v1, state: 'ENABLED' }, updateMask: { paths: ['state'] } });
    expect(enabled.state).toBe('ENABLED');
    const notScheduled = await failure(h.client.restoreCryptoKeyVersion({ name: v1 }));
    expect(notScheduled.code).toBe(status.FAILED_PRECONDITION);
  });
});
