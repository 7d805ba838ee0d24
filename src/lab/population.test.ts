import { describe, expect, it } from 'vitest';
import { buildLab, defaultMix, parseLabNetwork } from './population.js';
import { formatIpv4, parseIpv4, prefixMask } from '../core/ip.js';
import { isIotcleanError } from '../core/errors.js';
import { formatIspTable, parseIspTable } from '../scope/isp.js';

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (isIotcleanError(e)) return e.code;
    throw e;
  }
  return 'no error';
}

function inPrefix(ip: string, prefix: string): number | undefined {
  const [base, len] = prefix.split('/');
  const n = parseIpv4(ip) ?? 0;
  const l = Number(len);
  return ((n & prefixMask(l)) >>> 0) === parseIpv4(base ?? '') ? l : undefined;
}

describe('lab population', () => {
  it('is deterministic for a seed and differs between seeds', () => {
    const a = buildLab({ seed: 'alpha', devices: 500 });
    const b = buildLab({ seed: 'alpha', devices: 500 });
    const c = buildLab({ seed: 'beta', devices: 500 });
    expect(JSON.stringify(a)).toBe(JSON.stringify(b));
    expect(c.devices.map((d) => d.ip)).not.toEqual(a.devices.map((d) => d.ip));
  });

  it('places 10,000 devices at distinct, realistic addresses inside their ISP prefixes', () => {
    const plan = buildLab({ seed: 7, devices: 10_000 });
    expect(plan.devices).toHaveLength(10_000);
    const ips = plan.devices.map((d) => d.ip);
    expect(new Set(ips).size).toBe(ips.length);
    for (const d of plan.devices) {
      const last = Number(d.ip.split('.')[3]);
      expect(last).not.toBe(0);
      expect(last).not.toBe(255);
      // Longest-prefix match over the ISP table gives the device's ISP.
      let best: { isp: string; len: number } | undefined;
      for (const row of plan.ispRows) {
        const len = inPrefix(d.ip, row.prefix);
        if (len !== undefined && (!best || len > best.len)) best = { isp: row.ispId, len };
      }
      expect(best?.isp).toBe(d.ispId);
    }
    // Sorted by address, with ids in that order.
    const nums = ips.map((ip) => parseIpv4(ip) ?? 0);
    expect(nums).toEqual([...nums].sort((x, y) => x - y));
    expect(plan.devices[0]?.id).toBe('dev-00001');
  });

  it('follows the profile mix and the weak share', () => {
    const plan = buildLab({ seed: 3, devices: 8000, mix: { 'zte-zxhn-h108n': 3, 'hikvision-ds-2cd2032': 1, 'zte-zxhn-h298a-hardened': 1 }, weakShare: 0.5 });
    const count = (id: string): number => plan.devices.filter((d) => d.profile.id === id).length;
    expect(count('zte-zxhn-h108n') / 8000).toBeCloseTo(0.6, 1);
    expect(count('hikvision-ds-2cd2032') / 8000).toBeCloseTo(0.2, 1);
    const canBeWeak = plan.devices.filter((d) => d.profile.weakCredentials.length > 0);
    const weak = canBeWeak.filter((d) => d.weak);
    expect(weak.length / canBeWeak.length).toBeCloseTo(0.5, 1);
    // Weak devices take a pair from their pool; the others get unique credentials.
    for (const d of weak) expect(d.profile.weakCredentials).toContainEqual(d.credentials[0]);
    const strong = plan.devices.filter((d) => !d.weak).map((d) => d.credentials[0]?.password);
    expect(new Set(strong).size).toBe(strong.length);
    for (const d of plan.devices.filter((x) => x.profile.id === 'zte-zxhn-h298a-hardened')) expect(d.weak).toBe(false);
  });

  it('uses every default profile, and honeypots and awkward devices are never weak', () => {
    const plan = buildLab({ seed: 11, devices: 3000 });
    const ids = new Set(plan.devices.map((d) => d.profile.id));
    for (const id of Object.keys(defaultMix)) expect(ids).toContain(id);
    for (const d of plan.devices) if (d.profile.behaviour === 'honeypot' || d.profile.weakCredentials.length === 0) expect(d.weak).toBe(false);
  });

  it('describes at least three ISPs, a reseller with its wholesaler as parent, and a non-participant', () => {
    const plan = buildLab({ devices: 10 });
    expect(plan.isps.length).toBeGreaterThanOrEqual(3);
    const reseller = plan.ispRows.find((r) => r.parent !== undefined);
    expect(reseller).toBeDefined();
    const parentRow = plan.ispRows.find((r) => r.ispId === reseller?.parent);
    expect(parentRow).toBeDefined();
    // The reseller's block lies inside the wholesaler's.
    const [rBase] = (reseller?.prefix ?? '').split('/');
    expect(inPrefix(rBase ?? '', parentRow?.prefix ?? '')).toBeDefined();
    expect(plan.ispRows.some((r) => !r.participating)).toBe(true);
    for (const isp of plan.isps) {
      expect(isp.name).toMatch(/^[A-Za-z ]+$/);
      expect(isp.nameJa).toMatch(/[\u3040-\u30ff\u4e00-\u9fff]/);
    }
    for (const row of plan.ispRows) expect(inPrefix(row.prefix.split('/')[0] ?? '', plan.network)).toBeDefined();
    const csv = formatIspTable(plan.ispRows).trimEnd().split('\n');
    expect(csv[0]).toBe('prefix,isp_id,name,participating,parent');
    expect(csv).toContain(`${reseller?.prefix},${reseller?.ispId},${reseller?.name},yes,${reseller?.parent}`);
    expect(csv.length).toBe(plan.ispRows.length + 1);
  });

  it('writes an ISP table the scope module reads back, with the same longest-prefix answers', () => {
    const plan = buildLab({ seed: 5, devices: 2000 });
    const table = parseIspTable(formatIspTable(plan.ispRows), 'isps.csv');
    expect(table.isps.map((i) => i.id).sort()).toEqual(plan.isps.map((i) => i.id).sort());
    for (const d of plan.devices) expect(table.lookupText(d.ip)?.id).toBe(d.ispId);
    expect(table.ispById('minato')?.parent).toBe('sakura');
    expect(table.ispById('kumo')?.participating).toBe(false);
  });

  it('moves with the network it is given', () => {
    const plan = buildLab({ devices: 50, network: '127.90.0.0/18' });
    for (const d of plan.devices) expect(inPrefix(d.ip, '127.90.0.0/18')).toBe(18);
    expect(formatIpv4(parseIpv4(plan.ispRows[0]?.prefix.split('/')[0] ?? '') ?? 0)).toBe('127.90.0.0');
  });

  it('refuses networks off loopback or holding 127.0.0.1, too many devices and unknown profiles', () => {
    expect(codeOf(() => parseLabNetwork('10.0.0.0/16'))).toBe('E_LAB');
    expect(codeOf(() => parseLabNetwork('127.0.0.0/16'))).toBe('E_LAB');
    expect(codeOf(() => parseLabNetwork('127.77.0.1/16'))).toBe('E_LAB');
    expect(codeOf(() => parseLabNetwork('127.77.0.0/24'))).toBe('E_LAB');
    expect(codeOf(() => buildLab({ devices: 5000, network: '127.77.0.0/20' }))).toBe('E_LAB');
    expect(codeOf(() => buildLab({ devices: 10, mix: { 'no-such-device': 1 } }))).toBe('E_LAB');
    expect(codeOf(() => buildLab({ devices: 0 }))).toBe('E_LAB');
  });
});
