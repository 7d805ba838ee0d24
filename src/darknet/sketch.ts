/**
 * Small bounded counters for per-source state: a HyperLogLog of distinct destinations (Flajolet et
 * al. 2007, with the small-range correction) used once a source passes the exact-set size, and a
 * Misra–Gries top-k over destination ports.
 */

/** Registers per HyperLogLog: 256 bytes, about 6.5 % standard error (1.04/√256). */
export const HLL_REGISTERS = 256;

/** murmur3's 32-bit finaliser: spreads an address over all bits before HLL bucketing. */
export function mix32(x: number): number {
  let h = x >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** The inverse of an odd number modulo 2^32 (Newton's iteration: each step doubles the bits right). */
function inverseOdd(c: number): number {
  let y = c;
  for (let i = 0; i < 5; i++) y = Math.imul(y, 2 - Math.imul(c, y));
  return y;
}
const UNMIX1 = inverseOdd(0x85ebca6b);
const UNMIX2 = inverseOdd(0xc2b2ae35);

/** mix32's inverse (each of its steps is invertible): unmix32(mix32(x)) === x. */
export function unmix32(h: number): number {
  let x = (h ^ (h >>> 16)) >>> 0;
  x = Math.imul(x, UNMIX2) >>> 0;
  x = (x ^ (x >>> 13) ^ (x >>> 26)) >>> 0;
  x = Math.imul(x, UNMIX1) >>> 0;
  return (x ^ (x >>> 16)) >>> 0;
}

/** Add a value already spread by mix32 (its hash h) to the registers regs[at, at+256). */
export function hllAddHash(regs: Uint8Array, at: number, h: number): void {
  const idx = at + (h >>> 24);
  const rest = (h << 8) >>> 0;
  const rank = rest === 0 ? 25 : Math.clz32(rest) + 1;
  if (rank > regs[idx]!) regs[idx] = rank;
}

/** 2^-r for every register value (ranks run from 0 to 25). */
const INVERSE_POWERS = Float64Array.from({ length: 33 }, (_, r) => 2 ** -r);

/** The cardinality estimate of the registers regs[at, at+256). */
export function hllCount(regs: Uint8Array, at = 0): number {
  const m = HLL_REGISTERS;
  let sum = 0;
  let zeros = 0;
  for (let i = 0; i < m; i++) {
    const r = regs[at + i]!;
    sum += INVERSE_POWERS[r]!;
    if (r === 0) zeros++;
  }
  const alpha = 0.7213 / (1 + 1.079 / m);
  const raw = (alpha * m * m) / sum;
  // Linear counting where HLL is biased: few distinct values leave many empty registers.
  if (raw <= 2.5 * m && zeros > 0) return Math.round(m * Math.log(m / zeros));
  return Math.round(raw);
}
