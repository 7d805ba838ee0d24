/**
 * Ruby (Onigmo) regular expressions, as Recog's fingerprints are written, converted to JavaScript
 * ones that match the same strings with the same captures. Recog compiles every pattern with
 * Ruby's `Regexp.new(pattern, options)`; iotclean parses the pattern into a small tree with Ruby's
 * rules and writes JavaScript (no `u` flag) from the tree, so each difference is handled once, here:
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

type Range = readonly [number, number];

type Assert = 'bol' | 'eol' | 'bos' | 'eos' | 'eosnl' | 'wb' | 'nwb';
type GroupKind = 'cap' | 'non' | 'atomic' | 'la' | 'nla' | 'lb' | 'nlb';

type Node =
  | { readonly t: 'lit'; readonly s: string; readonly ci: boolean }
  | { readonly t: 'set'; readonly ranges: readonly Range[]; readonly negated: boolean; readonly ci: boolean }
  | { readonly t: 'any'; readonly dotAll: boolean }
  | { readonly t: 'assert'; readonly k: Assert }
  | { readonly t: 'group'; readonly k: GroupKind; readonly body: Node; readonly ruby?: number; readonly name?: string }
  | { readonly t: 'backref'; readonly n: number; readonly at: number }
  | { readonly t: 'rep'; readonly body: Node; readonly min: number; readonly max: number; readonly lazy: boolean; readonly possessive: boolean }
  | { readonly t: 'seq'; readonly items: readonly Node[] }
  | { readonly t: 'alt'; readonly alts: readonly Node[] }
  | { readonly t: 'linebreak' };

class Unconvertible extends Error {
  constructor(
    readonly reason: string,
    readonly offset: number,
  ) {
    super(reason);
  }
}

/** Onigmo's ONIG_MAX_REPEAT_NUM: larger counts are a Ruby compile error. */
const MAX_REPEAT = 100_000;
const MAX_UNIT = 0xffff;

const DIGIT: readonly Range[] = [[0x30, 0x39]];
const WORD: readonly Range[] = [[0x30, 0x39], [0x41, 0x5a], [0x5f, 0x5f], [0x61, 0x7a]];
// Ruby's \s: [ \t\n\v\f\r] (Onigmo, ASCII), not JS's Unicode white space.
const SPACE: readonly Range[] = [[0x09, 0x0d], [0x20, 0x20]];
const HEX: readonly Range[] = [[0x30, 0x39], [0x41, 0x46], [0x61, 0x66]];

/** POSIX bracket classes, ASCII (Onigmo on binary and ASCII-only strings). */
const POSIX: Readonly<Record<string, readonly Range[]>> = {
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

function normalise(ranges: readonly Range[]): Range[] {
  const sorted = [...ranges].sort((a, b) => a[0] - b[0]);
  const out: [number, number][] = [];
  for (const [lo, hi] of sorted) {
    const last = out[out.length - 1];
    if (last && lo <= last[1] + 1) last[1] = Math.max(last[1], hi);
    else out.push([lo, hi]);
  }
  return out;
}

function complement(ranges: readonly Range[]): Range[] {
  const out: Range[] = [];
  let next = 0;
  for (const [lo, hi] of normalise(ranges)) {
    if (lo > next) out.push([next, lo - 1]);
    next = hi + 1;
  }
  if (next <= MAX_UNIT) out.push([next, MAX_UNIT]);
  return out;
}

function intersect(a: readonly Range[], b: readonly Range[]): Range[] {
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
function caseClosure(ranges: readonly Range[]): Range[] {
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
function partners(c: number): number[] {
  const ch = String.fromCharCode(c);
  const out: number[] = [];
  for (const o of [ch.toLowerCase(), ch.toUpperCase()]) {
    if (o.length === 1 && o !== ch) out.push(o.charCodeAt(0));
  }
  return out;
}

function hasLetter(ranges: readonly Range[]): boolean {
  const t = cased();
  return ranges.some(([lo, hi]) => {
    if (lo <= 0x7a && hi >= 0x41 && !(hi < 0x61 && lo > 0x5a)) return true;
    if (hi < 0x80) return false;
    const i = firstCasedAtLeast(Math.max(lo, 0x80));
    return i < t.length && (t[i] as number) <= hi;
  });
}

function litHasLetter(s: string): boolean {
  return s.toLowerCase() !== s.toUpperCase();
}

interface ParseState {
  readonly src: string;
  pos: number;
  groups: number;
  readonly hasNamed: boolean;
  readonly names: (string | undefined)[];
}

/** Onigmo's rule: a "(?<name>" or "(?'name'" anywhere makes plain "(…)" non-capturing. */
function scanForNamedGroups(src: string): boolean {
  let inClass = 0;
  for (let i = 0; i < src.length; i++) {
    const c = src[i];
    if (c === '\\') {
      i++;
      continue;
    }
    if (c === '[') inClass++;
    else if (c === ']' && inClass > 0) inClass--;
    else if (c === '(' && inClass === 0 && src[i + 1] === '?') {
      const a = src[i + 2];
      const b = src[i + 3] ?? '';
      if (a === "'" || (a === '<' && /[A-Za-z_]/.test(b))) return true;
    }
  }
  return false;
}

function parse(src: string, options: RubyOptions): { root: Node; state: ParseState } {
  const state: ParseState = { src, pos: 0, groups: 0, hasNamed: scanForNamedGroups(src), names: [undefined] };
  const root = parseAlt(state, options);
  if (state.pos < src.length) throw new Unconvertible("unmatched ')' (a Ruby compile error)", state.pos);
  return { root, state };
}

function parseAlt(st: ParseState, opts: RubyOptions): Node {
  const alts: Node[] = [parseSeq(st, opts)];
  while (st.src[st.pos] === '|') {
    st.pos++;
    alts.push(parseSeq(st, opts));
  }
  return alts.length === 1 ? (alts[0] as Node) : { t: 'alt', alts };
}

function skipExtended(st: ParseState, opts: RubyOptions): void {
  if (!opts.extended) return;
  for (;;) {
    const c = st.src[st.pos];
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '\f' || c === '\v') st.pos++;
    else if (c === '#') {
      while (st.pos < st.src.length && st.src[st.pos] !== '\n') st.pos++;
    } else return;
  }
}

function parseSeq(st: ParseState, opts: RubyOptions): Node {
  const items: Node[] = [];
  for (;;) {
    skipExtended(st, opts);
    const c = st.src[st.pos];
    if (c === undefined || c === '|' || c === ')') break;
    const at = st.pos;
    // An isolated option "(?i)" applies to the rest of the enclosing group, alternatives included.
    const iso = c === '(' && st.src[st.pos + 1] === '?' ? isolatedOption(st, opts) : null;
    if (iso) {
      items.push({ t: 'group', k: 'non', body: parseAlt(st, iso) });
      break;
    }
    let atom = parseAtom(st, opts);
    if (atom === null) continue; // a comment
    atom = parseQuantifiers(st, opts, atom, at);
    items.push(atom);
  }
  return items.length === 1 ? (items[0] as Node) : { t: 'seq', items };
}

/** "(?imx-imx)" at st.pos: consume it and return the new options, else null. */
function isolatedOption(st: ParseState, opts: RubyOptions): RubyOptions | null {
  const m = /^\(\?([imxadu]*)(?:-([imx]*))?\)/.exec(st.src.slice(st.pos, st.pos + 16));
  if (!m) return null;
  const next = applyOptions(opts, m[1] ?? '', m[2] ?? '', st.pos);
  st.pos += m[0].length;
  return next;
}

function applyOptions(opts: RubyOptions, on: string, off: string, at: number): RubyOptions {
  if (on.includes('u')) throw new Unconvertible('(?u) makes \\w, \\d, \\s and POSIX classes Unicode-aware', at);
  let { ignoreCase, dotAll, extended } = opts;
  for (const f of on) {
    if (f === 'i') ignoreCase = true;
    if (f === 'm') dotAll = true;
    if (f === 'x') extended = true;
  }
  for (const f of off) {
    if (f === 'i') ignoreCase = false;
    if (f === 'm') dotAll = false;
    if (f === 'x') extended = false;
  }
  return { ignoreCase, dotAll, extended };
}

/** "{n}", "{n,}", "{,m}", "{n,m}" at st.pos, else null (then "{" is a literal, as in Ruby). */
function readInterval(st: ParseState): { min: number; max: number; len: number } | null {
  const m = /^\{(\d*)(,?)(\d*)\}/.exec(st.src.slice(st.pos, st.pos + 24));
  if (!m) return null;
  const [whole, a = '', comma = '', b = ''] = m;
  if (a === '' && b === '') return null;
  if (comma === '' && a === '') return null;
  const min = a === '' ? 0 : Number(a);
  const max = comma === '' ? min : b === '' ? Infinity : Number(b);
  if (min > MAX_REPEAT || (max !== Infinity && max > MAX_REPEAT)) throw new Unconvertible('repeat count over 100000 (a Ruby compile error)', st.pos);
  if (max < min) throw new Unconvertible('repeat upper bound below lower bound (a Ruby compile error)', st.pos);
  return { min, max, len: whole.length };
}

function parseQuantifiers(st: ParseState, opts: RubyOptions, atom: Node, at: number): Node {
  let node = atom;
  for (;;) {
    skipExtended(st, opts);
    const c = st.src[st.pos];
    let min: number;
    let max: number;
    let interval = false;
    if (c === '*') [min, max] = [0, Infinity];
    else if (c === '+') [min, max] = [1, Infinity];
    else if (c === '?') [min, max] = [0, 1];
    else if (c === '{') {
      const iv = readInterval(st);
      if (!iv) return node;
      [min, max] = [iv.min, iv.max];
      interval = true;
      st.pos += iv.len - 1;
    } else return node;
    st.pos++;
    if (node.t === 'assert') throw new Unconvertible('quantifier on an anchor (a Ruby compile error)', at);
    if (node.t === 'group' && node.k !== 'cap' && node.k !== 'non' && node.k !== 'atomic') throw new Unconvertible('quantified look-around', at);
    if (node.t === 'lit' && node.s.length > 1) throw new Unconvertible('quantified character outside the Basic Multilingual Plane', at);
    let lazy = false;
    let possessive = false;
    if (st.src[st.pos] === '?') {
      lazy = true;
      st.pos++;
    } else if (st.src[st.pos] === '+' && !interval) {
      // Ruby: "*+", "++", "?+" are possessive; "{n,m}+" is not (it repeats the interval).
      possessive = true;
      st.pos++;
    }
    node = { t: 'rep', body: node, min, max, lazy, possessive };
  }
}

function parseAtom(st: ParseState, opts: RubyOptions): Node | null {
  const src = st.src;
  const at = st.pos;
  const c = src[st.pos] as string;
  switch (c) {
    case '(':
      return parseGroup(st, opts);
    case '[': {
      st.pos++;
      const { ranges, negated } = parseClass(st, opts);
      return { t: 'set', ranges, negated, ci: opts.ignoreCase };
    }
    case '.':
      st.pos++;
      return { t: 'any', dotAll: opts.dotAll };
    case '^':
      st.pos++;
      return { t: 'assert', k: 'bol' };
    case '$':
      st.pos++;
      return { t: 'assert', k: 'eol' };
    case '*':
    case '+':
    case '?':
      throw new Unconvertible('target of repeat operator is not specified (a Ruby compile error)', at);
    case '{':
      if (readInterval(st)) throw new Unconvertible('target of repeat operator is not specified (a Ruby compile error)', at);
      st.pos++;
      return { t: 'lit', s: '{', ci: false };
    case '\\':
      return parseEscape(st, opts);
    default: {
      const cp = src.codePointAt(st.pos) as number;
      const s = String.fromCodePoint(cp);
      st.pos += s.length;
      return { t: 'lit', s, ci: opts.ignoreCase };
    }
  }
}

function parseGroup(st: ParseState, opts: RubyOptions): Node | null {
  const src = st.src;
  const at = st.pos;
  st.pos++; // "("
  let kind: GroupKind = 'cap';
  let name: string | undefined;
  let inner = opts;
  if (src[st.pos] === '?') {
    const rest = src.slice(st.pos + 1, st.pos + 40);
    if (rest.startsWith('#')) {
      const end = src.indexOf(')', st.pos);
      if (end < 0) throw new Unconvertible('unterminated comment group', at);
      st.pos = end + 1;
      return null;
    }
    const named = /^(?:<([A-Za-z_]\w*)>|'([A-Za-z_]\w*)')/.exec(rest);
    const opt = /^([imxadu]*)(?:-([imx]*))?:/.exec(rest);
    if (rest.startsWith(':')) [kind, st.pos] = ['non', st.pos + 2];
    else if (rest.startsWith('=')) [kind, st.pos] = ['la', st.pos + 2];
    else if (rest.startsWith('!')) [kind, st.pos] = ['nla', st.pos + 2];
    else if (rest.startsWith('<=')) [kind, st.pos] = ['lb', st.pos + 3];
    else if (rest.startsWith('<!')) [kind, st.pos] = ['nlb', st.pos + 3];
    else if (rest.startsWith('>')) [kind, st.pos] = ['atomic', st.pos + 2];
    else if (named) {
      kind = 'cap';
      name = named[1] ?? named[2];
      st.pos += 1 + named[0].length;
    } else if (opt) {
      kind = 'non';
      inner = applyOptions(opts, opt[1] ?? '', opt[2] ?? '', at);
      st.pos += 1 + opt[0].length;
    } else if (rest.startsWith('(')) throw new Unconvertible('conditional group (?(…)…)', at);
    else if (rest.startsWith('~')) throw new Unconvertible('absent operator (?~…)', at);
    else throw new Unconvertible(`unknown group syntax "(?${rest.slice(0, 3)}"`, at);
  } else if (st.hasNamed) {
    // Onigmo: with named groups present, plain parentheses only group.
    kind = 'non';
  }
  let ruby: number | undefined;
  if (kind === 'cap') {
    ruby = ++st.groups;
    st.names[ruby] = name;
  }
  const body = parseAlt(st, inner);
  if (src[st.pos] !== ')') throw new Unconvertible("end pattern with unmatched parenthesis (a Ruby compile error)", at);
  st.pos++;
  return ruby === undefined ? { t: 'group', k: kind, body } : name === undefined ? { t: 'group', k: kind, body, ruby } : { t: 'group', k: kind, body, ruby, name };
}

function charNode(code: number, opts: RubyOptions): Node {
  return { t: 'lit', s: String.fromCharCode(code), ci: opts.ignoreCase };
}

/** Reads hex digits at st.pos (at most max); returns the value and how many were read. */
function readHex(src: string, pos: number, max: number): { value: number; len: number } {
  let len = 0;
  while (len < max && /[0-9A-Fa-f]/.test(src[pos + len] ?? '')) len++;
  return { value: len === 0 ? 0 : parseInt(src.slice(pos, pos + len), 16), len };
}

function readOctal(src: string, pos: number, max: number): { value: number; len: number } {
  let len = 0;
  while (len < max && /[0-7]/.test(src[pos + len] ?? '')) len++;
  return { value: len === 0 ? 0 : parseInt(src.slice(pos, pos + len), 8), len };
}

/**
 * An escape that stands for one code unit (shared by classes and the outside), or undefined when
 * the escape is not of that kind. Advances st.pos past it when it is.
 */
function codeEscape(st: ParseState, inClass: boolean): number | undefined {
  const src = st.src;
  const at = st.pos; // at the backslash
  const e = src[at + 1];
  const simple: Record<string, number> = { t: 0x09, n: 0x0a, r: 0x0d, f: 0x0c, v: 0x0b, a: 0x07, e: 0x1b };
  if (e !== undefined && e in simple) {
    st.pos += 2;
    return simple[e];
  }
  if (inClass && e === 'b') {
    st.pos += 2;
    return 0x08;
  }
  if (e === 'x') {
    if (src[at + 2] === '{') {
      const end = src.indexOf('}', at + 3);
      const hex = end < 0 ? '' : src.slice(at + 3, end).trim();
      if (!/^[0-9A-Fa-f]{1,8}$/.test(hex)) throw new Unconvertible('invalid \\x{…} escape', at);
      const v = parseInt(hex, 16);
      if (v > MAX_UNIT) throw new Unconvertible('\\x{…} beyond the Basic Multilingual Plane', at);
      st.pos = end + 1;
      return v;
    }
    const h = readHex(src, at + 2, 2);
    if (h.len === 0) throw new Unconvertible('invalid \\x escape (a Ruby compile error)', at);
    st.pos += 2 + h.len;
    return h.value;
  }
  if (e === 'u') {
    if (src[at + 2] === '{') {
      const end = src.indexOf('}', at + 3);
      const hex = end < 0 ? '' : src.slice(at + 3, end).trim();
      if (!/^[0-9A-Fa-f]{1,6}$/.test(hex)) throw new Unconvertible('invalid or multi-character \\u{…} escape', at);
      const v = parseInt(hex, 16);
      if (v > MAX_UNIT) throw new Unconvertible('\\u{…} beyond the Basic Multilingual Plane', at);
      st.pos = end + 1;
      return v;
    }
    const h = readHex(src, at + 2, 4);
    if (h.len !== 4) throw new Unconvertible('invalid \\u escape (a Ruby compile error)', at);
    st.pos += 6;
    return h.value;
  }
  if (e === '0') {
    const o = readOctal(src, at + 2, 2);
    st.pos += 2 + o.len;
    return o.value;
  }
  if (e === 'c' || (e === 'C' && src[at + 2] === '-')) {
    const off = e === 'c' ? 2 : 3;
    const ch = src[at + off];
    if (ch === undefined || ch === '\\') throw new Unconvertible('unsupported control escape', at);
    st.pos += off + 1;
    return ch === '?' ? 0x7f : ch.charCodeAt(0) & 0x1f;
  }
  if (e === 'M' && src[at + 2] === '-') throw new Unconvertible('meta escape \\M-x (a byte above 0x7f in Ruby)', at);
  return undefined;
}

/** Set escapes (\d \w \s \h and negations) as ranges, or undefined. */
function setEscape(e: string | undefined): Range[] | undefined {
  switch (e) {
    case 'd':
      return [...DIGIT];
    case 'D':
      return complement(DIGIT);
    case 'w':
      return [...WORD];
    case 'W':
      return complement(WORD);
    case 's':
      return [...SPACE];
    case 'S':
      return complement(SPACE);
    case 'h':
      return [...HEX];
    case 'H':
      return complement(HEX);
    default:
      return undefined;
  }
}

function parseEscape(st: ParseState, opts: RubyOptions): Node {
  const src = st.src;
  const at = st.pos;
  const e = src[at + 1];
  if (e === undefined) throw new Unconvertible('pattern ends with a backslash (a Ruby compile error)', at);
  const set = setEscape(e);
  if (set) {
    st.pos += 2;
    return { t: 'set', ranges: set, negated: false, ci: opts.ignoreCase };
  }
  const code = codeEscape(st, false);
  if (code !== undefined) return charNode(code, opts);
  const asserts: Record<string, Assert> = { A: 'bos', z: 'eos', Z: 'eosnl', b: 'wb', B: 'nwb' };
  if (e in asserts) {
    st.pos += 2;
    return { t: 'assert', k: asserts[e] as Assert };
  }
  if (e === 'R') {
    st.pos += 2;
    return { t: 'linebreak' };
  }
  if (/[1-9]/.test(e)) {
    const digits = /^\d+/.exec(src.slice(at + 1))?.[0] ?? e;
    const n = Number(digits);
    if (n <= 9 || n <= st.groups) {
      if (st.hasNamed) throw new Unconvertible('numbered back-reference with named groups (a Ruby compile error)', at);
      st.pos += 1 + digits.length;
      return { t: 'backref', n, at };
    }
    const o = readOctal(src, at + 1, 3);
    if (o.len === 0) throw new Unconvertible(`invalid back-reference \\${digits}`, at);
    st.pos += 1 + o.len;
    return charNode(o.value, opts);
  }
  if (e === 'k') {
    const m = /^\\k(?:<([^>]*)>|'([^']*)')/.exec(src.slice(at));
    if (!m) throw new Unconvertible('invalid \\k back-reference', at);
    const ref = m[1] ?? m[2] ?? '';
    st.pos += m[0].length;
    if (/^\d+$/.test(ref)) {
      if (st.hasNamed) throw new Unconvertible('numbered back-reference with named groups (a Ruby compile error)', at);
      return { t: 'backref', n: Number(ref), at };
    }
    const idx = st.names.lastIndexOf(ref);
    if (idx <= 0) throw new Unconvertible(`back-reference to an unknown or later group name "${ref}"`, at);
    return { t: 'backref', n: idx, at };
  }
  if ('GKXpPgo'.includes(e)) {
    const what: Record<string, string> = {
      G: '\\G (start of the previous match)',
      K: '\\K (keep)',
      X: '\\X (extended grapheme cluster)',
      p: '\\p{…} Unicode property',
      P: '\\P{…} Unicode property',
      g: '\\g<…> subexpression call',
      o: '\\o{…} octal escape',
    };
    throw new Unconvertible(`${what[e]} has no JavaScript equivalent without the u flag`, at);
  }
  // Any other escaped character stands for itself (Ruby warns on unknown letter escapes).
  const cp = src.codePointAt(at + 1) as number;
  const s = String.fromCodePoint(cp);
  st.pos += 1 + s.length;
  return { t: 'lit', s, ci: opts.ignoreCase };
}

/**
 * A bracket class after its "[": ranges (nested classes and && flattened) and whether it is
 * negated. Leaves st.pos after the closing "]".
 */
function parseClass(st: ParseState, opts: RubyOptions): { ranges: Range[]; negated: boolean } {
  const src = st.src;
  const open = st.pos - 1;
  let negated = false;
  if (src[st.pos] === '^') {
    negated = true;
    st.pos++;
  }
  let ranges: Range[] = [];
  let first = true;
  for (;;) {
    const c = src[st.pos];
    if (c === undefined) throw new Unconvertible('premature end of char-class (a Ruby compile error)', open);
    if (c === ']' && !first) {
      st.pos++;
      break;
    }
    if (c === '&' && src[st.pos + 1] === '&') {
      st.pos += 2;
      // The rest of this class, up to its "]", is the right-hand side of the intersection.
      const right = parseClassRest(st, opts);
      if (ranges.length === 0 && first) throw new Unconvertible('class intersection with an empty left side', st.pos);
      ranges = intersect(ranges, right);
      return { ranges: normalise(ranges), negated };
    }
    first = false;
    const item = classItem(st, opts);
    if (item.kind === 'set') {
      ranges.push(...item.ranges);
      continue;
    }
    // A range "a-z" when "-" follows a single char and is not the last thing before "]".
    if (src[st.pos] === '-' && src[st.pos + 1] !== ']' && src[st.pos + 1] !== undefined) {
      const save = st.pos;
      st.pos++;
      const end = classItem(st, opts);
      if (end.kind === 'set') throw new Unconvertible('char-class range ending in a class (a Ruby compile error)', save);
      if (end.code < item.code) throw new Unconvertible('empty range in char class (a Ruby compile error)', save);
      ranges.push([item.code, end.code]);
      continue;
    }
    ranges.push([item.code, item.code]);
  }
  return { ranges: normalise(ranges), negated };
}

/** The right side of "&&": items up to and including the class's closing "]". */
function parseClassRest(st: ParseState, opts: RubyOptions): Range[] {
  // Reuse parseClass by treating the rest as a class body that may not be empty.
  const { ranges, negated } = parseClassBody(st, opts);
  return negated ? complement(ranges) : ranges;
}

function parseClassBody(st: ParseState, opts: RubyOptions): { ranges: Range[]; negated: boolean } {
  if (st.src[st.pos] === ']') throw new Unconvertible('class intersection with an empty right side', st.pos);
  // parseClass treats a leading "^" as negation; a "^" right after "&&" is literal in Onigmo.
  if (st.src[st.pos] === '^') {
    st.pos++;
    const rest = parseClass(st, opts);
    const caret: Range = [0x5e, 0x5e];
    return { ranges: normalise([caret, ...(rest.negated ? complement(rest.ranges) : rest.ranges)]), negated: false };
  }
  return parseClass(st, opts);
}

type ClassItem = { kind: 'char'; code: number } | { kind: 'set'; ranges: readonly Range[] };

function classItem(st: ParseState, opts: RubyOptions): ClassItem {
  const src = st.src;
  const at = st.pos;
  const c = src[at] as string;
  if (c === '[') {
    const posix = /^\[:(\^?)([a-z]+):\]/.exec(src.slice(at, at + 16));
    if (posix) {
      const base = POSIX[posix[2] ?? ''];
      if (!base) throw new Unconvertible(`unknown POSIX bracket [:${posix[2]}:]`, at);
      st.pos += posix[0].length;
      return { kind: 'set', ranges: posix[1] ? complement(base) : base };
    }
    st.pos++;
    const nested = parseClass(st, opts);
    return { kind: 'set', ranges: nested.negated ? complement(nested.ranges) : nested.ranges };
  }
  if (c === '\\') {
    const e = src[at + 1];
    if (e === undefined) throw new Unconvertible('premature end of char-class (a Ruby compile error)', at);
    const set = setEscape(e);
    if (set) {
      st.pos += 2;
      return { kind: 'set', ranges: set };
    }
    const code = codeEscape(st, true);
    if (code !== undefined) return { kind: 'char', code };
    if (/[1-7]/.test(e)) {
      const o = readOctal(src, at + 1, 3);
      st.pos += 1 + o.len;
      return { kind: 'char', code: o.value };
    }
    if ('AzZBGKRXkgpPo89'.includes(e)) throw new Unconvertible(`escape \\${e} inside a character class`, at);
    const cp = src.codePointAt(at + 1) as number;
    if (cp > MAX_UNIT) throw new Unconvertible('character outside the Basic Multilingual Plane in a class', at);
    st.pos += 2;
    return { kind: 'char', code: cp };
  }
  const cp = src.codePointAt(at) as number;
  if (cp > MAX_UNIT) throw new Unconvertible('character outside the Basic Multilingual Plane in a class', at);
  st.pos++;
  return { kind: 'char', code: cp };
}

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

/** The longest run of always-matched plain characters (see ConvertedRegex.literal). */
function requiredLiteral(root: Node): { text: string; ignoreCase: boolean } | null {
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

function firstChars(root: Node, useI: boolean): string | null {
  if (!anchoredAtStart(root)) return null;
  const f = firstOf(root, useI);
  if (f.chars === null || f.empty || f.chars.size > MAX_FIRST_CHARS * 2) return null;
  return String.fromCharCode(...[...f.chars].sort((a, b) => a - b));
}

/** `^text$` (or \A…\z) of case-sensitive plain characters: the one string it matches on one line. */
function exactText(root: Node): string | null {
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
