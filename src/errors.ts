/**
 * Typed errors, split by who has to act (conventions.md): the user (bad input or config), the
 * outside world (transient: retry), or us (a bug). Messages name the file and the reason and never
 * hold plaintext values or key material.
 */

export type ErrorCategory = 'user' | 'transient' | 'bug';

export abstract class SopsRekeyError extends Error {
  abstract readonly category: ErrorCategory;
  /** Stable machine-readable reason, e.g. `mac-mismatch`. */
  readonly code: string;
  /** The file the error is about, relative to the tree being processed, when there is one. */
  file: string | undefined;

  constructor(code: string, message: string, options?: { file?: string; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.file = options?.file;
  }

  /** The message prefixed with the file, as shown to users. */
  describe(): string {
    return this.file === undefined ? this.message : `${this.file}: ${this.message}`;
  }

  /** Returns this error with `file` set, unless it already names one. */
  inFile(file: string): this {
    this.file ??= file;
    return this;
  }
}

/** The file is not well-formed for its store, or its `sops` metadata is malformed. */
export class SopsFormatError extends SopsRekeyError {
  readonly category = 'user';
}

/** Authentication failed: a value, a comment or the MAC does not verify (tampering, wrong key). */
export class SopsIntegrityError extends SopsRekeyError {
  readonly category = 'user';
}

/** No master key of the file could give its data key; `attempts` says what each key answered. */
export class DataKeyUnavailableError extends SopsRekeyError {
  readonly category = 'user';
  readonly attempts: readonly KeyAttempt[];

  constructor(message: string, attempts: readonly KeyAttempt[], options?: { file?: string }) {
    super('data-key-unavailable', message, options);
    this.attempts = attempts;
  }
}

export interface KeyAttempt {
  /** The master key, as sops names it (`age1…`, a PGP fingerprint, a CryptoKey name). */
  readonly key: string;
  readonly reason: string;
}

/** A master-key source cannot do what was asked (no identity, key not usable, refused wrap). */
export class KeySourceError extends SopsRekeyError {
  readonly category: ErrorCategory;

  constructor(
    code: string,
    message: string,
    options?: { file?: string; cause?: unknown; category?: ErrorCategory },
  ) {
    super(code, message, options);
    this.category = options?.category ?? 'user';
  }
}

/** New bytes did not pass verification; nothing was written. */
export class VerificationError extends SopsRekeyError {
  readonly category = 'bug';
}

/** Wrong command-line use. */
export class UsageError extends SopsRekeyError {
  readonly category = 'user';
}

/** Message of any thrown value, for logs: typed errors describe themselves. */
export function describeError(error: unknown): string {
  if (error instanceof SopsRekeyError) return error.describe();
  if (error instanceof Error) return error.message;
  return String(error);
}
