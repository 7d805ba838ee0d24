import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createRng } from '../../core/rng.js';
import type { FlowRecord } from '../types.js';
import { FlowDecoder } from './decoder.js';

/** Big-endian byte writer for building export packets by hand. */
class W {
  private readonly b: number[] = [];
  u8(v: number): this {
    this.b.push(v & 255);
    return this;
  }
  u16(v: number): this {
    return this.u8(v >>> 8).u8(v);
  }
  u32(v: number): this {
    return this.u16(v >>> 16).u16(v & 0xffff);
  }
  u64(v: number): this {
    return this.u32(Math.floor(v / 4294967296)).u32(v >>> 0);
  }
  bytes(a: readonly number[]): this {
    for (const x of a) this.u8(x);
    return this;
  }
  get length(): number {
    return this.b.length;
  }
  done(): Uint8Array {
    return Uint8Array.from(this.b);
  }
  patch16(at: number, v: number): void {
    this.b[at] = (v >>> 8) & 255;
    this.b[at + 1] = v & 255;
  }
}

const ip = (s: string) => s.split('.').reduce((a, o) => a * 256 + Number(o), 0);
type F = [id: number, len: number];

/** IPFIX message from sets ([setId, body bytes]). */
function ipfix(domain: number, exportSec: number, sets: [number, Uint8Array][], seq = 0): Uint8Array {
  const w = new W().u16(10).u16(0).u32(exportSec).u32(seq).u32(domain);
  for (const [id, body] of sets) w.u16(id).u16(body.length + 4).bytes([...body]);
  w.patch16(2, w.length);
  return w.done();
}

function v9(sourceId: number, sysUptime: number, unixSec: number, sets: [number, Uint8Array][], seq = 0): Uint8Array {
  const w = new W().u16(9).u16(sets.length).u32(sysUptime).u32(unixSec).u32(seq).u32(sourceId);
  for (const [id, body] of sets) w.u16(id).u16(body.length + 4).bytes([...body]);
  return w.done();
}

function template(id: number, fields: F[]): Uint8Array {
  const w = new W().u16(id).u16(fields.length);
  for (const [f, l] of fields) w.u16(f).u16(l);
  return w.done();
}

const basic: F[] = [[8, 4], [12, 4], [7, 2], [11, 2], [4, 1], [6, 1], [2, 4], [1, 4], [152, 8], [153, 8]];
function basicRecord(w: W, src: string, dst: string, sp: number, dp: number, proto: number, pk: number, by: number, st: number, en: number): W {
  return w.u32(ip(src)).u32(ip(dst)).u16(sp).u16(dp).u8(proto).u8(0x1b).u32(pk).u32(by).u64(st).u64(en);
}

const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);

describe('IPFIX', () => {
  it('decodes data sets with a template, per exporter and observation domain', () => {
    const d = new FlowDecoder();
    const out: FlowRecord[] = [];
    const rec = basicRecord(new W(), '127.1.0.1', '127.2.0.1', 40000, 23, 6, 3, 180, T0, T0 + 500);
    const n = d.decode(ipfix(7, T0 / 1000, [[2, template(300, basic)], [300, rec.done()]]), '127.0.0.1', 4739, out);
    expect(n).toBe(1);
    expect(out[0]).toEqual({ startMs: T0, endMs: T0 + 500, src: ip('127.1.0.1'), srcPort: 40000, dst: ip('127.2.0.1'), dstPort: 23, proto: 6, packets: 3, bytes: 180, tcpFlags: 0x1b, exporter: '127.0.0.1:4739/7', sampling: 1 });
    // Same template id from another domain or another exporter port is unknown there.
    expect(d.decode(ipfix(8, T0 / 1000, [[300, rec.done()]]), '127.0.0.1', 4739, out)).toBe(0);
    expect(d.decode(ipfix(7, T0 / 1000, [[300, rec.done()]]), '127.0.0.1', 4740, out)).toBe(0);
    expect(d.decode(ipfix(7, T0 / 1000, [[300, rec.done()]]), '127.0.0.1', 4739, out)).toBe(1);
    const s = d.stats();
    expect(s.byExporter['127.0.0.1:4739/8']!.missingTemplate).toBe(1);
    expect(s.byExporter['127.0.0.1:4740/7']!.missingTemplate).toBe(1);
    expect(s.byExporter['127.0.0.1:4739/7']).toEqual({ packets: 2, records: 2, malformed: 0, missingTemplate: 0 });
  });

  it('buffers data sets that come before their template and decodes them when it arrives', () => {
    const d = new FlowDecoder();
    const out: FlowRecord[] = [];
    const rec = basicRecord(new W(), '127.1.0.1', '127.2.0.1', 1, 2, 17, 1, 60, T0, T0).done();
    expect(d.decode(ipfix(1, T0 / 1000, [[400, rec]]), '127.0.0.1', 9000, out)).toBe(0);
    expect(d.stats().byExporter['127.0.0.1:9000/1']!.missingTemplate).toBe(1);
    expect(d.decode(ipfix(1, T0 / 1000, [[2, template(400, basic)]]), '127.0.0.1', 9000, out)).toBe(1);
    expect(out[0]!.proto).toBe(17);
    expect(d.stats().byExporter['127.0.0.1:9000/1']!.missingTemplate).toBe(0);
    expect(d.stats().skipped['late-template']).toBe(1);
  });

  it('bounds the buffer of sets waiting for a template and counts the ones given up', () => {
    const d = new FlowDecoder({ maxPendingPerExporter: 3 });
    const out: FlowRecord[] = [];
    const rec = basicRecord(new W(), '127.1.0.1', '127.2.0.1', 1, 2, 17, 1, 60, T0, T0).done();
    for (let i = 0; i < 10; i++) d.decode(ipfix(1, T0 / 1000, [[400, rec]]), '127.0.0.1', 9000, out);
    expect(d.stats().byExporter['127.0.0.1:9000/1']!.missingTemplate).toBe(10);
    d.decode(ipfix(1, T0 / 1000, [[2, template(400, basic)]]), '127.0.0.1', 9000, out);
    expect(out).toHaveLength(3);
    expect(d.stats().byExporter['127.0.0.1:9000/1']!.missingTemplate).toBe(7);
  });

  it('applies template refresh and withdrawal', () => {
    const d = new FlowDecoder();
    const out: FlowRecord[] = [];
    const short: F[] = [[8, 4], [12, 4], [4, 1]];
    d.decode(ipfix(1, T0 / 1000, [[2, template(256, basic)]]), '127.0.0.1', 1, out);
    // Refresh with a different layout: the new one is used.
    d.decode(ipfix(1, T0 / 1000, [[2, template(256, short)], [256, new W().u32(ip('127.0.0.9')).u32(ip('127.0.0.8')).u8(1).done()]]), '127.0.0.1', 1, out);
    expect(out).toHaveLength(1);
    expect(out[0]!.src).toBe(ip('127.0.0.9'));
    expect(out[0]!.startMs).toBe(T0); // no times in the record: the export time
    // Withdrawal (field count 0): data for it is unknown again.
    d.decode(ipfix(1, T0 / 1000, [[2, new W().u16(256).u16(0).done()]]), '127.0.0.1', 1, out);
    expect(d.decode(ipfix(1, T0 / 1000, [[256, new W().u32(1).u32(2).u8(1).done()]]), '127.0.0.1', 1, out)).toBe(0);
    expect(d.stats().skipped['template-withdrawn']).toBe(1);
  });

  it('skips enterprise elements and reads variable-length fields', () => {
    const d = new FlowDecoder();
    const out: FlowRecord[] = [];
    // sourceIPv4, an enterprise element 0x8000|12 (4 bytes, PEN 29305), a variable-length element (interfaceName 82), dst, proto.
    const t = new W().u16(500).u16(5).u16(8).u16(4).u16(0x8000 | 8).u16(4).u32(29305).u16(82).u16(65535).u16(12).u16(4).u16(4).u16(1).done();
    const r1 = new W().u32(ip('127.3.0.1')).u32(0xdeadbeef).u8(3).bytes([101, 116, 104]).u32(ip('127.4.0.1')).u8(6);
    // A long variable-length value uses the 3-byte form (255, length).
    const r2 = r1.u32(ip('127.3.0.2')).u32(0).u8(255).u16(300).bytes(new Array(300).fill(65)).u32(ip('127.4.0.2')).u8(17);
    d.decode(ipfix(1, T0 / 1000, [[2, t], [500, r2.done()]]), '127.0.0.1', 1, out);
    expect(out.map((f) => [f.src, f.dst, f.proto])).toEqual([[ip('127.3.0.1'), ip('127.4.0.1'), 6], [ip('127.3.0.2'), ip('127.4.0.2'), 17]]);
  });

  it('applies sampling from options data: a default, and per selector id', () => {
    const d = new FlowDecoder();
    const out: FlowRecord[] = [];
    // Options template 600: scope meteringProcessId(143), samplingPacketInterval(305), samplingPacketSpace(306): 1 in 100.
    const ot = new W().u16(600).u16(3).u16(1).u16(143).u16(4).u16(305).u16(4).u16(306).u16(4).done();
    const od = new W().u32(1).u32(1).u32(99).done();
    // Options template 601: scope selectorId(302), samplerRandomInterval(50) = 10.
    const ot2 = new W().u16(601).u16(2).u16(1).u16(302).u16(4).u16(50).u16(4).done();
    const od2 = new W().u32(42).u32(10).done();
    const withSel: F[] = [...basic, [302, 4]];
    const data = basicRecord(new W(), '127.1.0.1', '127.2.0.1', 1, 2, 6, 2, 100, T0, T0).done();
    const dataSel = basicRecord(new W(), '127.1.0.1', '127.2.0.1', 1, 2, 6, 2, 100, T0, T0).u32(42).done();
    d.decode(ipfix(1, T0 / 1000, [[3, ot], [3, ot2], [600, od], [601, od2], [2, template(700, basic)], [2, template(701, withSel)], [700, data], [701, dataSel]]), '127.0.0.1', 1, out);
    expect(out.map((f) => [f.packets, f.bytes, f.sampling])).toEqual([[200, 10000, 100], [20, 1000, 10]]);
  });

  it('turns flowStart/EndSysUpTime into absolute times with systemInitTimeMilliseconds', () => {
    const d = new FlowDecoder();
    const out: FlowRecord[] = [];
    const ot = new W().u16(600).u16(2).u16(1).u16(143).u16(4).u16(160).u16(8).done();
    const od = new W().u32(1).u64(T0 - 10_000).done();
    const t = template(800, [[8, 4], [12, 4], [22, 4], [21, 4]]);
    const r = new W().u32(1).u32(2).u32(4000).u32(6500).done();
    d.decode(ipfix(1, T0 / 1000, [[3, ot], [600, od], [2, t], [800, r]]), '127.0.0.1', 1, out);
    expect([out[0]!.startMs, out[0]!.endMs]).toEqual([T0 - 6000, T0 - 3500]);
  });

  it('counts flows lost upstream from sequence gaps, in RFC 7011 and softflowd numbering', () => {
    const rec = basicRecord(new W(), '127.1.0.1', '127.2.0.1', 1, 2, 6, 1, 60, T0, T0).done();
    const two = new Uint8Array([...rec, ...rec]);
    for (const [label, first] of [['rfc', 0], ['softflowd', 2]] as const) {
      const d = new FlowDecoder();
      const send = (seq: number) => d.decode(ipfix(1, T0 / 1000, [[2, template(300, basic)], [300, two]], seq), '127.0.0.1', 1, []);
      send(first);
      send(first + 2);
      expect(d.sequenceLoss(), label).toEqual({});
      send(first + 6); // one message of two records missing
      expect(d.sequenceLoss(), label).toEqual({ '127.0.0.1:1/1': 2 });
    }
  });

  it('counts IPv6 records as skipped', () => {
    const d = new FlowDecoder();
    const out: FlowRecord[] = [];
    const t = template(900, [[27, 16], [28, 16], [4, 1]]);
    const r = new W().bytes(new Array(32).fill(0)).u8(6).done();
    expect(d.decode(ipfix(1, T0 / 1000, [[2, t], [900, r]]), '127.0.0.1', 1, out)).toBe(0);
    expect(d.stats().skipped['ipv6']).toBe(1);
  });
});

describe('NetFlow v9', () => {
  it('makes sysUptime-relative times absolute and reads options-template sampling (scope types are not elements)', () => {
    const d = new FlowDecoder();
    const out: FlowRecord[] = [];
    // Options template 257: scope System (type 1 = IN_BYTES' number!) 4 bytes; SAMPLING_INTERVAL(34) 4 bytes.
    const ot = new W().u16(257).u16(4).u16(4).u16(1).u16(4).u16(34).u16(4).done();
    const od = new W().u32(0xffffffff).u32(64).bytes([0, 0]).done(); // 2 padding bytes
    const t = template(256, [[8, 4], [12, 4], [22, 4], [21, 4], [2, 4], [1, 4], [4, 1]]);
    const r = new W().u32(ip('127.5.0.1')).u32(ip('127.6.0.1')).u32(1000).u32(3000).u32(2).u32(120).u8(17).done();
    const n = d.decode(v9(3, 10_000, T0 / 1000, [[1, ot], [257, od], [0, t], [256, r]]), '127.0.0.2', 2055, out);
    expect(n).toBe(1);
    expect(out[0]).toMatchObject({ startMs: T0 - 9000, endMs: T0 - 7000, packets: 128, bytes: 7680, sampling: 64, proto: 17, exporter: '127.0.0.2:2055/3' });
  });

  it('decodes a real softflowd 1.1.0 export (v9 and IPFIX) like nfdump 1.7.1 did', () => {
    const csv = readFileSync(new URL('../../../test/fixtures/flows/nfdump-1.7.1.csv', import.meta.url), 'utf8').split('\n');
    const nf = csv.filter((l) => /^\d{4}-/.test(l)).map((l) => l.split(','));
    expect(nf).toHaveLength(40);
    for (const v of ['v9', 'v10']) {
      const d = new FlowDecoder();
      const out: FlowRecord[] = [];
      for (const hex of readFileSync(new URL(`../../../test/fixtures/flows/softflowd-${v}.hex`, import.meta.url), 'utf8').split('\n').filter(Boolean)) d.decode(Buffer.from(hex, 'hex'), '127.0.0.1', 9995, out);
      expect(out).toHaveLength(40);
      expect(Object.values(d.stats().byExporter).every((c) => c.malformed === 0 && c.missingTemplate === 0)).toBe(true);
      const key = (f: FlowRecord) => `${f.src}:${f.srcPort}>${f.dst}:${f.dstPort}/${f.proto}`;
      const ours = new Map(out.map((f) => [key(f), f]));
      for (const row of nf) {
        const f = ours.get(`${ip(row[3]!)}:${row[5]}>${ip(row[4]!)}:${row[6]}/${row[7] === 'TCP' ? 6 : 17}`);
        expect(f, row.join(',')).toBeDefined();
        expect([f!.packets, f!.bytes]).toEqual([Number(row[11]), Number(row[12])]);
        if (v === 'v9') expect(new Date(Math.floor(f!.startMs / 1000) * 1000).toISOString().replace('T', ' ').slice(0, 19)).toBe(row[0]);
      }
    }
  });
});

describe('NetFlow v5', () => {
  it('reads fixed records with the header sampling interval', () => {
    const w = new W().u16(5).u16(2).u32(50_000).u32(T0 / 1000).u32(0).u32(77).u8(0).u8(1).u16((1 << 14) | 10);
    for (const k of [1, 2]) {
      w.u32(ip(`127.7.0.${k}`)).u32(ip('127.8.0.1')).u32(0).u16(0).u16(0).u32(3).u32(150).u32(40_000).u32(45_000).u16(5000 + k).u16(80).u8(0).u8(0x12).u8(6).u8(0).u16(0).u16(0).u8(0).u8(0).u16(0);
    }
    const d = new FlowDecoder();
    const out: FlowRecord[] = [];
    expect(d.decode(w.done(), '127.0.0.3', 9996, out)).toBe(2);
    expect(out[1]).toEqual({ startMs: T0 - 10_000, endMs: T0 - 5000, src: ip('127.7.0.2'), srcPort: 5002, dst: ip('127.8.0.1'), dstPort: 80, proto: 6, packets: 30, bytes: 1500, tcpFlags: 0x12, exporter: '127.0.0.3:9996/1', sampling: 10 });
  });
});

describe('damaged and random packets', () => {
  it('never throws, counts them malformed for their exporter, and leaves other exporters decoding', () => {
    const rng = createRng(12).next;
    const good = new FlowDecoder();
    const d = new FlowDecoder();
    const out: FlowRecord[] = [];
    const valid = [
      ...readFileSync(new URL('../../../test/fixtures/flows/softflowd-v9.hex', import.meta.url), 'utf8').split('\n').filter(Boolean),
      ...readFileSync(new URL('../../../test/fixtures/flows/softflowd-v10.hex', import.meta.url), 'utf8').split('\n').filter(Boolean),
    ].map((h) => Buffer.from(h, 'hex'));
    // Teach the templates to the hostile exporter too, then hit it with damage.
    for (const p of valid) d.decode(p, '127.0.0.66', 1, out);
    let malformed = 0;
    for (let i = 0; i < 20_000; i++) {
      let p: Uint8Array;
      const kind = i % 4;
      if (kind === 0) {
        p = Uint8Array.from({ length: Math.floor(rng() * 1500) }, () => Math.floor(rng() * 256));
        if (p.length >= 2 && rng() < 0.7) p[1] = [5, 9, 10][Math.floor(rng() * 3)]!, (p[0] = 0);
      } else {
        p = Uint8Array.from(valid[Math.floor(rng() * valid.length)]!);
        if (kind === 1) p = p.subarray(0, Math.floor(rng() * p.length));
        else for (let k = 0; k < 1 + Math.floor(rng() * 8); k++) p[Math.floor(rng() * p.length)] = Math.floor(rng() * 256);
      }
      expect(() => d.decode(p, '127.0.0.66', 1, out)).not.toThrow();
    }
    for (const c of Object.values(d.stats().byExporter)) malformed += c.malformed;
    expect(malformed).toBeGreaterThan(1000);
    for (const f of out) {
      expect([f.startMs, f.endMs, f.packets, f.bytes, f.sampling].every(Number.isSafeInteger) && f.sampling >= 1 && f.src >= 0 && f.src <= 0xffffffff, JSON.stringify(f)).toBe(true);
    }
    // A clean exporter in the same decoder is untouched by the other's damage.
    const cleanOut: FlowRecord[] = [];
    for (const p of valid) d.decode(p, '127.0.0.1', 2, cleanOut);
    for (const p of valid) good.decode(p, '127.0.0.1', 2, []);
    expect(cleanOut).toHaveLength(80);
    expect(d.stats().byExporter['127.0.0.1:2/0']).toEqual(good.stats().byExporter['127.0.0.1:2/0']);
  });
});
