/**
 * Key sources for fuzzing. Unwrapping is memoised on the entry's key id and `enc`, so a case whose
 * mutation missed the master keys costs no X25519 or gpg work, while a case whose mutation hit an
 * `enc` still goes to the real source the first time that exact text is seen.
 */
import { generateX25519Identity, identityToRecipient } from 'age-encryption';
import { KeySourceError } from '../../../src/errors.ts';
import { AgeKeySource } from '../../../src/keys/age.ts';
import type { KeySources } from '../../../src/keys/data-key.ts';
import type { KeySource, Unwrapped } from '../../../src/keys/key-source.ts';
import { type MasterKey, type MasterKeyType, masterKeyEnc, masterKeyId } from '../../../src/sops/master-key.ts';

export interface MemoOptions {
  /**
   * Types whose unknown `enc` texts are refused (`fuzz-not-unwrapped`) instead of sent to the real
   * source: used for PGP, where every new text would spawn gpg. The real source is still used for
   * texts seen while warming up (the unmutated files).
   */
  readonly closed?: ReadonlySet<MasterKeyType>;
}

export interface MemoSources {
  readonly sources: KeySources;
  /** Stop sending new `enc` texts of closed types to the real sources (after warm-up). */
  close(): void;
}

export function memoizeSources(real: KeySources, options: MemoOptions = {}): MemoSources {
  let closed = false;
  const sources: KeySources = {};
  for (const [type, source] of Object.entries(real) as [MasterKeyType, KeySource | undefined][]) {
    if (!source) continue;
    const cache = new Map<string, Promise<Unwrapped>>();
    sources[type] = {
      type,
      wrap: (key, plaintext, wrapOptions) => source.wrap(key, plaintext, wrapOptions),
      unwrap(key: MasterKey): Promise<Unwrapped> {
        const id = `${masterKeyId(key)}\u0000${masterKeyEnc(key)}`;
        const known = cache.get(id);
        if (known) return known;
        if (closed && options.closed?.has(type)) {
          return Promise.reject(new KeySourceError('fuzz-not-unwrapped', `${type} entry ${masterKeyId(key)} was not unwrapped by the fuzzer`));
        }
        const result = source.unwrap(key);
        cache.set(id, result);
        // The same rejection is handed to every later caller; keep it from being reported unhandled.
        result.catch(() => undefined);
        return result;
      },
    };
  }
  return { sources, close: () => void (closed = true) };
}

export interface FreshAgeKey {
  readonly identity: string;
  readonly recipient: string;
  readonly sources: KeySources;
}

/** A new age identity, with memoised sources that open files written to its recipient. */
export async function freshAgeKey(): Promise<FreshAgeKey> {
  const identity = await generateX25519Identity();
  const recipient = await identityToRecipient(identity);
  return { identity, recipient, sources: memoizeSources({ age: new AgeKeySource([identity]) }).sources };
}

/** The key group for `encryptFile` that wraps for `recipient` alone. */
export const ageGroup = (recipient: string): MasterKey[][] => [[{ type: 'age', fields: { recipient } }]];
