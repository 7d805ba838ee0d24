/**
 * Subscriber matching and routing: reassigned addresses and CGNAT ports resolve to who held them
 * at the observed time, open sessions end at import, unmatched and ambiguous cases carry their
 * reason, and a seeded random set of sessions matches exactly as a brute-force scan does.
 */
import { describe, expect, it } from 'vitest';
import { formatIpv4 } from '../../core/ip.js';
import type { Finding } from '../../core/records.js';
import { createRng } from '../../core/rng.js';
import { buildSessionIndex, createSessionIndexBuilder, matchFinding } from './match.js';
import { inventoryOf, routeMatch } from './route.js';
import type { SessionRecord } from './types.js';

function finding(ip: string, observedAt: string, port: number | null = 23, over: Partial<Finding> = {}): Finding {
  return {
    kind: 'weak-credential',
    ip,
    port,
    protocol: 'telnet',
    observedAt,
    period: observedAt.slice(0, 7),
    device: { type: 'router', vendor: 'ZTE', model: 'ZXHN H108N', firmware: null },
    severity: 'high',
    details: {},
    evidence: [],
    surveyId: null,
    planVersion: null,
    isp: 'sakura',
    prefixOwner: 'sakura',
    held: null,
    ...over,
  };
}

const s = (subscriber: string, ip: string, start: string, end: string | null, over: Partial<SessionRecord> = {}): SessionRecord => ({
  subscriber,
  ip,
  portFirst: null,
  portLast: null,
  start,
  end,
  mac: null,
  source: 'radius-detail',
  file: 'f',
  line: 1,
  ...over,
});

const imported = Date.parse('2026-12-10T00:00:00Z');

const sessions: SessionRecord[] = [
  // Reassignment: X until 12:00, Y from 12:00.
  s('X', '127.110.0.1', '2026-12-01T00:00:00Z', '2026-12-01T12:00:00Z'),
  s('Y', '127.110.0.1', '2026-12-01T12:00:00Z', null),
  // Overlap of two subscribers.
  s('A', '127.110.0.2', '2026-12-01T00:00:00Z', '2026-12-02T00:00:00Z'),
  s('B', '127.110.0.2', '2026-12-01T10:00:00Z', '2026-12-01T11:00:00Z'),
  // Same subscriber twice overlapping: still one match.
  s('C', '127.110.0.3', '2026-12-01T00:00:00Z', '2026-12-03T00:00:00Z'),
  s('C', '127.110.0.3', '2026-12-01T01:00:00Z', '2026-12-01T02:00:00Z'),
  // A lease whose MAC the subscriber file resolves, one it does not.
  s('', '127.110.0.4', '2026-12-01T00:00:00Z', '2026-12-02T00:00:00Z', { mac: '00:11:22:33:44:55', source: 'dhcpd-leases' }),
  s('', '127.110.0.5', '2026-12-01T00:00:00Z', '2026-12-02T00:00:00Z', { mac: '00:11:22:33:44:66', source: 'dhcpd-leases' }),
  // CGNAT: two blocks on one public address, and one given to a private address.
  s('P1', '127.111.0.1', '2026-12-01T00:00:00Z', null, { portFirst: 1024, portLast: 2047, source: 'cgnat' }),
  s('P2', '127.111.0.1', '2026-12-01T00:00:00Z', '2026-12-01T06:00:00Z', { portFirst: 2048, portLast: 3071, source: 'cgnat' }),
  s('P3', '127.111.0.1', '2026-12-01T06:00:00Z', null, { portFirst: 2048, portLast: 3071, source: 'cgnat' }),
  s('@10.0.0.9', '127.111.0.1', '2026-12-01T00:00:00Z', null, { portFirst: 4096, portLast: 5119, source: 'cgnat' }),
  s('Q', '10.0.0.9', '2026-12-01T00:00:00Z', null),
];
const keys = { byMac: new Map([['00:11:22:33:44:55', 'M']]), byClientId: new Map<string, string>() };

describe('matchFinding', async () => {
  const index = await buildSessionIndex(sessions, imported);
  const m = (ip: string, at: string, port: number | null = 23, over: Partial<Finding> = {}) => matchFinding(index, finding(ip, at, port, over), keys);

  it('a reassigned address resolves to who held it at the time', () => {
    expect(m('127.110.0.1', '2026-12-01T11:59:59Z').subscriber).toBe('X');
    expect(m('127.110.0.1', '2026-12-01T12:00:00Z').subscriber).toBe('Y');
  });
  it('an open session extends to the import time, not beyond', () => {
    expect(m('127.110.0.1', '2026-12-09T23:59:59Z').subscriber).toBe('Y');
    const late = m('127.110.0.1', '2026-12-10T00:00:01Z');
    expect(late.status).toBe('unmatched');
    expect(late.reason).toBe('no session covers 127.110.0.1 at 2026-12-10T00:00:01Z');
  });
  it('two subscribers at once are ambiguous, the same one twice is not', () => {
    const a = m('127.110.0.2', '2026-12-01T10:30:00Z');
    expect([a.status, a.candidates]).toEqual(['ambiguous', ['A', 'B']]);
    expect(a.reason).toContain('2 subscribers held 127.110.0.2');
    expect(m('127.110.0.2', '2026-12-01T11:30:00Z').subscriber).toBe('A');
    expect(m('127.110.0.3', '2026-12-01T01:30:00Z')).toMatchObject({ status: 'matched', subscriber: 'C' });
  });
  it('leases resolve by MAC through the subscriber file; an unknown MAC says so', () => {
    expect(m('127.110.0.4', '2026-12-01T05:00:00Z')).toMatchObject({ status: 'matched', subscriber: 'M', mac: '00:11:22:33:44:55' });
    expect(m('127.110.0.5', '2026-12-01T05:00:00Z')).toMatchObject({ status: 'unmatched', reason: "the lease of MAC 00:11:22:33:44:66 is in no subscriber's row" });
  });
  it('CGNAT: the port picks the block, the time the holder; no port is unmatched with the reason', () => {
    expect(m('127.111.0.1', '2026-12-01T03:00:00Z', 1500).subscriber).toBe('P1');
    expect(m('127.111.0.1', '2026-12-01T03:00:00Z', 2048).subscriber).toBe('P2');
    expect(m('127.111.0.1', '2026-12-01T07:00:00Z', 3071).subscriber).toBe('P3');
    expect(m('127.111.0.1', '2026-12-01T07:00:00Z', 4500).subscriber).toBe('Q');
    expect(m('127.111.0.1', '2026-12-01T07:00:00Z', 200).reason).toBe('no CGNAT port block of 127.111.0.1 held port 200 at 2026-12-01T07:00:00Z');
    expect(m('127.111.0.1', '2026-12-01T07:00:00Z', null).reason).toContain('CGNAT address 127.111.0.1: the finding has no port');
    // A darknet finding's source port wins over its (null) service port.
    expect(m('127.111.0.1', '2026-12-01T07:00:00Z', null, { details: { sourcePort: 1100 } }).subscriber).toBe('P1');
  });
  it('unknown addresses and bad input are unmatched with the reason', () => {
    expect(m('127.110.9.9', '2026-12-01T03:00:00Z').reason).toBe('no session for 127.110.9.9 in the imported logs');
    expect(m('not-an-ip', '2026-12-01T03:00:00Z').reason).toContain('not an IPv4 address');
    expect(m('127.110.0.1', 'yesterday').reason).toContain('not a time');
  });
});

describe('routeMatch', async () => {
  const index = await buildSessionIndex(
    [s('R', '127.110.5.1', '2026-12-01T00:00:00Z', null, { mac: 'aa:bb:cc:00:00:01' }), s('S', '127.110.5.2', '2026-12-01T00:00:00Z', null), s('T', '127.110.5.3', '2026-12-01T00:00:00Z', null), s('U', '127.110.5.4', '2026-12-01T00:00:00Z', null)],
    imported,
  );
  const inv = inventoryOf([
    { subscriber: null, mac: 'aa:bb:cc:00:00:01', measure: 'isp-task', contact: 'ops@isp', model: null },
    { subscriber: 'S', mac: null, measure: 'sier-notice', contact: 'sier@example.invalid', model: null },
    { subscriber: 'T', mac: null, measure: 'isp-task', contact: 'ops@isp', model: 'ZXHN H108N' },
    { subscriber: 'U', mac: null, measure: 'isp-task', contact: 'ops@isp', model: 'Aterm WG2600HP3' },
  ]);
  const r = (ip: string) => routeMatch(matchFinding(index, finding(ip, '2026-12-02T00:00:00Z')), inv);
  it('rented devices become ISP tasks, SIer lines SIer notices, the rest subscriber alerts', () => {
    expect(r('127.110.5.1')?.measure).toBe('isp-task');
    expect(r('127.110.5.2')).toMatchObject({ measure: 'sier-notice', contact: 'sier@example.invalid' });
    expect(r('127.110.5.3')?.measure).toBe('isp-task');
    // U rents a router, but the finding is on another model: the subscriber's own device.
    expect(r('127.110.5.4')?.measure).toBe('subscriber-alert');
    expect(routeMatch(matchFinding(index, finding('127.110.6.6', '2026-12-02T00:00:00Z')), inv)).toBeNull();
  });
});

describe('the index against a brute-force scan', () => {
  it('agrees on 3000 seeded lookups over 2000 random sessions, port blocks included', () => {
    const rng = createRng('isp-match-brute');
    const base = Date.parse('2026-12-01T00:00:00Z');
    const rows: { ip: number; a: number; b: number; pf: number | null; pl: number | null; sub: string }[] = [];
    const builder = createSessionIndexBuilder(base + 40 * 86400_000);
    for (let i = 0; i < 2000; i++) {
      const ip = 0x7f6e0000 + rng.int(64);
      const a = base + rng.int(30 * 86400) * 1000;
      const b = rng.next() < 0.1 ? null : a + rng.int(5 * 86400) * 1000;
      const block = rng.next() < 0.3;
      const pf = block ? rng.int(60) * 1024 : null;
      const pl = pf === null ? null : pf + 1023;
      const sub = `s${rng.int(300)}`;
      rows.push({ ip, a, b: b ?? base + 40 * 86400_000, pf, pl, sub });
      builder.addRaw(ip, a, b, pf, pl, sub, null);
    }
    const index = builder.build();
    for (let k = 0; k < 3000; k++) {
      const ip = 0x7f6e0000 + rng.int(70);
      const t = base + rng.int(36 * 86400) * 1000;
      const port = rng.next() < 0.5 ? rng.int(65536) : null;
      const want = new Set(rows.filter((r) => r.ip === ip && r.a <= t && t < r.b && (port === null ? r.pf === null : r.pf !== null && r.pf <= port && port <= r.pl!)).map((r) => r.sub));
      const got = new Set(index.lookup(ip, t, port).map((x) => x.subscriber));
      if (want.size <= 16) expect([...got].sort(), `${formatIpv4(ip)} ${new Date(t).toISOString()} ${port}`).toEqual([...want].sort());
    }
  });
});
