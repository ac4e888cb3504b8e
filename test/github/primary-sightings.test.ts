/**
 * The first sighting of a primary, kept in the dashboard: a version promoted by hand has an old
 * create_time, and the propagation gate must measure its window from when the app first saw the
 * promotion, not from that create_time. End to end over the emulator, plus the pure rules.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseSightings, primarySince, renderSightings, updateSightings, type PrimarySighting } from '../../src/github/primary-sightings.ts';
import type { KeyInventory } from '../../src/kms/inventory.ts';
import type { RepoRecord } from '../support/github/state.ts';
import { pushPayload, startRekeyWorld, type RekeyWorld } from './rekey-world.ts';

const INSTALLATION = 41;
const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;

describe('a version promoted to primary by hand (emulator, end to end)', () => {
  let world: RekeyWorld;
  const repoOf = (): RepoRecord => world.gh.state.findRepo('acme', 'promoted')!;
  const pulls = () => [...repoOf().issues.values()].filter((i) => i.pull);
  const dashboard = () => [...repoOf().issues.values()].find((i) => !i.pull)?.body ?? '';
  const push = async () => {
    await world.deliver('push', pushPayload('acme', 'promoted', INSTALLATION));
    expect(world.queue.failures).toEqual([]);
  };

  beforeAll(async () => {
    world = await startRekeyWorld();
    world.gh.addInstallation({ id: INSTALLATION, account: 'acme', repositories: ['acme/promoted'] });
    const files = await world.encrypt({ 'apps/secrets.yaml': 'password: promoted-by-hand\n' });
    // v2 is created but not made primary: it waits, as a spare version would.
    await world.kms.createCryptoKeyVersion({ parent: world.key, cryptoKeyVersion: {} });
    world.clock.advance(DAY);
    await world.gh.createRepo('acme/promoted', { files: { '.github/sops-rekey.yml': 'window: 30m\nprobes: 2\n', ...files } });
  });

  afterAll(async () => {
    await world?.close();
  });

  it('records the primary and when the app first saw it in the dashboard', async () => {
    await push();
    const sightings = parseSightings(dashboard());
    expect(sightings.get(world.key)).toEqual({ primary: `${world.key}/cryptoKeyVersions/1`, firstSeen: new Date(world.clock.now()).toISOString(), byHand: false });
    expect(pulls()).toEqual([]);
  });

  it('does not open the gate before the window from the first sighting, though create_time is a day older', async () => {
    world.clock.advance(DAY);
    await world.kms.updateCryptoKeyPrimaryVersion({ name: world.key, cryptoKeyVersionId: '2' });
    world.clock.advance(10 * MINUTE);
    const sighted = world.clock.now();
    await push();

    expect(pulls()).toEqual([]);
    const body = dashboard();
    expect(parseSightings(body).get(world.key)).toEqual({ primary: `${world.key}/cryptoKeyVersions/2`, firstSeen: new Date(sighted).toISOString(), byHand: true });
    expect(body).toContain(`primary v2 since ${new Date(sighted).toISOString()}`);
    expect(body).toContain(`The gate opens at **${new Date(sighted + 30 * MINUTE).toISOString()}** at the earliest`);
  });

  it('keeps the first sighting on later runs, and opens the gate once the window from it has passed', async () => {
    world.clock.advance(15 * MINUTE);
    await push();
    expect(pulls()).toEqual([]);

    world.clock.advance(16 * MINUTE);
    await push();
    const prs = pulls();
    expect(prs).toHaveLength(1);
    const sighted = parseSightings(dashboard()).get(world.key)?.firstSeen;
    expect(prs[0]!.body).toContain(`primary v2 since ${sighted}`);
  });
});

describe('sighting rules', () => {
  const key = 'projects/p/locations/global/keyRings/r/cryptoKeys/k';
  const version = (n: number, createTime: string, isPrimary: boolean) => ({
    name: `${key}/cryptoKeyVersions/${n}`,
    id: String(n),
    state: 'ENABLED',
    isPrimary,
    createTime,
  });
  const inventory = (...versions: ReturnType<typeof version>[]): KeyInventory => ({ key, versions });
  const seen = (n: number, firstSeen: string, byHand = false): Map<string, PrimarySighting> =>
    new Map([[key, { primary: `${key}/cryptoKeyVersions/${n}`, firstSeen, byHand }]]);
  const now = Date.parse('2025-03-01T12:00:00.000Z');

  it('takes create_time for a key seen for the first time and for a primary created after the last sighting', () => {
    const first = updateSightings(new Map(), [inventory(version(1, '2025-01-01T00:00:00Z', true))], now);
    expect(first.get(key)).toEqual({ primary: `${key}/cryptoKeyVersions/1`, firstSeen: '2025-03-01T12:00:00.000Z', byHand: false });
    expect(primarySince(first, key, `${key}/cryptoKeyVersions/1`)).toBeUndefined();

    const rotated = updateSightings(seen(1, '2025-02-01T00:00:00.000Z'), [inventory(version(1, '2025-01-01T00:00:00Z', false), version(2, '2025-02-20T00:00:00Z', true))], now);
    expect(rotated.get(key)?.byHand).toBe(false);
    expect(primarySince(rotated, key, `${key}/cryptoKeyVersions/2`)).toBeUndefined();
  });

  it('measures from the first sighting for a version older than the previous sighting, or a rollback', () => {
    const promoted = updateSightings(seen(1, '2025-02-01T00:00:00.000Z'), [inventory(version(1, '2025-01-01T00:00:00Z', false), version(2, '2025-01-15T00:00:00Z', true))], now);
    expect(primarySince(promoted, key, `${key}/cryptoKeyVersions/2`)).toBe(now);

    const rollback = updateSightings(seen(3, '2025-01-01T00:00:00.000Z'), [inventory(version(2, '2025-02-20T00:00:00Z', true), version(3, '2025-02-21T00:00:00Z', false))], now);
    expect(primarySince(rollback, key, `${key}/cryptoKeyVersions/2`)).toBe(now);
    // The gate asks about the primary it sees; a stale record answers nothing.
    expect(primarySince(rollback, key, `${key}/cryptoKeyVersions/3`)).toBeUndefined();
  });

  it('keeps an unchanged record as it is, and round-trips through the dashboard marker', () => {
    const before = seen(2, '2025-02-01T00:00:00.000Z', true);
    const after = updateSightings(before, [inventory(version(2, '2025-01-15T00:00:00Z', true))], now + DAY);
    expect(after).toEqual(before);
    expect(parseSightings(`text\n\n${renderSightings(after)}\n`)).toEqual(before);
    expect(parseSightings('<!-- sops-rekey:primaries {"k":{"primary":1}} -->')).toEqual(new Map());
  });
});
