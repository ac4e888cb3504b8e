/**
 * The per-repository `schedule`: the scheduled rescan enqueues a repository once its own
 * interval (from its config, else the app's default) has passed since its last job. End to end:
 * the real runner records each job's config; the rescan lists the installation on the stand-in.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enqueueAllInstallations } from '../../src/github/reconcile.ts';
import { RescanSchedule } from '../../src/github/schedule.ts';
import { ManualClock } from '../../src/emulator/index.ts';
import { pushPayload, rotateKey, startRekeyWorld, T0, type RekeyWorld } from './rekey-world.ts';

const INSTALLATION = 61;
const MINUTE = 60_000;
let world: RekeyWorld;

/** Runs one scheduled rescan as the reconciler's timer does; returns the repositories it ran. */
async function scheduledRescan(): Promise<string[]> {
  const before = world.jobs.length;
  await enqueueAllInstallations(world.app, world.queue, 'schedule', (repo) => world.schedule.due(repo));
  await world.queue.onIdle();
  expect(world.queue.failures).toEqual([]);
  return world.jobs.slice(before).map((j) => `${j.repo} ${j.reason}`).sort();
}

beforeAll(async () => {
  world = await startRekeyWorld();
  world.gh.addInstallation({ id: INSTALLATION, account: 'acme', repositories: ['acme/often', 'acme/usual', 'acme/broken'] });
  const files = await world.encrypt({ 'apps/secrets.yaml': 'password: scheduled\n' });
  await world.gh.createRepo('acme/often', { files: { '.github/sops-rekey.yml': 'schedule: 30m\n', ...files } });
  await world.gh.createRepo('acme/usual', { files: files });
  await world.gh.createRepo('acme/broken', { files: { '.github/sops-rekey.yml': 'schedule: 1m\n', ...files } });
});

afterAll(async () => {
  await world?.close();
});

describe('per-repository schedule', () => {
  it('rescans every repository not yet scanned by this process', async () => {
    expect(await scheduledRescan()).toEqual(['acme/broken schedule', 'acme/often schedule', 'acme/usual schedule']);
  });

  it('rescans nothing before any interval has passed', async () => {
    world.clock.advance(10 * MINUTE);
    expect(await scheduledRescan()).toEqual([]);
  });

  it('rescans a repository with `schedule: 30m` after 30 minutes, the others at the default interval', async () => {
    world.clock.advance(21 * MINUTE);
    expect(await scheduledRescan()).toEqual(['acme/often schedule']);
    world.clock.advance(6 * 60 * MINUTE);
    // An invalid schedule (below the 15m minimum) is a config error: the default interval applies.
    expect(await scheduledRescan()).toEqual(['acme/broken schedule', 'acme/often schedule', 'acme/usual schedule']);
  });

  it('counts a job a webhook started as a scan', async () => {
    world.clock.advance(20 * MINUTE);
    await world.deliver('push', pushPayload('acme', 'often', INSTALLATION));
    world.clock.advance(15 * MINUTE);
    expect(await scheduledRescan()).toEqual([]);
    world.clock.advance(15 * MINUTE);
    expect(await scheduledRescan()).toEqual(['acme/often schedule']);
  });
});

describe('RescanSchedule', () => {
  it('looks a third of the shortest allowed schedule apart, or of a shorter default', () => {
    expect(new RescanSchedule({ defaultMs: 6 * 60 * MINUTE }).tickMs).toBe(5 * MINUTE);
    expect(new RescanSchedule({ defaultMs: 3 * MINUTE }).tickMs).toBe(MINUTE);
  });

  it('is due for an unknown repository, and after its own or the default interval', () => {
    const clock = new ManualClock(T0);
    const schedule = new RescanSchedule({ defaultMs: 60 * MINUTE, clock });
    const own = { owner: 'acme', name: 'Own' };
    const other = { owner: 'acme', name: 'other' };
    expect(schedule.due(own)).toBe(true);
    schedule.record(own, 20 * MINUTE);
    schedule.record(other, undefined);
    clock.advance(19 * MINUTE);
    expect([schedule.due(own), schedule.due({ owner: 'ACME', name: 'own' }), schedule.due(other)]).toEqual([false, false, false]);
    clock.advance(MINUTE);
    expect([schedule.due(own), schedule.due(other)]).toEqual([true, false]);
    clock.advance(40 * MINUTE);
    expect(schedule.due(other)).toBe(true);
  });
});

describe("the organization's schedule", () => {
  const ORG_INSTALLATION = 62;
  const globex = (names: string[]): string[] => names.filter((name) => name.startsWith('globex/'));

  beforeAll(async () => {
    world.gh.addInstallation({ id: ORG_INSTALLATION, account: 'globex', repositories: ['globex/.github', 'globex/quiet', 'globex/busy'] });
    const files = await world.encrypt({ 'apps/secrets.yaml': 'password: org-scheduled\n' });
    // The org's .github repository sets 2h for every repository without a schedule of its own.
    await world.gh.createRepo('globex/.github', { files: { '.github/sops-rekey.yml': 'schedule: 2h\n' } });
    await world.gh.createRepo('globex/quiet', { files });
    await world.gh.createRepo('globex/busy', { files: { '.github/sops-rekey.yml': 'schedule: 30m\n', ...files } });
  });

  it("rescans repositories without a schedule at the org's interval, and a repository's own schedule wins", async () => {
    expect(globex(await scheduledRescan())).toEqual(['globex/.github schedule', 'globex/busy schedule', 'globex/quiet schedule']);
    world.clock.advance(31 * MINUTE);
    expect(globex(await scheduledRescan())).toEqual(['globex/busy schedule']);
    // 2 h after the first rescan: the org's interval, well before the app's default of 6 h.
    world.clock.advance(90 * MINUTE);
    expect(globex(await scheduledRescan())).toEqual(['globex/.github schedule', 'globex/busy schedule', 'globex/quiet schedule']);
  });
});

describe('a closed propagation gate', () => {
  const initech = (names: string[]): string[] => names.filter((name) => name.startsWith('initech/'));
  const openPulls = (): number => [...world.gh.state.findRepo('initech', 'waiting')!.issues.values()].filter((i) => i.pull && i.state === 'open').length;

  beforeAll(async () => {
    world.gh.addInstallation({ id: 63, account: 'initech', repositories: ['initech/waiting'] });
    const files = await world.encrypt({ 'apps/secrets.yaml': 'password: gated\n' });
    await world.gh.createRepo('initech/waiting', { files: { '.github/sops-rekey.yml': 'window: 1h\nprobes: 2\n', ...files } });
  });

  it('brings the app back when the gate may open, not at the next interval', async () => {
    // v2 becomes primary; the app first sees it 10 minutes later, so the 1 h window ends 70 minutes after the rotation.
    await rotateKey(world);
    expect(initech(await scheduledRescan())).toEqual(['initech/waiting schedule']);
    expect(openPulls()).toBe(0);
    world.clock.advance(40 * MINUTE);
    expect(initech(await scheduledRescan())).toEqual([]);
    world.clock.advance(25 * MINUTE);
    // 65 minutes after the first look, 5 hours before the default interval: the gate opens, the pull request follows.
    expect(initech(await scheduledRescan())).toEqual(['initech/waiting schedule']);
    expect(openPulls()).toBe(1);
  });
});
