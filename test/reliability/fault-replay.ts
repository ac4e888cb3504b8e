/**
 * Counting what the emulator injected: its decisions come from one seeded stream that only Encrypt
 * and Decrypt calls draw from (one draw for "error?", one more for the code when it errs, else one
 * for "corrupt the CRC32C?"), in the order calls arrive. Replaying the same stream over the number
 * of such calls gives the exact count of each fault, whatever order the calls came in.
 */
import { seededRandom } from '../../src/emulator/random.ts';
import { injectedError, shouldCorruptCrc, type TransientCode } from '../../src/emulator/faults.ts';
import type { FaultOptions } from '../../src/emulator/index.ts';

export interface InjectedCounts {
  readonly calls: number;
  readonly errors: Readonly<Partial<Record<TransientCode, number>>>;
  readonly corruptedCrc: number;
}

/**
 * The faults `calls` Encrypt/Decrypt calls got from an emulator started with `seed`, faults set
 * before the first of them. Valid while every call that is not failed by injection succeeds
 * (a real error, e.g. a disabled version, skips the CRC draw).
 */
export function replayFaults(seed: number, faults: FaultOptions, calls: number): InjectedCounts {
  const random = seededRandom(seed);
  const errors: Partial<Record<TransientCode, number>> = {};
  let corruptedCrc = 0;
  for (let i = 0; i < calls; i++) {
    const error = injectedError(faults, random);
    if (error !== undefined) {
      const code = error.code as TransientCode;
      errors[code] = (errors[code] ?? 0) + 1;
    } else if (shouldCorruptCrc(faults, random)) {
      corruptedCrc += 1;
    }
  }
  return { calls, errors, corruptedCrc };
}
