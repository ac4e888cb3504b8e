import type { MasterKey, MasterKeyType } from '../sops/master-key.ts';

/**
 * What a source learned while unwrapping. Cloud KMS reports whether the primary version was
 * used; age and PGP report which local identity opened the entry.
 */
export type UnwrapEvidence =
  | { readonly source: 'gcp_kms'; readonly usedPrimary: boolean; readonly protectionLevel?: string }
  | { readonly source: 'age'; readonly identity: string }
  | { readonly source: 'pgp'; readonly keyId: string };

/** What a source did while wrapping: the exact key version for Cloud KMS (checked by the caller). */
export type WrapEvidence =
  | { readonly source: 'gcp_kms'; readonly version: string }
  | { readonly source: 'age'; readonly recipient: string }
  | { readonly source: 'pgp'; readonly fingerprint: string };

export interface Unwrapped {
  /** The data key or Shamir share. Callers keep it in memory only and never log it. */
  readonly plaintext: Uint8Array;
  readonly evidence: UnwrapEvidence;
}

export interface Wrapped {
  /** The new `enc` value, in exactly the form sops writes for this key type. */
  readonly enc: string;
  readonly evidence: WrapEvidence;
}

export interface WrapOptions {
  /**
   * Cloud KMS only: the CryptoKeyVersion to encrypt with (`…/cryptoKeyVersions/N`). The source
   * names it in the Encrypt request and refuses a response naming any other version.
   */
  readonly version?: string;
}

/**
 * One kind of master key the app can use. Failures are `KeySourceError`s whose `code` says why
 * (e.g. `no-identity`, `version-not-enabled`, `permission-denied`); a source never crashes on a
 * key it cannot use.
 */
export interface KeySource {
  readonly type: MasterKeyType;
  /** Recovers the plaintext wrapped in `key.fields.enc`. */
  unwrap(key: MasterKey): Promise<Unwrapped>;
  /** Wraps `plaintext` for the same master key as `key` (same recipient, fingerprint or CryptoKey). */
  wrap(key: MasterKey, plaintext: Uint8Array, options?: WrapOptions): Promise<Wrapped>;
}
