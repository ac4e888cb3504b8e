/**
 * `sops-rekey emulator [--port N] [--state FILE] [--lag DURATION] [--lag-fraction F]
 * [--deny RESOURCE[=PERMISSION,...]]...`: runs the local Cloud KMS emulator until SIGINT or
 * SIGTERM, printing the KMS_EMULATOR_HOST line other processes need. `--deny` makes calls on a
 * resource (and below it) fail with PERMISSION_DENIED, for all permissions or the ones listed.
 */
import { UsageError } from '../errors.ts';
import { parseDuration } from './duration.ts';
import { checkDenials } from './access.ts';
import { startEmulator, type EmulatorOptions } from './server.ts';

const USAGE = 'usage: sops-rekey emulator [--port N] [--state FILE] [--lag DURATION] [--lag-fraction F] [--deny RESOURCE[=PERMISSION,...]]...';

/** Reads the options; throws UsageError naming the bad one. */
export function parseEmulatorArgs(argv: readonly string[]): EmulatorOptions {
  const options: EmulatorOptions = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const eq = arg.indexOf('=');
    const flag = arg.startsWith('--') && eq > 0 ? arg.slice(0, eq) : arg;
    const inline = flag === arg ? undefined : arg.slice(eq + 1);
    const value = (): string => {
      const v = inline ?? argv[++i];
      if (v === undefined) throw new UsageError('usage', `${flag} needs a value\n${USAGE}`);
      return v;
    };
    switch (flag) {
      case '--port': {
        const text = value();
        const port = Number(text);
        if (!/^\d+$/.test(text) || port > 65535) throw new UsageError('usage', `--port must be 0..65535, got ${JSON.stringify(text)}`);
        options.port = port;
        break;
      }
      case '--state':
        options.stateFile = value();
        break;
      case '--lag': {
        const text = value();
        const ms = parseDuration(text);
        if (ms === undefined) throw new UsageError('usage', `--lag must be a duration such as 90s, 5m or 3h, got ${JSON.stringify(text)}`);
        options.propagationLagMs = ms;
        break;
      }
      case '--lag-fraction': {
        const text = value();
        const fraction = Number(text);
        if (text === '' || !(fraction >= 0 && fraction <= 1)) throw new UsageError('usage', `--lag-fraction must be between 0 and 1, got ${JSON.stringify(text)}`);
        options.lagFraction = fraction;
        break;
      }
      case '--deny': {
        const text = value();
        const at = text.indexOf('=');
        const denial = at < 0 ? { resource: text } : { resource: text.slice(0, at), permissions: text.slice(at + 1).split(',') };
        try {
          checkDenials([denial]);
        } catch (error) {
          throw new UsageError('usage', `--deny: ${(error as Error).message}`);
        }
        options.denials = [...(options.denials ?? []), denial];
        break;
      }
      default:
        throw new UsageError('usage', `unknown option ${JSON.stringify(arg)}\n${USAGE}`);
    }
  }
  return options;
}

export interface EmulatorCommandIo {
  readonly stdout?: (line: string) => void;
  /** Stops the emulator when aborted (tests); SIGINT and SIGTERM always do. */
  readonly signal?: AbortSignal;
}

/** Runs the emulator until a signal; resolves with the exit code. */
export async function runEmulatorCommand(argv: string[], io: EmulatorCommandIo = {}): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    (io.stdout ?? ((l) => process.stdout.write(l)))(`${USAGE}\n`);
    return 0;
  }
  const options = parseEmulatorArgs(argv);
  const emulator = await startEmulator(options);
  const write = io.stdout ?? ((line: string) => process.stdout.write(line));
  write(`KMS_EMULATOR_HOST=${emulator.host}\n`);

  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      io.signal?.removeEventListener('abort', stop);
      resolve();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    if (io.signal?.aborted) stop();
    else io.signal?.addEventListener('abort', stop);
  });
  await emulator.close();
  return 0;
}
