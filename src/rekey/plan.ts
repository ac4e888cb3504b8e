import type { GateDecision } from '../kms/gate.ts';
import type { KeyInventory } from '../kms/inventory.ts';
import type { MasterKeyType } from '../sops/master-key.ts';
import type { StoreFormat } from '../sops/store.ts';
import { type EntryState, type EntryStateKind, worstState } from './states.ts';

/**
 * The plan (design.md "Shape of the code"): a pure function from what the scan found, the key
 * inventory, the gate decisions and the config to what should happen to each file and what can be
 * said about each key version. A dry run renders it; apply carries it out.
 */

export interface GcpEntry {
  /** The CryptoKey (`resource_id`). */
  readonly key: string;
  readonly group: number;
  readonly state: EntryState;
}

export interface ScannedFile {
  /** Repository-relative POSIX path. */
  readonly path: string;
  readonly format: StoreFormat;
  readonly entries: readonly GcpEntry[];
  /** Master-key types in the file this app cannot wrap (AWS KMS, Azure Key Vault, Vault, HCKMS). */
  readonly foreignKeyTypes: readonly MasterKeyType[];
  /** The data key can be had without the failing Cloud KMS entries (another entry, age or PGP). */
  readonly openable: boolean;
  /** Flux Kustomizations (`namespace/name`) that decrypt this file. */
  readonly kustomizations: readonly string[];
}

export interface PlanConfig {
  /** Re-wrap the same data key instead of rotating it (repository config `rewrap`). */
  readonly rewrap: boolean;
}

export interface PlanInput {
  readonly files: readonly ScannedFile[];
  readonly inventory: ReadonlyMap<string, KeyInventory>;
  /** Gate decisions for the keys that have stale entries. */
  readonly gates: ReadonlyMap<string, GateDecision>;
  readonly config: PlanConfig;
}

export type Method = 'rotate' | 'rewrap';

export type FileAction =
  | { readonly kind: 'none' }
  /** Stale entries, gate open: re-encrypt now. */
  | { readonly kind: 'rekey'; readonly method: Method; readonly keys: readonly string[]; readonly target: ReadonlyMap<string, string> }
  /** Stale entries, gate closed for at least one of their keys: wait until `retryAfterMs`. */
  | { readonly kind: 'wait'; readonly keys: readonly string[]; readonly retryAfterMs: number | undefined }
  /**
   * At-risk or lost entries, but the data key can still be had: re-encrypt now, naming the primary
   * explicitly, without waiting for the gate (the deadline matters more). Urgent.
   */
  | { readonly kind: 'rescue'; readonly method: Method; readonly keys: readonly string[]; readonly target: ReadonlyMap<string, string>; readonly deadline: string | undefined }
  /** Nothing this app can do on its own: the reason, the deadline and what an operator can run. */
  | { readonly kind: 'blocked'; readonly reason: string; readonly deadline: string | undefined; readonly commands: readonly string[] };

export interface FilePlan {
  readonly file: ScannedFile;
  readonly state: EntryStateKind;
  readonly action: FileAction;
}

export type VersionVerdict = 'primary' | 'safe-to-disable' | 'safe-to-destroy' | 'scheduled-for-destruction' | 'destroyed' | 'in-use' | 'inactive';

export interface VersionReport {
  readonly key: string;
  readonly version: string;
  readonly state: string;
  readonly verdict: VersionVerdict;
  /** Files known to depend on this version. */
  readonly dependents: readonly string[];
  /** Files on an older enabled version that may be this one (Cloud KMS does not say which). */
  readonly possibleDependents: readonly string[];
  readonly destroyTime: string | undefined;
  /** One sentence for the table: "safe to disable", "3 files still depend on it", ... */
  readonly summary: string;
}

export interface Plan {
  readonly files: readonly FilePlan[];
  readonly versions: readonly VersionReport[];
}

/** What to do with each file, and a verdict for every version of every inventoried key. Pure. */
export function buildPlan(input: PlanInput): Plan {
  const files = input.files.map((file) => planFile(file, input));
  return { files, versions: versionReports(input) };
}

function planFile(file: ScannedFile, input: PlanInput): FilePlan {
  const state = worstState(file.entries.map((entry) => entry.state.kind));
  const keysIn = (kinds: readonly EntryStateKind[]) => unique(file.entries.filter((e) => kinds.includes(e.state.kind)).map((e) => e.key));
  const method: Method = input.config.rewrap || file.foreignKeyTypes.length > 0 ? 'rewrap' : 'rotate';
  const plan = (action: FileAction): FilePlan => ({ file, state, action });

  if (state === 'current' || file.entries.length === 0) return plan({ kind: 'none' });

  if (state === 'lost' || state === 'at-risk') {
    const failing = file.entries.filter((e) => e.state.kind === 'lost' || e.state.kind === 'at-risk');
    const deadline = earliest(failing.map((e) => (e.state.kind === 'at-risk' ? e.state.deadline : undefined)));
    const keys = unique(file.entries.map((e) => e.key));
    const target = primaries(keys, input.inventory);
    const noPrimary = keys.filter((key) => !target.has(key));
    if (file.openable && noPrimary.length === 0) return plan({ kind: 'rescue', method, keys, target, deadline });
    const reason = file.openable
      ? `no enabled primary version to re-encrypt to for ${noPrimary.join(', ')}`
      : state === 'lost'
        ? 'the data key was wrapped only by destroyed key versions and no other master key of the file is available to this app'
        : 'no other master key of the file is available to this app; the key version must be restored and enabled before it can be re-encrypted';
    return plan({ kind: 'blocked', reason, deadline, commands: failing.flatMap((e) => restoreCommands(e.state)) });
  }

  if (state === 'unreachable') {
    const reasons = unique(file.entries.flatMap((e) => (e.state.kind === 'unreachable' ? [`${e.key}: ${e.state.reason}`] : [])));
    return plan({ kind: 'blocked', reason: `Cloud KMS could not be asked (${reasons.join('; ')}); will retry`, deadline: undefined, commands: [] });
  }

  // Stale: wait for every key's gate, then re-encrypt to the gated primary.
  const staleKeys = keysIn(['stale']);
  const closed = staleKeys.map((key) => input.gates.get(key)).filter((gate) => gate === undefined || !gate.open);
  if (closed.length > 0) {
    const retryAfterMs = closed.every((gate) => gate?.retryAfterMs !== undefined)
      ? Math.max(...closed.map((gate) => gate!.retryAfterMs!))
      : undefined;
    return plan({ kind: 'wait', keys: staleKeys, retryAfterMs });
  }
  const keys = unique(file.entries.map((e) => e.key));
  const target = new Map([...primaries(keys, input.inventory)].map(([key, version]) => [key, input.gates.get(key)?.primary ?? version]));
  return plan({ kind: 'rekey', method, keys, target });
}

/** The primary version of each key, when it is enabled. */
function primaries(keys: readonly string[], inventory: ReadonlyMap<string, KeyInventory>): Map<string, string> {
  const out = new Map<string, string>();
  for (const key of keys) {
    const entry = inventory.get(key);
    const primary = entry?.versions.find((version) => version.isPrimary && version.state === 'ENABLED');
    if (primary) out.set(key, primary.name);
  }
  return out;
}

/** The exact operator steps, never run by this app (design.md invariant 3). */
function restoreCommands(state: EntryState): string[] {
  if (state.kind !== 'at-risk') return [];
  const parts = /^projects\/([^/]+)\/locations\/([^/]+)\/keyRings\/([^/]+)\/cryptoKeys\/([^/]+)\/cryptoKeyVersions\/([^/]+)$/.exec(state.version);
  if (!parts) return [];
  const [, project, location, ring, key, id] = parts;
  const where = `--key ${key} --keyring ${ring} --location ${location} --project ${project}`;
  const enable = `gcloud kms keys versions enable ${id} ${where}`;
  return state.versionState === 'DESTROY_SCHEDULED' ? [`gcloud kms keys versions restore ${id} ${where}`, enable] : [enable];
}

function versionReports(input: PlanInput): VersionReport[] {
  const reports: VersionReport[] = [];
  for (const [key, inventory] of input.inventory) {
    for (const version of inventory.versions) {
      const dependents = new Set<string>();
      const possible = new Set<string>();
      for (const file of input.files) {
        for (const entry of file.entries) {
          if (entry.key !== key) continue;
          const state = entry.state;
          if ((state.kind === 'at-risk' || state.kind === 'lost') && state.version === version.name) dependents.add(file.path);
          if (state.kind === 'current' && version.isPrimary) dependents.add(file.path);
          if (state.kind === 'stale' && state.candidates.includes(version.name)) {
            (state.candidates.length === 1 ? dependents : possible).add(file.path);
          }
        }
      }
      for (const path of dependents) possible.delete(path);
      const verdict = verdictFor(version.state, version.isPrimary, dependents.size + possible.size);
      reports.push({
        key,
        version: version.name,
        state: version.state,
        verdict,
        dependents: [...dependents].sort(),
        possibleDependents: [...possible].sort(),
        destroyTime: version.destroyTime,
        summary: summaryFor(verdict, dependents.size, possible.size),
      });
    }
  }
  return reports;
}

function verdictFor(state: string, isPrimary: boolean, users: number): VersionVerdict {
  if (isPrimary) return 'primary';
  if (state === 'DESTROYED') return 'destroyed';
  if (users > 0) return 'in-use';
  if (state === 'ENABLED') return 'safe-to-disable';
  if (state === 'DISABLED') return 'safe-to-destroy';
  if (state === 'DESTROY_SCHEDULED') return 'scheduled-for-destruction';
  return 'inactive';
}

function summaryFor(verdict: VersionVerdict, known: number, possible: number): string {
  const files = (n: number) => `${n} file${n === 1 ? '' : 's'}`;
  switch (verdict) {
    case 'primary':
      return known === 0 ? 'primary' : `primary; ${files(known)} on it`;
    case 'safe-to-disable':
      return 'no file depends on it: safe to disable';
    case 'safe-to-destroy':
      return 'no file depends on it: safe to destroy';
    case 'scheduled-for-destruction':
      return 'scheduled for destruction; no file depends on it';
    case 'destroyed':
      return known === 0 ? 'destroyed; no file depends on it' : `destroyed; ${files(known)} can no longer be opened through it`;
    case 'in-use':
      return possible === 0
        ? `${files(known)} still depend${known === 1 ? 's' : ''} on it`
        : `${files(known + possible)} may still depend on it (${files(possible)} on an older version Cloud KMS does not name)`;
    case 'inactive':
      return 'not usable; no file depends on it';
  }
}

function earliest(times: readonly (string | undefined)[]): string | undefined {
  const known = times.filter((t): t is string => t !== undefined).sort();
  return known[0];
}

const unique = <T>(items: readonly T[]): T[] => [...new Set(items)];
