/**
 * What every scanner output format shares: the small interface a format implements (one object
 * per format, registered in ../import.ts) and the strict field checks all parsers use.
 */
import { formatIpv4, looksLikeIpv6, parseIpv4 } from '../../core/ip.js';
import type { Endpoint, EndpointSource } from '../../core/records.js';

/**
 * One scanner output format: its name, how the first meaningful line of such a file looks, and a
 * parser for one file's lines. Adding a format is writing one of these and one line in `formats`.
 */
export interface ImportFormatSpec<N extends string = string> {
  readonly name: N;
  detect(firstLine: string): boolean;
  parse(context: ParseContext): LineParser;
}

export interface ParseContext {
  /** The scanned port, for outputs that do not carry one (zmap's default). */
  readonly port: number | undefined;
  /** seenAt for rows without a time of their own. */
  readonly fallbackSeenAt: string;
}

/** What a line parser returns: endpoints, "nothing here", or a problem with the line. */
export type LineResult = readonly Endpoint[] | 'skip' | 'blank' | Problem;

/** A bad line; `fatal` when no later line can be read either (then even lenient mode stops). */
export interface Problem {
  readonly problem: string;
  readonly hint?: string;
  readonly fatal?: boolean;
}

/** Per-format line parser; it may keep state (the zmap header) between lines. */
export interface LineParser {
  parse(line: string): LineResult;
}

/** A line as shown in a message: quoted, cut at 60 characters. */
export function excerpt(line: string): string {
  const shown = line.length > 60 ? `${line.slice(0, 60)}...` : line;
  return JSON.stringify(shown).replace(/\\u0000/g, '\\0');
}

export function endpoint(ip: string, port: number, seenAt: string, source: EndpointSource): Endpoint {
  return Object.freeze({ kind: 'endpoint', ip, port, seenAt, source });
}

/** Strict dotted quad, refusing inet_aton spellings; returns the canonical text or a problem. */
export function checkIp(text: string): string | { readonly problem: string } {
  const n = parseIpv4(text);
  if (n !== undefined) return formatIpv4(n);
  if (looksLikeIpv6(text)) return { problem: `IPv6 address ${excerpt(text)} is not supported` };
  return { problem: `bad IPv4 address ${excerpt(text)}` };
}

export function checkPort(value: unknown): number | undefined {
  const n = typeof value === 'string' && /^\d{1,5}$/.test(value) ? Number(value) : value;
  return typeof n === 'number' && Number.isInteger(n) && n >= 1 && n <= 65535 ? n : undefined;
}

/** Unix seconds (number or decimal text) to ISO 8601, or undefined when not a sane time. */
export function unixToIso(value: unknown, micros?: unknown): string | undefined {
  const s = typeof value === 'number' ? value : typeof value === 'string' && /^\d{1,12}$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(s) || s < 0 || s > 253402300799) return undefined; // up to 9999-12-31
  let ms = s * 1000;
  if (micros !== undefined && micros !== '') {
    const us = typeof micros === 'string' && /^\d{1,6}$/.test(micros) ? Number(micros) : NaN;
    if (Number.isNaN(us)) return undefined;
    ms += Math.floor(us / 1000);
  }
  return new Date(ms).toISOString();
}

