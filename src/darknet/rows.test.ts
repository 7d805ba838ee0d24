import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { createRng } from '../core/rng.js';
import { newFrameSpec, tcpFlag, writeFrame } from './pcap/build.js';
import { decodePacket, linkTypes, newPacketView, type DecodeFailure } from './pcap/packet.js';
import { readCapture, readCaptureRows, type CaptureInput } from './pcap/reader.js';
import { CaptureWriter, type CaptureFormat } from './pcap/writer.js';
import { HIT_SHIFT, KIND_SHIFT, RowPacker, WORDS, kind, type PacketRows } from './rows.js';

const dir = mkdtempSync(join(tmpdir(), 'iotclean-rows-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const rng = createRng('rows-test');
const r32 = () => (rng.int(65536) * 65536 + rng.int(65536)) >>> 0;
const pick = <T>(xs: readonly T[]): T => xs[rng.int(xs.length)]!;
const ZMAP_OPTIONS = Uint8Array.from([2, 4, 5, 0xb4]);
const LINUX_OPTIONS = Uint8Array.from([2, 4, 5, 0xb4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7]);

interface Frame {
  readonly bytes: Uint8Array;
  readonly sec: number;
  readonly nsec: number;
}

/**
 * Ethernet frames around every decision the row packer's byte path makes: EtherType, IP version
 * and header length, total length (right, short, zero, past the frame), fragment bits, protocol,
 * TCP data offset and option bytes, flags, truncation anywhere, and random bytes in the headers.
 * Scanner-like fields (Mirai, masscan, ZMap) are common, so the rule bits vary. Times jump now and
 * then by more than a batch may span, forwards and back.
 */
function frames(n: number): Frame[] {
  const out: Frame[] = [];
  const s = newFrameSpec();
  const buf = new Uint8Array(512);
  let sec = 1_768_435_200;
  for (let i = 0; i < n; i++) {
    s.framing = rng.int(10) === 0 ? 'vlan' : 'ethernet';
    s.ipVersion = rng.int(10) === 0 ? 6 : 4;
    s.src = (0x7f4d0000 + rng.int(64)) >>> 0;
    s.dst = rng.int(4) === 0 ? r32() : (0x7fc80000 + rng.int(4096)) >>> 0;
    for (let k = 0; k < 16; k++) {
      s.src6[k] = k === 15 ? s.src & 255 : 0x20 + k;
      s.dst6[k] = k >= 12 ? (s.dst >>> ((15 - k) * 8)) & 255 : 0x30;
    }
    const p = rng.int(12);
    s.proto = p < 7 ? 6 : p === 7 ? 17 : p === 8 ? 1 : p === 9 ? 58 : p === 10 ? 47 : rng.int(256);
    s.ttl = pick([255, 250, 64, 128, 129]);
    s.sport = rng.int(65536);
    s.dport = pick([23, 2323, 80, 0, 65535, rng.int(65536)]);
    const style = rng.int(4);
    s.seq = style === 0 ? s.dst : r32();
    s.ipId = style === 1 ? (s.dst ^ s.dport ^ s.seq) & 0xffff : style === 2 ? 54321 : rng.int(65536);
    s.ack = rng.int(3) === 0 ? r32() : 0;
    s.tcpFlags = rng.int(4) === 0 ? rng.int(256) : pick([tcpFlag.syn, tcpFlag.syn, tcpFlag.syn | tcpFlag.ack, tcpFlag.rst, tcpFlag.ack]);
    s.window = pick([65535, 1024, 29200]);
    s.tcpOptions = pick([new Uint8Array(0), new Uint8Array(0), ZMAP_OPTIONS, LINUX_OPTIONS, Uint8Array.from({ length: 4 * (1 + rng.int(10)) }, () => rng.int(256))]);
    s.icmpType = rng.int(3) === 0 ? rng.int(256) : pick([0, 3, 8, 11, 1, 128, 129]);
    s.icmpCode = 0;
    const frag = rng.int(12);
    s.fragOffset = frag === 0 ? 8 * (1 + rng.int(100)) : 0;
    s.moreFragments = frag <= 1;
    s.payload = rng.int(4) === 0 ? rng.int(40) : 0;
    let len = writeFrame(buf, s);
    if (rng.int(6) === 0) {
      const pad = 1 + rng.int(30);
      buf.fill(0xee, len, len + pad);
      len += pad;
    }
    const b = buf.slice(0, len);
    // Targeted damage at the fields the byte path reads, then a random byte now and then.
    const d = rng.int(16);
    if (d === 0) b[12] = pick([0x86, 0x81, rng.int(256)]);
    else if (d === 1) b[14] = pick([0x44, 0x46, 0x4f, 0x55, rng.int(256)]);
    else if (d === 2) [b[16], b[17]] = pick([[0, 0], [0, 19], [0, 20], [0, 30], [0, 39], [0, 40], [5, 220], [rng.int(256), rng.int(256)]]);
    else if (d === 3) [b[20], b[21]] = pick([[0x40, 0], [0x20, 0], [0, 1], [0x1f, 0xff], [rng.int(256), rng.int(256)]]);
    else if (d === 4 && len > 46) b[46] = rng.int(256); // TCP data offset
    else if (d === 5) b[rng.int(Math.min(len, 70))] = rng.int(256);
    const cut = rng.int(10) === 0 ? rng.int(len + 1) : len;
    const jump = rng.int(500);
    sec += jump === 0 ? 3_000_000 : jump === 1 ? -2_500_000 : rng.int(3);
    out.push({ bytes: b.subarray(0, cut), sec, nsec: rng.int(1_000_000_000) });
  }
  return out;
}

/** The batches a packer hands on, copied (the packer reuses what the callee gives back). */
function collect(capacity: number): { packer: RowPacker; batches: PacketRows[] } {
  const batches: PacketRows[] = [];
  const packer = new RowPacker(capacity, (r) => {
    batches.push({ words: r.words.slice(0, r.count * WORDS), count: r.count, baseSec: r.baseSec, six: r.six.slice(0, r.sixCount * 16), sixCount: r.sixCount });
    return r;
  });
  return { packer, batches };
}

function write(file: string, format: CaptureFormat, bigEndian: boolean, all: readonly Frame[]): void {
  const w = new CaptureWriter(file, { format, bigEndian, interfaces: [{ linkType: linkTypes.ethernet }] });
  for (const f of all) w.packet(f.bytes, f.bytes.length, f.sec >>> 0, f.nsec, 0);
  w.close();
}

/** readCapture into add() against readCaptureRows, batch by batch and count by count. */
async function compareReads(input: () => CaptureInput, chunkSize?: number): Promise<number> {
  const generic = collect(97);
  const want = await readCapture(input(), generic.packer.add, chunkSize ? { chunkSize } : {});
  generic.packer.flush();
  const fused = collect(97);
  const got = await readCaptureRows(input(), fused.packer, chunkSize ? { chunkSize } : {});
  fused.packer.flush();
  expect(got).toEqual(want);
  expect(fused.batches).toEqual(generic.batches);
  return want.packets;
}

describe('packet rows from record bytes (readCaptureRows, RowPacker.addFrame)', () => {
  const all = frames(40_000);

  for (const [format, bigEndian] of [['pcap', false], ['pcap', true], ['pcap-ns', false], ['pcap-ns', true]] as const) {
    it(`gives the rows decodePacket and add() give, for every frame (${format}, ${bigEndian ? 'big' : 'little'}-endian)`, async () => {
      const file = join(dir, `frames-${format}-${bigEndian ? 'be' : 'le'}.pcap`);
      write(file, format, bigEndian, all);

      // The reference: every frame through the full decoder and add(), with the time as stored.
      const ref = collect(97);
      const v = newPacketView();
      const failures: Partial<Record<DecodeFailure, number>> = {};
      let packets = 0;
      for (const f of all) {
        const failure = decodePacket(linkTypes.ethernet, f.bytes, 0, f.bytes.length, v);
        if (failure !== undefined) {
          failures[failure] = (failures[failure] ?? 0) + 1;
          continue;
        }
        v.tsSec = f.sec >>> 0;
        v.tsNsec = format === 'pcap' ? Math.floor(f.nsec / 1000) * 1000 : f.nsec;
        packets++;
        ref.packer.add(v);
      }
      ref.packer.flush();

      const got = collect(97);
      const stats = await readCaptureRows(file, got.packer, { chunkSize: 4096 });
      got.packer.flush();
      expect(stats.records).toBe(all.length);
      expect(stats.packets).toBe(packets);
      expect(stats.skipped).toEqual(failures);
      expect(stats.skippedBytes).toBe(0);
      expect(got.batches).toEqual(ref.batches);

      // The comparison covers every kind and every rule bit, and batches cut by time as well as size.
      const kinds = new Set<number>();
      const hits = new Set<number>();
      for (const b of ref.batches) {
        for (let i = 0; i < b.count; i++) {
          const w3 = b.words[i * WORDS + 3]!;
          kinds.add((w3 >>> KIND_SHIFT) & 7);
          hits.add((w3 >>> HIT_SHIFT) & 7);
        }
      }
      expect(kinds.size).toBe(Object.keys(kind).length);
      expect([...hits].reduce((a, h) => a | h, 0)).toBe(7);
      expect(ref.batches.some((b) => b.count < 97)).toBe(true);
    });
  }

  it('matches readCapture on damaged captures: flipped bytes anywhere, cut short, huge lengths', async () => {
    const base = join(dir, 'base.pcap');
    write(base, 'pcap', false, all.slice(0, 3000));
    const orig = readFileSync(base);
    const file = join(dir, 'damaged.pcap');
    let packets = 0;
    for (let round = 0; round < 60; round++) {
      const b = Buffer.from(orig.subarray(0, rng.int(4) === 0 ? 24 + rng.int(orig.length - 24) : orig.length));
      for (let i = 0, flips = 1 + rng.int(20); i < flips; i++) b[24 + rng.int(b.length - 24)] = rng.int(256);
      // A record length field set past any snapshot length, or to just past the file's end.
      if (rng.int(3) === 0) b.writeUInt32LE(pick([0xffffffff, 0x7fffffff, 262145, b.length]), 24 + 8);
      writeFileSync(file, b);
      packets += await compareReads(() => file, pick([4096, 65536, undefined]));
    }
    expect(packets).toBeGreaterThan(60 * 1000);
  });

  it('matches readCapture on a stream, on pcapng and on other link types (which take add())', async () => {
    const file = join(dir, 'stream.pcap');
    write(file, 'pcap', true, all.slice(0, 5000));
    const bytes = readFileSync(file);
    const pieces: Buffer[] = [];
    for (let at = 0; at < bytes.length; ) {
      const n = 1 + rng.int(3000);
      pieces.push(bytes.subarray(at, at + n));
      at += n;
    }
    expect(await compareReads(() => ({ name: 'stdin', stream: Readable.from(pieces) }), 4096)).toBeGreaterThan(3000);

    const ng = join(dir, 'frames.pcapng');
    const w = new CaptureWriter(ng, { format: 'pcapng', interfaces: [{ linkType: linkTypes.ethernet }] });
    for (const f of all.slice(0, 5000)) w.packet(f.bytes, f.bytes.length, f.sec >>> 0, f.nsec, 0);
    w.close();
    expect(await compareReads(() => ng)).toBeGreaterThan(3000);

    const raw = join(dir, 'raw.pcap');
    const r = new CaptureWriter(raw, { format: 'pcap', interfaces: [{ linkType: linkTypes.raw }] });
    for (const f of all.slice(0, 5000)) if (f.bytes.length > 14) r.packet(f.bytes.subarray(14), f.bytes.length - 14, f.sec >>> 0, f.nsec, 0);
    r.close();
    expect(await compareReads(() => raw)).toBeGreaterThan(3000);
  });
});
