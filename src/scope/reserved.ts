/**
 * The default blocklist: IPv4 space that no survey of devices may reach unless its scope file
 * lifts it explicitly. Entries follow the IANA IPv4 Special-Purpose Address Registry (RFC 6890 and
 * its updates) plus multicast (RFC 5771), the same set ZMap ships in blocklist.conf, and the
 * registry's three anycast infrastructure blocks (AS112, AMT), which hold no subscriber devices.
 *
 * Why: a scope line such as `include 0.0.0.0/0` would otherwise reach 0.0.0.0 (the scanner's own
 * host), multicast groups, broadcast and other networks' private space. Private ranges are
 * blocked too: an ISP surveying its own 10/8 or CGN space says so with `allow-reserved`.
 *
 * Lifting: `allow-reserved <target>` in a scope file lifts exactly the named range, which must be a
 * whole entry or a part of one (one entry per line; a range straddling two entries, or naming space
 * that is not reserved, is refused so a typo cannot lift more than meant). A lifted range is still
 * only reachable where an include names it, and exclusions still win. Two entries can never be
 * lifted: 0.0.0.0/32 (this host) and 255.255.255.255/32 (limited broadcast) are not unicast hosts.
 */
import { formatRange, type Ipv4Range } from '../core/ip.js';
import { intersectRanges, normaliseRanges, subtractRanges } from './range-set.js';
import { parseTarget } from './target.js';

/** One reserved block: where it is, its registry name and the RFC that reserves it. */
export interface ReservedEntry {
  readonly range: Ipv4Range;
  readonly cidr: string;
  readonly name: string;
  readonly rfc: string;
  /** False for addresses that are never a unicast host (this host, limited broadcast). */
  readonly liftable: boolean;
}

const entry = (cidr: string, name: string, rfc: string, liftable = true): ReservedEntry => {
  const parsed = parseTarget(cidr);
  if (!parsed.ok) throw new Error(`reserved table bug: ${cidr}: ${parsed.message}`);
  return Object.freeze({ range: Object.freeze(parsed.range), cidr, name, rfc, liftable });
};

/** The blocklist, in address order. Nested entries (192.0.0.0/29 in 192.0.0.0/24) are kept for their names. */
export const reservedBlocks: readonly ReservedEntry[] = Object.freeze([
  entry('0.0.0.0/8', '"This network"', 'RFC 791 §3.2'),
  entry('0.0.0.0/32', '"This host on this network"', 'RFC 1122 §3.2.1.3', false),
  entry('10.0.0.0/8', 'Private-Use', 'RFC 1918'),
  entry('100.64.0.0/10', 'Shared Address Space (carrier-grade NAT)', 'RFC 6598'),
  entry('127.0.0.0/8', 'Loopback', 'RFC 1122 §3.2.1.3'),
  entry('169.254.0.0/16', 'Link Local', 'RFC 3927'),
  entry('172.16.0.0/12', 'Private-Use', 'RFC 1918'),
  entry('192.0.0.0/24', 'IETF Protocol Assignments', 'RFC 6890 §2.1'),
  entry('192.0.0.0/29', 'IPv4 Service Continuity Prefix', 'RFC 7335'),
  entry('192.0.2.0/24', 'Documentation (TEST-NET-1)', 'RFC 5737'),
  entry('192.31.196.0/24', 'AS112-v4', 'RFC 7535'),
  entry('192.52.193.0/24', 'AMT', 'RFC 7450'),
  entry('192.88.99.0/24', 'Deprecated (6to4 Relay Anycast)', 'RFC 7526'),
  entry('192.168.0.0/16', 'Private-Use', 'RFC 1918'),
  entry('192.175.48.0/24', 'Direct Delegation AS112 Service', 'RFC 7534'),
  entry('198.18.0.0/15', 'Benchmarking', 'RFC 2544'),
  entry('198.51.100.0/24', 'Documentation (TEST-NET-2)', 'RFC 5737'),
  entry('203.0.113.0/24', 'Documentation (TEST-NET-3)', 'RFC 5737'),
  entry('224.0.0.0/4', 'Multicast', 'RFC 5771'),
  entry('240.0.0.0/4', 'Reserved', 'RFC 1112 §4'),
  entry('255.255.255.255/32', 'Limited Broadcast', 'RFC 8190, RFC 919 §7', false),
]);

const allReserved = normaliseRanges(reservedBlocks.map((e) => e.range));
const neverLifted = normaliseRanges(reservedBlocks.filter((e) => !e.liftable).map((e) => e.range));

/** The blocked set once `lifts` are taken out: sorted, disjoint, merged. */
export function blockedRanges(lifts: readonly Ipv4Range[]): Ipv4Range[] {
  const lifted = subtractRanges(normaliseRanges(lifts), neverLifted);
  return subtractRanges(allReserved, lifted);
}

/** The most specific entry holding the address, if it is reserved. */
export function reservedEntryOf(ip: number): ReservedEntry | undefined {
  let best: ReservedEntry | undefined;
  for (const e of reservedBlocks) {
    if (ip < e.range.start || ip > e.range.end) continue;
    if (!best || e.range.end - e.range.start < best.range.end - best.range.start) best = e;
  }
  return best;
}

/**
 * Why a lift is refused, or undefined when it is a whole entry or a part of one. Lifting a
 * never-liftable entry alone is refused; a lift of 0.0.0.0/8 is fine and leaves 0.0.0.0 blocked.
 */
export function checkLift(r: Ipv4Range): { message: string; hint: string } | undefined {
  const fixed = reservedBlocks.find((e) => !e.liftable && e.range.start <= r.start && r.end <= e.range.end);
  if (fixed) {
    return { message: `${formatRange(r)} (${fixed.name}, ${fixed.rfc}) can never be lifted`, hint: 'it is not a unicast host address' };
  }
  if (reservedBlocks.some((e) => e.liftable && e.range.start <= r.start && r.end <= e.range.end)) return undefined;
  const overlapping = reservedBlocks.filter((e) => intersectRanges([e.range], [r]).length > 0);
  if (overlapping.length === 0) {
    return { message: `${formatRange(r)} is not reserved address space`, hint: 'allow-reserved names a reserved block (see iotclean scope); include it instead' };
  }
  return {
    message: `${formatRange(r)} is not inside one reserved block (it overlaps ${overlapping.map((e) => e.cidr).join(', ')})`,
    hint: 'lift one reserved block, or a part of one, per allow-reserved line',
  };
}

/** Per entry, how many of `included` the blocklist removes (after lifts). For `iotclean scope`. */
export function reservedRemoved(
  included: readonly Ipv4Range[],
  lifts: readonly Ipv4Range[],
): { entry: ReservedEntry; addresses: number }[] {
  const blocked = intersectRanges(normaliseRanges(included), blockedRanges(lifts));
  const out: { entry: ReservedEntry; addresses: number }[] = [];
  // Attribute each blocked address to its most specific entry, so nested entries are not counted twice.
  const bySpecific = [...reservedBlocks].sort((a, b) => a.range.end - a.range.start - (b.range.end - b.range.start));
  let rest = blocked;
  for (const e of bySpecific) {
    const hit = intersectRanges(rest, [e.range]);
    if (hit.length === 0) continue;
    out.push({ entry: e, addresses: hit.reduce((n, r) => n + r.end - r.start + 1, 0) });
    rest = subtractRanges(rest, [e.range]);
  }
  return out.sort((a, b) => a.entry.range.start - b.entry.range.start || b.entry.range.end - a.entry.range.end);
}
