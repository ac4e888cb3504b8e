import type { KeyManagementServiceClient } from '@google-cloud/kms';
import type { KeySources } from '../keys/data-key.ts';
import type { GateDecision, GatePolicy } from '../kms/gate.ts';
import type { KeyInventoryReader } from '../kms/inventory.ts';
import { actionable, applyPlan, type ApplyOptions, type ApplyResult } from './apply.ts';
import { gateKeys, type GateKeysOptions } from './gate-keys.ts';
import { buildPlan, type Plan, type PlanConfig } from './plan.ts';
import { type RepoScan, scanRepository, type ScanOptions, type UnwrapCache } from './scan-repo.ts';

/**
 * The repository job (design.md "Data flows one way"): scan, classify, gate, plan, and, unless
 * this is a scan or a dry run, apply. The CLI runs it on a working tree; the GitHub App on a clone.
 */

export type JobMode = 'scan' | 'dry-run' | 'apply';

export interface RekeyJobOptions {
  readonly root: string;
  readonly mode: JobMode;
  readonly sources: KeySources;
  readonly inventory: KeyInventoryReader;
  /** For the gate's probe Encrypts by key name. */
  readonly kms: Pick<KeyManagementServiceClient, 'encrypt'>;
  readonly config?: PlanConfig;
  readonly gate?: GatePolicy & Pick<GateKeysOptions, 'clock' | 'probeIntervalMs' | 'sleep' | 'firstSeenPrimary'>;
  readonly cache?: UnwrapCache;
  readonly maxFileSize?: number;
  readonly write?: ApplyOptions['write'];
  readonly now?: Date;
  readonly onProgress?: (done: number, total: number) => void;
  readonly git?: ScanOptions['git'];
}

export interface RekeyJobResult {
  readonly scan: RepoScan;
  readonly gates: ReadonlyMap<string, GateDecision>;
  readonly plan: Plan;
  /** Absent for a scan or a dry run. */
  readonly applied?: ApplyResult;
}

/** Runs the job in `options.mode`; only `apply` writes (through `options.write`, by default in place and atomically). */
export async function runRekeyJob(options: RekeyJobOptions): Promise<RekeyJobResult> {
  const scan = await scanRepository({
    root: options.root,
    sources: options.sources,
    inventory: options.inventory,
    ...(options.cache ? { cache: options.cache } : {}),
    ...(options.maxFileSize === undefined ? {} : { maxFileSize: options.maxFileSize }),
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    ...(options.git ? { git: options.git } : {}),
  });
  const staleKeys = scan.files.flatMap((file) => file.entries.filter((entry) => entry.state.kind === 'stale').map((entry) => entry.key));
  // A scan only reports: it never probes (probes are Encrypt calls, and a scan must stay cheap).
  const gates = options.mode === 'scan' ? new Map<string, GateDecision>() : await gateKeys(staleKeys, scan.inventory, { client: options.kms, ...options.gate });
  const plan = buildPlan({ files: scan.files, inventory: scan.inventory, gates, config: options.config ?? { rewrap: false } });
  if (options.mode !== 'apply' || actionable(plan).length === 0) return { scan, gates, plan };
  const applied = await applyPlan(plan, {
    root: options.root,
    sources: options.sources,
    ...(options.write ? { write: options.write } : {}),
    ...(options.now ? { now: options.now } : {}),
  });
  return { scan, gates, plan, applied };
}
