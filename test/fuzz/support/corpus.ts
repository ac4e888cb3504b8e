/** Age identities of the shared vectors, for commands that read keys from the environment. */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { VECTORS_DIR } from '../../support/vectors.ts';

export function vectorAgeIdentities(): string[] {
  const dir = path.join(VECTORS_DIR, 'keys');
  return readdirSync(dir)
    .filter((file) => file.startsWith('age__'))
    .flatMap((file) => readFileSync(path.join(dir, file), 'utf8').split('\n'))
    .map((line) => line.trim())
    .filter((line) => line.startsWith('AGE-SECRET-KEY-'));
}
