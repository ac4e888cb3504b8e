import { readFile } from 'node:fs/promises';
import { describeError, UsageError } from '../errors.ts';
import { writeFileAtomic } from '../io/atomic-write.ts';
import { keySourcesFromEnvironment } from '../keys/sources.ts';
import { rewrapFile, rotateFile } from '../rekey/transform.ts';
import { parseCommandArgs } from './args.ts';
import { formatOption } from './decrypt.ts';

const USAGE = 'sops-rekey rotate FILE... [--rewrap] [--input-type yaml|json|dotenv|ini|binary]';

/**
 * `sops-rekey rotate FILE...`: each file gets a new data key (or, with `--rewrap`, the same one
 * re-wrapped), verified, then written in place atomically. A failed file is left untouched and the
 * others still go on; exit 1 if any failed.
 */
export async function rotateCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, { rewrap: { type: 'boolean' }, 'input-type': { type: 'string' } }, USAGE);
  if (positionals.length === 0) throw new UsageError('usage', `rotate needs at least one file\nusage: ${USAGE}`);
  const format = formatOption(values['input-type'], '--input-type');
  const keys = keySourcesFromEnvironment();
  const transform = values.rewrap ? rewrapFile : rotateFile;
  let failed = 0;
  try {
    for (const file of positionals) {
      try {
        const { bytes } = await transform(await readFile(file), file, keys.sources, format ? { format } : {});
        await writeFileAtomic(file, bytes);
        process.stderr.write(`${values.rewrap ? 'rewrapped' : 'rotated'} ${file}\n`);
      } catch (error) {
        failed++;
        process.stderr.write(`sops-rekey rotate: ${describeError(error)}\n`);
      }
    }
  } finally {
    await keys.close();
  }
  return failed === 0 ? 0 : 1;
}
