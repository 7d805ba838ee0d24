/** Per-ISP summary of a survey: what each ISP's abuse desk and the operator look at first. */
import { cidrRange, parseIpv4, type Ipv4Range } from '../core/ip.js';
import type { Endpoint } from '../core/records.js';
import type { IspTable } from '../scope/isp.js';
import { countAddresses, intersectRanges, normaliseRanges } from '../scope/range-set.js';

export interface IspSummary {
  readonly ispId: string;
  readonly name: string;
  readonly participating: boolean;
  readonly parent?: string;
  /** Addresses of this ISP inside the surveyed targets (longest-prefix owner only). */
  readonly addressesSurveyed: number;
  /** Distinct addresses with at least one open port. */
  readonly hostsWithOpenPorts: number;
  readonly openEndpoints: number;
  /** Open endpoints per port, keyed by the device's port (before any lab port map). */
  readonly byPort: Readonly<Record<string, number>>;
}

function prefixRange(prefix: string): Ipv4Range {
  const [base, len] = prefix.split('/');
  return cidrRange(parseIpv4(base!)!, Number(len));
}

/**
 * Summarise endpoints per ISP. `devicePort` maps a probed port back to the device's port (the
 * inverse of a lab port map); surveyed addresses and endpoints in no ISP's prefix are grouped
 * under id "-", a row that appears whenever the targets reach outside every prefix.
 */
export function summariseByIsp(
  endpoints: readonly Endpoint[],
  isps: IspTable,
  targets: readonly Ipv4Range[],
  devicePort: (port: number) => number = (p) => p,
): IspSummary[] {
  const rows = new Map<string, { hosts: Set<string>; open: number; byPort: Record<string, number> }>();
  const slot = (id: string) => {
    let r = rows.get(id);
    if (!r) rows.set(id, (r = { hosts: new Set(), open: 0, byPort: {} }));
    return r;
  };
  for (const e of endpoints) {
    const r = slot(isps.lookupText(e.ip)?.id ?? '-');
    const port = String(devicePort(e.port));
    r.hosts.add(e.ip);
    r.open++;
    r.byPort[port] = (r.byPort[port] ?? 0) + 1;
  }
  const surveyed = normaliseRanges(targets);
  // Addresses per ISP: a nested (more specific) prefix belongs to its own ISP, so subtract it.
  const owned = (id: string): number => {
    let n = 0;
    for (const prefix of isps.prefixesOf(id)) {
      const r = prefixRange(prefix);
      const inTargets = intersectRanges(surveyed, [r]);
      const nested = isps.rows.filter((row) => row.ispId !== id && row.prefix !== prefix).map((row) => prefixRange(row.prefix)).filter((x) => x.start >= r.start && x.end <= r.end && x.end - x.start < r.end - r.start);
      n += countAddresses(inTargets) - countAddresses(intersectRanges(inTargets, normaliseRanges(nested)));
    }
    return n;
  };
  const out: IspSummary[] = isps.isps.map((isp) => {
    const r = rows.get(isp.id);
    const sortedPorts = Object.fromEntries(Object.entries(r?.byPort ?? {}).sort((a, b) => Number(a[0]) - Number(b[0])));
    return {
      ispId: isp.id,
      name: isp.name,
      participating: isp.participating,
      ...(isp.parent ? { parent: isp.parent } : {}),
      addressesSurveyed: owned(isp.id),
      hostsWithOpenPorts: r?.hosts.size ?? 0,
      openEndpoints: r?.open ?? 0,
      byPort: sortedPorts,
    };
  });
  // Surveyed addresses in no ISP's prefix (the lab's spare block, an operator's unassigned space)
  // get their own row, so every surveyed address and every endpoint is accounted for once.
  const anyIsp = normaliseRanges(isps.rows.map((row) => prefixRange(row.prefix)));
  const unattributed = countAddresses(surveyed) - countAddresses(intersectRanges(surveyed, anyIsp));
  const orphan = rows.get('-');
  if (orphan || unattributed > 0) {
    out.push({
      ispId: '-',
      name: "(in no ISP's prefix)",
      participating: false,
      addressesSurveyed: unattributed,
      hostsWithOpenPorts: orphan?.hosts.size ?? 0,
      openEndpoints: orphan?.open ?? 0,
      byPort: Object.fromEntries(Object.entries(orphan?.byPort ?? {}).sort((a, b) => Number(a[0]) - Number(b[0]))),
    });
  }
  return out;
}

/** The summary as text for people, one block per ISP. */
export function formatIspSummary(rows: readonly IspSummary[]): string {
  const lines: string[] = [];
  for (const r of rows) {
    const role = [r.participating ? 'participating' : 'not participating', r.parent ? `reseller of ${r.parent}` : ''].filter(Boolean).join(', ');
    lines.push(r.ispId === '-' ? `${r.name}: nobody to notify` : `${r.name} [${r.ispId}] (${role})`);
    lines.push(`  addresses surveyed ${r.addressesSurveyed.toLocaleString('en')}, hosts with open ports ${r.hostsWithOpenPorts}, open endpoints ${r.openEndpoints}`);
    const ports = Object.entries(r.byPort).map(([p, n]) => `${p}:${n}`);
    for (let i = 0; i < ports.length; i += 8) lines.push(`    ${ports.slice(i, i + 8).join('  ')}`);
  }
  return lines.join('\n');
}
