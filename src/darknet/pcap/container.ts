/**
 * What the capture-file parsers (classic pcap, pcapng) share: they cut a byte stream into records
 * and hand each to a sink, never holding more than the record in hand.
 */
import type { DecodeFailure } from './packet.js';

/** Why bytes of a capture were skipped; every reason is counted in the read's statistics. */
export type SkipReason =
  | 'truncated-header'
  | 'truncated-record'
  | 'bad-record-header'
  | 'bad-block'
  | 'unknown-interface'
  | 'packet-before-interface'
  | DecodeFailure;

/** Receives the records a parser cuts out. */
export interface RecordSink {
  /** One captured record: its link type, bytes (valid only during the call) and time. */
  record(linkType: number, buf: Uint8Array, off: number, len: number, tsSec: number, tsNsec: number, iface: number): void;
  /** Something was skipped for `reason`, `bytes` long. */
  skip(reason: SkipReason, bytes: number): void;
  /** More bytes skipped while looking for the next good record (no new count). */
  skipBytes(bytes: number): void;
  /** `count` records were taken by the parser's frame packer, each as a packet (not passed to record). */
  packed(count: number): void;
}

/**
 * Takes Ethernet records straight from a parser's buffer (rows.ts RowPacker), so the common frame
 * skips the sink and the packet view. `ms` is the milliseconds within second `tsSec`.
 */
export interface FramePacker {
  /** Whether the record was packed as a packet; false leaves it to the sink. `view` is over buf's bytes. */
  addFrame(buf: Uint8Array, view: DataView, off: number, len: number, tsSec: number, ms: number): boolean;
}

/** A push parser over a growing buffer. */
export interface ContainerParser {
  /**
   * Consume whole records from buf[start, end) and return where the unconsumed bytes begin.
   * With `eof`, whatever remains is counted as truncated and consumed.
   */
  feed(buf: Uint8Array, start: number, end: number, eof: boolean): number;
  /** Bytes the parser needs from the returned offset before it can go on (sizes the buffer). */
  readonly need: number;
}
