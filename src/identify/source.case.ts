/**
 * The conformance suite every RuleSource runs (one line in its own test file): the answers have the
 * RuleMatch shape, name the key asked, stay in 0…1, repeat for the same input, and hostile or random
 * texts under every key the source claims never throw.
 */
import { describe, expect, it } from 'vitest';
import { createRng } from '../core/rng.js';
import type { IdentifyInput, RuleSource } from './source.js';

/** Run the suite on a source; `samples` are texts the source is expected to match. */
export function ruleSourceConformance(name: string, make: () => RuleSource, samples: readonly IdentifyInput[]): void {
  describe(`RuleSource conformance: ${name}`, () => {
    const source = make();

    it('has a name and the keys it answers for', () => {
      expect(source.name).toMatch(/^[a-z0-9-]+$/);
      expect(source.keys.size).toBeGreaterThan(0);
    });

    it('answers its samples with well-formed matches, the same each time', () => {
      for (const input of samples) {
        expect(source.keys.has(input.key), input.key).toBe(true);
        const m = source.match(input);
        expect(m, `${input.key}: ${input.text}`).toBeDefined();
        expect(m?.rule.startsWith(`${source.name}:`)).toBe(true);
        expect(m?.source).toBe(source.name);
        expect(m?.key).toBe(input.key);
        expect(m!.confidence).toBeGreaterThanOrEqual(0);
        expect(m!.confidence).toBeLessThanOrEqual(1);
        for (const [k, v] of Object.entries(m!.params)) {
          expect(typeof k).toBe('string');
          expect(typeof v).toBe('string');
        }
        expect(source.match(input)).toEqual(m);
      }
    });

    it('gives nothing for a key it does not claim', () => {
      expect(source.match({ key: 'no.such.key', text: 'anything' })).toBeUndefined();
    });

    it('never throws on random and hostile texts under its keys (seeded)', { timeout: 60_000 }, () => {
      const rng = createRng(`conformance-${name}`);
      const pieces = ['a', 'Z', '0', ' ', '\u0000', '\r\n', '"', '\\', '(', '[', '{', '*', '?', 'ア', '\u00ff', 'realm="', 'SSH-2.0-', 'login:', '<script>'];
      const keys = [...source.keys];
      for (let i = 0; i < 1000; i++) {
        let text = '';
        const n = rng.int(200);
        for (let j = 0; j < n; j++) text += rng.pick(pieces);
        const m = source.match({ key: rng.pick(keys), text });
        if (m) expect(m.confidence).toBeLessThanOrEqual(1);
      }
      for (const key of keys) source.match({ key, text: 'x'.repeat(4096) });
    });
  });
}
