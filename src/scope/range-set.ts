/**
 * Set algebra on inclusive IPv4 ranges. A "set" here is an array of ranges that is sorted,
 * disjoint and merged (no two ranges overlap or touch); every function returns one.
 * Arithmetic stays in plain numbers: end + 1 may be 2^32, which a Uint32 could not hold.
 */
import type { Ipv4Range } from '../core/ip.js';

/** Sort and merge overlapping or adjacent ranges. */
export function normaliseRanges(ranges: readonly Ipv4Range[]): Ipv4Range[] {
  const sorted = [...ranges].sort((a, b) => a.start - b.start || a.end - b.end);
  const out: Ipv4Range[] = [];
  for (const r of sorted) {
    const last = out[out.length - 1];
    if (last !== undefined && r.start <= last.end + 1) {
      if (r.end > last.end) out[out.length - 1] = { start: last.start, end: r.end };
    } else {
      out.push({ start: r.start, end: r.end });
    }
  }
  return out;
}

/** Addresses in `a` and not in `b` (both normalised). */
export function subtractRanges(a: readonly Ipv4Range[], b: readonly Ipv4Range[]): Ipv4Range[] {
  const out: Ipv4Range[] = [];
  let j = 0;
  for (const r of a) {
    let start = r.start;
    while (j < b.length && (b[j] as Ipv4Range).end < start) j++;
    // b[k] for k >= j may cut r; do not advance j past a b-range that also reaches the next r.
    let k = j;
    while (start <= r.end) {
      const cut = b[k];
      if (cut === undefined || cut.start > r.end) {
        out.push({ start, end: r.end });
        break;
      }
      if (cut.start > start) out.push({ start, end: cut.start - 1 });
      start = Math.max(start, cut.end + 1);
      k++;
    }
  }
  return out;
}

/** Addresses in both `a` and `b` (both normalised). */
export function intersectRanges(a: readonly Ipv4Range[], b: readonly Ipv4Range[]): Ipv4Range[] {
  const out: Ipv4Range[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const x = a[i] as Ipv4Range;
    const y = b[j] as Ipv4Range;
    const start = Math.max(x.start, y.start);
    const end = Math.min(x.end, y.end);
    if (start <= end) out.push({ start, end });
    if (x.end < y.end) i++;
    else j++;
  }
  return out;
}

/** First address of `r` not covered by the normalised set `set`, or undefined if all are. */
export function firstUncovered(set: readonly Ipv4Range[], r: Ipv4Range): number | undefined {
  let at = r.start;
  for (const s of set) {
    if (s.end < at) continue;
    if (s.start > at) return at;
    if (s.end >= r.end) return undefined;
    at = s.end + 1;
  }
  return at;
}

/** Total number of addresses in a normalised set. */
export function countAddresses(set: readonly Ipv4Range[]): number {
  let n = 0;
  for (const r of set) n += r.end - r.start + 1;
  return n;
}
