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

let kmsCached: protoLoader.PackageDefinition | undefined;
let rpcCached: protoLoader.PackageDefinition | undefined;

/** The package definition holding `google.cloud.kms.v1`. */
export function kmsPackageDefinition(): protoLoader.PackageDefinition {
  kmsCached ??= protoLoader.loadSync('google/cloud/kms/v1/service.proto', LOADER_OPTIONS);
  return kmsCached;
}

/**
 * `google.rpc.Status` and the error details, loaded keeping the proto field names: protobufjs'
 * special handling of `google.protobuf.Any` reads `type_url` literally and silently drops a
 * camelCased `typeUrl`.
 */
function rpcPackageDefinition(): protoLoader.PackageDefinition {
  rpcCached ??= protoLoader.loadSync(['google/rpc/status.proto', 'google/rpc/error_details.proto'], {
    ...LOADER_OPTIONS,
    keepCase: true,
  });
  return rpcCached;
}

export const SERVICE_NAME = 'google.cloud.kms.v1.KeyManagementService';

type Message = protoLoader.MessageTypeDefinition<object, Record<string, unknown>>;

function messageType(name: string): Message {
  const def = rpcPackageDefinition()[name];
  if (def === undefined || !('serialize' in def)) throw new Error(`proto message ${name} not loaded`);
  return def as Message;
}

/** Serializes a `google.rpc` message given as a plain object (proto field names, e.g. `type_url`). */
export function encodeRpcMessage(name: string, value: object): Buffer {
  return messageType(name).serialize(value);
}

/** Parses a `google.rpc` message into a plain object (proto field names, e.g. `type_url`). */
export function decodeRpcMessage(name: string, bytes: Uint8Array): Record<string, unknown> {
  return messageType(name).deserialize(Buffer.from(bytes));
}
