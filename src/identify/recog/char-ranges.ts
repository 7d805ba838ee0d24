/**
 * Character sets as sorted code-unit ranges, for the Ruby regex converter (regex.ts): the classes
 * Ruby means by \d \w \s \h and POSIX brackets, set algebra, and case closure without JS's `i`.
 */

export type Range = readonly [number, number];

/** Largest UTF-16 code unit: patterns run without the `u` flag. */
export const MAX_UNIT = 0xffff;

export const DIGIT: readonly Range[] = [[0x30, 0x39]];
export const WORD: readonly Range[] = [[0x30, 0x39], [0x41, 0x5a], [0x5f, 0x5f], [0x61, 0x7a]];
// Ruby's \s: [ \t\n\v\f\r] (Onigmo, ASCII), not JS's Unicode white space.
export const SPACE: readonly Range[] = [[0x09, 0x0d], [0x20, 0x20]];
export const HEX: readonly Range[] = [[0x30, 0x39], [0x41, 0x46], [0x61, 0x66]];

/** POSIX bracket classes, ASCII (Onigmo on binary and ASCII-only strings). */
export const POSIX: Readonly<Record<string, readonly Range[]>> = {
  alnum: [[0x30, 0x39], [0x41, 0x5a], [0x61, 0x7a]],
  alpha: [[0x41, 0x5a], [0x61, 0x7a]],
  ascii: [[0x00, 0x7f]],
  blank: [[0x09, 0x09], [0x20, 0x20]],
  cntrl: [[0x00, 0x1f], [0x7f, 0x7f]],
  digit: DIGIT,
  graph: [[0x21, 0x7e]],
  lower: [[0x61, 0x7a]],
  print: [[0x20, 0x7e]],
  punct: [[0x21, 0x2f], [0x3a, 0x40], [0x5b, 0x60], [0x7b, 0x7e]],
  space: SPACE,
  upper: [[0x41, 0x5a]],
  word: WORD,
  xdigit: HEX,
};

export function normalise(ranges: readonly Range[]): Range[] {
  const sorted = [...ranges].sort((a, b) => a[0] - b[0]);
  const out: [number, number][] = [];
  for (const [lo, hi] of sorted) {
    const last = out[out.length - 1];
    if (last && lo <= last[1] + 1) last[1] = Math.max(last[1], hi);
    else out.push([lo, hi]);
  }
  return out;
}

export function complement(ranges: readonly Range[]): Range[] {
  const out: Range[] = [];
  let next = 0;
  for (const [lo, hi] of normalise(ranges)) {
    if (lo > next) out.push([next, lo - 1]);
    next = hi + 1;
  }
  if (next <= MAX_UNIT) out.push([next, MAX_UNIT]);
  return out;
}

export function intersect(a: readonly Range[], b: readonly Range[]): Range[] {
  const out: Range[] = [];
  for (const [alo, ahi] of normalise(a)) {
    for (const [blo, bhi] of normalise(b)) {
      const lo = Math.max(alo, blo);
      const hi = Math.min(ahi, bhi);
      if (lo <= hi) out.push([lo, hi]);
    }
  }
  return normalise(out);
}

/** Every non-ASCII code unit that has a one-unit other-case partner, ascending (built once). */
let casedTable: Uint16Array | undefined;
function cased(): Uint16Array {
  if (casedTable) return casedTable;
  const out: number[] = [];
  for (let c = 0x80; c <= MAX_UNIT; c++) if (partners(c).length > 0) out.push(c);
  casedTable = Uint16Array.from(out);
  return casedTable;
}

/** Index of the first entry of the cased table that is >= c. */
function firstCasedAtLeast(c: number): number {
  const t = cased();
  let lo = 0;
  let hi = t.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((t[mid] as number) < c) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The ranges plus every char's other-case partner (for case-insensitive atoms without JS `i`). */
export function caseClosure(ranges: readonly Range[]): Range[] {
  const out: Range[] = [...ranges];
  const t = cased();
  for (const [lo, hi] of ranges) {
    const upLo = Math.max(lo, 0x41);
    const upHi = Math.min(hi, 0x5a);
    if (upLo <= upHi) out.push([upLo + 32, upHi + 32]);
    const lowLo = Math.max(lo, 0x61);
    const lowHi = Math.min(hi, 0x7a);
    if (lowLo <= lowHi) out.push([lowLo - 32, lowHi - 32]);
    for (let i = firstCasedAtLeast(Math.max(lo, 0x80)); i < t.length && (t[i] as number) <= hi; i++) {
      for (const other of partners(t[i] as number)) out.push([other, other]);
    }
  }
  return normalise(out);
}

/** Other-case forms of one code unit that are themselves one code unit. */
export function partners(c: number): number[] {
  const ch = String.fromCharCode(c);
  const out: number[] = [];
  for (const o of [ch.toLowerCase(), ch.toUpperCase()]) {
    if (o.length === 1 && o !== ch) out.push(o.charCodeAt(0));
  }
  return out;
}

export function hasLetter(ranges: readonly Range[]): boolean {
  const t = cased();
  return ranges.some(([lo, hi]) => {
    if (lo <= 0x7a && hi >= 0x41 && !(hi < 0x61 && lo > 0x5a)) return true;
    if (hi < 0x80) return false;
    const i = firstCasedAtLeast(Math.max(lo, 0x80));
    return i < t.length && (t[i] as number) <= hi;
  });
}

export function litHasLetter(s: string): boolean {
  return s.toLowerCase() !== s.toUpperCase();
}

