/**
 * Ruby (Onigmo) regular expressions, as Recog's fingerprints are written, converted to JavaScript
 * ones that match the same strings with the same captures. Recog compiles every pattern with
 * Ruby's `Regexp.new(pattern, options)`; iotclean parses the pattern into a small tree with Ruby's
 * rules (regex-parse.ts, over the character sets of char-ranges.ts) and writes JavaScript (no `u`
 * flag) from the tree here, with the pre-checks of regex-hints.ts. Each difference is handled once:
 *
 * | Ruby (Onigmo)                      | meaning in Ruby                              | JavaScript written                    |
 * | ---------------------------------- | -------------------------------------------- | ------------------------------------- |
 * | `(?m)`, `(?m:…)`, REG_MULTILINE,    | dot-all: `.` also matches "\n"                | `[\s\S]` for that `.`                 |
 * |   REG_DOT_NEWLINE                  |                                              |                                       |
 * | `.` without m                      | any char but "\n" (JS `.` also skips "\r")   | `[^\n]`                               |
 * | `^` (always a line anchor)         | start, or after "\n" unless at the very end  | `(?:(?<![\s\S])\|(?<=\n)(?=[\s\S]))`   |
 * | `$` (always a line anchor)         | end, or before "\n" (JS `m` also takes "\r") | `(?![^\n])`                           |
 * | `\A` / `\z`                        | start / end of input                         | `(?<![\s\S])` / `(?![\s\S])`          |
 * | `\Z`                               | end, or before a final "\n"                  | `(?=\n?(?![\s\S]))`                   |
 * | `\h` / `\H`                        | hex digit (not horizontal space!) / not      | `[0-9A-Fa-f]` / its complement        |
 * | `\s` / `\S`                        | ASCII space `[ \t\n\v\f\r]` (JS adds Unicode) | `[\t-\r ]` / its complement           |
 * | `X*+ X++ X?+` (possessive)          | no backtracking into X                       | `(?=(X*))\N` (atomic by lookahead)    |
 * | `X{n,m}+`                          | NOT possessive in Ruby: `(?:X{n,m})+`         | `(?:X{n,m})+`                         |
 * | `X{,m}`                            | `X{0,m}` (JS reads it as literal text)       | `X{0,m}`                              |
 * | `X?` where X can match ""          | an empty X counts, captures kept (JS's `?`   | `(?:X\|)` (`X??`: `(?:\|X)`)           |
 * |                                    |   rejects it and backtracks into X)          |                                       |
 * | `X*`, `X+`, `X{n,m}` where X can   | the loop ends at an empty pass, its captures | reported when X prefers "" or holds a |
 * |   match ""                         |   kept (JS rejects empty passes)             |   capture; else the same in both      |
 * | `(?>X)` atomic group               | no backtracking into X                       | `(?=(X))\N`                           |
 * | `(?i)` / `(?i:…)` / REG_ICASE       | case-insensitive to the end of the group     | JS `i` flag when every letter is      |
 * |                                    |   (alternatives after it included)           |   under it, else `[aA]`-style classes |
 * | `(?<name>…)`, `(?'name'…)`          | named group; plain `(…)` then do not capture | plain `(…)`, others `(?:…)`; numbers kept |
 * | `\k<name>`, `\1`                    | back-reference (fails if group unset)        | `\N` when the group always took part, else reported |
 * | `[[:alpha:]]`, `[[:^digit:]]` …     | POSIX class (ASCII, as for Recog's binary    | the ASCII ranges                      |
 * |                                    |   input)                                     |                                       |
 * | `[a[bc]]`, `[a-z&&[^x]]`            | nested class union / intersection            | one flattened class                   |
 * | `[]a]`                             | `]` first in a class is literal              | `[\]a]`                               |
 * | `\x{H…}`, `\xH`, `\uHHHH`, `\0oo`, `\e`, `\a`, `\cX` | code points and controls     | `\uHHHH` (BMP only)                   |
 * | `\R`                               | line break, atomic                           | `(?=(\r\n\|[\n\v\f\r\x85\u2028\u2029]))\N` |
 * | `(?x)`                             | extended: spaces and `#` comments ignored    | removed                               |
 * | `(?#…)`                            | comment                                      | removed                               |
 * | `\G`, `\K`, `\X`, `\p{…}`, `\g<…>`, `(?(…)…)`, `(?~…)`, `(?u)`, `\M-x`, astral chars in classes, | | reported, never guessed |
 * |   quantified look-arounds, atomic groups inside look-behinds, captures whose Ruby value |  |  |
 * |   could differ (inside a repeated group but not always set)                        |    |  |
 *
 * Two sources come out of one tree: `source`, exact on any input, and `singleLineSource`, used
 * when the input holds no "\n". There Ruby's `^`/`\A` can only match at the start and `$`/`\z`/`\Z`
 * only at the end, so plain JS `^`/`$` (no `m` flag) say the same, and V8 anchors the search
 * instead of trying every position: most banners, headers and titles are one line.
 *
 * Checked against Ruby 3.1 itself (regex.ruby.test.ts, when `ruby` is installed): random patterns
 * over every row above and every Recog pattern against every example of its key agree exactly.
 *
 * Case folding: JS's `i` (no `u`) folds like Ruby on ASCII and by simple upper-casing elsewhere;
 * Ruby folds by Unicode case folding, so a few non-ASCII letters (ſ, K) fold differently.
 * Captures follow Ruby's numbering: `groupMap[n]` is the JS group holding Ruby group n.
 */
import { type Range, caseClosure, complement, hasLetter, litHasLetter, normalise } from './char-ranges.js';
import { type Node, Unconvertible, parse } from './regex-parse.js';
import { exactText, firstChars, requiredLiteral } from './regex-hints.js';

/** Options Ruby compiles a pattern with (Regexp::IGNORECASE, MULTILINE, EXTENDED). */
export interface RubyOptions {
  readonly ignoreCase: boolean;
  /** Ruby's MULTILINE: `.` matches "\n" (dot-all); `^`/`$` are line anchors whatever it is. */
  readonly dotAll: boolean;
  readonly extended: boolean;
}

/** A pattern JavaScript can run with Ruby's meaning. */
export interface ConvertedRegex {
  readonly ok: true;
  /** Exact on any input. */
  readonly source: string;
  /** Exact on inputs holding no "\n" (faster: anchors are JS's own). */
  readonly singleLineSource: string;
  readonly flags: '' | 'i';
  /** Ruby capture groups (named or numbered). */
  readonly captures: number;
  /** groupMap[n] = the JS group number holding Ruby group n (groupMap[0] = 0). */
  readonly groupMap: readonly number[];
  /** Groups in the JS source (Ruby's plus those emulating atomic groups). */
  readonly jsGroups: number;
  /** Ruby group names, by Ruby group number (index 0 unused). */
  readonly names: readonly (string | undefined)[];
  /**
   * A substring every match contains (the longest run of plain characters the pattern always
   * matches), for a cheap `includes` before the regex runs; lower-case ASCII when ignoreCase.
   */
  readonly literal: { readonly text: string; readonly ignoreCase: boolean } | null;
  /**
   * On one-line input: the code units a match's first character can be, when the pattern is
   * anchored at the start (`^` or `\A`) and they are few; null when unknown.
   */
  readonly firstChars: string | null;
  /** On one-line input the pattern matches exactly this text and nothing else (`^text$`); else null. */
  readonly exact: string | null;
}

/** A pattern that cannot be converted, and why; nothing is guessed. */
export interface UnconvertedRegex {
  readonly ok: false;
  readonly reason: string;
  /** Offset in the Ruby pattern where the problem was found. */
  readonly offset: number;
}

export type RegexConversion = ConvertedRegex | UnconvertedRegex;

/** Whether n can match the empty string. */
function nullable(n: Node): boolean {
  switch (n.t) {
    case 'lit':
    case 'set':
    case 'any':
    case 'linebreak':
      return false;
    case 'assert':
    case 'backref':
      return true;
    case 'group':
      return n.k === 'cap' || n.k === 'non' || n.k === 'atomic' ? nullable(n.body) : true;
    case 'rep':
      return n.min === 0 || nullable(n.body);
    case 'seq':
      return n.items.every(nullable);
    case 'alt':
      return n.alts.some(nullable);
  }
}

function hasCapture(n: Node): boolean {
  switch (n.t) {
    case 'group':
      return n.ruby !== undefined || hasCapture(n.body);
    case 'rep':
      return hasCapture(n.body);
    case 'seq':
      return n.items.some(hasCapture);
    case 'alt':
      return n.alts.some(hasCapture);
    default:
      return false;
  }
}

/**
 * Whether n may yield an empty match before trying a non-empty one (conservative: true when
 * unsure). Loops differ there: Onigmo ends a loop at an iteration that matched "", while
 * ECMAScript rejects that iteration (RepeatMatcher's empty check) and backtracks into it for a
 * longer one, so the two find different matches.
 */
function emptyFirst(n: Node): boolean {
  switch (n.t) {
    case 'lit':
    case 'set':
    case 'any':
    case 'linebreak':
      return false;
    case 'assert':
    case 'backref':
      return true;
    case 'group':
      return n.k === 'cap' || n.k === 'non' || n.k === 'atomic' ? emptyFirst(n.body) : true;
    case 'rep':
      return (n.lazy && n.min === 0) || emptyFirst(n.body);
    case 'seq':
      return nullable(n) && n.items.some(emptyFirst);
    case 'alt':
      return n.alts.some((a, i) => emptyFirst(a) || (i < n.alts.length - 1 && nullable(a)));
  }
}

/**
 * A loop over a body that can match "" keeps Ruby's meaning only when the body never prefers ""
 * and holds no capture (Onigmo keeps the captures of an empty pass, ECMAScript drops them).
 * `X?` is not a loop here: it is written as an alternation (see emit).
 */
function loopRisk(n: Node & { t: 'rep' }): string | null {
  if (n.max <= 1 || !nullable(n.body)) return null;
  if (hasCapture(n.body)) return "repeated group that can match empty holds a capture (Ruby keeps the empty pass's capture, JS drops it)";
  if (emptyFirst(n.body)) return 'repeated group that can match empty before a longer match (Ruby ends the loop there, JS backtracks for more)';
  return null;
}

/** Analysis after parsing: back-references and captures whose Ruby meaning JS cannot keep. */
function check(root: Node, groups: number): void {
  const closed = new Set<number>();
  const conditional = new Set<number>();
  const walk = (n: Node, cond: boolean, repeatCond: boolean | null, lookbehind: boolean): void => {
    switch (n.t) {
      case 'seq':
        for (const i of n.items) walk(i, cond, repeatCond, lookbehind);
        return;
      case 'alt':
        for (const a of n.alts) walk(a, true, repeatCond === null ? null : true, lookbehind);
        return;
      case 'rep': {
        const c = cond || n.min === 0;
        // Inside a group repeated more than once, JS clears captures at each pass; Ruby keeps the
        // last value set, so a capture not set on every pass may differ.
        const rc = n.max > 1 ? false : repeatCond === null ? null : repeatCond || n.min === 0;
        if (n.possessive && lookbehind) throw new Unconvertible('possessive quantifier inside a look-behind', 0);
        const risk = loopRisk(n);
        if (risk) throw new Unconvertible(risk, 0);
        walk(n.body, c, rc, lookbehind);
        return;
      }
      case 'group': {
        if (n.k === 'atomic' && lookbehind) throw new Unconvertible('atomic group inside a look-behind', 0);
        const neg = n.k === 'nla' || n.k === 'nlb';
        const lb = lookbehind || n.k === 'lb' || n.k === 'nlb';
        walk(n.body, cond || neg, repeatCond === null ? null : repeatCond || neg, lb);
        if (n.ruby !== undefined) {
          if (repeatCond === true) throw new Unconvertible('capture group inside a repeated group but not set on every pass (Ruby keeps the previous value, JS clears it)', 0);
          if (cond) conditional.add(n.ruby);
          closed.add(n.ruby);
        }
        return;
      }
      case 'backref':
        if (n.n > groups) throw new Unconvertible(`back-reference \\${n.n} to a group that does not exist (a Ruby compile error)`, n.at);
        if (!closed.has(n.n) || conditional.has(n.n) || lookbehind)
          throw new Unconvertible(`back-reference \\${n.n} to a group that may not have matched (Ruby then fails, JS matches empty)`, n.at);
        return;
      default:
        return;
    }
  };
  walk(root, false, null, false);
}

/** Whether every letter-bearing atom is case-insensitive (then JS's `i` flag says it all). */
function caseMode(root: Node): { anyCi: boolean; anyCs: boolean } {
  let anyCi = false;
  let anyCs = false;
  const walk = (n: Node): void => {
    switch (n.t) {
      case 'lit':
        if (litHasLetter(n.s)) (n.ci ? (anyCi = true) : (anyCs = true));
        return;
      case 'set':
        if (hasLetter(n.negated ? complement(n.ranges) : n.ranges)) (n.ci ? (anyCi = true) : (anyCs = true));
        return;
      case 'seq':
        n.items.forEach(walk);
        return;
      case 'alt':
        n.alts.forEach(walk);
        return;
      case 'rep':
      case 'group':
        walk(n.body);
        return;
      default:
        return;
    }
  };
  walk(root);
  return { anyCi, anyCs };
}

function hex(code: number): string {
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

/** One code unit as JS regex text, outside or inside a class. */
function unit(code: number, inClass: boolean): string {
  const ch = String.fromCharCode(code);
  if (/[A-Za-z0-9 _]/.test(ch)) return ch;
  if (code >= 0x21 && code <= 0x7e) {
    if (inClass) return /[\\\]\[^-]/.test(ch) ? `\\${ch}` : ch;
    return /[\\^$.*+?()[\]{}|/]/.test(ch) ? `\\${ch}` : ch;
  }
  return hex(code);
}

function classText(ranges: readonly Range[], negated: boolean): string {
  const norm = normalise(ranges);
  if (norm.length === 0) return negated ? '[\\s\\S]' : '[^\\s\\S]';
  if (!negated && norm.length === 1 && norm[0]?.[0] === norm[0]?.[1]) return unit(norm[0]?.[0] as number, false);
  let body = '';
  for (const [lo, hi] of norm) {
    if (lo === hi) body += unit(lo, true);
    else if (hi === lo + 1) body += unit(lo, true) + unit(hi, true);
    else body += `${unit(lo, true)}-${unit(hi, true)}`;
  }
  return `[${negated ? '^' : ''}${body}]`;
}

interface EmitState {
  /** Next JS group number to hand out. */
  js: number;
  readonly map: number[];
  readonly useI: boolean;
  readonly single: boolean;
}

/** Does this node need "(?:…)" before a quantifier? (Atomic forms and back-references come wrapped.) */
function needsWrap(n: Node): boolean {
  return n.t === 'seq' || n.t === 'alt' || n.t === 'rep' || (n.t === 'lit' && n.s.length > 1);
}

function emit(n: Node, st: EmitState): string {
  switch (n.t) {
    case 'lit': {
      if (n.s.length > 1) return n.s.split('').map((u) => unit(u.charCodeAt(0), false)).join('');
      const code = n.s.charCodeAt(0);
      if (n.ci && !st.useI && litHasLetter(n.s)) return classText(caseClosure([[code, code]]), false);
      return unit(code, false);
    }
    case 'set': {
      const ranges = n.ci && !st.useI ? caseClosure(n.ranges) : n.ranges;
      return classText(ranges, n.negated);
    }
    case 'any':
      return st.single || n.dotAll ? '[\\s\\S]' : '[^\\n]';
    case 'assert':
      switch (n.k) {
        case 'bol':
          return st.single ? '^' : '(?:(?<![\\s\\S])|(?<=\\n)(?=[\\s\\S]))';
        case 'bos':
          return st.single ? '^' : '(?<![\\s\\S])';
        case 'eol':
          return st.single ? '$' : '(?![^\\n])';
        case 'eos':
          return st.single ? '$' : '(?![\\s\\S])';
        case 'eosnl':
          return st.single ? '$' : '(?=\\n?(?![\\s\\S]))';
        case 'wb':
          return '\\b';
        case 'nwb':
          return '\\B';
      }
      return '';
    case 'linebreak': {
      const g = st.js++;
      return `(?:(?=(\\r\\n|[\\n\\v\\f\\r\\x85\\u2028\\u2029]))\\${g})`;
    }
    case 'group': {
      if (n.k === 'atomic') {
        const g = st.js++;
        return `(?:(?=(${emit(n.body, st)}))\\${g})`;
      }
      if (n.k === 'cap') {
        st.map[n.ruby as number] = st.js++;
        return `(${emit(n.body, st)})`;
      }
      const open = { non: '(?:', la: '(?=', nla: '(?!', lb: '(?<=', nlb: '(?<!' }[n.k];
      return `${open}${emit(n.body, st)})`;
    }
    case 'backref': {
      const g = st.map[n.n];
      // check() guarantees the group closed earlier, so its number is known; the group keeps a
      // following digit from joining the number.
      return `(?:\\${g})`;
    }
    case 'rep': {
      if (n.max === 1 && n.min === 0 && nullable(n.body)) {
        // X? as (?:X|) and X?? as (?:|X): the same in Ruby; JS's `?` would reject an empty X
        // (and its captures) and backtrack into X for a longer match.
        if (n.possessive) {
          const g = st.js++;
          return `(?:(?=((?:${emit(n.body, st)}|)))\\${g})`;
        }
        const body = emit(n.body, st);
        return n.lazy ? `(?:|${body})` : `(?:${body}|)`;
      }
      const q = n.min === 0 && n.max === Infinity ? '*' : n.min === 1 && n.max === Infinity ? '+' : n.min === 0 && n.max === 1 ? '?' : n.max === Infinity ? `{${n.min},}` : n.min === n.max ? `{${n.min}}` : `{${n.min},${n.max}}`;
      if (n.possessive) {
        const g = st.js++;
        const body = emit(n.body, st);
        return `(?:(?=(${needsWrap(n.body) ? `(?:${body})` : body}${q}))\\${g})`;
      }
      const body = emit(n.body, st);
      return `${needsWrap(n.body) ? `(?:${body})` : body}${q}${n.lazy ? '?' : ''}`;
    }
    case 'seq':
      return n.items.map((i) => emit(i, st)).join('');
    case 'alt':
      return n.alts.map((a) => emit(a, st)).join('|');
  }
}


/**
 * Converts a Ruby pattern compiled with `options` (as `Regexp.new(pattern, options)` would) into
 * JavaScript, or says why it cannot. Never throws.
 */
export function convertRubyRegex(pattern: string, options: Partial<RubyOptions> = {}): RegexConversion {
  const opts: RubyOptions = { ignoreCase: options.ignoreCase ?? false, dotAll: options.dotAll ?? false, extended: options.extended ?? false };
  try {
    const { root, state } = parse(pattern, opts);
    check(root, state.groups);
    const { anyCi, anyCs } = caseMode(root);
    const useI = anyCi && !anyCs;
    const mk = (single: boolean): { src: string; map: number[]; groups: number } => {
      const st: EmitState = { js: 1, map: [0], useI, single };
      const src = emit(root, st);
      return { src, map: st.map, groups: st.js - 1 };
    };
    const multi = mk(false);
    const single = mk(true);
    const flags = useI ? 'i' : '';
    for (const s of [multi.src, single.src]) {
      try {
        new RegExp(s, flags);
      } catch (e) {
        return { ok: false, reason: `converted pattern rejected by JavaScript: ${(e as Error).message}`, offset: 0 };
      }
    }
    const groupMap: number[] = [];
    for (let g = 0; g <= state.groups; g++) groupMap.push(multi.map[g] ?? 0);
    return {
      ok: true,
      source: multi.src,
      singleLineSource: single.src,
      flags,
      captures: state.groups,
      groupMap,
      jsGroups: multi.groups,
      names: state.names,
      literal: requiredLiteral(root),
      firstChars: firstChars(root, useI),
      exact: exactText(root),
    };
  } catch (e) {
    if (e instanceof Unconvertible) return { ok: false, reason: e.reason, offset: e.offset };
    return { ok: false, reason: `converter failure: ${(e as Error).message}`, offset: 0 };
  }
}

/** A converted pattern, compiled once, matched with Ruby's numbering of captures. */
export interface RubyRegex {
  readonly conversion: ConvertedRegex;
  /**
   * Ruby's `regex.match(text)`: undefined when no match, else captures by Ruby group number
   * (index 0 is the whole match; a group that did not take part is undefined).
   */
  exec(text: string): readonly (string | undefined)[] | undefined;
}

/** Compiles a conversion's two sources (the multi-line one only when first needed). */
export function compileConverted(conversion: ConvertedRegex): RubyRegex {
  const single = new RegExp(conversion.singleLineSource, conversion.flags);
  let multi: RegExp | undefined;
  const { groupMap, captures } = conversion;
  const identity = conversion.jsGroups === captures && groupMap.every((g, i) => g === i);
  return {
    conversion,
    exec(text) {
      const re = text.includes('\n') ? (multi ??= new RegExp(conversion.source, conversion.flags)) : single;
      const m = re.exec(text);
      if (!m) return undefined;
      if (identity) return m;
      const out: (string | undefined)[] = [m[0]];
      for (let g = 1; g <= captures; g++) out.push(m[groupMap[g] as number]);
      return out;
    },
  };
}
