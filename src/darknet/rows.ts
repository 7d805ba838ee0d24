/**
 * Packet rows: what the per-source fold needs of one decoded packet, packed into four 32-bit words,
 * so that decoding and folding can run apart (in batches, or on two threads) and a batch crosses
 * threads as one transferable buffer.
 *
 * Everything that depends on the packet alone is worked out here, once: the packet's kind (probe,
 * backscatter, other), which fingerprint rules it matches, the destination port it counts for.
 * The fold (classify.ts) then only looks up the source and moves its counters on.
 *
 * Rows are made from a decoded view (add), or, for an Ethernet frame carrying IPv4 with a 20-byte
 * header, straight from its bytes (addFrame; pcap/reader.ts readCaptureRows hands classic-pcap
 * records over). Both give the same row for the same record (rows.test.ts holds them to it); the
 * kind and the fingerprint rules are each written once and called from both.
 *
 * Row k is words[4k .. 4k+3]:
 *   0  IPv4 source address, hashed; for an IPv6 packet the index of its source address in `six`
 *   1  destination, hashed: the IPv4 address, or the low 32 bits of the IPv6 one (the host part a
 *      darknet varies)
 * Hashed by sketch.ts mix32, a bijection (unmix32 undoes it), so distinct addresses stay distinct:
 * the fold's index and sketches take hashes, and they are made here, on the reading side, so the
 * folding thread (the busier of the two) does not.
 *   2  capture time in milliseconds after `baseSec`, as a signed 32-bit number
 *   3  destination port (bits 0-15), kind (16-18), one bit per fingerprint rule (19-21), IPv6 (22)
 */
import { fingerprintRules, type FingerprintRule, type SynMatch } from './fingerprints.js';
import type { FramePacker } from './pcap/container.js';
import { tcpOptionLayout, type PacketView } from './pcap/packet.js';
import { mix32 } from './sketch.js';

export const WORDS = 4;
/** Packet kinds (bits 16-18 of word 3). TCP and UDP kinds count their destination port. */
export const kind = { other: 0, syn: 1, synAck: 2, rst: 3, udp: 4, echo: 5, icmpReply: 6, tcpOther: 7 } as const;
export const KIND_SHIFT = 16;
export const HIT_SHIFT = 19;
export const IPV6_BIT = 1 << 22;
/** A batch spans at most this many seconds either side of its base, so word 2 never overflows. */
const MAX_SPAN_SEC = 2_000_000;
/** IPv6 source addresses one batch holds (they are rare in darknets). */
const MAX_SIX = 1024;

const RULES = fingerprintRules;
if (RULES.length !== 3) throw new Error('rows.ts has room for three fingerprint rules');
const [RULE0, RULE1, RULE2] = RULES as readonly [FingerprintRule, FingerprintRule, FingerprintRule];
// The rules' tests themselves: called through the registry's objects, each SYN paid a load and a
// check per rule.
const MATCH0: SynMatch = RULE0.match;
const MATCH1: SynMatch = RULE1.match;
const MATCH2: SynMatch = RULE2.match;

/** A batch of rows; plain typed arrays, so it can be posted to another thread and back. */
export interface PacketRows {
  readonly words: Uint32Array;
  count: number;
  baseSec: number;
  /** IPv6 source addresses, 16 bytes each. */
  readonly six: Uint8Array;
  sixCount: number;
}

export function newPacketRows(capacity: number): PacketRows {
  return { words: new Uint32Array(capacity * WORDS), count: 0, baseSec: 0, six: new Uint8Array(MAX_SIX * 16), sixCount: 0 };
}

/** The kind of a TCP packet by its flags byte. */
function tcpKind(f: number): number {
  if ((f & 0x12) === 0x02) return kind.syn;
  if ((f & 0x12) === 0x12) return kind.synAck;
  return f & 0x04 ? kind.rst : kind.tcpOther;
}

/**
 * Word 3's kind and port of a packet whose transport header was read (without fingerprint hits
 * and the IPv6 bit): `flagsOrType` is the TCP flags byte or the ICMP type, `dport` the TCP or UDP
 * destination port.
 */
function l4Bits(proto: number, flagsOrType: number, dport: number): number {
  if (proto === 6) return (tcpKind(flagsOrType) << KIND_SHIFT) | dport;
  if (proto === 17) return (kind.udp << KIND_SHIFT) | dport;
  if (proto === 1 || proto === 58) {
    const t = flagsOrType;
    if (proto === 1 ? t === 8 : t === 128) return kind.echo << KIND_SHIFT;
    // Replies to something: echo reply, unreachable, time exceeded (RFC 792, RFC 4443).
    if (proto === 1 ? t === 0 || t === 3 || t === 11 : t === 129 || t === 1 || t === 3) return kind.icmpReply << KIND_SHIFT;
  }
  return kind.other << KIND_SHIFT;
}

const SYN_BITS = kind.syn << KIND_SHIFT;

/** The hit bits of an IPv4 SYN probe (the fields fingerprints.ts SynMatch takes). */
function ruleHits(dst: number, dport: number, seq: number, ipId: number, window: number, ttl: number, tcpOptions: number): number {
  // Three call sites, one rule each: each stays monomorphic and is inlined. Their outcomes are
  // combined as numbers, not branched on: they vary from packet to packet and would mispredict.
  const m0 = +MATCH0(dst, dport, seq, ipId, window, ttl, tcpOptions);
  const m1 = +MATCH1(dst, dport, seq, ipId, window, ttl, tcpOptions);
  const m2 = +MATCH2(dst, dport, seq, ipId, window, ttl, tcpOptions);
  return (m0 | (m1 << 1) | (m2 << 2)) << HIT_SHIFT;
}

/**
 * The hit bits of the IPv4 SYN probe whose 20-byte IP header is at b[p] and whose TCP header is
 * whole before ipEnd: its fields as decodeIpv4 and decodeL4 read them, options bounded by ipEnd.
 */
function probeHits(b: Uint8Array, d: DataView, p: number, ipEnd: number): number {
  const q = p + 20;
  const hl = (b[q + 12]! >> 4) * 4;
  const options = hl > 20 ? tcpOptionLayout(b, q + 20, Math.min(q + hl, ipEnd)) : 0;
  return ruleHits(d.getUint32(p + 16), d.getUint16(q + 2), d.getUint32(q + 4), d.getUint16(p + 4), d.getUint16(q + 14), b[p + 8]!, options);
}

/**
 * Word 3 of the IPv4 packet whose 20-byte header is at b[p], not a later fragment, its transport
 * header bounded by ipEnd (decodeL4's lengths: TCP 20 bytes, UDP 8, ICMP 4).
 */
function ipv4L4Bits(b: Uint8Array, d: DataView, p: number, ipEnd: number): number {
  const proto = b[p + 9]!;
  const q = p + 20;
  if (proto === 6) {
    if (q + 20 > ipEnd) return kind.other << KIND_SHIFT;
    const bits = l4Bits(6, b[q + 13]!, d.getUint16(q + 2));
    return (bits & ~0xffff) === SYN_BITS ? bits | probeHits(b, d, p, ipEnd) : bits;
  }
  if (proto === 17) return q + 8 <= ipEnd ? l4Bits(17, 0, d.getUint16(q + 2)) : kind.other << KIND_SHIFT;
  if (proto === 1 || proto === 58) return q + 4 <= ipEnd ? l4Bits(proto, b[q]!, 0) : kind.other << KIND_SHIFT;
  return kind.other << KIND_SHIFT;
}

/** The kind and fingerprint bits of a decoded packet (word 3 without the IPv6 bit). */
function kindBits(v: PacketView): number {
  if (!v.l4) return kind.other << KIND_SHIFT;
  const bits = l4Bits(v.proto, v.proto === 6 ? v.tcpFlags : v.icmpType, v.dport);
  if ((bits & ~0xffff) !== SYN_BITS || v.ipVersion !== 4) return bits;
  return bits | ruleHits(v.dst, v.dport, v.seq, v.ipId, v.window, v.ttl, v.tcpOptions);
}

/**
 * Packs decoded packets into a batch and hands the batch on when it is full (or when a packet's
 * time or IPv6 address would not fit it); the callee may keep the batch, a fresh one is used next.
 */
export class RowPacker implements FramePacker {
  private rows: PacketRows;
  // The batch being filled, kept here (not in `rows`) while it fills: its words, rows and base.
  private words: Uint32Array;
  private count = 0;
  private baseSec = 0;

  constructor(private readonly capacity: number, private readonly onFull: (rows: PacketRows) => PacketRows | void) {
    this.rows = newPacketRows(capacity);
    this.words = this.rows.words;
  }

  /** Pack one packet (the view is not kept). Bound, so it can be handed out as a callback. */
  readonly add = (v: PacketView): void => {
    const sec = v.tsSec;
    const six = v.ipVersion === 6;
    const k = this.slot(sec, six);
    const w = this.words;
    if (six) {
      const r = this.rows;
      r.six.set(v.buf.subarray(v.srcOffset, v.srcOffset + 16), r.sixCount * 16);
      w[k] = r.sixCount++;
      const o = v.dstOffset;
      const b = v.buf;
      w[k + 1] = mix32(((b[o + 12]! << 24) | (b[o + 13]! << 16) | (b[o + 14]! << 8) | b[o + 15]!) >>> 0);
      w[k + 3] = kindBits(v) | IPV6_BIT;
    } else {
      w[k] = mix32(v.src);
      w[k + 1] = mix32(v.dst);
      w[k + 3] = kindBits(v);
    }
    w[k + 2] = ((sec - this.baseSec) * 1000 + Math.floor(v.tsNsec / 1e6)) >>> 0;
  };

  /**
   * Pack an Ethernet record straight from its bytes when it carries IPv4 with a 20-byte header (no
   * VLAN tag, no IP options; the frames darknets are made of): the row add() makes of decodePacket's
   * view, reading only what the row needs. False (nothing packed) for any other record, which then
   * takes decodePacket and add(). `d` views the same bytes as `b`.
   */
  addFrame(b: Uint8Array, d: DataView, off: number, len: number, sec: number, ms: number): boolean {
    // EtherType 0x0800, then IP version 4 with IHL 5 (bytes 12-14).
    if (len < 34 || d.getUint32(off + 12) >>> 8 !== 0x080045) return false;
    const p = off + 14;
    // As decodeIpv4 bounds the transport header: by the IP total length unless it is past the record.
    const total = d.getUint16(p + 2);
    const ipEnd = total >= 20 && total < len - 14 ? p + total : off + len;
    // A later fragment carries no transport header (RFC 791).
    const bits = (d.getUint16(p + 6) & 0x1fff) === 0 ? ipv4L4Bits(b, d, p, ipEnd) : kind.other << KIND_SHIFT;
    const i = this.slot(sec, false);
    const w = this.words;
    w[i] = mix32(d.getUint32(p + 12));
    w[i + 1] = mix32(d.getUint32(p + 16));
    w[i + 2] = ((sec - this.baseSec) * 1000 + ms) >>> 0;
    w[i + 3] = bits;
    return true;
  }

  /** Hand on what is packed (if anything). */
  flush(): void {
    if (this.count > 0) this.flushed();
  }

  /** Where the next row's words start: in this batch, or in a fresh one when it cannot take the packet. */
  private slot(sec: number, six: boolean): number {
    const n = this.count;
    if (n === 0) this.baseSec = sec;
    else if (n === this.capacity || sec - this.baseSec > MAX_SPAN_SEC || this.baseSec - sec > MAX_SPAN_SEC || (six && this.rows.sixCount === MAX_SIX)) {
      this.flushed();
      this.baseSec = sec;
    }
    return this.count++ * WORDS;
  }

  private flushed(): void {
    const full = this.rows;
    full.count = this.count;
    full.baseSec = this.baseSec;
    const back = this.onFull(full);
    const next = back && back.words.length === this.capacity * WORDS ? back : newPacketRows(this.capacity);
    next.count = 0;
    next.sixCount = 0;
    this.rows = next;
    this.words = next.words;
    this.count = 0;
  }
}
