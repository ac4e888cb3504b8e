import { describe, expect, it } from 'vitest';
import { classifyChangedLine, summariseDiff } from '../../src/demo/diff.ts';

describe('classifyChangedLine', () => {
  it.each([
    ['    password: ENC[AES256_GCM,data:AbC=,iv:x,tag:y,type:str]', 'value'],
    ['  "api_key": "ENC[AES256_GCM,data:AbC=,iv:x,tag:y,type:str]",', 'value'],
    ['API_TOKEN=ENC[AES256_GCM,data:AbC=,iv:x,tag:y,type:str]', 'value'],
    ['password = ENC[AES256_GCM,data:AbC=,iv:x,tag:y,type:str]', 'value'],
    ['      enc: CiQAbCdEf==', 'enc'],
    ['        "enc": "CiQAbCdEf=="', 'enc'],
    ['sops_gcp_kms__list_0__map_enc=CiQAbCdEf==', 'enc'],
    ['age__list_0__map_enc             = -----BEGIN AGE ENCRYPTED FILE-----\\nYWdl\\n', 'enc'],
    ['        YWdlLWVuY3J5cHRpb24ub3JnL3YxCi0+IFgyNTUxOSBu', 'enc'],
    ['        -----END AGE ENCRYPTED FILE-----', 'enc'],
    ['    lastmodified: "2025-01-06T09:00:00Z"', 'lastmodified'],
    ['sops_lastmodified=2025-01-06T09:00:00Z', 'lastmodified'],
    ['    mac: ENC[AES256_GCM,data:AbC=,iv:x,tag:y,type:str]', 'mac'],
    ['\t\t"mac": "ENC[AES256_GCM,data:AbC=,iv:x,tag:y,type:str]",', 'mac'],
    ['  name: shop-db', 'other'],
    ['    resource_id: projects/demo/locations/global/keyRings/r/cryptoKeys/k', 'other'],
    ['    encrypted_regex: ^(data|stringData)$', 'other'],
  ] as const)('%s is %s', (line, kind) => {
    expect(classifyChangedLine(line)).toBe(kind);
  });
});

describe('summariseDiff', () => {
  it('counts changed lines per file and kind, taking armor lines that start with dashes as content', () => {
    const diff = [
      'diff --git a/apps/secret.yaml b/apps/secret.yaml',
      'index 1111111..2222222 100644',
      '--- a/apps/secret.yaml',
      '+++ b/apps/secret.yaml',
      '@@ -5 +5 @@ stringData:',
      '-  password: ENC[AES256_GCM,data:old=,iv:a,tag:b,type:str]',
      '+  password: ENC[AES256_GCM,data:new=,iv:c,tag:d,type:str]',
      '@@ -12,2 +12,2 @@ sops:',
      '-        -----BEGIN AGE ENCRYPTED FILE-----',
      '-        b2xk',
      '+        bmV3',
      '+        -----BEGIN AGE ENCRYPTED FILE-----',
      'diff --git a/b.env b/b.env',
      '--- a/b.env',
      '+++ b/b.env',
      '@@ -1 +1 @@',
      '-LOG_LEVEL=info',
      // A removed line whose own text starts with `---`: content, not a file header.
      '----- b/not-a-file',
      '+LOG_LEVEL=debug',
      '',
    ].join('\n');
    expect(summariseDiff(diff)).toEqual([
      { path: 'apps/secret.yaml', added: 3, removed: 3, kinds: { value: 2, enc: 4, lastmodified: 0, mac: 0, other: 0 } },
      { path: 'b.env', added: 1, removed: 2, kinds: { value: 0, enc: 0, lastmodified: 0, mac: 0, other: 3 } },
    ].sort((a, b) => (a.path < b.path ? -1 : 1)));
  });
});
