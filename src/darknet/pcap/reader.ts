/**
 * Streaming capture reader: a file or a byte stream (stdin, `tcpdump -w -`) is read in chunks into
 * one reusable buffer, cut into records by the classic-pcap or pcapng parser (chosen by the magic
 * number) and decoded into one reused PacketView (readCaptureRows packs the common Ethernet frame
 * of a classic capture into rows straight from its bytes instead). Memory stays constant whatever
 * the file size: the buffer grows only to the largest record, and records larger than the parsers'
 * limits are skipped as corrupt.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { IotcleanError } from '../../core/errors.js';
import { ClassicPcapParser } from './classic.js';
import type { ContainerParser, FramePacker, RecordSink, SkipReason } from './container.js';
import { decodeEthernetIpv4Tcp, decodePacket, linkTypes, newPacketView, type PacketView } from './packet.js';
import { PcapngParser } from './pcapng.js';

/** What a read found. */
export interface CaptureStats {
  readonly format: 'pcap' | 'pcap-ns' | 'pcapng';
  /** Records (packets) in the capture, decoded or not. */
  readonly records: number;
  /** Records decoded into an IP packet and handed to the callback. */
  readonly packets: number;
  /** Bytes read. */
  readonly bytes: number;
  /** Skipped records by reason (a corrupt stretch counts once). */
  readonly skipped: Readonly<Partial<Record<SkipReason, number>>>;
  /** Bytes skipped while resynchronising after corruption, or in truncated records. */
  readonly skippedBytes: number;
}

/** Where to read from: a path, or a named byte stream. */
export type CaptureInput = string | { readonly name: string; readonly stream: AsyncIterable<Uint8Array> };

export interface ReadOptions {
  /** Read size; the buffer starts at twice this. */
  readonly chunkSize?: number;
  /** Called after each chunk with the bytes read so far; reading waits for a promise it returns (back-pressure). */
  readonly onProgress?: (bytes: number) => void | Promise<void>;
}

/** 1 MB: the chunk just read is parsed while it is still in the core's cache. */
const DEFAULT_CHUNK = 1 << 20;

type Format = CaptureStats['format'];

function formatOf(b: Uint8Array): Format | undefined {
  const m = ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0;
  if (m === 0xa1b2c3d4 || m === 0xd4c3b2a1) return 'pcap';
  if (m === 0xa1b23c4d || m === 0x4d3cb2a1) return 'pcap-ns';
  if (m === 0x0a0d0d0a) return 'pcapng';
  return undefined;
}

/** Counts skips and decodes records into the reused view. */
class Counter implements RecordSink {
  records = 0;
  packets = 0;
  skippedBytes = 0;
  readonly skipped: Partial<Record<SkipReason, number>> = {};
  readonly view: PacketView = newPacketView();

  constructor(private readonly onPacket: (view: PacketView) => void) {}

  record(linkType: number, buf: Uint8Array, off: number, len: number, tsSec: number, tsNsec: number, iface: number): void {
    this.records++;
    const v = this.view;
    if (linkType !== linkTypes.ethernet || !decodeEthernetIpv4Tcp(buf, off, len, v)) {
      const failure = decodePacket(linkType, buf, off, len, v);
      if (failure !== undefined) {
        this.skipped[failure] = (this.skipped[failure] ?? 0) + 1;
        return;
      }
    }
    v.tsSec = tsSec;
    v.tsNsec = tsNsec;
    v.iface = iface;
    this.packets++;
    this.onPacket(v);
  }

  skip(reason: SkipReason, bytes: number): void {
    this.skipped[reason] = (this.skipped[reason] ?? 0) + 1;
    this.skippedBytes += bytes;
  }

  skipBytes(bytes: number): void {
    this.skippedBytes += bytes;
  }

  packed(count: number): void {
    this.records += count;
    this.packets += count;
  }
}

/** A source of chunks written into the caller's buffer: returns bytes written, 0 at the end. */
type Fill = (buf: Uint8Array, at: number, max: number) => number | Promise<number>;

function streamFill(stream: AsyncIterable<Uint8Array>): Fill {
  const it = stream[Symbol.asyncIterator]();
  let pending: Uint8Array | undefined;
  return async (buf, at, max) => {
    if (!pending || pending.length === 0) {
      const r = await it.next();
      if (r.done) return 0;
      pending = r.value;
    }
    const n = Math.min(max, pending.length);
    buf.set(pending.subarray(0, n), at);
    pending = pending.subarray(n);
    return n;
  };
}

function notCapture(name: string, what: string): IotcleanError {
  return new IotcleanError('E_CAPTURE_FILE', `${what}: not a pcap or pcapng capture`, {
    file: name,
    hint: 'give a capture written by tcpdump -w, tshark -w or dumpcap (pcap or pcapng)',
  });
}

/**
 * Read one capture and call `onPacket` with a reused view for every IP packet in it. Throws an
 * IotcleanError when the input is not a capture at all; damage inside a capture is counted.
 */
export function readCapture(input: CaptureInput, onPacket: (view: PacketView) => void, options: ReadOptions = {}): Promise<CaptureStats> {
  return read(input, onPacket, undefined, options);
}

/** What RowPacker (rows.ts) offers a read: packets as views, and Ethernet records as bytes. */
export interface RowTarget extends FramePacker {
  readonly add: (view: PacketView) => void;
}

/**
 * Read one capture into packet rows: as readCapture(input, rows.add), with the same statistics,
 * but a classic-pcap Ethernet record goes from the buffer to rows.addFrame without being decoded
 * into a view first (the frame darknets are made of; everything else takes rows.add).
 */
export function readCaptureRows(input: CaptureInput, rows: RowTarget, options: ReadOptions = {}): Promise<CaptureStats> {
  return read(input, rows.add, rows, options);
}

async function read(input: CaptureInput, onPacket: (view: PacketView) => void, frames: FramePacker | undefined, options: ReadOptions): Promise<CaptureStats> {
  const chunk = Math.max(4096, options.chunkSize ?? DEFAULT_CHUNK);
  const name = typeof input === 'string' ? input : input.name;
  let close: (() => Promise<void>) | undefined;
  let fill: Fill;
  if (typeof input === 'string') {
    let fd: number;
    try {
      fd = openSync(input, 'r');
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      throw new IotcleanError('E_CAPTURE_FILE', `cannot open the capture (${err.code ?? err.message})`, { file: input, hint: 'check the path and that it is readable' });
    }
    close = async () => closeSync(fd);
    // Synchronous reads of large chunks: a file read from the page cache is a memory copy, and the
    // thread-pool round trip of an async read per chunk left the CPU idle between chunks.
    fill = (buf, at, max) => readSync(fd, buf, at, max, null);
  } else fill = streamFill(input.stream);
  const counter = new Counter(onPacket);
  let buf: Uint8Array = new Uint8Array(chunk * 2);
  let filled = 0;
  let bytes = 0;
  let parser: ContainerParser | undefined;
  let format: Format = 'pcap';
  try {
    let eof = false;
    while (!eof) {
      // Top the buffer up to one chunk past what is pending (or the parser's need).
      while (filled < buf.length && !eof) {
        const n = await fill(buf, filled, Math.min(chunk, buf.length - filled));
        if (n === 0) eof = true;
        filled += n;
        bytes += n;
        if (filled >= chunk) break;
      }
      const waiting = options.onProgress?.(bytes);
      if (waiting) await waiting;
      if (!parser) {
        if (filled < 4) {
          if (eof) throw notCapture(name, filled === 0 ? 'the file is empty' : `only ${filled} byte(s)`);
          continue;
        }
        const f = formatOf(buf);
        if (!f) throw notCapture(name, `unknown magic number 0x${Buffer.from(buf.subarray(0, 4)).toString('hex')}`);
        format = f;
        parser = f === 'pcapng' ? new PcapngParser(counter) : new ClassicPcapParser(counter, frames);
      }
      const used = parser.feed(buf, 0, filled, eof);
      if (used > 0) {
        buf.copyWithin(0, used, filled);
        filled -= used;
      }
      if (!eof && parser.need > buf.length - chunk / 2) {
        // A record larger than the buffer (within the parsers' own limits): grow once for it.
        const bigger = new Uint8Array(parser.need + chunk);
        bigger.set(buf.subarray(0, filled));
        buf = bigger;
      } else if (buf.length > chunk * 2 && filled < chunk) {
        const smaller = new Uint8Array(chunk * 2);
        smaller.set(buf.subarray(0, filled));
        buf = smaller;
      }
    }
  } finally {
    await close?.();
  }
  return { format, records: counter.records, packets: counter.packets, bytes, skipped: counter.skipped, skippedBytes: counter.skippedBytes };
}
