/**
 * Classification of Cloud KMS gRPC errors into what the app acts on (design.md "States of a
 * file"): a version that is not enabled (at-risk or lost), a missing key or a missing permission
 * (configuration problems), transient failures (retry), and everything else.
 */
import { KeySourceError } from '../errors.ts';
import { preconditionViolations } from './status-details.ts';

/** Cloud KMS `CryptoKeyVersionState` names (kms-facts.md "Versions and states"). */
export const VERSION_STATES = [
  'ENABLED',
  'DISABLED',
  'DESTROY_SCHEDULED',
  'DESTROYED',
  'PENDING_GENERATION',
  'PENDING_IMPORT',
  'IMPORT_FAILED',
  'GENERATION_FAILED',
  'PENDING_EXTERNAL_DESTRUCTION',
  'EXTERNAL_DESTRUCTION_FAILED',
] as const;
export type VersionState = (typeof VERSION_STATES)[number];

export type TransientCode = 'UNAVAILABLE' | 'DEADLINE_EXCEEDED' | 'RESOURCE_EXHAUSTED';

/** What a failed Cloud KMS call means for the app. */
export type KmsFailure =
  | {
      readonly kind: 'not-enabled';
      /** The CryptoKeyVersion that is not enabled, when the server named it. */
      readonly version: string | undefined;
      readonly state: VersionState | undefined;
      readonly message: string;
    }
  | { readonly kind: 'key-missing'; readonly message: string }
  | { readonly kind: 'permission-denied'; readonly message: string }
  | { readonly kind: 'transient'; readonly grpcCode: TransientCode; readonly message: string }
  | { readonly kind: 'invalid'; readonly grpcCode: string; readonly message: string };

export type KmsFailureKind = KmsFailure['kind'];

const GRPC_CODE_NAMES = [
  'OK',
  'CANCELLED',
  'UNKNOWN',
  'INVALID_ARGUMENT',
  'DEADLINE_EXCEEDED',
  'NOT_FOUND',
  'ALREADY_EXISTS',
  'PERMISSION_DENIED',
  'RESOURCE_EXHAUSTED',
  'FAILED_PRECONDITION',
  'ABORTED',
  'OUT_OF_RANGE',
  'UNIMPLEMENTED',
  'INTERNAL',
  'UNAVAILABLE',
  'DATA_LOSS',
  'UNAUTHENTICATED',
] as const;

const TRANSIENT: ReadonlySet<string> = new Set<TransientCode>(['UNAVAILABLE', 'DEADLINE_EXCEEDED', 'RESOURCE_EXHAUSTED']);

const VERSION_NAME = /projects\/[^/\s]+\/locations\/[^/\s]+\/keyRings\/[^/\s]+\/cryptoKeys\/[^/\s]+\/cryptoKeyVersions\/[^/\s.,]+/;
const NOT_ENABLED_MESSAGE = /is not enabled, current state is: ([A-Z_]+)/;

/** The gRPC status name of an error thrown by a gRPC/gax client, or `UNKNOWN`. */
function grpcCodeName(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'number') return GRPC_CODE_NAMES[code] ?? 'UNKNOWN';
  return 'UNKNOWN';
}

/**
 * Classifies an error thrown by the Cloud KMS client. For FAILED_PRECONDITION the version and its
 * state come from the `google.rpc.PreconditionFailure` detail first and the message second, as
 * kms-facts.md advises: the detail is structured, the message wording may change.
 */
export function classifyKmsError(error: unknown): KmsFailure {
  const code = grpcCodeName(error);
  const message = serverMessage(error);
  switch (code) {
    case 'NOT_FOUND':
      return { kind: 'key-missing', message };
    case 'PERMISSION_DENIED':
    // No or bad credentials: for the user it is the same problem (fix the identity).
    case 'UNAUTHENTICATED':
      return { kind: 'permission-denied', message };
    case 'FAILED_PRECONDITION': {
      const notEnabled = notEnabledDetails(error, message);
      if (notEnabled !== undefined) return { kind: 'not-enabled', ...notEnabled, message };
      return { kind: 'invalid', grpcCode: code, message };
    }
  }
  if (TRANSIENT.has(code)) return { kind: 'transient', grpcCode: code as TransientCode, message };
  return { kind: 'invalid', grpcCode: code, message };
}

function notEnabledDetails(
  error: unknown,
  message: string,
): { version: string | undefined; state: VersionState | undefined } | undefined {
  let version: string | undefined;
  let state: VersionState | undefined;
  for (const v of statusDetailViolations(error)) {
    if (version === undefined && VERSION_NAME.test(v.subject)) version = v.subject;
    // Cloud KMS spells the violation type `KEY_<STATE>` (seen: KEY_DESTROY_SCHEDULED).
    state ??= asState(v.type.replace(/^KEY_/, ''));
  }
  const fromMessage = NOT_ENABLED_MESSAGE.exec(message);
  version ??= fromMessage ? VERSION_NAME.exec(message)?.[0] : undefined;
  state ??= asState(fromMessage?.[1]);
  if (version === undefined && state === undefined && !fromMessage) return undefined;
  return { version, state };
}

function statusDetailViolations(error: unknown): ReturnType<typeof preconditionViolations> {
  const metadata = (error as { metadata?: { get?: (key: string) => unknown[] } } | null)?.metadata;
  if (typeof metadata?.get !== 'function') return [];
  const values = metadata.get('grpc-status-details-bin');
  return values.flatMap((value) => (value instanceof Uint8Array ? preconditionViolations(value) : []));
}

function asState(text: string | undefined): VersionState | undefined {
  return (VERSION_STATES as readonly string[]).includes(text ?? '') ? (text as VersionState) : undefined;
}

/** The server's own message, without grpc-js's `9 FAILED_PRECONDITION: ` prefix. */
function serverMessage(error: unknown): string {
  const details = (error as { details?: unknown } | null)?.details;
  if (typeof details === 'string' && details !== '') return details;
  const message = error instanceof Error ? error.message : String(error);
  return message.replace(/^\d+ [A-Z_]+: /, '');
}

/**
 * A Cloud KMS failure as a `KeySourceError`: `code` is the failure kind (or `wrong-version`,
 * `crc-mismatch`), transient failures have category `transient`, and a not-enabled failure carries
 * the version and its state as fields so callers can show the deadline without parsing text.
 */
export class KmsKeySourceError extends KeySourceError {
  /** The CryptoKeyVersion concerned, when known (not-enabled, wrong-version). */
  readonly version: string | undefined;
  readonly state: VersionState | undefined;
  /** The gRPC status name, when the error came from a call. */
  readonly grpcCode: string | undefined;

  constructor(
    code: KmsFailureKind | 'wrong-version' | 'crc-mismatch',
    message: string,
    options?: { version?: string; state?: VersionState; grpcCode?: string; cause?: unknown; transient?: boolean },
  ) {
    super(code, message, {
      cause: options?.cause,
      category: code === 'transient' || options?.transient === true ? 'transient' : 'user',
    });
    this.version = options?.version;
    this.state = options?.state;
    this.grpcCode = options?.grpcCode;
  }
}

/** Turns a thrown client error into a `KmsKeySourceError`; `what` names the call and the key. */
export function toKeySourceError(error: unknown, what: string): KmsKeySourceError {
  if (error instanceof KmsKeySourceError) return error;
  const failure = classifyKmsError(error);
  const grpcCode = grpcCodeName(error);
  switch (failure.kind) {
    case 'not-enabled':
      return new KmsKeySourceError(
        'not-enabled',
        `${what}: key version ${failure.version ?? '(unnamed)'} is not enabled (state ${failure.state ?? 'unknown'})`,
        { version: failure.version, state: failure.state, grpcCode, cause: error },
      );
    case 'key-missing':
      return new KmsKeySourceError('key-missing', `${what}: key not found: ${failure.message}`, { grpcCode, cause: error });
    case 'permission-denied':
      return new KmsKeySourceError('permission-denied', `${what}: permission denied: ${failure.message}`, {
        grpcCode,
        cause: error,
      });
    case 'transient':
      return new KmsKeySourceError('transient', `${what}: ${failure.grpcCode}: ${failure.message}`, { grpcCode, cause: error });
    case 'invalid':
      return new KmsKeySourceError('invalid', `${what}: ${failure.grpcCode}: ${failure.message}`, { grpcCode, cause: error });
  }
}
