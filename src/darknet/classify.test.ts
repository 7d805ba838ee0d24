import { describe, expect, it } from 'vitest';
import { createRng } from '../core/rng.js';
import { DarknetAnalyser, type SourceSummary } from './classify.js';
import { newFrameSpec, tcpFlag, writeFrame, type FrameSpec } from './pcap/build.js';
import { decodePacket, linkTypes, newPacketView } from './pcap/packet.js';
import { hllAddHash, hllCount, HLL_REGISTERS, mix32, unmix32 } from './sketch.js';

const DAY0 = 1_768_435_200; // 2026-01-15T00:00:00Z
const frame = new Uint8Array(512);
const view = newPacketView();

/** Feed one packet described by `s` at time `t` (seconds). */
function feed(a: DarknetAnalyser, s: FrameSpec, t: number): void {
  const n = writeFrame(frame, s);
  expect(decodePacket(linkTypes.ethernet, frame, 0, n, view)).toBeUndefined();
  view.tsSec = Math.floor(t);
  view.tsNsec = 0;
  a.add(view);
}

function one(sources: SourceSummary[], ip: string): SourceSummary {
  const s = sources.find((x) => x.ip === ip);
  if (!s) throw new Error(`no summary for ${ip}`);
  return s;
}

const rng = createRng('classify-test');
const r32 = () => (rng.int(65536) * 65536 + rng.int(65536)) >>> 0;

describe('DarknetAnalyser', () => {
  it('never labels a source from one matching probe, and labels it from several', () => {
    const a = new DarknetAnalyser();
    const s = newFrameSpec();
    s.src = 0x7f4d0001;
    s.dport = 23;
    s.dst = 0x7fc80001;
    s.seq = s.dst;
    feed(a, s, DAY0);
    s.src = 0x7f4d0002;
    for (let i = 0; i < 4; i++) {
      s.dst = 0x7fc80000 + i;
      s.seq = s.dst;
      feed(a, s, DAY0 + i);
    }
    const { sources } = a.finish();
    expect(one(sources, '127.77.0.1')).toMatchObject({ fingerprint: 'unknown', infected: false });
    expect(one(sources, '127.77.0.2')).toMatchObject({ class: 'scanning', fingerprint: 'mirai', infected: true, packets: 4, destinations: 4, destinationsExact: true, ports: [23], portPackets: [4] });
  });

  it('a busy scanner with random IP IDs is not masscan or zmap despite chance matches', () => {
    const a = new DarknetAnalyser();
    const s = newFrameSpec();
    s.src = 0x7ff00001;
    s.window = 29200;
    let masscanChance = 0;
    let zmapChance = 0;
    for (let i = 0; i < 300_000; i++) {
      s.dst = (0x7fc80000 + rng.int(65536)) >>> 0;
      s.dport = 80;
      s.seq = r32();
      s.ipId = rng.int(65536);
      if (((s.dst ^ s.dport ^ s.seq) & 0xffff) === s.ipId) masscanChance++;
      if (s.ipId === 54321) zmapChance++;
      feed(a, s, DAY0 + i / 10);
    }
    // The rules did fire by chance (about 4.6 times each in 300k packets) but the share is tiny.
    expect(masscanChance + zmapChance).toBeGreaterThan(0);
    const got = one(a.finish().sources, '127.240.0.1');
    expect(got).toMatchObject({ class: 'scanning', fingerprint: 'unknown' });
    // 300k probes into a /16: the HyperLogLog estimate is within 20 % of the 65,536 possible.
    expect(got.destinations).toBeGreaterThan(52_000);
    expect(got.destinations).toBeLessThan(66_000);
  });

  it('classifies backscatter (SYN-ACK, RST, ICMP errors) and keeps ZMap ≥ 4.1 by its option layout', () => {
    const a = new DarknetAnalyser();
    const s = newFrameSpec();
    s.src = 0x7ff00002;
    for (let i = 0; i < 20; i++) {
      s.dst = 0x7fc80000 + i;
      s.proto = i % 3 === 2 ? 1 : 6;
      s.icmpType = 3;
      s.tcpFlags = i % 3 === 0 ? tcpFlag.syn | tcpFlag.ack : tcpFlag.rst;
      feed(a, s, DAY0 + i);
    }
    const z = newFrameSpec();
    z.src = 0x7ffa0001;
    z.ttl = 250;
    z.window = 65535;
    z.tcpOptions = Uint8Array.from([2, 4, 5, 0xb4, 1, 3, 3, 8, 1, 1, 4, 2]);
    for (let i = 0; i < 10; i++) {
      z.dst = 0x7fc80100 + i;
      z.ipId = rng.int(65536);
      z.seq = r32();
      feed(a, z, DAY0 + i);
    }
    const { sources } = a.finish();
    expect(one(sources, '127.240.0.2')).toMatchObject({ class: 'backscatter', fingerprint: 'unknown', infected: false });
    expect(one(sources, '127.250.0.1')).toMatchObject({ class: 'scanning', fingerprint: 'zmap' });
  });

  it('keeps one summary per source and UTC day, closing a day once two days later arrive', () => {
    const closed: SourceSummary[][] = [];
    const a = new DarknetAnalyser({ onDay: (d) => closed.push(d) });
    const s = newFrameSpec();
    s.src = 0x7f4d0003;
    for (const day of [0, 0, 1, 1, 3]) {
      s.dst = 0x7fc80000 + day;
      feed(a, s, DAY0 + day * 86400 + 10);
    }
    // Day 3 arrived: days 0 and 1 are closed (out of order by up to a day is still kept open).
    expect(closed.map((d) => d.map((x) => `${x.day}:${x.packets}`))).toEqual([['2026-01-15:2'], ['2026-01-16:2']]);
    a.finish();
    expect(closed.at(-1)?.[0]?.day).toBe('2026-01-18');
  });

  it('keeps at most four days open whatever the timestamps (descending days, garbage clocks)', () => {
    let closedDays = 0;
    let open = 0;
    const a = new DarknetAnalyser({ onDay: () => void closedDays++ });
    const s = newFrameSpec();
    s.src = 0x7f4d0004;
    for (let i = 0; i < 2000; i++) {
      // Every packet a day earlier than the last, as a corrupt or shuffled capture might say.
      feed(a, s, DAY0 - i * 86400);
      open = i + 1 - closedDays;
      expect(open).toBeLessThanOrEqual(4);
    }
    a.finish();
    expect(closedDays).toBe(2000);
  });

  it('stays within maxSources by evicting one-packet sources, and counts what it dropped', () => {
    const a = new DarknetAnalyser({ maxSources: 1000 });
    const s = newFrameSpec();
    // 100 busy sources, then 5,000 one-off sources.
    for (let i = 0; i < 100; i++) {
      s.src = 0x7f4e0000 + i;
      for (let k = 0; k < 3; k++) feed(a, s, DAY0 + k);
    }
    for (let i = 0; i < 5000; i++) {
      s.src = 0x7f4f0000 + i;
      feed(a, s, DAY0 + 5);
    }
    const { sources, limits } = a.finish();
    expect(sources.length).toBeLessThanOrEqual(1000);
    expect(sources.filter((x) => x.packets === 3)).toHaveLength(100);
    expect(limits.evictedSources + limits.droppedPackets).toBeGreaterThanOrEqual(4100);
  });
});

describe('port counts', () => {
  it('halve together before a 16-bit count overflows, keeping the order of ports', () => {
    const a = new DarknetAnalyser();
    const s = newFrameSpec();
    s.src = 0x7ff00009;
    for (let i = 0; i < 100_000; i++) {
      s.dport = i % 4 === 0 ? 443 : 80;
      s.dst = 0x7fc80000 + (i & 0xffff);
      feed(a, s, DAY0 + i / 100);
    }
    const got = one(a.finish().sources, '127.240.0.9');
    expect(got.ports).toEqual([80, 443]);
    expect(got.portPackets[0]!).toBeLessThanOrEqual(65535);
    expect(got.portPackets[0]! / got.portPackets[1]!).toBeCloseTo(3, 1);
    expect(got.packets).toBe(100_000);
  });
});

describe('HyperLogLog', () => {
  it('estimates within 20 % (three standard errors of 256 registers) from 10 to 100,000 distinct values', () => {
    for (const n of [10, 100, 1000, 100_000]) {
      const regs = new Uint8Array(HLL_REGISTERS);
      for (let i = 0; i < n; i++) hllAddHash(regs, 0, mix32((0x7fc80000 + i * 7) >>> 0));
      const e = hllCount(regs);
      expect(Math.abs(e - n) / n).toBeLessThan(0.2);
    }
  });
});

describe('mix32', () => {
  it('is undone by unmix32 (rows carry hashed addresses, summaries show the addresses)', () => {
    const r = createRng('unmix');
    const xs = [0, 1, 0x7fffffff, 0x80000000, 0xffffffff, ...Array.from({ length: 10_000 }, () => (r.int(65536) * 65536 + r.int(65536)) >>> 0)];
    for (const x of xs) expect(unmix32(mix32(x))).toBe(x);
    expect(new Set(xs.map(mix32)).size).toBe(new Set(xs).size);
  });
});

describe('decodePacket fuzz', () => {
  it('random bytes on every link type: a result or a counted failure, never a throw', () => {
    const r = createRng('decode-fuzz');
    const b = new Uint8Array(128);
    const v = newPacketView();
    const links = [...Object.values(linkTypes), 0, 999];
    for (let i = 0; i < 50_000; i++) {
      const len = r.int(129);
      for (let k = 0; k < len; k++) b[k] = r.int(256);
      // Bias some rounds towards plausible IP headers so the deeper decoders are reached.
      if (i % 2 === 0 && len > 0) b[0] = r.int(2) ? 0x45 : 0x60;
      const result = decodePacket(links[i % links.length]!, b, 0, len, v);
      expect(result === undefined || typeof result === 'string').toBe(true);
    }
  });
});

describe('analysis fuzz', () => {
  it('mutated captures go through the whole analysis: summaries and counted skips, never a throw', async () => {
    const { mkdtempSync, readFileSync, rmSync, writeFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { analyseCaptures } = await import('./analyse.js');
    const { generateDarknetCapture } = await import('../lab/darknet/generate.js');
    const dir = mkdtempSync(join(tmpdir(), 'iotclean-darknet-fuzz-'));
    try {
      const base = join(dir, 'base.pcap');
      generateDarknetCapture({ out: base, truth: join(dir, 'truth.json'), seed: 'fuzz', packets: 3000 });
      const orig = readFileSync(base);
      const r = createRng('analysis-fuzz');
      const file = join(dir, 'fuzz.pcap');
      for (let round = 0; round < 60; round++) {
        const b = Buffer.from(orig.subarray(0, r.next() < 0.3 ? 24 + r.int(orig.length - 24) : orig.length));
        // Flip bytes anywhere past the magic: timestamps, lengths, headers, addresses.
        for (let i = 0, n = 1 + r.int(400); i < n; i++) b[4 + r.int(b.length - 4)] = r.int(256);
        writeFileSync(file, b);
        const out = await analyseCaptures([file]);
        expect(out.records).toBeGreaterThanOrEqual(out.packets);
        expect(out.sources.reduce((a, s) => a + s.packets, 0) + out.limits.droppedPackets).toBe(out.packets);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
