import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  compareWithRule,
  loadSopsConfigs,
  matchCreationRule,
  nearestSopsConfig,
  parseSopsConfig,
  SopsConfig,
  SopsConfigError,
} from '../../src/rekey/sops-config.ts';

const KEY_A = 'projects/p/locations/global/keyRings/r/cryptoKeys/a';
const KEY_B = 'projects/p/locations/global/keyRings/r/cryptoKeys/b';
const KEY_C = 'projects/p/locations/europe-west1/keyRings/r/cryptoKeys/c';

const CONFIG = `
creation_rules:
  - path_regex: prod/.*\\.enc\\.yaml$
    gcp_kms: ${KEY_A}, ${KEY_B}
    age: age1aaa
  - path_regex: (?i)\\.ENC\\.json$
    gcp_kms:
      - ${KEY_C}
  - path_regex: shared/
    key_groups:
      - gcp_kms:
          - resource_id: ${KEY_A}
        merge:
          - age: [age1bbb]
            gcp_kms:
              - resource_id: ${KEY_B}
      - pgp: [FBC7B9E2A4F9289AC0C1D4843D16CEE4A27381B4]
        gcp_kms:
          - resource_id: ${KEY_C}
    shamir_threshold: 2
    age: age1ignored
  - pgp: ABCDEF
`;

function expectConfigError(text: string, code: string): SopsConfigError {
  try {
    parseSopsConfig(text, 'apps/.sops.yaml');
  } catch (error) {
    expect(error).toBeInstanceOf(SopsConfigError);
    const typed = error as SopsConfigError;
    expect(typed.code).toBe(code);
    expect(typed.file).toBe('apps/.sops.yaml');
    return typed;
  }
  throw new Error('expected a SopsConfigError');
}

describe('parseSopsConfig and matchCreationRule', () => {
  const config = parseSopsConfig(CONFIG, '.sops.yaml');

  it('the first matching rule wins, with its Cloud KMS keys', () => {
    const rule = matchCreationRule(config, 'prod/db.enc.yaml');
    expect(rule?.index).toBe(0);
    expect(rule?.gcpKmsKeys).toEqual([KEY_A, KEY_B]);
    expect(rule?.keyGroups).toEqual([
      [
        { type: 'age', id: 'age1aaa' },
        { type: 'gcp_kms', id: KEY_A },
        { type: 'gcp_kms', id: KEY_B },
      ],
    ]);
  });

  it('a key field may be a list, and the (?i) flag applies', () => {
    expect(matchCreationRule(config, 'dev/app.enc.JSON')?.gcpKmsKeys).toEqual([KEY_C]);
  });

  it('key_groups replace the flat fields, merge pulls nested keys in first', () => {
    const rule = matchCreationRule(config, 'shared/x.yaml');
    expect(rule?.index).toBe(2);
    expect(rule?.shamirThreshold).toBe(2);
    expect(rule?.keyGroups).toEqual([
      [
        { type: 'age', id: 'age1bbb' },
        { type: 'gcp_kms', id: KEY_B },
        { type: 'gcp_kms', id: KEY_A },
      ],
      [
        { type: 'pgp', id: 'FBC7B9E2A4F9289AC0C1D4843D16CEE4A27381B4' },
        { type: 'gcp_kms', id: KEY_C },
      ],
    ]);
    expect(rule?.gcpKmsKeys).toEqual([KEY_B, KEY_A, KEY_C]);
  });

  it('a rule without path_regex catches everything else', () => {
    const rule = matchCreationRule(config, 'README.enc.txt');
    expect(rule?.index).toBe(3);
    expect(rule?.gcpKmsKeys).toEqual([]);
  });

  it('the regex sees the path relative to the config directory', () => {
    const nested = parseSopsConfig('creation_rules:\n  - path_regex: ^prod/\n    gcp_kms: k\n', 'clusters/.sops.yaml');
    expect(nested.dir).toBe('clusters');
    expect(matchCreationRule(nested, 'clusters/prod/s.yaml')?.gcpKmsKeys).toEqual(['k']);
    expect(matchCreationRule(nested, 'prod/s.yaml')).toBeNull();
    expect(matchCreationRule(nested, 'clusters/dev/s.yaml')).toBeNull();
  });

  it('a config without creation_rules matches nothing', () => {
    expect(matchCreationRule(parseSopsConfig('stores:\n  yaml:\n    indent: 2\n', '.sops.yaml'), 'a.yaml')).toBeNull();
    expect(matchCreationRule(parseSopsConfig('', '.sops.yaml'), 'a.yaml')).toBeNull();
  });

  it('the exported schema validates the same document', () => {
    const parsed = SopsConfig.parse({ creation_rules: [{ gcp_kms: 'a,b' }], unknown_top: 1 });
    expect(parsed.creation_rules?.[0]?.gcp_kms).toBe('a,b');
  });
});

describe('parseSopsConfig errors name the field and the reason', () => {
  it('bad YAML', () => {
    expectConfigError('creation_rules: [\n', 'invalid-yaml');
  });

  it('gcp_kms in a key group must be objects with resource_id', () => {
    const error = expectConfigError(
      'creation_rules:\n  - key_groups:\n      - gcp_kms: [projects/p/x]\n',
      'invalid-config',
    );
    expect(error.message).toContain('creation_rules[0].key_groups[0].gcp_kms[0]');
    expect(error.describe()).toMatch(/^apps\/\.sops\.yaml: /);
  });

  it('more than one selector in a rule', () => {
    const error = expectConfigError(
      'creation_rules:\n  - encrypted_regex: ^data$\n    unencrypted_suffix: _clear\n',
      'invalid-config',
    );
    expect(error.message).toContain('at most one of');
  });

  it('a path_regex JavaScript cannot express', () => {
    const error = expectConfigError('creation_rules:\n  - path_regex: (?U)a+\n', 'unsupported-regex');
    expect(error.message).toContain('creation_rules[0].path_regex');
  });
});

describe('nearestSopsConfig', () => {
  const configs = ['.sops.yaml', 'clusters/.sops.yaml', 'clusters/prod/apps/.sops.yaml'];

  it.each([
    ['clusters/prod/apps/x.yaml', 'clusters/prod/apps/.sops.yaml'],
    ['clusters/prod/x.yaml', 'clusters/.sops.yaml'],
    ['clusters/x.yaml', 'clusters/.sops.yaml'],
    ['other/deep/x.yaml', '.sops.yaml'],
    ['x.yaml', '.sops.yaml'],
  ])('%s is governed by %s', (file, expected) => {
    expect(nearestSopsConfig(file, configs)).toBe(expected);
  });

  it('none above the file', () => {
    expect(nearestSopsConfig('apps/x.yaml', ['other/.sops.yaml'])).toBeNull();
  });
});

describe('compareWithRule', () => {
  it('names the keys missing from the file and the extra ones', () => {
    expect(compareWithRule([KEY_A, KEY_C], { gcpKmsKeys: [KEY_A, KEY_B] })).toEqual({
      missing: [KEY_B],
      extra: [KEY_C],
      same: false,
    });
  });

  it('the same keys in another order are the same', () => {
    expect(compareWithRule([KEY_B, KEY_A], { gcpKmsKeys: [KEY_A, KEY_B] }).same).toBe(true);
  });
});

describe('loadSopsConfigs', () => {
  let root: string | undefined;
  afterEach(() => {
    if (root !== undefined) rmSync(root, { recursive: true, force: true });
  });

  it('loads every .sops.yaml, keeps a broken one as its error, ignores .sops.yml', async () => {
    root = mkdtempSync(path.join(tmpdir(), 'sops-config-'));
    mkdirSync(path.join(root, 'a'));
    mkdirSync(path.join(root, 'b'));
    writeFileSync(path.join(root, '.sops.yaml'), CONFIG);
    writeFileSync(path.join(root, 'a/.sops.yaml'), 'creation_rules: 7\n');
    writeFileSync(path.join(root, 'b/.sops.yml'), CONFIG);
    const configs = await loadSopsConfigs(root, ['.sops.yaml', 'a/.sops.yaml', 'b/.sops.yml', 'x.yaml']);
    expect([...configs.keys()]).toEqual(['.sops.yaml', 'a/.sops.yaml']);
    expect(configs.get('a/.sops.yaml')).toBeInstanceOf(SopsConfigError);
    const rootConfig = configs.get('.sops.yaml');
    expect(rootConfig instanceof SopsConfigError ? null : rootConfig?.rules.length).toBe(4);
  });
});
