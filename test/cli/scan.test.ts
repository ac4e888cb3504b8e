/**
 * `sops-rekey scan`, run in-process against the emulator (KMS_EMULATOR_HOST) as a CI job runs it:
 * the JSON has the shape docs/scan-json.md documents, `--fail-on` gives the exit codes pipelines
 * rely on, and the table names what a user looks for.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { UsageError } from '../../src/errors.ts';
import { EXIT_FINDINGS, scanCommand } from '../../src/cli/scan.ts';
import { AWS_ENTRY, CANARY, runCommand, startKmsRepo, versionOf, type KmsRepo } from '../support/kms-repo.ts';

const DOC = readFileSync(path.resolve(import.meta.dirname, '../../docs/scan-json.md'), 'utf8');

let repo: KmsRepo;

beforeEach(async () => {
  repo = await startKmsRepo();
});

afterEach(async () => {
  await repo.close();
});

type Shape = Map<string, string>;

/** Every field path of a JSON value (`files[].entries[].state`) with its JSON type. */
function shapeOf(value: unknown, at = '', into: Shape = new Map()): Shape {
  const type = value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value;
  if (at !== '') into.set(at, type);
  if (Array.isArray(value)) for (const item of value) shapeOf(item, `${at}[]`, into);
  else if (type === 'object') for (const [key, child] of Object.entries(value as object)) shapeOf(child, at === '' ? key : `${at}.${key}`, into);
  return into;
}

function documentedShape(): Shape {
  const example = /```json\n([\s\S]*?)```/.exec(DOC)?.[1];
  if (example === undefined) throw new Error('docs/scan-json.md has no JSON example');
  return shapeOf(JSON.parse(example));
}

describe('scan --json', () => {
  it('prints the documented shape: no field the doc does not name, each with its documented type', async () => {
    const key = await repo.createKey();
    const gone = key.replace(/sops$/, 'gone');
    await repo.writeSops('apps/current.yaml', { gcp: [{ key }] });
    await repo.rotate(key);
    await repo.writeSops('apps/stale.json', { gcp: [{ key, version: versionOf(key, 1) }], foreign: [AWS_ENTRY] });
    await repo.writeSops('apps/legacy.env', { gcp: [{ key, version: versionOf(key, 1) }], age: true });
    await repo.rotate(key);
    await repo.scheduleDestroy(versionOf(key, 1));
    const orphan = await repo.writeSops('infra/orphan.ini', { gcp: [{ key }] });
    await repo.write('infra/orphan.ini', orphan.toString('utf8').replaceAll(key, gone));
    await repo.write('apps/broken.yaml', 'x: [\nsops:\n    lastmodified: "2025-01-01T00:00:00Z"\n    mac: ENC[x]\n');
    await repo.write('.sops.yaml', `creation_rules:\n  - path_regex: ^apps/\n    gcp_kms: ${gone}\n`);

    const { exitCode, stdout } = await runCommand(repo, scanCommand, [repo.dir, '--json']);
    expect(exitCode).toBe(0);
    const report = JSON.parse(stdout) as Record<string, unknown>;
    expect(Object.keys(report)).toEqual(['files', 'problems', 'skipped', 'versions', 'gates', 'ruleNotes', 'inventoryFailures', 'kmsDecryptCalls']);

    const documented = documentedShape();
    const actual = shapeOf(report);
    // A scenario rich enough that the check means something.
    expect(actual.size).toBeGreaterThan(40);
    for (const [field, type] of actual) {
      expect(documented.has(field), `${field} is not in docs/scan-json.md`).toBe(true);
      if (type !== 'array' || documented.get(field) === 'array') expect(documented.get(field), field).toBe(type);
    }
    expect(stdout).not.toContain(CANARY);
  });

  it('reports the states a user looks for', async () => {
    const key = await repo.createKey();
    await repo.writeSops('apps/db.yaml', { gcp: [{ key }] });
    await repo.rotate(key);

    const report = JSON.parse((await runCommand(repo, scanCommand, [repo.dir, '--json'])).stdout) as {
      files: { path: string; state: string; action: { kind: string } }[];
      versions: { version: string; verdict: string }[];
      gates: unknown[];
    };
    expect(report.files).toMatchObject([{ path: 'apps/db.yaml', state: 'stale', action: { kind: 'wait' } }]);
    expect(report.versions.map((v) => [v.version, v.verdict])).toEqual([
      [versionOf(key, 1), 'in-use'],
      [versionOf(key, 2), 'primary'],
    ]);
    expect(report.gates).toEqual([]); // a scan never probes
  });
});

describe('scan --fail-on', () => {
  it(`exits ${EXIT_FINDINGS} with --fail-on stale when a file is stale`, async () => {
    const key = await repo.createKey();
    await repo.writeSops('apps/db.yaml', { gcp: [{ key }] });
    await repo.rotate(key);

    expect((await runCommand(repo, scanCommand, [repo.dir, '--fail-on', 'stale'])).exitCode).toBe(3);
    // Stale is not at risk yet.
    expect((await runCommand(repo, scanCommand, [repo.dir, '--fail-on', 'at-risk'])).exitCode).toBe(0);
    expect((await runCommand(repo, scanCommand, [repo.dir])).exitCode).toBe(0);
  });

  it('exits 0 when every file is current', async () => {
    const key = await repo.createKey();
    await repo.writeSops('apps/db.yaml', { gcp: [{ key }] });
    await repo.writeSops('apps/api.env', { gcp: [{ key }], age: true });

    const { exitCode, stdout } = await runCommand(repo, scanCommand, [repo.dir, '--fail-on', 'stale']);
    expect(exitCode).toBe(0);
    expect(stdout).toMatch(/apps\/api\.env\s+dotenv\s+current/);
  });

  it('--fail-on at-risk is reached by a version scheduled for destruction', async () => {
    const key = await repo.createKey();
    await repo.writeSops('apps/db.yaml', { gcp: [{ key }] });
    await repo.rotate(key);
    await repo.scheduleDestroy(versionOf(key, 1));

    const { exitCode, stdout } = await runCommand(repo, scanCommand, [repo.dir, '--fail-on', 'at-risk']);
    expect(exitCode).toBe(3);
    expect(stdout).toContain('gcloud kms keys versions restore 1 --key sops');
  });

  it('refuses an unknown threshold as a usage error', async () => {
    await expect(runCommand(repo, scanCommand, [repo.dir, '--fail-on', 'lost'])).rejects.toBeInstanceOf(UsageError);
  });
});
