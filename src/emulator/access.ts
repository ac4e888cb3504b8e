/**
 * Missing IAM permissions, as Cloud KMS reports them. The emulator authenticates nobody (plain
 * gRPC, as `KMS_EMULATOR_HOST` clients connect), so instead of policies it takes denials: "the
 * caller lacks these permissions on this resource and everything below it". A denied call answers
 * PERMISSION_DENIED with the real API's wording, e.g.
 * `Permission 'cloudkms.cryptoKeyVersions.useToDecrypt' denied on resource
 * 'projects/p/locations/global/keyRings/r/cryptoKeys/k' (or it may not exist).`
 * That is what a service account with only `roles/cloudkms.cryptoKeyDecrypter`, or none at all,
 * meets; tests and demos need it to show how the app reports it.
 */
import { RpcError } from './errors.ts';

export interface AccessDenial {
  /** A key ring, CryptoKey or version name; the denial covers the resources below it too. */
  readonly resource: string;
  /** The permissions denied (e.g. `cloudkms.cryptoKeyVersions.useToEncrypt`); default all. */
  readonly permissions?: readonly string[];
}

/** The permission each RPC needs, as the Cloud KMS IAM documentation names it. */
const PERMISSIONS: Record<string, string> = {
  CreateKeyRing: 'cloudkms.keyRings.create',
  GetKeyRing: 'cloudkms.keyRings.get',
  ListKeyRings: 'cloudkms.keyRings.list',
  CreateCryptoKey: 'cloudkms.cryptoKeys.create',
  GetCryptoKey: 'cloudkms.cryptoKeys.get',
  ListCryptoKeys: 'cloudkms.cryptoKeys.list',
  UpdateCryptoKey: 'cloudkms.cryptoKeys.update',
  UpdateCryptoKeyPrimaryVersion: 'cloudkms.cryptoKeys.update',
  CreateCryptoKeyVersion: 'cloudkms.cryptoKeyVersions.create',
  GetCryptoKeyVersion: 'cloudkms.cryptoKeyVersions.get',
  ListCryptoKeyVersions: 'cloudkms.cryptoKeyVersions.list',
  UpdateCryptoKeyVersion: 'cloudkms.cryptoKeyVersions.update',
  DestroyCryptoKeyVersion: 'cloudkms.cryptoKeyVersions.destroy',
  RestoreCryptoKeyVersion: 'cloudkms.cryptoKeyVersions.restore',
  Encrypt: 'cloudkms.cryptoKeyVersions.useToEncrypt',
  Decrypt: 'cloudkms.cryptoKeyVersions.useToDecrypt',
};

/** The resource a request acts on: its `name`, `parent`, or the name inside an update. */
function resourceOf(request: Record<string, unknown>): string {
  for (const field of ['name', 'parent']) {
    const value = request[field];
    if (typeof value === 'string' && value !== '') return value;
  }
  for (const field of ['cryptoKey', 'cryptoKeyVersion']) {
    const inner = request[field] as { name?: unknown } | null | undefined;
    if (typeof inner?.name === 'string') return inner.name;
  }
  return '';
}

const covers = (denied: string, resource: string): boolean => resource === denied || resource.startsWith(`${denied}/`);

/** Throws PERMISSION_DENIED when a denial covers this call. */
export function checkAccess(method: string, request: unknown, denials: readonly AccessDenial[]): void {
  if (denials.length === 0) return;
  const permission = PERMISSIONS[method];
  if (permission === undefined) return;
  const resource = resourceOf((request ?? {}) as Record<string, unknown>);
  const denied = denials.some((d) => covers(d.resource, resource) && (d.permissions === undefined || d.permissions.includes(permission)));
  if (denied) throw new RpcError('PERMISSION_DENIED', `Permission '${permission}' denied on resource '${resource}' (or it may not exist).`);
}

/** Validates denials given by a caller; throws RangeError naming the bad one. */
export function checkDenials(denials: readonly AccessDenial[]): readonly AccessDenial[] {
  const known = new Set(Object.values(PERMISSIONS));
  for (const denial of denials) {
    if (!/^projects\/[^/]+\/locations\/[^/]+(\/|$)/.test(denial.resource)) throw new RangeError(`not a Cloud KMS resource name: ${JSON.stringify(denial.resource)}`);
    for (const permission of denial.permissions ?? []) {
      if (!known.has(permission)) throw new RangeError(`not a Cloud KMS permission: ${JSON.stringify(permission)}`);
    }
  }
  return [...denials];
}
