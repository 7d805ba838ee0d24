/**
 * Cheap pre-checks derived from a parsed pattern (regex-parse.ts), so the Recog loader can skip
 * most regexes: a substring every match contains, the possible first characters of an anchored
 * pattern, and the exact text of a `^text$` pattern.
 */
import { litHasLetter, partners } from './char-ranges.js';
import { type Node } from './regex-parse.js';

/** The longest run of always-matched plain characters (see ConvertedRegex.literal). */
export function requiredLiteral(root: Node): { text: string; ignoreCase: boolean } | null {
  let best: { text: string; ignoreCase: boolean } | null = null;
  let run = '';
  let runCi = false;
  const flush = (): void => {
    if (run.length >= 2 && (!best || run.length > best.text.length)) best = { text: runCi ? run.toLowerCase() : run, ignoreCase: runCi };
    run = '';
    runCi = false;
  };
  const walk = (n: Node): void => {
    switch (n.t) {
      case 'lit': {
        const letter = litHasLetter(n.s);
        if (n.ci && letter && !/^[A-Za-z]$/.test(n.s)) return flush(); // non-ASCII folding: stop
        if (n.ci && letter) {
          // Switching the run to case-insensitive is fine only while it is plain ASCII.
          if (!runCi && /[^\x00-\x7f]/.test(run)) flush();
          runCi = true;
        } else if (runCi && /[^\x00-\x7f]/.test(n.s)) flush();
        run += n.s;
        return;
      }
      case 'assert':
        return; // zero-width: the characters either side are still adjacent
      case 'seq':
        n.items.forEach(walk);
        return;
      case 'group':
        if (n.k === 'cap' || n.k === 'non') walk(n.body);
        else flush();
        return;
      case 'rep':
        flush();
        if (n.min >= 1) {
          walk(n.body);
          flush();
        }
        return;
      default:
        flush();
    }
  };
  walk(root);
  flush();
  return best;
}

/** Most first characters worth indexing by (a wider class is "unknown"). */
const MAX_FIRST_CHARS = 64;

/** Possible first code units of a match of n, or null when unknown; `empty` when n can match "". */
function firstOf(n: Node, useI: boolean): { chars: Set<number> | null; empty: boolean } {
  const fold = (codes: Iterable<number>, ci: boolean): Set<number> => {
    const out = new Set<number>();
    for (const c of codes) {
      out.add(c);
      if (ci) for (const p of partners(c)) out.add(p);
    }
    return out;
  };
  switch (n.t) {
    case 'lit':
      return { chars: fold([n.s.charCodeAt(0)], n.ci), empty: false };
    case 'set': {
      if (n.negated) return { chars: null, empty: false };
      let size = 0;
      for (const [lo, hi] of n.ranges) size += hi - lo + 1;
      if (size > MAX_FIRST_CHARS) return { chars: null, empty: false };
      const codes: number[] = [];
      for (const [lo, hi] of n.ranges) for (let c = lo; c <= hi; c++) codes.push(c);
      return { chars: fold(codes, n.ci || useI), empty: false };
    }
    case 'assert':
      return { chars: new Set(), empty: true };
    case 'group':
      if (n.k === 'cap' || n.k === 'non' || n.k === 'atomic') return firstOf(n.body, useI);
      return { chars: null, empty: true };
    case 'rep': {
      if (n.max === 0) return { chars: new Set(), empty: true };
      const b = firstOf(n.body, useI);
      return { chars: b.chars, empty: b.empty || n.min === 0 };
    }
    case 'seq': {
      const out = new Set<number>();
      for (const i of n.items) {
        const f = firstOf(i, useI);
        if (f.chars === null) return { chars: null, empty: false };
        for (const c of f.chars) out.add(c);
        if (!f.empty) return { chars: out, empty: false };
      }
      return { chars: out, empty: true };
    }
    case 'alt': {
      const out = new Set<number>();
      let empty = false;
      for (const a of n.alts) {
        const f = firstOf(a, useI);
        if (f.chars === null) return { chars: null, empty: false };
        for (const c of f.chars) out.add(c);
        empty ||= f.empty;
      }
      return { chars: out, empty };
    }
    default:
      return { chars: null, empty: false };
  }
}

/** Whether every match must start at the start of a one-line input (a leading ^ or \A). */
function anchoredAtStart(n: Node): boolean {
  switch (n.t) {
    case 'assert':
      return n.k === 'bol' || n.k === 'bos';
    case 'seq':
      return n.items[0] !== undefined && anchoredAtStart(n.items[0]);
    case 'alt':
      return n.alts.every(anchoredAtStart);
    case 'group':
      return (n.k === 'cap' || n.k === 'non' || n.k === 'atomic') && anchoredAtStart(n.body);
    default:
      return false;
  }
}

export function firstChars(root: Node, useI: boolean): string | null {
  if (!anchoredAtStart(root)) return null;
  const f = firstOf(root, useI);
  if (f.chars === null || f.empty || f.chars.size > MAX_FIRST_CHARS * 2) return null;
  return String.fromCharCode(...[...f.chars].sort((a, b) => a - b));
}

/** `^text$` (or \A…\z) of case-sensitive plain characters: the one string it matches on one line. */
export function exactText(root: Node): string | null {
  if (root.t !== 'seq' || root.items.length < 2) return null;
  const first = root.items[0] as Node;
  const last = root.items[root.items.length - 1] as Node;
  if (first.t !== 'assert' || (first.k !== 'bol' && first.k !== 'bos')) return null;
  if (last.t !== 'assert' || (last.k !== 'eol' && last.k !== 'eos' && last.k !== 'eosnl')) return null;
  let text = '';
  for (const i of root.items.slice(1, -1)) {
    if (i.t !== 'lit' || (i.ci && litHasLetter(i.s))) return null;
    text += i.s;
  }
  return text;
}
