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

/** Add a 32-bit value to the registers regs[at, at+256). */
export function hllAdd(regs: Uint8Array, at: number, value: number): void {
  const h = mix32(value);
  const idx = at + (h >>> 24);
  const rest = (h << 8) >>> 0;
  const rank = rest === 0 ? 25 : Math.clz32(rest) + 1;
  if (rank > regs[idx]!) regs[idx] = rank;
}

/** The cardinality estimate of the registers regs[at, at+256). */
export function hllCount(regs: Uint8Array, at = 0): number {
  const m = HLL_REGISTERS;
  let sum = 0;
  let zeros = 0;
  for (let i = 0; i < m; i++) {
    const r = regs[at + i]!;
    sum += 2 ** -r;
    if (r === 0) zeros++;
  }
  const alpha = 0.7213 / (1 + 1.079 / m);
  const raw = (alpha * m * m) / sum;
  // Linear counting where HLL is biased: few distinct values leave many empty registers.
  if (raw <= 2.5 * m && zeros > 0) return Math.round(m * Math.log(m / zeros));
  return Math.round(raw);
}

/**
 * An open-addressing hash map from 32-bit keys (IPv4 sources) to slot numbers: linear probing over
 * typed arrays, load at most one half. Several times faster than Map on the per-packet lookup.
 */
export class U32Map {
  /** Pairs (key, value + 1) side by side, so one probe touches one cache line; 0 marks empty. */
  private table = new Uint32Array(2 << 12);
  private mask = (1 << 12) - 1;
  size = 0;

  /** The value of key, or -1. */
  get(key: number): number {
    const t = this.table;
    const mask = this.mask;
    for (let i = mix32(key) & mask; ; i = (i + 1) & mask) {
      const v = t[2 * i + 1]!;
      if (v === 0) return -1;
      if (t[2 * i] === key) return v - 1;
    }
  }

  /** Set key to a value from 0 to 2^32 - 2. */
  set(key: number, value: number): void {
    if ((this.size + 1) * 2 > this.mask + 1) this.rehash((this.mask + 1) * 2);
    const t = this.table;
    for (let i = mix32(key) & this.mask; ; i = (i + 1) & this.mask) {
      if (t[2 * i + 1] === 0) {
        t[2 * i] = key;
        t[2 * i + 1] = value + 1;
        this.size++;
        return;
      }
      if (t[2 * i] === key) {
        t[2 * i + 1] = value + 1;
        return;
      }
    }
  }

  clear(): void {
    this.table.fill(0);
    this.size = 0;
  }

  private rehash(capacity: number): void {
    const old = this.table;
    this.table = new Uint32Array(2 * capacity);
    this.mask = capacity - 1;
    this.size = 0;
    for (let i = 0; i < old.length; i += 2) if (old[i + 1] !== 0) this.set(old[i]!, old[i + 1]! - 1);
  }
}
