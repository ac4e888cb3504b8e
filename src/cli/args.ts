import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from '../errors.ts';

/** `node:util` parseArgs, with its errors turned into usage errors (exit code 2). */
export function parseCommandArgs<T extends ParseArgsConfig['options']>(argv: string[], options: T, usage: string) {
  try {
    return parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError('usage', `${(error as Error).message}\nusage: ${usage}`);
  }
}

/** Durations as users write them in flags and config: `90s`, `15m`, `3h`, `2d`, or milliseconds. */
export function parseDuration(text: string, flag: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(text.trim());
  if (!match) throw new UsageError('usage', `${flag}: "${text}" is not a duration (e.g. 90s, 15m, 3h)`);
  const unit = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[(match[2] ?? 'ms') as 'ms'];
  return Number(match[1]) * unit;
}
