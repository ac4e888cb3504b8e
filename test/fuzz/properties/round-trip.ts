/**
 * Property 2: a random plaintext document encrypted by `encryptFile` decrypts to the same
 * document; so do its rotated and rewrapped forms; and the printed plaintext is a fixed point
 * (encrypting and decrypting it again gives the same bytes). Also: no secret shows in clear text
 * in the encrypted file.
 */
import { deepStrictEqual, ok } from 'node:assert/strict';
import fc from 'fast-check';
import { decryptFile, encryptFile, rewrapFile, rotateFile } from '../../../src/rekey/transform.ts';
import { storeFor } from '../../../src/sops/sops-file.ts';
import type { StoreFormat } from '../../../src/sops/store.ts';
import { CANARY, documentArbs, FILE_NAMES, type PlainDocument } from '../support/documents.ts';
import { ageGroup, freshAgeKey } from '../support/keys.ts';
import { newStats, runCase, type FuzzStats } from '../support/outcome.ts';
import { asReadBack, decryptedShape, shapeOfModel, shapeOfTree } from '../support/shape.ts';

export interface FuzzRun {
  readonly runs: number;
  readonly seed?: number;
}

const NOW = new Date('2026-01-02T03:04:05Z');

/**
 * Printing is idempotent: encrypting and decrypting the printed text gives it back. One extra
 * step is allowed where Go's printing drops a type (float `-0` prints as `-0`, which reads back as
 * int 0, so it prints `0` next time); after that the text must not move.
 */
async function expectFixedPoint(printed: Uint8Array, cycle: (bytes: Uint8Array) => Promise<Uint8Array>): Promise<void> {
  const second = await cycle(printed);
  if (Buffer.from(second).equals(printed)) return;
  deepStrictEqual(Buffer.from(await cycle(second)), Buffer.from(second), 'the printed plaintext reaches a fixed point in one step');
}

export async function fuzzRoundTrip(format: StoreFormat, { runs, seed }: FuzzRun): Promise<FuzzStats> {
  const stats = newStats(`round trip ${format}`);
  const key = await freshAgeKey();
  const name = FILE_NAMES[format];
  const store = storeFor(format);
  const options = { keyGroups: ageGroup(key.recipient), now: NOW };

  const property = fc.asyncProperty(documentArbs[format], async (doc: PlainDocument) => {
    const result = await runCase(stats, [CANARY], async () => {
      const parsed = store.parsePlain(doc.bytes);
      const source = shapeOfTree(parsed.tree, format);
      if (format !== 'binary') {
        deepStrictEqual(source.branches, shapeOfModel(doc.branches), 'the store reads the generated text as the generated document');
        deepStrictEqual(source.comments, doc.comments, 'the store reads every generated comment');
      }

      const encrypted = (await encryptFile(doc.bytes, name, key.sources, options)).bytes;
      ok(!Buffer.from(encrypted).includes(CANARY), 'no secret stands in clear text in the encrypted file');
      deepStrictEqual(await decryptedShape(encrypted, name, key.sources), source, 'the decrypted tree is the plaintext tree');

      const printed = await decryptFile(encrypted, name, key.sources);
      if (format === 'binary') deepStrictEqual(Buffer.from(printed), Buffer.from(doc.bytes), 'binary plaintext comes back byte for byte');
      else {
        const reread = shapeOfTree(store.parsePlain(printed).tree, format);
        deepStrictEqual(reread.branches.map(asReadBack), source.branches.map(asReadBack), 'the printed plaintext reads back as the document');
        deepStrictEqual(reread.comments, source.comments, 'the printed plaintext keeps every comment');
      }

      await expectFixedPoint(printed, async (bytes) => decryptFile((await encryptFile(bytes, name, key.sources, options)).bytes, name, key.sources));

      const rotated = (await rotateFile(encrypted, name, key.sources, { now: NOW })).bytes;
      deepStrictEqual(Buffer.from(await decryptFile(rotated, name, key.sources)), Buffer.from(printed), 'rotate keeps the document');
      const rewrapped = (await rewrapFile(encrypted, name, key.sources)).bytes;
      deepStrictEqual(Buffer.from(await decryptFile(rewrapped, name, key.sources)), Buffer.from(printed), 'rewrap keeps the document');
    });
    // A valid document must never be refused.
    if (!result.ok) throw new Error(`a valid ${format} document was refused: ${result.error.name} ${result.error.code}: ${result.error.message}`);
  });
  await fc.assert(property, { numRuns: runs, ...(seed === undefined ? {} : { seed }) });
  return stats;
}
