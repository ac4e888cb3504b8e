import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recoverDataKey } from '../../src/keys/data-key.ts';
import { decryptFile, rewrapFile, rotateFile } from '../../src/rekey/transform.ts';
import { decryptTree, leafRuleFor } from '../../src/sops/crypt.ts';
import { readSopsFile } from '../../src/sops/sops-file.ts';
import { walkTree } from '../../src/sops/walk.ts';
import { plaintextBytes } from '../../src/sops/values.ts';
import { loadVectors, vectorKeys, type VectorKeys } from '../support/vectors.ts';

/**
 * Every file the real sops wrote in ../shared/sops-vectors decrypts to its expected plaintext with
 * the MAC verified, and rotates and rewraps to a file that decrypts again to the same plaintext.
 */

const vectors = loadVectors();
let keys: VectorKeys;
beforeAll(async () => {
  keys = await vectorKeys();
});
afterAll(async () => keys?.cleanup());

function decryptedLeaves(bytes: Uint8Array, name: string, dataKey: Uint8Array, ignoreMac: boolean) {
  const file = readSopsFile(bytes, name);
  decryptTree(file.loaded.tree, dataKey, file.metadata, file.format, { ignoreMac });
  const leaves: { aad: string; encrypted: boolean; type: string; plaintext: string }[] = [];
  const comments: { aad: string; plaintext: string }[] = [];
  walkTree(file.loaded.tree, leafRuleFor(file.format, file.metadata), {
    scalar: (node, visit) =>
      leaves.push({ aad: visit.aad, encrypted: visit.encrypt, type: node.value.type, plaintext: Buffer.from(plaintextBytes(node.value)).toString('utf8') }),
    comment: (node, visit) => {
      if (visit.encrypt) comments.push({ aad: visit.aad, plaintext: node.text });
    },
  });
  return { leaves, comments };
}

describe.each(vectors.map((v) => [v.name, v] as const))('vector %s', (name, vector) => {
  const hasMac = vector.expected.mac_matches !== null;

  it('unwraps the data key and decrypts every value to its expected plaintext, MAC verified', async () => {
    const bytes = await readFile(vector.file);
    const file = readSopsFile(bytes, name);
    const { dataKey } = await recoverDataKey(file.metadata, keys.sources);
    expect(Buffer.from(dataKey).toString('hex')).toBe(vector.expected.data_key_hex);

    const { leaves, comments } = decryptedLeaves(bytes, name, dataKey, !hasMac);
    const encrypted = leaves.filter((leaf) => leaf.encrypted && leaf.plaintext !== '');
    const expectedEncrypted = vector.expected.leaves.filter((leaf) => leaf.encrypted && leaf.plaintext !== '');
    expect(encrypted.map(({ aad, type, plaintext }) => ({ aad, type: type === 'bytes' ? 'str' : type, plaintext }))).toEqual(
      expectedEncrypted.map(({ aad, type, plaintext }) => ({ aad, type, plaintext })),
    );
    // Nulls are listed in the expected leaves but are never visited (sops-format.md §1.4).
    expect(leaves.length).toBe(vector.expected.leaves.filter((leaf) => leaf.encrypted || leaf.cleartext_value !== null).length);
    const expectedComments = vector.expected.encrypted_comments ?? [];
    for (const comment of expectedComments) expect(comments).toContainEqual({ aad: comment.aad, plaintext: comment.plaintext });
  });

  it.runIf(hasMac)('rotates to a new data key and decrypts again to the same plaintext', async () => {
    const bytes = await readFile(vector.file);
    const before = await decryptFile(bytes, name, keys.sources);
    const rotated = await rotateFile(bytes, name, keys.sources).catch((error: Error) => error);
    if (rotated instanceof Error) {
      // Only a file holding a key this machine cannot wrap may refuse, and it must say which.
      expect(rotated.message).toMatch(/cannot wrap|no .* key source|public key/i);
      return;
    }
    const file = readSopsFile(rotated.bytes, name);
    const { dataKey } = await recoverDataKey(file.metadata, keys.sources);
    expect(Buffer.from(dataKey).toString('hex')).not.toBe(vector.expected.data_key_hex);
    expect(Buffer.from(await decryptFile(rotated.bytes, name, keys.sources))).toEqual(Buffer.from(before));
  });

  it.runIf(hasMac)('rewraps the same data key and keeps every value byte for byte', async () => {
    const bytes = await readFile(vector.file);
    const rewrapped = await rewrapFile(bytes, name, keys.sources);
    const file = readSopsFile(rewrapped.bytes, name);
    const { dataKey } = await recoverDataKey(file.metadata, keys.sources);
    expect(Buffer.from(dataKey).toString('hex')).toBe(vector.expected.data_key_hex);
    expect(Buffer.from(await decryptFile(rewrapped.bytes, name, keys.sources))).toEqual(Buffer.from(await decryptFile(bytes, name, keys.sources)));
  });

  it.runIf(!hasMac)('refuses to rotate a file that has no MAC', async () => {
    await expect(rotateFile(await readFile(vector.file), name, keys.sources)).rejects.toMatchObject({ code: 'no-mac', file: name });
  });
});
