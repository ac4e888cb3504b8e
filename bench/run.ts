/**
 * `npm run bench`: runs every benchmark under bench/ one after the other, each in a process of its
 * own, and prints a table of figures against their targets. Figures go into the README and docs
 * with this command next to them; no test asserts timings.
 *
 * A process per benchmark so that none inherits another's heap: the rotation leaves a large old
 * generation behind, whose collections then landed in the next benchmark's timed calls.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { BenchFigure } from './result.ts';

/** Title → module; each module prints its figures as JSON lines when run as the main module. */
const BENCHMARKS: Record<string, string> = {
  'sops engine: rotate': './sops-rotate.ts',
  'Cloud KMS: unwrap throughput': './kms-unwrap.ts',
  'rekey: scan a repository': './scan.ts',
  'GitHub App: webhooks under load, reconcile 200 repositories': './github-app.ts',
};

async function runInChild(module: string): Promise<BenchFigure[]> {
  const file = fileURLToPath(new URL(module, import.meta.url));
  const { stdout } = await promisify(execFile)(process.execPath, [file], { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 });
  return stdout
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as BenchFigure);
}

const only = process.argv.slice(2);
let missed = 0;
for (const [title, module] of Object.entries(BENCHMARKS)) {
  if (only.length > 0 && !only.some((word) => title.toLowerCase().includes(word.toLowerCase()))) continue;
  process.stdout.write(`\n## ${title}\n`);
  for (const figure of await runInChild(module)) {
    const verdict = figure.ok === undefined ? '' : figure.ok ? '  ok' : '  MISSED';
    if (figure.ok === false) missed++;
    process.stdout.write(`${figure.name.padEnd(58)} ${String(figure.value).padStart(10)} ${figure.unit.padEnd(4)}${figure.target ? ` (target ${figure.target})` : ''}${verdict}\n`);
  }
}
process.stdout.write(`\n${missed === 0 ? 'all targets met' : `${missed} target(s) missed`}\n`);
