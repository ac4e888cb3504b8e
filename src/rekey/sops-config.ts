import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { SopsRekeyError } from '../errors.ts';
import type { MasterKeyType } from '../sops/master-key.ts';
import { translateRe2 } from './re2.ts';
import { SELECTOR_KINDS } from '../sops/selectors.ts';

/** A `.sops.yaml` that cannot be used: bad YAML, a field of the wrong shape, an untranslatable regex. */
export class SopsConfigError extends SopsRekeyError {
  readonly category = 'user';
}

/** The file name sops looks for; `.sops.yml` is ignored by sops (with a warning), so by us too. */
export const SOPS_CONFIG_NAME = '.sops.yaml';

// Go's YAML decoder leaves a field at its zero value for `null`, so every field accepts it.
const keyField = z
  .union([z.string(), z.array(z.string())], { error: 'expected a comma-separated string or a list of strings' })
  .nullish();
const stringList = z.array(z.string()).nullish();

const GcpKmsKey = z.object({ resource_id: z.string() });
const AwsKmsKey = z.object({
  arn: z.string(),
  role: z.string().nullish(),
  context: z.record(z.string(), z.string()).nullish(),
  aws_profile: z.string().nullish(),
});
const AzureKey = z.object({ vaultUrl: z.string(), key: z.string(), version: z.string() });
const HckmsKey = z.object({ key_id: z.string() });

/** One entry of `key_groups` (sops-format.md §7.4); `merge` nests groups. */
export const SopsKeyGroup = z.object({
  age: stringList,
  pgp: stringList,
  gcp_kms: z.array(GcpKmsKey).nullish(),
  kms: z.array(AwsKmsKey).nullish(),
  azure_keyvault: z.array(AzureKey).nullish(),
  hc_vault: stringList,
  hckms: z.array(HckmsKey).nullish(),
  get merge() {
    return z.array(SopsKeyGroup).nullish();
  },
});
export type SopsKeyGroup = z.infer<typeof SopsKeyGroup>;

export const SopsCreationRule = z
  .object({
    path_regex: z.string().nullish(),
    age: keyField,
    pgp: keyField,
    gcp_kms: keyField,
    kms: keyField,
    aws_profile: z.string().nullish(),
    azure_keyvault: keyField,
    hc_vault_transit_uri: keyField,
    hckms: stringList,
    key_groups: z.array(SopsKeyGroup).nullish(),
    shamir_threshold: z.int().nonnegative().nullish(),
    unencrypted_suffix: z.string().nullish(),
    encrypted_suffix: z.string().nullish(),
    unencrypted_regex: z.string().nullish(),
    encrypted_regex: z.string().nullish(),
    unencrypted_comment_regex: z.string().nullish(),
    encrypted_comment_regex: z.string().nullish(),
    mac_only_encrypted: z.boolean().nullish(),
  })
  .refine((rule) => SELECTOR_KINDS.filter((key) => rule[key]).length <= 1, {
    message: `at most one of ${SELECTOR_KINDS.join(', ')} may be set`,
  });
export type SopsCreationRule = z.infer<typeof SopsCreationRule>;

/** A `.sops.yaml` as sops reads it. Unknown keys are ignored, as Go's decoder does. */
export const SopsConfig = z.object({
  creation_rules: z.array(SopsCreationRule).nullish(),
  destination_rules: z.array(z.unknown()).nullish(),
  stores: z.record(z.string(), z.unknown()).nullish(),
});
export type SopsConfig = z.infer<typeof SopsConfig>;

/** A master key a rule names, spelled as `masterKeyId` spells the same key in a file. */
export interface RuleKey {
  readonly type: MasterKeyType;
  readonly id: string;
}

export interface CreationRule {
  /** Position in `creation_rules`, for messages. */
  readonly index: number;
  /** The pattern as written; null matches every path. */
  readonly pathRegex: string | null;
  readonly regex: RegExp | null;
  /** The groups a file created by this rule gets; a flat rule gives one group. */
  readonly keyGroups: readonly (readonly RuleKey[])[];
  /** Every `gcp_kms` resource ID of every group, once each, in order. */
  readonly gcpKmsKeys: readonly string[];
  readonly shamirThreshold: number;
  readonly raw: SopsCreationRule;
}

export interface LoadedSopsConfig {
  /** Repository-relative path of the `.sops.yaml`. */
  readonly path: string;
  /** Its directory, `''` for the repository root: rules see paths relative to it. */
  readonly dir: string;
  /** Empty when the file has no `creation_rules` (sops then treats it as no config). */
  readonly rules: readonly CreationRule[];
}

/**
 * Parses and validates a `.sops.yaml` (sops-format.md §7.4) and compiles its `path_regex`es.
 * `configPath` is repository-relative and names the file in errors.
 */
export function parseSopsConfig(text: string, configPath: string): LoadedSopsConfig {
  let document: unknown;
  try {
    document = parseYaml(text);
  } catch (cause) {
    throw new SopsConfigError('invalid-yaml', 'not valid YAML', { file: configPath, cause });
  }
  const parsed = SopsConfig.safeParse(document ?? {});
  if (!parsed.success) {
    const problems = parsed.error.issues.slice(0, 3).map((issue) => `${fieldPath(issue.path)}: ${issue.message}`);
    throw new SopsConfigError('invalid-config', problems.join('; '), { file: configPath });
  }
  const dir = path.posix.dirname(configPath);
  const rules = (parsed.data.creation_rules ?? []).map((rule, index) => compileRule(rule, index, configPath));
  return { path: configPath, dir: dir === '.' ? '' : dir, rules };
}

function compileRule(raw: SopsCreationRule, index: number, configPath: string): CreationRule {
  const pathRegex = raw.path_regex ? raw.path_regex : null;
  let regex: RegExp | null = null;
  if (pathRegex !== null) {
    const translated = translateRe2(pathRegex);
    if (!translated.ok) {
      throw new SopsConfigError('unsupported-regex', `creation_rules[${index}].path_regex: ${translated.reason}`, {
        file: configPath,
      });
    }
    regex = translated.regex;
  }
  const keyGroups = raw.key_groups?.length ? raw.key_groups.map(groupKeys) : [flatKeys(raw)];
  const gcpKmsKeys = unique(keyGroups.flatMap((group) => group.filter((k) => k.type === 'gcp_kms').map((k) => k.id)));
  return { index, pathRegex, regex, keyGroups, gcpKmsKeys, shamirThreshold: raw.shamir_threshold ?? 0, raw };
}

/** A flat rule's single group, in sops's order: age, pgp, kms, gcp_kms, hckms, azure, vault. */
function flatKeys(rule: SopsCreationRule): RuleKey[] {
  return dedupe([
    ...splitKeys(rule.age).map((id) => key('age', id)),
    ...splitKeys(rule.pgp).map((id) => key('pgp', id)),
    ...splitKeys(rule.kms).map((id) => key('kms', id)),
    ...splitKeys(rule.gcp_kms).map((id) => key('gcp_kms', id)),
    ...(rule.hckms ?? []).map((id) => key('hckms', id)),
    ...splitKeys(rule.azure_keyvault).map((id) => key('azure_kv', id)),
    ...splitKeys(rule.hc_vault_transit_uri).map((id) => key('hc_vault', id)),
  ]);
}

/** A group's keys: merged groups first (recursively), then age, pgp, kms, gcp_kms, hckms, azure, vault. */
function groupKeys(group: SopsKeyGroup): RuleKey[] {
  return dedupe([
    ...(group.merge ?? []).flatMap(groupKeys),
    ...(group.age ?? []).map((id) => key('age', id)),
    ...(group.pgp ?? []).map((id) => key('pgp', id)),
    ...(group.kms ?? []).map((k) => key('kms', k.role ? `${k.arn}+${k.role}` : k.arn)),
    ...(group.gcp_kms ?? []).map((k) => key('gcp_kms', k.resource_id)),
    ...(group.hckms ?? []).map((k) => key('hckms', k.key_id)),
    ...(group.azure_keyvault ?? []).map((k) => key('azure_kv', `${k.vaultUrl}/keys/${k.key}/${k.version}`)),
    ...(group.hc_vault ?? []).map((id) => key('hc_vault', id)),
  ]);
}

/** A flat key field: a comma-separated string or a list; blanks trimmed, empty entries dropped. */
function splitKeys(field: string | string[] | null | undefined): string[] {
  if (field === null || field === undefined) return [];
  const parts = typeof field === 'string' ? field.split(',') : field;
  return parts.map((part) => part.trim()).filter((part) => part !== '');
}

function key(type: MasterKeyType, id: string): RuleKey {
  return { type, id: id.trim() };
}

/** sops drops a key that appears twice in a group (same type and string). */
function dedupe(keys: RuleKey[]): RuleKey[] {
  const seen = new Set<string>();
  return keys.filter((k) => {
    const id = `${k.type}\0${k.id}`;
    if (seen.has(id)) return false;
    seen.add(id);
    return true;
  });
}

function unique(values: string[]): string[] {
  return [...new Set(values)];
}

function fieldPath(segments: readonly PropertyKey[]): string {
  let out = '';
  for (const segment of segments) {
    out += typeof segment === 'number' ? `[${segment}]` : `${out === '' ? '' : '.'}${String(segment)}`;
  }
  return out === '' ? '(top level)' : out;
}

/**
 * The first rule of `config` whose `path_regex` matches `repoRelativePath`, or null. As in sops,
 * the regex sees the path relative to the config's directory and searches unanchored. A file
 * outside the config's directory matches nothing here (sops would match its absolute path, which
 * a repository scan has no stable form of).
 */
export function matchCreationRule(config: LoadedSopsConfig, repoRelativePath: string): CreationRule | null {
  const prefix = config.dir === '' ? '' : `${config.dir}/`;
  if (!repoRelativePath.startsWith(prefix)) return null;
  const relative = repoRelativePath.slice(prefix.length);
  return config.rules.find((rule) => rule.regex === null || rule.regex.test(relative)) ?? null;
}

/**
 * The `.sops.yaml` that governs `repoRelativePath`: the nearest one in its directory or above,
 * among `configPaths` (repository-relative). This is what `sops` finds when run from the file's
 * directory; sops itself searches from its working directory, so a team running it from the
 * repository root gets the root config for every file. Null when there is none.
 */
export function nearestSopsConfig(repoRelativePath: string, configPaths: Iterable<string>): string | null {
  const available = new Set(configPaths);
  for (let dir = path.posix.dirname(repoRelativePath); ; dir = path.posix.dirname(dir)) {
    const candidate = dir === '.' ? SOPS_CONFIG_NAME : `${dir}/${SOPS_CONFIG_NAME}`;
    if (available.has(candidate)) return candidate;
    if (dir === '.') return null;
  }
}

export interface RuleComparison {
  /** In the rule, not in the file. */
  readonly missing: string[];
  /** In the file, not in the rule. */
  readonly extra: string[];
  readonly same: boolean;
}

/**
 * Which Cloud KMS keys of a file differ from its creation rule, compared as resource IDs
 * (`projects/…/cryptoKeys/…`). A difference is worth noting, not an error: `sops updatekeys`
 * is how a team aligns a file with its rule.
 */
export function compareWithRule(fileGcpKeys: readonly string[], rule: Pick<CreationRule, 'gcpKmsKeys'>): RuleComparison {
  const inFile = new Set(fileGcpKeys.map((k) => k.trim()));
  const inRule = new Set(rule.gcpKmsKeys);
  const missing = [...inRule].filter((k) => !inFile.has(k));
  const extra = [...inFile].filter((k) => !inRule.has(k));
  return { missing, extra, same: missing.length === 0 && extra.length === 0 };
}

/**
 * Reads and parses every `.sops.yaml` among the discovered files. A broken config is returned as
 * its error, so the scan can report it and still handle the files other configs govern.
 */
export async function loadSopsConfigs(
  root: string,
  discoveredPaths: Iterable<string>,
): Promise<Map<string, LoadedSopsConfig | SopsConfigError>> {
  const configs = new Map<string, LoadedSopsConfig | SopsConfigError>();
  for (const rel of discoveredPaths) {
    if (path.posix.basename(rel) !== SOPS_CONFIG_NAME) continue;
    const text = await readFile(path.join(root, rel), 'utf8');
    try {
      configs.set(rel, parseSopsConfig(text, rel));
    } catch (error) {
      if (!(error instanceof SopsConfigError)) throw error;
      configs.set(rel, error);
    }
  }
  return configs;
}
