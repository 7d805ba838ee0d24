/** The checker never throws, whatever it is given: it runs at the boundary on other ISPs' objects. */
import { describe, expect, it } from 'vitest';
import { createRng } from '../core/rng.js';
import { buildBundle } from './stix.js';
import { sampleEntries } from './test-support.js';
import { defaultShareOptions } from './types.js';
import { checkStixPattern, validateStixBundle, validateStixObject } from './validate.js';

const junk = [null, undefined, 0, -1, 1e309, '', 'x', '[', "'", true, [], {}, [null], { type: 'bundle' }, 'indicator--', '2026-13-01T00:00:00Z'];

describe('validate fuzz', () => {
  it('random mutations of valid objects give error lists, never exceptions', async () => {
    const { bundle } = await buildBundle(sampleEntries(), { ...defaultShareOptions, identity: 'ISP-A' }, Date.parse('2026-11-28T00:00:00Z'));
    const rnd = createRng(7).next;
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
    let refused = 0;
    for (let n = 0; n < 3000; n++) {
      const o = { ...pick(bundle.objects) } as Record<string, unknown>;
      const keys = Object.keys(o);
      for (let k = 0; k < 1 + Math.floor(rnd() * 3); k++) o[rnd() < 0.8 ? pick(keys) : `k${n}`] = pick(junk);
      const errs = validateStixObject(o);
      expect(Array.isArray(errs)).toBe(true);
      if (errs.length) refused++;
    }
    expect(refused).toBeGreaterThan(2000);
    for (const j of junk) {
      expect(Array.isArray(validateStixObject(j))).toBe(true);
      expect(Array.isArray(validateStixBundle(j, { closed: true }))).toBe(true);
    }
  });

  it('random pattern text is refused or accepted, never thrown on', () => {
    const rnd = createRng(11).next;
    const alphabet = ["[", "]", "(", ")", "'", "\\", ':', '.', '=', '!', '<', '>', ' ', 'a', 'AND', 'OR', 'IN', 't', '1', '*', ',', 'ipv4-addr', 'value', 'WITHIN', 'SECONDS'];
    for (let n = 0; n < 5000; n++) {
      let p = '';
      for (let k = Math.floor(rnd() * 20); k > 0; k--) p += alphabet[Math.floor(rnd() * alphabet.length)];
      expect(Array.isArray(checkStixPattern(p))).toBe(true);
    }
  });
});
