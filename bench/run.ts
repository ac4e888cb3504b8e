/**
 * `npm run bench`: runs every benchmark under bench/ in one process, one after the other, and
 * prints a table of figures against their targets. Figures go into the README and docs with this
 * command next to them; no test asserts timings.
 */
import type { Benchmark, BenchFigure } from './result.ts';

const BENCHMARKS: Record<string, () => Promise<{ run: Benchmark }>> = {
  'sops engine: rotate': () => import('./sops-rotate.ts'),
  'Cloud KMS: unwrap throughput': () => import('./kms-unwrap.ts'),
  'rekey: scan a repository': () => import('./scan.ts'),
  'GitHub App: webhooks under load, reconcile 200 repositories': () => import('./github-app.ts'),
};

const only = process.argv.slice(2);
let missed = 0;
for (const [title, load] of Object.entries(BENCHMARKS)) {
  if (only.length > 0 && !only.some((word) => title.toLowerCase().includes(word.toLowerCase()))) continue;
  process.stdout.write(`\n## ${title}\n`);
  const figures: readonly BenchFigure[] = await (await load()).run();
  for (const figure of figures) {
    const verdict = figure.ok === undefined ? '' : figure.ok ? '  ok' : '  MISSED';
    if (figure.ok === false) missed++;
    process.stdout.write(`${figure.name.padEnd(58)} ${String(figure.value).padStart(10)} ${figure.unit.padEnd(4)}${figure.target ? ` (target ${figure.target})` : ''}${verdict}\n`);
  }
}
process.stdout.write(`\n${missed === 0 ? 'all targets met' : `${missed} target(s) missed`}\n`);
