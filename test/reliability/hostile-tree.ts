/**
 * A repository built to hurt a scanner: links out of the tree (to a real SOPS file), a directory
 * reached through a link with `..`, a 6 MiB file with SOPS markers, documents nested 10,000 deep,
 * a YAML alias bomb, a FIFO and a directory named like SOPS files, next to ordinary stale files.
 * The hostile documents hold their own canary in clear text: it must never be echoed back.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { KmsRepo } from '../support/kms-repo.ts';

/** Levels of nesting of the deep documents. */
export const DEPTH = 10_000;
/** Over the 5 MiB a scan reads. */
export const HUGE_SIZE = 6 * 1024 * 1024;

export interface HostileTree {
  /** A folder outside the repository holding `secret.yaml`, a real SOPS file. */
  readonly outside: string;
  readonly outsideSecret: string;
  /** Paths (relative to the repository) of each hostile entry. */
  readonly paths: {
    readonly linkAbsolute: string;
    readonly linkRelative: string;
    readonly linkedDir: string;
    readonly huge: string;
    readonly deepYaml: string;
    readonly deepJson: string;
    readonly aliasBomb: string;
    readonly fifo: string;
    readonly dirLikeFile: string;
  };
  cleanup(): Promise<void>;
}

/** The `sops:` block of an encrypted YAML file, so a hostile document carries real markers. */
export function sopsBlockOf(encryptedYaml: string): string {
  const at = encryptedYaml.search(/^sops:/m);
  if (at < 0) throw new Error('no sops block');
  return encryptedYaml.slice(at);
}

/** The `"sops": {...}` member of an encrypted JSON file, up to the closing brace of the document. */
export function sopsMemberOf(encryptedJson: string): string {
  const at = encryptedJson.indexOf('"sops"');
  if (at < 0) throw new Error('no sops member');
  return encryptedJson.slice(at, encryptedJson.lastIndexOf('}'));
}

export const deepYaml = (canary: string, sops: string): string => `deep: ${'['.repeat(DEPTH)}"${canary}"${']'.repeat(DEPTH)}\n${sops}`;
export const deepJson = (canary: string, sopsMember: string): string => `{\n\t"deep": ${'{"a":'.repeat(DEPTH)}"${canary}"${'}'.repeat(DEPTH)},\n\t${sopsMember}}\n`;

/** Billion laughs: ten aliases of ten aliases, nine times over: 10^9 strings if expanded. */
export function aliasBomb(canary: string, sops: string): string {
  const lines = [`l0: &l0 [${Array.from({ length: 10 }, () => `"${canary}"`).join(', ')}]`];
  for (let i = 1; i < 9; i++) lines.push(`l${i}: &l${i} [${Array.from({ length: 10 }, () => `*l${i - 1}`).join(', ')}]`);
  return `${lines.join('\n')}\n${sops}`;
}

/** A valid-looking SOPS YAML document padded past the scan's size limit. */
export function hugeYaml(canary: string, sops: string): string {
  const padding = `${canary} `.repeat(Math.ceil(HUGE_SIZE / (canary.length + 1)));
  return `padding: "${padding}"\n${sops}`;
}

/**
 * Writes the hostile entries into `repo.dir`. `beforeTamper` runs once every entry is a regular
 * file or folder (a test commits there); then the FIFO, the directory and the linked folder take
 * the place of what was committed, as a tampered checkout would have them.
 */
export async function buildHostileTree(
  repo: KmsRepo,
  samples: { readonly yaml: string; readonly json: string; readonly outsideSecret: Buffer; readonly canary: string },
  beforeTamper: () => Promise<void> = async () => {},
): Promise<HostileTree> {
  const outside = await mkdtemp(path.join(tmpdir(), 'sops-rekey-outside-'));
  const outsideSecret = path.join(outside, 'secret.yaml');
  await writeFile(outsideSecret, samples.outsideSecret);
  const sops = sopsBlockOf(samples.yaml);
  const paths = {
    linkAbsolute: 'links/absolute.yaml',
    linkRelative: 'links/relative.yaml',
    linkedDir: 'linked/secret.yaml',
    huge: 'big/huge.yaml',
    deepYaml: 'deep/deep.yaml',
    deepJson: 'deep/deep.json',
    aliasBomb: 'bomb/laughs.yaml',
    fifo: 'odd/stuck.enc.yaml',
    dirLikeFile: 'odd/folder.enc.yaml',
  } as const;
  await repo.write(paths.huge, hugeYaml(samples.canary, sops));
  await repo.write(paths.deepYaml, deepYaml(samples.canary, sops));
  await repo.write(paths.deepJson, deepJson(samples.canary, sopsMemberOf(samples.json)));
  await repo.write(paths.aliasBomb, aliasBomb(samples.canary, sops));
  // Placeholders for what is replaced after the commit.
  await repo.write(paths.fifo, samples.yaml);
  await repo.write(paths.dirLikeFile, samples.yaml);
  await repo.write(paths.linkedDir, samples.yaml);
  await mkdir(path.join(repo.dir, 'links'), { recursive: true });
  await symlink(outsideSecret, path.join(repo.dir, paths.linkAbsolute));
  await symlink(path.relative(path.join(repo.dir, 'links'), outsideSecret), path.join(repo.dir, paths.linkRelative));
  await beforeTamper();

  await rm(path.join(repo.dir, paths.fifo));
  await promisify(execFile)('mkfifo', [path.join(repo.dir, paths.fifo)]);
  await rm(path.join(repo.dir, paths.dirLikeFile));
  await mkdir(path.join(repo.dir, paths.dirLikeFile));
  await writeFile(path.join(repo.dir, paths.dirLikeFile, 'README'), 'not a secret\n');
  // `linked/` becomes a link whose target climbs out with `..`: linked/secret.yaml is the outside file.
  await rm(path.join(repo.dir, 'linked'), { recursive: true });
  await symlink(path.relative(repo.dir, outside), path.join(repo.dir, 'linked'));

  return { outside, outsideSecret, paths, cleanup: () => rm(outside, { recursive: true, force: true }) };
}
