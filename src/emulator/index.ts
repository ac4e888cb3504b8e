/** The local Cloud KMS emulator: the public API used by tests, the demo and the CLI. */
export { ManualClock, systemClock, type Clock } from './clock.ts';
export type { AccessDenial } from './access.ts';
export type { FaultOptions } from './faults.ts';
export { startEmulator, type EmulatorOptions, type RunningEmulator } from './server.ts';
