import { describe, expect, it } from 'vitest';
import { sameScalar } from '../../src/sops/tree.ts';

describe('sameScalar', () => {
  it('tells values of different types apart even when their text is alike', () => {
    expect(sameScalar({ type: 'int', value: 1n }, { type: 'float', value: 1 })).toBe(false);
    expect(sameScalar({ type: 'float', value: 0 }, { type: 'float', value: -0 })).toBe(false);
    expect(sameScalar({ type: 'bytes', value: Uint8Array.of(1, 2) }, { type: 'bytes', value: Uint8Array.of(1, 2) })).toBe(true);
    expect(sameScalar({ type: 'str', value: 'a' }, { type: 'str', value: 'b' })).toBe(false);
  });
});
