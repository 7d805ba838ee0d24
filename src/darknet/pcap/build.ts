/**
 * Frame builder for generated captures and tests: one reusable spec object is filled per packet
 * and written into a caller's buffer (no allocation per frame). Builds Ethernet (optionally with
 * an 802.1Q tag), Linux cooked SLL/SLL2 and raw IP framing around IPv4 or IPv6 with TCP, UDP or
 * ICMP. IPv4 header checksums are right (RFC 1071); transport checksums are left 0, which no
 * reader of darknet captures checks.
 */

export type Framing = 'ethernet' | 'vlan' | 'sll' | 'sll2' | 'raw';

export interface FrameSpec {
  framing: Framing;
  ipVersion: 4 | 6;
  /** IPv4 addresses as unsigned numbers. */
  src: number;
  dst: number;
  /** IPv6 addresses (16 bytes each) when ipVersion is 6. */
  src6: Uint8Array;
  dst6: Uint8Array;
  proto: number;
  ttl: number;
  ipId: number;
  /** Fragment offset in bytes (a multiple of 8) and the more-fragments flag. */
  fragOffset: number;
  moreFragments: boolean;
  sport: number;
  dport: number;
  seq: number;
  ack: number;
  tcpFlags: number;
  window: number;
  /** TCP option bytes (a multiple of 4 long), or empty. */
  tcpOptions: Uint8Array;
  icmpType: number;
  icmpCode: number;
  /** Zero bytes after the transport header. */
  payload: number;
}

export function newFrameSpec(): FrameSpec {
  return {
    framing: 'ethernet', ipVersion: 4, src: 0, dst: 0, src6: new Uint8Array(16), dst6: new Uint8Array(16), proto: 6, ttl: 64, ipId: 0,
    fragOffset: 0, moreFragments: false, sport: 0, dport: 0, seq: 0, ack: 0, tcpFlags: 2, window: 0, tcpOptions: new Uint8Array(0),
    icmpType: 8, icmpCode: 0, payload: 0,
  };
}

export const tcpFlag = { fin: 1, syn: 2, rst: 4, psh: 8, ack: 16 } as const;

function put16(b: Uint8Array, o: number, v: number): void {
  b[o] = (v >>> 8) & 255;
  b[o + 1] = v & 255;
}

function put32(b: Uint8Array, o: number, v: number): void {
  b[o] = (v >>> 24) & 255;
  b[o + 1] = (v >>> 16) & 255;
  b[o + 2] = (v >>> 8) & 255;
  b[o + 3] = v & 255;
}

/** Transport header length of a spec. */
function l4Length(s: FrameSpec): number {
  if (s.fragOffset > 0) return 0;
  if (s.proto === 6) return 20 + s.tcpOptions.length;
  if (s.proto === 17) return 8;
  if (s.proto === 1 || s.proto === 58) return 8;
  return 0;
}

/** Write the frame described by `s` at buf[0...] and return its length. */
export function writeFrame(buf: Uint8Array, s: FrameSpec): number {
  const ipType = s.ipVersion === 6 ? 0x86dd : 0x0800;
  let p = 0;
  switch (s.framing) {
    case 'ethernet':
    case 'vlan':
      // Locally administered MACs (the lab's own), then the EtherType (after a tag for 'vlan').
      buf.set([0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2], 0);
      p = 12;
      if (s.framing === 'vlan') {
        put16(buf, p, 0x8100);
        put16(buf, p + 2, 42);
        p += 4;
      }
      put16(buf, p, ipType);
      p += 2;
      break;
    case 'sll':
      buf.fill(0, 0, 16);
      put16(buf, 2, 1);
      put16(buf, 4, 6);
      put16(buf, 14, ipType);
      p = 16;
      break;
    case 'sll2':
      buf.fill(0, 0, 20);
      put16(buf, 0, ipType);
      put32(buf, 4, 1);
      put16(buf, 8, 1);
      buf[11] = 6;
      p = 20;
      break;
    case 'raw':
      break;
  }
  const l4len = l4Length(s);
  const ipHeader = s.ipVersion === 6 ? 40 + (s.fragOffset > 0 || s.moreFragments ? 8 : 0) : 20;
  const total = ipHeader + l4len + s.payload;
  if (s.ipVersion === 4) {
    buf[p] = 0x45;
    buf[p + 1] = 0;
    put16(buf, p + 2, total);
    put16(buf, p + 4, s.ipId);
    put16(buf, p + 6, ((s.fragOffset / 8) & 0x1fff) | (s.moreFragments ? 0x2000 : 0));
    buf[p + 8] = s.ttl;
    buf[p + 9] = s.proto;
    put16(buf, p + 10, 0);
    put32(buf, p + 12, s.src);
    put32(buf, p + 16, s.dst);
    let sum = 0;
    for (let i = 0; i < 20; i += 2) sum += (buf[p + i]! << 8) | buf[p + i + 1]!;
    while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
    put16(buf, p + 10, ~sum & 0xffff);
    p += 20;
  } else {
    put32(buf, p, 0x60000000);
    put16(buf, p + 4, total - 40);
    buf[p + 6] = ipHeader > 40 ? 44 : s.proto;
    buf[p + 7] = s.ttl;
    buf.set(s.src6, p + 8);
    buf.set(s.dst6, p + 24);
    p += 40;
    if (ipHeader > 40) {
      buf[p] = s.proto;
      buf[p + 1] = 0;
      put16(buf, p + 2, (s.fragOffset & 0xfff8) | (s.moreFragments ? 1 : 0));
      put32(buf, p + 4, s.ipId);
      p += 8;
    }
  }
  if (l4len > 0) {
    if (s.proto === 6) {
      put16(buf, p, s.sport);
      put16(buf, p + 2, s.dport);
      put32(buf, p + 4, s.seq);
      put32(buf, p + 8, s.ack);
      buf[p + 12] = (l4len / 4) << 4;
      buf[p + 13] = s.tcpFlags;
      put16(buf, p + 14, s.window);
      put32(buf, p + 16, 0);
      buf.set(s.tcpOptions, p + 20);
    } else if (s.proto === 17) {
      put16(buf, p, s.sport);
      put16(buf, p + 2, s.dport);
      put16(buf, p + 4, 8 + s.payload);
      put16(buf, p + 6, 0);
    } else {
      buf[p] = s.icmpType;
      buf[p + 1] = s.icmpCode;
      put16(buf, p + 2, 0);
      put32(buf, p + 4, 0);
    }
    p += l4len;
  }
  buf.fill(0, p, p + s.payload);
  p += s.payload;
  return p;
}
