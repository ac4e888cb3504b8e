import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { findSopsFiles, type SopsFileEntry } from '../../src/rekey/find-sops-files.ts';
import { VECTORS_DIR as VECTORS } from '../support/vectors.ts';

let root: string;

beforeEach(() => {
  root = mkdtempSync(path.join(tmpdir(), 'find-sops-'));
});

afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

describe('findSopsFiles with onSopsFile', () => {
  it('hands over each SOPS file once, with the bytes on disk, and nothing else', async () => {
    mkdirSync(path.join(root, 'conf'));
    copyFileSync(path.join(VECTORS, 'getsops-sops__example.yaml'), path.join(root, 'secret.yaml'));
    copyFileSync(path.join(VECTORS, 'getsops-sops__example.json'), path.join(root, 'conf/secret.json'));
    writeFileSync(path.join(root, 'broken.yaml'), 'a: [oops\nsops:\n    lastmodified: "x"\n    mac: y\n');
    writeFileSync(path.join(root, 'plain.yaml'), 'not: secret\n');

    const seen: [SopsFileEntry, Buffer][] = [];
    const scan = await findSopsFiles(root, { onSopsFile: (entry, bytes) => seen.push([entry, Buffer.from(bytes)]) });

    expect(seen.map(([entry]) => entry).sort((a, b) => (a.path < b.path ? -1 : 1))).toEqual(scan.sopsFiles);
    expect(scan.sopsFiles.map((f) => f.path)).toEqual(['conf/secret.json', 'secret.yaml']);
    for (const [entry, bytes] of seen) expect(bytes.equals(readFileSync(path.join(root, entry.path)))).toBe(true);
  });
});
