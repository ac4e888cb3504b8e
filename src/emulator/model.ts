/**
 * The emulator's data: key rings, crypto keys and their versions, as plain JSON-able records so
 * the whole state can be written to a file and shared between processes. Times are epoch ms.
 */
import { z } from 'zod';

/** The states the emulator produces; the real API has more (import, external keys) we never reach. */
export type VersionState = 'ENABLED' | 'DISABLED' | 'DESTROY_SCHEDULED' | 'DESTROYED';

const materialSchema = z.object({ ref: z.string(), key: z.string() });

export const versionRecordSchema = z.object({
  id: z.number().int().positive(),
  state: z.enum(['ENABLED', 'DISABLED', 'DESTROY_SCHEDULED', 'DESTROYED']),
  createTime: z.number(),
  generateTime: z.number(),
  destroyTime: z.number().optional(),
  destroyEventTime: z.number().optional(),
  /** Dropped when the version is DESTROYED, as the real key material is. */
  material: materialSchema.optional(),
  /** Kept after destruction so a ciphertext of a destroyed version is still recognised as such. */
  ref: z.string(),
});
export type VersionRecord = z.infer<typeof versionRecordSchema>;

export const cryptoKeyRecordSchema = z.object({
  name: z.string(),
  createTime: z.number(),
  labels: z.record(z.string(), z.string()),
  primary: z.number().int().positive().optional(),
  rotationPeriodMs: z.number().optional(),
  nextRotationTime: z.number().optional(),
  destroyScheduledDurationMs: z.number(),
  nextVersionId: z.number().int().positive(),
  versions: z.array(versionRecordSchema),
  /** When the primary last changed, and what it was before: drives the propagation lag. */
  primaryChangedAt: z.number().optional(),
  previousPrimary: z.number().int().positive().optional(),
});
export type CryptoKeyRecord = z.infer<typeof cryptoKeyRecordSchema>;

export const keyRingRecordSchema = z.object({ name: z.string(), createTime: z.number() });
export type KeyRingRecord = z.infer<typeof keyRingRecordSchema>;

export const emulatorStateSchema = z.object({
  format: z.literal('sops-rekey-kms-emulator/1'),
  keyRings: z.record(z.string(), keyRingRecordSchema),
  cryptoKeys: z.record(z.string(), cryptoKeyRecordSchema),
});
export type EmulatorState = z.infer<typeof emulatorStateSchema>;

export function emptyState(): EmulatorState {
  return { format: 'sops-rekey-kms-emulator/1', keyRings: {}, cryptoKeys: {} };
}
