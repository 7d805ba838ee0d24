/**
 * Per-day aggregates of a darknet analysis: for each UTC day, class, fingerprint and ISP (the
 * prefix owner of the sources, null outside every prefix), how many sources, how many of them
 * infected, their packets, and the ports they probed most. This is what the statistics and the
 * botnet picture read for months of captures; the per-source rows behind it can be millions a
 * day and go to Parquet instead (./parquet.ts).
 */
import { parseIpv4 } from '../core/ip.js';
import type { IspTable } from '../scope/isp.js';
import type { Fingerprint } from './fingerprints.js';
import type { SourceClass, SourceSummary } from './types.js';

export interface DarknetDay {
  readonly day: string;
  readonly class: SourceClass;
  readonly fingerprint: Fingerprint;
  /** The ISP whose prefix holds the sources (participating or not), null when none does. */
  readonly isp: string | null;
  readonly sources: number;
  readonly infected: number;
  readonly packets: number;
  /** Up to 10 ports with the most probe packets over these sources, most first. */
  readonly topPorts: readonly { readonly port: number; readonly packets: number }[];
}

/** Aggregate source summaries by (day, class, fingerprint, ISP); sorted by day, then key. */
export function dailyAggregates(sources: Iterable<SourceSummary>, isps?: IspTable): DarknetDay[] {
  const groups = new Map<string, { day: string; class: SourceClass; fingerprint: Fingerprint; isp: string | null; sources: number; infected: number; packets: number; ports: Map<number, number> }>();
  for (const s of sources) {
    const num = parseIpv4(s.ip);
    const isp = isps && num !== undefined ? (isps.lookup(num)?.id ?? null) : null;
    const key = `${s.day}|${s.class}|${s.fingerprint}|${isp ?? ''}`;
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { day: s.day, class: s.class, fingerprint: s.fingerprint, isp, sources: 0, infected: 0, packets: 0, ports: new Map() }));
    g.sources++;
    if (s.infected) g.infected++;
    g.packets += s.packets;
    s.ports.forEach((p, i) => g!.ports.set(p, (g!.ports.get(p) ?? 0) + (s.portPackets[i] ?? 0)));
  }
  return [...groups.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([, g]) => ({
      day: g.day,
      class: g.class,
      fingerprint: g.fingerprint,
      isp: g.isp,
      sources: g.sources,
      infected: g.infected,
      packets: g.packets,
      topPorts: [...g.ports].sort((a, b) => b[1] - a[1] || a[0] - b[0]).slice(0, 10).map(([port, packets]) => ({ port, packets })),
    }));
}
