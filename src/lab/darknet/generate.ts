/**
 * The lab's darknet capture generator: what a sensor on an unused /16 would record in a day, made
 * deterministically from a seed. Mirai-style bots inside the lab ISPs' prefixes (sequence number =
 * destination, telnet 23 : 2323 ≈ 9 : 1), research scanners (masscan, ZMap before and after 4.1,
 * other stacks), backscatter from victims of spoofed floods, and noise (misconfigured one-offs,
 * later fragments, IPv6). The truth goes to a separate JSON file; detection never reads it.
 *
 * Research scanners send most of the packets (60–64 % in NICTER's figures), so they do here.
 */
import { writeFileSync } from 'node:fs';
import { IotcleanError } from '../../core/errors.js';
import { formatIpv4, parseIpv4, prefixMask } from '../../core/ip.js';
import { createRng, type Rng } from '../../core/rng.js';
import { newFrameSpec, tcpFlag, writeFrame, type FrameSpec } from '../../darknet/pcap/build.js';
import { linkTypes } from '../../darknet/pcap/packet.js';
import { CaptureWriter, type CaptureFormat } from '../../darknet/pcap/writer.js';

/** What each generated source really is. */
export type DarknetRole = 'mirai' | 'masscan' | 'zmap' | 'zmap-new' | 'scanner' | 'backscatter' | 'noise';

export interface TruthSource {
  readonly ip: string;
  readonly role: DarknetRole;
  readonly packets: number;
  /** The ISP whose prefix holds the source (bots only). */
  readonly isp?: string;
}

export interface DarknetTruth {
  readonly kind: 'darknet-truth';
  readonly seed: string;
  readonly packets: number;
  readonly darknet: string;
  readonly start: string;
  readonly sources: readonly TruthSource[];
}

export interface LabIspPrefix {
  readonly id: string;
  /** An IPv4 CIDR block inside 127.0.0.0/8. */
  readonly prefix: string;
}

export interface GenerateOptions {
  readonly out: string;
  readonly truth: string;
  readonly seed?: string | number;
  /** Total packets (at least 1000). */
  readonly packets?: number;
  readonly format?: CaptureFormat;
  /** The darknet /16 the sensor watches. */
  readonly darknet?: string;
  /** Where bots live (the lab's ISPs). */
  readonly isps?: readonly LabIspPrefix[];
  /** Addresses that must be bots, e.g. lab devices with weak credentials; placed first. */
  readonly botIps?: readonly string[];
  /** Capture start (UTC) and length in hours. */
  readonly start?: string;
  readonly hours?: number;
}

export const defaultLabIsps: readonly LabIspPrefix[] = [
  { id: 'isp-a', prefix: '127.77.0.0/18' },
  { id: 'isp-b', prefix: '127.77.64.0/18' },
  { id: 'isp-c', prefix: '127.77.128.0/17' },
];

function block(text: string): { base: number; size: number } {
  const [ip, len] = text.split('/');
  const base = parseIpv4(ip ?? '');
  const n = Number(len);
  if (base === undefined || !Number.isInteger(n) || n < 8 || n > 30 || base >>> 24 !== 127) {
    throw new IotcleanError('E_ARGS', `"${text}" is not a loopback IPv4 CIDR block from /8 to /30`, { hint: 'e.g. 127.200.0.0/16; the lab stays inside 127.0.0.0/8' });
  }
  return { base: (base & prefixMask(n)) >>> 0, size: 2 ** (32 - n) };
}

/** Linux 6.x SYN options: MSS 1460, SACK permitted, timestamps, NOP, window scale 7. */
const LINUX_OPTIONS = Uint8Array.from([2, 4, 5, 0xb4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7]);
/** ZMap ≥ 4.1 default ("windows") layout: MSS 1460, NOP, window scale 8, NOP, NOP, SACK permitted. */
const ZMAP_WINDOWS_OPTIONS = Uint8Array.from([2, 4, 5, 0xb4, 1, 3, 3, 8, 1, 1, 4, 2]);
const NONE = new Uint8Array(0);
const SCANNED_PORTS = [22, 80, 443, 8080, 3389, 445, 5555, 7547, 8443, 81, 21, 25, 53, 3306, 6379, 9200];

interface Source {
  readonly ip: number;
  readonly role: DarknetRole;
  readonly isp?: string;
  packets: number;
  /** Per-source constants drawn once. */
  readonly ttl: number;
  readonly sport: number;
  readonly ports: readonly number[];
  /** For noise: the one destination a misconfigured host keeps hitting. */
  readonly fixedDst: number;
}

/** Generate the capture and its truth; returns the truth. */
export function generateDarknetCapture(o: GenerateOptions): DarknetTruth {
  const seed = String(o.seed ?? 'iotclean');
  const total = Math.max(1000, Math.floor(o.packets ?? 200_000));
  const rng = createRng(`darknet:${seed}`);
  const dark = block(o.darknet ?? '127.200.0.0/16');
  const isps = (o.isps ?? defaultLabIsps).map((i) => ({ id: i.id, ...block(i.prefix) }));
  const startMs = Date.parse(o.start ?? '2026-01-15T00:00:00Z');
  if (!Number.isFinite(startMs)) throw new IotcleanError('E_ARGS', `start "${o.start}" is not a date`, { hint: 'an ISO time such as 2026-01-15T00:00:00Z' });
  const hours = o.hours ?? 20;

  const used = new Set<number>();
  const inDark = (ip: number) => ip >= dark.base && ip < dark.base + dark.size;
  const fresh = (base: number, size: number): number => {
    // Bounded: a block too small for the sources asked of it is an error, not an endless loop.
    for (let tries = 0; tries < 64 + size * 4; tries++) {
      const ip = (base + rng.int(size)) >>> 0;
      if (!used.has(ip) && !inDark(ip) && (ip & 255) !== 0 && (ip & 255) !== 255) {
        used.add(ip);
        return ip;
      }
    }
    throw new IotcleanError('E_ARGS', `no free source address left in ${formatIpv4(base)} (${size} addresses) for ${total} packets`, { hint: 'give larger ISP prefixes, or fewer --packets' });
  };
  const sources: Source[] = [];
  const add = (role: DarknetRole, ip: number, packets: number, isp?: string) => {
    const nPorts = role === 'masscan' ? 1 + rng.int(8) : role === 'scanner' ? 1 + rng.int(4) : 1;
    const ports = Array.from({ length: nPorts }, () => rng.pick(SCANNED_PORTS));
    const ttl = role === 'mirai' || role === 'scanner' ? 30 + rng.int(34) : role === 'backscatter' ? 40 + rng.int(80) : 230 + rng.int(25);
    sources.push({ ip, role, ...(isp ? { isp } : {}), packets, ttl, sport: 32768 + rng.int(28000), ports, fixedDst: (dark.base + rng.int(dark.size)) >>> 0 });
  };
  // Packet budget per role (shares of the total), then sources per role.
  const budget = (share: number) => Math.floor(total * share);
  const research = block('127.250.0.0/16');
  const elsewhere = block('127.240.0.0/12');
  const split = (role: DarknetRole, share: number, count: number, place: () => { ip: number; isp?: string }, min: number) => {
    const packets = budget(share);
    const n = Math.max(1, Math.min(count, Math.floor(packets / min)));
    // Heavy-tailed sizes: weights 1/u, floored at `min` packets per source.
    const weights = Array.from({ length: n }, () => 1 / (0.05 + rng.next()));
    const sum = weights.reduce((a, b) => a + b, 0);
    for (const w of weights) {
      const p = place();
      add(role, p.ip, Math.max(min, Math.floor(((packets - n * min) * w) / sum) + min), p.isp);
    }
  };
  const botPlace = (() => {
    const forced = (o.botIps ?? []).map((t) => {
      const ip = parseIpv4(t);
      if (ip === undefined || ip >>> 24 !== 127) throw new IotcleanError('E_ARGS', `bot address "${t}" is not a loopback IPv4 address`, { hint: 'lab bots live in 127.0.0.0/8' });
      used.add(ip);
      return ip;
    });
    return () => {
      const f = forced.shift();
      if (f !== undefined) {
        // The longest prefix holding the address, as attribution reads the ISP table (a reseller's block sits inside its parent's).
        const holder = isps.filter((i) => f >= i.base && f < i.base + i.size).sort((a, b) => a.size - b.size)[0];
        return { ip: f, isp: holder?.id ?? 'unknown' };
      }
      const isp = rng.pick(isps);
      return { ip: fresh(isp.base, isp.size), isp: isp.id };
    };
  })();
  split('mirai', 0.2, Math.max(20, Math.round(total / 1500)), botPlace, 6);
  split('masscan', 0.26, Math.max(3, Math.round(total / 40_000)), () => ({ ip: fresh(research.base, research.size) }), 20);
  split('zmap', 0.16, Math.max(3, Math.round(total / 60_000)), () => ({ ip: fresh(research.base, research.size) }), 20);
  split('zmap-new', 0.1, Math.max(3, Math.round(total / 80_000)), () => ({ ip: fresh(research.base, research.size) }), 20);
  split('scanner', 0.1, Math.max(5, Math.round(total / 20_000)), () => ({ ip: fresh(elsewhere.base, elsewhere.size) }), 10);
  split('backscatter', 0.1, Math.max(10, Math.round(total / 4000)), () => ({ ip: fresh(elsewhere.base, elsewhere.size) }), 2);
  split('noise', 0.08, Math.max(20, Math.round(total / 100)), () => ({ ip: fresh(elsewhere.base, elsewhere.size) }), 1);

  // One entry per packet naming its source, shuffled so sources interleave in time.
  const planned = sources.reduce((s, x) => s + x.packets, 0);
  const order = new Uint32Array(planned);
  let k = 0;
  sources.forEach((s, i) => order.fill(i, k, (k += s.packets)));
  for (let i = planned - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const t = order[i]!;
    order[i] = order[j]!;
    order[j] = t;
  }

  const format = o.format ?? 'pcap';
  const w = new CaptureWriter(o.out, { format, interfaces: [{ linkType: linkTypes.ethernet, tsresol: 6 }] });
  const spec = newFrameSpec();
  const frame = new Uint8Array(256);
  const stepNs = (hours * 3600e9) / planned;
  const startSec = Math.floor(startMs / 1000);
  try {
    for (let i = 0; i < planned; i++) {
      const src = sources[order[i]!]!;
      fill(spec, src, rng, dark.base, dark.size);
      const ns = i * stepNs;
      const sec = startSec + Math.floor(ns / 1e9);
      w.packet(frame, writeFrame(frame, spec), sec, Math.floor(ns % 1e9));
    }
  } finally {
    w.close();
  }
  const truth: DarknetTruth = {
    kind: 'darknet-truth',
    seed,
    packets: planned,
    darknet: o.darknet ?? '127.200.0.0/16',
    start: new Date(startMs).toISOString(),
    sources: sources.map((s) => ({ ip: formatIpv4(s.ip), role: s.role, packets: s.packets, ...(s.isp ? { isp: s.isp } : {}) })),
  };
  writeFileSync(o.truth, `${JSON.stringify(truth, null, 1)}\n`);
  return truth;
}

/** Fill the reused frame spec with one packet of `s`. */
function fill(f: FrameSpec, s: Source, rng: Rng, darkBase: number, darkSize: number): void {
  const r32 = () => (rng.int(65536) * 65536 + rng.int(65536)) >>> 0;
  f.framing = 'ethernet';
  f.ipVersion = 4;
  f.src = s.ip;
  f.dst = (darkBase + rng.int(darkSize)) >>> 0;
  f.ttl = s.ttl;
  f.ipId = rng.int(65536);
  f.fragOffset = 0;
  f.moreFragments = false;
  f.proto = 6;
  f.tcpFlags = tcpFlag.syn;
  f.ack = 0;
  f.tcpOptions = NONE;
  f.payload = 0;
  f.sport = 1024 + rng.int(64000);
  switch (s.role) {
    case 'mirai':
      f.seq = f.dst;
      f.dport = rng.int(10) === 0 ? 2323 : 23;
      f.window = rng.int(65536);
      return;
    case 'masscan':
      // One fixed source port, a cookie sequence number and the IP ID derived from it.
      f.sport = s.sport;
      f.dport = rng.pick(s.ports);
      f.seq = r32();
      f.ipId = (f.dst ^ f.dport ^ f.seq) & 0xffff;
      f.window = 1024;
      return;
    case 'zmap':
    case 'zmap-new':
      f.dport = s.ports[0]!;
      f.seq = r32();
      f.window = 65535;
      if (s.role === 'zmap') f.ipId = 54321;
      else f.tcpOptions = ZMAP_WINDOWS_OPTIONS;
      return;
    case 'scanner': {
      // An ordinary stack: SYN, ICMP echo sweep or UDP probes, random IDs.
      const kind = s.ip % 3;
      if (kind === 0 || kind === 1) {
        f.dport = rng.pick(s.ports);
        f.seq = r32();
        f.window = 64240;
        f.tcpOptions = LINUX_OPTIONS;
      } else if (rng.int(2) === 0) {
        f.proto = 1;
        f.icmpType = 8;
        f.icmpCode = 0;
      } else {
        f.proto = 17;
        f.dport = rng.pick([53, 123, 161, 1900, 5060]);
        f.payload = 16;
      }
      return;
    }
    case 'backscatter': {
      const kind = rng.int(4);
      if (kind < 2) {
        // A flooded server answering spoofed SYNs: SYN-ACK or RST-ACK from its service port.
        f.sport = s.ports[0]!;
        f.dport = 1024 + rng.int(64000);
        f.tcpFlags = kind === 0 ? tcpFlag.syn | tcpFlag.ack : tcpFlag.rst | tcpFlag.ack;
        f.seq = r32();
        f.ack = r32();
        f.window = kind === 0 ? 29200 : 0;
      } else {
        f.proto = 1;
        f.icmpType = kind === 2 ? 3 : 11;
        f.icmpCode = kind === 2 ? rng.pick([1, 3, 13]) : 0;
        f.payload = 28;
      }
      return;
    }
    case 'noise': {
      f.dst = s.fixedDst;
      const kind = s.ip % 4;
      if (kind === 0) {
        f.proto = 17;
        f.dport = 514;
        f.payload = 40;
      } else if (kind === 1) {
        f.tcpFlags = tcpFlag.ack | tcpFlag.psh;
        f.dport = 443;
        f.seq = r32();
        f.ack = r32();
        f.window = 501;
        f.payload = 20;
      } else if (kind === 2) {
        f.fragOffset = 8 * (1 + rng.int(100));
        f.payload = 64;
      } else {
        f.proto = 1;
        f.icmpType = 13;
      }
      return;
    }
  }
}
