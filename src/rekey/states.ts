import type { KeyInventory } from '../kms/inventory.ts';

/**
 * The states of design.md "States of a file", per `gcp_kms` entry and per file, and how an unwrap
 * outcome maps to them. Pure: the outcome and the key inventory come in as data.
 */

export type EntryState =
  /** Unwrapped by the current primary. */
  | { readonly kind: 'current'; readonly version: string | undefined }
  /**
   * Unwrapped by an older version that is still enabled. Cloud KMS does not say which one (its
   * ciphertext format is undocumented), so `candidates` lists the enabled non-primary versions it
   * can be on: exactly one in the usual case of one rotation.
   */
  | { readonly kind: 'stale'; readonly candidates: readonly string[] }
  /** The version is DISABLED or DESTROY_SCHEDULED: Cloud KMS refuses it; `deadline` = destroy_time. */
  | { readonly kind: 'at-risk'; readonly version: string; readonly versionState: string; readonly deadline: string | undefined }
  /** The version is DESTROYED: this entry can never be opened again. */
  | { readonly kind: 'lost'; readonly version: string }
  /** A configuration or network problem (permission, missing key, outage): retry later. */
  | { readonly kind: 'unreachable'; readonly code: string; readonly reason: string };

export type EntryStateKind = EntryState['kind'];

/** Worst first: a file's state is the worst of its entries'. */
export const SEVERITY: readonly EntryStateKind[] = ['lost', 'at-risk', 'unreachable', 'stale', 'current'];

/** The worst of the states in SEVERITY's order; `current` when there are none. */
export function worstState(kinds: Iterable<EntryStateKind>): EntryStateKind {
  let worst: EntryStateKind = 'current';
  for (const kind of kinds) if (SEVERITY.indexOf(kind) < SEVERITY.indexOf(worst)) worst = kind;
  return worst;
}

/** What one Decrypt of an entry gave, without the plaintext (which the classifier never needs). */
export type UnwrapOutcome =
  | { readonly ok: true; readonly usedPrimary: boolean }
  | { readonly ok: false; readonly code: string; readonly reason: string; readonly version?: string; readonly versionState?: string };

/**
 * An entry's state from its Decrypt outcome and the key's inventory. A refusal is `at-risk` or
 * `lost` only when Cloud KMS named the version it refused; any other failure is `unreachable`.
 */
export function entryState(outcome: UnwrapOutcome, inventory: KeyInventory | undefined): EntryState {
  if (outcome.ok) {
    if (outcome.usedPrimary) return { kind: 'current', version: inventory?.primary };
    const candidates = (inventory?.versions ?? [])
      .filter((version) => version.state === 'ENABLED' && !version.isPrimary)
      .map((version) => version.name);
    return { kind: 'stale', candidates };
  }
  if (outcome.code === 'not-enabled' && outcome.version !== undefined) {
    const known = inventory?.versions.find((version) => version.name === outcome.version);
    const versionState = known?.state ?? outcome.versionState ?? 'UNKNOWN';
    if (versionState === 'DESTROYED') return { kind: 'lost', version: outcome.version };
    return { kind: 'at-risk', version: outcome.version, versionState, deadline: known?.destroyTime };
  }
  return { kind: 'unreachable', code: outcome.code, reason: outcome.reason };
}

/**
 * A fingerprint of everything about a key that can change an entry's state: its primary and the
 * state of every version. Cached unwrap outcomes are keyed by it, so a state change invalidates them.
 */
export function inventoryFingerprint(inventory: KeyInventory | undefined): string {
  if (!inventory) return 'unknown';
  return [inventory.primary ?? '', ...inventory.versions.map((v) => `${v.id}:${v.state}`)].join('|');
}
