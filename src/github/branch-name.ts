/**
 * The deterministic branch and title of a rotation's pull request. One branch per repository and
 * rotation: named after the Cloud KMS version the files are re-encrypted to
 * (`sops-rekey/<keyring>-<key>-v<N>`); when one rotation moves several keys at once, after the
 * first of them and how many more (`sops-rekey/<keyring>-<key>-v<N>-and-2-more`). Same targets,
 * same branch, same title.
 */
import { BRANCH_PREFIX } from './markers.ts';

export interface RotationTarget {
  /** Full CryptoKeyVersion name. */
  readonly version: string;
}

const VERSION = /keyRings\/([^/]+)\/cryptoKeys\/([^/]+)\/cryptoKeyVersions\/([^/]+)$/;

interface Parts {
  readonly ring: string;
  readonly key: string;
  readonly id: string;
}

function parts(version: string): Parts {
  const match = VERSION.exec(version);
  if (!match) throw new RangeError(`not a CryptoKeyVersion name: ${version}`);
  return { ring: match[1] ?? '', key: match[2] ?? '', id: match[3] ?? '' };
}

/** Sorted, deduplicated target versions: the identity of a rotation. */
export function rotationTargets(versions: Iterable<string>): string[] {
  return [...new Set(versions)].sort();
}

/** `sops-rekey/<keyring>-<key>-v<N>[-and-K-more]`. */
export function branchName(targets: readonly string[]): string {
  const sorted = rotationTargets(targets);
  const first = sorted[0];
  if (first === undefined) throw new RangeError('a rotation needs at least one target version');
  const { ring, key, id } = parts(first);
  const more = sorted.length > 1 ? `-and-${sorted.length - 1}-more` : '';
  return `${BRANCH_PREFIX}${safe(ring)}-${safe(key)}-v${safe(id)}${more}`;
}

/** The stable pull request title; urgent rescues say so first. */
export function pullTitle(targets: readonly string[], urgent: boolean): string {
  const sorted = rotationTargets(targets);
  const first = sorted[0];
  if (first === undefined) throw new RangeError('a rotation needs at least one target version');
  const { ring, key, id } = parts(first);
  const more = sorted.length > 1 ? ` and ${sorted.length - 1} more key${sorted.length > 2 ? 's' : ''}` : '';
  return `${urgent ? 'Urgent: ' : ''}sops-rekey: re-encrypt SOPS files to ${ring}/${key} v${id}${more}`;
}

/** Git ref names forbid some characters; Cloud KMS ids are `[a-zA-Z0-9_-]` already, this is a guard. */
function safe(text: string): string {
  return text.replace(/[^A-Za-z0-9_.-]/g, '_');
}
