import { describe, expect, it } from 'vitest';
import type { Endpoint } from '../core/records.js';
import { parseIspTable } from '../scope/isp.js';
import { formatIspSummary, summariseByIsp } from './summary.js';

const table = parseIspTable(
  [
    'prefix,isp_id,name,participating,parent',
    '127.10.0.0/16,big,Big Net,yes,',
    '127.10.16.0/20,small,Small Hikari,yes,big',
    '127.11.0.0/24,off,Off Cable,no,',
  ].join('\n'),
  'isps.csv',
);
const ep = (ip: string, port: number): Endpoint => ({ kind: 'endpoint', ip, port, seenAt: '2026-11-22T00:00:00.000Z', source: 'connect' });

describe('summariseByIsp', () => {
  const endpoints = [ep('127.10.0.5', 23), ep('127.10.0.5', 80), ep('127.10.16.9', 23), ep('127.11.0.1', 40001), ep('127.12.0.1', 22)];
  const targets = [{ start: 0x7f0a0000, end: 0x7f0bffff }]; // 127.10.0.0 - 127.11.255.255
  const rows = summariseByIsp(endpoints, table, targets, (p) => (p === 40001 ? 23 : p));

  it('attributes by longest prefix and counts the nested reseller block once', () => {
    const by = Object.fromEntries(rows.map((r) => [r.ispId, r]));
    expect(by.big).toMatchObject({ addressesSurveyed: 65536 - 4096, hostsWithOpenPorts: 1, openEndpoints: 2, byPort: { 23: 1, 80: 1 } });
    expect(by.small).toMatchObject({ addressesSurveyed: 4096, openEndpoints: 1, parent: 'big' });
    expect(by.off).toMatchObject({ addressesSurveyed: 256, participating: false, byPort: { 23: 1 } }); // mapped back to the device port
  });

  it('keeps endpoints outside every prefix under "-" rather than dropping them', () => {
    expect(rows.at(-1)).toMatchObject({ ispId: '-', openEndpoints: 1, byPort: { 22: 1 } });
    expect(rows.reduce((n, r) => n + r.openEndpoints, 0)).toBe(endpoints.length);
  });

  it('counts surveyed addresses in no ISP\'s prefix in the "-" row', () => {
    // The targets also hold 127.11.1.0 - 127.11.255.255, in no prefix of the table.
    expect(rows.at(-1)).toMatchObject({ ispId: '-', addressesSurveyed: 65536 - 256 });
    expect(rows.reduce((n, r) => n + r.addressesSurveyed, 0)).toBe(2 * 65536);
  });

  it('shows the "-" row for unattributed addresses even when nothing there is open', () => {
    const only = summariseByIsp([ep('127.10.0.5', 23)], table, targets);
    expect(only.at(-1)).toMatchObject({ ispId: '-', addressesSurveyed: 65536 - 256, openEndpoints: 0 });
    expect(formatIspSummary(only)).toContain("(in no ISP's prefix): nobody to notify");
    const inside = summariseByIsp([], table, [{ start: 0x7f0a0000, end: 0x7f0a00ff }]);
    expect(inside.map((r) => r.ispId)).toEqual(['big', 'small', 'off']);
  });

  it('formats one block per ISP', () => {
    const text = formatIspSummary(rows);
    expect(text).toContain('Small Hikari [small] (participating, reseller of big)');
    expect(text).toContain('Off Cable [off] (not participating)');
  });
});
