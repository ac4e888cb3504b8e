import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sniffSops } from '../../src/rekey/sniff.ts';
import type { StoreFormat } from '../../src/sops/store.ts';
import { VECTORS_DIR as VECTORS } from '../support/vectors.ts';

const names = readdirSync(VECTORS);
const vectors = names.filter((name) => names.includes(`${name}.expected.json`));

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);
/** The store a file is a SOPS file of, or null (plain, or markers that do not parse). */
const sniffSopsFormat = (content: Uint8Array, path: string): StoreFormat | null => {
  const result = sniffSops(content, path);
  return result.kind === 'sops' ? result.format : null;
};

describe('sniffSopsFormat on real sops files', () => {
  it('finds every vector', () => {
    expect(vectors.length).toBeGreaterThan(20);
  });

  it.each(vectors)('%s is detected with the store its expected.json names', (name) => {
    const expected = JSON.parse(readFileSync(join(VECTORS, `${name}.expected.json`), 'utf8')) as {
      format: string;
    };
    const content = readFileSync(join(VECTORS, name));
    expect(sniffSopsFormat(content, name)).toBe(expected.format);
    // Content decides, not the name.
    expect(sniffSopsFormat(content, 'renamed/secret.dat')).toBe(expected.format);
  });

  it('the decrypted plaintext next to a vector is not a sops file', () => {
    const plain = readFileSync(join(VECTORS, 'humphd-sops-age__tests-data-secret.json.plaintext'));
    expect(sniffSopsFormat(plain, 'secret.json')).toBeNull();
  });
});

describe('sniffSopsFormat on look-alikes', () => {
  const metadataYaml = [
    'sops:',
    '    lastmodified: "2024-01-01T00:00:00Z"',
    '    mac: ENC[AES256_GCM,data:x,iv:y,tag:z,type:str]',
    '    version: 3.13.2',
  ].join('\n');

  it('a YAML file whose sops key is a setting, not metadata', () => {
    const text = 'sops:\n  enabled: true\n  lastmodified: never\nimage: app\n';
    expect(sniffSops(bytes(text), 'values.yaml')).toEqual({ kind: 'plain' });
  });

  it('a YAML file whose sops mapping is nested, not top-level', () => {
    const text = `config:\n${metadataYaml.replace(/^/gm, '  ')}\n`;
    expect(sniffSopsFormat(bytes(text), 'values.yaml')).toBeNull();
  });

  it('metadata in the second YAML document only does not count', () => {
    const text = `a: 1\n---\nb: 2\n${metadataYaml}\n`;
    expect(sniffSopsFormat(bytes(text), 'x.yaml')).toBeNull();
  });

  it('multi-document YAML with metadata in the first document is yaml', () => {
    const text = `a: ENC[x]\n${metadataYaml}\n---\nb: ENC[y]\n${metadataYaml}\n`;
    expect(sniffSopsFormat(bytes(text), 'x.yaml')).toBe('yaml');
  });

  it('a YAML file with the markers that does not parse is reported as malformed', () => {
    const text = `a: [unclosed\n${metadataYaml}\n`;
    expect(sniffSops(bytes(text), 'x.yaml')).toMatchObject({ kind: 'malformed', format: 'yaml' });
    expect(sniffSopsFormat(bytes(text), 'x.yaml')).toBeNull();
  });

  it('JSON with a sops key that is not metadata', () => {
    const text = JSON.stringify({ sops: { lastmodified: 'x' }, name: 'tool config' });
    expect(sniffSopsFormat(bytes(text), 'package.json')).toBeNull();
  });

  it('JSON with only data and sops is the binary store, with more keys the JSON store', () => {
    const sops = { lastmodified: '2024-01-01T00:00:00Z', mac: 'ENC[x]', version: '3.13.2' };
    expect(sniffSopsFormat(bytes(JSON.stringify({ data: 'ENC[x]', sops })), 'a.json')).toBe('binary');
    expect(sniffSopsFormat(bytes(JSON.stringify({ data: 'ENC[x]', more: 'ENC[y]', sops })), 'a')).toBe(
      'json',
    );
    expect(sniffSopsFormat(bytes(JSON.stringify({ data: { k: 'ENC[x]' }, sops })), 'a')).toBe('json');
  });

  it('dotenv needs both sops_lastmodified and sops_mac at the start of a line', () => {
    expect(sniffSopsFormat(bytes('A=1\nsops_lastmodified=2024\nsops_mac=ENC[x]\n'), '.env')).toBe(
      'dotenv',
    );
    expect(sniffSopsFormat(bytes('A=1\nsops_lastmodified=2024\n'), '.env')).toBeNull();
    expect(sniffSopsFormat(bytes('# sops_lastmodified=2024\n# sops_mac=x\n'), '.env')).toBeNull();
  });

  it('INI needs a [sops] section holding lastmodified and mac', () => {
    const ini = '[app]\nkey = ENC[x]\n\n[sops]\nlastmodified = 2024\nmac = ENC[y]\n';
    expect(sniffSopsFormat(bytes(ini), 'a.ini')).toBe('ini');
    const elsewhere = '[sops]\nurl = https://x\n\n[other]\nlastmodified = 2024\nmac = 1\n';
    expect(sniffSopsFormat(bytes(elsewhere), 'a.ini')).toBeNull();
  });

  it('plain text that only mentions the words', () => {
    const text = 'The sops: metadata holds lastmodified and mac.\nsops_mac= is a dotenv key.\n';
    expect(sniffSopsFormat(bytes(text), 'README.md')).toBeNull();
  });

  it('binary garbage, even holding the markers', () => {
    const garbage = new Uint8Array(4096).map((_, i) => (i * 7919) % 256);
    expect(sniffSopsFormat(garbage, 'blob.bin')).toBeNull();
    const withMarkers = new Uint8Array([0, ...bytes(`\n${metadataYaml}\n`)]);
    expect(sniffSopsFormat(withMarkers, 'x.yaml')).toBeNull();
    const invalidUtf8 = new Uint8Array([0xff, 0xfe, ...bytes(`\n${metadataYaml}\n`)]);
    expect(sniffSopsFormat(invalidUtf8, 'x.yaml')).toBeNull();
  });
});
