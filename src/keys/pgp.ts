/**
 * PGP master keys through the `gpg` binary, as sops's fallback path runs it (sops-format.md §5.4,
 * §9). The data key goes to gpg on stdin and comes back on stdout: it never touches disk.
 */
import { execa } from 'execa';
import { KeySourceError } from '../errors.ts';
import type { MasterKey } from '../sops/master-key.ts';
import type { KeySource, Unwrapped, Wrapped } from './key-source.ts';
import { messageRecipients } from './pgp-packets.ts';
import {
  decryptingKey,
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
    // or subkey `fp` still works. No --quiet (sops runs plain `gpg -d` too): without it gpg
    // reports NO_SECKEY and why a present secret key failed ("No pinentry"), telling them apart.
    // --pinentry-mode error: a locked key fails at once instead of waiting for a prompt.
    const run = await this.#run(['--batch', '--status-fd', '2', '--pinentry-mode', 'error', '--decrypt'], enc);
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
    if (run.exitCode !== 0 || !hasStatus(out, 'END_ENCRYPTION')) throw encryptFailure(fp, out);
    const enc = new TextDecoder().decode(run.stdout).trim();
    return { enc, evidence: { source: 'pgp', fingerprint: await this.#checkRecipient(enc, fp, hex) } };
  }

  /**
   * gpg's status output does not name the key it encrypted to, so read it from the message and
   * check it is the one asked for: exactly one recipient, a key whose fingerprint or key id ends
   * with `fp`. Returns that key's primary fingerprint.
   */
  async #checkRecipient(enc: string, fp: string, hex: string): Promise<string> {
    const ids = messageRecipients(enc);
    if (ids.length !== 1) {
      throw new KeySourceError('unexpected-recipients', `gpg wrapped for ${ids.length} keys, not just ${fp}`, {
        category: 'bug',
      });
    }
    const id = ids[0] ?? '';
    // A hidden recipient (throw-keyids in gpg.conf) cannot be checked; the caller's verify step
    // (unwrap) still proves the entry opens.
    if (/^0+$/.test(id)) return fp;
    const run = await this.#run(['--batch', '--with-colons', '--fixed-list-mode', '--list-keys', `0x${id}`], '');
    const listing = new TextDecoder().decode(run.stdout).split('\n');
    const fingerprints = listing.filter((line) => line.startsWith('fpr:')).map((line) => line.split(':')[9] ?? '');
    const keyIds = listing
      .filter((line) => line.startsWith('pub:') || line.startsWith('sub:'))
      .map((line) => line.split(':')[4] ?? '');
    const wanted = hex.toUpperCase();
    const matches = [...fingerprints, ...keyIds].some((candidate) => candidate.toUpperCase().endsWith(wanted));
    if (!matches || fingerprints[0] === undefined) {
      throw new KeySourceError('unexpected-recipients', `gpg wrapped for key ${id}, which is not ${fp}`, {
        category: 'bug',
      });
    }
    return fingerprints[0];
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
  // Checked before "no secret key": gpg also ends a locked key's failure with that message.
  if (isPassphraseFailure(out)) {
    return new KeySourceError(
      'passphrase-required',
      `the secret key for ${fp} is protected and gpg-agent has no cached passphrase: ${log}`,
    );
  }
  if (hasStatus(out, 'NO_SECKEY') || /no secret key/i.test(log)) {
    const ids = recipientKeyIds(out);
    const to = ids.length > 0 ? ` (message encrypted to ${ids.join(', ')})` : '';
    return new KeySourceError('no-secret-key', `no secret key in the keyring can open the pgp entry for ${fp}${to}`);
  }
  if (hasStatus(out, 'BADMDC') || /integrity|mdc/i.test(log)) {
    return new KeySourceError('corrupt-enc', `pgp entry for ${fp} fails its integrity check: ${log}`);
  }
  return new KeySourceError('gpg-failed', `gpg could not decrypt the pgp entry for ${fp}: ${log}`);
}

/** gpg-error codes for a key that needs its passphrase: bad passphrase, no pinentry, cancelled. */
const PASSPHRASE_ERRORS = new Set([11, 85, 99]);

function isPassphraseFailure(out: GpgOutput): boolean {
  const pkdecrypt = out.status.find((line) => line.keyword === 'ERROR' && line.args[0] === 'pkdecrypt_failed');
  // The status value is a gpg-error: error source in the high bits, the code in the low 16.
  const code = Number(pkdecrypt?.args[1] ?? Number.NaN) & 0xffff;
  return PASSPHRASE_ERRORS.has(code) || /no pinentry|bad passphrase|operation cancelled/i.test(out.log.join('\n'));
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
