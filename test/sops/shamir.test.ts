import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SopsFormatError } from '../../src/errors.ts';
import { combineShares, gf256Mul, splitSecret } from '../../src/sops/shamir.ts';

/** A random source that always hands out the same bytes, so shares are known in advance. */
const fixed = (...bytes: number[]) => (n: number) => {
  expect(n).toBe(bytes.length);
  return Uint8Array.from(bytes);
};

/** A seeded xorshift generator: varied coefficients, same every run. */
function seeded(seed: number) {
  let state = seed >>> 0 || 1;
  return (n: number) =>
    Uint8Array.from({ length: n }, () => {
      state ^= state << 13;
      state >>>= 0;
      state ^= state >>> 17;
      state ^= state << 5;
      state >>>= 0;
      return state & 0xff;
    });
}

const dataKey = Uint8Array.from(Buffer.from('af5e68dd342b72c6a0475f81a50da4fde898f4b7742c92cbcf1668211411f4e4', 'hex'));

describe('GF(2^8) multiplication', () => {
  it('matches the worked examples of FIPS-197 §4.2 (AES field, 0x11B)', () => {
    expect(gf256Mul(0x57, 0x83)).toBe(0xc1);
    expect(gf256Mul(0x57, 0x13)).toBe(0xfe);
    expect(gf256Mul(0x80, 0x02)).toBe(0x1b);
  });
});

describe('splitSecret', () => {
  it('gives the shares derived by hand for a one-byte secret, threshold 2', () => {
    // p(x) = 0x42 + 0x05·x: p(1) = 0x47, p(2) = 0x42 ^ 0x0a = 0x48, p(3) = 0x42 ^ 0x0f = 0x4d.
    const shares = splitSecret(Uint8Array.of(0x42), 3, 2, fixed(0x05));
    expect(shares.map((s) => [...s])).toEqual([
      [0x47, 1],
      [0x48, 2],
      [0x4d, 3],
    ]);
  });

  it('reduces by 0x11B when a product overflows a byte', () => {
    // p(x) = 0x80·x: p(2) = 0x100 reduced = 0x1b, p(3) = 0x80 ^ 0x1b = 0x9b.
    const shares = splitSecret(Uint8Array.of(0x00), 3, 2, fixed(0x80));
    expect(shares.map((s) => [...s])).toEqual([
      [0x80, 1],
      [0x1b, 2],
      [0x9b, 3],
    ]);
  });

  it('gives the shares derived by hand for threshold 3 (degree-2 polynomial, Horner)', () => {
    // p(x) = 1 + 2x + 3x². p(1) = 1^2^3 = 0. x=2: 2·2 = 4, x² = 4, 3·4 = 0x0c → 1^4^0x0c = 0x09.
    // x=3: 2·3 = 6, x² = 3·3 = 5, 3·5 = 0x0f → 1^6^0x0f = 0x08.
    const shares = splitSecret(Uint8Array.of(0x01), 3, 3, fixed(0x02, 0x03));
    expect(shares.map((s) => [...s])).toEqual([
      [0x00, 1],
      [0x09, 2],
      [0x08, 3],
    ]);
    expect([...combineShares(shares)]).toEqual([0x01]);
  });

  it('makes shares of 33 bytes for a data key, x = group index + 1 in the last byte', () => {
    const shares = splitSecret(dataKey, 4, 3);
    expect(shares).toHaveLength(4);
    shares.forEach((share, i) => {
      expect(share).toHaveLength(33);
      expect(share[32]).toBe(i + 1);
    });
  });

  it('refuses the parameters sops refuses', () => {
    const cases: Array<[number, number]> = [
      [3, 1],
      [2, 3],
      [256, 2],
      [3, 2.5],
    ];
    for (const [parts, threshold] of cases) {
      expect(() => splitSecret(dataKey, parts, threshold)).toThrow(SopsFormatError);
    }
    expect(() => splitSecret(new Uint8Array(0), 3, 2)).toThrow(/empty secret/);
  });
});

describe('combineShares', () => {
  it('recovers the secret from any threshold-sized subset and from all shares', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: 40 }),
        fc.integer({ min: 2, max: 6 }).chain((threshold) =>
          fc.tuple(fc.constant(threshold), fc.integer({ min: threshold, max: 8 })),
        ),
        fc.integer(),
        (secret, [threshold, parts], seed) => {
          const shares = splitSecret(secret, parts, threshold, seeded(seed));
          expect(combineShares(shares)).toEqual(secret);
          // The last `threshold` shares, in reverse order: order and which shares do not matter.
          expect(combineShares(shares.slice(parts - threshold).reverse())).toEqual(secret);
        },
      ),
    );
  });

  it('recovers a real 32-byte data key split for 2 to 5 groups', () => {
    for (let groups = 2; groups <= 5; groups++) {
      for (let threshold = 2; threshold <= groups; threshold++) {
        const shares = splitSecret(dataKey, groups, threshold, (n) => new Uint8Array(randomBytes(n)));
        expect(combineShares(shares.slice(0, threshold))).toEqual(dataKey);
      }
    }
  });

  it('gives a wrong secret, not the key, from fewer shares than the threshold', () => {
    const shares = splitSecret(dataKey, 5, 4, seeded(7));
    const recovered = combineShares(shares.slice(0, 3));
    expect(recovered).toHaveLength(32);
    expect(Buffer.from(recovered).equals(Buffer.from(dataKey))).toBe(false);
  });

  it('refuses a single share, duplicate x values and mixed lengths', () => {
    const shares = splitSecret(dataKey, 3, 2, seeded(1));
    const [first, second] = shares as [Uint8Array, Uint8Array];
    expect(() => combineShares([first])).toThrow(expect.objectContaining({ code: 'shamir-invalid-share' }));
    expect(() => combineShares([first, Uint8Array.from(first)])).toThrow(
      expect.objectContaining({ code: 'shamir-duplicate-share' }),
    );
    expect(() => combineShares([first, second.subarray(1)])).toThrow(SopsFormatError);
    const zeroX = Uint8Array.from(second);
    zeroX[32] = 0;
    expect(() => combineShares([first, zeroX])).toThrow(/x coordinate 0/);
  });
});
