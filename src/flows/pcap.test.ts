import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { newFrameSpec, tcpFlag, writeFrame, type FrameSpec } from '../darknet/pcap/build.js';
import { linkTypes, newPacketView, type PacketView } from '../darknet/pcap/packet.js';
import { CaptureWriter, type CaptureFormat } from '../darknet/pcap/writer.js';
import { writeBurstPcap } from './netflow/burst-pcap.js';
import { FlowBuilder, importPcap, softflowdTimeouts, type FlowBuilderOptions } from './pcap.js';
import type { FlowRecord } from './types.js';

const dir = mkdtempSync(join(tmpdir(), 'iotclean-flows-pcap-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const T0 = 1_767_225_600;
const A = 0x7f0a0001;
const B = 0x7f140001;

/** Write packets given as [second, spec changes]; returns the path. */
function capture(name: string, packets: [number, Partial<FrameSpec>][], format: CaptureFormat = 'pcap'): string {
  const path = join(dir, name);
  const w = new CaptureWriter(path, { format, interfaces: [{ linkType: linkTypes.ethernet }] });
  const buf = new Uint8Array(2048);
  for (const [sec, s] of packets) {
    const spec = Object.assign(newFrameSpec(), { src: A, dst: B, sport: 40000, dport: 80, proto: 6, tcpFlags: tcpFlag.ack }, s);
    w.packet(buf, writeFrame(buf, spec), T0 + Math.floor(sec), Math.round((sec % 1) * 1e9));
  }
  w.close();
  return path;
}

async function flowsOf(path: string, o: FlowBuilderOptions = {}) {
  const flows: FlowRecord[] = [];
  const stats = await importPcap(path, async (b) => void flows.push(...b), o);
  return { flows, stats };
}

describe('pcap → flows', () => {
  {
    const format = 'pcap';
    it('makes one flow per 5-tuple of a burst capture with exact packet and byte sums', async () => {
      const path = join(dir, `burst.${format}`);
      const truth = writeBurstPcap({ out: path, flows: 3000, startSec: T0 });
      const { flows, stats } = await flowsOf(path);
      expect(stats.flows).toBe(3000);
      expect(flows).toHaveLength(3000);
      expect(new Set(flows.map((f) => `${f.src}:${f.srcPort}>${f.dst}:${f.dstPort}/${f.proto}`)).size).toBe(3000);
      expect(flows.reduce((a, f) => a + f.packets, 0)).toBe(truth.packets);
      expect(flows.reduce((a, f) => a + f.bytes, 0)).toBe(truth.bytes);
      expect(flows.filter((f) => f.proto === 6)).toHaveLength(truth.tcpFlows);
      // Every TCP flow of the burst is SYN, ACK|PSH, FIN|ACK: ended by its FIN, flags OR-ed.
      expect(stats.ended.fin).toBe(truth.tcpFlows);
      expect(flows.filter((f) => f.proto === 6).every((f) => f.tcpFlags === 27 && f.packets === 3)).toBe(true);
      expect(flows.every((f) => f.startMs >= T0 * 1000 && f.startMs <= f.endMs && f.exporter === `file:burst.${format}`)).toBe(true);
      expect(stats.skipped).toEqual({});
    });
  }

  it.each(['pcap', 'pcapng'] as const)('counts IP total length as bytes and keeps first/last timestamps (%s)', async (format) => {
    const path = capture(`one.${format}`, [
      [0.25, { tcpFlags: tcpFlag.syn }],
      [1.5, { payload: 100 }],
      [2.75, { payload: 10 }],
    ], format);
    const { flows, stats } = await flowsOf(path);
    expect(stats.format).toBe(format);
    expect(flows).toHaveLength(1);
    expect(flows[0]).toMatchObject({ startMs: T0 * 1000 + 250, endMs: T0 * 1000 + 2750, packets: 3, bytes: 40 * 3 + 110, tcpFlags: tcpFlag.syn | tcpFlag.ack, src: A, dst: B, proto: 6 });
  });

  it('splits a long flow at the inactive and the active timeouts', async () => {
    // UDP every 10 s for 100 s, a 400 s gap (> udp 300 s), then 3 more: two flows by inactivity.
    const udp: [number, Partial<FrameSpec>][] = [];
    for (let s = 0; s <= 100; s += 10) udp.push([s, { proto: 17, dport: 53 }]);
    for (let s = 500; s <= 520; s += 10) udp.push([s, { proto: 17, dport: 53 }]);
    const a = await flowsOf(capture('gap.pcap', udp));
    expect(a.flows.map((f) => f.packets)).toEqual([11, 3]);
    expect(a.stats.ended.inactive).toBe(1);
    // The same with maxlife 60 s: cut at 0, 60; then 500 (after the gap).
    const b = await flowsOf(join(dir, 'gap.pcap'), { timeouts: { maxlife: 60 } });
    expect(b.flows.map((f) => f.packets)).toEqual([6, 5, 3]);
    expect([b.stats.ended.active, b.stats.ended.inactive]).toEqual([1, 1]);
    // A TCP flow idle for 2000 s stays one flow (tcp 3600 s), and splits with tcp 1000 s.
    const tcp = capture('tcp-idle.pcap', [[0, {}], [2000, {}], [2001, {}]]);
    expect((await flowsOf(tcp)).flows).toHaveLength(1);
    expect((await flowsOf(tcp, { timeouts: { tcp: 1000 } })).flows.map((f) => f.packets)).toEqual([1, 2]);
  });

  it('ends a flow at FIN or RST; a reused 5-tuple starts a new one', async () => {
    const { flows, stats } = await flowsOf(
      capture('fin.pcap', [
        [0, { tcpFlags: tcpFlag.syn }],
        [1, { tcpFlags: tcpFlag.fin | tcpFlag.ack }],
        [2, { tcpFlags: tcpFlag.syn }],
        [3, { tcpFlags: tcpFlag.rst }],
        [4, {}],
      ]),
    );
    expect(flows.map((f) => [f.packets, f.tcpFlags])).toEqual([[2, 19], [2, 6], [1, 16]]);
    expect([stats.ended.fin, stats.ended.rst, stats.ended.end]).toEqual([1, 1, 1]);
  });

  it('expires idle flows as the capture clock advances and caps concurrent flows', async () => {
    // 200 UDP flows one per second: with udp 5 s only a handful are ever held.
    const pk: [number, Partial<FrameSpec>][] = [];
    for (let i = 0; i < 200; i++) pk.push([i, { proto: 17, sport: 1000 + i }]);
    const path = capture('many.pcap', pk);
    const idle = await flowsOf(path, { timeouts: { udp: 5, expint: 1 } });
    expect(idle.flows).toHaveLength(200);
    expect(idle.stats.ended.inactive).toBeGreaterThan(190);
    const capped = await flowsOf(path, { maxFlows: 10 });
    expect(capped.flows).toHaveLength(200);
    expect([capped.stats.ended.evicted, capped.stats.ended.end]).toEqual([190, 10]);
    // The evicted ones are the oldest.
    expect(capped.flows.slice(0, 190).map((f) => f.srcPort)).toEqual(pk.slice(0, 190).map(([, s]) => s.sport));
  });

  it('counts truncated and undecodable records as skipped, IPv6 too, and survives fuzzed input', async () => {
    const path = join(dir, 'bad.pcap');
    const truth = writeBurstPcap({ out: path, flows: 500, startSec: T0 });
    const good = readFileSync(path);
    // Cut the file mid-record: the last record is truncated.
    const cut = join(dir, 'cut.pcap');
    writeFileSync(cut, good.subarray(0, good.length - 10));
    const c = await flowsOf(cut);
    expect(c.stats.packets).toBe(truth.packets - 1);
    expect(Object.values(c.stats.skipped).reduce((a, n) => a + n, 0)).toBeGreaterThanOrEqual(1);
    // IPv6 and a short TCP header.
    const v6 = await flowsOf(capture('v6.pcap', [[0, { ipVersion: 6 }], [1, {}]]));
    expect(v6.flows).toHaveLength(1);
    expect(v6.stats.skipped).toEqual({ ipv6: 1 });
    // Fuzz: flip bytes past the header with a fixed seed; never a throw, counts stay consistent.
    let seed = 12345;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
    for (let round = 0; round < 20; round++) {
      const b = Buffer.from(good);
      for (let i = 0; i < 200; i++) b[24 + Math.floor(rnd() * (b.length - 24))] = Math.floor(rnd() * 256);
      const fz = join(dir, `fuzz${round}.pcap`);
      writeFileSync(fz, b);
      const r = await flowsOf(fz);
      expect(r.flows.reduce((a, f) => a + f.packets, 0)).toBe(r.stats.packets);
      expect(r.stats.packets).toBeLessThanOrEqual(r.stats.records);
    }
    // Not a capture at all: the reader's error names the file.
    const junk = join(dir, 'junk.pcap');
    writeFileSync(junk, 'hello, not a capture\n');
    await expect(importPcap(junk, async () => undefined)).rejects.toThrow(/not a pcap or pcapng capture/);
  });
});

/**
 * The builder's table (open addressing with backward-shift deletes, rows reused through a free
 * list, a generation-checked queue) against the plainest model of the same rules: a Map keyed by
 * a string, iterated in insertion order. Random packets over few tuples force collisions, deletes
 * in the middle of probe runs, reuse of rows, evictions and timeouts.
 */
describe('FlowBuilder against a Map model', () => {
  type Out = [number, number, number, number, number, number, number, number, number, number];
  function model(packets: PacketView[], maxFlows: number, t: typeof softflowdTimeouts): Out[] {
    type F = { s: number; e: number; v: PacketView; sp: number; dp: number; n: number; bytes: number; fl: number };
    const flows = new Map<string, F>();
    const out: Out[] = [];
    const end = (k: string, f: F) => {
      flows.delete(k);
      out.push([f.s, f.e, f.v.src, f.sp, f.v.dst, f.dp, f.v.proto, f.n, f.bytes, f.fl]);
    };
    const idle = (p: number) => 1000 * (p === 6 ? t.tcp : p === 17 ? t.udp : p === 1 ? t.icmp : t.general);
    let next = -Infinity;
    for (const v of packets) {
      const ms = v.tsSec * 1000 + Math.floor(v.tsNsec / 1e6);
      if (ms >= next) {
        if (next !== -Infinity) for (const [k, f] of flows) if (ms - f.e > idle(f.v.proto)) end(k, f); else if (ms - f.s >= t.maxlife * 1000) end(k, f);
        next = ms + t.expint * 1000;
      }
      const k = `${v.src},${v.dst},${v.sport},${v.dport},${v.proto}`;
      let f = flows.get(k);
      if (f && (ms - f.e > idle(v.proto) || ms - f.s >= t.maxlife * 1000)) {
        end(k, f);
        f = undefined;
      }
      if (!f) {
        if (flows.size >= maxFlows) {
          const [ok, of] = flows.entries().next().value!;
          end(ok, of);
        }
        f = { s: ms, e: ms, v: { ...v }, sp: v.sport, dp: v.dport, n: 0, bytes: 0, fl: 0 };
        flows.set(k, f);
      }
      f.n++;
      f.bytes += (v.buf[v.ipOffset + 2]! << 8) | v.buf[v.ipOffset + 3]!;
      if (ms > f.e) f.e = ms;
      if (v.proto === 6) {
        f.fl |= v.tcpFlags;
        if (v.tcpFlags & 5) end(k, f);
      }
    }
    for (const [k, f] of [...flows]) end(k, f);
    return out;
  }

  it('emits the same flows in the same order', () => {
    let seed = 12345;
    const rand = (n: number) => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return (seed >>> 8) % n;
    };
    const t = { ...softflowdTimeouts, tcp: 40, udp: 20, maxlife: 300, expint: 10 };
    for (const maxFlows of [7, 64, 100_000]) {
      const packets: PacketView[] = [];
      let ms = T0 * 1000;
      for (let i = 0; i < 20_000; i++) {
        ms += rand(3) === 0 ? rand(15_000) : rand(50);
        const v = newPacketView();
        v.buf = new Uint8Array([0, 0, 0, 40 + rand(200)]);
        Object.assign(v, { tsSec: Math.floor(ms / 1000), tsNsec: (ms % 1000) * 1e6, ipOffset: 0, src: 0x0a000000 + rand(40), dst: rand(2) ? 0xc0a80001 : 0xfffffffe, proto: rand(4) ? 6 : 17, l4: true, sport: 1000 + rand(5), dport: rand(2) ? 80 : 443 });
        v.tcpFlags = v.proto === 6 ? (rand(8) === 0 ? 1 : rand(20) === 0 ? 4 : 16) : 0;
        packets.push(v);
      }
      const got: Out[] = [];
      const b = new FlowBuilder((batch) => {
        for (let i = 0; i < batch.length; i++) got.push([batch.startMs[i]!, batch.endMs[i]!, batch.src[i]!, batch.srcPort[i]!, batch.dst[i]!, batch.dstPort[i]!, batch.proto[i]!, batch.packets[i]!, batch.bytes[i]!, batch.tcpFlags[i]!]);
      }, { maxFlows, timeouts: t, batchSize: 1000 });
      for (const v of packets) b.packet(v);
      b.end();
      const want = model(packets, maxFlows, t);
      expect(want.length).toBeGreaterThan(2000);
      expect(got).toEqual(want);
      if (maxFlows === 7) expect(b.stats.ended.evicted).toBeGreaterThan(100);
      if (maxFlows === 100_000) expect(b.stats.ended.evicted).toBe(0);
      expect(b.stats.ended.inactive).toBeGreaterThan(0);
    }
  });
});
