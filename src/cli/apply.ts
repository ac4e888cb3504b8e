import { UsageError } from '../errors.ts';
import { DEFAULT_GATE_PROBE_INTERVAL_MS, DEFAULT_GATE_PROBES, DEFAULT_GATE_WINDOW_MS } from '../kms/gate.ts';
import { toReport } from '../rekey/report.ts';
import { parseCommandArgs, parseDuration } from './args.ts';
import { runJobFromEnvironment } from './job-runner.ts';
import { renderReport, renderVersions } from './render-report.ts';

const USAGE = 'sops-rekey apply [DIR] [--dry-run] [--window 3h] [--probes 5] [--probe-interval 5s] [--rewrap] [--json]';

/** Exit code when a gate is closed and files wait for it: nothing was written for them. */
export const EXIT_GATE_CLOSED = 4;

/**
 * `sops-rekey apply [DIR]`: scan, run the propagation gate of every key with stale files, and
 * re-encrypt what the plan says, each file verified before it is written. A closed gate writes
 * nothing for the files waiting on it and says when to retry; urgent rescues do not wait.
 */
export async function applyCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    argv,
    {
      'dry-run': { type: 'boolean' },
      window: { type: 'string' },
      probes: { type: 'string' },
      'probe-interval': { type: 'string' },
      rewrap: { type: 'boolean' },
      json: { type: 'boolean' },
    },
    USAGE,
  );
  if (positionals.length > 1) throw new UsageError('usage', `apply takes at most one directory\nusage: ${USAGE}`);
  const probes = values.probes === undefined ? DEFAULT_GATE_PROBES : Number(values.probes);
  if (!Number.isInteger(probes) || probes < 1) throw new UsageError('usage', `--probes must be a whole number of at least 1\nusage: ${USAGE}`);

  const result = await runJobFromEnvironment({
    root: positionals[0] ?? '.',
    mode: values['dry-run'] ? 'dry-run' : 'apply',
    config: { rewrap: values.rewrap ?? false },
    gate: {
      windowMs: values.window === undefined ? DEFAULT_GATE_WINDOW_MS : parseDuration(values.window, '--window'),
      requiredProbes: probes,
      probeIntervalMs: values['probe-interval'] === undefined ? DEFAULT_GATE_PROBE_INTERVAL_MS : parseDuration(values['probe-interval'], '--probe-interval'),
    },
  });
  const report = toReport(result);
  process.stdout.write(values.json ? `${JSON.stringify(report, null, 2)}\n` : renderReport(report));
  if (!values.json && (report.applied?.applied.length ?? 0) > 0) {
    // The verdicts above describe the tree before re-encryption; say what holds now.
    const after = toReport(await runJobFromEnvironment({ root: positionals[0] ?? '.', mode: 'scan' }));
    process.stdout.write(`\nAfter re-encryption\n${renderVersions(after)}`);
  }
  const waiting = report.files.filter((file) => file.action.kind === 'wait');
  if (waiting.length > 0 && !values.json) {
    const retry = waiting.map((file) => file.action.retryAfter).filter(Boolean).sort()[0];
    process.stderr.write(`gate closed: ${waiting.length} file(s) not re-encrypted yet${retry ? `; retry after ${retry}` : ''}\n`);
  }
  if ((report.applied?.failed.length ?? 0) > 0) return 1;
  return waiting.length > 0 ? EXIT_GATE_CLOSED : 0;
}
