/**
 * The Cloud KMS master-key source: unwraps a sops `gcp_kms` entry with Decrypt by CryptoKey name,
 * and wraps a data key with Encrypt naming the exact CryptoKeyVersion the app means, checking the
 * CRC32C integrity fields both ways and the version that answered (design.md invariant 2).
 */
import { crc32c } from '@aws-crypto/crc32c';
import type { KeyManagementServiceClient } from '@google-cloud/kms';
import { KeySourceError } from '../errors.ts';
import type { MasterKey } from '../sops/master-key.ts';
import { KmsKeySourceError, toKeySourceError } from '../kms/errors.ts';
import { withRetry, type RetryOptions } from '../kms/retry.ts';
import type { KeySource, Unwrapped, WrapOptions, Wrapped } from './key-source.ts';

/** How many Cloud KMS calls callers should have in flight at once. */
export const DEFAULT_KMS_CONCURRENCY = 16;

/** The client methods this source uses (the real `KeyManagementServiceClient` in production). */
export type KmsCryptoApi = Pick<KeyManagementServiceClient, 'encrypt' | 'decrypt'>;

export interface GcpKmsKeySourceOptions {
  /** One client, or a client per CryptoKey (different identities for different keys). */
  readonly client: KmsCryptoApi | ((cryptoKey: string) => KmsCryptoApi);
  /** Retries of transient failures and CRC32C mismatches (default 4 attempts in all). */
  readonly retry?: RetryOptions;
  /** Deadline of one call (default 30 s). */
  readonly callTimeoutMs?: number;
}

/** sops's own check (gcpkms/keysource.go): a CryptoKey, never a version. */
const CRYPTO_KEY = /^projects\/[^/]+\/locations\/[^/]+\/keyRings\/[^/]+\/cryptoKeys\/[^/]+$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export class GcpKmsKeySource implements KeySource {
  readonly type = 'gcp_kms' as const;
  readonly #client: (cryptoKey: string) => KmsCryptoApi;
  readonly #retry: RetryOptions;
  readonly #timeout: number;

  constructor(options: GcpKmsKeySourceOptions) {
    const client = options.client;
    this.#client = typeof client === 'function' ? client : () => client;
    this.#retry = options.retry ?? {};
    this.#timeout = options.callTimeoutMs ?? 30_000;
  }

  /**
   * Decrypt by CryptoKey name (Cloud KMS finds the version in the ciphertext). Evidence says
   * whether the primary version was used: `false` means the entry is stale.
   */
  async unwrap(key: MasterKey): Promise<Unwrapped> {
    const cryptoKey = resourceId(key);
    const enc = typeof key.fields.enc === 'string' ? key.fields.enc.replace(/\s+/g, '') : '';
    if (enc === '' || !BASE64.test(enc)) {
      throw new KeySourceError('invalid-enc', `gcp_kms entry for ${cryptoKey}: enc is not base64`);
    }
    const ciphertext = Buffer.from(enc, 'base64');
    const what = `Decrypt with ${cryptoKey}`;
    return this.#call(what, async () => {
      const [response] = await this.#client(cryptoKey).decrypt(
        { name: cryptoKey, ciphertext, ciphertextCrc32c: { value: crc32c(ciphertext) } },
        { retry: null, timeout: this.#timeout },
      );
      const plaintext = bytes(response.plaintext);
      if (!crcMatches(response.plaintextCrc32c, plaintext)) {
        throw new KmsKeySourceError('crc-mismatch', `${what}: plaintext_crc32c does not match the plaintext`, {
          transient: true,
        });
      }
      const protectionLevel = typeof response.protectionLevel === 'string' ? response.protectionLevel : undefined;
      return {
        plaintext,
        evidence: {
          source: 'gcp_kms',
          usedPrimary: response.usedPrimary === true,
          ...(protectionLevel === undefined ? {} : { protectionLevel }),
        },
      };
    });
  }

  /**
   * Encrypt naming `options.version` when given (the app always gives it), else the CryptoKey.
   * The response must name that version, confirm the plaintext CRC32C and carry a ciphertext
   * CRC32C that matches; a CRC mismatch is discarded and retried, a wrong version is refused.
   */
  async wrap(key: MasterKey, plaintext: Uint8Array, options: WrapOptions = {}): Promise<Wrapped> {
    const cryptoKey = resourceId(key);
    const version = options.version;
    if (version !== undefined && !version.startsWith(`${cryptoKey}/cryptoKeyVersions/`)) {
      throw new KmsKeySourceError('wrong-version', `${version} is not a version of ${cryptoKey}`, { version });
    }
    const name = version ?? cryptoKey;
    const what = `Encrypt with ${name}`;
    const plaintextCrc = crc32c(plaintext);
    return this.#call(what, async () => {
      const [response] = await this.#client(cryptoKey).encrypt(
        { name, plaintext: Buffer.from(plaintext), plaintextCrc32c: { value: plaintextCrc } },
        { retry: null, timeout: this.#timeout },
      );
      const used = response.name ?? '';
      const expected = version === undefined ? used.startsWith(`${cryptoKey}/cryptoKeyVersions/`) : used === version;
      if (!expected) {
        throw new KmsKeySourceError(
          'wrong-version',
          `${what}: Cloud KMS answered with ${used || 'no version'}, not ${version ?? `a version of ${cryptoKey}`}`,
          { version: used || undefined },
        );
      }
      const ciphertext = bytes(response.ciphertext);
      if (response.verifiedPlaintextCrc32c !== true) {
        throw new KmsKeySourceError('crc-mismatch', `${what}: the server did not verify plaintext_crc32c`, {
          transient: true,
          version: used,
        });
      }
      if (!crcMatches(response.ciphertextCrc32c, ciphertext)) {
        throw new KmsKeySourceError('crc-mismatch', `${what}: ciphertext_crc32c does not match the ciphertext`, {
          transient: true,
          version: used,
        });
      }
      // Standard padded base64 of the ciphertext: exactly what sops stores (sops-format.md §5.4).
      return { enc: ciphertext.toString('base64'), evidence: { source: 'gcp_kms', version: used } };
    });
  }

  /** Runs one call with the retry policy; every failure leaves as a `KmsKeySourceError`. */
  async #call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    return withRetry(
      async () => {
        try {
          return await fn();
        } catch (error) {
          throw toKeySourceError(error, what);
        }
      },
      (error) => error instanceof KmsKeySourceError && error.category === 'transient',
      this.#retry,
    );
  }
}

function resourceId(key: MasterKey): string {
  const id = typeof key.fields.resource_id === 'string' ? key.fields.resource_id.replace(/\s+/g, '') : '';
  if (!CRYPTO_KEY.test(id)) {
    throw new KeySourceError(
      'invalid-resource-id',
      `gcp_kms resource_id "${id}" is not a CryptoKey name (projects/P/locations/L/keyRings/R/cryptoKeys/K)`,
    );
  }
  return id;
}

function bytes(value: Uint8Array | string | null | undefined): Buffer {
  if (value === null || value === undefined) return Buffer.alloc(0);
  return typeof value === 'string' ? Buffer.from(value, 'base64') : Buffer.from(value);
}

/** Compares an `Int64Value` CRC32C field (gax gives int64 as a string) with the bytes' CRC32C. */
function crcMatches(field: { value?: unknown } | null | undefined, data: Uint8Array): boolean {
  const value = field?.value;
  if (value === undefined || value === null) return false;
  return String(value) === String(crc32c(data));
}
