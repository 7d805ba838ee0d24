import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createRng } from '../../core/rng.js';
import { DarknetAnalyser } from '../classify.js';
import { newFrameSpec, tcpFlag, writeFrame, type Framing } from './build.js';
import { decodeEthernetIpv4Tcp, decodePacket, linkTypes, newPacketView, type PacketView } from './packet.js';
import { readCapture } from './reader.js';
import { CaptureWriter } from './writer.js';

const dir = mkdtempSync(join(tmpdir(), 'iotclean-fastpath-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const DAY0 = 1_768_435_200; // 2026-01-15T00:00:00Z
const rng = createRng('fastpath-test');
const r32 = () => (rng.int(65536) * 65536 + rng.int(65536)) >>> 0;
const ZMAP_OPTIONS = Uint8Array.from([2, 4, 5, 0xb4]);
const LINUX_OPTIONS = Uint8Array.from([2, 4, 5, 0xb4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7]);

interface Frame {
  readonly bytes: Uint8Array;
  readonly ts: number;
}

/**
 * Frames of every kind the fast path must hand on or decode exactly: Ethernet and VLAN, IPv4 and
 * IPv6, TCP (with and without options, every flag mix), UDP, ICMP, other protocols, fragments,
 * Ethernet padding, records cut short anywhere, and a few corrupted bytes in the headers.
 * Sources come from a small pool so that they gather enough packets to be labelled.
 */
function frames(n: number): Frame[] {
  const out: Frame[] = [];
  const s = newFrameSpec();
  const buf = new Uint8Array(512);
  const sources = Array.from({ length: 40 }, (_, i) => (0x7f4d0000 + i * 7) >>> 0);
  for (let i = 0; i < n; i++) {
    s.framing = (rng.int(5) === 0 ? 'vlan' : 'ethernet') as Framing;
    s.ipVersion = rng.int(8) === 0 ? 6 : 4;
    s.src = sources[rng.int(sources.length)]!;
    s.dst = (0x7fc80000 + rng.int(4096)) >>> 0;
    for (let k = 0; k < 16; k++) {
      s.src6[k] = k === 15 ? s.src & 255 : 0x20 + k;
      s.dst6[k] = k >= 12 ? (s.dst >>> ((15 - k) * 8)) & 255 : 0x30;
    }
    const kind = rng.int(10);
    s.proto = kind < 6 ? 6 : kind === 6 ? 17 : kind === 7 ? 1 : kind === 8 ? (s.ipVersion === 6 ? 58 : 1) : 47;
    s.ttl = rng.int(2) === 0 ? 255 : 64;
    s.sport = rng.int(65536);
    s.dport = [23, 2323, 80, 443, rng.int(65536)][rng.int(5)]!;
    const style = rng.int(4);
    s.seq = style === 0 ? s.dst : r32();
    s.ipId = style === 1 ? ((s.dst ^ s.dport ^ s.seq) & 0xffff) : style === 2 ? 54321 : rng.int(65536);
    s.ack = rng.int(3) === 0 ? r32() : 0;
    s.tcpFlags = [tcpFlag.syn, tcpFlag.syn, tcpFlag.syn | tcpFlag.ack, tcpFlag.rst, tcpFlag.ack, tcpFlag.fin | tcpFlag.ack][rng.int(6)]!;
    s.window = [65535, 1024, 29200][rng.int(3)]!;
    s.tcpOptions = [new Uint8Array(0), ZMAP_OPTIONS, LINUX_OPTIONS][rng.int(3)]!;
    s.icmpType = [0, 3, 8, 11, 128, 129][rng.int(6)]!;
    s.icmpCode = 0;
    const frag = rng.int(12);
    s.fragOffset = frag === 0 ? 8 * (1 + rng.int(100)) : 0;
    s.moreFragments = frag <= 1;
    s.payload = rng.int(4) === 0 ? rng.int(40) : 0;
    let len = writeFrame(buf, s);
    // Ethernet padding past the IP total length (RFC 894), filled with non-zero bytes.
    if (rng.int(6) === 0) {
      const pad = 1 + rng.int(30);
      buf.fill(0xee, len, len + pad);
      len += pad;
    }
    const bytes = buf.slice(0, len);
    const damage = rng.int(12);
    if (damage === 0) out.push({ bytes: bytes.subarray(0, rng.int(len)), ts: DAY0 + i }); // truncated anywhere
    else {
      // A flipped byte in the link, IP or TCP header now and then (EtherType, version/IHL, protocol, ...).
      if (damage === 1) {
        const at = rng.int(Math.min(len, 60));
        bytes[at] = bytes[at]! ^ (1 << rng.int(8));
      }
      out.push({ bytes, ts: DAY0 + i });
    }
  }
  return out;
}

/** The fields the decoders write (the reader sets the time and interface; buf is the same array). */
function fields(v: PacketView): Record<string, unknown> {
  const { buf: _buf, tsSec: _s, tsNsec: _n, iface: _i, ...rest } = v;
  return rest;
}

/** A view with every field set to junk, so a field the fast path forgets to write shows up. */
function junkView(): PacketView {
  const v = newPacketView();
  for (const k of Object.keys(v) as (keyof PacketView)[]) {
    if (k === 'buf') continue;
    if (typeof v[k] === 'boolean') (v as unknown as Record<string, unknown>)[k] = true;
    else (v as unknown as Record<string, unknown>)[k] = 0x5a5a;
  }
  return v;
}

describe('Ethernet/IPv4/TCP fast-path decoder', () => {
  const all = frames(30_000);

  it('decodes exactly what the full decoder does, and hands every other frame on', () => {
    const full = newPacketView();
    let fast = 0;
    let fallback = 0;
    let failed = 0;
    for (const f of all) {
      const v = junkView();
      const took = decodeEthernetIpv4Tcp(f.bytes, 0, f.bytes.length, v);
      const failure = decodePacket(linkTypes.ethernet, f.bytes, 0, f.bytes.length, full);
      if (took) {
        fast++;
        expect(failure).toBeUndefined();
        expect(fields(v)).toEqual(fields(full));
      } else if (failure === undefined) fallback++;
      else failed++;
    }
    // Every branch was exercised on this capture.
    expect(fast).toBeGreaterThan(10_000);
    expect(fallback).toBeGreaterThan(3_000);
    expect(failed).toBeGreaterThan(100);
  });

  it('reading a capture (fast path) classifies every source as the full decoder alone does', async () => {
    const file = join(dir, 'mixed.pcap');
    const w = new CaptureWriter(file, { format: 'pcap', interfaces: [{ linkType: linkTypes.ethernet }] });
    for (const f of all) w.packet(f.bytes, f.bytes.length, f.ts, 0);
    w.close();

    const viaReader = new DarknetAnalyser();
    const stats = await readCapture(file, (v) => viaReader.add(v));

    const reference = new DarknetAnalyser();
    const v = newPacketView();
    let packets = 0;
    for (const f of all) {
      if (decodePacket(linkTypes.ethernet, f.bytes, 0, f.bytes.length, v) !== undefined) continue;
      v.tsSec = f.ts;
      v.tsNsec = 0;
      v.iface = 0;
      packets++;
      reference.add(v);
    }
    expect(stats.packets).toBe(packets);
    const got = viaReader.finish();
    const want = reference.finish();
    expect(got).toEqual(want);
    // The capture has labelled scanners, backscatter and the rest, so the comparison means something.
    const labels = new Set(want.sources.map((s) => `${s.class}/${s.fingerprint}`));
    expect(labels.size).toBeGreaterThanOrEqual(3);
  });
});
