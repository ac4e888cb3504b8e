/** Records -> the plain objects proto-loader serializes as KeyRing, CryptoKey, CryptoKeyVersion. */
import type { CryptoKeyRecord, KeyRingRecord, VersionRecord } from './model.ts';
import { toProtoTime, type ProtoSeconds } from './time.ts';

export const ALGORITHM = 'GOOGLE_SYMMETRIC_ENCRYPTION';
export const PROTECTION_LEVEL = 'SOFTWARE';

function optionalTime(ms: number | undefined): ProtoSeconds | null {
  return ms === undefined ? null : toProtoTime(ms);
}

function toProtoDuration(ms: number): ProtoSeconds {
  return toProtoTime(ms);
}

export function keyRingResource(ring: KeyRingRecord): object {
  return { name: ring.name, createTime: toProtoTime(ring.createTime) };
}

export function versionResource(key: CryptoKeyRecord, v: VersionRecord): object {
  return {
    name: `${key.name}/cryptoKeyVersions/${v.id}`,
    state: v.state,
    protectionLevel: PROTECTION_LEVEL,
    algorithm: ALGORITHM,
    createTime: toProtoTime(v.createTime),
    generateTime: toProtoTime(v.generateTime),
    destroyTime: optionalTime(v.destroyTime),
    destroyEventTime: optionalTime(v.destroyEventTime),
  };
}

export function cryptoKeyResource(key: CryptoKeyRecord): object {
  const primary = key.versions.find((v) => v.id === key.primary);
  return {
    name: key.name,
    primary: primary === undefined ? null : versionResource(key, primary),
    purpose: 'ENCRYPT_DECRYPT',
    createTime: toProtoTime(key.createTime),
    nextRotationTime: optionalTime(key.nextRotationTime),
    ...(key.rotationPeriodMs === undefined ? {} : { rotationPeriod: toProtoDuration(key.rotationPeriodMs) }),
    versionTemplate: { protectionLevel: PROTECTION_LEVEL, algorithm: ALGORITHM },
    labels: key.labels,
    importOnly: false,
    destroyScheduledDuration: toProtoDuration(key.destroyScheduledDurationMs),
  };
}
