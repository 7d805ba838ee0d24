/**
 * One small interface for every session-log format (RADIUS accounting, DHCP leases, CGNAT port
 * blocks): a parser reads a file's lines, streamed, and yields sessions and per-line problems. The
 * runner (./index.ts) owns the file, the line bounds and the subscriber lookup.
 */
import type { SessionSource } from '../types.js';

/** A session as a log states it, before the subscriber table resolves MAC / client-id. */
export interface RawSession {
  /** Who the log names (RADIUS User-Name, CGNAT subscriber id), or null for a DHCP lease. */
  readonly subscriber: string | null;
  readonly ip: string;
  readonly portFirst: number | null;
  readonly portLast: number | null;
  /** Epoch ms. */
  readonly start: number;
  /** Epoch ms, null while open. */
  readonly end: number | null;
  /** Normalised lower-case aa:bb:cc:dd:ee:ff, or null. */
  readonly mac: string | null;
  /** DHCP client identifier (option 61) as lower-case hex, or null. */
  readonly clientId: string | null;
  /** 1-based first line of the record. */
  readonly line: number;
  /** CGNAT logs may name the subscriber's private address instead of an id. */
  readonly privateIp?: string | null;
}

/** What a parser yields: a session, or a problem with one line (the rest is still imported). */
export type ParseItem =
  | { readonly kind: 'session'; readonly session: RawSession }
  | { readonly kind: 'problem'; readonly line: number; readonly message: string };

/** One line of input: its 1-based number, its text (bounded), and whether it was cut. */
export interface LogLine {
  readonly n: number;
  readonly text: string;
  readonly truncated: boolean;
}

export interface SessionLogParser {
  readonly name: SessionSource;
  /** Whether the first non-empty lines look like this format (for --format auto). */
  detect(head: readonly string[]): boolean;
  parse(lines: AsyncIterable<LogLine>): AsyncIterable<ParseItem>;
}
