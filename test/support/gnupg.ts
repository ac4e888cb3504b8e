/**
 * A throwaway GnuPG home for tests: made under the system temp dir (short path, since gpg-agent's
 * socket path has a length limit), keys imported with `gpg --batch --import`, and on cleanup the
 * agent and other daemons it started are killed (`gpgconf --kill all`) before the directory goes.
 */
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';

export interface TempGnupgHome {
  readonly dir: string;
  /** Imports key files (armored or binary, secret or public). */
  importKeys(...files: string[]): Promise<void>;
  /** Imports key material given as text (e.g. an exported public key). */
  importText(armored: string): Promise<void>;
  /** The armored public key of `id`, for making a public-only keyring. */
  exportPublicKey(id: string): Promise<string>;
  /** Generates an ed25519/cv25519 key protected by `passphrase`; returns its fingerprint. */
  generateKey(uid: string, passphrase: string): Promise<string>;
  /** Kills the agent and removes the directory. Safe to call twice. */
  cleanup(): Promise<void>;
}

export async function makeGnupgHome(...keyFiles: string[]): Promise<TempGnupgHome> {
  const dir = await mkdtemp(path.join(tmpdir(), 'gpg-'));
  await chmod(dir, 0o700);
  const env = { GNUPGHOME: dir, LC_ALL: 'C' };
  const gpg = (args: string[], input?: string) =>
    execa('gpg', ['--batch', ...args], { env, ...(input === undefined ? {} : { input }) });

  const home: TempGnupgHome = {
    dir,
    async importKeys(...files) {
      for (const file of files) await gpg(['--import', file]);
    },
    async importText(armored) {
      await gpg(['--import'], armored);
    },
    async exportPublicKey(id) {
      return (await gpg(['--armor', '--export', id])).stdout;
    },
    async generateKey(uid, passphrase) {
      await gpg(['--pinentry-mode', 'loopback', '--passphrase', passphrase, '--quick-gen-key', uid, 'future-default', 'default', 'never']);
      const listing = (await gpg(['--with-colons', '--list-keys', uid])).stdout;
      const fpr = listing.split('\n').find((line) => line.startsWith('fpr:'));
      return fpr?.split(':')[9] ?? '';
    },
    async cleanup() {
      await execa('gpgconf', ['--kill', 'all'], { env, reject: false });
      await rm(dir, { recursive: true, force: true });
    },
  };
  await home.importKeys(...keyFiles);
  return home;
}
