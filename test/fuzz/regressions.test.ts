import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { SopsFormatError } from '../../src/errors.ts';
import { readSopsFile, storeFor } from '../../src/sops/sops-file.ts';
import { VECTORS_DIR } from '../support/vectors.ts';

/** Cases the fuzzer found, kept as plain tests. */

describe('found by fuzzing', () => {
  // sops.shamir_threshold holding a map with `valueOf` and `toString` keys made `Number()` throw a
  // TypeError (not a typed error) in every store.
  const vector = (name: string) => readFileSync(path.join(VECTORS_DIR, name), 'utf8');
  const files: [string, string][] = [
    ['json', vector('getsops-sops__example.json').replace('"version":', '"shamir_threshold": {"valueOf": 1, "toString": 2},\n\t\t"version":')],
    ['yaml', vector('getsops-sops__example.yaml').replace('    version:', '    shamir_threshold: {valueOf: 1, toString: 2}\n    version:')],
  ];
  it.each(files)('a %s file whose shamir_threshold is a map with valueOf/toString keys is a format error', (format, text) => {
    const read = () => readSopsFile(new TextEncoder().encode(text), `secrets.${format}`);
    expect(read).toThrow(SopsFormatError);
    expect(read).toThrow(/shamir_threshold is not a small non-negative integer/);
  });

  // A comment line at column 0 inside the `sops` block (lines swapped) ended the block's span
  // there: the decrypted output kept the metadata lines after it, at an indentation that is not YAML.
  it('a yaml comment line inside the sops block is removed with the block, and what is printed reads back', () => {
    const text = vector('getsops-sops__example.yaml').replace('    version:', '# moved here\n    version:');
    const file = readSopsFile(new TextEncoder().encode(text), 'secrets.yaml');
    const printed = new TextDecoder().decode(storeFor('yaml').emitPlain(file.loaded.tree, file.loaded));
    expect(printed).not.toMatch(/version:|moved here/);
    expect(() => storeFor('yaml').parsePlain(new TextEncoder().encode(printed))).not.toThrow();
  });
});
