import { describe, expect, it } from 'vitest';
import { isIotcleanError } from '../core/errors.js';
import { createRng } from '../core/rng.js';
import { compareAttribute, compareCpe, cpeKey, cpeMatches, formatCpe, literalValue, parseCpe, tryParseCpe, type CpeValue } from './cpe.js';

const v = (s: string): CpeValue => parseCpe(`cpe:2.3:a:x:${s}`).product;

describe('parseCpe / formatCpe', () => {
  it('reads NVD names with escapes and round-trips them', () => {
    const n = 'cpe:2.3:o:hikvision:ds-2cd2066g2-i\\(u\\)_firmware:-:*:*:*:*:*:*:*';
    const c = parseCpe(n);
    expect(c.part).toEqual({ kind: 'value', text: 'o', lead: 0, trail: 0 });
    expect(c.product).toEqual({ kind: 'value', text: 'ds-2cd2066g2-i(u)_firmware', lead: 0, trail: 0 });
    expect(c.version).toEqual({ kind: 'na' });
    expect(c.update).toEqual({ kind: 'any' });
    expect(formatCpe(c)).toBe(n);
    expect(formatCpe(parseCpe('cpe:2.3:o:hikvision:ds-2cd2026g2-iu\\/sl_firmware:-:*:*:*:*:*:*:*')).includes('iu\\/sl')).toBe(true);
  });
  it('lowercases, pads missing components with ANY and keeps end wildcards', () => {
    const c = parseCpe('cpe:2.3:H:TP-Link:Archer_AX21');
    expect(formatCpe(c)).toBe('cpe:2.3:h:tp-link:archer_ax21:*:*:*:*:*:*:*:*');
    expect(v('foo*')).toEqual({ kind: 'value', text: 'foo', lead: 0, trail: '*' });
    expect(v('??bar')).toEqual({ kind: 'value', text: 'bar', lead: 2, trail: 0 });
    expect(v('\\*lit')).toEqual({ kind: 'value', text: '*lit', lead: 0, trail: 0 });
    expect(formatCpe(parseCpe('cpe:2.3:a:x:\\*lit??'))).toBe('cpe:2.3:a:x:\\*lit??:*:*:*:*:*:*:*:*');
    expect(formatCpe({ ...parseCpe('cpe:2.3:a:x:y'), version: literalValue('-') })).toContain(':-:');
  });
  it('a literal dash is not NA', () => {
    expect(v('\\-')).toEqual({ kind: 'value', text: '-', lead: 0, trail: 0 });
    expect(formatCpe(parseCpe('cpe:2.3:a:x:\\-'))).toBe('cpe:2.3:a:x:\\-:*:*:*:*:*:*:*:*');
  });
  it.each([
    ['cpe:/a:microsoft:ie:8', 'does not start'],
    ['cpe:2.3:a:b:c:d:e:f:g:h:i:j:k:l', 'at most 11'],
    ['cpe:2.3:x:vendor:product', 'part must be'],
    ['cpe:2.3:a:ven*dor:product', 'inside the value'],
    ['cpe:2.3:a:vendor:pro duct', 'printable ASCII'],
    ['cpe:2.3:a:vendor:prod"uct', 'unescaped'],
    ['cpe:2.3:a:vendor:product\\', 'lone backslash'],
  ])('refuses %s with E_CPE naming it', (name, why) => {
    try {
      parseCpe(name);
      expect.unreachable();
    } catch (e) {
      expect(isIotcleanError(e) && e.code).toBe('E_CPE');
      expect((e as Error).message).toContain(why);
      expect((e as Error).message).toContain(JSON.stringify(name).slice(1, 10));
    }
  });
});

describe('compareAttribute (NIST IR 7696 Table 6-2)', () => {
  const ANY = v('*');
  const NA = v('-');
  const i = v('foo');
  const k = v('bar');
  const wild = v('fo*');
  it.each<[string, CpeValue, CpeValue, string]>([
    ['1 ANY/ANY', ANY, ANY, 'equal'],
    ['2 ANY/NA', ANY, NA, 'superset'],
    ['3 ANY/i', ANY, i, 'superset'],
    ['4 ANY/m+wild', ANY, wild, 'undefined'],
    ['5 NA/ANY', NA, ANY, 'subset'],
    ['6 NA/NA', NA, NA, 'equal'],
    ['7 NA/i', NA, i, 'disjoint'],
    ['8 NA/m+wild', NA, wild, 'undefined'],
    ['9 i/ANY', i, ANY, 'subset'],
    ['10 i/NA', i, NA, 'disjoint'],
    ['11 i/k', i, k, 'disjoint'],
    ['12 i/i', i, v('FOO'), 'equal'],
    ['13 i/m+wild', i, wild, 'undefined'],
    ['14 m+wild/ANY', wild, ANY, 'subset'],
    ['15 m+wild/NA', wild, NA, 'disjoint'],
    ['16 m+wild/matching i', wild, i, 'superset'],
    ['17 m+wild/other i', wild, k, 'disjoint'],
    ['18 m+wild/m+wild', wild, v('f*'), 'undefined'],
  ])('row %s', (_row, s, t, rel) => {
    expect(compareAttribute(s, t)).toBe(rel);
  });
  it('? matches one character or none at an end, * any run', () => {
    expect(compareAttribute(v('??ab'), v('xab'))).toBe('superset');
    expect(compareAttribute(v('??ab'), v('xyab'))).toBe('superset');
    expect(compareAttribute(v('??ab'), v('xyzab'))).toBe('disjoint');
    expect(compareAttribute(v('ab?'), v('abc'))).toBe('superset');
    expect(compareAttribute(v('ab?'), v('abcd'))).toBe('disjoint');
    expect(compareAttribute(v('*ab*'), v('zzabzz'))).toBe('superset');
    expect(compareAttribute(v('*ab'), v('zzabzz'))).toBe('disjoint');
    expect(compareAttribute(v('\\*ab'), v('\\*ab'))).toBe('equal');
  });
});

describe('compareCpe and cpeMatches (IR 7696 §6.2 examples)', () => {
  it('an applicability statement with ANY matches a specific name (superset)', () => {
    const src = parseCpe('cpe:2.3:a:microsoft:internet_explorer:8.*:sp?:*:*:*:*:*:*');
    const tgt = parseCpe('cpe:2.3:a:microsoft:internet_explorer:8.0.6001:beta:*:*:*:*:*:*');
    expect(compareCpe(src, tgt)).toBe('disjoint'); // "sp?" does not match "beta"
    const tgt2 = parseCpe('cpe:2.3:a:microsoft:internet_explorer:8.0.6001:sp2:*:*:*:*:*:*');
    expect(compareCpe(src, tgt2)).toBe('superset');
    expect(cpeMatches(src, tgt2)).toBe(true);
    expect(compareCpe(tgt2, tgt2)).toBe('equal');
    expect(compareCpe(parseCpe('cpe:2.3:a:microsoft:internet_explorer'), parseCpe('cpe:2.3:a:microsoft:internet_explorer:8.0'))).toBe('superset');
    expect(compareCpe(parseCpe('cpe:2.3:a:microsoft:internet_explorer:8.0'), parseCpe('cpe:2.3:a:microsoft:internet_explorer'))).toBe('subset');
  });
  it('mixed superset and subset attributes have no set relation', () => {
    expect(compareCpe(parseCpe('cpe:2.3:a:x:y:1.0:*'), parseCpe('cpe:2.3:a:x:y:*:sp1'))).toBe('undefined');
  });
  it('keys names by part:vendor:product when they are literals', () => {
    expect(cpeKey(parseCpe('cpe:2.3:o:tp-link:archer_ax21_firmware:1.1.4'))).toBe('o:tp-link:archer_ax21_firmware');
    expect(cpeKey(parseCpe('cpe:2.3:o:tp-link:archer*'))).toBeNull();
    expect(cpeKey(parseCpe('cpe:2.3:*:tp-link:archer'))).toBeNull();
  });
});

describe('fuzz', () => {
  it('parses random and mutated names without hanging; what parses round-trips', () => {
    const rng = createRng('cpe-fuzz');
    const alphabet = 'cpe:2.3:aoh*-?\\_./()!~"% \u0000\u00e9xyz0123456789';
    const seeds = ['cpe:2.3:o:dlink:dir-605l_firmware:*:*:*:*:*:*:*:*', 'cpe:2.3:h:hikvision:ds-2cd2066g2-i\\(u\\):-:*:*:*:*:*:*:*'];
    let parsed = 0;
    for (let n = 0; n < 5000; n++) {
      let s: string;
      if (rng.int(2) === 0) {
        const base = rng.pick(seeds).split('');
        for (let m = rng.int(6); m >= 0; m--) base.splice(rng.int(base.length + 1), rng.int(2), alphabet[rng.int(alphabet.length)]!);
        s = base.join('');
      } else {
        s = 'cpe:2.3:';
        for (let m = rng.int(60); m > 0; m--) s += alphabet[rng.int(alphabet.length)];
      }
      const c = tryParseCpe(s);
      if (c) {
        parsed++;
        const again = parseCpe(formatCpe(c));
        expect(formatCpe(again)).toBe(formatCpe(c));
        expect(compareCpe(c, again)).toBe(Object.values(c).some((x) => x.kind === 'value' && (x.lead !== 0 || x.trail !== 0)) ? 'undefined' : 'equal');
      }
    }
    expect(parsed).toBeGreaterThan(100);
    expect(tryParseCpe(`cpe:2.3:a:${'x'.repeat(100_000)}`)).toBeUndefined();
  });
});
