/**
 * Target text → address range, shared by scope files, command-line targets, the host guard and the
 * ISP table. Accepted forms: "a.b.c.d", "a.b.c.d/n" (no host bits set) and "a.b.c.d-e.f.g.h".
 *
 * Everything else is refused, and the refusal explains itself: the point of a strict parser in a
 * scope guard is that no other layer (inet_aton, a resolver, a URL parser) can read the same text
 * as a different address, so the message names the reading we refused to make.
 */
import { cidrRange, formatIpv4, looksLikeIpv6, parseIpv4, type Ipv4Range } from '../core/ip.js';

/** How a target was written. */
export type TargetForm = 'address' | 'cidr' | 'range';

/** Outcome of parsing one target: a range, or why not and what to write instead. */
export type TargetParse =
  | { readonly ok: true; readonly form: TargetForm; readonly range: Ipv4Range }
  | { readonly ok: false; readonly message: string; readonly hint?: string };

const PREFIX_LEN = /^(0|[1-9]\d?)$/;
const HOSTNAME = /^(?=.*[a-z])[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*\.?$/i;
// Sides that could be meant as addresses (any inet_aton spelling); anything else is read as a name.
const RANGE_SIDE = /^[0-9a-fA-FxX.]+$/;

/** Parse one target in the strict syntax. Never throws. */
export function parseTarget(text: string): TargetParse {
  const single = parseIpv4(text);
  if (single !== undefined) return { ok: true, form: 'address', range: { start: single, end: single } };
  if (text === '') return { ok: false, message: '"" is empty', hint: 'give an address' };
  if (/\s/.test(text)) {
    return { ok: false, message: `"${text}" contains whitespace`, hint: 'write the target without spaces' };
  }
  const withPort = /^([^:]*):(\d+)$/.exec(text);
  if (withPort && withPort[1]?.includes('.')) {
    return { ok: false, message: `"${text}" includes a port`, hint: `give the address ${withPort[1]} alone` };
  }
  if (text.startsWith('[') || looksLikeIpv6(text)) return refuseIpv6(text);

  const slash = text.indexOf('/');
  if (slash >= 0) return parseCidrTarget(text, slash);

  const parts = text.split('-');
  if (parts.length === 2 && parts.every((p) => RANGE_SIDE.test(p) && /\d/.test(p))) {
    return parseRangeTarget(text, parts[0] ?? '', parts[1] ?? '');
  }
  return explainNotAddress(text);
}

function parseCidrTarget(text: string, slash: number): TargetParse {
  const baseText = text.slice(0, slash);
  const lenText = text.slice(slash + 1);
  const base = parseIpv4(baseText);
  if (base === undefined) return explainNotAddress(baseText, text);
  if (!PREFIX_LEN.test(lenText) || Number(lenText) > 32) {
    return {
      ok: false,
      message: `"${text}": prefix length "${lenText}" is not a number from 0 to 32`,
      hint: 'write a CIDR block such as 127.0.0.0/8',
    };
  }
  const len = Number(lenText);
  const range = cidrRange(base, len);
  if (range.start !== base) {
    // Refuse rather than mask: "127.0.0.1/8" may mean the /8 or a typo for one host, and a scope
    // must not guess which of the two was authorised.
    return {
      ok: false,
      message: `"${text}" has host bits set`,
      hint: `write ${formatIpv4(range.start)}/${len} for the whole block, or ${formatIpv4(base)}/32 for the one address`,
    };
  }
  return { ok: true, form: 'cidr', range };
}

function parseRangeTarget(text: string, fromText: string, toText: string): TargetParse {
  const start = parseIpv4(fromText);
  if (start === undefined) return explainNotAddress(fromText, text);
  const end = parseIpv4(toText);
  if (end === undefined) return explainNotAddress(toText, text);
  if (end < start) {
    return {
      ok: false,
      message: `"${text}": range ends before it starts`,
      hint: `write ${toText}-${fromText}`,
    };
  }
  return { ok: true, form: 'range', range: { start, end } };
}

function refuseIpv6(text: string): TargetParse {
  const mapped = ipv4Mapped(text);
  if (mapped !== undefined) {
    return {
      ok: false,
      message: `"${text}" is an IPv4-mapped IPv6 address; IPv6 is not supported yet`,
      hint: `give the IPv4 address ${mapped} itself if it is in scope`,
    };
  }
  return { ok: false, message: `"${text}": IPv6 is not supported yet`, hint: 'give IPv4 addresses only' };
}

/** The IPv4 address inside "::ffff:a.b.c.d" / "::ffff:7f00:1" (any spelling of the zero run), else undefined. */
export function ipv4Mapped(text: string): string | undefined {
  const t = text.replace(/^\[|\]$/g, '').toLowerCase();
  const m = /^(?:(?:0{1,4}:){5}|::(?:0{1,4}:)?|(?:0{1,4}:){1,4}:)ffff:(.+)$/.exec(t);
  if (!m || m[1] === undefined) return undefined;
  const tail = m[1];
  const dotted = parseIpv4(tail);
  if (dotted !== undefined) return formatIpv4(dotted);
  const hex = /^([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(tail);
  if (!hex || hex[1] === undefined || hex[2] === undefined) return undefined;
  return formatIpv4(((parseInt(hex[1], 16) << 16) | parseInt(hex[2], 16)) >>> 0);
}

/**
 * Why `part` (of `whole`) is not a strict dotted quad. When inet_aton() would read it as an
 * address, say which one: that is exactly the confusion the strict parser exists to prevent.
 */
function explainNotAddress(part: string, whole: string = part): TargetParse {
  const where = part === whole ? `"${part}"` : `"${part}" in "${whole}"`;
  if (part === '') return { ok: false, message: `${where}: missing address` };
  if (/\s/.test(part)) return { ok: false, message: `${where} contains whitespace`, hint: 'write the target without spaces' };
  if (part.startsWith('[') || looksLikeIpv6(part)) return refuseIpv6(part);
  const trailingDot = part.endsWith('.') && parseIpv4(part.slice(0, -1)) !== undefined;
  if (trailingDot) {
    return { ok: false, message: `${where} has a trailing dot`, hint: `write ${part.slice(0, -1)}` };
  }
  const aton = inetAton(part);
  if (aton !== undefined) {
    return {
      ok: false,
      message: `${where} is not a canonical dotted quad (inet_aton would read it as ${formatIpv4(aton)})`,
      hint: `write four decimal octets without leading zeros, e.g. ${formatIpv4(aton)}`,
    };
  }
  if (HOSTNAME.test(part)) {
    return {
      ok: false,
      message: `${where}: hostnames are not scanned: give an address`,
      hint: 'resolve the name yourself and check that the address is yours to survey',
    };
  }
  return {
    ok: false,
    message: `${where} is not an IPv4 address`,
    hint: 'write a.b.c.d, a.b.c.d/n or a.b.c.d-e.f.g.h with four decimal octets',
  };
}

/**
 * The BSD inet_aton() reading (1–4 parts; decimal, 0-octal or 0x-hex; the last part fills the
 * remaining bytes). Used only to explain refusals, never to accept an address.
 */
function inetAton(text: string): number | undefined {
  const parts = text.split('.');
  if (parts.length > 4) return undefined;
  const values: number[] = [];
  for (const p of parts) {
    let v: number;
    if (/^0[xX][0-9a-fA-F]*$/.test(p)) v = p.length === 2 ? 0 : parseInt(p.slice(2), 16);
    else if (/^0[0-7]*$/.test(p)) v = parseInt(p, 8);
    else if (/^[1-9]\d*$/.test(p)) v = Number(p);
    else return undefined;
    values.push(v);
  }
  let n = 0;
  for (let i = 0; i < values.length - 1; i++) {
    const v = values[i] ?? 0;
    if (v > 255) return undefined;
    n = n * 256 + v;
  }
  const restBytes = 4 - (values.length - 1);
  const last = values[values.length - 1] ?? 0;
  if (last >= 2 ** (8 * restBytes)) return undefined;
  return (n * 2 ** (8 * restBytes) + last) >>> 0;
}

