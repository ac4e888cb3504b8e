/**
 * The binary store (sops-format.md §6.5): any file that is not YAML, JSON, dotenv or INI. Its whole
 * content is the single value `data`; the encrypted file is a JSON document holding `data` and
 * `sops`, read and rewritten by the JSON store's machinery.
 */
import { SopsFormatError } from '../../errors.ts';
import type { LoadedFile, Store } from '../store.ts';
import type { Mapping, Scalar, Tree } from '../tree.ts';
import { emitEncryptedJson } from './json-emit.ts';
import { loadJson } from './json-load.ts';

const DATA_KEY = 'data';
const encoder = new TextEncoder();

export const binaryStore: Store = {
  format: 'binary',

  parseEncrypted(bytes: Uint8Array): LoadedFile {
    const file = loadJson(bytes, 'binary', true);
    dataScalar(file.tree);
    return file;
  },

  parsePlain(bytes: Uint8Array): LoadedFile {
    // The payload need not be UTF-8, so it stays bytes; a copy, so the caller's buffer can change.
    const data: Scalar = { kind: 'scalar', value: { type: 'bytes', value: bytes.slice() } };
    const branch: Mapping = { kind: 'map', items: [{ kind: 'entry', key: DATA_KEY, value: data }] };
    return { format: 'binary', text: '', tree: { branches: [branch] }, layout: undefined };
  },

  emitEncrypted(file: LoadedFile, metadata): Uint8Array {
    // A file read from its JSON wrapper is rewritten in place; a plaintext payload gets a fresh one.
    return encoder.encode(emitEncryptedJson(file, metadata, 'text'));
  },

  emitPlain(tree: Tree): Uint8Array {
    const value = dataScalar(tree).value;
    if (value.type === 'bytes') return value.value.slice();
    if (value.type === 'str') return encoder.encode(value.value);
    throw new SopsFormatError('binary-data-not-string', `the binary "data" value is a ${value.type}, not a string`);
  },
};

/** The `data` scalar of a binary tree; sops keeps exactly one branch and reads the first `data`. */
function dataScalar(tree: Tree): Scalar {
  if (tree.branches.length !== 1) {
    throw new SopsFormatError('binary-data-missing', 'a binary file holds exactly one document');
  }
  for (const item of tree.branches[0]?.items ?? []) {
    if (item.kind !== 'entry' || item.key !== DATA_KEY) continue;
    if (item.value.kind !== 'scalar') {
      throw new SopsFormatError('binary-data-not-string', 'the binary "data" value is not a string');
    }
    return item.value;
  }
  throw new SopsFormatError('binary-data-missing', 'no binary "data" value found in the file');
}
