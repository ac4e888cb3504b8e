import { UsageError } from '../errors.ts';
import { toReport } from '../rekey/report.ts';
import { SEVERITY, type EntryStateKind } from '../rekey/states.ts';
import { parseCommandArgs } from './args.ts';
import { runJobFromEnvironment } from './job-runner.ts';
import { renderReport } from './render-report.ts';

const USAGE = 'sops-rekey scan [DIR] [--json] [--fail-on stale|at-risk]';

/** Exit code when findings reach `--fail-on`, for CI pipelines. */
export const EXIT_FINDINGS = 3;

/**
 * `sops-rekey scan [DIR]`: every SOPS file, its state per Cloud KMS key version, what would be done,
 * and per key version whether anything still depends on it. Reads only; never probes or writes.
 */
export async function scanCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, { json: { type: 'boolean' }, 'fail-on': { type: 'string' } }, USAGE);
  if (positionals.length > 1) throw new UsageError('usage', `scan takes at most one directory\nusage: ${USAGE}`);
  const failOn = values['fail-on'];
  if (failOn !== undefined && failOn !== 'stale' && failOn !== 'at-risk') throw new UsageError('usage', `--fail-on must be stale or at-risk\nusage: ${USAGE}`);

  const result = await runJobFromEnvironment({ root: positionals[0] ?? '.', mode: 'scan' });
  const report = toReport(result);
  process.stdout.write(values.json ? `${JSON.stringify(report, null, 2)}\n` : renderReport(report));
  if (failOn === undefined) return 0;
  return reaches(report.files.map((f) => f.state), failOn) || (failOn === 'stale' && report.problems.length > 0) ? EXIT_FINDINGS : 0;
}

/**
 * Whether any state is as bad as `threshold` or worse, in SEVERITY's order: `stale` is reached by
 * anything not current, `at-risk` by at-risk and lost files.
 */
function reaches(states: readonly EntryStateKind[], threshold: 'stale' | 'at-risk'): boolean {
  return states.some((state) => SEVERITY.indexOf(state) <= SEVERITY.indexOf(threshold));
}
