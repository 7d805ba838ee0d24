/**
 * A small capture writer and frame builder, for the lab's capture generator and the tests: classic
 * pcap (either byte order, µs or ns) and pcapng (either byte order, several interfaces, each with
 * its own link type and if_tsresol). Buffered synchronous writes: the generator makes millions of
 * frames and a write per frame would dominate.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { linkTypes } from './packet.js';

export type CaptureFormat = 'pcap' | 'pcap-ns' | 'pcapng';

export interface WriterInterface {
  readonly linkType: number;
  /** if_tsresol exponent of ten (6 = µs, 9 = ns). */
  readonly tsresol?: number;
}

export interface WriterOptions {
  readonly format: CaptureFormat;
  readonly bigEndian?: boolean;
  /** Interfaces; classic pcap uses the first one's link type. */
  readonly interfaces: readonly WriterInterface[];
  readonly snapLen?: number;
}

const FLUSH_AT = 1 << 22;

export class CaptureWriter {
  private readonly fd: number;
  private readonly buf = Buffer.alloc(FLUSH_AT + (1 << 18));
  private at = 0;
  private readonly be: boolean;

  constructor(path: string, private readonly options: WriterOptions) {
    this.fd = openSync(path, 'w');
    this.be = options.bigEndian === true;
    if (options.format === 'pcapng') {
      this.pcapngHeader();
    } else {
      this.u32(options.format === 'pcap-ns' ? 0xa1b23c4d : 0xa1b2c3d4);
      this.u16(2);
      this.u16(4);
      this.u32(0);
      this.u32(0);
      this.u32(options.snapLen ?? 262144);
      this.u32(options.interfaces[0]?.linkType ?? linkTypes.ethernet);
    }
  }

  private u8(v: number): void {
    this.buf[this.at++] = v & 255;
  }

  private u16(v: number): void {
    if (this.be) this.buf.writeUInt16BE(v & 0xffff, this.at);
    else this.buf.writeUInt16LE(v & 0xffff, this.at);
    this.at += 2;
  }

  private u32(v: number): void {
    if (this.be) this.buf.writeUInt32BE(v >>> 0, this.at);
    else this.buf.writeUInt32LE(v >>> 0, this.at);
    this.at += 4;
  }

  private pcapngHeader(): void {
    // Section Header Block: byte-order magic, version 1.0, section length unknown (-1).
    this.u32(0x0a0d0d0a);
    this.u32(28);
    this.u32(0x1a2b3c4d);
    this.u16(1);
    this.u16(0);
    this.u32(0xffffffff);
    this.u32(0xffffffff);
    this.u32(28);
    for (const i of this.options.interfaces) {
      // Interface Description Block with if_tsresol (code 9, one byte) and opt_endofopt.
      this.u32(1);
      this.u32(32);
      this.u16(i.linkType);
      this.u16(0);
      this.u32(this.options.snapLen ?? 262144);
      this.u16(9);
      this.u16(1);
      this.u8(i.tsresol ?? 6);
      this.u8(0);
      this.u8(0);
      this.u8(0);
      this.u32(0);
      this.u32(32);
    }
  }

  /** Append one frame captured at tsSec + tsNsec (on pcapng interface `iface`). */
  packet(frame: Uint8Array, len: number, tsSec: number, tsNsec: number, iface = 0): void {
    if (this.at >= FLUSH_AT) this.flush();
    if (this.options.format === 'pcapng') {
      const pad = (4 - (len % 4)) % 4;
      const total = 32 + len + pad;
      const resol = this.options.interfaces[iface]?.tsresol ?? 6;
      // The 64-bit timestamp in units of 10^-resol s; BigInt keeps nanoseconds exact.
      const ts = BigInt(tsSec) * 10n ** BigInt(resol) + (BigInt(tsNsec) * 10n ** BigInt(resol)) / 1_000_000_000n;
      this.u32(6);
      this.u32(total);
      this.u32(iface);
      this.u32(Number(ts >> 32n));
      this.u32(Number(ts & 0xffffffffn));
      this.u32(len);
      this.u32(len);
      this.buf.set(frame.subarray(0, len), this.at);
      this.at += len;
      for (let i = 0; i < pad; i++) this.u8(0);
      this.u32(total);
    } else {
      this.u32(tsSec);
      this.u32(this.options.format === 'pcap-ns' ? tsNsec : Math.floor(tsNsec / 1000));
      this.u32(len);
      this.u32(len);
      this.buf.set(frame.subarray(0, len), this.at);
      this.at += len;
    }
  }

  /** Append raw bytes (tests use it to plant unknown blocks or garbage). */
  raw(bytes: Uint8Array): void {
    this.flush();
    writeSync(this.fd, bytes);
  }

  private flush(): void {
    let off = 0;
    while (off < this.at) off += writeSync(this.fd, this.buf, off, this.at - off);
    this.at = 0;
  }

  close(): void {
    this.flush();
    closeSync(this.fd);
  }
}
