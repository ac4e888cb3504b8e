import { SopsRekeyError } from '../errors.ts';
import { parseMetadata, type SopsMetadata } from './metadata.ts';
import type { LoadedFile, Store, StoreFormat } from './store.ts';
import { binaryStore } from './stores/binary.ts';
import { dotenvStore } from './stores/dotenv.ts';
import { iniStore } from './stores/ini.ts';
import { jsonStore } from './stores/json.ts';
import { yamlStore } from './stores/yaml.ts';

/** An encrypted file as read: the store's view and the typed metadata. */
export interface SopsFile {
  readonly name: string;
  readonly format: StoreFormat;
  readonly loaded: LoadedFile;
  readonly metadata: SopsMetadata;
}

const STORES: Record<StoreFormat, Store> = {
  yaml: yamlStore,
  json: jsonStore,
  dotenv: dotenvStore,
  ini: iniStore,
  binary: binaryStore,
};

/** The store that reads and writes `format`. */
export function storeFor(format: StoreFormat): Store {
  return STORES[format];
}

/** The store sops picks from a file name (sops-format.md §6): anything unknown is binary. */
export function formatForPath(path: string): StoreFormat {
  const lower = path.toLowerCase();
  if (lower.endsWith('.yaml') || lower.endsWith('.yml')) return 'yaml';
  if (lower.endsWith('.json')) return 'json';
  if (lower.endsWith('.env')) return 'dotenv';
  if (lower.endsWith('.ini')) return 'ini';
  return 'binary';
}

/** Parses an encrypted file. Every error names `name`. */
export function readSopsFile(bytes: Uint8Array, name: string, format: StoreFormat = formatForPath(name)): SopsFile {
  try {
    const loaded = STORES[format].parseEncrypted(bytes);
    if (!loaded.metadata) throw new Error(`the ${format} store returned no metadata`);
    return { name, format, loaded, metadata: parseMetadata(loaded.metadata) };
  } catch (error) {
    if (error instanceof SopsRekeyError) throw error.inFile(name);
    throw error;
  }
}
