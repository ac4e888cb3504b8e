/**
 * The peak RSS of one `sops-rekey` command, as an installed sops-rekey runs it: the compiled
 * package (dist/, built by `npm run bench` first) in a process of its own with type stripping off.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

const RUNNER = fileURLToPath(new URL('./peak-rss.js', import.meta.url));

export async function peakRssOf(args: readonly string[], env: Readonly<Record<string, string>> = {}): Promise<{ mib: number; exitCode: number }> {
  // The command's stdout (a 2,000-file report) is produced, as users get it, and dropped here.
  const child = spawn(process.execPath, ['--no-experimental-strip-types', RUNNER, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const [exitCode] = (await once(child, 'close')) as [number | null];
  const kib = /peak-rss-kib (\d+)\n$/u.exec(stderr)?.[1];
  if (kib === undefined) throw new Error(`sops-rekey ${args.join(' ')} did not report its peak RSS (exit ${exitCode}):\n${stderr.slice(-2000)}`);
  return { mib: Number(kib) / 1024, exitCode: exitCode ?? -1 };
}
