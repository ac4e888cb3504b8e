import { DataKeyUnavailableError, type KeyAttempt, KeySourceError, SopsRekeyError, describeError } from '../errors.ts';
import { DATA_KEY_BYTES } from '../sops/cipher.ts';
import { type MasterKey, type MasterKeyType, masterKeyId, withEnc } from '../sops/master-key.ts';
import type { SopsMetadata } from '../sops/metadata.ts';
import { combineShares, splitSecret } from '../sops/shamir.ts';
import type { KeySource, UnwrapEvidence, WrapEvidence } from './key-source.ts';

/**
 * Getting a file's data key out of its master keys, and wrapping one into them (sops-format.md
 * §5.3, §5.5): one secret per key group, Shamir shares when there are two or more groups.
 */

export type KeySources = Partial<Record<MasterKeyType, KeySource>>;

/** sops's default decryption order inside a group: age, then PGP, then the rest as loaded. */
const DECRYPTION_ORDER: readonly MasterKeyType[] = ['age', 'pgp'];

export interface Recovered {
  readonly dataKey: Uint8Array;
  /** Per group, the secret it holds (the data key, or its Shamir share); absent if none opened. */
  readonly groupSecrets: readonly (Uint8Array | undefined)[];
  /** The key that opened each group, with its evidence. */
  readonly openedBy: readonly ({ key: MasterKey; evidence: UnwrapEvidence } | undefined)[];
  readonly attempts: readonly KeyAttempt[];
}

/**
 * The file's data key, as sops recovers it: each key group opened by the first of its master keys
 * that works (age, then PGP, then the rest), the group secrets combined by Shamir when there are
 * several groups. Every attempt is recorded; throws DataKeyUnavailableError when fewer groups open
 * than the Shamir threshold needs (one, for a single group).
 */
export async function recoverDataKey(metadata: SopsMetadata, sources: KeySources): Promise<Recovered> {
  const attempts: KeyAttempt[] = [];
  const groupSecrets: (Uint8Array | undefined)[] = [];
  const openedBy: Recovered['openedBy'][number][] = [];
  for (const group of metadata.keyGroups) {
    const opened = await openGroup(group, sources, attempts);
    groupSecrets.push(opened?.plaintext);
    openedBy.push(opened && { key: opened.key, evidence: opened.evidence });
  }
  const dataKey = combineGroupSecrets(metadata, groupSecrets, attempts);
  return { dataKey, groupSecrets, openedBy, attempts };
}

async function openGroup(group: readonly MasterKey[], sources: KeySources, attempts: KeyAttempt[]) {
  const ordered = [...group].sort((a, b) => rank(a.type) - rank(b.type));
  for (const key of ordered) {
    const source = sources[key.type];
    if (!source) {
      attempts.push({ key: masterKeyId(key), reason: `no ${key.type} key source is available to this tool` });
      continue;
    }
    try {
      const { plaintext, evidence } = await source.unwrap(key);
      return { key, plaintext, evidence };
    } catch (error) {
      if (!(error instanceof SopsRekeyError)) throw error;
      attempts.push({ key: masterKeyId(key), reason: error.message });
    }
  }
  return undefined;
}

const rank = (type: MasterKeyType): number => {
  const index = DECRYPTION_ORDER.indexOf(type);
  return index < 0 ? DECRYPTION_ORDER.length : index;
};

function combineGroupSecrets(metadata: SopsMetadata, secrets: readonly (Uint8Array | undefined)[], attempts: KeyAttempt[]): Uint8Array {
  const opened = secrets.filter((secret): secret is Uint8Array => secret !== undefined);
  if (secrets.length === 1) {
    if (!opened[0]) throw new DataKeyUnavailableError(`no master key could unwrap the data key (${summarise(attempts)})`, attempts);
    if (opened[0].length !== DATA_KEY_BYTES) {
      throw new DataKeyUnavailableError(`a master key unwrapped ${opened[0].length} bytes, not a ${DATA_KEY_BYTES}-byte data key`, attempts);
    }
    return opened[0];
  }
  const threshold = metadata.shamirThreshold || secrets.length;
  if (opened.length < threshold) {
    const failed = secrets.flatMap((secret, index) => (secret ? [] : [index]));
    throw new DataKeyUnavailableError(
      `only ${opened.length} of the ${threshold} key groups needed could be opened (failed groups: ${failed.join(', ')}; ${summarise(attempts)})`,
      attempts,
    );
  }
  return combineShares(opened);
}

const summarise = (attempts: readonly KeyAttempt[]): string =>
  attempts.length === 0 ? 'the file lists no key' : attempts.map((a) => `${a.key}: ${a.reason}`).join('; ');

export interface WrapPlan {
  /** Which entries get a new `enc`; the others are kept exactly as they are. Default: all. */
  readonly include?: (key: MasterKey) => boolean;
  /** Cloud KMS: the CryptoKeyVersion each CryptoKey must be wrapped by. */
  readonly gcpVersionFor?: (resourceId: string) => string | undefined;
}

export interface WrapRecord {
  readonly key: MasterKey;
  readonly evidence: WrapEvidence;
}

/**
 * Wraps `groupSecrets[i]` into the included keys of group i and returns the new groups. Every
 * failure is fatal: a file with one entry that does not hold its secret must never be written.
 */
export async function wrapGroupSecrets(
  metadata: SopsMetadata,
  groupSecrets: readonly (Uint8Array | undefined)[],
  sources: KeySources,
  plan: WrapPlan = {},
): Promise<{ keyGroups: MasterKey[][]; wrapped: WrapRecord[] }> {
  const wrapped: WrapRecord[] = [];
  const keyGroups: MasterKey[][] = [];
  for (const [index, group] of metadata.keyGroups.entries()) {
    const next: MasterKey[] = [];
    for (const key of group) {
      if (plan.include && !plan.include(key)) {
        next.push(key);
        continue;
      }
      const secret = groupSecrets[index];
      if (!secret) throw new KeySourceError('group-secret-missing', `cannot wrap ${masterKeyId(key)}: key group ${index} could not be opened`);
      const source = sources[key.type];
      if (!source) throw new KeySourceError('no-source', `cannot wrap ${masterKeyId(key)}: no ${key.type} key source is available to this tool`);
      const version = key.type === 'gcp_kms' ? plan.gcpVersionFor?.(masterKeyId(key)) : undefined;
      try {
        const result = await source.wrap(key, secret, version === undefined ? {} : { version });
        const rewrapped = withEnc(key, result.enc);
        next.push(rewrapped);
        wrapped.push({ key: rewrapped, evidence: result.evidence });
      } catch (error) {
        if (error instanceof SopsRekeyError) throw error;
        throw new KeySourceError('wrap-failed', `wrapping with ${masterKeyId(key)} failed: ${describeError(error)}`, { cause: error });
      }
    }
    keyGroups.push(next);
  }
  return { keyGroups, wrapped };
}

/** New per-group secrets for a new data key: the key itself, or fresh Shamir shares. */
export function secretsForNewDataKey(metadata: SopsMetadata, dataKey: Uint8Array): Uint8Array[] {
  const groups = metadata.keyGroups.length;
  if (groups === 1) return [dataKey];
  return splitSecret(dataKey, groups, metadata.shamirThreshold || groups);
}
