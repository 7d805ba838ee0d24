/**
 * The research-scanner list: matching (IPv4 and IPv6, most specific entry named), validation
 * errors naming file and line, and a seeded fuzz of list text and of addresses to match.
 */
import { describe, expect, it } from 'vitest';
import { IotcleanError } from '../core/errors.js';
import { createRng } from '../core/rng.js';
import { parseIpv6, parseScannerList } from './scanners.js';

const list = parseScannerList(
  [
    '\uFEFFcidr,name',
    '# Censys-style ranges, one Shodan-style crawler, a university /24 inside them',
    '127.250.0.0/16,lab research',
    '127.250.9.0/24,"University of Example, measurement"',
    '  127.251.3.7 , single crawler ',
    '',
    '2001:db8:100::/48,v6 scanner',
    '2001:db8:100:5::1/64,v6 project',
  ].join('\r\n'),
  'scanners.csv',
);

function refusal(text: string): IotcleanError {
  try {
    parseScannerList(text, 'bad.csv');
  } catch (e) {
    if (e instanceof IotcleanError) return e;
    throw e;
  }
  throw new Error(`accepted: ${text}`);
}

describe('research-scanner list', () => {
  it('matches blocks and single addresses, the most specific entry naming the scanner', () => {
    expect(list.blocks.length).toBe(5);
    expect(list.match('127.250.200.1')).toBe('lab research');
    expect(list.match('127.250.9.77')).toBe('University of Example, measurement');
    expect(list.match('127.251.3.7')).toBe('single crawler');
    expect(list.match('127.251.3.8')).toBeUndefined();
    expect(list.match('127.77.0.5')).toBeUndefined();
    expect(list.match('2001:db8:100:1::9')).toBe('v6 scanner');
    expect(list.match('2001:db8:100:5:ffff::2')).toBe('v6 project');
    expect(list.match('2001:db8:101::1')).toBeUndefined();
    expect(list.match('not an address')).toBeUndefined();
    expect(list.match('127.250.0.1\u0000')).toBeUndefined();
  });

  it('parses IPv6 literals strictly', () => {
    expect(parseIpv6('::')).toBe(0n);
    expect(parseIpv6('::1')).toBe(1n);
    expect(parseIpv6('::ffff:127.0.0.1')).toBe((0xffffn << 32n) | 0x7f000001n);
    expect(parseIpv6('1:2:3:4:5:6:7:8')).toBe(0x00010002000300040005000600070008n);
    expect(parseIpv6('1:2:3:4:5:6:1.2.3.4')).toBe(0x000100020003000400050006_01020304n);
    for (const bad of ['', ':', ':::', '1::2::3', '1:2:3:4:5:6:7:8:9', '1:2:3:4:5:6:7', '12345::', 'g::', '::1.2.3', '1.2.3.4', '1:2:3:4:5:6:7::8', ':1::', '1:']) expect(parseIpv6(bad), bad).toBeUndefined();
  });

  it('refuses bad lines naming the file and line, with a hint', () => {
    const host = refusal('cidr,name\n127.250.0.1/16,x');
    expect(host).toMatchObject({ code: 'E_SCANNER_LIST', where: { file: 'bad.csv', line: 2 } });
    expect(host.where.hint).toContain('127.250.0.0/16');
    expect(refusal('0.0.0.0/0,everyone').message).toMatch(/whole address space/);
    expect(refusal('127.250.0.0/33,x').message).toMatch(/prefix length/);
    expect(refusal('example.org,x').message).toMatch(/not an IPv4 or IPv6/);
    expect(refusal('127.1.2.3').message).toMatch(/expected 2 fields/);
    expect(refusal('127.1.2.3,a,b').message).toMatch(/expected 2 fields/);
    expect(refusal('127.1.2.3,\u0007bell').message).toMatch(/control characters/);
    expect(refusal('127.1.2.3,"open').message).toMatch(/unterminated/);
    expect(refusal('# ok\n127.1.2.3,a\n127.1.2.4,').where.line).toBe(3);
  });

  it('fuzz: random list text and random addresses never throw anything but IotcleanError and never hang', () => {
    const rng = createRng('scanner-list-fuzz');
    const alphabet = '0123456789abcdef:./,"# \n\r\u0000\uD800é';
    const pieces = ['127.250.0.0/16', '::/1', '2001:db8::/32', 'cidr,name', ',', '"', '/', '::', '1.2.3.4', '\n'];
    for (let i = 0; i < 3000; i++) {
      let text = '';
      const n = rng.int(80);
      for (let j = 0; j < n; j++) text += rng.int(3) === 0 ? rng.pick(pieces) : alphabet[rng.int(alphabet.length)];
      try {
        const l = parseScannerList(text, 'fuzz.csv');
        const probe = text.slice(rng.int(text.length + 1), rng.int(text.length + 1) + 20);
        const got = l.match(probe);
        expect(got === undefined || typeof got === 'string').toBe(true);
      } catch (e) {
        expect(e).toBeInstanceOf(IotcleanError);
      }
      const addr = Array.from({ length: rng.int(50) }, () => alphabet[rng.int(alphabet.length)]).join('');
      const v = parseIpv6(addr);
      expect(v === undefined || (v >= 0n && v < 1n << 128n)).toBe(true);
    }
  });
});
