/**
 * Fault injection: added latency, transient errors and corrupted CRC32C fields, so callers' retry
 * and integrity checks can be exercised. Decisions come from a seeded generator to be repeatable.
 */
import { RpcError } from './errors.ts';
import type { Random } from './random.ts';

export type TransientCode = 'UNAVAILABLE' | 'DEADLINE_EXCEEDED' | 'RESOURCE_EXHAUSTED';

export interface FaultOptions {
  /** How long every RPC takes on the server, from its arrival to its answer (the emulator's own
   *  work happens within it, as a remote service's does within its latency). */
  latencyMs?: number;
  /** 0..1: fraction of Encrypt/Decrypt answered with a transient error. */
  errorRate?: number;
  /** Codes the transient errors use, picked at random (default UNAVAILABLE). */
  errorCodes?: TransientCode[];
  /** 0..1: fraction of Encrypt/Decrypt responses whose CRC32C field is wrong. */
  corruptCrcRate?: number;
}

const MESSAGES: Record<TransientCode, string> = {
  UNAVAILABLE: 'The service is currently unavailable (injected by the KMS emulator).',
  DEADLINE_EXCEEDED: 'Deadline exceeded (injected by the KMS emulator).',
  RESOURCE_EXHAUSTED: 'Quota exceeded (injected by the KMS emulator).',
};

function checkRate(name: string, rate: number | undefined): void {
  if (rate !== undefined && !(rate >= 0 && rate <= 1)) throw new RangeError(`${name} must be between 0 and 1`);
}

export function checkFaults(faults: FaultOptions): FaultOptions {
  checkRate('errorRate', faults.errorRate);
  checkRate('corruptCrcRate', faults.corruptCrcRate);
  if (faults.latencyMs !== undefined && !(faults.latencyMs >= 0)) throw new RangeError('latencyMs must be non-negative');
  if (faults.errorCodes !== undefined && faults.errorCodes.length === 0) throw new RangeError('errorCodes must not be empty');
  return { ...faults, ...(faults.errorCodes ? { errorCodes: [...faults.errorCodes] } : {}) };
}

/** The transient error to answer with instead of doing the call, if the dice say so. */
export function injectedError(faults: FaultOptions, random: Random): RpcError | undefined {
  const rate = faults.errorRate ?? 0;
  if (rate <= 0 || random() >= rate) return undefined;
  const codes = faults.errorCodes ?? ['UNAVAILABLE'];
  const code = codes[Math.floor(random() * codes.length)] ?? 'UNAVAILABLE';
  return new RpcError(code, MESSAGES[code]);
}

/** Whether this response gets a wrong CRC32C. */
export function shouldCorruptCrc(faults: FaultOptions, random: Random): boolean {
  const rate = faults.corruptCrcRate ?? 0;
  return rate > 0 && random() < rate;
}

/** A CRC32C guaranteed to differ from the given one. */
export function corruptedCrc(value: string | number): number {
  return (Number(value) ^ 0x5a5a5a5a) >>> 0;
}
