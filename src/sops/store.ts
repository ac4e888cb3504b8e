import type { RawObject, Tree } from './tree.ts';

export type StoreFormat = 'yaml' | 'json' | 'dotenv' | 'ini' | 'binary';

/**
 * A file as a store read it. `text` is the decoded source the tree's origins point into;
 * `metadata` is the `sops` block (unflattened for INI and dotenv), absent in a plaintext file.
 */
export interface LoadedFile {
  readonly format: StoreFormat;
  readonly text: string;
  readonly tree: Tree;
  readonly metadata?: RawObject;
  /** Store-private facts the emitter needs (metadata block spans, indentation, newline style). */
  readonly layout: unknown;
}

/**
 * One SOPS store (sops-format.md §6). Stores are pure: text in, text out, no I/O.
 * Parse errors are `SopsFormatError`s; the caller adds the file name.
 */
export interface Store {
  readonly format: StoreFormat;
  /** Reads an encrypted file: the tree without the metadata, and the raw metadata. */
  parseEncrypted(bytes: Uint8Array): LoadedFile;
  /** Reads a plaintext document to be encrypted (refuses one that already holds `sops`). */
  parsePlain(bytes: Uint8Array): LoadedFile;
  /**
   * Writes the encrypted file: the tree as it is now and `metadata` (keys already in the order to
   * write). Nodes whose value still equals their origin keep their exact source text; the metadata
   * block replaces the old one in place, or is added where sops puts it.
   */
  emitEncrypted(file: LoadedFile, metadata: RawObject): Uint8Array;
  /**
   * Writes the plaintext document, as `sops decrypt` prints it. With `file` the source layout is
   * kept where it can be; without it (another output type) the store's own layout is used.
   */
  emitPlain(tree: Tree, file?: LoadedFile): Uint8Array;
}
