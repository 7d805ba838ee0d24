import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import type { FlowRecord } from './types.js';
import { importNfdumpCsv, NfdumpCsvParser } from './nfdump.js';

const dir = mkdtempSync(join(tmpdir(), 'iotclean-nfdump-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const fixture = fileURLToPath(new URL('../../test/fixtures/flows/nfdump-1.7.1.csv', import.meta.url));
const header = 'ts,te,td,sa,da,sp,dp,pr,flg,fwd,stos,ipkt,ibyt,opkt,obyt,in,out,sas,das,smk,dmk,dtos,dir,nh,nhb,svln,dvln,ismc,odmc,idmc,osmc,mpls1,mpls2,mpls3,mpls4,mpls5,mpls6,mpls7,mpls8,mpls9,mpls10,cl,sl,al,ra,eng,exid,tr';

describe('nfdump CSV import', () => {
  it('reads real nfdump 1.7.1 output (40 softflowd flows) and stops at its Summary', async () => {
    const got: FlowRecord[] = [];
    const s = await importNfdumpCsv(fixture, async (b) => void got.push(...b));
    expect(s.records).toBe(40);
    expect(s.skipped).toEqual({});
    expect(got.every((f) => f.exporter === 'file:nfdump-1.7.1.csv' && f.sampling === 1)).toBe(true);
    const tcp = got.find((f) => f.proto === 6)!;
    expect(tcp.tcpFlags).toBe(0x1b); // "...AP.SF"
    expect(got.reduce((a, f) => a + f.packets, 0)).toBe(110);
  });

  it('parses times as UTC with durations, ICMP type.code, protocol numbers; skips IPv6 and bad lines with their line numbers', () => {
    const p = new NfdumpCsvParser('x.csv');
    const rows = [
      header,
      '2026-01-01 10:00:00.250,2026-01-01 10:00:02.000,1.750,127.0.0.1,127.0.0.2,0,8.0,ICMP,........,0,0,1,84,0,0',
      '2026-01-01 10:00:00,2026-01-01 10:00:00,0.000,127.0.0.1,127.0.0.2,5,6,47,........,0,0,1,84,0,0',
      '2026-01-01 10:00:00,2026-01-01 10:00:00,0.000,::1,::2,5,6,TCP,........,0,0,1,84,0,0',
      '2026-01-01 10:00:00,2026-01-01 10:00:00,0.000,127.0.0.1,127.0.0.300,5,6,TCP,........,0,0,1,84,0,0',
      '',
      'Summary',
      'flows,bytes,packets,avg_bps,avg_pps,avg_bpp',
      '1,2,3,4,5,6',
    ];
    const got = rows.map((r) => p.line(r)).filter((r): r is FlowRecord => r !== undefined);
    expect(got).toHaveLength(2);
    expect(got[0]).toMatchObject({ startMs: Date.UTC(2026, 0, 1, 10, 0, 0, 250), endMs: Date.UTC(2026, 0, 1, 10, 0, 2), proto: 1, dstPort: 8 * 256, packets: 1, bytes: 84 });
    expect(got[1]!.proto).toBe(47);
    const s = p.stats();
    expect(s.skipped).toEqual({ ipv6: 1, 'bad-line': 1 });
    expect(s.errors).toEqual([{ line: 5, reason: 'bad destination address "127.0.0.300"' }]);
  });

  it('refuses a file that is not nfdump CSV, saying how to make one', async () => {
    const f = join(dir, 'other.csv');
    writeFileSync(f, 'a,b,c\n1,2,3\n');
    await expect(importNfdumpCsv(f, async () => {})).rejects.toThrow(/header lacks ts, sa, da/);
    await expect(importNfdumpCsv(join(dir, 'absent.csv'), async () => {})).rejects.toThrow(/cannot read/);
  });
});
