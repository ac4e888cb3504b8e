import { describeError, SopsRekeyError, UsageError } from './errors.ts';

/**
 * The `sops-rekey` command. Exit codes: 0 success, 1 a file or the job failed (the message names
 * the file and the reason), 2 usage errors, 3 findings reached `scan --fail-on`.
 */

type Command = (argv: string[]) => Promise<number>;

const COMMANDS: Record<string, { summary: string; load: () => Promise<Command> }> = {
  decrypt: { summary: 'decrypt FILE [--output-type json]: print the plaintext, as sops -d does', load: async () => (await import('./cli/decrypt.ts')).decryptCommand },
  rotate: { summary: 'rotate FILE... [--rewrap]: new data key (or, with --rewrap, re-wrap the same one), in place', load: async () => (await import('./cli/rotate.ts')).rotateCommand },
  scan: { summary: 'scan [DIR] [--json] [--fail-on stale|at-risk]: SOPS files, their Cloud KMS key versions, verdicts', load: async () => (await import('./cli/scan.ts')).scanCommand },
  apply: { summary: 'apply [DIR] [--dry-run] [--window 3h] [--probes 5]: re-encrypt once the new primary has propagated', load: async () => (await import('./cli/apply.ts')).applyCommand },
  demo: { summary: 'demo: a key rotation end to end against the built-in Cloud KMS emulator, no credentials needed', load: async () => (await import('./demo/command.ts')).runDemoCommand },
  emulator: { summary: 'emulator [--port N] [--state FILE]: run the local Cloud KMS emulator', load: async () => (await import('./emulator/command.ts')).runEmulatorCommand },
};

const USAGE = `usage: sops-rekey <command> [options]\n\n${Object.entries(COMMANDS)
  .map(([, { summary }]) => `  ${summary}`)
  .join('\n')}\n`;

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(USAGE);
    return name === undefined ? 2 : 0;
  }
  const command = COMMANDS[name];
  if (!command) {
    process.stderr.write(`sops-rekey: unknown command "${name}"\n${USAGE}`);
    return 2;
  }
  try {
    return await (await command.load())(rest);
  } catch (error) {
    process.stderr.write(`sops-rekey ${name}: ${describeError(error)}\n`);
    if (error instanceof UsageError) return 2;
    // Not one of ours: a bug. The stack helps us; it holds no secret (messages never do).
    if (!(error instanceof SopsRekeyError) && error instanceof Error) process.stderr.write(`${error.stack ?? ''}\n`);
    return 1;
  }
}

if (import.meta.main) process.exitCode = await main(process.argv.slice(2));
