/** A source of numbers in [0, 1). Seeded in tests so fault injection and lag choices repeat. */
export type Random = () => number;

/**
 * mulberry32: tiny, fast and good enough to pick which calls fail; not for cryptography (key
 * material comes from `node:crypto`).
 */
export function seededRandom(seed: number): Random {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A seeded generator when a seed is given, otherwise one seeded from `Math.random`. */
export function makeRandom(seed?: number): Random {
  return seededRandom(seed ?? Math.floor(Math.random() * 2 ** 32));
}
