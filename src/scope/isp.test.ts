import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { IotcleanError } from '../core/errors.js';
import { cidrRange, formatIpv4, parseIpv4 } from '../core/ip.js';
import { compileIspTable, formatIspTable, loadIspTable, parseIspRows, parseIspTable, type IspRow } from './isp.js';
import { createRng } from '../core/rng.js';
import { caught } from '../../test/caught.js';

const ip = (text: string): number => {
  const n = parseIpv4(text);
  if (n === undefined) throw new Error(`test bug: ${text}`);
  return n;
};


const TABLE = `# lab prefix table
prefix,isp_id,name,participating,parent
127.16.0.0/12,wholesale,"Wholesale Net, Inc.",yes,
127.17.0.0/16,reseller,リセラー光,no,wholesale
127.17.5.0/24,tiny,"Tiny ""Fiber""",false,reseller
127.17.5.128/25,hotel,ホテル回線,FALSE,
127.18.0.0/16, wholesale , "Wholesale Net, Inc." , true ,

127.32.0.0/16,indie,独立系,yes,
127.33.0.0/16,orphan,Orphan ISP,no,
`;

describe('parseIspTable', () => {
  const t = parseIspTable(TABLE, 'isp.csv');

  it('reads quoted fields, Japanese names, comments, yes/no/true/false', () => {
    expect(t.isps.map((i) => i.id)).toEqual(['wholesale', 'reseller', 'tiny', 'hotel', 'indie', 'orphan']);
    expect(t.ispById('wholesale')).toEqual({ id: 'wholesale', name: 'Wholesale Net, Inc.', participating: true });
    expect(t.ispById('reseller')).toEqual({ id: 'reseller', name: 'リセラー光', participating: false, parent: 'wholesale' });
    expect(t.ispById('tiny')?.name).toBe('Tiny "Fiber"');
    expect(t.ispById('hotel')?.participating).toBe(false);
    expect(t.prefixesOf('wholesale')).toEqual(['127.16.0.0/12', '127.18.0.0/16']);
    expect(t.prefixesOf('nobody')).toEqual([]);
    expect(t.rows[0]?.line).toBe(3);
  });

  it('picks the longest prefix among nested ones', () => {
    expect(t.lookupText('127.16.0.1')?.id).toBe('wholesale');
    expect(t.lookupText('127.17.0.1')?.id).toBe('reseller');
    expect(t.lookupText('127.17.5.1')?.id).toBe('tiny');
    expect(t.lookupText('127.17.5.127')?.id).toBe('tiny');
    expect(t.lookupText('127.17.5.128')?.id).toBe('hotel');
    expect(t.lookupText('127.17.5.255')?.id).toBe('hotel');
    expect(t.lookupText('127.17.6.0')?.id).toBe('reseller');
    expect(t.lookupText('127.17.4.255')?.id).toBe('reseller');
    expect(t.lookupText('127.17.255.255')?.id).toBe('reseller');
    expect(t.lookupText('127.18.0.0')?.id).toBe('wholesale'); // same ISP in the /12 and the /16
    expect(t.lookupText('127.31.255.255')?.id).toBe('wholesale');
  });

  it('gives undefined for an address in no prefix, and for text that is not a strict address', () => {
    for (const a of ['127.15.255.255', '127.31.255.255x', '127.34.0.0', '0.0.0.0', '255.255.255.255', '10.0.0.1']) {
      expect(t.lookupText(a)).toBeUndefined();
    }
    expect(t.lookupText('127.32.0.0')?.id).toBe('indie');
    expect(t.lookupText('127.33.255.255')?.id).toBe('orphan');
    for (const a of ['127.17.1', '0x7f.17.0.1', 'example.com', '::ffff:127.17.0.1']) expect(t.lookupText(a)).toBeUndefined();
    for (const v of [NaN, -1, 1.5, 2 ** 32]) expect(t.lookup(v)).toBeUndefined();
  });

  it('resolves who is notified: the ISP, else the first participating parent, else nobody', () => {
    const eff = (id: string): string | undefined => {
      const isp = t.ispById(id);
      if (!isp) throw new Error(id);
      return t.effectiveIsp(isp)?.id;
    };
    expect(eff('wholesale')).toBe('wholesale');
    expect(eff('reseller')).toBe('wholesale');
    expect(eff('tiny')).toBe('wholesale'); // tiny → reseller (no) → wholesale (yes)
    expect(eff('hotel')).toBeUndefined();
    expect(eff('indie')).toBe('indie');
    expect(eff('orphan')).toBeUndefined();
  });
});

describe('bad ISP files', () => {
  const H = 'prefix,isp_id,name,participating,parent';
  const bad: [string, string, number | undefined, RegExp][] = [
    ['bad prefix', `${H}\n127.0.0.0/8,a,A,yes,\n127.1,b,B,yes,`, 3, /bad prefix/],
    ['host bits', `# c\n${H}\n127.0.0.1/8,a,A,yes,`, 3, /host bits/],
    ['a bare address', `${H}\n127.0.0.1,a,A,yes,`, 2, /CIDR/],
    ['a range', `${H}\n127.0.0.1-127.0.0.3,a,A,yes,`, 2, /CIDR/],
    ['IPv6', `${H}\n2001:db8::/32,a,A,yes,`, 2, /IPv6 is not supported yet/],
    ['duplicate prefix', `${H}\n127.0.0.0/8,a,A,yes,\n\n127.0.0.0/8,b,B,yes,`, 4, /duplicate prefix 127\.0\.0\.0\/8 \(first at line 2\)/],
    ['unknown parent', `${H}\n127.0.0.0/8,a,A,yes,\n127.1.0.0/16,b,B,no,zz`, 3, /unknown parent "zz"/],
    ['self parent', `${H}\n127.0.0.0/8,a,A,yes,a`, 2, /names itself/],
    ['parent loop', `${H}\n127.0.0.0/16,a,A,no,b\n127.1.0.0/16,b,B,no,a`, 2, /loops back/],
    ['bad yes/no', `${H}\n127.0.0.0/8,a,A,yes,\n127.1.0.0/16,b,B,maybe,`, 3, /participating/],
    ['too few columns', `${H}\n127.0.0.0/8,a,A,yes`, 2, /expected 5 columns, found 4/],
    ['too many columns', `${H}\n127.0.0.0/8,a,A, Inc.,yes,`, 2, /expected 5 columns, found 6/],
    ['bad header', `prefix,isp,name,participating,parent\n127.0.0.0/8,a,A,yes,`, 1, /header/],
    ['no header', '# only comments\n', undefined, /no header/],
    ['unterminated quote', `${H}\n127.0.0.0/8,a,"A,yes,`, 2, /unterminated/],
    ['text after quote', `${H}\n127.0.0.0/8,a,"A"x,yes,`, 2, /after a closing quote/],
    ['stray quote', `${H}\n127.0.0.0/8,a,A"B,yes,`, 2, /stray quote/],
    ['bad id', `${H}\n127.0.0.0/8,a b,A,yes,`, 2, /bad isp_id/],
    ['empty name', `${H}\n127.0.0.0/8,a,,yes,`, 2, /empty name/],
    ['inconsistent ISP rows', `${H}\n127.0.0.0/16,a,A,yes,\n127.1.0.0/16,a,A,no,`, 3, /described differently at line 2/],
  ];
  it.each(bad)('%s', (_what, text, line, message) => {
    const e = caught(() => parseIspTable(text, 'isp.csv'));
    expect(e.code).toBe('E_ISP_FILE');
    expect(e.where.file).toBe('isp.csv');
    expect(e.where.line).toBe(line);
    expect(e.message).toMatch(message);
  });

  it('loadIspTable names an unreadable file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'iotclean-isp-'));
    try {
      const good = join(dir, 'isp.csv');
      await writeFile(good, TABLE);
      expect((await loadIspTable(good)).lookupText('127.17.5.1')?.id).toBe('tiny');
      const missing = join(dir, 'missing.csv');
      const e = await loadIspTable(missing).then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(e).toBeInstanceOf(IotcleanError);
      expect((e as IotcleanError).code).toBe('E_ISP_FILE');
      expect((e as IotcleanError).where.file).toBe(missing);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('formatIspTable', () => {
  it('writes CSV that parses back to the same rows', () => {
    const rows = parseIspRows(TABLE, 'isp.csv');
    const text = formatIspTable(rows);
    expect(text.split('\n')[0]).toBe('prefix,isp_id,name,participating,parent');
    expect(text).toContain('"Tiny ""Fiber"""');
    const strip = (rs: readonly IspRow[]): IspRow[] => rs.map(({ line: _line, ...r }) => r);
    expect(strip(parseIspRows(text, 'round-trip.csv'))).toEqual(strip(rows));
  });

  it('quotes awkward names', () => {
    const rows: IspRow[] = [
      { prefix: '127.0.0.0/8', ispId: 'x', name: ' leading space, comma', participating: true },
      { prefix: '127.1.0.0/16', ispId: 'y', name: '#hash', participating: false, parent: 'x' },
    ];
    const back = parseIspRows(formatIspTable(rows), 't.csv').map(({ line: _line, ...r }) => r);
    expect(back).toEqual(rows);
  });

  it('refuses a line break in a field', () => {
    const e = caught(() => formatIspTable([{ prefix: '127.0.0.0/8', ispId: 'x', name: 'a\nb', participating: true }]));
    expect(e.code).toBe('E_ISP_FILE');
  });
});

describe('compiled lookup against a brute-force reference', () => {
  it('agrees on random nested tables (seeded)', () => {
    const rnd = createRng(7).next;
    let checked = 0;
    for (let round = 0; round < 20; round++) {
      const rows: IspRow[] = [];
      const seen = new Set<string>();
      const ispCount = 1 + Math.floor(rnd() * 12);
      // A narrow window (127.40.0.0/16) so random prefixes nest and touch often; a few short
      // prefixes elsewhere, including the very ends of the address space.
      const want = 5 + Math.floor(rnd() * 300);
      while (rows.length < want) {
        const len = rnd() < 0.05 ? [0, 1, 8, 31, 32][Math.floor(rnd() * 5)] ?? 8 : 16 + Math.floor(rnd() * 17);
        const inWindow = rnd() < 0.9;
        const base = inWindow ? ((ip('127.40.0.0') | Math.floor(rnd() * 65536)) >>> 0) : Math.floor(rnd() * 2 ** 32);
        const r = cidrRange(base, len);
        const prefix = `${formatIpv4(r.start)}/${len}`;
        if (seen.has(prefix)) continue;
        seen.add(prefix);
        const k = Math.floor(rnd() * ispCount);
        rows.push({ prefix, ispId: `isp${k}`, name: `ISP ${k}`, participating: k % 2 === 0 });
      }
      const table = compileIspTable(rows);
      const ref = rows.map((row) => {
        const [a, l] = row.prefix.split('/') as [string, string];
        return { range: cidrRange(ip(a), Number(l)), len: Number(l), id: row.ispId };
      });
      const brute = (addr: number): string | undefined => {
        let best: { len: number; id: string } | undefined;
        for (const p of ref) {
          if (addr >= p.range.start && addr <= p.range.end && (best === undefined || p.len > best.len)) best = p;
        }
        return best?.id;
      };
      const probes: number[] = [0, 0xffffffff];
      for (const p of ref) probes.push(p.range.start, p.range.end, Math.max(0, p.range.start - 1), Math.min(0xffffffff, p.range.end + 1));
      for (let k = 0; k < 2000; k++) probes.push((ip('127.40.0.0') + Math.floor(rnd() * 65536)) >>> 0, Math.floor(rnd() * 2 ** 32));
      for (const a of probes) {
        const got = table.lookup(a)?.id;
        if (got !== brute(a)) throw new Error(`round ${round}: ${formatIpv4(a)} got ${got} want ${brute(a)}`);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(20 * 4000);
  });
});

