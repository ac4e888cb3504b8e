import { readFile } from 'node:fs/promises';
import { UsageError } from '../errors.ts';
import { keySourcesFromEnvironment } from '../keys/sources.ts';
import { decryptFile } from '../rekey/transform.ts';
import type { StoreFormat } from '../sops/store.ts';
import { parseCommandArgs } from './args.ts';

const USAGE = 'sops-rekey decrypt FILE [--input-type yaml|json|dotenv|ini|binary] [--output-type …] [--ignore-mac]';
const FORMATS: readonly StoreFormat[] = ['yaml', 'json', 'dotenv', 'ini', 'binary'];

/** `sops-rekey decrypt FILE`: the plaintext on stdout, as `sops -d` prints it. */
export async function decryptCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    argv,
    { 'input-type': { type: 'string' }, 'output-type': { type: 'string' }, 'ignore-mac': { type: 'boolean' } },
    USAGE,
  );
  if (positionals.length !== 1) throw new UsageError('usage', `decrypt takes exactly one file\nusage: ${USAGE}`);
  const file = positionals[0]!;
  // Flags are checked before any I/O, so a bad flag is a usage error (2) even for a missing file.
  const options = {
    format: formatOption(values['input-type'], '--input-type'),
    outputFormat: formatOption(values['output-type'], '--output-type'),
    ignoreMac: values['ignore-mac'] ?? false,
  };
  const keys = keySourcesFromEnvironment();
  try {
    const plaintext = await decryptFile(await readFile(file), file, keys.sources, options);
    process.stdout.write(plaintext);
    return 0;
  } finally {
    await keys.close();
  }
}

/** A `--input-type`/`--output-type` value as a StoreFormat; a UsageError names the flag otherwise. */
export function formatOption(value: string | undefined, flag: string): StoreFormat | undefined {
  if (value === undefined) return undefined;
  if ((FORMATS as readonly string[]).includes(value)) return value as StoreFormat;
  throw new UsageError('usage', `${flag} must be one of ${FORMATS.join(', ')}`);
}
