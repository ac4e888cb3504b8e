/**
 * The JSON store (sops-format.md §6.2): order-preserving parse with spans, in-place rewrite of
 * changed values and of the `sops` block, and Go `encoding/json` output for `sops decrypt`.
 */
import type { Store } from '../store.ts';
import { emitEncryptedJson, emitFreshJson } from './json-emit.ts';
import { loadJson } from './json-load.ts';

const encoder = new TextEncoder();

export const jsonStore: Store = {
  format: 'json',
  parseEncrypted: (bytes) => loadJson(bytes, 'json', true),
  parsePlain: (bytes) => loadJson(bytes, 'json', false),
  emitEncrypted: (file, metadata) => encoder.encode(emitEncryptedJson(file, metadata, 'base64')),
  // `sops decrypt` always re-emits JSON in its own layout (tab indent), whatever the source looked like.
  emitPlain: (tree) => encoder.encode(emitFreshJson(tree.branches[0], undefined, 'base64')),
};
