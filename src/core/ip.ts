/**
 * IPv4 helpers. Addresses travel as unsigned 32-bit numbers inside the engine (cheap to permute,
 * compare and range-check) and as canonical dotted quads in records.
 *
 * Parsing is deliberately strict: only four decimal octets without leading zeros are accepted.
 * inet_aton() accepts "127.1", "0x7f.1", "0177.0.0.1" and "2130706433" and disagrees with other
 * parsers about them; a scope guard that parsed those differently from the socket layer could be
 * escaped, so we refuse them outright.
 */

const OCTET = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;

/** Parse a strict dotted-quad IPv4 address, or return undefined. */
export function parseIpv4(text: string): number | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let n = 0;
  for (const p of parts) {
    if (!OCTET.test(p)) return undefined;
    n = n * 256 + Number(p);
  }
  return n >>> 0;
}

/** Format an unsigned 32-bit number as a dotted quad. */
export function formatIpv4(n: number): string {
  return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

/** True when the text looks like an IPv6 literal (we parse it only to refuse it clearly). */
export function looksLikeIpv6(text: string): boolean {
  return text.includes(':') && /^[0-9a-fA-F:.[\]%a-zA-Z]+$/.test(text);
}

export interface Ipv4Range {
  /** First address, inclusive. */
  readonly start: number;
  /** Last address, inclusive. */
  readonly end: number;
}

/** Number of addresses in a range. */
export function rangeSize(r: Ipv4Range): number {
  return r.end - r.start + 1;
}

/** Mask for a prefix length, as an unsigned number. */
export function prefixMask(len: number): number {
  return len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
}

export function isLoopback(ip: number): boolean {
  return ip >>> 24 === 127;
}

/** The range covered by a prefix; the base is masked, so callers check host bits themselves. */
export function cidrRange(base: number, len: number): Ipv4Range {
  const start = (base & prefixMask(len)) >>> 0;
  return { start, end: (start + 2 ** (32 - len) - 1) >>> 0 };
}

/** Prefix length when the range is exactly one CIDR block, else undefined. */
export function rangePrefixLength(r: Ipv4Range): number | undefined {
  const size = rangeSize(r);
  const len = 32 - Math.log2(size);
  if (!Number.isInteger(len)) return undefined;
  return r.start % size === 0 ? len : undefined;
}

/** Shortest canonical text for a range: "a.b.c.d", "a.b.c.d/n" or "a.b.c.d-e.f.g.h". */
export function formatRange(r: Ipv4Range): string {
  if (r.start === r.end) return formatIpv4(r.start);
  const len = rangePrefixLength(r);
  return len === undefined ? `${formatIpv4(r.start)}-${formatIpv4(r.end)}` : `${formatIpv4(r.start)}/${len}`;
}
