import { describe, expect, it } from 'vitest';
import { runDemoCommand } from '../../src/demo/command.ts';
import { UsageError } from '../../src/errors.ts';
import { runCli } from '../support/cli.ts';

const CANARY = 'demo-canary-5f3a9c1e';

/** `sops-rekey demo` in a child process, as `npm run demo` runs it: no credentials, output to a pipe. */
const runDemoProcess = () => runCli(['demo']);

describe('sops-rekey demo', () => {
  it('runs with no credentials, exits 0, prints the verdicts and never a secret value', async () => {
    const result = await runDemoProcess();
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
    expect(result.stdout).not.toContain(CANARY);
    expect(result.stdout).toMatch(/^ {2}sops-rekey-demo\/flux-secrets +1 +ENABLED +no file depends on it: safe to disable$/m);
    expect(result.stdout).toMatch(/^ {2}sops-rekey-demo\/legacy +1 +DESTROY_SCHEDULED +scheduled for destruction; no file depends on it$/m);
    expect(result.stdout).toContain('Done: every file is on the new primary');
    // Not a terminal: no colour codes.
    expect(result.stdout).not.toContain('\u001b[');
  });

  it('prints its usage with --help and refuses unknown options', async () => {
    let printed = '';
    expect(await runDemoCommand(['--help'], { stdout: { write: (text: string) => (printed += text) } })).toBe(0);
    expect(printed).toContain('usage: sops-rekey demo');
    await expect(runDemoCommand(['--fast'])).rejects.toThrow(UsageError);
  });
});
