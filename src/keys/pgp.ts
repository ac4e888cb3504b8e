/**
 * PGP master keys through the `gpg` binary, as sops's fallback path runs it (sops-format.md §5.4,
 * §9). The data key goes to gpg on stdin and comes back on stdout: it never touches disk.
 */
import { execa } from 'execa';
import { KeySourceError } from '../errors.ts';
import type { MasterKey } from '../sops/master-key.ts';
import type { KeySource, Unwrapped, Wrapped } from './key-source.ts';
import {
  decryptingKey,
  encryptingKey,
  firstStatus,
  type GpgOutput,
  hasStatus,
  invalidRecipientReason,
  parseGpgOutput,
  recipientKeyIds,
  summariseLog,
} from './pgp-status.ts';

export interface PgpKeySourceOptions {
  /** The keyring directory; unset means gpg's own default (`$GNUPGHOME` or `~/.gnupg`). */
  readonly gnupgHome?: string;
  /** The gpg executable (sops: `SOPS_GPG_EXEC`), default `gpg`. */
  readonly gpgBinary?: string;
  /** Kills a gpg run that takes longer, e.g. an agent waiting for a pinentry. Default 60 s. */
  readonly timeoutMs?: number;
}

/** A key id or fingerprint as sops stores `fp`: 8 to 40 hex digits, `!` to force a subkey. */
const FINGERPRINT = /^(?:0x)?([0-9A-Fa-f]{8,40})(!?)$/;

export class PgpKeySource implements KeySource {
  readonly type = 'pgp' as const;
  readonly #gnupgHome: string | undefined;
  readonly #gpg: string;
  readonly #timeoutMs: number;

  constructor(options: PgpKeySourceOptions = {}) {
    this.#gnupgHome = options.gnupgHome;
    this.#gpg = options.gpgBinary ?? 'gpg';
    this.#timeoutMs = options.timeoutMs ?? 60_000;
  }

  /** Keyring from `GNUPGHOME`, binary from `SOPS_GPG_EXEC`, as sops reads them. */
  static fromEnvironment(env: NodeJS.ProcessEnv = process.env): PgpKeySource {
    return new PgpKeySource({
      ...(env.GNUPGHOME ? { gnupgHome: env.GNUPGHOME } : {}),
      ...(env.SOPS_GPG_EXEC ? { gpgBinary: env.SOPS_GPG_EXEC } : {}),
    });
  }

  async unwrap(key: MasterKey): Promise<Unwrapped> {
    const fp = fieldText(key, 'fp');
    const enc = fieldText(key, 'enc');
    if (enc === '') throw new KeySourceError('malformed-enc', `pgp entry for ${fp} has no enc`);

    // gpg picks the secret key from the message's recipients, not from `fp` (§5.4), so a short
    // or subkey `fp` still works.
    const run = await this.#run(['--batch', '--quiet', '--status-fd', '2', '--pinentry-mode', 'error', '--decrypt'], enc);
    const out = run.output;
    const ok = run.exitCode === 0 && hasStatus(out, 'DECRYPTION_OKAY') && !hasStatus(out, 'DECRYPTION_FAILED');
    if (ok) {
      const keyId = decryptingKey(out) ?? fp;
      return { plaintext: run.stdout, evidence: { source: 'pgp', keyId } };
    }
    throw decryptFailure(fp, out);
  }

  async wrap(key: MasterKey, plaintext: Uint8Array): Promise<Wrapped> {
    const fp = fieldText(key, 'fp').replaceAll(' ', '');
    const match = FINGERPRINT.exec(fp);
    if (match === null) {
      // Also keeps anything that looks like an option away from gpg's command line.
      throw new KeySourceError('invalid-fingerprint', `pgp entry has fp "${fp}", which is not a key id or fingerprint`);
    }
    const hex = match[1] ?? '';
    const args = ['--batch', '--status-fd', '2', '--no-default-recipient', '--yes', '--encrypt', '-a', '-r', fp];
    // sops passes the last 16 hex digits as --trusted-key so an untrusted imported key can be
    // used; a short 8-digit id cannot be given there.
    if (hex.length >= 16) args.push('--trusted-key', hex.slice(-16));
    args.push('--no-encrypt-to');

    const run = await this.#run(args, plaintext);
    const out = run.output;
    if (run.exitCode === 0 && hasStatus(out, 'END_ENCRYPTION')) {
      const enc = new TextDecoder().decode(run.stdout).trim();
      return { enc, evidence: { source: 'pgp', fingerprint: encryptingKey(out) ?? fp } };
    }
    throw encryptFailure(fp, out);
  }

  async #run(args: string[], input: string | Uint8Array) {
    const result = await execa(this.#gpg, args, {
      input,
      encoding: 'buffer',
      // The data key is binary: a trailing 0x0a byte is part of it.
      stripFinalNewline: false,
      reject: false,
      timeout: this.#timeoutMs,
      // English messages, so the log summary reads the same everywhere.
      env: { LC_ALL: 'C', LANGUAGE: 'C', ...(this.#gnupgHome === undefined ? {} : { GNUPGHOME: this.#gnupgHome }) },
    });
    if (result.code === 'ENOENT' || result.code === 'EACCES') {
      throw new KeySourceError('gpg-missing', `cannot run ${this.#gpg} (${result.code}): is GnuPG installed?`);
    }
    if (result.timedOut) {
      throw new KeySourceError('gpg-failed', `${this.#gpg} did not finish within ${this.#timeoutMs} ms`, {
        category: 'transient',
      });
    }
    return {
      exitCode: result.exitCode,
      stdout: new Uint8Array(result.stdout),
      output: parseGpgOutput(new TextDecoder().decode(result.stderr)),
    };
  }
}

function decryptFailure(fp: string, out: GpgOutput): KeySourceError {
  const log = summariseLog(out);
  if (hasStatus(out, 'NODATA') || hasStatus(out, 'BADARMOR')) {
    return new KeySourceError('malformed-enc', `pgp entry for ${fp} is not an OpenPGP message: ${log}`);
  }
  if (hasStatus(out, 'NO_SECKEY') || /no secret key/i.test(log)) {
    const ids = recipientKeyIds(out);
    const to = ids.length > 0 ? ` (message encrypted to ${ids.join(', ')})` : '';
    return new KeySourceError('no-secret-key', `no secret key in the keyring can open the pgp entry for ${fp}${to}`);
  }
  if (/pinentry|passphrase|operation cancelled/i.test(log)) {
    return new KeySourceError(
      'passphrase-required',
      `the secret key for ${fp} needs a passphrase that gpg-agent does not have cached: ${log}`,
    );
  }
  if (hasStatus(out, 'BADMDC') || /integrity|mdc/i.test(log)) {
    return new KeySourceError('corrupt-enc', `pgp entry for ${fp} fails its integrity check: ${log}`);
  }
  return new KeySourceError('gpg-failed', `gpg could not decrypt the pgp entry for ${fp}: ${log}`);
}

function encryptFailure(fp: string, out: GpgOutput): KeySourceError {
  const invalid = firstStatus(out, 'INV_RECP');
  if (invalid !== undefined) {
    const reason = invalidRecipientReason(invalid);
    if (invalid.args[0] === '1' || /no public key/i.test(summariseLog(out))) {
      return new KeySourceError('no-public-key', `no public key ${fp} in the keyring: cannot wrap for it`);
    }
    return new KeySourceError('unusable-public-key', `public key ${fp} cannot be used to encrypt: ${reason}`);
  }
  return new KeySourceError('gpg-failed', `gpg could not wrap for ${fp}: ${summariseLog(out)}`);
}

function fieldText(key: MasterKey, field: string): string {
  const value = key.fields[field];
  return typeof value === 'string' ? value : '';
}
