import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { IotcleanError } from '../core/errors.js';
import { formatIpv4, parseIpv4 } from '../core/ip.js';
import { checkHost, compileScope, defaultScope, loadScope, parseScope, restrictScope, type CompiledScope } from './scope.js';
import { normaliseRanges, subtractRanges } from './range-set.js';
import { createRng } from '../core/rng.js';
import { reservedBlocks, reservedRemoved } from './reserved.js';
import { caught } from '../../test/caught.js';

const ip = (text: string): number => {
  const n = parseIpv4(text);
  if (n === undefined) throw new Error(`test bug: ${text}`);
  return n;
};

/** Run fn, expect an IotcleanError, return it for further checks. */

/** Loopback is reserved space: every test scope lifts it, as a lab scope file must. */
const LIFT = 'allow-reserved 127.0.0.0/8';
const LOOPBACK = { start: 0x7f000000, end: 0x7fffffff };
const compiled = (text: string): CompiledScope => compileScope(parseScope(`${text}\n${LIFT}`, 'scope.txt'));

const ESCAPES = [
  '0x7f.1',
  '0x7f.0.0.1',
  '2130706433',
  '0177.0.0.1',
  '127.1',
  '127.0.1',
  '127.000.000.001',
  '127.0.0.01',
  ' 127.0.0.1',
  '127.0.0.1 ',
  '127.0.0.1\n',
  '127.0.0.1.',
  '127.0.0.1/32',
  '127.0.0.1-127.0.0.1',
  '::ffff:127.0.0.1',
  '::ffff:10.0.0.1',
  '::ffff:7f00:1',
  '0:0:0:0:0:ffff:127.0.0.1',
  '[::1]',
  '::1',
  'localhost',
  'localhost.',
  'example.com',
  '127.0.0.1:80',
  '127.0.0.1%lo',
  '',
  '127.0.0.256',
  '-1',
  '1e3',
  '+127.0.0.1',
  '127.0.0.1\u0000',
  '１２７.0.0.1',
];

describe('parseScope', () => {
  it('reads includes, excludes, bare targets, comments and blank lines', () => {
    const s = parseScope(
      ['# lab scope', '', 'include 127.0.0.0/8   # all of loopback', 'exclude 127.0.0.1', '127.9.0.0-127.9.0.9', '  exclude   127.5.0.0/16  ', 'allow-reserved 127.0.0.0/8'].join('\n'),
      'lab.scope',
    );
    expect(s.source).toBe('lab.scope');
    expect(s.includes).toEqual([
      { start: ip('127.0.0.0'), end: ip('127.255.255.255') },
      { start: ip('127.9.0.0'), end: ip('127.9.0.9') },
    ]);
    expect(s.excludes).toEqual([
      { start: ip('127.0.0.1'), end: ip('127.0.0.1') },
      { start: ip('127.5.0.0'), end: ip('127.5.255.255') },
    ]);
    expect(s.allowReserved).toEqual([LOOPBACK]);
  });

  it('accepts CRLF line ends and a byte-order mark', () => {
    const s = parseScope('\uFEFFinclude 127.0.0.0/24\r\nexclude 127.0.0.7\r\nallow-reserved 127.0.0.0/24\r\n', 'win.scope');
    expect(compileScope(s).size).toBe(255);
  });

  const bad: [string, number, RegExp][] = [
    ['include 127.0.0.0/8\ninclude 127.0.0.1/8', 2, /host bits/],
    ['include 127.0.0.0/33', 1, /prefix length/],
    ['include 127.0.0.0/08', 1, /prefix length/],
    ['include 127.0.0.0/', 1, /prefix length/],
    ['# c\ninclude 127.0.0.9-127.0.0.1', 2, /ends before it starts/],
    ['include 127.1', 1, /inet_aton would read it as 127\.0\.0\.1/],
    ['include 0x7f.0.0.1', 1, /inet_aton would read it as 127\.0\.0\.1/],
    ['include 0177.0.0.1', 1, /inet_aton would read it as 127\.0\.0\.1/],
    ['include 2130706433', 1, /inet_aton would read it as 127\.0\.0\.1/],
    ['include 127.0.0.1.', 1, /trailing dot/],
    ['include localhost', 1, /hostnames are not scanned/],
    ['\n\ninclude ::1', 3, /IPv6 is not supported yet/],
    ['include 127.0.0.0/8\nexclude fe80::/10', 2, /IPv6 is not supported yet/],
    ['include ::ffff:127.0.0.1', 1, /IPv4-mapped/],
    ['include', 1, /needs a target/],
    ['include 127.0.0.0/8 127.1.0.0/16', 1, /cannot read/],
    ['inclde 127.0.0.0/8', 1, /cannot read/],
    ['Include 127.0.0.0/8', 1, /cannot read/],
    ['include 127.0.0.0/8\nexclude 127.0.0.256', 2, /not an IPv4 address/],
    ['include 127.0.0.1-127.0.0.x', 1, /not an IPv4 address|hostnames/],
  ];
  it.each(bad)('refuses %j at line %i', (text, line, message) => {
    const e = caught(() => parseScope(text, 'bad.scope'));
    expect(e.code).toBe('E_SCOPE_FILE');
    expect(e.where.file).toBe('bad.scope');
    expect(e.where.line).toBe(line);
    expect(e.message).toMatch(message);
  });

  it('hints the network address for host bits set', () => {
    const e = caught(() => parseScope('include 127.0.0.1/8', 'bad.scope'));
    expect(e.where.hint).toContain('127.0.0.0/8');
    expect(e.format()).toContain('bad.scope:1:');
  });

  it('refuses a scope without includes', () => {
    for (const text of ['', '# nothing\n\n', 'exclude 127.0.0.0/8']) {
      const e = caught(() => parseScope(text, 'empty.scope'));
      expect(e.code).toBe('E_SCOPE_FILE');
      expect(e.message).toBe('scope file includes no addresses');
      expect(e.where.file).toBe('empty.scope');
    }
  });

  it('refuses a scope whose exclusions remove everything', () => {
    const e = caught(() => parseScope('include 127.0.0.0/24\nexclude 127.0.0.0/16', 'all-out.scope'));
    expect(e.code).toBe('E_SCOPE_FILE');
    expect(e.message).toMatch(/remove every included address/);
  });
});

describe('loadScope', () => {
  it('reads a file, and names the file when it cannot', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'iotclean-scope-'));
    try {
      const path = join(dir, 'lab.scope');
      await writeFile(path, 'include 127.0.0.0/16\nallow-reserved 127.0.0.0/8\n');
      expect(compileScope(await loadScope(path)).size).toBe(65536);
      const missing = join(dir, 'missing.scope');
      const e = await loadScope(missing).then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(e).toBeInstanceOf(IotcleanError);
      expect((e as IotcleanError).code).toBe('E_SCOPE_FILE');
      expect((e as IotcleanError).where.file).toBe(missing);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('compileScope', () => {
  it('default scope is loopback only', () => {
    const s = compileScope(defaultScope());
    expect(s.size).toBe(2 ** 24);
    for (const a of ['127.0.0.0', '127.0.0.1', '127.255.255.255', '127.1.2.3']) expect(s.allows(ip(a))).toBe(true);
    for (const a of ['10.0.0.1', '192.168.1.1', '8.8.8.8', '126.255.255.255', '128.0.0.0', '0.0.0.0', '255.255.255.255']) {
      expect(s.allows(ip(a))).toBe(false);
    }
  });

  it('refuses one below and one above each allowed range', () => {
    const s = compiled('include 127.0.1.0/24\ninclude 127.0.3.10-127.0.3.20\ninclude 127.200.0.0/16');
    for (const r of s.ranges) {
      expect(s.allows(r.start)).toBe(true);
      expect(s.allows(r.end)).toBe(true);
      expect(s.allows(r.start - 1)).toBe(false);
      expect(s.allows(r.end + 1)).toBe(false);
    }
    expect(s.ranges).toHaveLength(3);
  });

  it('exclusions win: exclude inside include', () => {
    const s = compiled('include 127.0.0.0/24\nexclude 127.0.0.64/26');
    expect(s.allows(ip('127.0.0.63'))).toBe(true);
    expect(s.allows(ip('127.0.0.64'))).toBe(false);
    expect(s.allows(ip('127.0.0.127'))).toBe(false);
    expect(s.allows(ip('127.0.0.128'))).toBe(true);
    expect(s.size).toBe(256 - 64);
    expect(s.ranges).toEqual([
      { start: ip('127.0.0.0'), end: ip('127.0.0.63') },
      { start: ip('127.0.0.128'), end: ip('127.0.0.255') },
    ]);
  });

  it('exclusions win: include inside exclude, in either order of lines', () => {
    for (const text of ['include 127.0.0.0/8\nexclude 127.0.0.0/16\ninclude 127.0.5.0/24', 'exclude 127.0.0.0/16\ninclude 127.0.5.0/24\ninclude 127.0.0.0/8']) {
      const s = compiled(text);
      expect(s.allows(ip('127.0.5.1'))).toBe(false);
      expect(s.allows(ip('127.0.255.255'))).toBe(false);
      expect(s.allows(ip('127.1.0.0'))).toBe(true);
      expect(s.size).toBe(2 ** 24 - 2 ** 16);
    }
  });

  it('exclusions win: exclude at the edges and straddling an edge', () => {
    const s = compiled('include 127.0.0.0/24\nexclude 127.0.0.0\nexclude 127.0.0.255\nexclude 127.0.0.250-127.0.1.10\nexclude 126.255.255.0-127.0.0.3');
    expect(s.allows(ip('127.0.0.0'))).toBe(false);
    expect(s.allows(ip('127.0.0.3'))).toBe(false);
    expect(s.allows(ip('127.0.0.4'))).toBe(true);
    expect(s.allows(ip('127.0.0.249'))).toBe(true);
    expect(s.allows(ip('127.0.0.250'))).toBe(false);
    expect(s.allows(ip('127.0.0.255'))).toBe(false);
    expect(s.allows(ip('127.0.1.0'))).toBe(false);
    expect(s.ranges).toEqual([{ start: ip('127.0.0.4'), end: ip('127.0.0.249') }]);
  });

  it('merges overlapping and adjacent includes', () => {
    const s = compiled('127.0.0.0/25\n127.0.0.128/25\n127.0.0.100-127.0.1.5\n127.0.1.6');
    expect(s.ranges).toEqual([{ start: ip('127.0.0.0'), end: ip('127.0.1.6') }]);
    expect(s.size).toBe(256 + 7);
  });

  it('allows nothing that is not an unsigned 32-bit integer', () => {
    const s = compileScope(defaultScope());
    const base = ip('127.0.0.1');
    for (const v of [NaN, Infinity, -Infinity, base + 0.5, -1, -base, base + 2 ** 32, 2 ** 53]) expect(s.allows(v)).toBe(false);
    expect(s.allows('2130706433' as unknown as number)).toBe(false);
    expect(s.allows(undefined as unknown as number)).toBe(false);
  });

  it('covers the whole address space edges without overflow', () => {
    const every = reservedBlocks.filter((e) => e.liftable).map((e) => e.range);
    const s = compileScope({ includes: [{ start: 0, end: 0xffffffff }], excludes: [{ start: 0xfffffffe, end: 0xfffffffe }], allowReserved: every, source: 'all' });
    // 0.0.0.0 and 255.255.255.255 can never be lifted; the exclusion wins over a lift.
    expect(s.size).toBe(2 ** 32 - 3);
    expect(s.allows(0)).toBe(false);
    expect(s.allows(1)).toBe(true);
    expect(s.allows(0xfffffffd)).toBe(true);
    expect(s.allows(0xfffffffe)).toBe(false);
    expect(s.allows(0xffffffff)).toBe(false);
  });

  it('refuses malformed ranges built in code', () => {
    for (const r of [{ start: 5, end: 4 }, { start: -1, end: 4 }, { start: 0, end: 2 ** 32 }, { start: 1.5, end: 4 }]) {
      expect(caught(() => compileScope({ includes: [r], excludes: [], allowReserved: [], source: 'code' })).code).toBe('E_SCOPE_FILE');
      expect(caught(() => compileScope({ includes: [LOOPBACK], excludes: [], allowReserved: [r], source: 'code' })).code).toBe('E_SCOPE_FILE');
    }
  });

  it('cannot be widened through the exposed ranges', () => {
    const s = compiled('include 127.0.0.0/24');
    expect(() => (s.ranges as unknown as { start: number }[]).push({ start: 0 })).toThrow();
    expect(() => {
      (s.ranges[0] as { end: number }).end = 0xffffffff;
    }).toThrow();
    expect(s.allows(ip('127.0.1.0'))).toBe(false);
  });

  it('agrees with a brute-force reference on random scopes (seeded)', () => {
    const rnd = createRng(42).next;
    for (let round = 0; round < 50; round++) {
      // A small window so includes and excludes overlap a lot.
      const base = ip('127.3.0.0');
      const span = 2048;
      const pick = (): { start: number; end: number } => {
        const a = base + Math.floor(rnd() * span);
        const b = Math.min(base + span - 1, a + Math.floor(rnd() * 200));
        return { start: a, end: b };
      };
      const includes = Array.from({ length: 1 + Math.floor(rnd() * 8) }, pick);
      const excludes = Array.from({ length: Math.floor(rnd() * 8) }, pick);
      const s = compileScope({ includes, excludes, allowReserved: [LOOPBACK], source: 'random' });
      let count = 0;
      for (let a = base - 5; a < base + span + 5; a++) {
        const want = includes.some((r) => a >= r.start && a <= r.end) && !excludes.some((r) => a >= r.start && a <= r.end);
        if (want) count++;
        if (s.allows(a) !== want) throw new Error(`round ${round}: ${formatIpv4(a)} allows=${s.allows(a)} want=${want}`);
      }
      expect(s.size).toBe(count);
      for (let k = 0; k < s.size; k += 7) expect(s.allows(s.addressAt(k))).toBe(true);
    }
  });

  it('addressAt enumerates the allowed set in order', () => {
    const s = compiled('include 127.0.0.0/30\ninclude 127.0.1.0/31\nexclude 127.0.0.1');
    const all = Array.from({ length: s.size }, (_, k) => formatIpv4(s.addressAt(k)));
    expect(all).toEqual(['127.0.0.0', '127.0.0.2', '127.0.0.3', '127.0.1.0', '127.0.1.1']);
    expect(() => s.addressAt(s.size)).toThrow(RangeError);
    expect(() => s.addressAt(-1)).toThrow(RangeError);
  });
});

describe('checkHost', () => {
  const s = compiled('include 127.0.0.0/16\nexclude 127.0.9.0/24');

  it('returns the address for a strict dotted quad in scope', () => {
    expect(checkHost(s, '127.0.0.1')).toBe(ip('127.0.0.1'));
    expect(checkHost(s, '127.0.255.255')).toBe(ip('127.0.255.255'));
  });

  it.each(ESCAPES)('refuses the spelling %j', (host) => {
    const e = caught(() => checkHost(s, host));
    expect(e.code).toBe('E_SCOPE_DENIED');
  });

  it('says why', () => {
    expect(caught(() => checkHost(s, 'router.example')).message).toMatch(/hostnames are not scanned: give an address/);
    expect(caught(() => checkHost(s, 'localhost')).message).toMatch(/hostnames are not scanned/);
    const mapped = caught(() => checkHost(s, '::ffff:10.0.0.1'));
    expect(mapped.message).toMatch(/IPv4-mapped/);
    expect(mapped.where.hint).toContain('10.0.0.1');
    expect(caught(() => checkHost(s, '::ffff:7f00:1')).where.hint).toContain('127.0.0.1');
    expect(caught(() => checkHost(s, '2001:db8::1')).message).toMatch(/IPv6 is not supported yet/);
    expect(caught(() => checkHost(s, '0x7f.1')).message).toMatch(/127\.0\.0\.1/);
    expect(caught(() => checkHost(s, '127.0.0.0/24')).message).toMatch(/not one address/);
    expect(caught(() => checkHost(s, '127.0.0.1:80')).message).toMatch(/includes a port/);
    expect(caught(() => checkHost(s, 'dead-beef')).message).toMatch(/hostnames are not scanned/);
    expect(caught(() => checkHost(s, '127.0.0.1.')).message).toMatch(/trailing dot/);
    expect(caught(() => checkHost(s, ' 127.0.0.1')).message).toMatch(/whitespace/);
    expect(caught(() => checkHost(s, '127.1.0.0')).message).toMatch(/outside the authorised scope/);
    expect(caught(() => checkHost(s, '127.0.9.1')).message).toMatch(/excluded/);
  });

  it('refuses one below and one above the scope, and non-loopback space under the default scope', () => {
    expect(caught(() => checkHost(s, '126.255.255.255')).code).toBe('E_SCOPE_DENIED');
    expect(caught(() => checkHost(s, '127.1.0.0')).code).toBe('E_SCOPE_DENIED');
    expect(checkHost(s, '127.0.8.255')).toBe(ip('127.0.8.255'));
    expect(caught(() => checkHost(s, '127.0.9.0')).code).toBe('E_SCOPE_DENIED');
    expect(caught(() => checkHost(s, '127.0.9.255')).code).toBe('E_SCOPE_DENIED');
    expect(checkHost(s, '127.0.10.0')).toBe(ip('127.0.10.0'));
    const loopback = compileScope(defaultScope());
    for (const host of ['10.0.0.1', '192.168.1.1', '8.8.8.8']) expect(caught(() => checkHost(loopback, host)).code).toBe('E_SCOPE_DENIED');
    expect(checkHost(loopback, '127.0.0.1')).toBe(ip('127.0.0.1'));
    expect(checkHost(loopback, '127.255.255.255')).toBe(ip('127.255.255.255'));
  });
});

describe('restrictScope', () => {
  const s = compiled('include 127.0.0.0/16\nexclude 127.0.9.0/24');

  it('narrows to named targets, dropping excluded addresses', () => {
    const r = restrictScope(s, ['127.0.8.0/23', '127.0.20.1']);
    expect(r.size).toBe(256 + 1);
    expect(r.allows(ip('127.0.8.1'))).toBe(true);
    expect(r.allows(ip('127.0.9.1'))).toBe(false);
    expect(r.allows(ip('127.0.20.1'))).toBe(true);
    expect(r.allows(ip('127.0.20.2'))).toBe(false);
    expect(r.allows(ip('127.0.0.1'))).toBe(false);
  });

  it('refuses targets outside the scope, naming them', () => {
    for (const t of ['10.0.0.1', '127.1.0.0', '127.0.0.0/15', '126.255.255.255-127.0.0.5']) {
      const e = caught(() => restrictScope(s, ['127.0.0.1', t]));
      expect(e.code).toBe('E_SCOPE_DENIED');
      expect(e.message).toContain(t);
    }
  });

  it('refuses a wholly excluded target', () => {
    const e = caught(() => restrictScope(s, ['127.0.9.0/25']));
    expect(e.code).toBe('E_SCOPE_DENIED');
    expect(e.message).toMatch(/excluded/);
  });

  it('refuses malformed targets and an empty list as argument errors', () => {
    for (const t of ['127.1', 'localhost', '::1', '127.0.0.1/8']) expect(caught(() => restrictScope(s, [t])).code).toBe('E_ARGS');
    expect(caught(() => restrictScope(s, [])).code).toBe('E_ARGS');
  });

  it('can only narrow: restricting twice stays inside the first restriction', () => {
    const once = restrictScope(s, ['127.0.0.0/24']);
    expect(caught(() => restrictScope(once, ['127.0.1.0'])).code).toBe('E_SCOPE_DENIED');
    expect(restrictScope(once, ['127.0.0.5']).size).toBe(1);
  });
});

describe('range-set', () => {
  it('subtract handles one exclusion spanning several includes', () => {
    const a = normaliseRanges([{ start: 0, end: 9 }, { start: 20, end: 29 }, { start: 40, end: 49 }]);
    expect(subtractRanges(a, [{ start: 5, end: 44 }])).toEqual([{ start: 0, end: 4 }, { start: 45, end: 49 }]);
  });
});


describe('reserved address space', () => {
  const raw = (text: string): CompiledScope => compileScope(parseScope(text, 'world.scope'));
  const brief = ['0.0.0.0/8', '10.0.0.0/8', '100.64.0.0/10', '127.0.0.0/8', '169.254.0.0/16', '172.16.0.0/12', '192.0.0.0/24', '192.0.2.0/24', '192.88.99.0/24', '192.168.0.0/16', '198.18.0.0/15', '198.51.100.0/24', '203.0.113.0/24', '224.0.0.0/4', '240.0.0.0/4', '255.255.255.255/32'];

  it('lists each block with its name and RFC', () => {
    const cidrs = reservedBlocks.map((e) => e.cidr);
    for (const c of brief) expect(cidrs).toContain(c);
    for (const e of reservedBlocks) {
      expect(e.name.length).toBeGreaterThan(2);
      expect(e.rfc).toMatch(/^RFC \d+/);
    }
  });

  it('include 0.0.0.0/0 yields the whole space minus the blocklist', () => {
    const s = raw('include 0.0.0.0/0');
    const blocked = normaliseRanges(reservedBlocks.map((e) => e.range));
    expect(s.ranges).toEqual(subtractRanges([{ start: 0, end: 0xffffffff }], blocked));
    expect(s.size).toBeGreaterThan(2 ** 24);
    for (const a of ['0.0.0.0', '0.1.2.3', '226.1.2.3', '224.0.0.1', '239.255.255.250', '255.255.255.255', '240.0.0.1', '10.0.0.1', '127.0.0.1', '169.254.1.1', '192.168.1.1', '100.64.0.1', '198.18.0.1', '203.0.113.9']) {
      expect(s.allows(ip(a)), a).toBe(false);
    }
    for (const a of ['1.0.0.0', '8.8.8.8', '126.255.255.255', '128.0.0.0', '223.255.255.255']) expect(s.allows(ip(a)), a).toBe(true);
    expect(caught(() => checkHost(s, '226.1.2.3')).message).toMatch(/226\.1\.2\.3 is reserved \(224\.0\.0\.0\/4 Multicast, RFC 5771\) and world\.scope does not lift it/);
    expect(caught(() => checkHost(s, '0.0.0.0')).message).toMatch(/reserved/);
  });

  it('allow-reserved lifts exactly the named part of a block, and exclusions still win', () => {
    const s = raw('include 0.0.0.0/0\nallow-reserved 127.1.0.0/16\nexclude 127.1.9.0/24');
    expect(s.allows(ip('127.1.0.1'))).toBe(true);
    expect(s.allows(ip('127.1.255.255'))).toBe(true);
    expect(s.allows(ip('127.1.9.1'))).toBe(false);
    expect(s.allows(ip('127.0.255.255'))).toBe(false);
    expect(s.allows(ip('127.2.0.0'))).toBe(false);
    expect(s.allows(ip('10.0.0.1'))).toBe(false);
    // An excluded lifted address is "excluded", a reserved one not lifted is "reserved".
    expect(caught(() => checkHost(s, '127.1.9.1')).message).toMatch(/is excluded by world\.scope$/);
    expect(caught(() => checkHost(s, '127.2.0.1')).message).toMatch(/is reserved \(127\.0\.0\.0\/8 Loopback/);
  });

  it('a lift alone authorises nothing: only included space is reachable', () => {
    const s = raw('include 127.5.0.0/24\nallow-reserved 127.0.0.0/8');
    expect(s.size).toBe(256);
    expect(s.allows(ip('127.6.0.1'))).toBe(false);
  });

  it('lifting 0.0.0.0/8 or 240.0.0.0/4 never lifts 0.0.0.0 or 255.255.255.255', () => {
    const s = raw('include 0.0.0.0/8\ninclude 240.0.0.0/4\nallow-reserved 0.0.0.0/8\nallow-reserved 240.0.0.0/4');
    expect(s.allows(0)).toBe(false);
    expect(s.allows(1)).toBe(true);
    expect(s.allows(0xffffffff)).toBe(false);
    expect(s.allows(0xfffffffe)).toBe(true);
  });

  const badLifts: [string, RegExp][] = [
    ['allow-reserved 8.8.8.0/24', /not reserved address space/],
    ['allow-reserved 224.0.0.0/3', /not inside one reserved block.*224\.0\.0\.0\/4, 240\.0\.0\.0\/4/],
    ['allow-reserved 9.255.255.0-10.0.0.255', /not inside one reserved block/],
    ['allow-reserved 255.255.255.255', /can never be lifted/],
    ['allow-reserved 0.0.0.0', /can never be lifted/],
    ['allow-reserved', /needs a target/],
  ];
  it.each(badLifts)('refuses %j with its line', (line, message) => {
    const e = caught(() => parseScope(`include 8.8.8.0/24\n${line}`, 'bad.scope'));
    expect(e.code).toBe('E_SCOPE_FILE');
    expect(e.where.line).toBe(2);
    expect(e.message).toMatch(message);
  });

  it('a scope that is all reserved is refused with the allow-reserved line to add', () => {
    const e = caught(() => parseScope('include 127.10.0.0/16\nexclude 127.10.5.0/24', 'lab.scope'));
    expect(e.code).toBe('E_SCOPE_FILE');
    expect(e.message).toMatch(/blocklist removes every included address/);
    expect(e.where.hint).toMatch(/allow-reserved 127\.0\.0\.0\/8/);
  });

  it('a scope of only 0.0.0.0 is refused without suggesting an impossible lift', () => {
    const e = caught(() => parseScope('include 0.0.0.0', 'zero.scope'));
    expect(e.message).toMatch(/blocklist removes every included address/);
    expect(e.where.hint).toMatch(/never a survey target/);
  });

  it('restrictScope says a reserved target needs a lift', () => {
    const e = caught(() => restrictScope(raw('include 0.0.0.0/0'), ['10.1.0.0/16']));
    expect(e.code).toBe('E_SCOPE_DENIED');
    expect(e.message).toMatch(/reserved \(10\.0\.0\.0\/8 Private-Use, RFC 1918\)/);
    expect(e.where.hint).toMatch(/allow-reserved 10\.0\.0\.0\/8/);
  });

  it('reports what the blocklist removed, per block, counting nested blocks once', () => {
    const removed = reservedRemoved([{ start: 0, end: 0xffffffff }], [LOOPBACK]);
    const total = removed.reduce((n, r) => n + r.addresses, 0);
    expect(total).toBe(2 ** 32 - raw('include 0.0.0.0/0\nallow-reserved 127.0.0.0/8').size);
    expect(removed.find((r) => r.entry.cidr === '127.0.0.0/8')).toBeUndefined();
    expect(removed.find((r) => r.entry.cidr === '224.0.0.0/4')?.addresses).toBe(2 ** 28);
    expect(removed.find((r) => r.entry.cidr === '255.255.255.255/32')?.addresses).toBe(1);
    expect(removed.find((r) => r.entry.cidr === '240.0.0.0/4')?.addresses).toBe(2 ** 28 - 1);
  });
});
