/**
 * What a re-encryption changed in the repository, told from `git diff`: which lines changed and
 * of what kind (encrypted values, wrapped data keys, `lastmodified`, `mac`). A reviewer checks
 * exactly this in a sops-rekey pull request; the demo shows it. Only line kinds and counts are
 * reported, never line content.
 */
import { git } from './build-repo.ts';

export type LineKind = 'value' | 'enc' | 'lastmodified' | 'mac' | 'other';
export const LINE_KINDS: readonly LineKind[] = ['value', 'enc', 'lastmodified', 'mac', 'other'];

/** `mac:` / `"mac":` / `sops_mac=` / `mac =` in every store's spelling of the metadata. */
const MAC = /^\s*(?:"mac"|mac|sops_mac)\s*[:=]/;
const LASTMODIFIED = /^\s*(?:"lastmodified"|lastmodified|sops_lastmodified)\s*[:=]/;
/** `enc:`, `"enc":`, and the flattened `…__map_enc=` of dotenv and INI (sops-format.md §6.6). */
const ENC = /(?:^|[\s"_])enc"?\s*[:=]/;
const ENCRYPTED_VALUE = /ENC\[AES256_GCM,/;
/** A line inside a YAML block holding an age armor: the armor's base64 body or its frame. */
const ARMOR_LINE = /^\s*(?:[A-Za-z0-9+/]+={0,2}|-----(?:BEGIN|END) AGE ENCRYPTED FILE-----)\s*$/;

/** The kind of one changed line of a SOPS file (without its leading `+` or `-`). */
export function classifyChangedLine(line: string): LineKind {
  if (MAC.test(line)) return 'mac';
  if (LASTMODIFIED.test(line)) return 'lastmodified';
  if (ENC.test(line)) return 'enc';
  if (ENCRYPTED_VALUE.test(line)) return 'value';
  if (ARMOR_LINE.test(line)) return 'enc';
  return 'other';
}

export interface FileChange {
  readonly path: string;
  readonly added: number;
  readonly removed: number;
  /** Changed lines (added and removed) per kind. */
  readonly kinds: Readonly<Record<LineKind, number>>;
}

/** Reads `git diff -U0` output: per file, the changed lines counted by kind. */
export function summariseDiff(unified: string): FileChange[] {
  const files: { path: string; added: number; removed: number; kinds: Record<LineKind, number> }[] = [];
  let current: (typeof files)[number] | undefined;
  let inHeader = false;
  for (const line of unified.split('\n')) {
    if (line.startsWith('diff --git ')) {
      inHeader = true;
      // The path from `b/…` is a fallback; `+++ b/…` below is exact even with spaces in names.
      current = { path: line.slice(line.indexOf(' b/') + 3), added: 0, removed: 0, kinds: { value: 0, enc: 0, lastmodified: 0, mac: 0, other: 0 } };
      files.push(current);
      continue;
    }
    if (current === undefined) continue;
    if (inHeader) {
      if (line.startsWith('+++ b/')) current.path = line.slice(6);
      if (line.startsWith('@@')) inHeader = false;
      continue;
    }
    // Header lines only come before the first hunk: a removed armor line `-----BEGIN…` is content.
    if (line.startsWith('@@')) continue;
    if (line.startsWith('+')) current.added++;
    else if (line.startsWith('-')) current.removed++;
    else continue;
    current.kinds[classifyChangedLine(line.slice(1))]++;
  }
  return files.sort((a, b) => (a.path < b.path ? -1 : 1));
}

export interface RepositoryChanges {
  /** `git diff --stat` as git prints it. */
  readonly stat: string;
  readonly files: readonly FileChange[];
}

/** What changed between two commits of the demo repository. */
export async function repositoryChanges(dir: string, from: string, to: string): Promise<RepositoryChanges> {
  const stat = await git(dir, ['diff', '--no-color', '--no-ext-diff', '--stat=100', from, to]);
  const unified = await git(dir, ['diff', '--no-color', '--no-ext-diff', '--no-renames', '-U0', from, to]);
  return { stat, files: summariseDiff(unified) };
}
