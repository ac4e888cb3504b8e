import { parseArgs, type ParseArgsConfig } from 'node:util';
import { parseDuration as parseGoDuration } from '../emulator/duration.ts';
import { UsageError } from '../errors.ts';

/** `node:util` parseArgs, with its errors turned into usage errors (exit code 2). */
export function parseCommandArgs<T extends ParseArgsConfig['options']>(argv: string[], options: T, usage: string) {
  try {
    return parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError('usage', `${(error as Error).message}\nusage: ${usage}`);
  }
}

/**
 * A duration flag, spelled as the emulator's `--lag` is (one parser for both): `90s`, `15m`, `3h`,
 * `1h30m`, `2d`, or milliseconds.
 */
export function parseDuration(text: string, flag: string): number {
  const ms = parseGoDuration(text.trim());
  if (ms === undefined) throw new UsageError('usage', `${flag}: "${text}" is not a duration (e.g. 90s, 15m, 3h)`);
  return ms;
}
