import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SopsFormatError, SopsIntegrityError } from '../../src/errors.ts';
import { dataKeyObject, EncTexts, newDataKey, openEncText, openEncValue, parseEncValue, sealEncValue } from '../../src/sops/cipher.ts';

/** The reading of `ENC[...]` as sops-format.md §1 states it: one greedy pattern, strict base64. */
function reference(text: string): { data: string; iv: string; tag: string; type: string } | 'malformed' | 'not-base64' | 'bad-tag' | 'empty-iv' {
  const match = /^ENC\[AES256_GCM,data:(.+),iv:(.+),tag:(.+),type:(.+)\]/s.exec(text);
  if (!match) return 'malformed';
  const [, data, iv, tag, type] = match as unknown as [string, string, string, string, string];
  const base64 = (s: string) => s.length % 4 === 0 && /^[A-Za-z0-9+/]*={0,2}$/.test(s);
  if (![data, iv, tag].every(base64)) return 'not-base64';
  if (Buffer.from(tag, 'base64').length !== 16) return 'bad-tag';
  if (Buffer.from(iv, 'base64').length === 0) return 'empty-iv';
  return { data, iv, tag, type };
}

function parsed(text: string): ReturnType<typeof reference> {
  try {
    const value = parseEncValue(text, 'a:b:');
    const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');
    return { data: b64(value.data), iv: b64(value.iv), tag: b64(value.tag), type: value.type };
  } catch (error) {
    if (!(error instanceof SopsFormatError)) throw error;
    expect(error.message).toMatch(/^encrypted value at a:b: /);
    if (/not valid base64/.test(error.message)) return 'not-base64';
    if (/-byte tag/.test(error.message)) return 'bad-tag';
    if (/empty IV/.test(error.message)) return 'empty-iv';
    return 'malformed';
  }
}

describe('ENC[...] values', () => {
  it('read back what they were sealed with, under the same key and AAD only', () => {
    const key = dataKeyObject(newDataKey());
    const sealed = sealEncValue(Buffer.from('s3cret'), 'str', key, 'db:password:');
    expect(sealed).toMatch(/^ENC\[AES256_GCM,data:[A-Za-z0-9+/=]+,iv:[A-Za-z0-9+/=]{44},tag:[A-Za-z0-9+/=]{24},type:str\]$/);
    const value = parseEncValue(sealed, 'db:password:');
    expect(Buffer.from(openEncValue(value, key, 'db:password:')).toString()).toBe('s3cret');
    expect(() => openEncValue(value, key, 'db:user:')).toThrow(SopsIntegrityError);
    expect(() => openEncValue(value, dataKeyObject(newDataKey()), 'db:password:')).toThrow(SopsIntegrityError);
    // A truncated tag (which GCM itself would accept) is refused, however the value was made.
    expect(() => openEncValue({ ...value, tag: value.tag.subarray(0, 12) }, key, 'db:password:')).toThrow(/12-byte tag/);
  });

  it('are written in standard padded base64 for every plaintext length', () => {
    const key = dataKeyObject(newDataKey());
    const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 2000 }), fc.constantFrom('str', 'int', 'comment'), (plaintext, type) => {
        const sealed = sealEncValue(plaintext, type, key, 'k:');
        const value = parseEncValue(sealed, 'k:');
        expect(sealed).toBe(`ENC[AES256_GCM,data:${b64(value.data)},iv:${b64(value.iv)},tag:${b64(value.tag)},type:${type}]`);
        expect(value.iv).toHaveLength(32);
        expect(Buffer.from(openEncValue(value, key, 'k:'))).toEqual(Buffer.from(plaintext));
      }),
      { numRuns: 300 },
    );
  });

  it('are split and refused exactly as the pattern of the format says, whatever the text', () => {
    const key = dataKeyObject(newDataKey());
    const good = parseEncValue(sealEncValue(Buffer.from('x'), 'str', key, ':'), ':');
    const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');
    // Pieces that make near-misses likely: the real fields, separators, stray commas and brackets.
    const piece = fc.constantFrom(
      'ENC[AES256_GCM,data:', b64(good.data), ',iv:', b64(good.iv), ',tag:', b64(good.tag), ',type:', 'str', 'comment',
      ']', ',', ':', '=', '==', '-_', 'A', '\n', 'é', '',
      // 16 bytes to Buffer's lenient decoder, not base64 to Go's: must be refused.
      'AAAAAAAAAAAAAAAAAAAA-_==', 'AAAAAAAAAAAAAAAAAAAA\n===', 'AAAAAAAAAAAAAAAAAAAAAA=A',
    );
    const text = fc.array(piece, { maxLength: 14 }).map((pieces) => pieces.join(''));
    const tags = fc.constantFrom(b64(good.tag), 'AAAAAAAAAAAAAAAAAAAA-_==', 'AAAAAAAAAAAAAAAAAAAAAA=A', 'AAAAAAAAAAAAAAAAAAAAAA==', 'AAAA', '');
    const wellFormed = fc
      .tuple(tags, fc.constantFrom('str', 'int', 'str]x', 'a,iv:b,tag:c,type:d', ''), fc.constantFrom('', ']', 'tail', ',x'))
      .map(([tag, type, tail]) => `ENC[AES256_GCM,data:${b64(good.data)},iv:${b64(good.iv)},tag:${tag},type:${type}]${tail}`);
    fc.assert(
      fc.property(fc.oneof(text, wellFormed), (candidate) => {
        expect(parsed(candidate)).toEqual(reference(candidate));
      }),
      { numRuns: 3000 },
    );
  });
});

describe('the ENC[...] texts of a walk', () => {
  it('come back in order, each opening to its plaintext, across buffer boundaries and past the buffer size', () => {
    const key = dataKeyObject(newDataKey());
    // 9,000 texts of up to ~330 characters fill the 1 MiB buffer more than once; a 1.5 MB value needs a string of its own.
    const plaintexts = Array.from({ length: 9_000 }, (_, i) => Buffer.from(`value ${i} `.repeat(1 + (i % 13))));
    plaintexts.splice(4_500, 0, Buffer.alloc(1_500_000, 7));
    const texts = new EncTexts();
    plaintexts.forEach((plaintext, i) => texts.seal(plaintext, i % 2 === 0 ? 'str' : 'comment', key, Buffer.from(`k${i}:`)));
    const sealed = texts.texts();
    expect(sealed).toHaveLength(plaintexts.length);
    sealed.forEach((text, i) => {
      const opened = openEncText(text, key, `k${i}:`);
      expect(opened.type).toBe(i % 2 === 0 ? 'str' : 'comment');
      expect(Buffer.from(opened.plaintext).equals(plaintexts[i]!)).toBe(true);
    });
  });
});
