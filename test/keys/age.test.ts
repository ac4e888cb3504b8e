import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { inspect } from 'node:util';
import { armor, generateHybridIdentity, generateX25519Identity, identityToRecipient } from 'age-encryption';
import { decryptSops } from 'sops-age';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { KeySourceError } from '../../src/errors.ts';
import { AgeKeySource, ageRecipientKind } from '../../src/keys/age.ts';
import { AgeIdentity, loadAgeIdentities, parseAgeIdentities, userConfigDir } from '../../src/keys/age-identities.ts';
import type { MasterKey } from '../../src/sops/master-key.ts';

const VECTORS = path.resolve(import.meta.dirname, '../../../shared/sops-vectors');
const dataKey = Uint8Array.from(Buffer.from('9ac088cf7029981341457c39dd56dde54600dfbce9b5ede23aa65c418900ab67', 'hex'));
const ageKey = (recipient: string, enc = ''): MasterKey => ({ type: 'age', fields: { recipient, enc } });

let secretA: string;
let recipientA: string;
let secretB: string;
let recipientB: string;
let dir: string;

beforeAll(async () => {
  secretA = await generateX25519Identity();
  recipientA = await identityToRecipient(secretA);
  secretB = await generateX25519Identity();
  recipientB = await identityToRecipient(secretB);
  dir = await mkdtemp(path.join(tmpdir(), 'age-test-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** An identity file as age-keygen writes it: comment lines, then the identity. */
const keyFile = (secret: string, recipient: string) =>
  `# created: 2024-01-01T00:00:00Z\n# public key: ${recipient}\n${secret}\n`;

describe('AgeKeySource wrap and unwrap', () => {
  it('round trips a data key and reports which recipient opened it', async () => {
    const source = new AgeKeySource([secretB, secretA]);
    const { enc, evidence } = await source.wrap(ageKey(recipientA), dataKey);
    expect(evidence).toEqual({ source: 'age', recipient: recipientA });
    const opened = await source.unwrap(ageKey(recipientA, enc));
    expect(opened.plaintext).toEqual(dataKey);
    expect(opened.evidence).toEqual({ source: 'age', identity: recipientA });
  });

  it('writes the armor exactly as sops does: 64-column padded base64 and a final newline', async () => {
    const { enc } = await new AgeKeySource([]).wrap(ageKey(recipientA), dataKey);
    const lines = enc.split('\n');
    expect(lines[0]).toBe('-----BEGIN AGE ENCRYPTED FILE-----');
    expect(lines.at(-2)).toBe('-----END AGE ENCRYPTED FILE-----');
    expect(lines.at(-1)).toBe(''); // the final newline
    const body = lines.slice(1, -2);
    body.slice(0, -1).forEach((line) => expect(line).toMatch(/^[A-Za-z0-9+/]{64}$/));
    expect(body.at(-1)).toMatch(/^[A-Za-z0-9+/]{2,64}={0,2}$/);
    expect(body.at(-1)?.length).toBeLessThanOrEqual(64);
    expect((body.at(-1)?.length ?? 0) % 4).toBe(0);
    // One X25519 stanza for the one recipient, as sops writes one age file per recipient.
    const header = Buffer.from(armor.decode(enc)).toString('latin1');
    expect(header.startsWith('age-encryption.org/v1\n-> X25519 ')).toBe(true);
    expect(header.split('\n-> ').length).toBe(2);
  });

  it('uses the same armor as the age entries sops wrote in the vectors', () => {
    const doc = YAML.parse(readVector('getsops-sops-0b07dfbc5-age__example.yaml')) as {
      sops: { age: Array<{ enc: string }> };
    };
    for (const { enc } of doc.sops.age) {
      // Re-armoring the decoded bytes with the encoder wrap uses gives sops's text back exactly.
      expect(armor.encode(armor.decode(enc))).toBe(enc);
    }
  });

  it('writes entries that an independent sops decryptor (sops-age) opens', async () => {
    // The humphd vector with its age entry replaced by one we wrap for the same recipient.
    const vector = 'humphd-sops-age__tests-data-secret.enc.json';
    const doc = JSON.parse(readVector(vector)) as { sops: { age: Array<{ recipient: string; enc: string }> } };
    const expected = JSON.parse(readVector(`${vector}.expected.json`)) as { data_key_hex: string };
    const entry = doc.sops.age[0];
    if (entry === undefined) throw new Error('vector has no age entry');
    const wrapped = await new AgeKeySource([]).wrap(ageKey(entry.recipient), Buffer.from(expected.data_key_hex, 'hex'));
    expect(wrapped.enc).not.toBe(entry.enc);
    entry.enc = wrapped.enc;
    const secretKey = readVector('keys/age__humphd-sops-age__key.txt')
      .split('\n')
      .find((line) => line.startsWith('AGE-SECRET-KEY-1'));
    const plain = await decryptSops(JSON.stringify(doc), { secretKey: secretKey ?? '', fileType: 'json' });
    expect(plain).toEqual(JSON.parse(readVector('humphd-sops-age__tests-data-secret.json.plaintext')));
  });

  it('round trips to a post-quantum hybrid recipient', async () => {
    const secret = await generateHybridIdentity();
    const recipient = await identityToRecipient(secret);
    const source = new AgeKeySource([secret]);
    const { enc } = await source.wrap(ageKey(recipient), dataKey);
    expect((await source.unwrap(ageKey(recipient, enc))).plaintext).toEqual(dataKey);
  });

  it('says no-identity, naming the recipient, when no identity opens the entry', async () => {
    const { enc } = await new AgeKeySource([]).wrap(ageKey(recipientA), dataKey);
    const attempt = new AgeKeySource([secretB]).unwrap(ageKey(recipientA, enc));
    await expect(attempt).rejects.toThrow(KeySourceError);
    await expect(attempt).rejects.toMatchObject({ code: 'no-identity', category: 'user' });
    await expect(attempt).rejects.toThrow(recipientA);
    await expect(attempt).rejects.not.toThrow(/AGE-SECRET-KEY/);
  });

  it('tells a tampered entry from a missing identity', async () => {
    const source = new AgeKeySource([secretA]);
    const { enc } = await source.wrap(ageKey(recipientA), dataKey);
    const bytes = armor.decode(enc);
    bytes[bytes.length - 1] = (bytes[bytes.length - 1] ?? 0) ^ 1;
    await expect(source.unwrap(ageKey(recipientA, armor.encode(bytes)))).rejects.toMatchObject({ code: 'corrupt-enc' });
    await expect(source.unwrap(ageKey(recipientA, 'not armor'))).rejects.toMatchObject({ code: 'malformed-enc' });
  });

  it('refuses recipients it cannot encrypt to with a typed error', async () => {
    const source = new AgeKeySource([]);
    const ssh = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeKeyForTestsOnly user@host';
    const plugin = 'age1yubikey1qwqzyq7ylnyhkg0dagmp37muqsw3ylkzhd8lh0pqv72jrn4dn6pnj6cgugqq';
    await expect(source.wrap(ageKey(ssh), dataKey)).rejects.toMatchObject({ code: 'unsupported-recipient' });
    await expect(source.wrap(ageKey(plugin), dataKey)).rejects.toMatchObject({ code: 'unsupported-recipient' });
    const badChecksum = `${recipientA.slice(0, -1)}${recipientA.endsWith('q') ? 'p' : 'q'}`;
    await expect(source.wrap(ageKey(badChecksum), dataKey)).rejects.toMatchObject({ code: 'invalid-recipient' });
  });

  it('classifies recipients as sops does', () => {
    expect(ageRecipientKind(recipientA)).toBe('x25519');
    expect(ageRecipientKind('age1pq1abc')).toBe('pq');
    expect(ageRecipientKind('age1yubikey1abc')).toBe('plugin');
    expect(ageRecipientKind('ssh-rsa AAAA')).toBe('ssh');
    expect(ageRecipientKind('npub1abc')).toBe('unknown');
  });
});

describe('age identities', () => {
  it('skips comments and empty lines, and accepts several identities separated by whitespace', () => {
    const text = `# a comment\n\n${secretA}\n   \n${secretB} ${secretA}\n`;
    const { identities } = parseAgeIdentities(text, 'SOPS_AGE_KEY');
    expect(identities).toHaveLength(3);
  });

  it('rejects a malformed line without echoing it', () => {
    const leaked = `AGE-SECRET-KEY-1${'Q'.repeat(58)}`;
    const parse = () => parseAgeIdentities(`# ok\n${leaked}\n`, '/keys.txt');
    expect(parse).toThrow(KeySourceError);
    expect(parse).toThrow(/\/keys\.txt line 2/);
    try {
      parse();
    } catch (error) {
      expect((error as KeySourceError).code).toBe('malformed-identity');
      expect((error as Error).message).not.toContain(leaked);
      expect((error as Error).message).not.toContain('QQQQ');
    }
  });

  it('counts plugin identities instead of failing on them', () => {
    const parsed = parseAgeIdentities(`AGE-PLUGIN-YUBIKEY-1QQQ\n${secretA}\n`, 'file');
    expect(parsed.identities).toHaveLength(1);
    expect(parsed.pluginIdentities).toBe(1);
  });

  it('never shows the secret when an identity is logged or serialised', async () => {
    const identity = new AgeIdentity(secretA, 'SOPS_AGE_KEY');
    expect(inspect(identity, { depth: 5 })).not.toContain(secretA);
    expect(JSON.stringify(identity)).not.toContain(secretA);
    expect(String(identity)).not.toContain(secretA);
    expect(await identity.recipient()).toBe(recipientA);
  });

  it('collects SOPS_AGE_KEY, SOPS_AGE_KEY_FILE and $XDG_CONFIG_HOME/sops/age/keys.txt, in that order', async () => {
    const secretC = await generateX25519Identity();
    const recipientC = await identityToRecipient(secretC);
    const xdg = path.join(dir, 'xdg');
    await mkdir(path.join(xdg, 'sops', 'age'), { recursive: true });
    await writeFile(path.join(xdg, 'sops', 'age', 'keys.txt'), keyFile(secretC, recipientC));
    const explicit = path.join(dir, 'explicit.txt');
    await writeFile(explicit, keyFile(secretB, recipientB));

    const env = { SOPS_AGE_KEY: secretA, SOPS_AGE_KEY_FILE: explicit, XDG_CONFIG_HOME: xdg, HOME: '/nonexistent' };
    const { identities } = loadAgeIdentities(env, { platform: 'linux' });
    expect(await Promise.all(identities.map((i) => i.recipient()))).toEqual([recipientA, recipientB, recipientC]);
    expect(identities.map((i) => i.origin)).toEqual([
      'SOPS_AGE_KEY',
      `${explicit} line 3`,
      `${path.join(xdg, 'sops', 'age', 'keys.txt')} line 3`,
    ]);
  });

  it('reads the default key file under ~/.config when XDG_CONFIG_HOME is unset, and unwraps with it', async () => {
    const home = path.join(dir, 'home');
    await mkdir(path.join(home, '.config', 'sops', 'age'), { recursive: true });
    await writeFile(path.join(home, '.config', 'sops', 'age', 'keys.txt'), keyFile(secretB, recipientB));
    const { enc } = await new AgeKeySource([]).wrap(ageKey(recipientB), dataKey);
    const source = AgeKeySource.fromEnvironment({ HOME: home }, { platform: 'linux' });
    expect(source.identityCount).toBe(1);
    expect((await source.unwrap(ageKey(recipientB, enc))).plaintext).toEqual(dataKey);
  });

  it('finds no identities, without failing, when only an absent default file is configured', () => {
    const source = AgeKeySource.fromEnvironment({ HOME: path.join(dir, 'nobody') }, { platform: 'linux' });
    expect(source.identityCount).toBe(0);
  });

  it('reports a missing SOPS_AGE_KEY_FILE when an entry has to be opened, not before', async () => {
    const env = { SOPS_AGE_KEY_FILE: path.join(dir, 'missing.txt'), HOME: dir };
    expect(loadAgeIdentities(env, { platform: 'linux' }).errors.map((e) => e.code)).toEqual(['identity-file-unreadable']);
    const source = AgeKeySource.fromEnvironment(env, { platform: 'linux' });
    const { enc } = await source.wrap(ageKey(recipientA), dataKey);
    const attempt = source.unwrap(ageKey(recipientA, enc));
    await expect(attempt).rejects.toMatchObject({ code: 'identity-file-unreadable' });
    await expect(attempt).rejects.toThrow(/missing\.txt/);
  });

  it('still uses the other sources when one holds a malformed line, as sops does', async () => {
    const bad = path.join(dir, 'bad.txt');
    await writeFile(bad, 'AGE-SECRET-KEY-1NOTAKEY\n');
    const env = { SOPS_AGE_KEY: secretA, SOPS_AGE_KEY_FILE: bad, HOME: path.join(dir, 'nobody') };
    const source = AgeKeySource.fromEnvironment(env, { platform: 'linux' });
    const { enc } = await source.wrap(ageKey(recipientA), dataKey);
    expect((await source.unwrap(ageKey(recipientA, enc))).plaintext).toEqual(dataKey);
    // An entry none of the good identities opens names the bad source too, without its content.
    const other = await source.wrap(ageKey(recipientB), dataKey);
    const attempt = source.unwrap(ageKey(recipientB, other.enc));
    await expect(attempt).rejects.toMatchObject({ code: 'no-identity' });
    await expect(attempt).rejects.toThrow(/bad\.txt line 1: not a valid age identity/);
    await expect(attempt).rejects.not.toThrow(/NOTAKEY/);
  });

  it('puts the user config dir where Go and sops do on each platform', () => {
    expect(userConfigDir({ HOME: '/home/u' }, 'linux')).toBe('/home/u/.config');
    expect(userConfigDir({ HOME: '/home/u', XDG_CONFIG_HOME: '/cfg' }, 'linux')).toBe('/cfg');
    expect(userConfigDir({ HOME: '/home/u', XDG_CONFIG_HOME: 'relative' }, 'linux')).toBeUndefined();
    expect(userConfigDir({ HOME: '/Users/u' }, 'darwin')).toBe('/Users/u/Library/Application Support');
    // sops's getUserConfigDir lets XDG_CONFIG_HOME win on macOS, unlike Go's os.UserConfigDir.
    expect(userConfigDir({ HOME: '/Users/u', XDG_CONFIG_HOME: '/cfg' }, 'darwin')).toBe('/cfg');
  });
});

function readVector(name: string): string {
  return readFileSync(path.join(VECTORS, name), 'utf8');
}
