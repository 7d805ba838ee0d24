/**
 * The finding schema: every kind's sample passes; unknown keys, bad values, password-like keys and
 * broken cross-field rules are refused with the field named; hostile text is kept as written; the
 * documentation page is what the tables generate; and a fuzz loop never makes the validator throw
 * anything but E_FINDING.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { caught } from '../../test/caught.js';
import { repoRoot } from '../../test/helpers.js';
import { findingKinds, type Finding } from '../core/records.js';
import { createRng } from '../core/rng.js';
import { checkFinding, findingFields, kindSpecs, periodOf, renderFindingsDoc } from './schema.js';
import { hostileText, sampleFinding } from './test-support.js';

describe('checkFinding', () => {
  it.each(findingKinds.map((k) => [k]))('accepts a valid %s finding as given', (kind) => {
    const f = sampleFinding(kind);
    expect(checkFinding(f)).toEqual(f);
  });

  it('refuses an unknown top-level key, naming it', () => {
    const e = caught(() => checkFinding({ ...sampleFinding('weak-credential'), colour: 'red' }));
    expect(e.code).toBe('E_FINDING');
    expect(e.message).toContain('"colour"');
  });

  it('refuses an unknown details key of the kind, naming it', () => {
    const f = sampleFinding('exposed-service', { details: { reason: 'x', service: 'telnet', banner: 'hi' } });
    expect(caught(() => checkFinding(f)).message).toMatch(/details .*"banner"/);
  });

  it('refuses a details key of another kind', () => {
    const f = sampleFinding('infected', { details: { entry: 'x', username: null, authType: 'telnet' } });
    expect(caught(() => checkFinding(f)).message).toContain('details');
  });

  it.each([
    ['ip', { ip: '127.1.2' }],
    ['port', { port: 70000 }],
    ['severity', { severity: 'urgent' }],
    ['observedAt', { observedAt: '2026-12-01 03:04:05' }],
    ['evidence', { evidence: [] }],
    ['device.type', { device: { type: 'toaster', vendor: null, model: null, firmware: null } }],
    ['device.vendor', { device: { type: null, vendor: 'x'.repeat(5000), model: null, firmware: null } }],
    ['isp', { isp: 'bad isp!' }],
  ] as [string, Partial<Finding>][])('refuses a bad %s, naming it', (field, over) => {
    const e = caught(() => checkFinding({ ...sampleFinding('weak-credential'), ...over } as unknown));
    expect(e.code).toBe('E_FINDING');
    expect(e.message).toContain(`: ${field} `);
  });

  it('refuses a CVE list entry with an epss out of range, naming the path', () => {
    const base = sampleFinding('firmware-vulnerability');
    const f = { ...base, details: { ...base.details, cves: [{ cve: 'CVE-2023-1389', status: 'affected', kev: false, epss: 1.5, cvss: null, level: 'high' }] } };
    expect(caught(() => checkFinding(f)).message).toContain('details.cves.0.epss');
  });

  describe('never a password', () => {
    it.each([
      ['details.password', (f: Finding) => ({ ...f, details: { ...f.details, password: 'admin' } })],
      ['details.extra.Passwd', (f: Finding) => ({ ...f, details: { ...f.details, extra: { Passwd: 'admin' } } })],
      ['details.extra.login.0.secret', (f: Finding) => ({ ...f, details: { ...f.details, extra: { login: [{ secret: 'x' }] } } })],
      ['pwd', (f: Finding) => ({ ...f, pwd: 'admin' })],
    ])('refuses %s', (path, make) => {
      const e = caught(() => checkFinding(make(sampleFinding('weak-credential'))));
      expect(e.code).toBe('E_FINDING');
      expect(e.message).toContain(`: ${path} looks like a password field`);
    });

    it('refuses extra nested too deep to check', () => {
      let deep: unknown = { secret: 'x' };
      for (let i = 0; i < 40; i++) deep = { a: deep };
      const base = sampleFinding('weak-credential');
      expect(caught(() => checkFinding({ ...base, details: { ...base.details, extra: deep } })).message).toMatch(/details\.extra .*nests deeper/);
    });

    it('keeps other extra data', () => {
      const base = sampleFinding('weak-credential');
      const f = { ...base, details: { ...base.details, extra: { banner: 'BusyBox v1.2', tries: 3 } } };
      expect(checkFinding(f)).toEqual(f);
    });
  });

  describe('rules between fields', () => {
    it('a port-bound kind needs a port and protocol, a host-level kind has none', () => {
      expect(caught(() => checkFinding(sampleFinding('weak-credential', { port: null }))).message).toContain(': port is required');
      expect(caught(() => checkFinding(sampleFinding('unauthenticated-admin', { protocol: null }))).message).toContain(': protocol is required');
      expect(caught(() => checkFinding(sampleFinding('infected', { port: 23 }))).message).toContain(': port must be null');
    });

    it('the period follows the kind (UTC month for surveys, UTC day for the darknet)', () => {
      expect(periodOf('weak-credential', '2026-12-31T23:59:59.999Z')).toBe('2026-12');
      expect(periodOf('infected', '2026-12-31T23:59:59.999Z')).toBe('2026-12-31');
      expect(caught(() => checkFinding(sampleFinding('weak-credential', { period: '2026-11' }))).message).toContain(': period must be 2026-12');
      expect(caught(() => checkFinding(sampleFinding('infected', { period: '2026-12' }))).message).toContain(': period must be 2026-12-01');
    });

    it('exactly one of isp and held, and a hold reason that fits the prefix owner', () => {
      const wc = (over: Partial<Finding>) => () => checkFinding(sampleFinding('weak-credential', over));
      expect(caught(wc({ isp: null, held: null })).message).toContain(': held must give a reason');
      expect(caught(wc({ held: 'no-isp' })).message).toContain(': held must be null');
      expect(caught(wc({ isp: null, held: 'no-isp' })).message).toContain(': prefixOwner must be null');
      expect(caught(wc({ isp: null, prefixOwner: null, held: 'not-participating' })).message).toContain(': prefixOwner must name');
      expect(checkFinding(sampleFinding('weak-credential', { isp: null, prefixOwner: 'orphan', held: 'not-participating' })).held).toBe('not-participating');
    });

    it('weak-credential authType equals the protocol', () => {
      const f = sampleFinding('weak-credential', { details: { entry: 'e1', username: 'root', authType: 'ssh' } });
      expect(caught(() => checkFinding(f)).message).toContain(': details.authType must equal protocol');
    });
  });

  it('keeps hostile device text exactly as written', () => {
    const f = sampleFinding('unauthenticated-admin', {
      device: { type: null, vendor: hostileText, model: hostileText, firmware: null },
      details: { title: hostileText, path: '/=cmd|x' },
    });
    const back = checkFinding(f);
    expect(back.device.vendor).toBe(hostileText);
    expect(back.details.title).toBe(hostileText);
  });

  it('fuzz: random mutations return a finding or an E_FINDING, never anything else', () => {
    const rng = createRng('findings-schema-fuzz');
    const values: unknown[] = [null, undefined, 0, -1, 1.5, 1e300, NaN, '', hostileText, 'x'.repeat(5000), [], {}, [1, 2], { a: 1 }, true, '2026-12-01T00:00:00Z', '127.0.0.1'];
    let refused = 0;
    for (let i = 0; i < 3000; i++) {
      const kind = rng.pick(findingKinds);
      const f = structuredClone(sampleFinding(kind)) as unknown as Record<string, unknown>;
      const keys = [...findingFields.map((x) => x.key), 'zz'];
      for (let m = 0; m <= rng.int(3); m++) {
        if (rng.next() < 0.3) {
          const d = f.details as Record<string, unknown>;
          if (typeof d === 'object' && d !== null) d[rng.pick([...kindSpecs[kind].details.map((x) => x.key), 'q'])] = structuredClone(values[rng.int(values.length)]);
        } else f[rng.pick(keys)] = structuredClone(values[rng.int(values.length)]);
      }
      try {
        checkFinding(f);
      } catch (e) {
        expect((e as { code?: string }).code, `${String(e)} for ${JSON.stringify(f)}`).toBe("E_FINDING");
        refused++;
      }
    }
    expect(refused).toBeGreaterThan(1000);
  });
});

describe('docs/findings.md', () => {
  it('is the page the schema tables generate (regenerate with the command in its header)', () => {
    expect(readFileSync(join(repoRoot, 'docs/findings.md'), 'utf8')).toBe(renderFindingsDoc());
  });

  it('documents every field and every kind-specific key', () => {
    const doc = renderFindingsDoc();
    for (const f of findingFields) expect(doc).toContain(`| \`${f.key}\``);
    for (const k of findingKinds) {
      expect(doc).toContain(`### \`${k}\``);
      for (const d of kindSpecs[k].details) expect(doc).toContain(`| \`${d.key}\``);
    }
  });
});
