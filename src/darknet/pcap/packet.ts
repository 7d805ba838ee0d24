/**
 * Packet decoding for darknet analysis: link layer → IPv4/IPv6 → TCP/UDP/ICMP header fields.
 *
 * The hot path allocates nothing: one mutable `PacketView` is filled per packet and handed to the
 * caller's callback, which must copy what it keeps. Every length is checked before a read, so a
 * hostile record can only make decoding fail with a counted reason, never read out of bounds.
 */

/** Link types we decode (tcpdump.org/linktypes.html; DLT_RAW is 12 or 14 on some BSDs). */
export const linkTypes = {
  ethernet: 1,
  raw: 101,
  rawBsd12: 12,
  rawBsd14: 14,
  linuxSll: 113,
  ipv4: 228,
  ipv6: 229,
  linuxSll2: 276,
} as const;

/** Why a record was not decoded into an IP packet; counted, never thrown. */
export type DecodeFailure =
  | 'unsupported-link'
  | 'short-link'
  | 'non-ip'
  | 'short-ip'
  | 'bad-ip-header'
  | 'ipv6-extension-limit';

/**
 * One decoded packet. Reused between packets: copy out what you keep. Fields that the packet does
 * not carry are 0 (e.g. `seq` of a UDP packet); `l4` says whether the transport header was read.
 */
export interface PacketView {
  /** Capture time: whole seconds since 1970 (UTC) and the nanoseconds within that second. */
  tsSec: number;
  tsNsec: number;
  /** Index of the pcapng interface (0 for classic pcap). */
  iface: number;
  /** The record's bytes and where the IP header starts in them. */
  buf: Uint8Array;
  ipOffset: number;
  ipVersion: 4 | 6;
  /** IPv4 addresses as unsigned 32-bit numbers; 0 for IPv6 (read the bytes via srcOffset). */
  src: number;
  dst: number;
  /** Offsets of the 4- or 16-byte addresses in buf. */
  srcOffset: number;
  dstOffset: number;
  /** IP protocol number (IPv6: the upper-layer header after extension headers). */
  proto: number;
  ttl: number;
  /** IPv4 identification; IPv6 fragment identification's low 16 bits or 0. */
  ipId: number;
  /** Fragment offset in bytes; a non-zero offset carries no transport header (RFC 791). */
  fragOffset: number;
  moreFragments: boolean;
  /** Transport header present and long enough for the fields below. */
  l4: boolean;
  sport: number;
  dport: number;
  /** TCP flags byte (FIN 1, SYN 2, RST 4, PSH 8, ACK 16, URG 32, ECE 64, CWR 128). */
  tcpFlags: number;
  seq: number;
  ack: number;
  window: number;
  /** FNV-1a of the TCP option layout (kinds, MSS and window-scale values; 0 = no options). */
  tcpOptions: number;
  /** TCP data offset in bytes (20 without options). */
  tcpHeaderLen: number;
  icmpType: number;
  icmpCode: number;
}

/** A fresh view to be reused for every packet of a read. */
export function newPacketView(): PacketView {
  return {
    tsSec: 0, tsNsec: 0, iface: 0, buf: new Uint8Array(0), ipOffset: 0, ipVersion: 4, src: 0, dst: 0, srcOffset: 0, dstOffset: 0,
    proto: 0, ttl: 0, ipId: 0, fragOffset: 0, moreFragments: false, l4: false, sport: 0, dport: 0, tcpFlags: 0, seq: 0, ack: 0,
    window: 0, tcpOptions: 0, tcpHeaderLen: 0, icmpType: 0, icmpCode: 0,
  };
}

function u16(b: Uint8Array, o: number): number {
  return (b[o]! << 8) | b[o + 1]!;
}
function u32(b: Uint8Array, o: number): number {
  return ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
}

const ETHERTYPE_IPV4 = 0x0800;
const ETHERTYPE_IPV6 = 0x86dd;
/** 802.1Q, 802.1ad (QinQ) and the old QinQ tag: each adds 4 bytes before the real EtherType. */
const isVlanTag = (t: number) => t === 0x8100 || t === 0x88a8 || t === 0x9100;
/** At most this many stacked VLAN tags or IPv6 extension headers are walked (bounded work). */
const MAX_VLAN_TAGS = 4;
const MAX_IPV6_EXTENSIONS = 8;

/**
 * Decode the record `buf[off, off+len)` of link type `linkType` into `view`. Returns undefined on
 * success, or the reason the packet cannot be used.
 */
export function decodePacket(linkType: number, buf: Uint8Array, off: number, len: number, view: PacketView): DecodeFailure | undefined {
  const end = off + len;
  let p = off;
  let etherType: number;
  switch (linkType) {
    case linkTypes.ethernet: {
      if (len < 14) return 'short-link';
      etherType = u16(buf, p + 12);
      p += 14;
      for (let tags = 0; isVlanTag(etherType); tags++) {
        if (tags >= MAX_VLAN_TAGS || p + 4 > end) return 'short-link';
        etherType = u16(buf, p + 2);
        p += 4;
      }
      break;
    }
    case linkTypes.linuxSll:
      // SLL: packet type, ARPHRD, address length, 8 address bytes, protocol (16 bytes).
      if (len < 16) return 'short-link';
      etherType = u16(buf, p + 14);
      p += 16;
      break;
    case linkTypes.linuxSll2:
      // SLL2: protocol first, then reserved, ifindex, ARPHRD, type, address length, address (20 bytes).
      if (len < 20) return 'short-link';
      etherType = u16(buf, p);
      p += 20;
      break;
    case linkTypes.raw:
    case linkTypes.rawBsd12:
    case linkTypes.rawBsd14:
      if (len < 1) return 'short-ip';
      etherType = buf[p]! >> 4 === 6 ? ETHERTYPE_IPV6 : ETHERTYPE_IPV4;
      break;
    case linkTypes.ipv4:
      etherType = ETHERTYPE_IPV4;
      break;
    case linkTypes.ipv6:
      etherType = ETHERTYPE_IPV6;
      break;
    default:
      return 'unsupported-link';
  }
  view.buf = buf;
  view.ipOffset = p;
  if (etherType === ETHERTYPE_IPV4) return decodeIpv4(buf, p, end, view);
  if (etherType === ETHERTYPE_IPV6) return decodeIpv6(buf, p, end, view);
  return 'non-ip';
}

/**
 * Whether the Ethernet record buf[off, off+len) is one decodeEthernetIpv4Tcp decodes (so it is an
 * IPv4 packet whose source address is at off + 26).
 */
export function fitsFastPath(buf: Uint8Array, off: number, len: number): boolean {
  const p = off + 14;
  if (len < 54 || buf[off + 12] !== 0x08 || buf[off + 13] !== 0 || buf[p] !== 0x45 || buf[p + 9] !== 6) return false;
  if ((((buf[p + 6]! << 8) | buf[p + 7]!) & 0x1fff) !== 0) return false;
  const total = (buf[p + 2]! << 8) | buf[p + 3]!;
  return !(total >= 20 && total < len - 14 && total < 40);
}

/**
 * The fast path for the frame darknets are made of: Ethernet, no VLAN tag, IPv4 with a 20-byte
 * header, not a later fragment, a whole TCP header. Fills `view` exactly as decodePacket would and
 * returns true; returns false (view partly written) for anything else, which then takes the full
 * decoder.
 */
export function decodeEthernetIpv4Tcp(buf: Uint8Array, off: number, len: number, view: PacketView): boolean {
  if (!fitsFastPath(buf, off, len)) return false;
  const p = off + 14;
  const end = off + len;
  const frag = (buf[p + 6]! << 8) | buf[p + 7]!;
  const total = (buf[p + 2]! << 8) | buf[p + 3]!;
  const ipEnd = total >= 20 && p + total < end ? p + total : end;
  const q = p + 20;
  view.buf = buf;
  view.ipOffset = p;
  view.ipVersion = 4;
  view.ipId = (buf[p + 4]! << 8) | buf[p + 5]!;
  view.fragOffset = 0;
  view.moreFragments = (frag & 0x2000) !== 0;
  view.ttl = buf[p + 8]!;
  view.proto = 6;
  view.srcOffset = p + 12;
  view.dstOffset = p + 16;
  view.src = u32(buf, p + 12);
  view.dst = u32(buf, p + 16);
  view.sport = (buf[q]! << 8) | buf[q + 1]!;
  view.dport = (buf[q + 2]! << 8) | buf[q + 3]!;
  view.seq = u32(buf, q + 4);
  view.ack = u32(buf, q + 8);
  const hl = (buf[q + 12]! >> 4) * 4;
  view.tcpHeaderLen = hl;
  view.tcpFlags = buf[q + 13]!;
  view.window = (buf[q + 14]! << 8) | buf[q + 15]!;
  view.tcpOptions = hl > 20 ? tcpOptionLayout(buf, q + 20, Math.min(q + hl, ipEnd)) : 0;
  view.icmpType = 0;
  view.icmpCode = 0;
  view.l4 = true;
  return true;
}

function clearL4(view: PacketView): void {
  view.l4 = false;
  view.sport = 0;
  view.dport = 0;
  view.tcpFlags = 0;
  view.seq = 0;
  view.ack = 0;
  view.window = 0;
  view.tcpOptions = 0;
  view.tcpHeaderLen = 0;
  view.icmpType = 0;
  view.icmpCode = 0;
}

function decodeIpv4(buf: Uint8Array, p: number, end: number, view: PacketView): DecodeFailure | undefined {
  if (p + 20 > end) return 'short-ip';
  const vihl = buf[p]!;
  const ihl = (vihl & 15) * 4;
  if (vihl >> 4 !== 4 || ihl < 20) return 'bad-ip-header';
  if (p + ihl > end) return 'short-ip';
  view.ipVersion = 4;
  view.ipId = u16(buf, p + 4);
  const frag = u16(buf, p + 6);
  view.fragOffset = (frag & 0x1fff) * 8;
  view.moreFragments = (frag & 0x2000) !== 0;
  view.ttl = buf[p + 8]!;
  view.proto = buf[p + 9]!;
  view.srcOffset = p + 12;
  view.dstOffset = p + 16;
  view.src = u32(buf, p + 12);
  view.dst = u32(buf, p + 16);
  // The total length bounds the transport header too: Ethernet pads short frames (RFC 894).
  const total = u16(buf, p + 2);
  const ipEnd = total >= ihl && p + total < end ? p + total : end;
  clearL4(view);
  if (view.fragOffset === 0) decodeL4(buf, p + ihl, ipEnd, view);
  return undefined;
}

/** Extension headers that chain with (next header, length in 8-byte units less one) (RFC 8200 §4). */
const IPV6_CHAINED = new Set([0, 43, 60, 135, 139, 140, 253, 254]);

function decodeIpv6(buf: Uint8Array, p: number, end: number, view: PacketView): DecodeFailure | undefined {
  if (p + 40 > end) return 'short-ip';
  if (buf[p]! >> 4 !== 6) return 'bad-ip-header';
  view.ipVersion = 6;
  view.ipId = 0;
  view.fragOffset = 0;
  view.moreFragments = false;
  view.ttl = buf[p + 7]!;
  view.srcOffset = p + 8;
  view.dstOffset = p + 24;
  view.src = 0;
  view.dst = 0;
  let next = buf[p + 6]!;
  let q = p + 40;
  clearL4(view);
  for (let n = 0; ; n++) {
    if (IPV6_CHAINED.has(next)) {
      if (n >= MAX_IPV6_EXTENSIONS) return 'ipv6-extension-limit';
      if (q + 8 > end) {
        view.proto = next;
        return undefined;
      }
      next = buf[q]!;
      q += (buf[q + 1]! + 1) * 8;
    } else if (next === 44) {
      // Fragment header (RFC 8200 §4.5): fixed 8 bytes; only offset 0 carries the upper header.
      if (n >= MAX_IPV6_EXTENSIONS) return 'ipv6-extension-limit';
      if (q + 8 > end) {
        view.proto = next;
        return undefined;
      }
      const fo = u16(buf, q + 2);
      view.fragOffset = (fo & 0xfff8);
      view.moreFragments = (fo & 1) !== 0;
      view.ipId = u16(buf, q + 6);
      next = buf[q]!;
      q += 8;
    } else if (next === 51) {
      // Authentication header: its length is in 4-byte units less two (RFC 4302).
      if (n >= MAX_IPV6_EXTENSIONS) return 'ipv6-extension-limit';
      if (q + 8 > end) {
        view.proto = next;
        return undefined;
      }
      next = buf[q]!;
      q += (buf[q + 1]! + 2) * 4;
    } else break;
  }
  view.proto = next;
  const payload = u16(buf, p + 4);
  const ipEnd = p + 40 + payload < end && payload > 0 ? p + 40 + payload : end;
  if (view.fragOffset === 0 && q <= ipEnd) decodeL4(buf, q, ipEnd, view);
  return undefined;
}

function decodeL4(buf: Uint8Array, q: number, end: number, view: PacketView): void {
  const proto = view.proto;
  if (proto === 6) {
    if (q + 20 > end) return;
    view.sport = u16(buf, q);
    view.dport = u16(buf, q + 2);
    view.seq = u32(buf, q + 4);
    view.ack = u32(buf, q + 8);
    const hl = (buf[q + 12]! >> 4) * 4;
    view.tcpHeaderLen = hl;
    view.tcpFlags = buf[q + 13]!;
    view.window = u16(buf, q + 14);
    view.tcpOptions = hl > 20 ? tcpOptionLayout(buf, q + 20, Math.min(q + hl, end)) : 0;
    view.l4 = true;
  } else if (proto === 17) {
    if (q + 8 > end) return;
    view.sport = u16(buf, q);
    view.dport = u16(buf, q + 2);
    view.l4 = true;
  } else if (proto === 1 || proto === 58) {
    if (q + 4 > end) return;
    view.icmpType = buf[q]!;
    view.icmpCode = buf[q + 1]!;
    view.l4 = true;
  }
}

/**
 * A 32-bit FNV-1a digest of a TCP option layout (RFC 9293 §3.1): each option's kind, plus the
 * value of MSS (kind 2) and window scale (kind 3), which tools fix; timestamps vary and are left
 * out. Scanners that build their SYNs from a template share one digest.
 */
export function tcpOptionLayout(buf: Uint8Array, q: number, end: number): number {
  // FNV-1a steps written out: this runs for every SYN with options (no closure on the hot path).
  // h stays a signed 32-bit number until the end (xor and imul give the same low bits either way),
  // so the loop never converts it to a float.
  let h = 0x811c9dc5 | 0;
  for (let guard = 0; q < end && guard < 40; guard++) {
    const kind = buf[q]!;
    h = Math.imul(h ^ kind, 0x01000193);
    if (kind === 0) break;
    if (kind === 1) {
      q++;
      continue;
    }
    if (q + 1 >= end) break;
    const len = buf[q + 1]!;
    if (len < 2) break;
    if (kind === 2 && len === 4 && q + 4 <= end) {
      h = Math.imul(h ^ buf[q + 2]!, 0x01000193);
      h = Math.imul(h ^ buf[q + 3]!, 0x01000193);
    } else if (kind === 3 && len === 3 && q + 3 <= end) h = Math.imul(h ^ buf[q + 2]!, 0x01000193);
    q += len;
  }
  return h >>> 0;
}

/** The source address as text (IPv4 dotted quad or IPv6 in RFC 5952 form). */
export function addressText(view: PacketView, which: 'src' | 'dst'): string {
  const o = which === 'src' ? view.srcOffset : view.dstOffset;
  if (view.ipVersion === 4) {
    const n = which === 'src' ? view.src : view.dst;
    return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
  }
  return ipv6Text(view.buf, o);
}

/** RFC 5952 text of 16 bytes: lower-case hex, the longest run of two or more zero groups as "::". */
export function ipv6Text(b: Uint8Array, o: number): string {
  const g: number[] = [];
  for (let i = 0; i < 8; i++) g.push(u16(b, o + i * 2));
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (xs: number[]) => xs.map((x) => x.toString(16)).join(':');
  if (best < 0) return hex(g);
  return `${hex(g.slice(0, best))}::${hex(g.slice(best + bestLen))}`;
}
