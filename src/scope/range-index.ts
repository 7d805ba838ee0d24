/**
 * A fast index over a normalised range set: membership by binary search and "the i-th address"
 * for target permutations, over typed arrays held in a closure. Used by compiled scopes and by
 * discovery workers to walk their targets (targets are not a scope: they authorise nothing).
 */
import type { Ipv4Range } from '../core/ip.js';
import { countAddresses } from './range-set.js';

export interface RangeIndex {
  /** Number of addresses in the set. */
  readonly size: number;
  /** True when the address (an unsigned 32-bit integer) is in the set. Allocation-free. */
  has(ip: number): boolean;
  /** The index-th address in ascending order (0 ≤ index < size). */
  addressAt(index: number): number;
}

/** Build the index; `ranges` must be sorted, disjoint and merged (see normaliseRanges). */
export function indexRanges(ranges: readonly Ipv4Range[]): RangeIndex {
  const n = ranges.length;
  const starts = new Uint32Array(n);
  const ends = new Uint32Array(n);
  // offsets[i] = number of addresses before range i; Float64 because the total can be 2^32.
  const offsets = new Float64Array(n + 1);
  ranges.forEach((r, i) => {
    starts[i] = r.start;
    ends[i] = r.end;
    offsets[i + 1] = (offsets[i] ?? 0) + (r.end - r.start + 1);
  });
  const size = countAddresses(ranges);

  const has = (ip: number): boolean => {
    // Rejects NaN, fractions, negatives, numbers ≥ 2^32 and non-numbers from untyped callers.
    if (ip >>> 0 !== ip) return false;
    let lo = 0;
    let hi = n - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (ip < (starts[mid] as number)) hi = mid - 1;
      else if (ip > (ends[mid] as number)) lo = mid + 1;
      else return true;
    }
    return false;
  };

  const addressAt = (index: number): number => {
    if (!Number.isInteger(index) || index < 0 || index >= size) {
      throw new RangeError(`address index ${index} outside 0..${size - 1}`);
    }
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if ((offsets[mid] as number) <= index) lo = mid;
      else hi = mid - 1;
    }
    return (starts[lo] as number) + (index - (offsets[lo] as number));
  };

  return { size, has, addressAt };
}
