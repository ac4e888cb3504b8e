import type { GateDecision } from '../kms/gate.ts';
import type { ApplyResult } from './apply.ts';
import type { RekeyJobResult } from './job.ts';
import type { FileAction, FilePlan } from './plan.ts';
import type { EntryState, EntryStateKind } from './states.ts';

/**
 * The job's result as plain data: the documented JSON of `sops-rekey scan --json` (docs/scan-json.md)
 * and what the text renderer, the PR body and the dashboard are drawn from. Holds no secret.
 */

export interface ReportEntry {
  readonly key: string;
  readonly group: number;
  readonly state: EntryState['kind'];
  /** The version, when known: the primary for current entries, the failing one otherwise. */
  readonly version?: string;
  /** Stale entries: the enabled older versions it may be on. */
  readonly candidates?: readonly string[];
  readonly versionState?: string;
  readonly deadline?: string;
  readonly reason?: string;
}

export interface ReportAction {
  readonly kind: FileAction['kind'];
  readonly method?: string;
  readonly urgent?: boolean;
  readonly to?: readonly string[];
  readonly deadline?: string;
  readonly retryAfter?: string;
  readonly reason?: string;
  readonly commands?: readonly string[];
}

export interface ReportFile {
  readonly path: string;
  readonly format: string;
  readonly state: EntryStateKind;
  readonly action: ReportAction;
  readonly entries: readonly ReportEntry[];
  readonly kustomizations: readonly string[];
  readonly foreignKeyTypes: readonly string[];
}

export interface ReportGate {
  readonly key: string;
  readonly open: boolean;
  readonly reason: string;
  readonly explanation: string;
  readonly primary: string;
  readonly primarySince: string;
  readonly windowEndsAt: string;
  readonly retryAfter?: string;
  readonly probes: readonly { readonly at: string; readonly reported?: string; readonly error?: string }[];
}

export interface Report {
  readonly files: readonly ReportFile[];
  readonly problems: readonly { readonly path: string; readonly code: string; readonly reason: string }[];
  readonly skipped: readonly { readonly path: string; readonly reason: string; readonly size?: number }[];
  readonly versions: readonly {
    readonly key: string;
    readonly version: string;
    readonly state: string;
    readonly verdict: string;
    readonly summary: string;
    readonly dependents: readonly string[];
    readonly possibleDependents: readonly string[];
    readonly destroyTime?: string;
  }[];
  readonly gates: readonly ReportGate[];
  readonly ruleNotes: readonly { readonly path: string; readonly config: string; readonly missing: readonly string[]; readonly extra: readonly string[] }[];
  readonly inventoryFailures: readonly { readonly key: string; readonly reason: string }[];
  readonly applied?: ApplyResult;
  readonly kmsDecryptCalls: number;
}

/** The job result as the documented report (docs/scan-json.md); times as ISO 8601. */
export function toReport(result: RekeyJobResult): Report {
  return {
    files: result.plan.files.map(reportFile),
    problems: result.scan.problems,
    skipped: result.scan.skipped.map((s) => ({ path: s.path, reason: s.reason, ...(s.size === undefined ? {} : { size: s.size }) })),
    versions: result.plan.versions.map((v) => ({
      key: v.key,
      version: v.version,
      state: v.state,
      verdict: v.verdict,
      summary: v.summary,
      dependents: v.dependents,
      possibleDependents: v.possibleDependents,
      ...(v.destroyTime === undefined ? {} : { destroyTime: v.destroyTime }),
    })),
    gates: [...result.gates.values()].map(reportGate),
    ruleNotes: result.scan.ruleNotes,
    inventoryFailures: result.scan.inventoryFailures,
    ...(result.applied ? { applied: result.applied } : {}),
    kmsDecryptCalls: result.scan.decryptCalls,
  };
}

function reportFile({ file, state, action }: FilePlan): ReportFile {
  return {
    path: file.path,
    format: file.format,
    state,
    action: reportAction(action),
    entries: file.entries.map(({ key, group, state: s }) => ({ key, group, state: s.kind, ...entryDetails(s) })),
    kustomizations: file.kustomizations,
    foreignKeyTypes: file.foreignKeyTypes,
  };
}

function entryDetails(state: EntryState): Omit<ReportEntry, 'key' | 'group' | 'state'> {
  switch (state.kind) {
    case 'current':
      return state.version === undefined ? {} : { version: state.version };
    case 'stale':
      return { candidates: state.candidates, ...(state.candidates.length === 1 ? { version: state.candidates[0]! } : {}) };
    case 'at-risk':
      return { version: state.version, versionState: state.versionState, ...(state.deadline ? { deadline: state.deadline } : {}) };
    case 'lost':
      return { version: state.version, versionState: 'DESTROYED' };
    case 'unreachable':
      return { reason: state.reason };
  }
}

function reportAction(action: FileAction): ReportAction {
  switch (action.kind) {
    case 'none':
      return { kind: 'none' };
    case 'rekey':
      return { kind: 'rekey', method: action.method, urgent: false, to: [...action.target.values()] };
    case 'rescue':
      return { kind: 'rescue', method: action.method, urgent: true, to: [...action.target.values()], ...(action.deadline ? { deadline: action.deadline } : {}) };
    case 'wait':
      return { kind: 'wait', ...(action.retryAfterMs === undefined ? {} : { retryAfter: iso(action.retryAfterMs) }) };
    case 'blocked':
      return { kind: 'blocked', reason: action.reason, commands: action.commands, ...(action.deadline ? { deadline: action.deadline } : {}) };
  }
}

function reportGate(gate: GateDecision): ReportGate {
  return {
    key: gate.key,
    open: gate.open,
    reason: gate.reason,
    explanation: gate.explanation,
    primary: gate.primary,
    primarySince: iso(gate.primarySinceMs),
    windowEndsAt: iso(gate.windowEndsAtMs),
    ...(gate.retryAfterMs === undefined ? {} : { retryAfter: iso(gate.retryAfterMs) }),
    probes: gate.probes.map((p) => ({ at: iso(p.atMs), ...(p.reported ? { reported: p.reported } : {}), ...(p.error ? { error: p.error } : {}) })),
  };
}

const iso = (ms: number): string => new Date(ms).toISOString();
