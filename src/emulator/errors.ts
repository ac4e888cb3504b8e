/**
 * gRPC errors as Cloud KMS returns them: a status code, a message in the real API's wording, and
 * for precondition failures a `google.rpc.PreconditionFailure` detail in the
 * `grpc-status-details-bin` trailer, which clients classify by before reading the message.
 */
import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { encodeRpcMessage } from './proto.ts';

export type RpcCode =
  | 'INVALID_ARGUMENT'
  | 'NOT_FOUND'
  | 'ALREADY_EXISTS'
  | 'FAILED_PRECONDITION'
  | 'PERMISSION_DENIED'
  | 'UNAVAILABLE'
  | 'DEADLINE_EXCEEDED'
  | 'RESOURCE_EXHAUSTED'
  | 'UNIMPLEMENTED'
  | 'INTERNAL';

export interface PreconditionViolation {
  readonly type: string;
  readonly subject: string;
  readonly description: string;
}

/** An error the emulator answers with; the server turns it into a gRPC status. */
export class RpcError extends Error {
  readonly code: RpcCode;
  readonly violation: PreconditionViolation | undefined;

  constructor(code: RpcCode, message: string, violation?: PreconditionViolation) {
    super(message);
    this.name = 'RpcError';
    this.code = code;
    this.violation = violation;
  }
}

export const invalidArgument = (message: string): RpcError => new RpcError('INVALID_ARGUMENT', message);
export const notFound = (message: string): RpcError => new RpcError('NOT_FOUND', message);
export const alreadyExists = (message: string): RpcError => new RpcError('ALREADY_EXISTS', message);
export const failedPrecondition = (message: string): RpcError => new RpcError('FAILED_PRECONDITION', message);

/** The real API's answer to Encrypt/Decrypt with a version that is not ENABLED. */
export function versionNotEnabled(versionName: string, state: string): RpcError {
  const message = `${versionName} is not enabled, current state is: ${state}.`;
  return new RpcError('FAILED_PRECONDITION', message, {
    type: `KEY_${state}`,
    subject: versionName,
    description: message,
  });
}

const PRECONDITION_FAILURE_URL = 'type.googleapis.com/google.rpc.PreconditionFailure';

/** Converts any thrown value into what grpc-js sends; unknown errors become INTERNAL. */
export function toServiceError(error: unknown): Partial<ServiceError> {
  const rpc =
    error instanceof RpcError
      ? error
      : new RpcError('INTERNAL', `Internal error in the KMS emulator: ${error instanceof Error ? error.message : String(error)}`);
  const code = status[rpc.code];
  const metadata = new Metadata();
  if (rpc.violation !== undefined) {
    const detail = encodeRpcMessage('google.rpc.PreconditionFailure', { violations: [rpc.violation] });
    const statusBytes = encodeRpcMessage('google.rpc.Status', {
      code,
      message: rpc.message,
      details: [{ type_url: PRECONDITION_FAILURE_URL, value: detail }],
    });
    metadata.set('grpc-status-details-bin', statusBytes);
  }
  return { code, details: rpc.message, message: rpc.message, metadata };
}
