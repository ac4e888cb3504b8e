import { readFile } from 'node:fs/promises';
import { Octokit } from '@octokit/rest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/github/config-error.ts';
import { githubConfigReader } from '../../src/github/config-reader.ts';
import { parseDuration } from '../../src/github/config-schema.ts';
import { CONFIG_PATH, loadConfig, validateFile } from '../../src/github/config.ts';
import { JSON_SCHEMA_PATH, renderJsonSchema } from '../../src/github/json-schema.ts';
import { generateAppCredentials } from '../support/github/app-credentials.ts';
import { startGitHubStandIn, type GitHubStandIn } from '../support/github/index.ts';

/** The ConfigError a file gives, or fails the test. */
function errorOf(text: string, level: 'repo' | 'org' = 'repo'): ConfigError {
  try {
    validateFile('acme/app', text, level);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('validating .github/sops-rekey.yml', () => {
  it('accepts a complete, valid file', () => {
    const text = [
      'enabled: true',
      'paths:',
      '  include: ["deploy/**/*.yaml"]',
      '  exclude: ["deploy/test/**"]',
      'window: 1h30m',
      'probes: 8',
      'rewrap: true',
      'labels: [security, sops-rekey]',
      'draft: true',
      'maxOpenPullRequests: 3',
      'schedule: 12h',
      'kms:',
      '  identity: rekey@prod.iam.gserviceaccount.com',
    ].join('\n');
    expect(validateFile('acme/app', text, 'repo')).toMatchObject({ window: '1h30m', probes: 8 });
  });

  it.each([
    ['a wrong type', 'probes: many', 'probes', 'expected number, got "many"'],
    ['a nested wrong type', 'paths:\n  include: [ok, 3]', 'paths.include[1]', 'expected string, got number 3'],
    ['a malformed duration', 'window: 3 hours', 'window', 'expected a duration like "3h"'],
    ['a duration below the minimum', 'window: 30s', 'window', 'must be at least 1m'],
    ['a number out of range', 'maxOpenPullRequests: 0', 'maxOpenPullRequests', 'must be at least 1'],
    ['an unknown field, with a suggestion', 'windw: 3h', 'windw', 'unknown field (did you mean "window"?)'],
    ['an unknown nested field', 'paths:\n  includes: ["**"]', 'paths.includes', 'did you mean "include"?'],
    ['a bad service account', 'kms:\n  identity: bob', 'kms.identity', 'expected a service account email'],
    ['an org-only field in a repository', 'restoreAutomatically: true', 'restoreAutomatically', "only allowed in the organization's .github repository"],
    ['an org-only nested field in a repository', 'kms:\n  allowedIdentities: []', 'kms.allowedIdentities', "only allowed in the organization's .github repository"],
    ['a list where a mapping belongs', '- a\n- b', '(file)', 'must be a mapping of settings, got a list'],
    ['invalid YAML', 'window: [3h\nprobes: 2', 'line 2', 'not valid YAML'],
    ['a duplicate key', 'probes: 1\nprobes: 2', 'line 2', 'not valid YAML'],
  ])('rejects %s, naming the field', (_kind, text, path, message) => {
    const error = errorOf(text);
    expect(error.code).toBe('invalid-config');
    expect(error.file).toBe(CONFIG_PATH);
    const issue = error.issues.find((i) => i.path.startsWith(path));
    expect(issue, JSON.stringify(error.issues)).toBeDefined();
    expect(issue?.message).toContain(message);
    expect(error.describe()).toContain(`acme/app: ${CONFIG_PATH}: ${issue?.path}: `);
  });

  it('reports every problem of a file, each once', () => {
    const error = errorOf('probes: 0\nwindw: 3h\nrestoreAutomatically: true');
    expect(error.issues.map((i) => i.path).sort()).toEqual(['probes', 'restoreAutomatically', 'windw']);
  });

  it('accepts org-only fields in the organization config', () => {
    const text = 'restoreAutomatically: true\nkms:\n  allowedIdentities:\n    - serviceAccount: a@p.iam.gserviceaccount.com\n      repositories: ["app-*"]';
    expect(() => validateFile('acme/.github', text, 'org')).not.toThrow();
    const empty = errorOf('kms:\n  allowedIdentities:\n    - serviceAccount: a@p.iam.gserviceaccount.com\n      repositories: []', 'org');
    expect(empty.issues[0]?.path).toBe('kms.allowedIdentities[0].repositories');
  });

  it('parses durations', () => {
    expect(parseDuration('3h')).toBe(3 * 3600_000);
    expect(parseDuration('1h30m')).toBe(90 * 60_000);
    expect(parseDuration('2d')).toBe(48 * 3600_000);
  });
});

describe('loading config from GitHub', () => {
  const credentials = generateAppCredentials();
  let gh: GitHubStandIn;
  let octokit: Octokit;
  const org = (extra = '') =>
    [
      'labels: [org-label]',
      'window: 6h',
      'kms:',
      '  allowedIdentities:',
      '    - serviceAccount: payments@p.iam.gserviceaccount.com',
      '      repositories: ["payments-*"]',
      extra,
    ].join('\n');

  beforeAll(async () => {
    gh = await startGitHubStandIn({ app: { id: credentials.appId, publicKey: credentials.publicKey } });
    gh.addInstallation({
      id: 1,
      account: 'acme',
      repositories: ['acme/.github', 'acme/plain', 'acme/own', 'acme/payments-api', 'acme/web', 'acme/broken'],
    });
    gh.addInstallation({ id: 2, account: 'solo', repositories: ['solo/app'] });
    await gh.createRepo('acme/.github', { files: { [CONFIG_PATH]: org('restoreAutomatically: true') } });
    await gh.createRepo('acme/plain', { files: { 'README.md': 'x' } });
    await gh.createRepo('acme/own', { files: { [CONFIG_PATH]: 'probes: 9\nlabels: [mine]' } });
    await gh.createRepo('acme/payments-api', { files: { [CONFIG_PATH]: 'kms:\n  identity: payments@p.iam.gserviceaccount.com' } });
    await gh.createRepo('acme/web', { files: { [CONFIG_PATH]: 'kms:\n  identity: payments@p.iam.gserviceaccount.com' } });
    await gh.createRepo('acme/broken', { files: { [CONFIG_PATH]: 'window: soon' } });
    await gh.createRepo('solo/app', { files: { 'README.md': 'x' } });
    octokit = new Octokit({ baseUrl: gh.url, auth: gh.tokenFor(1) });
  });
  afterAll(async () => gh?.close());

  it("falls back to the organization's .github repository", async () => {
    const config = await loadConfig(githubConfigReader(octokit), { owner: 'acme', name: 'plain' });
    expect(config.settings.labels).toEqual(['org-label']);
    expect(config.windowMs).toBe(6 * 3600_000);
    expect(config.restoreAutomatically).toBe(true);
    expect(config.sources).toEqual([`acme/.github:${CONFIG_PATH}`]);
  });

  it('lets the repository file override organization defaults field by field', async () => {
    const config = await loadConfig(githubConfigReader(octokit), { owner: 'acme', name: 'own' });
    expect(config.settings).toMatchObject({ probes: 9, labels: ['mine'], window: '6h' });
    expect(config.sources).toEqual([`acme/.github:${CONFIG_PATH}`, `acme/own:${CONFIG_PATH}`]);
  });

  it('allows a kms.identity the organization allows for the repository, and refuses it elsewhere', async () => {
    const allowed = await loadConfig(githubConfigReader(octokit), { owner: 'acme', name: 'payments-api' });
    expect(allowed.settings.kms.identity).toBe('payments@p.iam.gserviceaccount.com');

    const refused = await loadConfig(githubConfigReader(octokit), { owner: 'acme', name: 'web' }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ConfigError);
    expect((refused as ConfigError).describe()).toMatch(/^acme\/web: \.github\/sops-rekey\.yml: kms\.identity: "payments@p\.iam\.gserviceaccount\.com" is not allowed for acme\/web/);
  });

  it('names the repository and field of an invalid repository file', async () => {
    const error = await loadConfig(githubConfigReader(octokit), { owner: 'acme', name: 'broken' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).repository).toBe('acme/broken');
    expect((error as ConfigError).issues).toEqual([{ path: 'window', message: 'expected a duration like "3h", "90m" or "1h30m", got "soon"' }]);
  });

  it('uses the defaults when neither file exists (no .github repository visible)', async () => {
    const config = await loadConfig(githubConfigReader(new Octokit({ baseUrl: gh.url, auth: gh.tokenFor(2) })), { owner: 'solo', name: 'app' });
    expect(config.settings).toMatchObject({ enabled: true, window: '3h', probes: 5, rewrap: false, schedule: '6h', labels: ['sops-rekey'] });
    expect(config.restoreAutomatically).toBe(false);
    expect(config.sources).toEqual([]);
  });

  it('reads the default branch, not a branch someone pushed a config to', async () => {
    // A config on another branch of acme/plain must not count: only the default branch does.
    const repo = gh.state.findRepo('acme', 'plain')!;
    const main = (await repo.git.resolve('refs/heads/main'))!;
    const blob = await repo.git.hashBlob(Buffer.from('enabled: false\n'));
    const tree = await repo.git.writeTree(new Map([[CONFIG_PATH, { mode: '100644', type: 'blob' as const, sha: blob }]]));
    const who = { name: 'x', email: 'x@example.test' };
    const commit = await repo.git.commitTree({ tree, parents: [main], message: 'config on a branch', author: who, committer: who });
    await repo.git.updateRef('refs/heads/feature', commit, undefined);
    const config = await loadConfig(githubConfigReader(octokit), { owner: 'acme', name: 'plain' });
    expect(config.settings.enabled).toBe(true);
  });
});

describe('published JSON Schema', () => {
  it('is up to date with the zod schema (run `npx node src/github/json-schema.ts`)', async () => {
    expect(await readFile(JSON_SCHEMA_PATH, 'utf8')).toBe(renderJsonSchema());
  });

  it('documents the defaults users rely on', () => {
    const schema = JSON.parse(renderJsonSchema()) as { properties: Record<string, { default?: unknown }> };
    expect(schema.properties.window?.default).toBe('3h');
    expect(schema.properties.probes?.default).toBe(5);
    expect(schema.properties.restoreAutomatically?.default).toBe(false);
  });
});
