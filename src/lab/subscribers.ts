/**
 * The lab's ISP side: simulated subscribers and the session logs their ISPs keep, over a simulated
 * period, for every ISP of a LabPlan. Each ISP writes its logs in another format — Sakura Net
 * FreeRADIUS detail, Fuji Broadband dhcpd.leases, Minato Hikari Kea lease CSV, Kumo Cable RADIUS
 * CSV, and Hoshi Mobile sits behind CGNAT (port-block log; findings there carry the port). Some
 * addresses are reassigned within the period (held by one subscriber, then another), ISP-rented
 * routers are listed in an inventory, and one line per ISP is a corporate line an SIer manages.
 *
 * Everything follows from the plan's seed and `periodEnd`. The truth (who held which address and
 * port block when) is returned apart from the files, for tests only: detection never reads it.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { formatIpv4, parseIpv4 } from '../core/ip.js';
import { createRng, type Rng } from '../core/rng.js';
import { readSessionText, type SessionLogProblem } from '../notify/isp/logs/index.js';
import { inventoryCsv, parseInventory, parseSubscribers, subscribersCsv } from '../notify/isp/subscriber-files.js';
import type { Store } from '../store/store.js';
import type { InventoryEntry, SessionSource, Subscriber } from '../notify/isp/types.js';
import { writeFileAtomic } from './files.js';
import type { PortMap } from './port-map.js';
import type { LabPlan } from './population.js';
import type { LabDevice } from './types.js';

export interface LabSubscriberConfig {
  /**
   * End of the simulated period, epoch ms (default: now, to the hour). Current holders' sessions
   * stay open past it; import the logs after the survey (or with `isp import --collected-at`).
   */
  readonly periodEnd?: number;
  /** Length of the period in days (default 14). */
  readonly days?: number;
  /** Share of device addresses reassigned within the period (default 0.3; at least two per ISP). */
  readonly reassignShare?: number;
  /** Share of routers the ISP rents out (listed in its inventory; default 0.5). */
  readonly rentedShare?: number;
  /** The lab's port map, so CGNAT blocks cover the ports devices are really published on. */
  readonly portMap?: PortMap;
}

/** Who held an address (and port block) during [from, to); to null: still at the end of the logs. */
export interface LabHolding {
  readonly ispId: string;
  readonly ip: string;
  readonly portFirst: number | null;
  readonly portLast: number | null;
  readonly from: number;
  readonly to: number | null;
  readonly subscriber: string;
}

/** A test point: a device address (+ port) at a time, and who held it then. */
export interface LabProbe {
  readonly ispId: string;
  readonly deviceId: string;
  readonly ip: string;
  readonly port: number | null;
  readonly at: number;
  readonly subscriber: string;
  /** `previous`: the time falls in the earlier holder's part of a reassigned address. */
  readonly kind: 'current' | 'previous';
}

export interface LabIspFiles {
  readonly ispId: string;
  readonly format: SessionSource;
  /** File name → content, written under <dir>/<ispId>/. */
  readonly files: Readonly<Record<string, string>>;
  readonly sessionFile: string;
  readonly subscribers: readonly (Subscriber & { readonly macs: readonly string[] })[];
  readonly inventory: readonly InventoryEntry[];
}

export interface LabSubscriberWorld {
  readonly periodStart: number;
  readonly periodEnd: number;
  readonly isps: readonly LabIspFiles[];
  /** Device id → owning subscriber (the one holding its address at the end of the period). */
  readonly owners: ReadonlyMap<string, string>;
  /** Ground truth, for tests. */
  readonly truth: { readonly holdings: readonly LabHolding[]; readonly probes: readonly LabProbe[] };
}

/** Which format each lab ISP's logs use; an ISP not listed gets RADIUS CSV. */
export const labLogFormats: Readonly<Record<string, SessionSource>> = { sakura: 'radius-detail', fuji: 'dhcpd-leases', minato: 'kea-csv', kumo: 'radius-csv', hoshi: 'cgnat' };

const sessionFileNames: Readonly<Record<SessionSource, string>> = { 'radius-detail': 'detail-radacct', 'radius-csv': 'radius-accounting.csv', 'dhcpd-leases': 'dhcpd.leases', 'kea-csv': 'kea-leases4.csv', cgnat: 'cgnat-port-blocks.log' };

/** Router models ISPs in Japan commonly rent out with the line (ONTs and home gateways). */
const rentable = /^(nec-aterm|huawei-hg8245h|zte-zxhn-h108n|sercomm|ubee)/;

const familyJa = ['佐藤', '鈴木', '高橋', '田中', '伊藤', '渡辺', '山本', '中村', '小林', '加藤', '吉田', '山田'];
const givenJa = ['翔太', '陽菜', '蓮', '結衣', '大翔', 'さくら', '悠真', '美咲'];
const familyEn = ['Smith', 'Brown', 'Wilson', 'Taylor', 'Nguyen', 'Garcia'];
const givenEn = ['Alex', 'Sam', 'Jordan', 'Emma', 'Liam', 'Olivia'];

const hour = 3_600_000;
const day = 24 * hour;
/** CGNAT port-block size (ports per block); 16 blocks per public address. */
const blockSize = 4096;
/** Blocks that hold the lab's high mapped ports (40000 and up, src/lab/port-map.ts). */
const mappedBlocks = [9, 10];

const dows = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const mons = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const p2 = (n: number): string => String(n).padStart(2, '0');
const hms = (d: Date): string => `${p2(d.getUTCHours())}:${p2(d.getUTCMinutes())}:${p2(d.getUTCSeconds())}`;
/** ctime(3) as FreeRADIUS writes a detail record header ("Tue Dec  1 03:00:00 2026"). */
const ctime = (t: number): string => {
  const d = new Date(t);
  return `${dows[d.getUTCDay()]} ${mons[d.getUTCMonth()]} ${String(d.getUTCDate()).padStart(2, ' ')} ${hms(d)} ${d.getUTCFullYear()}`;
};
const eventStamp = (t: number): string => {
  const d = new Date(t);
  return `${mons[d.getUTCMonth()]} ${String(d.getUTCDate()).padStart(2, ' ')} ${d.getUTCFullYear()} ${hms(d)} UTC`;
};
/** dhcpd.leases time ("W YYYY/MM/DD HH:MM:SS", UTC). */
const dhcpdTime = (t: number): string => {
  const d = new Date(t);
  return `${d.getUTCDay()} ${d.getUTCFullYear()}/${p2(d.getUTCMonth() + 1)}/${p2(d.getUTCDate())} ${hms(d)}`;
};
const unix = (t: number): number => Math.floor(t / 1000);

interface Line {
  readonly ip: string;
  /** Holders in time order: [subscriber, from, to|null]. */
  readonly holders: { subscriber: string; from: number; to: number | null; mac: string; gapBefore?: boolean }[];
}

/** Build the ISP side of a lab plan. */
export function buildLabSubscribers(plan: LabPlan, config: LabSubscriberConfig = {}): LabSubscriberWorld {
  const periodEnd = config.periodEnd ?? Math.floor(Date.now() / hour) * hour;
  const periodStart = periodEnd - (config.days ?? 14) * day;
  const reassignShare = config.reassignShare ?? 0.3;
  const rentedShare = config.rentedShare ?? 0.5;
  const holdings: LabHolding[] = [];
  const probes: LabProbe[] = [];
  const owners = new Map<string, string>();
  const isps: LabIspFiles[] = [];
  for (const isp of plan.isps) {
    const rng = createRng(`${plan.seed}/subscribers/${isp.id}`);
    const format = labLogFormats[isp.id] ?? 'radius-csv';
    const devices = plan.devices.filter((d) => d.ispId === isp.id);
    const subscribers: (Subscriber & { macs: string[] })[] = [];
    let serial = 0;
    const newSubscriber = (): Subscriber & { macs: string[] } => {
      const id = `${isp.id}-s${String(++serial).padStart(5, '0')}`;
      const en = rng.next() < 0.15;
      const name = en ? `${rng.pick(givenEn)} ${rng.pick(familyEn)}` : `${rng.pick(familyJa)} ${rng.pick(givenJa)}`;
      // Locally administered unicast MACs (IEEE 802: second bit of the first octet set).
      const mac = `02:${[rng.int(256), rng.int(256), rng.int(256), rng.int(256), rng.int(256)].map((b) => b.toString(16).padStart(2, '0')).join(':')}`;
      const s = { id, email: `${id}@${isp.id}.lab.invalid`, language: en ? ('en' as const) : ('ja' as const), name, macs: [mac] };
      subscribers.push(s);
      return s;
    };
    const inventory: InventoryEntry[] = [];
    const lines: Line[] = [];
    const cgnatBlocks: { ip: string; first: number; last: number; holders: Line['holders'] }[] = [];
    const forced = Math.min(2, devices.length);
    devices.forEach((d, i) => {
      const owner = newSubscriber();
      owners.set(d.id, owner.id);
      const reassigned = i < forced || rng.next() < reassignShare;
      const t1 = periodStart + Math.floor((0.3 + 0.4 * rng.next()) * (periodEnd - periodStart) / 1000) * 1000;
      const earlier = reassigned ? newSubscriber() : undefined;
      // Half the reassignments leave a gap (the old lease was released an hour before).
      const gap = reassigned && rng.next() < 0.5;
      if (format === 'cgnat') {
        const ports = d.profile.services.flatMap((s) => [s.port, ...(config.portMap?.[String(s.port)] !== undefined ? [config.portMap[String(s.port)]!] : [])]);
        const own = new Set([...ports.map((p) => Math.floor(p / blockSize)), ...mappedBlocks]);
        const neighbours = [newSubscriber(), newSubscriber()];
        const firstOwn = Math.floor(Math.min(...d.profile.services.map((s) => s.port)) / blockSize);
        for (let b = 0; b < 65536 / blockSize; b++) {
          const first = b * blockSize;
          const holders: Line['holders'] = own.has(b)
            ? reassigned && b === firstOwn
              ? [
                  { subscriber: earlier!.id, from: periodStart, to: gap ? t1 - hour : t1, mac: earlier!.macs[0]! },
                  { subscriber: owner.id, from: t1, to: null, mac: owner.macs[0]! },
                ]
              : [{ subscriber: owner.id, from: periodStart, to: null, mac: owner.macs[0]! }]
            : [{ subscriber: neighbours[b % 2]!.id, from: periodStart, to: null, mac: '' }];
          cgnatBlocks.push({ ip: d.ip, first: Math.max(first, 1), last: first + blockSize - 1, holders });
        }
        const servicePort = d.profile.services[0]?.port ?? null;
        const bound = servicePort === null ? null : (config.portMap?.[String(servicePort)] ?? servicePort);
        probes.push({ ispId: isp.id, deviceId: d.id, ip: d.ip, port: bound, at: periodEnd - hour, subscriber: owner.id, kind: 'current' });
        if (reassigned) {
          const p = d.profile.services.map((s) => s.port).find((x) => Math.floor(x / blockSize) === firstOwn) ?? null;
          probes.push({ ispId: isp.id, deviceId: d.id, ip: d.ip, port: p, at: periodStart + Math.floor((t1 - periodStart) / 2), subscriber: earlier!.id, kind: 'previous' });
        }
      } else {
        lines.push({
          ip: d.ip,
          holders: reassigned
            ? [
                { subscriber: earlier!.id, from: periodStart, to: gap ? t1 - hour : t1, mac: earlier!.macs[0]! },
                { subscriber: owner.id, from: t1, to: null, mac: owner.macs[0]!, gapBefore: gap },
              ]
            : [{ subscriber: owner.id, from: periodStart, to: null, mac: owner.macs[0]! }],
        });
        probes.push({ ispId: isp.id, deviceId: d.id, ip: d.ip, port: d.profile.services[0]?.port ?? null, at: periodEnd - hour, subscriber: owner.id, kind: 'current' });
        if (reassigned) probes.push({ ispId: isp.id, deviceId: d.id, ip: d.ip, port: d.profile.services[0]?.port ?? null, at: periodStart + Math.floor((t1 - periodStart) / 2), subscriber: earlier!.id, kind: 'previous' });
      }
      if (d.profile.type === 'router' && rentable.test(d.profile.id) && rng.next() < rentedShare) {
        // DHCP ISPs know the rented box by its MAC; the others by the subscriber's contract.
        const byMac = format === 'dhcpd-leases' || format === 'kea-csv';
        inventory.push({ subscriber: byMac ? null : owner.id, mac: byMac ? owner.macs[0]! : null, measure: 'isp-task', contact: `ops@${isp.id}.lab.invalid`, model: d.profile.model });
      }
    });
    // One corporate line managed by an SIer: the first device not rented out.
    const corporate = devices.find((d) => !inventory.some((e) => e.subscriber === owners.get(d.id) || e.mac === subscribers.find((s) => s.id === owners.get(d.id))?.macs[0]));
    if (corporate) inventory.push({ subscriber: owners.get(corporate.id)!, mac: null, measure: 'sier-notice', contact: `support@sier-${isp.id}.lab.invalid`, model: null });
    // Background lines: subscribers on addresses without a device, so logs are not only the devices.
    const taken = new Set(devices.map((d) => d.ip));
    for (let k = 0; k < Math.ceil(devices.length / 2) && format !== 'cgnat'; k++) {
      const base = parseIpv4(devices[rng.int(devices.length)]!.ip)!;
      const ip = formatIpv4((base + 1 + rng.int(3)) >>> 0);
      if (taken.has(ip) || (parseIpv4(ip)! & 255) === 255 || (parseIpv4(ip)! & 255) === 0) continue;
      taken.add(ip);
      const who = newSubscriber();
      const from = periodStart + rng.int(5) * day;
      lines.push({ ip, holders: [{ subscriber: who.id, from, to: from + (1 + rng.int(4)) * day, mac: who.macs[0]! }] });
    }
    for (const l of lines) for (const h of l.holders) holdings.push({ ispId: isp.id, ip: l.ip, portFirst: null, portLast: null, from: h.from, to: h.to, subscriber: h.subscriber });
    for (const b of cgnatBlocks) for (const h of b.holders) holdings.push({ ispId: isp.id, ip: b.ip, portFirst: b.first, portLast: b.last, from: h.from, to: h.to, subscriber: h.subscriber });
    const sessionFile = sessionFileNames[format];
    const text = renderLog(format, lines, cgnatBlocks, periodEnd, rng);
    isps.push({
      ispId: isp.id,
      format,
      sessionFile,
      subscribers,
      inventory,
      files: { [sessionFile]: text, 'subscribers.csv': subscribersCsv(subscribers), 'inventory.csv': inventoryCsv(inventory) },
    });
  }
  return { periodStart, periodEnd, isps, owners, truth: { holdings, probes } };
}

function renderLog(format: SessionSource, lines: readonly Line[], blocks: readonly { ip: string; first: number; last: number; holders: Line['holders'] }[], periodEnd: number, rng: Rng): string {
  const events: { t: number; text: string; release?: boolean }[] = [];
  let sid = 0;
  for (const l of lines) {
    for (const h of l.holders) {
      const id = `${(++sid).toString(16).padStart(8, '0')}`;
      if (format === 'radius-detail') {
        const rec = (t: number, status: string, extra: string[]): string =>
          [ctime(t), `\tAcct-Status-Type = ${status}`, `\tUser-Name = "${h.subscriber}"`, `\tAcct-Session-Id = "${id}"`, `\tNAS-IP-Address = 127.0.0.1`, `\tFramed-IP-Address = ${l.ip}`, `\tCalling-Station-Id = "${h.mac.replace(/:/g, '-').toUpperCase()}"`, `\tEvent-Timestamp = "${eventStamp(t)}"`, ...extra, `\tTimestamp = ${unix(t)}`, ''].join('\n');
        // Some sessions lost their Start: an Interim-Update still opens them (dated back).
        const lostStart = rng.next() < 0.2;
        if (!lostStart) events.push({ t: h.from, text: rec(h.from, 'Start', []) });
        const mid = h.from + Math.floor(((h.to ?? periodEnd) - h.from) / 2000) * 1000;
        events.push({ t: mid, text: rec(mid, 'Interim-Update', [`\tAcct-Session-Time = ${unix(mid) - unix(h.from)}`]) });
        if (h.to !== null) events.push({ t: h.to, text: rec(h.to, 'Stop', [`\tAcct-Session-Time = ${unix(h.to) - unix(h.from)}`]), release: true });
      } else if (format === 'radius-csv') {
        events.push({ t: h.from, text: `${new Date(h.from).toISOString()},Start,${id},${h.subscriber},${l.ip},${h.mac},` });
        if (h.to !== null) events.push({ release: true, t: h.to, text: `${new Date(h.to).toISOString()},Stop,${id},${h.subscriber},${l.ip},${h.mac},${unix(h.to) - unix(h.from)}` });
      } else {
        // DHCP: a grant, then a renewal every 12 h of a 24 h lease; the last lease runs past the
        // period (or is cut by the next holder's grant); a gap means it was released first.
        const lease = 24 * hour;
        const stop = h.to ?? periodEnd;
        for (let t = h.from; t < stop; t += 12 * hour) {
          const end = h.to !== null ? Math.min(t + lease, h.to) : t + lease;
          events.push({ t, text: leaseText(format, l.ip, h.mac, t, end, true) });
        }
        if (h.to !== null) events.push({ t: h.to, text: leaseText(format, l.ip, h.mac, h.to, h.to, false), release: true });
      }
    }
  }
  for (const b of blocks) {
    for (const h of b.holders) {
      events.push({ t: h.from, text: `${new Date(h.from).toISOString()} allocate ${h.subscriber} ${b.ip} ${b.first}-${b.last}` });
      if (h.to !== null) events.push({ release: true, t: h.to, text: `${new Date(h.to).toISOString()} release ${h.subscriber} ${b.ip} ${b.first}-${b.last}` });
    }
  }
  // Journals are in time order; at equal times a release comes before the next grant.
  events.sort((a, b) => a.t - b.t || Number(b.release ?? false) - Number(a.release ?? false));
  const body = events.map((e) => e.text);
  switch (format) {
    case 'radius-detail':
      return body.join('\n');
    case 'radius-csv':
      return `timestamp,status,session_id,user_name,framed_ip,calling_station_id,session_time\n${body.join('\n')}\n`;
    case 'dhcpd-leases':
      return `# The format of this file is documented in the dhcpd.leases(5) manual page.\n# This lease file was written by the iotclean lab.\nauthoring-byte-order little-endian;\n\n${body.join('\n')}`;
    case 'kea-csv':
      return `address,hwaddr,client_id,valid_lifetime,expire,subnet_id,fqdn_fwd,fqdn_rev,hostname,state,user_context\n${body.join('\n')}\n`;
    case 'cgnat':
      return `# time event subscriber public-ip first-last (iotclean CGNAT port-block log)\n${body.join('\n')}\n`;
  }
}

function leaseText(format: SessionSource, ip: string, mac: string, start: number, end: number, active: boolean): string {
  if (format === 'kea-csv') {
    // A release is a row with valid_lifetime 0 (expire = release time).
    const life = active ? unix(end) - unix(start) : 0;
    return `${ip},${mac},01:${mac},${life},${unix(end)},1,0,0,,0,,`;
  }
  return [
    `lease ${ip} {`,
    `  starts ${dhcpdTime(start)};`,
    `  ends ${dhcpdTime(end)};`,
    `  cltt ${dhcpdTime(start)};`,
    `  binding state ${active ? 'active' : 'free'};`,
    `  next binding state free;`,
    `  hardware ethernet ${mac};`,
    `  uid "\\001${mac
      .split(':')
      .map((h) => `\\${parseInt(h, 16).toString(8).padStart(3, '0')}`)
      .join('')}";`,
    '}',
    '',
  ].join('\n');
}

/** Write each ISP's files under <dir>/<ispId>/; returns the paths written. The truth is not written. */
export function writeLabSubscribers(world: LabSubscriberWorld, dir: string): string[] {
  const out: string[] = [];
  for (const isp of world.isps) {
    const d = join(dir, isp.ispId);
    mkdirSync(d, { recursive: true });
    for (const [name, text] of Object.entries(isp.files)) {
      const p = join(d, name);
      writeFileAtomic(p, text);
      out.push(p);
    }
  }
  return out;
}

/** Truth lookup for tests: who held the address (and port, behind CGNAT) at the time. */
export function labSubscriberAt(world: LabSubscriberWorld, ip: string, at: number, port: number | null): string | null {
  const hit = world.truth.holdings.find((h) => h.ip === ip && h.from <= at && (h.to === null || at < h.to) && (h.portFirst === null || (port !== null && h.portFirst <= port && port <= h.portLast!)));
  return hit?.subscriber ?? null;
}

/**
 * Load one lab ISP's files into an ISP-side store, as `iotclean isp import` would (the demo's
 * shortcut: no files on disk). `collectedAt` (epoch ms, default now) is when the logs
 * count as collected: open sessions are alive until then, so pass a time after the survey.
 */
export async function importLabIsp(store: Store, isp: LabIspFiles, collectedAt?: number, onProblem?: (p: SessionLogProblem) => void): Promise<{ readonly sessions: number; readonly subscribers: number; readonly inventory: number }> {
  const subs = parseSubscribers(isp.files['subscribers.csv'] ?? '', 'subscribers.csv', onProblem);
  const inventory = parseInventory(isp.files['inventory.csv'] ?? '', 'inventory.csv', onProblem);
  await store.sessions.putSubscribers(subs.subscribers, subs.keys);
  await store.sessions.putInventory(inventory);
  const text = isp.files[isp.sessionFile] ?? '';
  const at = collectedAt ?? Date.now();
  const r = await store.sessions.import(readSessionText(text, `lab/${isp.ispId}/${isp.sessionFile}`, { format: isp.format, keys: subs.keys, ...(onProblem ? { onProblem } : {}) }), { importedAt: at });
  return { sessions: r.count, subscribers: subs.subscribers.length, inventory: inventory.length };
}

export type { LabDevice };
