/**
 * pcapng (draft-ietf-opsawg-pcapng): Section Header Blocks set the byte order, Interface
 * Description Blocks give each interface its link type and timestamp resolution (if_tsresol,
 * if_tsoffset), Enhanced and Simple Packet Blocks (and the obsolete Packet Block) carry packets;
 * every other block is skipped by its length. A block whose length cannot be right is counted and
 * the parser scans forward for the next block whose leading and trailing lengths agree.
 */
import type { ContainerParser, RecordSink } from './container.js';

/** Largest block we accept (a packet block holds at most one 256 KiB snapshot; options are small). */
export const MAX_PCAPNG_BLOCK = 1 << 24;
const SHB = 0x0a0d0d0a;
const BYTE_ORDER_MAGIC = 0x1a2b3c4d;
const KNOWN_BLOCKS = new Set([SHB, 1, 2, 3, 4, 5, 6, 7, 9, 10, 0x80000001, 0x80000008]);

interface Iface {
  readonly linkType: number;
  readonly snapLen: number;
  /** Timestamp units per second (10^6 by default). */
  readonly units: number;
  /** if_tsoffset: seconds added to every timestamp. */
  readonly offsetSec: number;
}

export class PcapngParser implements ContainerParser {
  need = 12;
  private le = true;
  private ifaces: Iface[] = [];
  private resyncing = false;
  private lastSec = 0;
  private lastNsec = 0;

  constructor(private readonly sink: RecordSink) {}

  private u32(b: Uint8Array, o: number): number {
    return this.le
      ? ((b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0)
      : ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
  }

  private u16(b: Uint8Array, o: number): number {
    return this.le ? b[o]! | (b[o + 1]! << 8) : (b[o]! << 8) | b[o + 1]!;
  }

  /** Byte order of an SHB at o, from its byte-order magic; undefined when it is neither. */
  private static shbOrder(b: Uint8Array, o: number): boolean | undefined {
    const bom = ((b[o + 8]! << 24) | (b[o + 9]! << 16) | (b[o + 10]! << 8) | b[o + 11]!) >>> 0;
    if (bom === BYTE_ORDER_MAGIC) return false;
    if (bom === 0x4d3c2b1a) return true;
    return undefined;
  }

  feed(b: Uint8Array, start: number, end: number, eof: boolean): number {
    let p = start;
    for (;;) {
      if (end - p < 12) {
        this.need = 12;
        if (eof && end > p) {
          this.sink.skip('truncated-record', end - p);
          return end;
        }
        return p;
      }
      const type = ((b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!) >>> 0;
      if (type === SHB) {
        const order = PcapngParser.shbOrder(b, p);
        if (order !== undefined) this.le = order;
      }
      const bt = this.u32(b, p);
      const len = this.u32(b, p + 4);
      const sane = len >= 12 && len % 4 === 0 && len <= MAX_PCAPNG_BLOCK && (!this.resyncing || KNOWN_BLOCKS.has(bt));
      if (!sane || (type === SHB && PcapngParser.shbOrder(b, p) === undefined)) {
        if (!this.resyncing) this.sink.skip('bad-block', 0);
        this.resyncing = true;
        p++;
        this.sink.skipBytes(1);
        continue;
      }
      if (end - p < len) {
        this.need = len;
        if (eof) {
          if (this.resyncing) {
            p++;
            this.sink.skipBytes(1);
            continue;
          }
          this.sink.skip('truncated-record', end - p);
          return end;
        }
        return p;
      }
      if (this.u32(b, p + len - 4) !== len) {
        if (!this.resyncing) this.sink.skip('bad-block', 0);
        this.resyncing = true;
        p++;
        this.sink.skipBytes(1);
        continue;
      }
      this.resyncing = false;
      this.block(bt, b, p, len);
      p += len;
    }
  }

  private block(type: number, b: Uint8Array, p: number, len: number): void {
    const bodyEnd = p + len - 4;
    switch (type) {
      case SHB:
        // A new section: interface numbering starts again (pcapng §4.1).
        this.ifaces = [];
        return;
      case 1:
        if (len < 20) return this.sink.skip('bad-block', len);
        this.ifaces.push(this.interfaceBlock(b, p, bodyEnd));
        return;
      case 6:
        return this.packetBlock(b, p, bodyEnd, this.u32(b, p + 8), p + 12, p + 28, len < 32);
      case 2:
        return this.packetBlock(b, p, bodyEnd, this.u16(b, p + 8), p + 12, p + 28, len < 32);
      case 3: {
        // Simple Packet Block: interface 0, no timestamp (we keep the last one seen).
        if (len < 16) return this.sink.skip('bad-block', len);
        const iface = this.ifaces[0];
        if (!iface) return this.sink.skip('packet-before-interface', len);
        const orig = this.u32(b, p + 8);
        const cap = Math.min(orig, bodyEnd - (p + 12), iface.snapLen > 0 ? iface.snapLen : Infinity);
        this.sink.record(iface.linkType, b, p + 12, cap, this.lastSec, this.lastNsec, 0);
        return;
      }
      default:
        return;
    }
  }

  private interfaceBlock(b: Uint8Array, p: number, bodyEnd: number): Iface {
    const linkType = this.u16(b, p + 8);
    const snapLen = this.u32(b, p + 12);
    let units = 1e6;
    let offsetSec = 0;
    // Options: code, length, value padded to 4 bytes; opt_endofopt (0) ends them.
    for (let o = p + 16, guard = 0; o + 4 <= bodyEnd && guard < 256; guard++) {
      const code = this.u16(b, o);
      const olen = this.u16(b, o + 2);
      if (code === 0 || o + 4 + olen > bodyEnd) break;
      if (code === 9 && olen >= 1) {
        const v = b[o + 4]!;
        // MSB clear: 10^-v seconds; set: 2^-(v & 0x7f) (pcapng §4.2 if_tsresol).
        const exp = v & 0x7f;
        const candidate = v & 0x80 ? 2 ** exp : 10 ** exp;
        if (Number.isFinite(candidate) && candidate >= 1 && candidate <= 2 ** 63) units = candidate;
      } else if (code === 14 && olen >= 8) {
        offsetSec = this.u32(b, o + 4) * (this.le ? 1 : 4294967296) + this.u32(b, o + 8) * (this.le ? 4294967296 : 1);
        if (!Number.isSafeInteger(offsetSec)) offsetSec = 0;
      }
      o += 4 + ((olen + 3) & ~3);
    }
    return { linkType, snapLen, units, offsetSec };
  }

  private packetBlock(b: Uint8Array, p: number, bodyEnd: number, ifaceId: number, tsAt: number, dataAt: number, short: boolean): void {
    const blockLen = bodyEnd + 4 - p;
    if (short) return this.sink.skip('bad-block', blockLen);
    const iface = this.ifaces[ifaceId];
    if (!iface) return this.sink.skip(this.ifaces.length ? 'unknown-interface' : 'packet-before-interface', blockLen);
    const cap = this.u32(b, p + 20);
    if (dataAt + cap > bodyEnd) return this.sink.skip('bad-block', blockLen);
    this.timestamp(this.u32(b, tsAt), this.u32(b, tsAt + 4), iface);
    this.sink.record(iface.linkType, b, dataAt, cap, this.lastSec, this.lastNsec, ifaceId);
  }

  /** 64-bit timestamp (high word first, in the section's byte order) → seconds and nanoseconds. */
  private timestamp(hi: number, lo: number, iface: Iface): void {
    const units = iface.units;
    const total = hi * 4294967296 + lo;
    let sec: number;
    let nsec: number;
    if (total <= Number.MAX_SAFE_INTEGER) {
      sec = Math.floor(total / units);
      nsec = Math.floor(((total - sec * units) * 1e9) / units);
    } else {
      // Nanosecond (or finer) clocks pass 2^53 units; exact integer arithmetic for those.
      const t = (BigInt(hi) << 32n) | BigInt(lo);
      const u = BigInt(units);
      sec = Number(t / u);
      nsec = Number(((t % u) * 1_000_000_000n) / u);
    }
    this.lastSec = sec + iface.offsetSec;
    this.lastNsec = nsec;
  }
}
