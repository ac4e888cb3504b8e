/**
 * Time-driven changes, evaluated lazily against the clock on every request: scheduled destruction
 * and automatic rotation. Doing it lazily instead of with timers keeps a manual clock exact and
 * lets several processes sharing a state file agree.
 */
import { newVersionMaterial } from './crypto.ts';
import type { CryptoKeyRecord, EmulatorState, VersionRecord } from './model.ts';

/** Rotations applied in one evaluation, at most: a clock jumped by decades must not hang. */
const MAX_ROTATIONS_PER_EVALUATION = 10_000;

/** Adds an ENABLED version created (and generated) at `at`. It does not become primary. */
export function addVersion(key: CryptoKeyRecord, at: number): VersionRecord {
  const material = newVersionMaterial();
  const version: VersionRecord = {
    id: key.nextVersionId,
    state: 'ENABLED',
    createTime: at,
    generateTime: at,
    material,
    ref: material.ref,
  };
  key.nextVersionId += 1;
  key.versions.push(version);
  return version;
}

/** Makes `id` the primary, remembering the previous one and when, for the propagation lag. */
export function setPrimary(key: CryptoKeyRecord, id: number, at: number): void {
  if (key.primary === id) return;
  if (key.primary === undefined) delete key.previousPrimary;
  else key.previousPrimary = key.primary;
  key.primary = id;
  key.primaryChangedAt = at;
}

function applyDestruction(key: CryptoKeyRecord, now: number): boolean {
  let changed = false;
  for (const v of key.versions) {
    if (v.state !== 'DESTROY_SCHEDULED' || v.destroyTime === undefined || v.destroyTime > now) continue;
    v.state = 'DESTROYED';
    v.destroyEventTime = v.destroyTime;
    delete v.material;
    changed = true;
  }
  return changed;
}

function applyRotation(key: CryptoKeyRecord, now: number): boolean {
  let changed = false;
  for (let i = 0; i < MAX_ROTATIONS_PER_EVALUATION; i++) {
    const due = key.nextRotationTime;
    if (due === undefined || due > now) break;
    const version = addVersion(key, due);
    setPrimary(key, version.id, due);
    // Without a period, next_rotation_time is a one-shot rotation.
    if (key.rotationPeriodMs === undefined) delete key.nextRotationTime;
    else key.nextRotationTime = due + key.rotationPeriodMs;
    changed = true;
  }
  return changed;
}

/** Brings every key up to `now`; returns whether anything changed (so the caller saves). */
export function advanceState(state: EmulatorState, now: number): boolean {
  let changed = false;
  for (const key of Object.values(state.cryptoKeys)) {
    // Rotation first: a version created by rotation can never already be due for destruction.
    if (applyRotation(key, now)) changed = true;
    if (applyDestruction(key, now)) changed = true;
  }
  return changed;
}
