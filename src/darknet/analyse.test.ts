import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRng } from '../core/rng.js';
import { generateDarknetCapture } from '../lab/darknet/generate.js';
import { newFrameSpec, tcpFlag, writeFrame } from './pcap/build.js';
import { CaptureWriter } from './pcap/writer.js';
import { analyseCaptures, analyseShard } from './analyse.js';
import { summariseShards } from './classify.js';

const dir = mkdtempSync(join(tmpdir(), 'iotclean-darknet-analyse-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// Captures of one sensor: the second starts two days before the first ends, so days close,
// reopen out of order and are summarised twice; the third mixes IPv6 scanners and VLAN-tagged
// IPv4 (the full decoder) with plain frames (the fast path) from the same sources.
const first = join(dir, 'first.pcap');
const second = join(dir, 'second.pcapng');
const mixed = join(dir, 'mixed.pcap');
beforeAll(() => {
  generateDarknetCapture({ out: first, truth: join(dir, 'first.json'), seed: 'threads-1', packets: 40_000, start: '2026-01-15T06:00:00Z', hours: 60 });
  generateDarknetCapture({ out: second, truth: join(dir, 'second.json'), seed: 'threads-2', packets: 20_000, format: 'pcapng', start: '2026-01-14T20:00:00Z', hours: 30 });
  const w = new CaptureWriter(mixed, { format: 'pcap', interfaces: [{ linkType: 1 }] });
  const rng = createRng('threads-mixed');
  const s = newFrameSpec();
  const buf = new Uint8Array(256);
  const t0 = Date.parse('2026-01-17T10:00:00Z') / 1000;
  for (let i = 0; i < 6000; i++) {
    s.ipVersion = rng.int(4) === 0 ? 6 : 4;
    s.framing = rng.int(3) === 0 ? 'vlan' : 'ethernet';
    s.src = (0x7f4d0000 + rng.int(200)) >>> 0;
    s.dst = (0x7fc80000 + rng.int(65536)) >>> 0;
    for (let k = 0; k < 16; k++) {
      s.src6[k] = k === 15 ? s.src & 255 : 0x20 + k;
      s.dst6[k] = k >= 12 ? (s.dst >>> ((15 - k) * 8)) & 255 : 0x30;
    }
    s.proto = 6;
    s.tcpFlags = tcpFlag.syn;
    s.dport = rng.int(10) === 0 ? 2323 : 23;
    s.seq = rng.int(2) === 0 ? s.dst : rng.int(2 ** 31);
    s.ipId = rng.int(65536);
    w.packet(buf, writeFrame(buf, s), t0 + i * 5, 0);
  }
  w.close();
});

describe('analyseCaptures over two threads', () => {
  it('gives exactly the single-threaded result, summaries, order and counts, over days and files', async () => {
    const one = await analyseCaptures([first, second, mixed], { threads: 1 });
    const two = await analyseCaptures([first, second, mixed], { threads: 2 });
    expect(new Set(one.sources.map((s) => s.day)).size).toBeGreaterThanOrEqual(3);
    expect(one.sources.some((s) => s.ip.includes(':'))).toBe(true);
    expect(one.sources.some((s) => s.fingerprint === 'mirai') && one.sources.some((s) => !s.destinationsExact)).toBe(true);
    expect(two).toEqual(one);
  }, 60_000);

  it('shards are disjoint, each a part of the whole, and joined they are the whole', async () => {
    const one = await analyseCaptures([first, second, mixed], { threads: 1 });
    const a = await analyseShard([first, second, mixed], 1_000_000, { index: 0, count: 2 });
    const b = await analyseShard([first, second, mixed], 1_000_000, { index: 1, count: 2 });
    const sizes = (days: typeof a.days) => days.reduce((n, d) => n + d.c4.length / 32 + d.ips6.length, 0);
    expect(sizes(a.days)).toBeGreaterThan(one.sources.length / 4);
    expect(sizes(b.days)).toBeGreaterThan(one.sources.length / 4);
    expect(sizes(a.days) + sizes(b.days)).toBe(one.sources.length);
    expect(b.days.every((d) => d.ips6.length === 0)).toBe(true);
    // Every shard reads (and counts) every record.
    expect(b.files.map((f) => [f.records, f.packets, f.skipped])).toEqual(one.files.map((f) => [f.records, f.packets, f.skipped]));
    expect(summariseShards([a.days, b.days], 1_000_000)).toEqual(one.sources);
  }, 60_000);

  it('falls back to one analyser when a day table fills up, and still gives its result', async () => {
    const one = await analyseCaptures([first], { threads: 1, maxSources: 300 });
    expect(one.limits.evictedSources + one.limits.droppedPackets).toBeGreaterThan(0);
    const a = await analyseShard([first], 300, { index: 0, count: 2 });
    const b = await analyseShard([first], 300, { index: 1, count: 2 });
    expect(summariseShards([a.days, b.days], 300)).toBeUndefined();
    expect(await analyseCaptures([first], { threads: 2, maxSources: 300 })).toEqual(one);
  }, 60_000);

  it('fails as the single-threaded read does on a file that is not a capture', async () => {
    const { writeFileSync } = await import('node:fs');
    const bad = join(dir, 'bad.pcap');
    writeFileSync(bad, Buffer.alloc(100, 7));
    await expect(analyseCaptures([first, bad], { threads: 2 })).rejects.toMatchObject({ code: 'E_CAPTURE_FILE' });
  }, 60_000);
});
