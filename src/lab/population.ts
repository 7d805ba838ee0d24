/**
 * The lab's population: simulated ISPs owning prefixes of a loopback network, and devices placed at
 * distinct addresses in them with a profile and credentials. Everything follows from the config and
 * its seed, so the same config gives the same lab (and ground truth) on every machine and in every
 * shard process.
 */
import { IotcleanError } from '../core/errors.js';
import { formatIpv4, parseIpv4, prefixMask } from '../core/ip.js';
import { loadProfiles } from './profiles.js';
import { createRng, type Rng } from '../core/rng.js';
import type { DeviceProfile, LabCredential, LabDevice } from './types.js';
import type { IspRow } from '../scope/isp.js';

/** What to build. Every field has a default. */
export interface LabConfig {
  /** Seed of every random choice (default "iotclean"). */
  readonly seed?: string | number;
  /** Number of devices (default 1000). */
  readonly devices?: number;
  /** Loopback network the ISPs share (default 127.77.0.0/16). */
  readonly network?: string;
  /** Profile id → relative weight (default: {@link defaultMix}). */
  readonly mix?: Readonly<Record<string, number>>;
  /** Chance that a device whose profile has a weak pool uses a weak pair (default 0.4). */
  readonly weakShare?: number;
  /** Folder of profile files (default src/lab/profiles). */
  readonly profilesDir?: string;
}

/** A simulated ISP. */
export interface LabIsp {
  readonly id: string;
  /** English name. */
  readonly name: string;
  /** Japanese name. */
  readonly nameJa: string;
  /** Whether it takes part in the programme (receives notifications). */
  readonly participating: boolean;
  /** Wholesale provider whose lines it resells, if any. */
  readonly parent?: string;
  readonly prefixes: readonly string[];
}


/** The whole lab, before anything listens. */
export interface LabPlan {
  readonly seed: string;
  readonly network: string;
  readonly weakShare: number;
  readonly isps: readonly LabIsp[];
  readonly ispRows: readonly IspRow[];
  /** Devices sorted by address. */
  readonly devices: readonly LabDevice[];
}

/** Largest lab the population builder accepts. */
export const maxDevices = 50_000;

/**
 * Default profile weights: mostly ordinary routers, cameras and DVRs (many of them models common
 * in Japan), some hardened ones, a few awkward devices, devices that identify only partly or not
 * at all, and services on unexpected ports, so that every survey meets them.
 */
export const defaultMix: Readonly<Record<string, number>> = {
  'zte-zxhn-h108n': 12,
  'huawei-hg8245h': 10,
  'tplink-td-w8960n': 3,
  'hikvision-ds-2cd2032': 10,
  'dahua-ipc-hfw1320s': 7,
  'xiongmai-nbd8004': 10,
  'sercomm-ad1018': 5,
  'ubee-evw3226': 4,
  'synology-ds216j': 4,
  'ubiquiti-airos-m5': 4,
  'busybox-nas-dropbear': 4,
  'zte-zxhn-h298a-hardened': 10,
  'hikvision-ds-2cd2143-hardened': 8,
  'honeypot-cowrie': 2,
  tarpit: 2,
  'garbage-sender': 2,
  'endless-banner': 2,
  // Models common in Japan.
  'nec-aterm-wg2600hp3': 8,
  'buffalo-wsr-1166dhp': 7,
  'iodata-wn-ax1167gr': 3,
  'iodata-landisk-hdl2-a': 2,
  'yamaha-rtx1210': 2,
  'panasonic-bb-sc384b': 3,
  'sony-snc-ch110': 2,
  'panasonic-wj-hd316a': 2,
  // MQTT brokers, an FTP-only NAS, boxes that name no maker, one that names nothing.
  'mosquitto-open-broker': 2,
  'mqtt-broker-auth': 1,
  'proftpd-nas': 2,
  'lighttpd-box': 2,
  'goahead-camera': 3,
  'unknown-device': 2,
  // Protocols on unexpected ports, and a title holding a script tag.
  'tplink-tl-wr841n-http-on-23': 1,
  'zte-zxhn-f660-odd-ports': 1,
  'script-title-camera': 1,
  // Hostile banners: a trickle, 100 MB, NUL bytes.
  'trickle-banner': 1,
  'huge-banner': 1,
  'nul-banner': 1,
  // Firmware vulnerabilities (issue 8): for each CVE of the survey's data, the affected model with
  // a vulnerable firmware and with a fixed one; one firmware that cannot be ordered against its
  // CVE's bound; and a router whose web UI opens without any login.
  'dlink-dir-605l-fw206': 1,
  'dlink-dir-605l-fw213': 1,
  'huawei-hg532-customised': 1,
  'huawei-hg532-fixed': 1,
  'tenda-ac15-v15-03-05-19': 1,
  'tenda-ac15-v15-03-05-20': 1,
  'dlink-dcs-2530l-fw10505': 1,
  'dlink-dcs-2530l-fw10601': 1,
  'draytek-vigor2960-fw131-beta': 1,
  'draytek-vigor2960-fw151': 1,
  'dahua-ipc-hdw3441t-2021-01': 1,
  'dahua-ipc-hdw3441t-2021-07': 1,
  'dahua-ipc-hdw3441t-undated': 1,
  'hikvision-ds-2cd2046g2-v5553': 1,
  'hikvision-ds-2cd2046g2-v55800': 1,
  'tplink-archer-ax21-1-1-3': 1,
  'tplink-archer-ax21-1-1-4': 1,
  'realtek-jungle-sdk-3-4-11': 1,
  'realtek-jungle-sdk-3-4-14c': 1,
  'netis-wf2419-open-admin': 1,
};

/**
 * ISP layout, relative to the lab network of length L: each prefix is sub-block `index` of length
 * L + `extra`. Minato Hikari's block lies inside Sakura Net's, as a reseller's assignment does, so
 * a longest-prefix match gives the reseller and the table row names the wholesaler as parent.
 */
const ispLayout: readonly {
  readonly id: string;
  readonly name: string;
  readonly nameJa: string;
  readonly participating: boolean;
  readonly parent?: string;
  /** Share of the devices. */
  readonly share: number;
  readonly blocks: readonly { readonly extra: number; readonly index: number }[];
}[] = [
  { id: 'sakura', name: 'Sakura Net', nameJa: 'さくらネット', participating: true, share: 0.3, blocks: [{ extra: 2, index: 0 }] },
  {
    id: 'minato',
    name: 'Minato Hikari',
    nameJa: 'みなと光',
    participating: true,
    parent: 'sakura',
    share: 0.12,
    blocks: [{ extra: 4, index: 3 }],
  },
  {
    id: 'fuji',
    name: 'Fuji Broadband',
    nameJa: '富士ブロードバンド',
    participating: true,
    share: 0.28,
    blocks: [
      { extra: 2, index: 1 },
      { extra: 4, index: 12 },
    ],
  },
  { id: 'kumo', name: 'Kumo Cable', nameJa: 'くもケーブル', participating: false, share: 0.18, blocks: [{ extra: 2, index: 2 }] },
  { id: 'hoshi', name: 'Hoshi Mobile', nameJa: 'ほしモバイル', participating: true, share: 0.12, blocks: [{ extra: 4, index: 13 }] },
];

/** Longest lab network prefix: the smallest ISP block is L + 4 and must hold a few /24s. */
const maxNetworkLength = 20;
/** Devices may fill at most this share of an ISP's usable addresses (keeps placement cheap). */
const maxDensity = 0.5;

interface Block {
  readonly start: number;
  readonly len: number;
}

/** Parse and check the lab network: a CIDR block inside 127.0.0.0/8, not holding 127.0.0.1. */
export function parseLabNetwork(text: string): Block {
  const m = /^([\d.]+)\/(\d{1,2})$/.exec(text.trim());
  const start = m?.[1] !== undefined ? parseIpv4(m[1]) : undefined;
  const len = Number(m?.[2]);
  const hint = 'give a CIDR block inside 127.0.0.0/8 such as 127.77.0.0/16';
  if (start === undefined || !Number.isInteger(len) || len > 32) {
    throw new IotcleanError('E_LAB', `lab network "${text}" is not a CIDR block`, { hint });
  }
  if (len < 8 || start >>> 24 !== 127) {
    throw new IotcleanError('E_LAB', `lab network ${text} is outside 127.0.0.0/8: the lab lives on loopback only`, { hint });
  }
  if (((start & ~prefixMask(len)) >>> 0) !== 0) {
    throw new IotcleanError('E_LAB', `lab network ${text} has host bits set`, { hint: `use ${formatIpv4((start & prefixMask(len)) >>> 0)}/${len}` });
  }
  if (len > maxNetworkLength) {
    throw new IotcleanError('E_LAB', `lab network ${text} is too small`, { hint: `use a prefix of /${maxNetworkLength} or shorter` });
  }
  const home = parseIpv4('127.0.0.1') ?? 0;
  if (((home & prefixMask(len)) >>> 0) === start) {
    throw new IotcleanError('E_LAB', `lab network ${text} contains 127.0.0.1, where this machine's own services listen`, {
      hint: 'use a block such as 127.77.0.0/16',
    });
  }
  return { start, len };
}

function blockOf(net: Block, extra: number, index: number): Block {
  const len = net.len + extra;
  return { start: (net.start + index * 2 ** (32 - len)) >>> 0, len };
}

function formatBlock(b: Block): string {
  return `${formatIpv4(b.start)}/${b.len}`;
}

function contains(outer: Block, inner: Block): boolean {
  return inner.len >= outer.len && ((inner.start & prefixMask(outer.len)) >>> 0) === outer.start;
}

/** Usable host: not the .0 or .255 of its /24 (which also excludes every network address here). */
function usableHost(ip: number): boolean {
  const last = ip & 255;
  return last !== 0 && last !== 255;
}

function weightedPick<T>(rng: Rng, items: readonly T[], weight: (t: T) => number, total: number): T {
  let r = rng.next() * total;
  for (const item of items) {
    r -= weight(item);
    if (r < 0) return item;
  }
  const last = items[items.length - 1];
  if (last === undefined) throw new RangeError('weighted pick from an empty list');
  return last;
}

const passwordAlphabet = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789';

function uniqueCredential(rng: Rng, profile: DeviceProfile, taken: Set<string>): LabCredential {
  const usernames = [...new Set(profile.weakCredentials.map((c) => c.username))];
  const username = usernames.length > 0 ? rng.pick(usernames) : 'admin';
  // 14 characters from 57: about 82 bits, never in any dictionary. The loop ends at the first
  // unused password; a collision is practically impossible but is still checked.
  for (let attempt = 0; attempt < 100; attempt++) {
    let password = '';
    for (let i = 0; i < 14; i++) password += passwordAlphabet[rng.int(passwordAlphabet.length)];
    if (!taken.has(password)) {
      taken.add(password);
      return { username, password };
    }
  }
  throw new IotcleanError('E_LAB', 'could not generate a unique password');
}

/** Build the lab plan from a config; the same config always gives the same plan. */
export function buildLab(config: LabConfig = {}, profiles?: readonly DeviceProfile[]): LabPlan {
  const seed = String(config.seed ?? 'iotclean');
  const count = config.devices ?? 1000;
  const networkText = config.network ?? '127.77.0.0/16';
  const weakShare = config.weakShare ?? 0.4;
  if (!Number.isInteger(count) || count < 1 || count > maxDevices) {
    throw new IotcleanError('E_LAB', `device count ${count} is out of range`, { hint: `use 1 to ${maxDevices}` });
  }
  if (!(weakShare >= 0 && weakShare <= 1)) {
    throw new IotcleanError('E_LAB', `weak share ${weakShare} is out of range`, { hint: 'use a number from 0 to 1' });
  }
  const net = parseLabNetwork(networkText);
  const all = profiles ?? loadProfiles(config.profilesDir);
  const byId = new Map(all.map((p) => [p.id, p]));
  const mixEntries = Object.entries(config.mix ?? defaultMix).filter(([, w]) => w > 0);
  for (const [id, weight] of mixEntries) {
    if (!byId.has(id)) {
      throw new IotcleanError('E_LAB', `mix names unknown profile "${id}"`, { hint: `known profiles: ${[...byId.keys()].join(', ')}` });
    }
    if (!Number.isFinite(weight)) throw new IotcleanError('E_LAB', `mix weight of "${id}" is not a number`);
  }
  if (mixEntries.length === 0) throw new IotcleanError('E_LAB', 'the profile mix is empty', { hint: 'give at least one positive weight' });
  const mixProfiles = mixEntries.map(([id, w]) => ({ profile: byId.get(id) as DeviceProfile, weight: w }));
  const mixTotal = mixEntries.reduce((s, [, w]) => s + w, 0);

  const isps: LabIsp[] = ispLayout.map((l) => ({
    id: l.id,
    name: l.name,
    nameJa: l.nameJa,
    participating: l.participating,
    ...(l.parent ? { parent: l.parent } : {}),
    prefixes: l.blocks.map((b) => formatBlock(blockOf(net, b.extra, b.index))),
  }));
  const ispRows: IspRow[] = ispLayout.flatMap((l) =>
    l.blocks.map((b) => ({
      prefix: formatBlock(blockOf(net, b.extra, b.index)),
      ispId: l.id,
      name: `${l.name} (${l.nameJa})`,
      participating: l.participating,
      ...(l.parent ? { parent: l.parent } : {}),
    })),
  );

  // Each ISP's own blocks, minus the more specific blocks of other ISPs inside them.
  const allBlocks = ispLayout.flatMap((l) => l.blocks.map((b) => ({ isp: l.id, block: blockOf(net, b.extra, b.index) })));
  const space = ispLayout.map((l) => {
    const own = l.blocks.map((b) => blockOf(net, b.extra, b.index));
    const holes = allBlocks.filter((o) => o.isp !== l.id && own.some((b) => contains(b, o.block) && o.block.len > b.len)).map((o) => o.block);
    const size = own.reduce((s, b) => s + 2 ** (32 - b.len), 0) - holes.reduce((s, b) => s + 2 ** (32 - b.len), 0);
    return { layout: l, own, holes, usable: Math.floor((size * 254) / 256) };
  });

  const rng = createRng(seed);
  const ispTotal = ispLayout.reduce((s, l) => s + l.share, 0);
  const perIsp = new Map<string, number>();
  const ispOfDevice: string[] = [];
  for (let i = 0; i < count; i++) {
    const l = weightedPick(rng, ispLayout, (x) => x.share, ispTotal);
    ispOfDevice.push(l.id);
    perIsp.set(l.id, (perIsp.get(l.id) ?? 0) + 1);
  }
  for (const s of space) {
    const n = perIsp.get(s.layout.id) ?? 0;
    if (n > s.usable * maxDensity) {
      throw new IotcleanError('E_LAB', `${count} devices do not fit in lab network ${networkText}`, {
        hint: 'use a larger network (shorter prefix) or fewer devices',
      });
    }
  }

  const used = new Set<number>();
  const passwords = new Set<string>();
  const draft: { ip: number; ispId: string; profile: DeviceProfile; weak: boolean; credentials: LabCredential[] }[] = [];
  for (const ispId of ispOfDevice) {
    const s = space.find((x) => x.layout.id === ispId);
    if (!s) throw new IotcleanError('E_LAB', `internal: unknown ISP ${ispId}`);
    const sizes = s.own.map((b) => 2 ** (32 - b.len));
    const total = sizes.reduce((a, b) => a + b, 0);
    let ip: number | undefined;
    // Density is at most 50%, so a free address turns up within a few draws; the bound only
    // guards against a layout bug.
    for (let attempt = 0; attempt < 1000 && ip === undefined; attempt++) {
      let r = rng.int(total);
      let block = s.own[0] as Block;
      for (let k = 0; k < s.own.length; k++) {
        const size = sizes[k] ?? 0;
        if (r < size) {
          block = s.own[k] as Block;
          break;
        }
        r -= size;
      }
      const candidate = (block.start + r) >>> 0;
      if (!usableHost(candidate) || used.has(candidate)) continue;
      if (s.holes.some((h) => ((candidate & prefixMask(h.len)) >>> 0) === h.start)) continue;
      ip = candidate;
    }
    if (ip === undefined) throw new IotcleanError('E_LAB', `could not place a device in ISP ${ispId}`);
    used.add(ip);
    const { profile } = weightedPick(rng, mixProfiles, (m) => m.weight, mixTotal);
    const canBeWeak = profile.weakCredentials.length > 0 && profile.behaviour !== 'honeypot';
    // Always draw, so one profile's pool size never shifts the choices made for later devices.
    const roll = rng.next();
    const weak = canBeWeak && roll < weakShare;
    const credentials = weak ? [rng.pick(profile.weakCredentials)] : [uniqueCredential(rng, profile, passwords)];
    draft.push({ ip, ispId, profile, weak, credentials });
  }
  draft.sort((a, b) => a.ip - b.ip);
  const width = String(count).length;
  const devices: LabDevice[] = draft.map((d, i) => ({
    id: `dev-${String(i + 1).padStart(width, '0')}`,
    ip: formatIpv4(d.ip),
    ispId: d.ispId,
    profile: d.profile,
    weak: d.weak,
    credentials: d.credentials,
  }));
  return { seed, network: formatBlock(net), weakShare, isps, ispRows, devices };
}

