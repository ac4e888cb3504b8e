import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { messageRecipients } from '../../src/keys/pgp-packets.ts';
import { decryptingKey, parseGpgOutput, recipientKeyIds, summariseLog } from '../../src/keys/pgp-status.ts';

const VECTORS = path.resolve(import.meta.dirname, '../../../shared/sops-vectors');

function pgpEntries(vector: string): string[] {
  const doc = YAML.parse(readFileSync(path.join(VECTORS, vector), 'utf8')) as { sops: { pgp: Array<{ enc: string }> } };
  return doc.sops.pgp.map((entry) => entry.enc);
}

describe('messageRecipients', () => {
  it('reads the recipient key id of new-format packets (sops 3.10 / Go openpgp)', () => {
    // getsops example.yaml: FT key 1's encryption subkey, then FT key 2's.
    expect(pgpEntries('getsops-sops__example.yaml').map(messageRecipients)).toEqual([
      ['25294A17CD90507F'],
      ['5C5525B581705783'],
    ]);
  });

  it('reads old-format packets (sops 3.2 through gpg) and a hidden recipient', () => {
    expect(pgpEntries('carlpett-terraform-provider-sops__test-fixtures-basic.yaml').map(messageRecipients)).toEqual([
      ['F15D3C50575B206E'],
    ]);
    // terragrunt's file was written with a wildcard key id (throw-keyids).
    expect(pgpEntries('gruntwork-io-terragrunt__test-fixtures-sops-secrets.yaml').map(messageRecipients)).toEqual([
      ['0000000000000000'],
    ]);
  });

  it('refuses text that is not an armored message', () => {
    expect(() => messageRecipients('hello')).toThrow(expect.objectContaining({ code: 'malformed-enc' }));
  });
});

describe('gpg status parsing', () => {
  const stderr = [
    '[GNUPG:] ENC_TO 0000000000000000 1 0',
    "gpg: error getting version from 'scdaemon': No SmartCard daemon",
    '[GNUPG:] KEY_CONSIDERED 3EF98802EEDCAF0C688B81F419546E0C123C664E 0',
    '[GNUPG:] DECRYPTION_KEY F49CE128C876C0F4B73D4CF64B17CCC82911A6E0 3EF98802EEDCAF0C688B81F419546E0C123C664E -',
    '[GNUPG:] DECRYPTION_OKAY',
    'gpg: decryption failed: something',
  ].join('\n');

  it('names the primary key that decrypted, and hidden recipients as such', () => {
    const out = parseGpgOutput(stderr);
    expect(decryptingKey(out)).toBe('3EF98802EEDCAF0C688B81F419546E0C123C664E');
    expect(recipientKeyIds(out)).toEqual(['hidden']);
  });

  it('falls back to the single ENC_TO key id on a gpg without DECRYPTION_KEY', () => {
    expect(decryptingKey(parseGpgOutput('[GNUPG:] ENC_TO 25294A17CD90507F 1 0\n'))).toBe('25294A17CD90507F');
  });

  it('summarises the log without status lines or the smartcard noise', () => {
    expect(summariseLog(parseGpgOutput(stderr))).toBe('decryption failed: something');
  });
});
