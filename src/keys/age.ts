/**
 * age master keys (sops-format.md §5.4): `enc` is a whole ASCII-armored age file, one stanza for
 * the entry's recipient, whose payload is the raw data key or Shamir share.
 */
import { armor, Encrypter } from 'age-encryption';
import { KeySourceError } from '../errors.ts';
import type { MasterKey } from '../sops/master-key.ts';
import { AgeIdentity, loadAgeIdentities, type LoadOptions } from './age-identities.ts';
import type { KeySource, Unwrapped, Wrapped } from './key-source.ts';

/** The kinds of recipient sops writes (§5.4), told apart as sops's `parseRecipient` does. */
export type AgeRecipientKind = 'x25519' | 'pq' | 'plugin' | 'ssh' | 'unknown';

/** X25519 recipients are bech32 with the HRP `age`: no `1` after the separator. */
const X25519_RECIPIENT = /^age1[qpzry9x8gf2tvdw0s3jn54khce6mua7l]{58}$/;

export function ageRecipientKind(recipient: string): AgeRecipientKind {
  if (X25519_RECIPIENT.test(recipient)) return 'x25519';
  if (recipient.startsWith('age1pq1')) return 'pq';
  if (recipient.startsWith('age1')) return recipient.slice(4).includes('1') ? 'plugin' : 'unknown';
  if (recipient.startsWith('ssh-')) return 'ssh';
  return 'unknown';
}

export class AgeKeySource implements KeySource {
  readonly type = 'age' as const;
  readonly #identities: readonly AgeIdentity[];
  readonly #pluginIdentities: number;
  readonly #loadErrors: readonly KeySourceError[];

  /**
   * @param identities identity strings (`AGE-SECRET-KEY-1…`, `AGE-SECRET-KEY-PQ-1…`), or already
   *   parsed identities. Strings are checked now.
   * @throws KeySourceError `malformed-identity` for a string that is not an identity.
   */
  constructor(
    identities: ReadonlyArray<string | AgeIdentity>,
    options: { pluginIdentities?: number; loadErrors?: readonly KeySourceError[] } = {},
  ) {
    this.#identities = identities.map((identity, index) =>
      typeof identity === 'string' ? new AgeIdentity(identity.trim(), `identity ${index + 1}`) : identity,
    );
    this.#pluginIdentities = options.pluginIdentities ?? 0;
    this.#loadErrors = options.loadErrors ?? [];
  }

  /**
   * The identities sops would use: `SOPS_AGE_KEY`, `SOPS_AGE_KEY_FILE` and the default
   * `<user config dir>/sops/age/keys.txt`, all collected. Files are read now. Never throws: a
   * source that cannot be used is reported when an age entry fails to open, as sops does.
   */
  static fromEnvironment(env: NodeJS.ProcessEnv = process.env, options: LoadOptions = {}): AgeKeySource {
    const { identities, pluginIdentities, errors } = loadAgeIdentities(env, options);
    return new AgeKeySource(identities, { pluginIdentities, loadErrors: errors });
  }

  /** How many usable identities were found (for diagnostics; never the identities themselves). */
  get identityCount(): number {
    return this.#identities.length;
  }

  async unwrap(key: MasterKey): Promise<Unwrapped> {
    const recipient = fieldText(key, 'recipient');
    const encrypted = decodeArmor(fieldText(key, 'enc'), recipient);

    // The identity for the entry's own recipient goes first; the others are still tried, since
    // the file's stanza, not the `recipient` field, decides who can open it.
    const candidates = await orderByRecipient(this.#identities, recipient);
    for (const { identity, identityRecipient } of candidates) {
      let plaintext: Uint8Array;
      try {
        plaintext = await identity.decrypter().decrypt(encrypted);
      } catch (error) {
        if (isNoMatch(error)) continue;
        // The identity matched a stanza but the file does not verify: tampered or truncated.
        throw new KeySourceError('corrupt-enc', `age entry for ${recipient} does not decrypt: ${reason(error)}`, {
          cause: error,
        });
      }
      return { plaintext, evidence: { source: 'age', identity: identityRecipient } };
    }

    throw this.#noIdentity(recipient);
  }

  /**
   * Why nothing opened the entry. With no identity at all and a source that failed to load, the
   * load failure is the reason (its code, e.g. `malformed-identity`); otherwise `no-identity`.
   */
  #noIdentity(recipient: string): KeySourceError {
    const notes: string[] = [];
    if (this.#pluginIdentities > 0) notes.push(`${this.#pluginIdentities} plugin identities skipped (not supported)`);
    notes.push(...this.#loadErrors.map((error) => error.message));
    const detail = notes.length > 0 ? `; ${notes.join('; ')}` : '';
    const message =
      `no age identity can open the entry for ${recipient || 'an unnamed recipient'}: ` +
      `${this.#identities.length} identities tried${detail}`;
    const loadError = this.#loadErrors[0];
    if (this.#identities.length === 0 && loadError !== undefined) {
      return new KeySourceError(loadError.code, message, { cause: loadError });
    }
    return new KeySourceError('no-identity', message);
  }

  async wrap(key: MasterKey, plaintext: Uint8Array): Promise<Wrapped> {
    // sops trims the recipient when it builds the key (MasterKeyFromRecipient).
    const recipient = fieldText(key, 'recipient').trim();
    const kind = ageRecipientKind(recipient);
    if (kind !== 'x25519' && kind !== 'pq') {
      throw new KeySourceError(
        'unsupported-recipient',
        `cannot encrypt to age recipient ${recipient || '(empty)'}: ${kind} recipients are not supported`,
      );
    }
    const encrypter = new Encrypter();
    try {
      encrypter.addRecipient(recipient);
    } catch (error) {
      throw new KeySourceError('invalid-recipient', `age recipient ${recipient} is not valid: ${reason(error)}`);
    }
    const encrypted = await encrypter.encrypt(plaintext);
    // The library's armor is age's: 64-column padded base64 between the BEGIN/END lines, with a
    // final newline. That is byte for byte what sops's armor.NewWriter gives.
    return { enc: armor.encode(encrypted), evidence: { source: 'age', recipient } };
  }
}

function fieldText(key: MasterKey, field: string): string {
  const value = key.fields[field];
  return typeof value === 'string' ? value : '';
}

function decodeArmor(enc: string, recipient: string): Uint8Array {
  if (enc === '') throw new KeySourceError('malformed-enc', `age entry for ${recipient} has no enc`);
  try {
    return armor.decode(enc);
  } catch (error) {
    throw new KeySourceError('malformed-enc', `age entry for ${recipient} is not an armored age file: ${reason(error)}`);
  }
}

async function orderByRecipient(identities: readonly AgeIdentity[], recipient: string) {
  const withRecipients = await Promise.all(
    identities.map(async (identity) => ({ identity, identityRecipient: await identity.recipient() })),
  );
  return [
    ...withRecipients.filter((c) => c.identityRecipient === recipient),
    ...withRecipients.filter((c) => c.identityRecipient !== recipient),
  ];
}

/** The library's message when no stanza is for this identity: try the next one. */
function isNoMatch(error: unknown): boolean {
  return error instanceof Error && error.message.includes('no identity matched');
}

/** Library messages name the failed check (e.g. "invalid header HMAC"), never key material. */
function reason(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
