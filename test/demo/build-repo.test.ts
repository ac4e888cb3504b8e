import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { generateX25519Identity, identityToRecipient } from 'age-encryption';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildDemoRepository, git } from '../../src/demo/build-repo.ts';
import { AgeKeySource } from '../../src/keys/age.ts';
import { decryptFile } from '../../src/rekey/transform.ts';
import { readSopsFile } from '../../src/sops/sops-file.ts';

const SECRET = 'build-repo-canary-8c41';

let work: string;
beforeEach(async () => {
  work = await mkdtemp(path.join(tmpdir(), 'sops-rekey-demo-build-'));
});
afterEach(async () => {
  await rm(work, { recursive: true, force: true });
});

async function writeTree(root: string, files: Record<string, string>): Promise<void> {
  for (const [name, text] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(root, name)), { recursive: true });
    await writeFile(path.join(root, name), text);
  }
}

describe('buildDemoRepository', () => {
  it('encrypts what a creation rule matches with its keys and selector, copies the rest, and commits', async () => {
    const fixtures = path.join(work, 'fixtures');
    const dir = path.join(work, 'repo');
    await mkdir(dir);
    await writeTree(fixtures, {
      '.sops.yaml': 'creation_rules:\n  - path_regex: ^secrets/\n    encrypted_regex: ^stringData$\n    age: DEMO_AGE_RECIPIENT\n',
      'secrets/app.yaml': `kind: Secret\nmetadata:\n  name: app\nstringData:\n  token: ${SECRET}\n`,
      'manifests/app.yaml': 'kind: ConfigMap\ndata:\n  mode: plain\n',
    });
    const identity = await generateX25519Identity();
    const recipient = await identityToRecipient(identity);
    const sources = { age: new AgeKeySource([identity]) };

    const built = await buildDemoRepository({ fixtures, dir, sources, ageRecipient: recipient, gcpVersionFor: () => undefined, now: new Date('2025-01-06T09:00:00Z') });

    expect(built.encrypted).toEqual([{ path: 'secrets/app.yaml', format: 'yaml', keys: ['age'] }]);
    expect(built.files).toEqual(['.sops.yaml', 'manifests/app.yaml', 'secrets/app.yaml']);
    const secret = await readFile(path.join(dir, 'secrets/app.yaml'));
    expect(secret.toString()).not.toContain(SECRET);
    expect(secret.toString()).toContain('name: app'); // outside encrypted_regex: left readable
    const file = readSopsFile(secret, 'secrets/app.yaml');
    expect(file.metadata.selector).toEqual({ kind: 'encrypted_regex', value: '^stringData$' });
    expect(file.metadata.lastModified).toBe('2025-01-06T09:00:00Z');
    expect(Buffer.from(await decryptFile(secret, 'secrets/app.yaml', sources)).toString()).toContain(`token: ${SECRET}`);

    expect(await readFile(path.join(dir, 'manifests/app.yaml'), 'utf8')).toBe('kind: ConfigMap\ndata:\n  mode: plain\n');
    expect(await readFile(path.join(dir, '.sops.yaml'), 'utf8')).toContain(`age: ${recipient}`);
    expect((await git(dir, ['ls-files'])).trim().split('\n')).toEqual(built.files);
    expect(await git(dir, ['status', '--porcelain'])).toBe('');
    expect(await git(dir, ['log', '-p', '--all'])).not.toContain(SECRET);
  });
});
