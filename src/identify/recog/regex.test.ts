/**
 * The Ruby → JavaScript converter on hand-written cases, one group per construct of the table in
 * regex.ts. Expected results are Ruby's (Onigmo's) behaviour; where JavaScript's own reading of the
 * same text differs, the case says so, so a naive copy of the pattern would fail it.
 */
import { describe, expect, it } from 'vitest';
import { createRng } from '../../core/rng.js';
import { compileConverted, convertRubyRegex, type ConvertedRegex, type RubyOptions } from './regex.js';

function conv(pattern: string, opts: Partial<RubyOptions> = {}): ConvertedRegex {
  const c = convertRubyRegex(pattern, opts);
  if (!c.ok) throw new Error(`expected ${pattern} to convert, got: ${c.reason}`);
  return c;
}

/** Ruby's `pattern.match(text)` captures, or undefined. */
function rb(pattern: string, text: string, opts: Partial<RubyOptions> = {}): readonly (string | undefined)[] | undefined {
  return compileConverted(conv(pattern, opts)).exec(text);
}

const matches = (pattern: string, text: string, opts: Partial<RubyOptions> = {}): boolean => rb(pattern, text, opts) !== undefined;

function reason(pattern: string, opts: Partial<RubyOptions> = {}): string {
  const c = convertRubyRegex(pattern, opts);
  if (c.ok) throw new Error(`expected ${pattern} to be reported, got /${c.source}/${c.flags}`);
  return c.reason;
}

describe('dot and dot-all', () => {
  it('Ruby (?m) and the MULTILINE option make . match a newline', () => {
    expect(matches('a.b', 'a\nb')).toBe(false);
    expect(matches('(?m)a.b', 'a\nb')).toBe(true);
    expect(matches('(?m:a.b)', 'a\nb')).toBe(true);
    expect(matches('a.b', 'a\nb', { dotAll: true })).toBe(true);
  });
  it('. without m matches "\\r" (JavaScript\'s . does not)', () => {
    expect(new RegExp('a.b').test('a\rb')).toBe(false);
    expect(matches('a.b', 'a\rb')).toBe(true);
    expect(matches('a.b', 'a\u2028b')).toBe(true);
  });
  it('a scoped (?m:…) ends with its group', () => {
    expect(matches('(?m:a.)b.c', 'a\nb\nc')).toBe(false);
    expect(matches('(?m:a.)b.c', 'a\nbxc')).toBe(true);
  });
});

describe('line anchors', () => {
  it('^ and $ are line anchors without any flag', () => {
    expect(matches('^b$', 'a\nb\nc')).toBe(true);
    expect(rb('^Server: (.*)$', 'x\nServer: nginx\ny')?.[1]).toBe('nginx');
  });
  it('only "\\n" ends a line: "\\r" is text (JavaScript\'s m flag splits on "\\r")', () => {
    expect(new RegExp('^b', 'm').test('a\rb')).toBe(true);
    expect(matches('^b', 'a\rb')).toBe(false);
    expect(rb('^(.*?)$', 'x\r\ny')?.[1]).toBe('x\r');
    expect(rb('^(.*?)$', 'x\r')?.[1]).toBe('x\r');
  });
  it('^ does not match at the very end after a final newline', () => {
    expect(matches('\\n^', 'a\n')).toBe(false);
    expect(matches('\\n^b', 'a\nb')).toBe(true);
  });
  it('\\A is the start of input, \\z its end, \\Z the end or before a final newline', () => {
    expect(matches('\\Aa', 'b\na')).toBe(false);
    expect(matches('^a', 'b\na')).toBe(true);
    expect(matches('\\Aa', 'a')).toBe(true);
    expect(matches('a\\z', 'a\n')).toBe(false);
    expect(matches('a\\z', 'a')).toBe(true);
    expect(matches('a\\Z', 'a\n')).toBe(true);
    expect(matches('a\\Z', 'a\n\n')).toBe(false);
    expect(matches('a\\Z', 'a')).toBe(true);
    expect(matches('a$', 'a\n\n')).toBe(true);
  });
  it('single-line and multi-line sources agree on one-line input', () => {
    const c = conv('^(?:foo|bar)\\s+(\\d+)\\Z');
    for (const text of ['foo 12', 'bar\t7', 'baz 1', 'foo 1x']) {
      const a = new RegExp(c.source, c.flags).exec(text);
      const b = new RegExp(c.singleLineSource, c.flags).exec(text);
      expect(b?.[1]).toBe(a?.[1]);
    }
  });
});

describe('escapes that differ', () => {
  it('\\h is a hex digit (Onigmo), not horizontal space; \\H its complement', () => {
    expect(matches('^\\h+$', '09afAF')).toBe(true);
    expect(matches('\\h', ' \t')).toBe(false);
    expect(matches('\\h', 'g')).toBe(false);
    expect(matches('^\\H$', 'g')).toBe(true);
    expect(matches('^\\H$', 'a')).toBe(false);
    expect(matches('^[\\h:]+$', 'fe80::1')).toBe(true);
    expect(matches('^[^\\H]$', 'c')).toBe(true);
  });
  it('\\s is ASCII white space only; \\S takes the Unicode spaces JavaScript calls space', () => {
    expect(/\s/.test('\u00a0')).toBe(true);
    expect(matches('\\s', '\u00a0')).toBe(false);
    expect(matches('\\s', '\v')).toBe(true);
    expect(matches('^\\S$', '\u00a0')).toBe(true);
    expect(matches('^[\\S]$', '\u3000')).toBe(true);
  });
  it('code point escapes: \\x{…}, one-digit \\x, \\u, octal, \\e, \\a, \\cX', () => {
    expect(matches('^\\x{41}\\x{3042}$', 'A\u3042')).toBe(true);
    expect(matches('^\\x7$', '\x07')).toBe(true);
    expect(matches('^\\u00e9$', 'é')).toBe(true);
    expect(matches('^\\0\\012$', '\0\n')).toBe(true);
    expect(matches('^\\101$', 'A')).toBe(true);
    expect(matches('^\\e\\a$', '\x1b\x07')).toBe(true);
    expect(matches('^\\cA\\C-b$', '\x01\x02')).toBe(true);
    expect(matches('^[\\x00-\\x1f]+$', '\x01\x1f')).toBe(true);
    expect(reason('\\x{1F600}')).toMatch(/Basic Multilingual Plane/);
  });
  it('an escaped ordinary character stands for itself', () => {
    expect(matches('^\\/\\-\\:\\ $', '/-: ')).toBe(true);
    expect(matches('^a\\{2\\}$', 'a{2}')).toBe(true);
  });
});

describe('quantifiers', () => {
  it('possessive *+ ++ ?+ never give back', () => {
    expect(matches('a*a', 'aaa')).toBe(true);
    expect(matches('a*+a', 'aaa')).toBe(false);
    expect(matches('^a++b$', 'aab')).toBe(true);
    expect(matches('^a++a', 'aaa')).toBe(false);
    expect(matches('^\\d?+1$', '1')).toBe(false);
    expect(matches('^\\d?+1$', '21')).toBe(true);
    expect(matches('^(?:ab)*+ab$', 'ababab')).toBe(false);
  });
  it('{n,m}+ is not possessive in Ruby: it repeats the interval', () => {
    expect(matches('^a{1,2}+$', 'aaaaa')).toBe(true);
    expect(matches('^(?:a{2})+$', 'aaa')).toBe(false);
    expect(matches('^a{2}+$', 'aaaa')).toBe(true);
    expect(matches('^a{2}+$', 'aaa')).toBe(false);
  });
  it('{,m} means {0,m}; a brace that is no interval is literal', () => {
    expect(new RegExp('^a{,2}$').test('aa')).toBe(false);
    expect(matches('^a{,2}$', 'aa')).toBe(true);
    expect(matches('^a{,2}$', '')).toBe(true);
    expect(matches('^a{,2}$', 'aaa')).toBe(false);
    expect(matches('^a{x}$', 'a{x}')).toBe(true);
    expect(matches('^{$', '{')).toBe(true);
  });
  it('lazy and stacked quantifiers', () => {
    expect(rb('^(.+?)(\\d*)$', 'abc123')?.slice(1)).toEqual(['abc', '123']);
    expect(rb('^(a??)a$', 'a')?.[1]).toBe('');
    expect(matches('^(?:x{2}){3}$', 'xxxxxx')).toBe(true);
    expect(matches('^x{2}{3}$', 'xxxxxx')).toBe(true);
    expect(matches('^x{2}{3}$', 'xxxx')).toBe(false);
  });
  it('a repeat with nothing to repeat is a Ruby compile error, reported', () => {
    expect(reason('*a')).toMatch(/target of repeat/);
    expect(reason('a|+')).toMatch(/target of repeat/);
    expect(reason('a{3,2}')).toMatch(/upper bound/);
  });
});

describe('groups', () => {
  it('atomic groups (?>…) do not backtrack', () => {
    expect(matches('(?:a|ab)c', 'abc')).toBe(true);
    expect(matches('(?>a|ab)c', 'abc')).toBe(false);
    expect(matches('^(?>a+)a', 'aaa')).toBe(false);
    expect(matches('^(?>a+)b', 'aaab')).toBe(true);
    expect(matches('^(?>x|y)+z$', 'xyxz')).toBe(true);
  });
  it('captures keep Ruby numbers around emulated atomic groups', () => {
    const c = conv('^(a)*+(b)(?>(c))(d)$');
    expect(c.captures).toBe(4);
    expect(compileConverted(c).exec('aabcd')?.slice(1)).toEqual(['a', 'b', 'c', 'd']);
    expect(c.groupMap.slice(1)).not.toEqual([1, 2, 3, 4]);
  });
  it('named groups capture, and make plain parentheses non-capturing (Onigmo)', () => {
    const c = conv('^(?<product>\\w+)/(\\d+)$');
    expect(c.captures).toBe(1);
    expect(c.names[1]).toBe('product');
    expect(compileConverted(c).exec('nginx/1')?.slice(1)).toEqual(['nginx']);
    expect(rb("^(?'v'\\d)-\\k<v>$", '3-3')?.[1]).toBe('3');
    expect(matches("^(?'v'\\d)-\\k<v>$", '3-4')).toBe(false);
  });
  it('look-arounds', () => {
    expect(matches('foo(?=bar)', 'foobar')).toBe(true);
    expect(matches('foo(?!bar)', 'foobar')).toBe(false);
    expect(matches('(?<=x)y', 'xy')).toBe(true);
    expect(matches('(?<!x)y', 'xy')).toBe(false);
  });
  it('comments and extended mode', () => {
    expect(matches('^a(?#note)b$', 'ab')).toBe(true);
    expect(matches('(?x) ^ a  b # trailing\n c $', 'abc')).toBe(true);
    expect(matches('(?x)^[ ]$', ' ')).toBe(true);
    expect(matches('^a b$', 'a b', { extended: false })).toBe(true);
  });
  it('back-references: kept when the group always took part, reported otherwise', () => {
    expect(matches('^(a|b)\\1$', 'aa')).toBe(true);
    expect(matches('^(a|b)\\1$', 'ab')).toBe(false);
    // Onigmo: \10 with fewer than ten groups is octal 010 (backspace), not group 10.
    expect(matches('^(\\d)\\10$', '1\x08')).toBe(true);
    expect(matches('^(\\d)\\10$', '110')).toBe(false);
    expect(reason('^(a)?\\1$')).toMatch(/may not have matched/);
    expect(reason('^(?:(a)|b)\\1$')).toMatch(/may not have matched/);
    expect(reason('^\\1(a)$')).toMatch(/may not have matched/);
    expect(reason('^(a)\\2$')).toMatch(/does not exist/);
  });
  it('a capture inside a repeat that is not set on every pass is reported (Ruby keeps the old value)', () => {
    expect(reason('^(?:(a)|b)+$')).toMatch(/repeated group/);
    expect(reason('^(?:x(a)?)+$')).toMatch(/repeated group/);
    expect(rb('^(?:(\\d)\\.)+$', '1.2.3.')?.[1]).toBe('3');
    expect(rb('^(?:(a)|b)?c$', 'ac')?.[1]).toBe('a');
  });
});

describe('case-insensitivity', () => {
  it('(?i) at the start or REG_ICASE use the JavaScript i flag', () => {
    expect(conv('(?i)^cisco').flags).toBe('i');
    expect(conv('^(?i)cisco').flags).toBe('i');
    expect(conv('^cisco$', { ignoreCase: true }).flags).toBe('i');
    expect(matches('^(?i)cisco \\d$', 'CISCO 1')).toBe(true);
  });
  it('a scoped (?i:…) is expanded where JavaScript has no scoped flag', () => {
    const c = conv('(?i:abc)D');
    expect(c.flags).toBe('');
    expect(matches('(?i:abc)D', 'AbCD')).toBe(true);
    expect(matches('(?i:abc)D', 'AbCd')).toBe(false);
    expect(matches('(?i:[a-c]+)X', 'aBCX')).toBe(true);
    expect(matches('(?i:[^a])X', 'AX')).toBe(false);
    expect(matches('(?i:é)x', 'Éx')).toBe(true);
  });
  it('(?-i) switches it off again', () => {
    expect(matches('(?i)a(?-i)b', 'Ab')).toBe(true);
    expect(matches('(?i)a(?-i)b', 'AB')).toBe(false);
  });
  it('an isolated option runs to the end of its group, alternatives included (Onigmo)', () => {
    expect(matches('^(?:a(?i)b|c)$', 'aB')).toBe(true);
    expect(matches('^(?:a(?i)b|c)$', 'aC')).toBe(true);
    expect(matches('^(?:a(?i)b|c)$', 'c')).toBe(false);
    expect(matches('^(?:a(?i)b)c$', 'aBC')).toBe(false);
  });
});

describe('character classes', () => {
  it('POSIX brackets', () => {
    expect(matches('^[[:alpha:]]+$', 'abcXYZ')).toBe(true);
    expect(matches('^[[:alpha:]]+$', 'ab1')).toBe(false);
    expect(matches('^[[:^digit:]]+$', 'ab')).toBe(true);
    expect(matches('^[[:^digit:]]+$', 'a1')).toBe(false);
    expect(matches('^[[:xdigit:][:space:]]+$', 'ff 0A')).toBe(true);
    expect(matches('^[[:punct:]]+$', '!-/:@[`{~')).toBe(true);
    expect(reason('[[:nonsense:]]')).toMatch(/POSIX/);
  });
  it('"]" first in a class is literal', () => {
    expect(matches('^[]a]+$', ']a]')).toBe(true);
    expect(matches('^[^]a]$', 'b')).toBe(true);
    expect(matches('^[^]a]$', ']')).toBe(false);
  });
  it('nested classes are a union, && an intersection', () => {
    expect(matches('^[a[xy]]+$', 'axy')).toBe(true);
    expect(matches('^[a-z&&[^aeiou]]+$', 'bcd')).toBe(true);
    expect(matches('^[a-z&&[^aeiou]]+$', 'bad')).toBe(false);
    expect(matches('^[a-f&&d-z]$', 'e')).toBe(true);
    expect(matches('^[a-f&&d-z]$', 'c')).toBe(false);
    expect(matches('^[a[^b]]$', 'c')).toBe(true);
  });
  it('"-" at the edges and after a class is literal; escapes inside classes', () => {
    expect(matches('^[-a]+$', '-a')).toBe(true);
    expect(matches('^[a-]+$', '-a')).toBe(true);
    expect(matches('^[\\w-.]+$', 'a-b.c')).toBe(true);
    expect(matches('^[\\]\\[\\\\^]+$', '][\\^')).toBe(true);
    expect(matches('^[\\b]$', '\b')).toBe(true);
    expect(matches('^[\\d\\s]+$', '1 2')).toBe(true);
    expect(reason('[z-a]')).toMatch(/empty range/);
    expect(reason('[a-\\d]')).toMatch(/range ending in a class/);
  });
});

describe('reported, never guessed', () => {
  it.each([
    ['\\Gfoo', /\\G/],
    ['foo\\Kbar', /\\K/],
    ['\\X', /grapheme/],
    ['\\p{Alpha}', /Unicode property/],
    ['\\g<1>(a)', /subexpression call/],
    ['(a)(?(1)b|c)', /conditional/],
    ['(?~abc)', /absent/],
    ['(?u)\\w', /Unicode-aware/],
    ['\\M-a', /meta/],
    ['[😀]', /Basic Multilingual Plane/],
    ['😀+', /Basic Multilingual Plane/],
    ['(?=a)*', /look-around/],
    ['(?<=(?>a))b', /look-behind/],
    ['(abc', /unmatched/],
    ['abc)', /unmatched/],
    ['[abc', /premature end/],
    ['abc\\', /backslash/],
  ])('%s', (pattern, why) => {
    expect(reason(pattern)).toMatch(why);
  });
});

describe('\\R and literal prefilter', () => {
  it('\\R is a line break, "\\r\\n" taken whole', () => {
    expect(rb('^a(\\R)b$', 'a\r\nb')?.[1]).toBe('\r\n');
    expect(matches('^a\\Rb$', 'a\nb')).toBe(true);
    expect(matches('^a\\R\\nb$', 'a\r\nb')).toBe(false);
  });
  it('finds a substring every match holds', () => {
    expect(conv('^Apache/(\\d+)').literal).toEqual({ text: 'Apache/', ignoreCase: false });
    expect(conv('^(?i)Cisco IOS').literal).toEqual({ text: 'cisco ios', ignoreCase: true });
    expect(conv('^(?:foo|bar)\\d').literal).toBeNull();
    expect(conv('^x?ab(?:cd)+ef').literal?.text).toBe('ab');
    expect(conv('^Welcome to (\\w+) server').literal?.text).toBe('Welcome to ');
  });
});

describe('index hints', () => {
  it('first characters of patterns anchored at the start', () => {
    expect(conv('^Apache').firstChars).toBe('A');
    expect(conv('(?i)^apache').firstChars).toBe('Aa');
    expect(conv('^(?:nginx|Tengine)/').firstChars).toBe('Tn');
    expect(conv('^\\s*x').firstChars).toBe('\t\n\v\f\r x');
    expect(conv('^a?b').firstChars).toBe('ab');
    expect(conv('Apache').firstChars).toBeNull();
    expect(conv('^(?:a|.)').firstChars).toBeNull();
    expect(conv('^[^a]').firstChars).toBeNull();
    expect(conv('^a*').firstChars).toBeNull();
    expect(conv('^(?=a)b').firstChars).toBeNull();
    expect(conv('^x|y').firstChars).toBeNull();
  });
  it('exact texts', () => {
    expect(conv('^Web Configurator$').exact).toBe('Web Configurator');
    expect(conv('^a\\.b\\z').exact).toBe('a.b');
    expect(conv('^1234$', { ignoreCase: true }).exact).toBe('1234');
    expect(conv('^abc$', { ignoreCase: true }).exact).toBeNull();
    expect(conv('^ab.$').exact).toBeNull();
    expect(conv('ab$').exact).toBeNull();
  });
});

describe('fuzz', () => {
  const alphabet = ['a', 'b', 'Z', '0', '9', '.', '*', '+', '?', '{', '}', ',', '1', '(', ')', '[', ']', '^', '$', '|', '\\', '-', ':', '=', '!', '<', '>', '#', "'", 'x', 'h', 'A', 'z', 'd', 's', 'w', 'k', 'i', 'm', '&', ' ', '\n', 'é', '😀', '\0'];
  it('random patterns always give a regex or a reason, and converted ones run', () => {
    const rng = createRng('recog-regex-fuzz');
    let converted = 0;
    for (let i = 0; i < 20_000; i++) {
      let p = '';
      const n = rng.int(24);
      for (let j = 0; j < n; j++) p += rng.pick(alphabet);
      const c = convertRubyRegex(p, { ignoreCase: rng.int(2) === 1, dotAll: rng.int(2) === 1 });
      if (c.ok) {
        converted++;
        const re = compileConverted(c);
        let t = '';
        for (let j = 0, m = rng.int(10); j < m; j++) t += rng.pick(alphabet);
        const m = re.exec(t);
        if (m) expect(m.length).toBe(c.captures + 1);
      } else {
        expect(c.reason.length).toBeGreaterThan(0);
      }
    }
    expect(converted).toBeGreaterThan(1000);
  });
});

describe('differential fuzz against JavaScript where both languages agree', () => {
  // On one-line ASCII input without "\r", these constructs mean the same in Ruby and JavaScript,
  // so the converted pattern must give exactly the captures the raw pattern gives in JS.
  const rng = createRng('recog-regex-diff');
  const atoms = ['a', 'b', '1', '.', '\\d', '\\w', '[ab]', '[^a]', '[a-c1]', ' '];
  const quants = ['', '', '', '*', '+', '?', '{1,2}', '*?', '+?', '??', '{2}'];
  // No "?" on groups: over a body that can match "" Ruby and JS differ there (regex.ruby.test.ts).
  const groupQuants = ['', '', '*', '+', '{1,2}', '*?', '+?', '{2}'];
  const gen = (depth: number): string => {
    let out = '';
    const n = 1 + rng.int(4);
    for (let i = 0; i < n; i++) {
      const r = rng.int(10);
      let atom: string;
      if (depth > 0 && r === 0) atom = `(${gen(depth - 1)})`;
      else if (depth > 0 && r === 1) atom = `(?:${gen(depth - 1)}|${gen(depth - 1)})`;
      else if (depth > 0 && r === 2) atom = `(${gen(depth - 1)}|${gen(depth - 1)})`;
      else atom = rng.pick(atoms);
      out += atom + rng.pick(atom.startsWith('(') ? groupQuants : quants);
    }
    return out;
  };
  // One level of nesting and short inputs keep backtracking of random nested repeats small.
  it('captures are identical on 4,000 random patterns × 8 inputs', () => {
    let compared = 0;
    for (let i = 0; i < 4000; i++) {
      const p = (rng.int(2) ? '^' : '') + gen(1) + (rng.int(2) ? '$' : '');
      const c = convertRubyRegex(p);
      if (!c.ok) {
        expect(c.reason).toMatch(/repeated group/);
        continue;
      }
      const raw = new RegExp(p);
      const re = compileConverted(c);
      for (let j = 0; j < 8; j++) {
        let t = '';
        for (let k = 0, m = rng.int(10); k < m; k++) t += rng.pick(['a', 'b', '1', ' ', '-', 'c']);
        const want = raw.exec(t);
        const got = re.exec(t);
        expect(got ? [...got] : null, `${p} on ${JSON.stringify(t)}`).toEqual(want ? [...want] : null);
        compared++;
      }
    }
    expect(compared).toBeGreaterThan(10_000);
  });
});
