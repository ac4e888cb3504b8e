/**
 * sops-rekey as npm installs it: the files `npm pack` would publish, under a `node_modules`
 * folder, run by Node with its defaults. Node strips no types under node_modules, so a package
 * that ran its TypeScript sources failed there on every command; this runs the demo end to end
 * (the Cloud KMS emulator, the demo fixtures, the compiled worker modules) from such a copy.
 */
import { cp, mkdir, mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';

const REPO = path.resolve(import.meta.dirname, '../..');
const workspace = await mkdtemp(path.join(tmpdir(), 'sops-rekey-installed-'));
afterAll(() => rm(workspace, { recursive: true, force: true }));

describe('the installed package', () => {
  it('runs the demo from node_modules, with the files npm pack publishes', { timeout: 60_000 }, async () => {
    // `npm test` built dist/ already; --ignore-scripts keeps pack from building it again.
    const packed = await execa('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: REPO });
    const files = (JSON.parse(packed.stdout) as [{ files: { path: string }[] }])[0].files.map((f) => f.path);
    expect(files).toContain('bin/sops-rekey.js');
    expect(files.some((f) => f.startsWith('src/'))).toBe(false);

    const installed = path.join(workspace, 'node_modules', 'sops-rekey');
    for (const file of files) {
      await mkdir(path.dirname(path.join(installed, file)), { recursive: true });
      await cp(path.join(REPO, file), path.join(installed, file));
    }
    // Its dependencies, where npm would have put them for this package.
    await symlink(path.join(REPO, 'node_modules'), path.join(installed, 'node_modules'), 'dir');

    const demo = await execa(process.execPath, [path.join(installed, 'bin/sops-rekey.js'), 'demo'], { cwd: workspace, reject: false, timeout: 50_000 });
    expect(demo.stderr).not.toContain('ERR_UNSUPPORTED_NODE_MODULES_TYPE_STRIPPING');
    expect(demo.exitCode).toBe(0);
    expect(demo.stdout).toContain('Done: every file is on the new primary');
  });
});
