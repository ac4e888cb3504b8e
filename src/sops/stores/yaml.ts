/**
 * The YAML store (sops-format.md §6.1): reads with go-yaml v3's typing and comment placement, writes
 * by editing the source so a rotated file differs from the old one only where values, comments and
 * the `sops` block changed.
 */
import { SopsFormatError } from '../../errors.ts';
import type { LoadedFile, Store } from '../store.ts';
import type { RawObject, Tree } from '../tree.ts';
import { editSource } from './yaml-edit.ts';
import { renderDocument } from './yaml-emit.ts';
import { parseYamlText } from './yaml-parse.ts';

export const yamlStore: Store = {
  format: 'yaml',

  parseEncrypted(bytes: Uint8Array): LoadedFile {
    const text = decode(bytes);
    const parsed = parseYamlText(text);
    const metadata = parsed.sops[0];
    if (metadata === undefined) throw new SopsFormatError('metadata-not-found', 'sops metadata not found');
    return { format: 'yaml', text, tree: { branches: parsed.branches }, metadata, layout: parsed.layout };
  },

  parsePlain(bytes: Uint8Array): LoadedFile {
    const text = decode(bytes);
    const parsed = parseYamlText(text);
    if (parsed.sops.some((block) => block !== undefined)) {
      throw new SopsFormatError('already-encrypted', 'the file already has a top-level sops key (already encrypted)');
    }
    return { format: 'yaml', text, tree: { branches: parsed.branches }, layout: parsed.layout };
  },

  emitEncrypted(file: LoadedFile, metadata: RawObject): Uint8Array {
    return editSource(file, file.tree.branches, { kind: 'encrypted', metadata });
  },

  emitPlain(tree: Tree, file?: LoadedFile): Uint8Array {
    if (file) return editSource(file, tree.branches, { kind: 'plain' });
    return encode(tree.branches.map((branch) => renderDocument(branch)).join('---\n'));
  },
};

function decode(bytes: Uint8Array): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new SopsFormatError('yaml-not-utf8', 'the YAML file is not valid UTF-8');
  }
}

function encode(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}
