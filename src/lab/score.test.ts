import { describe, expect, it } from 'vitest';
import { groundTruth } from './ground-truth.js';
import { buildLab } from './population.js';
import { sameVendor, scoreIdentifications, scoreServices, type HostClaim } from './score.js';

// One device of each kind, from the real profiles.
const plan = buildLab({ seed: 'score', devices: 400 });
const truth = groundTruth(plan, {});
const first = (identity: string) => truth.devices.find((d) => (d.identity ?? 'known') === identity);

describe('identification score against the ground truth', () => {
  it('the perfect answer scores 100% right, nothing wrong, every unknown kept', () => {
    const claims: HostClaim[] = truth.devices.map((d) =>
      (d.identity ?? 'known') === 'known' ? { ip: d.ip, type: d.type, vendor: d.vendor.toUpperCase(), confidence: 0.9 } : { ip: d.ip, type: null, vendor: null, confidence: 0 },
    );
    const s = scoreIdentifications(truth, claims);
    expect(s.known).toBeGreaterThan(0);
    expect(s.right).toBe(s.known);
    expect(s.rightShare).toBe(1);
    expect(s.wrong).toBe(0);
    expect(s.unknownKept).toBe(s.unknown);
    expect(s.unknown).toBeGreaterThan(0);
    expect(s.ambiguous).toBeGreaterThan(0);
    expect(s.known + s.ambiguous + s.unknown).toBe(s.devices);
  });

  it('counts a wrong vendor at high confidence, a missed device, a guessed unknown and a vendor given to an ambiguous box', () => {
    const known = first('known');
    const unknown = first('unknown');
    const ambiguous = first('ambiguous');
    if (!known || !unknown || !ambiguous) throw new Error('the lab lacks a kind');
    const other = truth.devices.find((d) => (d.identity ?? 'known') === 'known' && d.ip !== known.ip);
    if (!other) throw new Error('one known device only');
    const s = scoreIdentifications(truth, [
      { ip: known.ip, type: known.type, vendor: 'Totally Other Vendor', confidence: 0.95 },
      { ip: unknown.ip, type: 'router', vendor: null, confidence: 0.3 },
      { ip: ambiguous.ip, type: null, vendor: 'Hikvision', confidence: 0.5 },
    ]);
    const v = (ip: string) => s.scored.find((x) => x.ip === ip);
    expect(v(known.ip)).toMatchObject({ verdict: 'wrong', highConfidence: true });
    expect(v(unknown.ip)).toMatchObject({ verdict: 'wrong', highConfidence: false });
    expect(v(ambiguous.ip)).toMatchObject({ verdict: 'wrong', highConfidence: false });
    expect(v(other.ip)?.verdict).toBe('missed');
    expect(s.wrongHighConfidence).toBe(1);
    expect(s.unknownKept).toBe(s.unknown - 1);
    expect(s.right).toBe(0);
  });

  it('compares vendors by letters and digits, allowing the longer legal name', () => {
    expect(sameVendor('TP-LINK', 'TP-Link')).toBe(true);
    expect(sameVendor('I-O DATA', 'IO Data')).toBe(true);
    expect(sameVendor('Hikvision', 'Hangzhou Hikvision Digital Technology')).toBe(true);
    expect(sameVendor('NEC', 'Buffalo')).toBe(false);
    expect(sameVendor('(generic)', null)).toBe(false);
    expect(sameVendor('-', '-')).toBe(false);
  });

  it('scores service software where the truth names it', () => {
    const withSoftware = truth.devices.flatMap((d) => d.services.filter((s) => s.software).map((s) => ({ d, s })));
    expect(withSoftware.length).toBeGreaterThan(0);
    const all = withSoftware.map(({ d, s }) => ({ ip: d.ip, port: s.port, product: s.software?.product ?? null, version: s.software?.version ?? null }));
    expect(scoreServices(truth, all)).toEqual({ expected: all.length, product: all.length, version: all.length });
    const wrongVersion = all.map((c) => ({ ...c, version: '0.0' }));
    const r = scoreServices(truth, wrongVersion);
    expect(r.product).toBe(all.length);
    expect(r.version).toBe(withSoftware.filter(({ s }) => s.software?.version === undefined).length);
    expect(scoreServices(truth, []).product).toBe(0);
  });
});
