import { describe, expect, it } from 'vitest';
import { createRng } from '../../core/rng.js';
import { loadProfiles } from '../../lab/profiles.js';
import { loadDictionary, parseDictionary } from './dictionary.js';
import { orderFor } from './order.js';

const dict = parseDictionary(
  `version: "t-1"
name: order
sources:
  pub: { title: "a public list", url: "https://example.org/list" }
entries:
  - { id: c-001, username: root, password: a, sources: [pub] }
  - { id: c-002, username: root, password: b, sources: [pub], types: [camera] }
  - { id: c-003, username: root, password: c, sources: [pub], vendors: [Acme Corp.] }
  - { id: c-004, username: root, password: d, sources: [pub], vendors: [Acme], models: ["X-100"] }
  - { id: c-005, username: root, password: e, sources: [pub], vendors: [Other], models: ["X-100"] }
  - { id: c-006, username: root, password: f, sources: [pub], vendors: [Acme], models: ["Y-*"], types: [camera] }
  - { id: c-007, username: root, password: g, sources: [pub], types: [router] }
  - { id: c-008, username: root, password: h, sources: [pub], vendors: [ACME], protocols: [ssh] }
  - { id: c-009, username: root, password: i, sources: [pub], protocols: [telnet, ssh] }
`,
  'order.yaml',
);
const ids = (xs: readonly { id: string }[]): string[] => xs.map((x) => x.id);

describe('orderFor', () => {
  it('keeps file order without an identification', () => {
    expect(ids(orderFor(dict, null))).toEqual(ids(dict.entries));
  });

  it('puts the model first, then the vendor, then the type, then the rest, each in file order', () => {
    const o = orderFor(dict, { vendor: 'ACME', product: 'X-100', type: 'camera' });
    expect(ids(o)).toEqual(['c-004', 'c-003', 'c-006', 'c-008', 'c-002', 'c-001', 'c-005', 'c-007', 'c-009']);
  });

  it('matches a series pattern and spelling variants of maker and model', () => {
    const o = orderFor(dict, { vendor: 'acme inc', product: 'y 200 v2', type: null });
    expect(ids(o).slice(0, 4)).toEqual(['c-006', 'c-003', 'c-004', 'c-008']);
  });

  it("does not give another maker's model number the first place", () => {
    // c-005 names X-100 for maker Other: an Acme X-100 must not try it before Acme's own pairs.
    const o = ids(orderFor(dict, { vendor: 'Acme', product: 'X-100', type: null }));
    expect(o.indexOf('c-005')).toBeGreaterThan(o.indexOf('c-008'));
    // With no maker known, a model match counts for any maker's entry.
    expect(ids(orderFor(dict, { vendor: null, product: 'X-100', type: null })).slice(0, 2)).toEqual(['c-004', 'c-005']);
  });

  it('orders by type alone when maker and model are unknown', () => {
    expect(ids(orderFor(dict, { vendor: null, product: null, type: 'router' }))[0]).toBe('c-007');
  });

  it('drops entries limited to other protocols only when a protocol is given', () => {
    expect(ids(orderFor(dict, null, { protocol: 'telnet' }))).toEqual(['c-001', 'c-002', 'c-003', 'c-004', 'c-005', 'c-006', 'c-007', 'c-009']);
    expect(ids(orderFor(dict, null, { protocol: 'ssh' }))).toHaveLength(9);
    expect(ids(orderFor(dict, null))).toHaveLength(9);
  });

  it('is a permutation, deterministic, and never changes the dictionary (seeded)', () => {
    const before = ids(dict.entries);
    const rng = createRng('order');
    const vendors = [null, 'Acme', 'Other', 'nobody', ''];
    const products = [null, 'X-100', 'Y-9', 'Z', ''];
    const types = [null, 'camera', 'router', 'nas'];
    for (let i = 0; i < 200; i++) {
      const hint = { vendor: rng.pick(vendors), product: rng.pick(products), type: rng.pick(types) };
      const a = ids(orderFor(dict, hint));
      expect([...a].sort()).toEqual([...before].sort());
      expect(ids(orderFor(dict, hint))).toEqual(a);
    }
    expect(ids(dict.entries)).toEqual(before);
  });

  it("tries a lab device's weak pair within its first few entries once it is identified", async () => {
    const d = await loadDictionary();
    const firstHit: Record<string, number> = {};
    for (const p of loadProfiles()) {
      if (p.weakCredentials.length === 0 || p.vendor.startsWith('(')) continue;
      const weak = new Set(p.weakCredentials.map((c) => `${c.username}\u0000${c.password}`));
      const order = orderFor(d, { vendor: p.vendor, product: p.model, type: p.type });
      const hit = order.findIndex((e) => weak.has(`${e.username}\u0000${e.password}`));
      // The maker's own pairs come first; a common pair must follow soon after them.
      const makers = d.entries.filter((e) => e.vendors?.some((v) => v.toLowerCase() === p.vendor.toLowerCase())).length;
      firstHit[p.id] = hit < 0 || hit >= Math.max(10, makers + 5) ? -1 : hit;
    }
    expect(Object.keys(firstHit).length).toBeGreaterThan(10);
    // Each identified lab device meets one of its pairs in its first 10 tries, or just after its maker's own pairs.
    expect(Object.entries(firstHit).filter(([, i]) => i < 0)).toEqual([]);
  });
});
