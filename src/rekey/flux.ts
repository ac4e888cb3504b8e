import path from 'node:path';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { isMap, isScalar, parseAllDocuments } from 'yaml';
import type { YAMLMap } from 'yaml';
import { DEFAULT_MAX_FILE_SIZE } from './discover.ts';
import { readTextCandidate } from './find-sops-files.ts';

/** The Flux Kustomization API group, in every version Flux has served. */
const FLUX_API_GROUP = 'kustomize.toolkit.fluxcd.io';
export const FLUX_KUSTOMIZATION_API_VERSIONS: readonly string[] = ['v1', 'v1beta1', 'v1beta2'].map(
  (version) => `${FLUX_API_GROUP}/${version}`,
);

/** Manifests Flux reads from a repository. */
const MANIFEST_SUFFIXES = ['.yaml', '.yml', '.json'];

/**
 * A Flux `Kustomization` declared in the repository (not a kustomize `kustomization.yaml`).
 *
 * Assumptions, since only the repository is at hand:
 * - `spec.path` is taken relative to this repository's root, even when `spec.sourceRef` names
 *   another GitRepository (`sourceRef` is kept so a caller can tell);
 * - a missing `metadata.namespace` is `default`, where `kubectl apply` would put it;
 * - every SOPS file below `spec.path` is decrypted by it. Flux decrypts only what its build
 *   includes (every manifest below the path without a `kustomization.yaml`, otherwise what that
 *   file lists), so this may name a few Kustomizations too many, never too few.
 */
export interface FluxKustomization {
  /** `namespace/name`. */
  readonly id: string;
  readonly namespace: string;
  readonly name: string;
  /** Repository-relative file that declares it. */
  readonly file: string;
  /** `spec.path` as written (`''` when absent). */
  readonly path: string;
  /** `spec.path` resolved against the repository root: `''` is the root itself. */
  readonly resolvedPath: string;
  /** Absent when the Kustomization decrypts nothing. */
  readonly decryption: { readonly provider: string; readonly secretRef: string | null } | null;
  readonly sourceRef: { readonly kind: string; readonly name: string; readonly namespace: string | null } | null;
}

/** One Kustomization that decrypts a given SOPS file. */
export interface FluxDecryptionRef {
  readonly id: string;
  readonly file: string;
  readonly path: string;
  /** Name of the Secret holding the decryption keys; null when Flux uses its own identity (KMS). */
  readonly secretRef: string | null;
}

export interface FluxParseProblem {
  readonly file: string;
  readonly reason: string;
}

/**
 * The Flux Kustomizations of one YAML text (every document). Documents that do not parse are
 * reported in `problems` and the others still read.
 */
export function parseFluxKustomizations(
  text: string,
  file: string,
): { kustomizations: FluxKustomization[]; problems: FluxParseProblem[] } {
  const kustomizations: FluxKustomization[] = [];
  const problems: FluxParseProblem[] = [];
  if (!text.includes(FLUX_API_GROUP)) return { kustomizations, problems };
  const documents = parseAllDocuments(text, { uniqueKeys: false });
  for (const doc of Array.isArray(documents) ? documents : []) {
    if (doc.errors.length > 0) {
      if (text.slice(doc.range[0], doc.range[2]).includes(FLUX_API_GROUP)) {
        problems.push({ file, reason: `a YAML document does not parse (${doc.errors[0]?.code ?? 'error'})` });
      }
      continue;
    }
    const found = readKustomization(doc.contents, file);
    if (found !== null) kustomizations.push(found);
  }
  return { kustomizations, problems };
}

function readKustomization(contents: unknown, file: string): FluxKustomization | null {
  if (!isMap(contents)) return null;
  const apiVersion = scalarText(contents, 'apiVersion');
  if (apiVersion === null || !FLUX_KUSTOMIZATION_API_VERSIONS.includes(apiVersion)) return null;
  if (scalarText(contents, 'kind') !== 'Kustomization') return null;
  const metadata = map(contents, 'metadata');
  const spec = map(contents, 'spec');
  const name = metadata === null ? null : scalarText(metadata, 'name');
  if (name === null) return null;
  const namespace = (metadata === null ? null : scalarText(metadata, 'namespace')) ?? 'default';
  const specPath = spec === null ? '' : (scalarText(spec, 'path') ?? '');
  const decryption = spec === null ? null : map(spec, 'decryption');
  const provider = decryption === null ? null : scalarText(decryption, 'provider');
  const secretRef = decryption === null ? null : map(decryption, 'secretRef');
  const sourceRef = spec === null ? null : map(spec, 'sourceRef');
  return {
    id: `${namespace}/${name}`,
    namespace,
    name,
    file,
    path: specPath,
    resolvedPath: resolveFluxPath(specPath),
    decryption: provider === null ? null : { provider, secretRef: secretRef === null ? null : scalarText(secretRef, 'name') },
    sourceRef:
      sourceRef === null
        ? null
        : {
            kind: scalarText(sourceRef, 'kind') ?? '',
            name: scalarText(sourceRef, 'name') ?? '',
            namespace: scalarText(sourceRef, 'namespace'),
          },
  };
}

function map(parent: YAMLMap, key: string): YAMLMap | null {
  const node = parent.get(key, true);
  return isMap(node) ? node : null;
}

function scalarText(parent: YAMLMap, key: string): string | null {
  const node = parent.get(key, true);
  return isScalar(node) && typeof node.value === 'string' ? node.value : null;
}

/**
 * `spec.path` relative to the repository root, as Flux joins it: `./`, `/` and `.` segments
 * are dropped and `..` never climbs above the root.
 */
export function resolveFluxPath(specPath: string): string {
  const segments: string[] = [];
  for (const segment of specPath.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') segments.pop();
    else segments.push(segment);
  }
  return segments.join('/');
}

/** Whether `file` (repository-relative) lies below the Kustomization's path. */
function kustomizationCovers(kustomization: FluxKustomization, file: string): boolean {
  const dir = kustomization.resolvedPath;
  return dir === '' || file.startsWith(`${dir}/`);
}

/**
 * For each SOPS file, the Flux Kustomizations that decrypt it (`spec.decryption.provider: sops`
 * and the file below `spec.path`), sorted by id. Files no Kustomization decrypts are left out.
 */
export function mapSopsFilesToKustomizations(
  kustomizations: readonly FluxKustomization[],
  sopsFiles: readonly string[],
): Map<string, FluxDecryptionRef[]> {
  const decrypting = kustomizations
    .filter((k) => k.decryption?.provider === 'sops')
    .sort((a, b) => (a.id === b.id ? compare(a.file, b.file) : compare(a.id, b.id)));
  const result = new Map<string, FluxDecryptionRef[]>();
  for (const file of sopsFiles) {
    const refs = decrypting
      .filter((k) => kustomizationCovers(k, file))
      .map((k) => ({ id: k.id, file: k.file, path: k.path, secretRef: k.decryption?.secretRef ?? null }));
    if (refs.length > 0) result.set(file, refs);
  }
  return result;
}

/** Manifests read between two turns of the event loop (see find-sops-files.ts). */
const MANIFESTS_PER_TURN = 128;

/**
 * Reads the manifests among `files` (repository-relative, from discovery) and returns every Flux
 * Kustomization they declare, with or without decryption.
 */
export async function findFluxKustomizations(
  root: string,
  files: Iterable<string>,
): Promise<{ kustomizations: FluxKustomization[]; problems: FluxParseProblem[] }> {
  const kustomizations: FluxKustomization[] = [];
  const problems: FluxParseProblem[] = [];
  const manifests = [...files].filter((file) => MANIFEST_SUFFIXES.some((suffix) => file.toLowerCase().endsWith(suffix)));
  // Read as the scan reads files (synchronously, no link followed), yielding now and then.
  for (const [index, file] of manifests.entries()) {
    if (index > 0 && index % MANIFESTS_PER_TURN === 0) await yieldToEventLoop();
    const read = readTextCandidate(path.join(root, file), DEFAULT_MAX_FILE_SIZE);
    if (read.kind !== 'text') continue;
    const found = parseFluxKustomizations(new TextDecoder().decode(read.bytes), file);
    kustomizations.push(...found.kustomizations);
    problems.push(...found.problems);
  }
  return { kustomizations, problems };
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
