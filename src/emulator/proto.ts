/**
 * The Cloud KMS service definition and the google.rpc messages used in error details, loaded from
 * the `.proto` files that ship with `@google-cloud/kms` and `google-gax`, so the emulator speaks
 * exactly the wire format of the client users run.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import * as protoLoader from '@grpc/proto-loader';

const require = createRequire(import.meta.url);
// Both packages keep their protos under build/protos, two levels above their main entry point.
const kmsProtos = path.resolve(path.dirname(require.resolve('@google-cloud/kms')), '../protos');
const gaxProtos = path.resolve(
  path.dirname(createRequire(require.resolve('@google-cloud/kms')).resolve('google-gax')),
  '../protos',
);

/**
 * Options shared by the server and by tests decoding details: camelCase fields, enums as names,
 * 64-bit integers as strings, unset fields present (message fields as null).
 */
export const LOADER_OPTIONS: protoLoader.Options = {
  keepCase: false,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
  includeDirs: [kmsProtos, gaxProtos],
};

let cached: protoLoader.PackageDefinition | undefined;

/** The package definition holding `google.cloud.kms.v1` and the `google.rpc` error messages. */
export function kmsPackageDefinition(): protoLoader.PackageDefinition {
  cached ??= protoLoader.loadSync(
    ['google/cloud/kms/v1/service.proto', 'google/rpc/status.proto', 'google/rpc/error_details.proto'],
    LOADER_OPTIONS,
  );
  return cached;
}

export const SERVICE_NAME = 'google.cloud.kms.v1.KeyManagementService';

type Message = protoLoader.MessageTypeDefinition<object, Record<string, unknown>>;

function messageType(name: string): Message {
  const def = kmsPackageDefinition()[name];
  if (def === undefined || !('serialize' in def)) throw new Error(`proto message ${name} not loaded`);
  return def as Message;
}

/** Serializes a message of the loaded protos given as a plain object (camelCase fields). */
export function encodeMessage(name: string, value: object): Buffer {
  return messageType(name).serialize(value);
}

/** Parses a message of the loaded protos into a plain object (camelCase fields). */
export function decodeMessage(name: string, bytes: Uint8Array): Record<string, unknown> {
  return messageType(name).deserialize(Buffer.from(bytes));
}
