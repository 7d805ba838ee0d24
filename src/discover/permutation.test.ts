import { describe, expect, it } from 'vitest';
import { createPermutation } from './permutation.js';

describe('createPermutation', () => {
  it('is a bijection on [0, n) for many sizes and seeds', () => {
    for (const n of [1, 2, 3, 7, 10, 97, 100, 255, 256, 1000, 4099, 65536, 100_003]) {
      for (const seed of [0, 1, 0xdeadbeef]) {
        const p = createPermutation(n, seed);
        const seen = new Uint8Array(n);
        for (let i = 0; i < n; i++) {
          const v = p.at(i);
          expect(v >= 0 && v < n).toBe(true);
          seen[v]!++;
        }
        expect(seen.every((c) => c === 1)).toBe(true);
      }
    }
  });

  it('is reproducible for a seed and differs between seeds', () => {
    const a = createPermutation(10_000, 42);
    const b = createPermutation(10_000, 42);
    const c = createPermutation(10_000, 43);
    const first = (p: typeof a) => Array.from({ length: 50 }, (_, i) => p.at(i));
    expect(first(a)).toEqual(first(b));
    expect(first(a)).not.toEqual(first(c));
  });

  it('spreads consecutive positions over the space (no subnet bursts)', () => {
    const n = 65536 * 4;
    const p = createPermutation(n, 7);
    // Of 1,000 consecutive positions, count how many land in the same /24-sized block of 1,024.
    const blocks = new Map<number, number>();
    for (let i = 0; i < 1000; i++) {
      const blk = Math.floor(p.at(i) / 1024);
      blocks.set(blk, (blocks.get(blk) ?? 0) + 1);
    }
    expect(Math.max(...blocks.values())).toBeLessThan(20);
  });

  it('handles index spaces beyond 2^32', () => {
    const n = 2 ** 32 * 39;
    const p = createPermutation(n, 1);
    const seen = new Set<number>();
    for (let i = 0; i < 2000; i++) {
      const v = p.at(i);
      expect(Number.isSafeInteger(v) && v >= 0 && v < n).toBe(true);
      seen.add(v);
    }
    expect(seen.size).toBe(2000);
  });
});
