/**
 * Key ring, crypto key and version management: the administrative half of the KMS API. Each
 * function takes the decoded request (camelCase, unset fields null/empty) and returns the response
 * object; errors are `RpcError`s worded as the real API words them.
 */
import type { RequestContext } from './context.ts';
import { alreadyExists, failedPrecondition, invalidArgument, versionNotEnabled } from './errors.ts';
import { parseStateFilter } from './filter.ts';
import { addVersion, setPrimary } from './lifecycle.ts';
import { findCryptoKey, findKeyRing, findVersion } from './lookup.ts';
import type { CryptoKeyRecord } from './model.ts';
import {
  checkId,
  formatCryptoKeyName,
  formatKeyRingName,
  formatLocationName,
  parseCryptoKeyName,
  parseCryptoKeyVersionName,
  parseKeyRingName,
  parseLocationName,
} from './names.ts';
import { paginate } from './pagination.ts';
import { ALGORITHM, cryptoKeyResource, keyRingResource, versionResource } from './resources.ts';
import { DAY_MS, fromProtoTime, HOUR_MS, type ProtoSeconds } from './time.ts';

type Duration = ProtoSeconds | null;

interface ListRequest {
  parent: string;
  pageSize: number;
  pageToken: string;
  filter: string;
}

interface CryptoKeyInput {
  purpose: string;
  nextRotationTime: ProtoSeconds | null;
  rotationPeriod: Duration;
  versionTemplate: { protectionLevel: string; algorithm: string } | null;
  labels: Record<string, string>;
  importOnly: boolean;
  destroyScheduledDuration: Duration;
  /** The oneof holding rotation_period: 'rotationPeriod' when it is set. */
  rotationSchedule?: string;
}

const MIN_ROTATION_MS = 24 * HOUR_MS;
const MAX_ROTATION_MS = 876_000 * HOUR_MS;
const DEFAULT_DESTROY_SCHEDULED_MS = 30 * DAY_MS;
const MIN_DESTROY_SCHEDULED_MS = 24 * HOUR_MS;
const MAX_DESTROY_SCHEDULED_MS = 120 * DAY_MS;

function durationMs(d: Duration): number | undefined {
  return fromProtoTime(d);
}

function versionName(key: CryptoKeyRecord, id: number): string {
  return `${key.name}/cryptoKeyVersions/${id}`;
}

/** Field-mask paths in snake_case: clients may send either spelling. */
function maskPaths(mask: { paths: string[] } | null): string[] {
  return (mask?.paths ?? []).map((p) => p.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`));
}

function checkRotation(periodMs: number | undefined, nextMs: number | undefined): void {
  if (periodMs === undefined) return;
  if (periodMs < MIN_ROTATION_MS || periodMs > MAX_ROTATION_MS) {
    throw invalidArgument('rotation_period must be between 24 hours and 876,000 hours.');
  }
  if (nextMs === undefined) throw invalidArgument('next_rotation_time must be set when rotation_period is set.');
}

// ---- key rings ----

export function createKeyRing(req: { parent: string; keyRingId: string }, ctx: RequestContext): object {
  const location = parseLocationName(req.parent);
  checkId('key_ring_id', req.keyRingId);
  const name = formatKeyRingName({ ...location, keyRing: req.keyRingId });
  if (ctx.state.keyRings[name] !== undefined) throw alreadyExists(`KeyRing ${name} already exists.`);
  const ring = { name, createTime: ctx.now };
  ctx.state.keyRings[name] = ring;
  return keyRingResource(ring);
}

export function getKeyRing(req: { name: string }, ctx: RequestContext): object {
  parseKeyRingName(req.name);
  return keyRingResource(findKeyRing(ctx.state, req.name));
}

export function listKeyRings(req: ListRequest, ctx: RequestContext): object {
  const parent = formatLocationName(parseLocationName(req.parent));
  if (req.filter !== '') throw invalidArgument('The KMS emulator does not support filters on key rings.');
  const rings = Object.values(ctx.state.keyRings).filter((r) => r.name.startsWith(`${parent}/keyRings/`));
  const page = paginate(rings, `rings:${parent}`, req.pageSize, req.pageToken);
  return { keyRings: page.items.map(keyRingResource), nextPageToken: page.nextPageToken, totalSize: page.totalSize };
}

// ---- crypto keys ----

export function createCryptoKey(
  req: { parent: string; cryptoKeyId: string; cryptoKey: CryptoKeyInput | null; skipInitialVersionCreation: boolean },
  ctx: RequestContext,
): object {
  const ring = parseKeyRingName(req.parent, 'parent');
  checkId('crypto_key_id', req.cryptoKeyId);
  findKeyRing(ctx.state, req.parent);
  const input = req.cryptoKey;
  if (input === null || input.purpose !== 'ENCRYPT_DECRYPT') {
    throw invalidArgument('The KMS emulator supports only crypto keys with purpose ENCRYPT_DECRYPT.');
  }
  const template = input.versionTemplate;
  if (template !== null && !['', 'CRYPTO_KEY_VERSION_ALGORITHM_UNSPECIFIED', ALGORITHM].includes(template.algorithm)) {
    throw invalidArgument(`Algorithm ${template.algorithm} is not supported by the KMS emulator.`);
  }
  if (input.importOnly) throw invalidArgument('The KMS emulator does not support import_only keys.');
  const name = formatCryptoKeyName({ ...ring, cryptoKey: req.cryptoKeyId });
  if (ctx.state.cryptoKeys[name] !== undefined) throw alreadyExists(`CryptoKey ${name} already exists.`);

  const destroyMs = durationMs(input.destroyScheduledDuration) ?? DEFAULT_DESTROY_SCHEDULED_MS;
  if (destroyMs < MIN_DESTROY_SCHEDULED_MS || destroyMs > MAX_DESTROY_SCHEDULED_MS) {
    throw invalidArgument('destroy_scheduled_duration must be between 24 hours and 120 days.');
  }
  const periodMs = input.rotationSchedule === 'rotationPeriod' ? durationMs(input.rotationPeriod) : undefined;
  const nextMs = fromProtoTime(input.nextRotationTime);
  checkRotation(periodMs, nextMs);

  const key: CryptoKeyRecord = {
    name,
    createTime: ctx.now,
    labels: { ...input.labels },
    destroyScheduledDurationMs: destroyMs,
    nextVersionId: 1,
    versions: [],
    ...(periodMs === undefined ? {} : { rotationPeriodMs: periodMs }),
    ...(nextMs === undefined ? {} : { nextRotationTime: nextMs }),
  };
  if (!req.skipInitialVersionCreation) {
    const first = addVersion(key, ctx.now);
    setPrimary(key, first.id, ctx.now);
  }
  ctx.state.cryptoKeys[name] = key;
  return cryptoKeyResource(key);
}

export function getCryptoKey(req: { name: string }, ctx: RequestContext): object {
  parseCryptoKeyName(req.name);
  return cryptoKeyResource(findCryptoKey(ctx.state, req.name));
}

export function listCryptoKeys(req: ListRequest, ctx: RequestContext): object {
  parseKeyRingName(req.parent, 'parent');
  findKeyRing(ctx.state, req.parent);
  if (req.filter !== '') throw invalidArgument('The KMS emulator does not support filters on crypto keys.');
  const keys = Object.values(ctx.state.cryptoKeys).filter((k) => k.name.startsWith(`${req.parent}/cryptoKeys/`));
  const page = paginate(keys, `keys:${req.parent}`, req.pageSize, req.pageToken);
  return { cryptoKeys: page.items.map(cryptoKeyResource), nextPageToken: page.nextPageToken, totalSize: page.totalSize };
}

export function updateCryptoKey(
  req: { cryptoKey: (CryptoKeyInput & { name: string }) | null; updateMask: { paths: string[] } | null },
  ctx: RequestContext,
): object {
  const input = req.cryptoKey;
  if (input === null) throw invalidArgument('crypto_key is required.');
  parseCryptoKeyName(input.name, 'crypto_key.name');
  const key = findCryptoKey(ctx.state, input.name);
  const paths = maskPaths(req.updateMask);
  if (paths.length === 0) throw invalidArgument('update_mask must name at least one field.');

  let periodMs = key.rotationPeriodMs;
  let nextMs = key.nextRotationTime;
  let labels = key.labels;
  for (const path of paths) {
    if (path === 'rotation_period') periodMs = durationMs(input.rotationPeriod);
    else if (path === 'next_rotation_time') nextMs = fromProtoTime(input.nextRotationTime);
    else if (path === 'labels') labels = { ...input.labels };
    else throw invalidArgument(`update_mask path ${JSON.stringify(path)} is not updatable.`);
  }
  checkRotation(periodMs, nextMs);

  if (periodMs === undefined) delete key.rotationPeriodMs;
  else key.rotationPeriodMs = periodMs;
  if (nextMs === undefined) delete key.nextRotationTime;
  else key.nextRotationTime = nextMs;
  key.labels = labels;
  return cryptoKeyResource(key);
}

export function updateCryptoKeyPrimaryVersion(
  req: { name: string; cryptoKeyVersionId: string },
  ctx: RequestContext,
): object {
  parseCryptoKeyName(req.name);
  if (!/^[1-9][0-9]*$/.test(req.cryptoKeyVersionId)) {
    throw invalidArgument(`crypto_key_version_id must be a version number, got ${JSON.stringify(req.cryptoKeyVersionId)}.`);
  }
  const key = findCryptoKey(ctx.state, req.name);
  const id = Number(req.cryptoKeyVersionId);
  const version = findVersion(key, id);
  if (version.state !== 'ENABLED') throw versionNotEnabled(versionName(key, id), version.state);
  setPrimary(key, id, ctx.now);
  return cryptoKeyResource(key);
}

// ---- versions ----

export function createCryptoKeyVersion(req: { parent: string }, ctx: RequestContext): object {
  parseCryptoKeyName(req.parent, 'parent');
  const key = findCryptoKey(ctx.state, req.parent);
  // Like Cloud KMS for symmetric keys, a new version is not made primary.
  return versionResource(key, addVersion(key, ctx.now));
}

function keyAndVersion(name: string, field: string, ctx: RequestContext) {
  const parsed = parseCryptoKeyVersionName(name, field);
  const key = findCryptoKey(ctx.state, formatCryptoKeyName(parsed));
  return { key, version: findVersion(key, parsed.version) };
}

export function getCryptoKeyVersion(req: { name: string }, ctx: RequestContext): object {
  const { key, version } = keyAndVersion(req.name, 'name', ctx);
  return versionResource(key, version);
}

export function listCryptoKeyVersions(req: ListRequest, ctx: RequestContext): object {
  parseCryptoKeyName(req.parent, 'parent');
  const key = findCryptoKey(ctx.state, req.parent);
  const keep = parseStateFilter(req.filter);
  const versions = key.versions.filter((v) => keep(v.state));
  const page = paginate(versions, `versions:${req.parent}:${req.filter}`, req.pageSize, req.pageToken);
  return {
    cryptoKeyVersions: page.items.map((v) => versionResource(key, v)),
    nextPageToken: page.nextPageToken,
    totalSize: page.totalSize,
  };
}

export function updateCryptoKeyVersion(
  req: { cryptoKeyVersion: { name: string; state: string } | null; updateMask: { paths: string[] } | null },
  ctx: RequestContext,
): object {
  const input = req.cryptoKeyVersion;
  if (input === null) throw invalidArgument('crypto_key_version is required.');
  const { key, version } = keyAndVersion(input.name, 'crypto_key_version.name', ctx);
  const paths = maskPaths(req.updateMask);
  if (paths.length === 0) throw invalidArgument('update_mask must name at least one field.');
  for (const path of paths) {
    if (path !== 'state') throw invalidArgument(`update_mask path ${JSON.stringify(path)} is not updatable.`);
  }
  if (input.state !== 'ENABLED' && input.state !== 'DISABLED') {
    throw invalidArgument(`The state of a CryptoKeyVersion can only be updated to ENABLED or DISABLED, got ${input.state}.`);
  }
  if (version.state !== 'ENABLED' && version.state !== 'DISABLED') {
    throw failedPrecondition(
      `${versionName(key, version.id)} is not enabled or disabled, current state is: ${version.state}.`,
    );
  }
  version.state = input.state;
  return versionResource(key, version);
}

export function destroyCryptoKeyVersion(req: { name: string }, ctx: RequestContext): object {
  const { key, version } = keyAndVersion(req.name, 'name', ctx);
  if (version.state !== 'ENABLED' && version.state !== 'DISABLED') {
    throw failedPrecondition(`${versionName(key, version.id)} cannot be destroyed, current state is: ${version.state}.`);
  }
  version.state = 'DESTROY_SCHEDULED';
  version.destroyTime = ctx.now + key.destroyScheduledDurationMs;
  return versionResource(key, version);
}

export function restoreCryptoKeyVersion(req: { name: string }, ctx: RequestContext): object {
  const { key, version } = keyAndVersion(req.name, 'name', ctx);
  if (version.state !== 'DESTROY_SCHEDULED') {
    throw failedPrecondition(`${versionName(key, version.id)} cannot be restored, current state is: ${version.state}.`);
  }
  // Restore leaves the version DISABLED: enabling it is a separate, deliberate call.
  version.state = 'DISABLED';
  delete version.destroyTime;
  return versionResource(key, version);
}
