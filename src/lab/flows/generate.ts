/**
 * Lab flow records with ground truth: an ISP's subscribers (127.16.0.0/12) talking to the outside
 * (127.64.0.0/10), with IoT bots beaconing to C&C servers that move every few days, DDoS bursts and
 * scanning from the bots, and ordinary traffic chosen to be hard: periodic NTP, game sessions, push
 * keepalives and an IoT vendor cloud (periodic, uncommon ports, many IoT clients, some of them the
 * same weak devices the bots are), CDNs, DNS, updates, P2P and a long tail of web sites.
 *
 * Deterministic by seed: the few entities (botnets, their C&C schedule, bots) are drawn in JS with a
 * seeded PRNG; the bulk rows are made in DuckDB SQL from hash(seed, row, stream), so 10 M flows take
 * seconds and no row is walked in JS. The truth (which endpoints are C&C, which hosts are bots) is
 * returned and written to its own file; detection only gets the flows, the internal prefixes and the
 * known-bad list (the survey/darknet stand-in, which holds only some of the bots plus weak devices
 * that are not infected).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { formatIpv4 } from '../../core/ip.js';
import { IotcleanError } from '../../core/errors.js';
import { createFlowsTable } from '../../flows/detect/relation.js';

const DAY = 86_400_000;
const HOUR = 3_600_000;
/** Subscribers: 127.16.0.0/12. */
export const LAB_INTERNAL = '127.16.0.0/12';
const INT_BASE = 0x7f100000;
const EXT_C2 = 0x7f640000; // 127.100.0.0/14
const EXT_VICTIM = 0x7f6e0000; // 127.110.0.0/16

export interface LabFlowsOptions {
  readonly seed: number;
  readonly days: number;
  /** Total flows wanted (the background fills what beacons, DDoS and scans leave). */
  readonly flows: number;
  readonly hosts: number;
  /** Epoch ms of the first flow (default 2026-11-02T00:00Z). */
  readonly startMs?: number;
  /** Botnets, each with its own C&C schedule (default 8). */
  readonly families?: number;
  /**
   * Internal addresses the survey/darknet stages marked weak-credential or infected: the first of
   * them (up to half the bots) become known bots, the rest known-bad devices that are not bots.
   */
  readonly knownBad?: readonly number[];
}

export interface TruthC2 {
  readonly ip: string;
  readonly port: number;
  readonly proto: 'tcp';
  readonly family: number;
  /** When the botnet moved to it and away from it (epoch ms; bots follow with their own lag). */
  readonly fromMs: number;
  readonly toMs: number;
  /** First beacon in the generated flows (null when no bot reached it inside the data). */
  firstBeaconMs: number | null;
  beacons: number;
}

export interface LabFlowsTruth {
  readonly kind: 'lab-flows-truth';
  readonly seed: number;
  readonly startMs: number;
  readonly endMs: number;
  readonly flows: number;
  readonly internal: string;
  readonly c2: TruthC2[];
  readonly bots: { readonly ip: string; readonly family: number; readonly known: boolean }[];
  /** Known-bad addresses that are not bots (weak credential, never infected). */
  readonly decoys: string[];
  readonly victims: { readonly ip: string; readonly port: number; readonly fromMs: number; readonly toMs: number }[];
  /** Hard negatives by class: endpoints that are periodic or IoT-heavy but benign. */
  readonly benignPeriodic: Record<string, string[]>;
  readonly byClass: Record<string, number>;
}

/** mulberry32: small, fast, good enough for drawing lab entities. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const C2_PORTS = [23, 6667, 1312, 5555, 38241, 48101, 666, 9999, 443, 7547, 3074, 42516, 81, 1791, 6969];
const GAME_PORTS = [27015, 3074, 3478, 9308, 7777, 30120, 27016, 5062];
const IOT_CLOUD_PORTS = [8883, 1883, 9443, 10554, 8001, 6001];

interface Epoch {
  family: number;
  ip: number;
  port: number;
  fromMs: number;
  toMs: number;
}

/**
 * Generate the lab flows into the DuckDB table `flows` on `conn` (created, replacing one there) and
 * return the truth. Nothing is written to disk (see writeLabFlows).
 */
export async function generateLabFlows(conn: DuckDBConnection, o: LabFlowsOptions): Promise<LabFlowsTruth> {
  if (!Number.isInteger(o.seed) || o.seed < 0) throw new IotcleanError('E_ARGS', `seed ${o.seed} is not a whole number ≥ 0`);
  if (!(o.days > 0 && o.days <= 60)) throw new IotcleanError('E_ARGS', `days ${o.days} is not in 0..60`);
  if (!(o.hosts >= 500 && o.hosts <= 1_000_000)) throw new IotcleanError('E_ARGS', `hosts ${o.hosts} is not in 500..1,000,000`);
  if (!(o.flows >= 10_000 && o.flows <= 200_000_000)) throw new IotcleanError('E_ARGS', `flows ${o.flows} is not in 10,000..200,000,000`);
  const rnd = prng(o.seed * 2654435761 + 12345);
  const startMs = o.startMs ?? Date.UTC(2026, 10, 2);
  const endMs = startMs + Math.round(o.days * DAY);
  const H = o.hosts;
  const scale = Math.max(0.25, H / 20_000);
  const S = o.seed;

  // Botnets and their bots (a host is in at most one botnet).
  const families = o.families ?? 8;
  const taken = new Set<number>();
  const pickHost = () => {
    for (;;) {
      const h = Math.floor(rnd() * H);
      if (!taken.has(h)) {
        taken.add(h);
        return h;
      }
    }
  };
  const known = [...(o.knownBad ?? [])];
  const bots: { h: number; ip: number; family: number; known: boolean; period: number; jitter: number; phase: number; lag: number; bytes: number; packets: number }[] = [];
  const fam: { period: number; jitter: number; bytes: number; packets: number; bots: number }[] = [];
  for (let f = 0; f < families; f++) {
    fam.push({
      period: 240_000 + rnd() * 1_560_000,
      jitter: 0.03 + rnd() * 0.17,
      bytes: 120 + Math.floor(rnd() * 480),
      packets: 2 + Math.floor(rnd() * 5),
      bots: Math.max(5, Math.round((6 + rnd() * 40) * scale)),
    });
  }
  let knownIdx = 0;
  for (let f = 0; f < families; f++) {
    const F = fam[f]!;
    for (let b = 0; b < F.bots; b++) {
      const isKnown = rnd() < 0.5;
      let h: number;
      // A given known-bad address becomes a known bot while the list lasts.
      if (isKnown && knownIdx < known.length && known[knownIdx]! - INT_BASE - 256 >= 0 && known[knownIdx]! - INT_BASE - 256 < H && !taken.has(known[knownIdx]! - INT_BASE - 256)) {
        h = known[knownIdx++]! - INT_BASE - 256;
        taken.add(h);
      } else h = pickHost();
      bots.push({
        h,
        ip: INT_BASE + 256 + h,
        family: f,
        known: isKnown,
        period: Math.round(F.period * (0.9 + rnd() * 0.2)),
        jitter: F.jitter,
        phase: Math.floor(rnd() * F.period),
        lag: Math.floor(rnd() * 4 * HOUR),
        bytes: F.bytes,
        packets: F.packets,
      });
    }
  }
  // Weak devices that are not bots: on the known-bad list all the same (the rest of a given list).
  const decoys: number[] = [];
  const nDecoys = Math.round(bots.length * 1.2);
  while (knownIdx < known.length && decoys.length < nDecoys) {
    const h = known[knownIdx++]! - INT_BASE - 256;
    if (h >= 0 && h < H && !taken.has(h)) {
      taken.add(h);
      decoys.push(h);
    }
  }
  while (decoys.length < nDecoys) decoys.push(pickHost());

  // The C&C schedule: each botnet moves to a new ip:port every 1.5–3.5 days.
  const epochs: Epoch[] = [];
  const usedEp = new Set<string>();
  for (let f = 0; f < families; f++) {
    let t = startMs - Math.floor(rnd() * DAY);
    while (t < endMs) {
      const life = Math.round((1.5 + rnd() * 2) * DAY);
      let ip: number;
      let port: number;
      do {
        ip = EXT_C2 + 1 + Math.floor(rnd() * 0x3fffe);
        port = C2_PORTS[Math.floor(rnd() * C2_PORTS.length)]!;
      } while (usedEp.has(`${ip}:${port}`));
      usedEp.add(`${ip}:${port}`);
      epochs.push({ family: f, ip, port, fromMs: t, toMs: t + life });
      t += life;
    }
  }
  // DDoS: about two a day, from most bots of one botnet, 10–40 minutes.
  const victims: { ip: number; port: number; proto: number; fromMs: number; toMs: number; family: number }[] = [];
  const nAttacks = Math.max(1, Math.round(o.days * 2));
  for (let i = 0; i < nAttacks; i++) {
    const fromMs = startMs + Math.floor(rnd() * (endMs - startMs - HOUR));
    const udp = rnd() < 0.4;
    victims.push({ ip: EXT_VICTIM + 1 + Math.floor(rnd() * 65000), port: udp ? [53, 123, 19, 27015][Math.floor(rnd() * 4)]! : [80, 443, 22, 8080][Math.floor(rnd() * 4)]!, proto: udp ? 17 : 6, fromMs, toMs: fromMs + Math.round((10 + rnd() * 30) * 60_000), family: Math.floor(rnd() * families) });
  }

  await conn.run('DROP TABLE IF EXISTS flows');
  await createFlowsTable(conn, 'flows');
  await conn.run(`CREATE OR REPLACE TEMP MACRO u(a, b, c) AS ((hash(a, b, c, ${S}) % 1000000007)::DOUBLE / 1000000007.0)`);
  await conn.run(`CREATE OR REPLACE TEMP MACRO lognorm(mu, sigma, a, b) AS exp(mu + sigma * sqrt(-2 * ln(greatest(u(a, b, 901), 1e-12))) * cos(2 * pi() * u(a, b, 902)))`);
  await conn.run('CREATE OR REPLACE TEMP TABLE lab_bots (h BIGINT, ip UINTEGER, family INTEGER, period BIGINT, jitter DOUBLE, phase BIGINT, lag BIGINT, bytes INTEGER, packets INTEGER)');
  await insertRows(conn, 'lab_bots', bots.map((b) => [b.h, b.ip, b.family, b.period, b.jitter, b.phase, b.lag, b.bytes, b.packets]));
  await conn.run('CREATE OR REPLACE TEMP TABLE lab_epochs (e INTEGER, family INTEGER, ip UINTEGER, port INTEGER, from_ms BIGINT, to_ms BIGINT)');
  await insertRows(conn, 'lab_epochs', epochs.map((e, i) => [i, e.family, e.ip, e.port, e.fromMs, e.toMs]));
  await conn.run('CREATE OR REPLACE TEMP TABLE lab_victims (v INTEGER, ip UINTEGER, port INTEGER, proto INTEGER, from_ms BIGINT, to_ms BIGINT, family INTEGER)');
  await insertRows(conn, 'lab_victims', victims.map((v, i) => [i, v.ip, v.port, v.proto, v.fromMs, v.toMs, v.family]));
  await conn.run('CREATE OR REPLACE TEMP TABLE lab_iot (h BIGINT)');
  await insertRows(conn, 'lab_iot', [...bots.filter(() => rnd() < 0.8).map((b) => [b.h]), ...decoys.filter(() => rnd() < 0.8).map((h) => [h])]);

  const ins = (cls: string, select: string) => conn.run(`INSERT INTO flows SELECT start_ms, start_ms + dur, src, src_port, dst, dst_port, proto, packets, bytes, tcp_flags, 'lab:${cls}', 1 FROM (${select})`);
  const host = (a: string, stream: number) => `(${INT_BASE + 256} + floor(u(${a}, ${stream}, 1) * ${H}))::UINTEGER`;
  const eph = (a: string, stream: number) => `(32768 + floor(u(${a}, ${stream}, 2) * 28000))::USMALLINT`;
  const span = endMs - startMs;

  // C&C beacons: each bot follows its botnet's epochs with its own lag; 3% of beacons missed.
  await ins(
    'c2',
    `SELECT s AS start_ms, (200 + u(b.h, k, 3) * 800)::BIGINT AS dur, b.ip AS src, ${eph('b.h * 100000 + k', 31)} AS src_port, e.ip AS dst, e.port::USMALLINT AS dst_port, 6::UTINYINT AS proto,
            (b.packets + floor(u(b.h, k, 4) * 2))::UBIGINT AS packets, (b.bytes * (0.92 + u(b.h, k, 5) * 0.16))::UBIGINT AS bytes, 27::UTINYINT AS tcp_flags
     FROM (SELECT b.*, e.e, greatest(e.from_ms + b.lag, ${startMs}) AS f0, least(e.to_ms + b.lag, ${endMs}) AS f1 FROM lab_bots b JOIN lab_epochs e USING (family)) b
     JOIN lab_epochs e USING (e),
     LATERAL (SELECT k, (b.f0 - ((b.f0 - b.phase) % b.period) + k * b.period + ((u(b.h, k, 6) - 0.5) * 2 * b.jitter * b.period))::BIGINT AS s
              FROM range(0, greatest(0, (b.f1 - b.f0) // b.period + 2)) r(k))
     WHERE s >= b.f0 AND s < b.f1 AND u(b.h, s, 7) >= 0.03`,
  );
  // DDoS bursts: 70% of the botnet, a flow every 5–15 s per bot, heavy.
  await ins(
    'ddos',
    `SELECT s AS start_ms, 1000::BIGINT AS dur, b.ip AS src, ${eph('b.h * 7 + k', 41)} AS src_port, v.ip AS dst, v.port::USMALLINT AS dst_port, v.proto::UTINYINT AS proto,
            (200 + floor(u(b.h, k, 42) * 3000))::UBIGINT AS packets, ((200 + floor(u(b.h, k, 42) * 3000)) * (60 + floor(u(b.h, k, 43) * 1300)))::UBIGINT AS bytes,
            CASE WHEN v.proto = 6 THEN 2 ELSE 0 END::UTINYINT AS tcp_flags
     FROM lab_victims v JOIN lab_bots b ON b.family = v.family AND u(b.h, v.v, 44) < 0.7,
     LATERAL (SELECT k, (v.from_ms + k * 10000 + u(b.h, k, 45) * 5000)::BIGINT AS s FROM range(0, (v.to_ms - v.from_ms) // 10000) r(k))
     WHERE s < ${endMs}`,
  );
  const c2Count = await count(conn);
  const budget = Math.max(0, o.flows - c2Count);
  const share = (x: number) => Math.round(budget * x);
  // Scanning: each flow a SYN to a random outside address on 23/2323 (one target, one flow).
  const nScan = share(0.05);
  await ins(
    'scan',
    `SELECT ${startMs} + floor(u(i, 51, 0) * ${span})::BIGINT AS start_ms, 0::BIGINT AS dur, b.ip AS src, ${eph('i', 52)} AS src_port,
            (${0x7f400000} + floor(u(i, 53, 0) * ${0x3fffff}))::UINTEGER AS dst, CASE WHEN u(i, 54, 0) < 0.9 THEN 23 ELSE 2323 END::USMALLINT AS dst_port, 6::UTINYINT AS proto,
            1::UBIGINT AS packets, (40 + floor(u(i, 55, 0) * 20))::UBIGINT AS bytes, 2::UTINYINT AS tcp_flags
     FROM range(${nScan}) r(i) JOIN (SELECT row_number() OVER (ORDER BY h) - 1 AS j, ip, h FROM lab_bots) b ON b.j = floor(u(i, 56, 0) * ${bots.length})`,
  );
  // Web long tail: many sites, few clients each (skewed), 443/80.
  const sites = Math.round(50_000 * scale);
  await ins(
    'web',
    `SELECT ${startMs} + floor(u(i, 61, 0) * ${span})::BIGINT AS start_ms, (100 + u(i, 62, 0) * 20000)::BIGINT AS dur, ${host('i', 63)} AS src, ${eph('i', 64)} AS src_port,
            (${0x7f460000} + floor(pow(u(i, 65, 0), 2.5) * ${sites}))::UINTEGER AS dst, CASE WHEN u(i, 66, 0) < 0.8 THEN 443 ELSE 80 END::USMALLINT AS dst_port, 6::UTINYINT AS proto,
            (3 + floor(lognorm(9, 1.5, i, 67) / 1200))::UBIGINT AS packets, (200 + lognorm(9, 1.5, i, 67))::UBIGINT AS bytes, 27::UTINYINT AS tcp_flags
     FROM range(${share(0.3)}) r(i)`,
  );
  // CDN and video: 300 addresses, everyone, big flows; some QUIC.
  await ins(
    'cdn',
    `SELECT ${startMs} + floor(u(i, 71, 0) * ${span})::BIGINT AS start_ms, (1000 + u(i, 72, 0) * 600000)::BIGINT AS dur, ${host('i', 73)} AS src, ${eph('i', 74)} AS src_port,
            (${0x7f400100} + floor(u(i, 75, 0) * 300))::UINTEGER AS dst, 443::USMALLINT AS dst_port, CASE WHEN u(i, 76, 0) < 0.3 THEN 17 ELSE 6 END::UTINYINT AS proto,
            (10 + floor(lognorm(13, 1.5, i, 77) / 1300))::UBIGINT AS packets, (1000 + lognorm(13, 1.5, i, 77))::UBIGINT AS bytes, CASE WHEN u(i, 76, 0) < 0.3 THEN 0 ELSE 27 END::UTINYINT AS tcp_flags
     FROM range(${share(0.2)}) r(i)`,
  );
  // DNS: 8 resolvers, UDP 53, one packet each way.
  await ins(
    'dns',
    `SELECT ${startMs} + floor(u(i, 81, 0) * ${span})::BIGINT AS start_ms, 20::BIGINT AS dur, ${host('i', 83)} AS src, ${eph('i', 84)} AS src_port,
            (${0x7f410001} + floor(u(i, 85, 0) * 8))::UINTEGER AS dst, 53::USMALLINT AS dst_port, 17::UTINYINT AS proto,
            1::UBIGINT AS packets, (50 + floor(u(i, 86, 0) * 70))::UBIGINT AS bytes, 0::UTINYINT AS tcp_flags
     FROM range(${share(0.15)}) r(i)`,
  );
  // Periodic benign classes: participants with a fixed period over the whole span.
  const periodic = async (cls: string, stream: number, participants: string, nPart: number, budgetShare: number, jitter: number, dst: string, port: string, proto: number, packets: string, bytes: string) => {
    const per = Math.max(60_000, Math.round((span * Math.max(1, nPart)) / Math.max(1, share(budgetShare))));
    await ins(
      cls,
      `SELECT s AS start_ms, 100::BIGINT AS dur, p.ip AS src, ${eph(`p.h * 1000 + k`, stream)} AS src_port, ${dst} AS dst, ${port} AS dst_port, ${proto}::UTINYINT AS proto,
              ${packets} AS packets, ${bytes} AS bytes, ${proto === 6 ? 27 : 0}::UTINYINT AS tcp_flags
       FROM (${participants}) p, LATERAL (SELECT k, (${startMs} + u(p.h, ${stream}, 9) * ${per} + k * ${per} + (u(p.h, k, ${stream}) - 0.5) * ${2 * jitter * per})::BIGINT AS s FROM range(0, ${Math.ceil(span / per)}) r(k))
       WHERE s >= ${startMs} AND s < ${endMs}`,
    );
  };
  const allHosts = (frac: number, stream: number) => `SELECT i AS h, (${INT_BASE + 256} + i)::UINTEGER AS ip FROM range(${H}) r(i) WHERE u(i, ${stream}, 0) < ${frac}`;
  await periodic('ntp', 91, allHosts(0.5, 92), H * 0.5, 0.03, 0.0, `(${0x7f420001} + floor(u(p.h, 93, 0) * 20))::UINTEGER`, '123::USMALLINT', 17, '1::UBIGINT', '76::UBIGINT');
  await periodic('push', 101, allHosts(0.4, 102), H * 0.4, 0.08, 0.02, `(${0x7f450001} + floor(u(p.h, 103, 0) * 4))::UINTEGER`, `(CASE WHEN u(p.h, 104, 0) < 0.5 THEN 5223 ELSE 5228 END)::USMALLINT`, 6, '(2 + floor(u(p.h, k, 105) * 3))::UBIGINT', '(110 + floor(u(p.h, k, 106) * 90))::UBIGINT');
  const iotCount = Math.round(H * 0.15) + (await scalar(conn, 'SELECT count(*) FROM lab_iot'));
  await periodic(
    'iot-cloud',
    111,
    `SELECT DISTINCT h, (${INT_BASE + 256} + h)::UINTEGER AS ip FROM (SELECT h FROM lab_iot UNION ALL SELECT i AS h FROM range(${H}) r(i) WHERE u(i, 112, 0) < 0.15)`,
    iotCount,
    0.08,
    0.05,
    `(${0x7f440001} + floor(u(p.h, 113, 0) * 6))::UINTEGER`,
    `([${IOT_CLOUD_PORTS.join(',')}])[1 + floor(u(p.h, 113, 0) * 6)::INTEGER]::USMALLINT`,
    6,
    '(3 + floor(u(p.h, k, 115) * 3))::UBIGINT',
    '(240 + floor(u(p.h, k, 116) * 120))::UBIGINT',
  );
  // Daily software updates.
  await periodic('update', 121, allHosts(0.9, 122), H * 0.9, 0.02, 0.01, `(${0x7f430001} + floor(u(p.h, 123, 0) * 10))::UINTEGER`, '443::USMALLINT', 6, '(50 + floor(u(p.h, k, 125) * 500))::UBIGINT', '(60000 + floor(u(p.h, k, 126) * 600000))::UBIGINT');
  // Games: sessions of 30–180 minutes, a flow every 30 s (UDP active timeout), uncommon ports.
  const gameBudget = share(0.07);
  const nSessions = Math.max(1, Math.round(gameBudget / 200));
  await ins(
    'game',
    `SELECT s AS start_ms, 30000::BIGINT AS dur, g.src, g.src_port, g.dst, g.dst_port, 17::UTINYINT AS proto, (40 + floor(u(g.i, k, 131) * 40))::UBIGINT AS packets, (3000 + floor(u(g.i, k, 132) * 4000))::UBIGINT AS bytes, 0::UTINYINT AS tcp_flags
     FROM (SELECT i, (${INT_BASE + 256} + floor(pow(u(i, 133, 0), 1) * ${Math.round(H * 0.08)}) * 12)::UINTEGER AS src, ${eph('i', 134)} AS src_port,
                  (${0x7f430100} + floor(u(i, 135, 0) * 40))::UINTEGER AS dst, ([${GAME_PORTS.join(',')}])[1 + floor(u(i, 135, 0) * 40)::INTEGER % ${GAME_PORTS.length}]::USMALLINT AS dst_port,
                  (${startMs} + floor(u(i, 136, 0) * ${span}))::BIGINT AS t0, (1800000 + u(i, 137, 0) * 9000000)::BIGINT AS len
           FROM range(${nSessions}) r(i)) g,
     LATERAL (SELECT k, g.t0 + k * 30000 + (u(g.i, k, 138) * 400)::BIGINT AS s FROM range(0, g.len // 30000) r(k))
     WHERE s < ${endMs} AND g.src < ${INT_BASE + 256 + H}`,
  );
  // P2P: 3% of hosts, random peers on random high ports; few clients per peer.
  await ins(
    'p2p',
    `SELECT ${startMs} + floor(u(i, 141, 0) * ${span})::BIGINT AS start_ms, (100 + u(i, 142, 0) * 60000)::BIGINT AS dur,
            (${INT_BASE + 256} + floor(u(i, 143, 0) * ${Math.round(H * 0.03)}) * 33)::UINTEGER AS src, ${eph('i', 144)} AS src_port,
            (${0x7f500000} + floor(u(i, 145, 0) * 1048575))::UINTEGER AS dst, (10000 + (hash(floor(u(i, 145, 0) * 1048575)::BIGINT, ${S}) % 50000))::USMALLINT AS dst_port,
            CASE WHEN u(i, 146, 0) < 0.7 THEN 17 ELSE 6 END::UTINYINT AS proto, (1 + floor(lognorm(7, 2, i, 147) / 1000))::UBIGINT AS packets, (60 + lognorm(7, 2, i, 147))::UBIGINT AS bytes,
            CASE WHEN u(i, 146, 0) < 0.7 THEN 0 ELSE 27 END::UTINYINT AS tcp_flags
     FROM range(${share(0.07)}) r(i) WHERE src < ${INT_BASE + 256 + H}`,
  );

  // The truth: first beacon and count per C&C endpoint, as generated.
  const seen = await conn.runAndReadAll(`SELECT dst, dst_port, min(start_ms) AS first, count(*) AS n FROM flows WHERE exporter = 'lab:c2' GROUP BY ALL`);
  const firstOf = new Map<string, { first: number; n: number }>();
  for (const r of seen.getRowObjectsJS()) firstOf.set(`${Number(r['dst'])}:${Number(r['dst_port'])}`, { first: Number(r['first']), n: Number(r['n']) });
  const byClassRows = await conn.runAndReadAll(`SELECT exporter, count(*) AS n FROM flows GROUP BY ALL ORDER BY exporter`);
  const byClass: Record<string, number> = {};
  for (const r of byClassRows.getRowObjectsJS()) byClass[String(r['exporter']).slice(4)] = Number(r['n']);
  // Exporter names say nothing of the class once the truth is taken: one lab exporter for all.
  await conn.run(`UPDATE flows SET exporter = '127.0.0.1:2055/0'`);
  const total = await count(conn);
  const ips = (base: number, n: number) => Array.from({ length: n }, (_, i) => formatIpv4(base + i));
  return {
    kind: 'lab-flows-truth',
    seed: o.seed,
    startMs,
    endMs,
    flows: total,
    internal: LAB_INTERNAL,
    c2: epochs.map((e) => {
      const s = firstOf.get(`${e.ip}:${e.port}`);
      return { ip: formatIpv4(e.ip), port: e.port, proto: 'tcp' as const, family: e.family, fromMs: e.fromMs, toMs: e.toMs, firstBeaconMs: s?.first ?? null, beacons: s?.n ?? 0 };
    }),
    bots: bots.map((b) => ({ ip: formatIpv4(b.ip), family: b.family, known: b.known })),
    decoys: decoys.map((h) => formatIpv4(INT_BASE + 256 + h)),
    victims: victims.map((v) => ({ ip: formatIpv4(v.ip), port: v.port, fromMs: v.fromMs, toMs: v.toMs })),
    benignPeriodic: { ntp: ips(0x7f420001, 20), push: ips(0x7f450001, 4), 'iot-cloud': ips(0x7f440001, 6), update: ips(0x7f430001, 10) },
    byClass,
  };
}

/** The known-bad list detection is given: known bots and the weak devices that are not bots. */
export function knownBadOf(truth: LabFlowsTruth): string[] {
  return [...truth.bots.filter((b) => b.known).map((b) => b.ip), ...truth.decoys].sort();
}

/**
 * Write `flows` as Parquet under DIR/date=YYYY-MM-DD/hour=HH/ (what the collector's store reads),
 * the truth as DIR/truth.json (apart: detection never reads it; move it elsewhere for blind runs),
 * the known-bad list as DIR/known-bad.txt and the address plan as DIR/lab.json.
 */
export async function writeLabFlows(conn: DuckDBConnection, dir: string, truth: LabFlowsTruth, truthFile = join(dir, 'truth.json')): Promise<void> {
  mkdirSync(dir, { recursive: true });
  const q = dir.replace(/'/g, "''");
  await conn.run(
    `COPY (SELECT *, strftime(to_timestamp(start_ms / 1000), '%Y-%m-%d') AS date, strftime(to_timestamp(start_ms / 1000), '%H') AS hour FROM flows ORDER BY start_ms)
     TO '${q}' (FORMAT parquet, PARTITION_BY (date, hour), OVERWRITE_OR_IGNORE true, FILENAME_PATTERN 'lab-{i}')`,
  );
  writeFileSync(truthFile, `${JSON.stringify(truth, null, 1)}\n`);
  writeFileSync(join(dir, 'known-bad.txt'), `# internal addresses with weak-credential or infected findings (the lab's stand-in for the survey and darknet stages)\n${knownBadOf(truth).join('\n')}\n`);
  writeFileSync(join(dir, 'lab.json'), `${JSON.stringify({ internal: [truth.internal], startMs: truth.startMs, endMs: truth.endMs, flows: truth.flows }, null, 1)}\n`);
}

async function count(conn: DuckDBConnection): Promise<number> {
  return scalar(conn, 'SELECT count(*) FROM flows');
}

async function scalar(conn: DuckDBConnection, q: string): Promise<number> {
  const r = await conn.runAndReadAll(q);
  return Number(r.getRows()[0]?.[0] ?? 0);
}

async function insertRows(conn: DuckDBConnection, table: string, rows: readonly (readonly number[])[]): Promise<void> {
  for (let i = 0; i < rows.length; i += 1000) {
    const part = rows.slice(i, i + 1000);
    if (part.length) await conn.run(`INSERT INTO ${table} VALUES ${part.map((r) => `(${r.join(',')})`).join(',')}`);
  }
}
