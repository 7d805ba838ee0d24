/**
 * A keyed pseudo-random permutation of [0, n), after masscan's BlackRock: an unbalanced Feistel
 * network over a × b ≥ n with cycle-walking for values that land in [n, a·b). Visiting the
 * address × port index in this order spreads probes over the whole scope, so no subnet or host
 * sees a burst, and the same seed gives the same order (which makes sharding and resume exact).
 */

const ROUNDS = 4;

export interface Permutation {
  readonly size: number;
  /** The element at position i (0 ≤ i < size). */
  at(i: number): number;
}

/** 32-bit mixing (a murmur3-style finaliser) of round, value and key; cheap and well spread. */
function mix(round: number, value: number, key: number): number {
  let h = Math.imul(value ^ key, 0x9e3779b1) ^ Math.imul(round + 1, 0x85ebca6b);
  // Fold the high part of values above 2^32 (index spaces reach ~2^38 for large scopes).
  h ^= Math.floor(value / 4294967296);
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** Build the permutation of [0, size) for a seed. size must be ≤ 2^53 / 2^21 (plenty for IPv4 × ports). */
export function createPermutation(size: number, seed: number): Permutation {
  if (!Number.isSafeInteger(size) || size < 0) throw new RangeError(`bad permutation size ${size}`);
  if (size <= 1) return { size, at: (i) => i };
  // a·b ≥ size with a ≈ b; the +2 margin keeps a·b comfortably above size.
  const a = Math.max(1, Math.floor(Math.sqrt(size)));
  const b = Math.ceil(size / a) + 1;
  const key0 = mix(0x51ed, seed >>> 0, 0x2545f491);
  const keys = Array.from({ length: ROUNDS }, (_, r) => mix(r, key0, seed >>> 0));

  const encrypt = (m: number): number => {
    let left = m % a;
    let right = Math.floor(m / a);
    for (let r = 1; r <= ROUNDS; r++) {
      const f = mix(r, right, keys[r - 1]!);
      const tmp = r & 1 ? (left + f) % a : (left + f) % b;
      left = right;
      right = tmp;
    }
    // ROUNDS is even: left ∈ [0, a), right ∈ [0, b).
    return a * right + left;
  };

  return {
    size,
    at(i: number): number {
      let c = encrypt(i);
      while (c >= size) c = encrypt(c);
      return c;
    },
  };
}
