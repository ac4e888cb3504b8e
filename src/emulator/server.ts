/**
 * Starting and stopping the emulator: a plain-text gRPC server on 127.0.0.1 (by default) serving
 * the Cloud KMS API from the `.proto` files of `@google-cloud/kms`.
 */
import { Server, ServerCredentials, type ServiceDefinition } from '@grpc/grpc-js';
import { checkDenials, type AccessDenial } from './access.ts';
import { systemClock, type Clock } from './clock.ts';
import { checkFaults, type FaultOptions } from './faults.ts';
import { checkLag } from './propagation.ts';
import { kmsPackageDefinition, SERVICE_NAME } from './proto.ts';
import { makeRandom } from './random.ts';
import { kmsServiceImplementation, type ServiceSettings } from './service.ts';
import { StateStore } from './store.ts';

export interface EmulatorOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0 (an ephemeral port). */
  port?: number;
  /** Default the system clock. */
  clock?: Clock;
  /** JSON file holding the state (key material included), shared by processes using the same file. */
  stateFile?: string;
  /** After a primary change, Encrypt by key name may use the previous primary for this long (default 0). */
  propagationLagMs?: number;
  /** 0..1: share of Encrypt-by-key-name calls during the lag that still use the old primary (default 1). */
  lagFraction?: number;
  faults?: FaultOptions;
  /** Permissions the caller lacks (PERMISSION_DENIED), per resource and below. */
  denials?: AccessDenial[];
  /** Makes fault injection and lag choices reproducible. */
  seed?: number;
}

export interface RunningEmulator {
  /** "127.0.0.1:PORT", the KMS_EMULATOR_HOST value. */
  readonly host: string;
  readonly port: number;
  readonly clock: Clock;
  setFaults(faults: FaultOptions): void;
  setPropagationLag(ms: number, fraction?: number): void;
  /** Replaces the denials: from now on these permissions are missing on these resources. */
  setDenials(denials: readonly AccessDenial[]): void;
  /** Count of RPCs received per method name, e.g. `{ Decrypt: 12 }`. */
  callCounts(): Record<string, number>;
  close(): Promise<void>;
}

/** Starts an emulator; resolves once it listens. */
export async function startEmulator(options: EmulatorOptions = {}): Promise<RunningEmulator> {
  const hostName = options.host ?? '127.0.0.1';
  const clock = options.clock ?? systemClock;
  const settings: ServiceSettings = {
    faults: checkFaults(options.faults ?? {}),
    lag: checkLag({ lagMs: options.propagationLagMs ?? 0, fraction: options.lagFraction ?? 1 }),
    denials: checkDenials(options.denials ?? []),
  };
  const counts = new Map<string, number>();
  const store = new StateStore(options.stateFile);
  const server = new Server();
  const service = kmsPackageDefinition()[SERVICE_NAME] as ServiceDefinition;
  server.addService(
    service,
    kmsServiceImplementation({
      store,
      clock,
      settings,
      // Two streams from one seed, so turning faults on does not change which calls lag.
      faultRandom: makeRandom(options.seed),
      lagRandom: makeRandom(options.seed === undefined ? undefined : options.seed + 1),
      counts,
    }),
  );

  const port = await new Promise<number>((resolve, reject) => {
    const address = hostName.includes(':') ? `[${hostName}]:${options.port ?? 0}` : `${hostName}:${options.port ?? 0}`;
    server.bindAsync(address, ServerCredentials.createInsecure(), (error, bound) => {
      if (error) reject(error);
      else resolve(bound);
    });
  });

  return {
    host: `${hostName}:${port}`,
    port,
    clock,
    setFaults(faults) {
      settings.faults = checkFaults(faults);
    },
    setPropagationLag(ms, fraction) {
      settings.lag = checkLag({ lagMs: ms, fraction: fraction ?? settings.lag.fraction });
    },
    setDenials(denials) {
      settings.denials = checkDenials(denials);
    },
    callCounts: () => Object.fromEntries(counts),
    close: () =>
      new Promise<void>((resolve) => {
        // Let calls in flight finish, but never hang a test on a stuck client.
        const timer = setTimeout(() => server.forceShutdown(), 2000);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      }),
  };
}
