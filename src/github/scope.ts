/**
 * The repository config's `paths.include` / `paths.exclude`: which files the app may touch.
 * Files outside stay in the scan (they still count for the key-version verdicts, since a file
 * still depends on a version whether or not the app may rewrite it) but get no action.
 */
import { posix } from 'node:path';
import type { Plan } from '../rekey/plan.ts';

export interface PathScope {
  readonly include: readonly string[];
  readonly exclude: readonly string[];
}

export function inScope(path: string, scope: PathScope): boolean {
  return scope.include.some((glob) => posix.matchesGlob(path, glob)) && !scope.exclude.some((glob) => posix.matchesGlob(path, glob));
}

/** The plan with every file outside the scope turned into "no action". */
export function scopePlan(plan: Plan, scope: PathScope): Plan {
  return {
    ...plan,
    files: plan.files.map((file) => (inScope(file.file.path, scope) ? file : { ...file, action: { kind: 'none' } })),
  };
}
