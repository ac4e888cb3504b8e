/** Short forms of Cloud KMS resource names, for tables people read. */

/** `projects/p/locations/l/keyRings/ring/cryptoKeys/key[/cryptoKeyVersions/N]` → `ring/key`. */
export function shortKey(name: string): string {
  const match = /keyRings\/([^/]+)\/cryptoKeys\/([^/]+)/.exec(name);
  return match ? `${match[1]}/${match[2]}` : name;
}

/** A CryptoKeyVersion name → its id `N`; anything else unchanged. */
export function versionId(name: string): string {
  return /\/cryptoKeyVersions\/([^/]+)$/.exec(name)?.[1] ?? name;
}
