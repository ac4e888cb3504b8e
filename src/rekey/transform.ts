import { type KeySources, type WrapPlan, type WrapRecord, recoverDataKey, secretsForNewDataKey, wrapGroupSecrets } from '../keys/data-key.ts';
import { SopsRekeyError, VerificationError } from '../errors.ts';
import { newDataKey } from '../sops/cipher.ts';
import { checkTree, decryptTree, encryptTree, type DecryptOptions, reencryptTree } from '../sops/crypt.ts';
import { type MasterKey, masterKeyId } from '../sops/master-key.ts';
import { lastModifiedAt, metadataToRaw, type SopsMetadata } from '../sops/metadata.ts';
import { DEFAULT_SELECTOR, type Selector } from '../sops/selectors.ts';
import { formatForPath, readSopsFile, storeFor } from '../sops/sops-file.ts';
import type { StoreFormat } from '../sops/store.ts';

/** The sops version written into new files: the layout this engine writes is that release's. */
export const SOPS_FORMAT_VERSION = '3.13.2';

/**
 * The three things done to one file: decrypt it, rotate it (new data key, every value and key
 * re-encrypted), or rewrap it (same data key and values, chosen master keys wrapped again). New
 * bytes are returned only after they were read back and verified (design.md, invariant 2).
 */

export interface DecryptFileOptions extends DecryptOptions {
  /** Print in another store's format (`sops decrypt --output-type`). */
  readonly outputFormat?: StoreFormat;
  readonly format?: StoreFormat;
}

/** The plaintext document, as `sops decrypt` prints it. Keep it in memory; never log it. */
export async function decryptFile(bytes: Uint8Array, name: string, sources: KeySources, options: DecryptFileOptions = {}): Promise<Uint8Array> {
  return inFile(name, async () => {
    const file = readSopsFile(bytes, name, options.format);
    const { dataKey } = await recoverDataKey(file.metadata, sources);
    decryptTree(file.loaded.tree, dataKey, file.metadata, file.format, options);
    const output = options.outputFormat ?? file.format;
    return output === file.format
      ? storeFor(output).emitPlain(file.loaded.tree, file.loaded)
      : storeFor(output).emitPlain(file.loaded.tree);
  });
}

export interface RekeyOptions {
  readonly format?: StoreFormat;
  /** `lastmodified` of a rotated file; defaults to now. */
  readonly now?: Date;
  /** Cloud KMS: the version each CryptoKey must be wrapped by (checked against the response). */
  readonly gcpVersionFor?: WrapPlan['gcpVersionFor'];
}

export interface RekeyResult {
  readonly bytes: Uint8Array;
  /** Every entry wrapped anew, with what the key source reported (the Cloud KMS version used). */
  readonly wrapped: readonly WrapRecord[];
}

/** `sops rotate`: a fresh data key, every value re-encrypted with fresh IVs, every master key re-wrapped. */
export async function rotateFile(bytes: Uint8Array, name: string, sources: KeySources, options: RekeyOptions = {}): Promise<RekeyResult> {
  return inFile(name, async () => {
    const { out, format, expected } = await reencrypt(bytes, name, sources, options);
    // The old tree is out of reach by now, so the read-back below does not hold two trees at once.
    verifyRekeyed(out, name, format, expected);
    return { bytes: out, wrapped: expected.wrapped };
  });
}

async function reencrypt(bytes: Uint8Array, name: string, sources: KeySources, options: RekeyOptions) {
  const file = readSopsFile(bytes, name, options.format);
  const { dataKey } = await recoverDataKey(file.metadata, sources);

  const freshKey = newDataKey();
  const lastModified = lastModifiedAt(options.now ?? new Date());
  // Decrypts (old MAC checked) and encrypts under the fresh key in one walk, before any key is
  // wrapped, so a damaged file costs no Encrypt call. `before.fingerprint` is the old plaintext's,
  // which the read-back must find again.
  const before = reencryptTree(file.loaded.tree, dataKey, freshKey, file.metadata, file.format, lastModified);
  const { keyGroups, wrapped } = await wrapGroupSecrets(file.metadata, secretsForNewDataKey(file.metadata, freshKey), sources, options);
  const metadata: SopsMetadata = { ...file.metadata, keyGroups, lastModified, mac: before.mac };
  const out = storeFor(file.format).emitEncrypted(file.loaded, metadataToRaw(metadata));
  const expected: Expected = { dataKey: freshKey, fingerprint: before.fingerprint, keySet: keySetOf(file.metadata), wrapped, options };
  return { out, format: file.format, expected };
}

/**
 * `sops updatekeys` without changing keys: the same data key re-wrapped into the chosen entries
 * (default: every entry this tool has a source for); values, MAC and `lastmodified` unchanged.
 * For files holding a master key the app cannot wrap (AWS KMS, Azure Key Vault, Vault).
 */
export async function rewrapFile(
  bytes: Uint8Array,
  name: string,
  sources: KeySources,
  options: RekeyOptions & { readonly include?: WrapPlan['include'] } = {},
): Promise<RekeyResult> {
  return inFile(name, async () => {
    const file = readSopsFile(bytes, name, options.format);
    const recovered = await recoverDataKey(file.metadata, sources);
    // Decrypt once, MAC included, so a damaged file is never re-wrapped and passed on as good.
    // The check leaves the tree encrypted, as the new file must hold it.
    const before = checkTree(file.loaded.tree, recovered.dataKey, file.metadata, file.format);

    const include = options.include ?? ((key) => sources[key.type] !== undefined);
    const { keyGroups, wrapped } = await wrapGroupSecrets(file.metadata, recovered.groupSecrets, sources, { ...options, include });
    const metadata: SopsMetadata = { ...file.metadata, keyGroups };
    const out = storeFor(file.format).emitEncrypted(file.loaded, metadataToRaw(metadata));

    verifyRekeyed(out, name, file.format, { dataKey: recovered.dataKey, fingerprint: before.fingerprint, keySet: keySetOf(file.metadata), wrapped, options });
    return { bytes: out, wrapped };
  });
}

export interface EncryptFileOptions extends RekeyOptions {
  /** Master keys per group, without `enc` (age `recipient`, pgp `fp`, gcp_kms `resource_id`). */
  readonly keyGroups: readonly (readonly MasterKey[])[];
  readonly shamirThreshold?: number;
  readonly selector?: Selector;
  readonly macOnlyEncrypted?: boolean;
}

/** `sops encrypt`: a plaintext document into a new SOPS file, verified like every other write. */
export async function encryptFile(bytes: Uint8Array, name: string, sources: KeySources, options: EncryptFileOptions): Promise<RekeyResult> {
  return inFile(name, async () => {
    const format = options.format ?? formatForPath(name);
    const store = storeFor(format);
    const loaded = store.parsePlain(bytes);
    const now = options.now ?? new Date();
    const createdAt = lastModifiedAt(now);
    const skeleton: SopsMetadata = {
      // Every entry but age's records when it entered the file (sops-format.md §5.4).
      keyGroups: options.keyGroups.map((group) =>
        group.map((key) => ({ type: key.type, fields: key.type === 'age' ? { ...key.fields } : { created_at: createdAt, ...key.fields } })),
      ),
      shamirThreshold: options.shamirThreshold ?? 0,
      lastModified: createdAt,
      mac: '',
      version: SOPS_FORMAT_VERSION,
      // Binary files carry no rule since sops 3.11 (sops-format.md §4.1).
      selector: format === 'binary' ? undefined : (options.selector ?? DEFAULT_SELECTOR),
      macOnlyEncrypted: options.macOnlyEncrypted ?? false,
      extra: {},
    };
    const dataKey = newDataKey();
    const { keyGroups, wrapped } = await wrapGroupSecrets(skeleton, secretsForNewDataKey(skeleton, dataKey), sources, options);
    const { mac, fingerprint } = encryptTree(loaded.tree, dataKey, skeleton, format, createdAt);
    const metadata: SopsMetadata = { ...skeleton, keyGroups, mac };
    const out = store.emitEncrypted(loaded, metadataToRaw(metadata));
    verifyRekeyed(out, name, format, { dataKey, fingerprint, keySet: keySetOf(skeleton), wrapped, options });
    return { bytes: out, wrapped };
  });
}

interface Expected {
  readonly dataKey: Uint8Array;
  readonly fingerprint: string;
  /** The master keys the file had before (or was asked to have): the new file must hold exactly these. */
  readonly keySet: string;
  readonly wrapped: readonly WrapRecord[];
  readonly options: RekeyOptions;
}

/** Reads the new bytes back: same master keys, MAC verified, same plaintext, intended versions. */
function verifyRekeyed(out: Uint8Array, name: string, format: StoreFormat, expected: Expected): void {
  const fail = (reason: string): never => {
    throw new VerificationError('verification-failed', `new content did not verify, nothing written: ${reason}`, { file: name });
  };
  let reread;
  try {
    reread = readSopsFile(out, name, format);
  } catch (error) {
    return fail(`it does not parse (${error instanceof Error ? error.message : String(error)})`);
  }
  if (keySetOf(reread.metadata) !== expected.keySet) fail('the set of master keys changed');
  let after;
  try {
    after = checkTree(reread.loaded.tree, expected.dataKey, reread.metadata, format);
  } catch (error) {
    return fail(error instanceof Error ? error.message : String(error));
  }
  if (after.fingerprint !== expected.fingerprint) fail('the decrypted values differ from the original ones');
  for (const { key, evidence } of expected.wrapped) {
    if (evidence.source !== 'gcp_kms') continue;
    const intended = expected.options.gcpVersionFor?.(masterKeyId(key));
    if (intended !== undefined && evidence.version !== intended) {
      fail(`${masterKeyId(key)} was wrapped by ${evidence.version}, not ${intended}`);
    }
  }
}

const keySetOf = (metadata: SopsMetadata): string =>
  JSON.stringify(metadata.keyGroups.map((group) => group.map((key) => `${key.type}:${masterKeyId(key)}`).sort()));

async function inFile<T>(name: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof SopsRekeyError) throw error.inFile(name);
    throw error;
  }
}
