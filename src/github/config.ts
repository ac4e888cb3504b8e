/**
 * Loads the configuration of one repository: `.github/sops-rekey.yml` from its default branch,
 * on top of the same file in the organization's `.github` repository (organization defaults and
 * organization-only policy). Every problem becomes a `ConfigError` naming the file and field.
 */
import { posix } from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import type { core } from 'zod';
import { ConfigError, type ConfigIssue } from './config-error.ts';
import {
  ORG_ONLY_FIELDS,
  SopsRekeyConfig,
  SopsRekeyOrgConfig,
  parseDuration,
  type AllowedIdentity,
} from './config-schema.ts';

export const CONFIG_PATH = '.github/sops-rekey.yml';
/** The repository whose config applies to the whole organization (or user account). */
export const ORG_CONFIG_REPO = '.github';

/** Reads one file; `undefined` when the repository or the file does not exist (or is not visible). */
export interface ConfigReader {
  read(owner: string, repo: string, path: string, ref?: string): Promise<string | undefined>;
}

export interface RepositoryRef {
  readonly owner: string;
  readonly name: string;
  /** Read from this branch; the repository's default branch when omitted. */
  readonly defaultBranch?: string;
}

/** The configuration that applies to one repository. */
export interface ResolvedConfig {
  readonly settings: SopsRekeyConfig;
  /** Organization-only opt-in (see the schema); false unless the org config turns it on. */
  readonly restoreAutomatically: boolean;
  readonly windowMs: number;
  readonly scheduleMs: number;
  /** `schedule` is set in the repository's or the organization's file (not just the default). */
  readonly scheduleSet: boolean;
  /** The files that contributed, org first: `owner/repo:path`. Empty when all are defaults. */
  readonly sources: readonly string[];
}

/**
 * Reads, validates and merges the repository and organization config files.
 *
 * @throws ConfigError when either file is not valid YAML, does not match the schema, sets an
 *   organization-only field outside the org `.github` repository, or names a `kms.identity` the
 *   organization does not allow for this repository.
 */
export async function loadConfig(reader: ConfigReader, repo: RepositoryRef): Promise<ResolvedConfig> {
  const isOrgRepo = repo.name === ORG_CONFIG_REPO;
  const orgText = await reader.read(repo.owner, ORG_CONFIG_REPO, CONFIG_PATH, isOrgRepo ? repo.defaultBranch : undefined);
  const repoText = isOrgRepo ? undefined : await reader.read(repo.owner, repo.name, CONFIG_PATH, repo.defaultBranch);

  const orgName = `${repo.owner}/${ORG_CONFIG_REPO}`;
  const repoName = `${repo.owner}/${repo.name}`;
  const orgRaw = orgText === undefined ? {} : validateFile(orgName, orgText, 'org');
  const repoRaw = repoText === undefined ? {} : validateFile(repoName, repoText, 'repo');

  const org = SopsRekeyOrgConfig.parse(orgRaw);
  const { restoreAutomatically: _r, ...orgDefaults } = orgRaw;
  const orgKms = isObject(orgDefaults.kms) ? { ...orgDefaults.kms } : undefined;
  if (orgKms) delete orgKms.allowedIdentities;
  const settings = SopsRekeyConfig.parse(merge({ ...orgDefaults, ...(orgKms ? { kms: orgKms } : {}) }, repoRaw));

  const requested = isObject(repoRaw.kms) ? repoRaw.kms.identity : undefined;
  if (typeof requested === 'string' && !identityAllowed(org.kms.allowedIdentities, requested, repo)) {
    throw new ConfigError(repoName, CONFIG_PATH, [
      {
        path: 'kms.identity',
        message: `"${requested}" is not allowed for ${repoName}: add it to kms.allowedIdentities in ${orgName}/${CONFIG_PATH}`,
      },
    ]);
  }

  return {
    settings,
    restoreAutomatically: org.restoreAutomatically,
    windowMs: parseDuration(settings.window),
    scheduleMs: parseDuration(settings.schedule),
    scheduleSet: orgRaw.schedule !== undefined || repoRaw.schedule !== undefined,
    sources: [
      ...(orgText === undefined ? [] : [`${orgName}:${CONFIG_PATH}`]),
      ...(repoText === undefined ? [] : [`${repoName}:${CONFIG_PATH}`]),
    ],
  };
}

/**
 * Parses YAML and validates it; returns the object as written (no defaults), for merging.
 * Exported for tests and for a config check on pull requests that change the file.
 */
export function validateFile(repository: string, text: string, level: 'repo' | 'org'): Record<string, unknown> {
  const fail = (issues: ConfigIssue[]): never => {
    throw new ConfigError(repository, CONFIG_PATH, issues);
  };
  const lines = new LineCounter();
  const doc = parseDocument(text, { prettyErrors: false, uniqueKeys: true, lineCounter: lines });
  if (doc.errors.length > 0) {
    fail(
      doc.errors.map((e) => {
        const at = lines.linePos(e.pos[0]);
        return { path: `line ${at.line}, column ${at.col}`, message: `not valid YAML: ${e.message.split('\n')[0]}` };
      }),
    );
  }
  const value: unknown = doc.toJS({ maxAliasCount: 50 }) ?? {};
  if (!isObject(value)) {
    return fail([{ path: '(file)', message: `must be a mapping of settings, got ${describeValue(value)}` }]);
  }
  const orgOnly: ConfigIssue[] =
    level === 'org'
      ? []
      : ORG_ONLY_FIELDS.filter((field) => getPath(value, field) !== undefined).map((field) => ({
          path: field,
          message: `only allowed in the organization's ${ORG_CONFIG_REPO} repository`,
        }));
  const result = (level === 'org' ? SopsRekeyOrgConfig : SopsRekeyConfig).safeParse(value, { reportInput: true });
  const issues = [
    ...orgOnly,
    ...(result.success ? [] : result.error.issues.flatMap((issue) => describeIssue(issue, value))),
  ];
  // An org-only field also shows up as an unknown key in the repo schema: say it once, clearly.
  const unique = issues.filter((issue, i) => issues.findIndex((other) => other.path === issue.path) === i);
  if (unique.length > 0) fail(unique);
  return value;
}

function describeIssue(issue: core.$ZodIssue, root: unknown): ConfigIssue[] {
  const path = formatPath(issue.path);
  switch (issue.code) {
    case 'unrecognized_keys': {
      const known = knownKeys(issue.path);
      return issue.keys.map((key) => {
        const guess = closest(key, known);
        return {
          path: formatPath([...issue.path, key]),
          message: guess ? `unknown field (did you mean "${guess}"?)` : 'unknown field',
        };
      });
    }
    case 'invalid_type': {
      const input = issue.path.length === 0 ? root : issue.input;
      return [{ path, message: `expected ${issue.expected === 'int' ? 'an integer' : issue.expected}, got ${describeValue(input)}` }];
    }
    case 'too_small':
      return [{ path, message: issue.origin === 'array' ? `must list at least ${issue.minimum} item(s)` : withInput(`must be at least ${issue.minimum}`, issue.input) }];
    case 'too_big':
      return [{ path, message: issue.origin === 'array' ? `must list at most ${issue.maximum} item(s)` : withInput(`must be at most ${issue.maximum}`, issue.input) }];
    default:
      return [{ path, message: withInput(issue.message, issue.input) }];
  }
}

/** Config values are not secrets, so echoing short scalars helps the user find the line. */
function withInput(message: string, input: unknown): string {
  if (typeof input === 'string' || typeof input === 'number' || typeof input === 'boolean') {
    return `${message}, got ${describeValue(input)}`;
  }
  return message;
}

function describeValue(value: unknown): string {
  if (value === null || value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value);
  return `${typeof value} ${String(value)}`;
}

export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else out += out.length === 0 ? String(segment) : `.${String(segment)}`;
  }
  return out.length === 0 ? '(file)' : out;
}

/** Field names allowed at an object path of the org schema (the superset), for "did you mean". */
function knownKeys(path: readonly PropertyKey[]): string[] {
  let schema: unknown = SopsRekeyOrgConfig;
  for (const segment of path) {
    schema = unwrap(schema);
    if (typeof segment === 'number') schema = (schema as { element?: unknown }).element;
    else schema = (schema as { shape?: Record<string, unknown> }).shape?.[String(segment)];
  }
  const shape = (unwrap(schema) as { shape?: Record<string, unknown> } | undefined)?.shape;
  return shape ? Object.keys(shape) : [];
}

function unwrap(schema: unknown): unknown {
  let current = schema as { def?: { innerType?: unknown } } | undefined;
  while (current?.def?.innerType !== undefined) current = current.def.innerType as typeof current;
  return current;
}

function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(word.length / 3)) + 1;
  for (const candidate of candidates) {
    const d = distance(word.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  return best;
}

function distance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

/**
 * Whether `repo` may use `identity`: some entry lists the service account and a repository glob
 * matching the repository's name (or `owner/name` when the glob has a slash).
 */
export function identityAllowed(
  allowed: readonly AllowedIdentity[],
  identity: string,
  repo: { owner: string; name: string },
): boolean {
  return allowed.some(
    (entry) =>
      entry.serviceAccount === identity &&
      entry.repositories.some((glob) =>
        posix.matchesGlob(glob.includes('/') ? `${repo.owner}/${repo.name}` : repo.name, glob),
      ),
  );
}

/** Repository values over organization defaults: mappings merge key by key, lists replace. */
function merge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(over)) {
    const existing = out[key];
    out[key] = isObject(existing) && isObject(value) ? merge(existing, value) : value;
  }
  return out;
}

function getPath(value: Record<string, unknown>, dotted: string): unknown {
  let current: unknown = value;
  for (const key of dotted.split('.')) current = isObject(current) ? current[key] : undefined;
  return current;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
