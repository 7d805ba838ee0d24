/**
 * The converter against real Ruby: when a `ruby` binary is on PATH (Debian's ruby package), seeded
 * random patterns built from every construct regex.ts handles are run by Onigmo and by the
 * converted JavaScript on the same texts, and the captures must be equal. Texts are ASCII and
 * matched as binary strings, as Recog::Nizer.match does (`unpack("C*").pack("C*")`). Skips, saying
 * so, without Ruby. Also runs Recog's own patterns against every example of their key.
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { createRng } from '../../core/rng.js';
import { compileRecog } from './loader.js';
import { findRecogDir } from './locate.js';
import { compileConverted, convertRubyRegex, type RubyOptions } from './regex.js';

const hasRuby = spawnSync('sh', ['-c', 'command -v ruby'], { stdio: 'ignore' }).status === 0;
if (!hasRuby) console.log('skipping the Ruby differential tests: no ruby on PATH (apt-get install ruby)');

interface Case {
  readonly p: string;
  readonly o: Partial<RubyOptions>;
  readonly texts: readonly string[];
}

// Reads [{p, i, m, texts}] as JSON; prints, per case, "error" or per text null / the captures.
const RUBY = `
require 'json'
cases = JSON.parse(STDIN.read)
out = cases.map do |c|
  opts = 0
  opts |= Regexp::IGNORECASE if c['i']
  opts |= Regexp::MULTILINE if c['m']
  begin
    $VERBOSE = nil
    re = Regexp.new(c['p'], opts)
    c['texts'].map { |t| m = re.match(t.b); m ? m.to_a.map { |x| x && x.force_encoding('UTF-8') } : nil }
  rescue RegexpError, ArgumentError, Encoding::CompatibilityError => e
    'error: ' + e.message
  end
end
puts JSON.generate(out)
`;

function runRuby(cases: readonly Case[]): (readonly (readonly (string | null)[] | null)[] | string)[] {
  const input = JSON.stringify(cases.map((c) => ({ p: c.p, i: c.o.ignoreCase ?? false, m: c.o.dotAll ?? false, texts: c.texts })));
  const r = spawnSync('ruby', ['-e', RUBY], { input, encoding: 'utf8', timeout: 300_000, maxBuffer: 512 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`ruby failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as (readonly (readonly (string | null)[] | null)[] | string)[];
}

function ours(c: Case): (readonly (string | null)[] | null)[] | string {
  const conv = convertRubyRegex(c.p, c.o);
  if (!conv.ok) return `unconverted: ${conv.reason}`;
  const re = compileConverted(conv);
  return c.texts.map((t) => {
    const m = re.exec(t);
    return m ? [...m].map((x) => x ?? null) : null;
  });
}

describe.skipIf(!hasRuby)('converted patterns match what Ruby matches', () => {
  it('seeded random patterns over every handled construct', { timeout: 300_000 }, () => {
    const rng = createRng('recog-ruby-diff');
    const atoms = ['a', 'b', 'A', '1', '.', '\\d', '\\w', '\\s', '\\S', '\\h', '\\H', '[ab]', '[^a]', '[a-c]', '[[:alpha:]]', '[[:^digit:]]', '[\\h-]', '[a-z&&[^b]]', '[]a]', '\\x41', '\\n', '\\r', ' ', '\\t'];
    // End anchors only end patterns: Onigmo's optimiser gets "$" followed by ".*" under (?m) wrong
    // ("ab" =~ /$.*$/m is nil), which Recog never writes.
    const anchors = ['^', '\\A', '\\b'];
    const quants = ['', '', '', '', '*', '+', '?', '{1,2}', '{,2}', '*?', '+?', '*+', '++', '?+', '{2}+', '{2}'];
    const gen = (depth: number): string => {
      let out = '';
      for (let i = 0, n = 1 + rng.int(4); i < n; i++) {
        const r = rng.int(16);
        let atom: string;
        if (r === 0) atom = rng.pick(anchors);
        else if (depth > 0 && r === 1) atom = `(${gen(depth - 1)})`;
        else if (depth > 0 && r === 2) atom = `(?:${gen(depth - 1)}|${gen(depth - 1)})`;
        else if (depth > 0 && r === 3) atom = `(?>${gen(depth - 1)})`;
        else if (depth > 0 && r === 4) atom = `(?i:${gen(depth - 1)})`;
        else if (depth > 0 && r === 5) atom = `(?m:${gen(depth - 1)})`;
        else if (depth > 0 && r === 6) atom = `(?=${gen(depth - 1)})`;
        else atom = rng.pick(atoms);
        out += atom + (atom.length === 1 && anchors.includes(atom) ? '' : rng.pick(quants));
      }
      return out;
    };
    const alphabet = ['a', 'b', 'A', 'B', '1', 'f', '\n', '\r', ' ', '-', '_', '\t', ']'];
    const cases: Case[] = [];
    for (let i = 0; i < 3000; i++) {
      const prefix = rng.pick(['', '', '', '(?i)', '(?m)', '^', '\\A']);
      const p = prefix + gen(1) + rng.pick(['', '', '$', '\\z']);
      const texts: string[] = [];
      for (let j = 0; j < 6; j++) {
        let t = '';
        for (let k = 0, n = rng.int(9); k < n; k++) t += rng.pick(alphabet);
        texts.push(t);
      }
      cases.push({ p, o: { ignoreCase: rng.int(5) === 0, dotAll: rng.int(5) === 0 }, texts });
    }
    const ruby = runRuby(cases);
    let compared = 0;
    let unconverted = 0;
    const mismatches: string[] = [];
    cases.forEach((c, i) => {
      const r = ruby[i];
      const o = ours(c);
      if (typeof o === 'string') {
        unconverted++;
        return;
      }
      if (typeof r === 'string') {
        mismatches.push(`${c.p}: Ruby rejects it (${r}) but it was converted`);
        return;
      }
      c.texts.forEach((t, j) => {
        compared++;
        const want = r?.[j] ?? null;
        const got = o[j] ?? null;
        if (JSON.stringify(want) !== JSON.stringify(got)) mismatches.push(`${JSON.stringify(c.p)} ${JSON.stringify(c.o)} on ${JSON.stringify(t)}: Ruby ${JSON.stringify(want)}, ours ${JSON.stringify(got)}`);
      });
    });
    console.log(`ruby differential: ${compared} comparisons, ${unconverted} of ${cases.length} patterns reported unconverted, ${mismatches.length} mismatches`);
    expect(mismatches.slice(0, 20)).toEqual([]);
    expect(compared).toBeGreaterThan(10_000);
  });

  const recogDir = findRecogDir();
  it.skipIf(!recogDir)("Recog's patterns against every example of their key", { timeout: 300_000 }, () => {
    const compiled = compileRecog(recogDir as string);
    const byKey = new Map<string, string[]>();
    // ASCII examples only: Ruby matches binary strings, JavaScript UTF-16 ones.
    for (const fp of compiled.fingerprints) for (const ex of fp.examples) if (/^[\x00-\x7f]*$/.test(ex.text)) byKey.set(fp.key, [...(byKey.get(fp.key) ?? []), ex.text]);
    const cases: Case[] = [];
    for (const fp of compiled.fingerprints) {
      if (!/^[\x00-\x7f]*$/.test(fp.pattern) || !fp.regex) continue;
      const texts = byKey.get(fp.key) ?? [];
      const o = { ignoreCase: fp.flags.includes('REG_ICASE'), dotAll: fp.flags.some((f) => f !== 'REG_ICASE' && f !== 'IGNORECASE') };
      cases.push({ p: fp.pattern, o, texts });
    }
    const ruby = runRuby(cases);
    let compared = 0;
    const mismatches: string[] = [];
    cases.forEach((c, i) => {
      const r = ruby[i];
      const o = ours(c);
      if (typeof r === 'string' || typeof o === 'string') {
        mismatches.push(`${c.p}: ruby ${typeof r === 'string' ? r : 'ok'}, ours ${typeof o === 'string' ? o : 'ok'}`);
        return;
      }
      c.texts.forEach((t, j) => {
        compared++;
        if (JSON.stringify(r?.[j] ?? null) !== JSON.stringify(o[j] ?? null)) mismatches.push(`${c.p} on ${JSON.stringify(t)}: Ruby ${JSON.stringify(r?.[j])}, ours ${JSON.stringify(o[j])}`);
      });
    });
    console.log(`ruby differential on Recog: ${compared.toLocaleString('en')} pattern × example pairs, ${mismatches.length} mismatches`);
    expect(mismatches.slice(0, 20)).toEqual([]);
    expect(compared).toBeGreaterThan(100_000);
  });
});
