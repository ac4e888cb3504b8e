import type { KeyManagementServiceClient } from '@google-cloud/kms';
import { type Clock, type GateDecision, type GatePolicy, runGate } from '../kms/gate.ts';
import type { KeyInventory } from '../kms/inventory.ts';

export interface GateKeysOptions extends GatePolicy {
  readonly client: Pick<KeyManagementServiceClient, 'encrypt'>;
  readonly clock?: Clock;
  readonly probeIntervalMs?: number;
  readonly sleep?: (ms: number) => Promise<void>;
  /**
   * When the app first saw `primary` as the primary of `key` (epoch ms), if it keeps such a
   * record (the GitHub App does, in its dashboard). Otherwise the version's `create_time` is used:
   * right for a primary made by rotation, early for an old version promoted by hand (the probes
   * still catch a primary that has not propagated).
   */
  readonly firstSeenPrimary?: (key: string, primary: string) => number | undefined;
}

/** Runs the propagation gate of each key (design.md, timeline t1), one key at a time. */
export async function gateKeys(keys: Iterable<string>, inventory: ReadonlyMap<string, KeyInventory>, options: GateKeysOptions): Promise<Map<string, GateDecision>> {
  const decisions = new Map<string, GateDecision>();
  for (const key of new Set(keys)) {
    const primary = inventory.get(key)?.versions.find((version) => version.isPrimary);
    if (!primary) continue;
    const created = primary.createTime === undefined ? undefined : Date.parse(primary.createTime);
    const primarySinceMs = options.firstSeenPrimary?.(key, primary.name) ?? created ?? (options.clock ?? Date).now();
    decisions.set(key, await runGate({ ...options, key, primary: primary.name, primarySinceMs }));
  }
  return decisions;
}
