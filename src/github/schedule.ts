/**
 * Per-repository rescan intervals. A repository's `schedule` (its config, or the organization's)
 * says how often it is rescanned without a webhook; repositories that set none use the app's
 * default (`SOPS_REKEY_RECONCILE_INTERVAL`). The reconciler looks often (`tickMs`) and enqueues
 * only the repositories that are due. Any job counts as a scan, so a push restarts the interval.
 * A job that found a closed propagation gate asks to come back when it may open, sooner than
 * its interval, so the pull request follows the gate within a tick rather than hours later.
 *
 * Kept in memory: after a restart every repository is due once, as before.
 */
import { repoKey, type RepoRef } from './repo-ref.ts';

/** The shortest `schedule` the config accepts; the reconciler looks a few times per such interval. */
export const MIN_SCHEDULE_MS = 15 * 60_000;

export interface RescanScheduleOptions {
  /** Interval of repositories whose config sets no `schedule`. */
  readonly defaultMs: number;
  /** Epoch ms; the wall clock by default (tests drive it). */
  readonly clock?: { now(): number };
}

interface LastRun {
  readonly atMs: number;
  readonly intervalMs: number;
  readonly retryAtMs: number | undefined;
}

export class RescanSchedule {
  readonly defaultMs: number;
  private readonly clock: { now(): number };
  private readonly lastRuns = new Map<string, LastRun>();

  constructor(options: RescanScheduleOptions) {
    this.defaultMs = options.defaultMs;
    this.clock = options.clock ?? Date;
  }

  /**
   * How often the reconciler should look: a third of the shortest allowed schedule (or of the
   * default, if shorter), so a repository is rescanned at most a third of its interval late.
   */
  get tickMs(): number {
    return Math.max(1000, Math.floor(Math.min(this.defaultMs, MIN_SCHEDULE_MS) / 3));
  }

  /**
   * A job for `repo` finished now. `intervalMs` is its config's `schedule`, undefined when it sets
   * none or could not be read (then the default applies); `retryAtMs`, when a closed gate may open.
   */
  record(repo: Pick<RepoRef, 'owner' | 'name'>, intervalMs: number | undefined, retryAtMs?: number): void {
    this.lastRuns.set(repoKey(repo), { atMs: this.clock.now(), intervalMs: intervalMs ?? this.defaultMs, retryAtMs });
  }

  /**
   * Whether a scheduled rescan of `repo` is due: never scanned by this process, its interval
   * passed, or a gate it waits for may open now.
   */
  due(repo: Pick<RepoRef, 'owner' | 'name'>): boolean {
    const last = this.lastRuns.get(repoKey(repo));
    if (last === undefined) return true;
    const now = this.clock.now();
    return now - last.atMs >= last.intervalMs || (last.retryAtMs !== undefined && now >= last.retryAtMs);
  }
}
