import { Metadata, status } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { classifyKmsError, KmsKeySourceError, toKeySourceError } from '../../src/kms/errors.ts';
import { encodeRpcMessage } from '../../src/emulator/proto.ts';
import { preconditionViolations, type PreconditionViolation } from '../../src/kms/status-details.ts';

/** A `google.rpc.Status` with a PreconditionFailure detail, encoded by protobufjs as the emulator sends it. */
function preconditionStatus(code: number, message: string, violations: readonly PreconditionViolation[]): Uint8Array {
  const detail = encodeRpcMessage('google.rpc.PreconditionFailure', { violations });
  return encodeRpcMessage('google.rpc.Status', { code, message, details: [{ type_url: 'type.googleapis.com/google.rpc.PreconditionFailure', value: detail }] });
}

const VERSION = 'projects/p/locations/global/keyRings/r/cryptoKeys/k/cryptoKeyVersions/3';

/** An error shaped like the ones @grpc/grpc-js and google-gax throw. */
function grpcError(code: number, details: string, statusBytes?: Uint8Array): Error {
  const metadata = new Metadata();
  if (statusBytes !== undefined) metadata.set('grpc-status-details-bin', Buffer.from(statusBytes));
  return Object.assign(new Error(`${code} ${status[code]}: ${details}`), { code, details, metadata });
}

describe('classifyKmsError', () => {
  it('takes version and state of a not-enabled version from the PreconditionFailure detail', () => {
    // The message deliberately disagrees: the structured detail must win.
    const bytes = preconditionStatus(status.FAILED_PRECONDITION, 'x', [
      { type: 'KEY_DESTROY_SCHEDULED', subject: VERSION, description: 'd' },
    ]);
    const failure = classifyKmsError(grpcError(status.FAILED_PRECONDITION, 'something else entirely', bytes));
    expect(failure).toMatchObject({ kind: 'not-enabled', version: VERSION, state: 'DESTROY_SCHEDULED' });
  });

  it('falls back to the message when there is no detail', () => {
    const failure = classifyKmsError(
      grpcError(status.FAILED_PRECONDITION, `${VERSION} is not enabled, current state is: DISABLED.`),
    );
    expect(failure).toMatchObject({ kind: 'not-enabled', version: VERSION, state: 'DISABLED' });
  });

  it('does not take an unrelated FAILED_PRECONDITION for a not-enabled version', () => {
    const failure = classifyKmsError(grpcError(status.FAILED_PRECONDITION, 'The request is not valid for this key'));
    expect(failure).toMatchObject({ kind: 'invalid', grpcCode: 'FAILED_PRECONDITION' });
  });

  it.each([
    [status.NOT_FOUND, 'key-missing'],
    [status.PERMISSION_DENIED, 'permission-denied'],
    [status.UNAUTHENTICATED, 'permission-denied'],
    [status.UNAVAILABLE, 'transient'],
    [status.DEADLINE_EXCEEDED, 'transient'],
    [status.RESOURCE_EXHAUSTED, 'transient'],
    [status.INVALID_ARGUMENT, 'invalid'],
    [status.INTERNAL, 'invalid'],
  ])('classifies gRPC code %i as %s', (code, kind) => {
    expect(classifyKmsError(grpcError(code, 'msg')).kind).toBe(kind);
  });

  it('classifies a non-gRPC error as invalid', () => {
    expect(classifyKmsError(new TypeError('boom'))).toMatchObject({ kind: 'invalid', grpcCode: 'UNKNOWN' });
  });
});

describe('toKeySourceError', () => {
  it('carries version and state as fields and is user-facing', () => {
    const error = toKeySourceError(
      grpcError(status.FAILED_PRECONDITION, `${VERSION} is not enabled, current state is: DISABLED.`),
      'Decrypt with k',
    );
    expect(error).toBeInstanceOf(KmsKeySourceError);
    expect(error).toMatchObject({ code: 'not-enabled', version: VERSION, state: 'DISABLED', category: 'user' });
    expect(error.message).toContain(VERSION);
  });

  it('marks transient failures as transient', () => {
    const error = toKeySourceError(grpcError(status.UNAVAILABLE, 'try later'), 'Encrypt');
    expect(error).toMatchObject({ code: 'transient', category: 'transient', grpcCode: 'UNAVAILABLE' });
  });
});

describe('preconditionViolations', () => {
  it('returns nothing for bytes that are not a Status', () => {
    expect(preconditionViolations(Uint8Array.from([0xff, 0xff, 0xff]))).toEqual([]);
  });

  it('reads every violation of a Status protobufjs encoded', () => {
    const v = [
      { type: 'KEY_DISABLED', subject: VERSION, description: 'one' },
      { type: 'OTHER', subject: 's', description: '' },
    ];
    expect(preconditionViolations(preconditionStatus(9, 'm', v))).toEqual(v);
  });
});
