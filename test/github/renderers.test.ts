/** The pure parts of the app: names, the state marker, the renderers, scope, identity, scrubbing. */
import { describe, expect, it } from 'vitest';
import { branchName, pullTitle } from '../../src/github/branch-name.ts';
import { ConfigError } from '../../src/github/config-error.ts';
import { renderConfigIssue } from '../../src/github/config-issue.ts';
import { renderDashboard, tickedActions } from '../../src/github/dashboard.ts';
import { kmsIdentityFor } from '../../src/github/kms-identity.ts';
import { MAX_BODY, renderPullBody } from '../../src/github/pr-body.ts';
import { gitBlobId, inputsHash, parseState, renderState, type PullState } from '../../src/github/pr-state.ts';
import { inScope } from '../../src/github/scope.ts';
import { scrub } from '../../src/github/scrub.ts';
import { authenticatedUrl } from '../../src/github/clone.ts';
import { mayTouchSopsFiles } from '../../src/github/triggers.ts';
import type { Report, ReportFile } from '../../src/rekey/report.ts';

const KEY = 'projects/p/locations/global/keyRings/prod/cryptoKeys/flux';
const V = (n: number, key = KEY) => `${key}/cryptoKeyVersions/${n}`;
const STATE: PullState = { v: 1, inputs: 'a'.repeat(64), commit: 'b'.repeat(40), base: 'c'.repeat(40), urgent: false };

const staleFile = (path: string): ReportFile => ({
  path,
  format: 'yaml',
  state: 'stale',
  action: { kind: 'rekey', method: 'rotate', urgent: false, to: [V(2)] },
  entries: [{ key: KEY, group: 0, state: 'stale', version: V(1), candidates: [V(1)] }],
  kustomizations: ['flux-system/apps'],
  foreignKeyTypes: [],
});

const report = (files: ReportFile[], extra: Partial<Report> = {}): Report => ({
  files,
  problems: [],
  skipped: [],
  versions: [],
  gates: [],
  ruleNotes: [],
  inventoryFailures: [],
  kmsDecryptCalls: 0,
  ...extra,
});

describe('branch names and titles', () => {
  it('are the same for the same targets in any order, and name the key and version', () => {
    const other = V(4, 'projects/p/locations/global/keyRings/prod/cryptoKeys/apps');
    expect(branchName([V(2)])).toBe('sops-rekey/prod-flux-v2');
    expect(pullTitle([V(2)], false)).toBe('sops-rekey: re-encrypt SOPS files to prod/flux v2');
    expect(branchName([V(2), other])).toBe(branchName([other, V(2), V(2)]));
    expect(branchName([V(2), other])).toBe('sops-rekey/prod-apps-v4-and-1-more');
    expect(pullTitle([V(2)], true)).toBe('Urgent: sops-rekey: re-encrypt SOPS files to prod/flux v2');
  });
});

describe('the state marker', () => {
  it('round-trips through a body and ignores a hand-edited one', () => {
    const body = `text\n\n${renderState(STATE)}\n`;
    expect(parseState(body)).toEqual(STATE);
    expect(parseState(body.replace('"v":1', '"v":2'))).toBeUndefined();
    expect(parseState('no marker')).toBeUndefined();
  });

  it('hashes inputs independently of order, and a changed file changes the hash', () => {
    const a = { path: 'a.yaml', blob: '1', action: 'rekey', method: 'rotate', targets: [[KEY, V(2)]] as const };
    const b = { ...a, path: 'b.yaml' };
    expect(inputsHash([a, b])).toBe(inputsHash([b, a]));
    expect(inputsHash([a, b])).not.toBe(inputsHash([a, { ...b, blob: '2' }]));
    expect(inputsHash([a])).not.toBe(inputsHash([{ ...a, targets: [[KEY, V(3)]] }]));
  });

  it('computes git blob ids as git does', () => {
    // `printf 'hello\n' | git hash-object --stdin`
    expect(gitBlobId(Buffer.from('hello\n'))).toBe('ce013625030ba8dba906f756967f9e9ca394464a');
  });
});

describe('the pull request body', () => {
  it('folds a long table and stays under the limit with thousands of files', () => {
    const files = Array.from({ length: 3000 }, (_, i) => staleFile(`apps/team-${i}/secrets-with-a-long-name-${i}.yaml`));
    const body = renderPullBody({ report: report(files), files: files.map((f) => f.path), state: STATE });
    expect(body.length).toBeLessThanOrEqual(MAX_BODY);
    expect(body).toContain('<details><summary>3000 entries</summary>');
    expect(body).toMatch(/_\d+ more entries not shown/);
    expect(parseState(body)).toEqual(STATE);
  });

  it('marks an urgent rescue with its deadline', () => {
    const body = renderPullBody({ report: report([staleFile('a.yaml')]), files: ['a.yaml'], state: { ...STATE, urgent: true }, deadline: '2025-02-01T00:00:00Z' });
    expect(body).toMatch(/^> \[!CAUTION\]\n> \*\*Urgent\.\*\*.*destroyed at \*\*2025-02-01T00:00:00Z\*\*/);
  });
});

describe('the dashboard', () => {
  it('reads ticked boxes, and renders the same body for the same report', () => {
    const input = { report: report([staleFile('a.yaml')]), pull: { kind: 'none' as const }, ticked: new Set<'rescan' | 'retry'>(['retry']) };
    const body = renderDashboard(input);
    expect(tickedActions(body)).toEqual(new Set(['retry']));
    expect(renderDashboard(input)).toBe(body);
    expect(tickedActions(body.replace('- [ ] <!-- sops-rekey:rescan', '- [X] <!-- sops-rekey:rescan'))).toEqual(new Set(['rescan', 'retry']));
  });

  it('lists blocked files with their deadline and the restore-then-enable commands', () => {
    const blocked: ReportFile = {
      ...staleFile('db.yaml'),
      state: 'at-risk',
      action: { kind: 'blocked', reason: 'no other master key', deadline: '2025-03-01T00:00:00Z', commands: ['gcloud kms keys versions restore 1 --key flux', 'gcloud kms keys versions enable 1 --key flux'] },
    };
    const body = renderDashboard({ report: report([blocked]), pull: { kind: 'none' }, ticked: new Set() });
    expect(body).toContain('## Urgent');
    expect(body).toContain('`db.yaml` is at-risk. Deadline: **2025-03-01T00:00:00Z**.');
    expect(body.indexOf('versions restore 1')).toBeLessThan(body.indexOf('versions enable 1'));
  });
});

describe('the action-required issue', () => {
  it('names the file, each field and its problem', () => {
    const body = renderConfigIssue(new ConfigError('acme/app', '.github/sops-rekey.yml', [{ path: 'window', message: 'must be at least 1m, got "10s"' }]));
    expect(body).toContain('`acme/app:.github/sops-rekey.yml`');
    expect(body).toContain('| `window` | must be at least 1m, got "10s" |');
  });
});

describe('scope, identity, triggers and scrubbing', () => {
  it('applies include and exclude globs', () => {
    const scope = { include: ['apps/**'], exclude: ['apps/legacy/**'] };
    expect(inScope('apps/prod/s.yaml', scope)).toBe(true);
    expect(inScope('apps/legacy/s.yaml', scope)).toBe(false);
    expect(inScope('infra/s.yaml', scope)).toBe(false);
  });

  it('impersonates the configured service account from the app identity, one identity per account', () => {
    const settings = (identity?: string) => ({ settings: { kms: identity ? { identity } : {} } }) as Parameters<typeof kmsIdentityFor>[0];
    expect(kmsIdentityFor(settings(), { kind: 'adc' })).toEqual({ kind: 'adc' });
    expect(kmsIdentityFor(settings('a@p.iam.gserviceaccount.com'), { kind: 'adc' })).toEqual({
      kind: 'impersonate',
      serviceAccount: 'a@p.iam.gserviceaccount.com',
      source: { kind: 'adc' },
    });
    expect(kmsIdentityFor(settings('a@p.iam.gserviceaccount.com'), { kind: 'emulator', host: '127.0.0.1:1' }).kind).toBe('emulator');
  });

  it('starts a job for pushes that may touch SOPS files, and when the payload cannot tell', () => {
    expect(mayTouchSopsFiles([{ modified: ['README.md'] }])).toBe(false);
    expect(mayTouchSopsFiles([{ added: ['apps/.sops.yaml'] }])).toBe(true);
    expect(mayTouchSopsFiles([{ modified: ['deploy/db.enc.bin'] }])).toBe(true);
    expect(mayTouchSopsFiles([])).toBe(true);
  });

  it('removes tokens and URL credentials from text', () => {
    const token = 'ghs_0123456789abcdefghijklmnop';
    const url = authenticatedUrl('https://github.com/acme/app.git', token);
    expect(url).toBe(`https://x-access-token:${token}@github.com/acme/app.git`);
    const text = scrub(`fatal: unable to access '${url}': 403 (token ${token})`, [token]);
    expect(text).not.toContain(token);
    expect(text).toContain("'https://***@github.com/acme/app.git'");
  });
});
