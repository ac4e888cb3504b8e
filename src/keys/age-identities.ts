/**
 * Where sops finds age identities, and how it reads them (sops-format.md §9; sops
 * `age/keysource.go` `loadIdentities`, `parseIdentities`, `getUserConfigDir`).
 *
 * Identity strings are secrets: they are held in private fields, never put in an error message,
 * and an object printed or serialised shows only its recipient and where it came from.
 */
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import { Decrypter, identityToRecipient } from 'age-encryption';
import { KeySourceError } from '../errors.ts';

/** Relative to the user config directory, as sops's `SopsAgeKeyUserConfigPath`. */
export const DEFAULT_KEY_FILE = path.join('sops', 'age', 'keys.txt');

/** One parsed identity. The secret stays inside; only what is safe to show is public. */
export class AgeIdentity {
  /** Where the identity was read: `SOPS_AGE_KEY`, a file path, or `argument N`. */
  readonly origin: string;
  readonly #secret: string;
  readonly #decrypter: Decrypter;
  #recipient: Promise<string> | undefined;

  /** @throws KeySourceError `malformed-identity` (the message never holds the string). */
  constructor(secret: string, origin: string) {
    this.origin = origin;
    this.#secret = secret;
    this.#decrypter = new Decrypter();
    try {
      // addIdentity decodes the bech32 string right away, so a bad identity fails here.
      this.#decrypter.addIdentity(secret);
    } catch {
      throw new KeySourceError(
        'malformed-identity',
        `${origin}: not a valid age identity (expected AGE-SECRET-KEY-1… or AGE-SECRET-KEY-PQ-1…)`,
      );
    }
  }

  /** The recipient (`age1…` or `age1pq1…`) this identity opens. */
  recipient(): Promise<string> {
    this.#recipient ??= identityToRecipient(this.#secret);
    return this.#recipient;
  }

  /** A decrypter holding only this identity, so the caller knows which one opened a file. */
  decrypter(): Decrypter {
    return this.#decrypter;
  }

  toJSON(): { origin: string } {
    return { origin: this.origin };
  }

  toString(): string {
    return `age identity from ${this.origin}`;
  }
}

/** What was read from one place: the identities, and those of a kind this app cannot use. */
export interface ParsedIdentities {
  readonly identities: AgeIdentity[];
  /** `AGE-PLUGIN-…` identities: valid for sops, but they need an age plugin binary. */
  readonly pluginIdentities: number;
}

/** Everything found in the environment, and why a source could not be used. */
export interface LoadedIdentities extends ParsedIdentities {
  /** One per unusable source (`identity-file-unreadable`, `malformed-identity`). */
  readonly errors: KeySourceError[];
}

/**
 * Reads an identity file or `SOPS_AGE_KEY` value. Lines that are empty or start with `#` are
 * skipped, as sops does. sops reads one identity per line; whitespace-separated identities on a
 * line are accepted too (sops-format.md §9 describes `SOPS_AGE_KEY` that way).
 *
 * @throws KeySourceError `malformed-identity` naming the origin and line, never the line itself.
 */
export function parseAgeIdentities(text: string, origin: string): ParsedIdentities {
  const identities: AgeIdentity[] = [];
  let pluginIdentities = 0;
  const lines = text.split(/\r?\n/);
  for (const [index, line] of lines.entries()) {
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    for (const token of trimmed.split(/\s+/)) {
      const where = lines.length > 1 ? `${origin} line ${index + 1}` : origin;
      if (token.startsWith('AGE-PLUGIN-')) {
        pluginIdentities++;
        continue;
      }
      identities.push(new AgeIdentity(token, where));
    }
  }
  return { identities, pluginIdentities };
}

export type Platform = NodeJS.Platform;

/**
 * sops's `getUserConfigDir`: Go's `os.UserConfigDir`, except that on macOS a set
 * `XDG_CONFIG_HOME` wins over `~/Library/Application Support`. Undefined when it cannot be known.
 */
export function userConfigDir(env: NodeJS.ProcessEnv, platform: Platform): string | undefined {
  const xdg = env.XDG_CONFIG_HOME;
  const home = env.HOME || safeHomedir();
  switch (platform) {
    case 'darwin':
      if (xdg) return xdg;
      return home ? path.join(home, 'Library', 'Application Support') : undefined;
    case 'win32':
      return env.AppData || env.APPDATA || undefined;
    default:
      if (xdg) return path.isAbsolute(xdg) ? xdg : undefined; // Go refuses a relative one.
      return home ? path.join(home, '.config') : undefined;
  }
}

export interface LoadOptions {
  readonly platform?: Platform;
  /** Reads a file as UTF-8; injectable for tests. Returns undefined when the file is absent. */
  readonly readFile?: (file: string) => string | undefined;
}

/**
 * Collects every identity sops would use from the environment, in its order: `SOPS_AGE_KEY`,
 * `SOPS_AGE_KEY_FILE`, then `<user config dir>/sops/age/keys.txt` when it exists. (SSH keys and
 * `SOPS_AGE_KEY_CMD` are not read.) Like sops, a source that cannot be read or holds a bad line
 * is left out and its error kept, and the other sources are still used: the errors matter only
 * when an age entry has to be opened, so they are reported then.
 */
export function loadAgeIdentities(env: NodeJS.ProcessEnv = process.env, options: LoadOptions = {}): LoadedIdentities {
  const readFile = options.readFile ?? readIfPresent;
  const identities: AgeIdentity[] = [];
  const errors: KeySourceError[] = [];
  let pluginIdentities = 0;

  const use = (origin: string, read: () => string | undefined) => {
    try {
      const text = read();
      if (text === undefined) return;
      const parsed = parseAgeIdentities(text, origin);
      identities.push(...parsed.identities);
      pluginIdentities += parsed.pluginIdentities;
    } catch (error) {
      if (!(error instanceof KeySourceError)) throw error;
      errors.push(error);
    }
  };

  const inline = env.SOPS_AGE_KEY;
  if (inline !== undefined) use('SOPS_AGE_KEY', () => inline);

  const keyFile = env.SOPS_AGE_KEY_FILE;
  if (keyFile !== undefined) {
    use(keyFile, () => {
      const text = readOrFail(readFile, keyFile, 'SOPS_AGE_KEY_FILE');
      if (text === undefined) {
        throw new KeySourceError('identity-file-unreadable', `SOPS_AGE_KEY_FILE: cannot read ${keyFile}: no such file`);
      }
      return text;
    });
  }

  const configDir = userConfigDir(env, options.platform ?? process.platform);
  if (configDir !== undefined) {
    const file = path.join(configDir, DEFAULT_KEY_FILE);
    // The default file is optional: its absence is not an error, as in sops.
    use(file, () => readOrFail(readFile, file, 'default age key file'));
  }

  return { identities, pluginIdentities, errors };
}

function readOrFail(
  readFile: (file: string) => string | undefined,
  file: string,
  what: string,
): string | undefined {
  try {
    return readFile(file);
  } catch (error) {
    const reason = error instanceof Error && 'code' in error ? String(error.code) : 'read failed';
    throw new KeySourceError('identity-file-unreadable', `${what}: cannot read ${file} (${reason})`, { cause: error });
  }
}

function readIfPresent(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    if (error instanceof Error && 'code' in error && error.code === 'ENOENT') return undefined;
    throw error;
  }
}

function safeHomedir(): string | undefined {
  try {
    return homedir() || undefined;
  } catch {
    return undefined;
  }
}
