/**
 * Parsing a Ruby (Onigmo) pattern into the small tree regex.ts checks and writes as JavaScript,
 * with Ruby's rules for options, escapes, classes, groups and quantifiers (see the table in regex.ts).
 */
import { DIGIT, HEX, MAX_UNIT, POSIX, type Range, SPACE, WORD, complement, intersect, normalise } from './char-ranges.js';
import type { RubyOptions } from './regex.js';

type Assert = 'bol' | 'eol' | 'bos' | 'eos' | 'eosnl' | 'wb' | 'nwb';
type GroupKind = 'cap' | 'non' | 'atomic' | 'la' | 'nla' | 'lb' | 'nlb';

export type Node =
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

export class Unconvertible extends Error {
  constructor(
    readonly reason: string,
    readonly offset: number,
  ) {
    super(reason);
  }
}

/** Onigmo's ONIG_MAX_REPEAT_NUM: larger counts are a Ruby compile error. */
const MAX_REPEAT = 100_000;
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

export function parse(src: string, options: RubyOptions): { root: Node; state: ParseState } {
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

