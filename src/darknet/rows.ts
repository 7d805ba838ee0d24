/**
 * Packet rows: what the per-source fold needs of one decoded packet, packed into four 32-bit words,
 * so that decoding and folding can run apart (in batches, or on two threads) and a batch crosses
 * threads as one transferable buffer.
 *
 * Everything that depends on the packet alone is worked out here, once: the packet's kind (probe,
 * backscatter, other), which fingerprint rules it matches, the destination port it counts for.
 * The fold (classify.ts) then only looks up the source and moves its counters on.
 *
 * Row k is words[4k .. 4k+3]:
 *   0  IPv4 source address; for an IPv6 packet the index of its source address in `six`
 *   1  destination: IPv4 address, or the low 32 bits of the IPv6 one (the host part a darknet varies)
 *   2  capture time in milliseconds after `baseSec`, as a signed 32-bit number
 *   3  destination port (bits 0-15), kind (16-18), one bit per fingerprint rule (19-21), IPv6 (22)
 */
import { fingerprintRules, type FingerprintRule } from './fingerprints.js';
import type { PacketView } from './pcap/packet.js';

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

/** The kind and fingerprint bits of a decoded packet (word 3 without the port and IPv6 bits). */
function kindBits(v: PacketView): number {
  if (!v.l4) return kind.other << KIND_SHIFT;
  const proto = v.proto;
  if (proto === 6) {
    const f = v.tcpFlags;
    if ((f & 0x12) === 0x02) {
      // Three call sites, one rule each: each stays monomorphic and is inlined.
      let hits = 0;
      if (v.ipVersion === 4) {
        if (RULE0.match(v)) hits |= 1;
        if (RULE1.match(v)) hits |= 2;
        if (RULE2.match(v)) hits |= 4;
      }
      return (kind.syn << KIND_SHIFT) | (hits << HIT_SHIFT) | v.dport;
    }
    if ((f & 0x12) === 0x12) return (kind.synAck << KIND_SHIFT) | v.dport;
    if (f & 0x04) return (kind.rst << KIND_SHIFT) | v.dport;
    return (kind.tcpOther << KIND_SHIFT) | v.dport;
  }
  if (proto === 17) return (kind.udp << KIND_SHIFT) | v.dport;
  if (proto === 1 || proto === 58) {
    const t = v.icmpType;
    if (proto === 1 ? t === 8 : t === 128) return kind.echo << KIND_SHIFT;
    // Replies to something: echo reply, unreachable, time exceeded (RFC 792, RFC 4443).
    if (proto === 1 ? t === 0 || t === 3 || t === 11 : t === 129 || t === 1 || t === 3) return kind.icmpReply << KIND_SHIFT;
  }
  return kind.other << KIND_SHIFT;
}

/**
 * Packs decoded packets into a batch and hands the batch on when it is full (or when a packet's
 * time or IPv6 address would not fit it); the callee may keep the batch, a fresh one is used next.
 */
export class RowPacker {
  private rows: PacketRows;

  constructor(private readonly capacity: number, private readonly onFull: (rows: PacketRows) => PacketRows | void) {
    this.rows = newPacketRows(capacity);
  }

  /** Pack one packet (the view is not kept). Bound, so it can be handed out as a callback. */
  readonly add = (v: PacketView): void => {
    let r = this.rows;
    const sec = v.tsSec;
    const six = v.ipVersion === 6;
    if (r.count === 0) r.baseSec = sec;
    else if (r.count === this.capacity || sec - r.baseSec > MAX_SPAN_SEC || r.baseSec - sec > MAX_SPAN_SEC || (six && r.sixCount === MAX_SIX)) {
      r = this.flushed();
      r.baseSec = sec;
    }
    const w = r.words;
    const k = r.count * WORDS;
    if (six) {
      r.six.set(v.buf.subarray(v.srcOffset, v.srcOffset + 16), r.sixCount * 16);
      w[k] = r.sixCount++;
      const o = v.dstOffset;
      const b = v.buf;
      w[k + 1] = ((b[o + 12]! << 24) | (b[o + 13]! << 16) | (b[o + 14]! << 8) | b[o + 15]!) >>> 0;
      w[k + 3] = kindBits(v) | IPV6_BIT;
    } else {
      w[k] = v.src;
      w[k + 1] = v.dst;
      w[k + 3] = kindBits(v);
    }
    w[k + 2] = ((sec - r.baseSec) * 1000 + Math.floor(v.tsNsec / 1e6)) >>> 0;
    r.count++;
  };

  /** Hand on what is packed (if anything). */
  flush(): void {
    if (this.rows.count > 0) this.flushed();
  }

  private flushed(): PacketRows {
    const back = this.onFull(this.rows);
    const next = back && back.words.length === this.capacity * WORDS ? back : newPacketRows(this.capacity);
    next.count = 0;
    next.sixCount = 0;
    this.rows = next;
    return next;
  }
}
