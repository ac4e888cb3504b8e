/**
 * The gRPC implementation of google.cloud.kms.v1.KeyManagementService: every call is counted,
 * run against the state brought up to the clock, saved when it changed something, and answered
 * once the injected latency has passed since it arrived. Methods not listed answer UNIMPLEMENTED
 * (grpc-js does that).
 */
import type { sendUnaryData, ServerUnaryCall, UntypedServiceImplementation } from '@grpc/grpc-js';
import { checkAccess, type AccessDenial } from './access.ts';
import * as admin from './admin.ts';
import type { Clock } from './clock.ts';
import type { RequestContext } from './context.ts';
import { decrypt, encrypt } from './cryptoops.ts';
import { toServiceError } from './errors.ts';
import { corruptedCrc, injectedError, shouldCorruptCrc, type FaultOptions } from './faults.ts';
import { advanceState } from './lifecycle.ts';
import { encryptionVersion, type PropagationLag } from './propagation.ts';
import type { Random } from './random.ts';
import type { StateStore } from './store.ts';

// Requests arrive as decoded objects whose shape the .proto guarantees; each operation declares it.
type Operation = (req: never, ctx: RequestContext) => object;

interface MethodSpec {
  readonly run: Operation;
  /** Whether the call changes state (and so must be saved). */
  readonly mutates: boolean;
}

const METHODS: Record<string, MethodSpec> = {
  CreateKeyRing: { run: admin.createKeyRing, mutates: true },
  GetKeyRing: { run: admin.getKeyRing, mutates: false },
  ListKeyRings: { run: admin.listKeyRings, mutates: false },
  CreateCryptoKey: { run: admin.createCryptoKey, mutates: true },
  GetCryptoKey: { run: admin.getCryptoKey, mutates: false },
  ListCryptoKeys: { run: admin.listCryptoKeys, mutates: false },
  UpdateCryptoKey: { run: admin.updateCryptoKey, mutates: true },
  UpdateCryptoKeyPrimaryVersion: { run: admin.updateCryptoKeyPrimaryVersion, mutates: true },
  CreateCryptoKeyVersion: { run: admin.createCryptoKeyVersion, mutates: true },
  GetCryptoKeyVersion: { run: admin.getCryptoKeyVersion, mutates: false },
  ListCryptoKeyVersions: { run: admin.listCryptoKeyVersions, mutates: false },
  UpdateCryptoKeyVersion: { run: admin.updateCryptoKeyVersion, mutates: true },
  DestroyCryptoKeyVersion: { run: admin.destroyCryptoKeyVersion, mutates: true },
  RestoreCryptoKeyVersion: { run: admin.restoreCryptoKeyVersion, mutates: true },
  Encrypt: { run: encrypt, mutates: false },
  Decrypt: { run: decrypt, mutates: false },
};

/** Where faults apply: the data-plane calls the app retries. */
const FAULTY_METHODS = new Set(['Encrypt', 'Decrypt']);
/** The CRC32C field each faulty method returns. */
const CRC_FIELD: Record<string, string> = { Encrypt: 'ciphertextCrc32c', Decrypt: 'plaintextCrc32c' };

/** Mutable settings the running emulator can change between calls. */
export interface ServiceSettings {
  faults: FaultOptions;
  lag: PropagationLag;
  denials: readonly AccessDenial[];
}

export interface ServiceDeps {
  readonly store: StateStore;
  readonly clock: Clock;
  readonly settings: ServiceSettings;
  readonly faultRandom: Random;
  readonly lagRandom: Random;
  readonly counts: Map<string, number>;
}

function handle(method: string, spec: MethodSpec, deps: ServiceDeps, request: unknown): object {
  const state = deps.store.current();
  const now = deps.clock.now();
  // Lazy time-driven transitions happen before the call sees the state, whatever the call is.
  const advanced = advanceState(state, now);
  const ctx: RequestContext = {
    state,
    now,
    encryptionVersion: (key) => encryptionVersion(key, now, deps.settings.lag, deps.lagRandom),
  };
  try {
    const response = spec.run(request as never, ctx) as Record<string, unknown>;
    if (FAULTY_METHODS.has(method) && shouldCorruptCrc(deps.settings.faults, deps.faultRandom)) {
      const field = CRC_FIELD[method]!;
      const crc = response[field] as { value: number };
      response[field] = { value: corruptedCrc(crc.value) };
    }
    return response;
  } finally {
    // Failed mutations leave state untouched (operations validate before changing anything),
    // but time-driven transitions must still be saved.
    if (advanced || spec.mutates) deps.store.save();
  }
}

/** The handler table to pass to `server.addService`. */
export function kmsServiceImplementation(deps: ServiceDeps): UntypedServiceImplementation {
  const impl: UntypedServiceImplementation = {};
  for (const [method, spec] of Object.entries(METHODS)) {
    impl[method] = (call: ServerUnaryCall<unknown, object>, callback: sendUnaryData<object>) => {
      deps.counts.set(method, (deps.counts.get(method) ?? 0) + 1);
      // The injected latency is the whole time the call takes on the server, counted from its
      // arrival, as a remote service's latency includes its own work: the answer is computed at
      // once and held back until the latency has passed.
      const arrived = performance.now();
      const answer = (error: unknown, response?: object): void => {
        const wait = (deps.settings.faults.latencyMs ?? 0) - (performance.now() - arrived);
        const send = (): void => (error === null ? callback(null, response) : callback(toServiceError(error)));
        if (wait > 0) setTimeout(send, wait);
        else send();
      };
      try {
        // IAM is checked before the service does anything, as Cloud KMS does.
        checkAccess(method, call.request, deps.settings.denials);
        const injected = FAULTY_METHODS.has(method) ? injectedError(deps.settings.faults, deps.faultRandom) : undefined;
        if (injected !== undefined) answer(injected);
        else answer(null, handle(method, spec, deps, call.request));
      } catch (error) {
        answer(error);
      }
    };
  }
  return impl;
}
