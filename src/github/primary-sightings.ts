/**
 * When the app first saw each key's primary version, kept in a hidden marker of the dashboard
 * issue (the app has no database). The propagation gate measures its window from the moment a
 * version became primary; Cloud KMS only tells when a version was *created*. For a version made
 * primary when it was created (rotation) that is the same moment. For an older version promoted
 * by hand it is not: its `create_time` may be months old, and a window measured from it would
 * open at once, before the promotion has propagated. So when the app sees a new primary that
 * existed before the previous primary was seen, or that is older than it, the gate measures from
 * the first sighting instead.
 *
 * Records change only when a primary changes, so the dashboard stays unchanged between runs.
 */
import { z } from 'zod';
import type { KeyInventory } from '../kms/inventory.ts';

export const SIGHTINGS_MARKER_PREFIX = '<!-- sops-rekey:primaries ';

export const PrimarySighting = z.object({
  /** The primary CryptoKeyVersion name. */
  primary: z.string().min(1),
  /** ISO 8601: when the app first saw it as primary. */
  firstSeen: z.iso.datetime(),
  /** It was promoted by hand: the gate measures from `firstSeen`, not from its create_time. */
  byHand: z.boolean(),
});
export type PrimarySighting = z.infer<typeof PrimarySighting>;

const Sightings = z.record(z.string(), PrimarySighting);

/** CryptoKey name → what the app saw. */
export type Sightings = ReadonlyMap<string, PrimarySighting>;

/** The sightings in a dashboard body; empty when there is none or it was edited beyond use. */
export function parseSightings(body: string): Map<string, PrimarySighting> {
  const start = body.lastIndexOf(SIGHTINGS_MARKER_PREFIX);
  if (start < 0) return new Map();
  const end = body.indexOf(' -->', start);
  if (end < 0) return new Map();
  try {
    const parsed = Sightings.safeParse(JSON.parse(body.slice(start + SIGHTINGS_MARKER_PREFIX.length, end)));
    return parsed.success ? new Map(Object.entries(parsed.data)) : new Map();
  } catch {
    return new Map();
  }
}

/** The hidden marker line, keys sorted so the same sightings always render the same. */
export function renderSightings(sightings: Sightings): string {
  const sorted = Object.fromEntries([...sightings].sort(([a], [b]) => a.localeCompare(b)));
  return `${SIGHTINGS_MARKER_PREFIX}${JSON.stringify(sorted)} -->`;
}

/**
 * The sightings after looking at `inventories` at `nowMs`: a key whose primary is unchanged keeps
 * its record; a new primary is recorded as first seen now, marked `byHand` when it was created
 * before the previous primary was first seen or has a lower version number (a rollback). A key
 * seen for the first time has nothing to compare with: its create_time stands (the probes still
 * catch a primary that has not propagated). Keys not in `inventories` are kept from `previous`
 * only when `keepOthers` (the early pass, before the scan has named every key in use).
 */
export function updateSightings(previous: Sightings, inventories: Iterable<KeyInventory>, nowMs: number, keepOthers = false): Map<string, PrimarySighting> {
  const next = new Map<string, PrimarySighting>(keepOthers ? previous : []);
  const firstSeen = new Date(nowMs).toISOString();
  for (const inventory of inventories) {
    const primary = inventory.versions.find((v) => v.isPrimary);
    if (!primary) continue;
    const before = previous.get(inventory.key);
    if (before?.primary === primary.name) {
      next.set(inventory.key, before);
      continue;
    }
    const byHand =
      before !== undefined &&
      ((primary.createTime !== undefined && Date.parse(primary.createTime) < Date.parse(before.firstSeen)) ||
        versionNumber(primary.name) < versionNumber(before.primary));
    next.set(inventory.key, { primary: primary.name, firstSeen, byHand });
  }
  return next;
}

/**
 * What the gate's `firstSeenPrimary` answers: the first sighting of a version promoted by hand,
 * and nothing otherwise (the gate then uses the version's create_time).
 */
export function primarySince(sightings: Sightings, key: string, primary: string): number | undefined {
  const sighting = sightings.get(key);
  if (!sighting || sighting.primary !== primary || !sighting.byHand) return undefined;
  return Date.parse(sighting.firstSeen);
}

function versionNumber(name: string): number {
  const id = Number(name.slice(name.lastIndexOf('/') + 1));
  return Number.isInteger(id) ? id : Number.NaN;
}
