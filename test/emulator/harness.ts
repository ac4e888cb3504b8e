/** Shared set-up for emulator tests: an emulator, the real Cloud KMS client pointed at it. */
import { KeyManagementServiceClient } from '@google-cloud/kms';
import * as grpc from '@grpc/grpc-js';
import { ManualClock, startEmulator, type EmulatorOptions, type RunningEmulator } from '../../src/emulator/index.ts';
import { decodeRpcMessage } from '../../src/emulator/proto.ts';

export const LOCATION = 'projects/demo/locations/global';

export interface Harness {
  readonly emulator: RunningEmulator;
  readonly client: KeyManagementServiceClient;
  readonly clock: ManualClock;
  close(): Promise<void>;
}

/** The client exactly as the app builds it for KMS_EMULATOR_HOST. */
export function clientFor(emulator: RunningEmulator): KeyManagementServiceClient {
  return new KeyManagementServiceClient({
    apiEndpoint: '127.0.0.1',
    port: emulator.port,
    sslCreds: grpc.credentials.createInsecure(),
    universeDomain: 'googleapis.com',
  });
}

export async function startHarness(options: EmulatorOptions = {}): Promise<Harness> {
  const clock = new ManualClock(Date.UTC(2025, 0, 1));
  const emulator = await startEmulator({ clock, seed: 7, ...options });
  const client = clientFor(emulator);
  return {
    emulator,
    client,
    clock: (options.clock as ManualClock | undefined) ?? clock,
    async close() {
      await client.close();
      await emulator.close();
    },
  };
}

/** Calls without the client's own retries, so one call is one RPC and a fault is seen as is. */
export const NO_RETRY = { retry: { retryCodes: [] } };

let counter = 0;
/** Creates a key ring with a fresh name and a symmetric key in it; returns the key name. */
export async function createKey(
  client: KeyManagementServiceClient,
  cryptoKey: Record<string, unknown> = {},
  extra: { skipInitialVersionCreation?: boolean } = {},
): Promise<string> {
  counter += 1;
  const [ring] = await client.createKeyRing({ parent: LOCATION, keyRingId: `ring-${counter}-${process.pid}`, keyRing: {} });
  const [key] = await client.createCryptoKey({
    parent: ring.name!,
    cryptoKeyId: 'sops',
    cryptoKey: { purpose: 'ENCRYPT_DECRYPT', ...cryptoKey },
    ...extra,
  });
  return key.name!;
}

export interface RpcFailure {
  readonly code: number | undefined;
  readonly details: string;
  readonly violations: Array<{ type: string; subject: string; description: string }>;
  /** What google-gax itself decoded from the same trailer (`error.statusDetails`). */
  readonly statusDetails: unknown[];
}

/** Runs a call expected to fail and returns its gRPC code, message and PreconditionFailure violations. */
export async function failure(call: Promise<unknown>): Promise<RpcFailure> {
  let caught: unknown;
  try {
    await call;
  } catch (error) {
    caught = error;
  }
  if (caught === undefined) throw new Error('expected the call to fail, it succeeded');
  const error = caught as { code?: number; details?: string; metadata?: grpc.Metadata; statusDetails?: unknown[] };
  const violations: RpcFailure['violations'] = [];
  const raw = error.metadata?.get('grpc-status-details-bin')[0];
  if (raw instanceof Buffer) {
    const status = decodeRpcMessage('google.rpc.Status', raw) as { details: Array<{ type_url: string; value: Buffer }> };
    for (const any of status.details) {
      if (any.type_url !== 'type.googleapis.com/google.rpc.PreconditionFailure') continue;
      const detail = decodeRpcMessage('google.rpc.PreconditionFailure', any.value) as { violations: RpcFailure['violations'] };
      violations.push(...detail.violations);
    }
  }
  return { code: error.code, details: error.details ?? '', violations, statusDetails: error.statusDetails ?? [] };
}

export const HOUR = 3_600_000;
export const DAY = 24 * HOUR;
export const seconds = (ms: number) => ({ seconds: Math.floor(ms / 1000), nanos: 0 });
/** A proto Timestamp or Duration, as the client returns it, in ms. */
export function ms(value: { seconds?: unknown; nanos?: number | null } | null | undefined): number | undefined {
  if (value === null || value === undefined) return undefined;
  return Number(value.seconds) * 1000 + Math.floor((value.nanos ?? 0) / 1e6);
}
