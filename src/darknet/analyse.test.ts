import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRng } from '../core/rng.js';
import { generateDarknetCapture } from '../lab/darknet/generate.js';
import { newFrameSpec, tcpFlag, writeFrame } from './pcap/build.js';
import { CaptureWriter } from './pcap/writer.js';
import { analyseCaptures } from './analyse.js';

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

  it('gives the single-threaded result when day tables fill up and evict', async () => {
    const one = await analyseCaptures([first, second], { threads: 1, maxSources: 300 });
    expect(one.limits.evictedSources + one.limits.droppedPackets).toBeGreaterThan(0);
    expect(await analyseCaptures([first, second], { threads: 2, maxSources: 300 })).toEqual(one);
  }, 60_000);

  it('reports progress up to the files\' whole size', async () => {
    const seen: [number, number | undefined][] = [];
    const r = await analyseCaptures([first, second], { threads: 2, onProgress: (b, t) => void seen.push([b, t]) });
    const total = r.files.reduce((a, f) => a + f.bytes, 0);
    expect(seen.length).toBeGreaterThan(1);
    expect(seen.every(([b, t], i) => t === total && b <= total && (i === 0 || b >= seen[i - 1]![0]))).toBe(true);
    expect(seen.at(-1)![0]).toBe(total);
  }, 60_000);

  it('fails as the single-threaded read does on a file that is not a capture', async () => {
    const { writeFileSync } = await import('node:fs');
    const bad = join(dir, 'bad.pcap');
    writeFileSync(bad, Buffer.alloc(100, 7));
    await expect(analyseCaptures([first, bad], { threads: 2 })).rejects.toMatchObject({ code: 'E_CAPTURE_FILE' });
  }, 60_000);
});
