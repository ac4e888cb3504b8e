/**
 * Shamir secret sharing as sops does it for files with two or more key groups
 * (sops-format.md §5.5; sops's `shamir/shamir.go`, a fork of HashiCorp Vault's).
 *
 * Arithmetic is over GF(2^8) with the AES reduction polynomial x^8+x^4+x^3+x+1 (0x11B). A share is
 * the secret's length in y bytes followed by one x byte; share i (0-based) has x = i+1, so share i
 * is the one that goes to key group i.
 */
import { randomBytes } from 'node:crypto';
import { SopsFormatError } from '../errors.ts';

/** Source of random coefficient bytes; tests pass a fixed one to get known shares. */
export type RandomBytes = (n: number) => Uint8Array;

const MAX_PARTS = 255;

/**
 * Splits `secret` into `parts` shares, any `threshold` of which give it back.
 *
 * @throws SopsFormatError `shamir-invalid-parameters` when threshold < 2, parts < threshold,
 *   parts > 255 or the secret is empty (the same limits as sops).
 */
export function splitSecret(
  secret: Uint8Array,
  parts: number,
  threshold: number,
  random: RandomBytes = (n) => new Uint8Array(randomBytes(n)),
): Uint8Array[] {
  if (!Number.isInteger(parts) || !Number.isInteger(threshold)) {
    throw invalid('parts and threshold must be integers');
  }
  if (threshold < 2) throw invalid(`threshold ${threshold} is below 2`);
  if (parts < threshold) throw invalid(`parts ${parts} is below the threshold ${threshold}`);
  if (parts > MAX_PARTS) throw invalid(`parts ${parts} is above ${MAX_PARTS}`);
  if (secret.length === 0) throw invalid('cannot split an empty secret');

  const shares = Array.from({ length: parts }, (_, i) => {
    const share = new Uint8Array(secret.length + 1);
    share[secret.length] = i + 1;
    return share;
  });

  // One polynomial per secret byte: constant term the byte, the other threshold-1 coefficients
  // random. They are never reused across bytes, so each byte is shared independently.
  for (let byteIndex = 0; byteIndex < secret.length; byteIndex++) {
    const randomCoefficients = random(threshold - 1);
    if (randomCoefficients.length !== threshold - 1) {
      throw new SopsFormatError('shamir-invalid-parameters', 'random source returned the wrong number of bytes');
    }
    const coefficients = [secret[byteIndex] ?? 0, ...randomCoefficients];
    for (const share of shares) {
      share[byteIndex] = evaluate(coefficients, share[secret.length] ?? 0);
    }
  }
  return shares;
}

/**
 * Recovers the secret from shares made by {@link splitSecret}, by Lagrange interpolation at x = 0.
 * Like sops, it uses every share given; with fewer shares than the split's threshold the result
 * is a wrong secret, not an error (the shares carry no threshold), so callers must count.
 *
 * @throws SopsFormatError `shamir-invalid-share` for fewer than two shares, shares of unequal or
 *   too short length, or an x of 0; `shamir-duplicate-share` when two shares have the same x.
 */
export function combineShares(shares: readonly Uint8Array[]): Uint8Array {
  if (shares.length < 2) {
    throw new SopsFormatError('shamir-invalid-share', 'at least two shares are needed to recover the secret');
  }
  const length = shares[0]?.length ?? 0;
  if (length < 2) throw new SopsFormatError('shamir-invalid-share', 'a share must hold at least two bytes');

  const xs: number[] = [];
  for (const [index, share] of shares.entries()) {
    if (share.length !== length) {
      throw new SopsFormatError('shamir-invalid-share', `share ${index} is ${share.length} bytes, not ${length}`);
    }
    const x = share[length - 1] ?? 0;
    // x = 0 would hand out the secret itself; sops never makes one.
    if (x === 0) throw new SopsFormatError('shamir-invalid-share', `share ${index} has x coordinate 0`);
    if (xs.includes(x)) throw new SopsFormatError('shamir-duplicate-share', `two shares have x coordinate ${x}`);
    xs.push(x);
  }

  // The Lagrange basis at 0 depends only on the xs, so it is computed once for all bytes.
  const basis = xs.map((xi, i) =>
    xs.reduce((product, xj, j) => (j === i ? product : gf256Mul(product, div(xj, xi ^ xj))), 1),
  );

  const secret = new Uint8Array(length - 1);
  for (let byteIndex = 0; byteIndex < secret.length; byteIndex++) {
    let value = 0;
    for (const [i, share] of shares.entries()) {
      value ^= gf256Mul(share[byteIndex] ?? 0, basis[i] ?? 0);
    }
    secret[byteIndex] = value;
  }
  return secret;
}

/** The polynomial with these coefficients (constant term first) at x, by Horner's rule. */
function evaluate(coefficients: readonly number[], x: number): number {
  let result = 0;
  for (let i = coefficients.length - 1; i >= 0; i--) {
    result = gf256Mul(result, x) ^ (coefficients[i] ?? 0);
  }
  return result;
}

/**
 * Multiplication in GF(2^8) mod 0x11B. Branch-free on the operands' bits so that timing does
 * not depend on secret bytes.
 */
export function gf256Mul(a: number, b: number): number {
  let product = 0;
  let x = a & 0xff;
  let y = b & 0xff;
  for (let bit = 0; bit < 8; bit++) {
    product ^= -(y & 1) & x;
    // Doubling x: shift, and reduce by 0x1B when the top bit falls off.
    x = ((x << 1) ^ (-(x >> 7) & 0x1b)) & 0xff;
    y >>= 1;
  }
  return product;
}

/** a^254 = a^-1 in GF(2^8) (Fermat: a^255 = 1 for a ≠ 0). 0 maps to 0. */
function inverse(a: number): number {
  let result = 1;
  let power = a;
  for (let exponent = 254; exponent > 0; exponent >>= 1) {
    if (exponent & 1) result = gf256Mul(result, power);
    power = gf256Mul(power, power);
  }
  return result;
}

function div(a: number, b: number): number {
  // b is an xor of two distinct x values, so it is never 0 here.
  return gf256Mul(a, inverse(b));
}

function invalid(reason: string): SopsFormatError {
  return new SopsFormatError('shamir-invalid-parameters', `cannot split the data key: ${reason}`);
}
