import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { git } from '../../src/demo/build-repo.ts';
import { DEFAULT_DEMO_FIXTURES } from '../../src/demo/command.ts';
import { FLUX_SECRETS_KEY, LEGACY_KEY, versionName } from '../../src/demo/keys.ts';
import { runDemo } from '../../src/demo/story.ts';
import { PLAIN_STYLE } from '../../src/demo/style.ts';

/** Secret values of the fixtures: none may reach the output or any commit of the demo repository. */
const CANARY = 'demo-canary-5f3a9c1e';
const OTHER_SECRETS = ['not-a-real-session-secret', 'not-a-real-webhook-secret', 'Example Shop', 'ldaps://ldap.example.org', 'postgres://shop_app'];
const SECRET_FILES = ['apps/prod/api.env', 'apps/prod/db-secret.yaml', 'apps/prod/license.lic', 'apps/prod/payments.json', 'infrastructure/prod/ldap.ini'];
const FLUX_FILES = SECRET_FILES.filter((file) => file.startsWith('apps/'));

describe('the demo story', () => {
  it('holds the canary in every secret fixture, so the checks below can fail', async () => {
    for (const file of SECRET_FILES) expect(await readFile(path.join(DEFAULT_DEMO_FIXTURES, file), 'utf8')).toContain(CANARY);
  });

  it('scans, waits for the gate, rescues, re-encrypts and ends with every file current', async () => {
    const lines: string[] = [];
    let repo = '';
    let history = '';
    let subjects: string[] = [];
    const outcome = await runDemo({
      fixtures: DEFAULT_DEMO_FIXTURES,
      style: PLAIN_STYLE,
      write: (line) => lines.push(line),
      startMs: Date.UTC(2025, 0, 6, 9, 0),
      beforeCleanup: async (dir) => {
        repo = dir;
        history = await git(dir, ['log', '-p', '--all', '--format=commit %H %s']);
        subjects = (await git(dir, ['log', '--format=%s'])).trim().split('\n');
      },
    });
    const output = lines.join('\n');

    expect(outcome.problems).toEqual([]);
    expect(Object.fromEntries(outcome.before)).toEqual({
      ...Object.fromEntries(FLUX_FILES.map((file) => [file, 'stale'])),
      'infrastructure/prod/ldap.ini': 'at-risk',
    });
    // Too early, then probes answering with v1 during the lag, then open.
    expect(outcome.gateReasons).toEqual(['window-not-elapsed', 'probe-reported-other-version', 'propagated']);
    expect(outcome.rescued).toEqual(['infrastructure/prod/ldap.ini']);
    expect([...outcome.reencrypted].sort()).toEqual(FLUX_FILES);
    expect(Object.fromEntries(outcome.after)).toEqual(Object.fromEntries(SECRET_FILES.map((file) => [file, 'current'])));

    const verdict = (version: string) => outcome.versions.find((v) => v.version === version);
    expect(verdict(versionName(FLUX_SECRETS_KEY, 1))).toMatchObject({ verdict: 'safe-to-disable', dependents: [], possibleDependents: [] });
    expect(verdict(versionName(FLUX_SECRETS_KEY, 2))).toMatchObject({ verdict: 'primary', dependents: FLUX_FILES });
    expect(verdict(versionName(LEGACY_KEY, 1))).toMatchObject({ verdict: 'scheduled-for-destruction', state: 'DESTROY_SCHEDULED', dependents: [] });

    // Every changed line is an encrypted value, a wrapped key, lastmodified or mac.
    expect(outcome.changes.map((c) => c.path)).toEqual(SECRET_FILES);
    for (const change of outcome.changes) {
      expect(change.kinds.other, change.path).toBe(0);
      expect(change.kinds.value, change.path).toBeGreaterThan(0);
      expect(change.kinds.mac, change.path).toBe(2);
    }

    // The repository: three commits (fixtures, rescue, re-encryption), never a plaintext value.
    expect(subjects).toHaveLength(3);
    expect(history).toContain('ENC[AES256_GCM,');
    for (const secret of [CANARY, ...OTHER_SECRETS]) {
      expect(history, secret).not.toContain(secret);
      expect(output, secret).not.toContain(secret);
    }
    expect(existsSync(repo)).toBe(false);

    expect(output).toMatch(/^ {2}sops-rekey-demo\/flux-secrets +1 +ENABLED +no file depends on it: safe to disable$/m);
    expect(output).toMatch(/^ {2}sops-rekey-demo\/legacy +1 +DESTROY_SCHEDULED +scheduled for destruction; no file depends on it$/m);
    expect(output).toContain('closed (window-not-elapsed)');
    expect(output).toContain('probe Encrypt by key name at 2025-02-05T10:01:00Z -> flux-secrets/v1');
  });
});
