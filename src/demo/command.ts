/**
 * `sops-rekey demo [--fixtures DIR]` (`npm run demo`): the whole story of a key rotation on a
 * fresh machine with no credentials. See story.ts for the steps.
 */
import path from 'node:path';
import { UsageError } from '../errors.ts';
import { runDemo } from './story.ts';
import { styleFor } from './style.ts';

const USAGE = `usage: sops-rekey demo [--fixtures DIR]

Starts a local Cloud KMS emulator, builds a sample Flux repository with SOPS files in a temporary
folder, rotates the keys, and shows scan, gate, apply and the verdict per key version.
  --fixtures DIR   plaintext repository to start from (default: the bundled fixtures/demo-repo)`;

/** The bundled sample repository, found relative to this file so any working directory works. */
export const DEFAULT_DEMO_FIXTURES = path.resolve(import.meta.dirname, '../../fixtures/demo-repo');

export interface DemoCommandIo {
  readonly stdout?: { write(text: string): unknown; readonly isTTY?: boolean };
}

/** Runs the demo; resolves with the exit code (0 when the story went as told). */
export async function runDemoCommand(argv: string[], io: DemoCommandIo = {}): Promise<number> {
  const stdout = io.stdout ?? process.stdout;
  let fixtures = DEFAULT_DEMO_FIXTURES;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--help' || arg === '-h') {
      stdout.write(`${USAGE}\n`);
      return 0;
    }
    if (arg === '--fixtures' || arg.startsWith('--fixtures=')) {
      const value = arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : argv[++i];
      if (!value) throw new UsageError('usage', `--fixtures needs a directory\n${USAGE}`);
      fixtures = path.resolve(value);
      continue;
    }
    throw new UsageError('usage', `unknown option ${JSON.stringify(arg)}\n${USAGE}`);
  }
  const started = performance.now();
  const outcome = await runDemo({ fixtures, style: styleFor(stdout), write: (line) => stdout.write(`${line}\n`) });
  stdout.write(`(${((performance.now() - started) / 1000).toFixed(1)} s; the temporary repository and the emulator are gone)\n`);
  return outcome.problems.length === 0 ? 0 : 1;
}
