/**
 * Features of external endpoints (ip:port/proto) over a window, from headers only, in DuckDB SQL over
 * the `flows` relation: who contacts them (known-bad vs clean internal hosts, and the propagated bot
 * share from ./graph.ts), how regularly (inter-arrival regularity per client: MAD/median, robust to a
 * missed beacon), how uniform the flows are (size coefficient of variation), the port (uncommon, and
 * how many servers use it), fan-in growth and when the endpoint was first seen.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { formatIpv4, type Ipv4Range } from '../../core/ip.js';
import { propagate } from './graph.js';

/** Ports a great many ordinary servers use; a C&C on one of them gets no "uncommon port" point. */
export const COMMON_PORTS: ReadonlySet<number> = new Set([20, 21, 22, 25, 53, 80, 110, 123, 143, 443, 465, 587, 853, 993, 995, 3478, 5223, 5228, 8080, 8443]);

/** One endpoint's measured features (raw values; the model's inputs are derived in featureVector). */
export interface EndpointFeatures {
  readonly ip: number;
  readonly port: number;
  readonly proto: number;
  readonly clients: number;
  readonly badClients: number;
  readonly flows: number;
  /** Clients with ≥4 contacts, and how many of them contact it periodically (MAD/median of gaps < 0.25). */
  readonly repeatClients: number;
  readonly periodicClients: number;
  /** Median over repeat clients of MAD/median of their inter-arrival times (null: no repeat client). */
  readonly medianRegularity: number | null;
  readonly medianPeriodS: number | null;
  readonly bytesPerFlow: number;
  readonly packetsPerFlow: number;
  readonly sizeCv: number;
  readonly firstSeenMs: number;
  readonly lastSeenMs: number;
  /** Hours of the window with at least one contact. */
  readonly activeHours: number;
  /** Clients first seen in the second half of the endpoint's life in the window. */
  readonly lateClients: number;
  /** Servers (distinct external addresses) seen on the same port/proto in the window. */
  readonly portServers: number;
  /** Propagated bot share (graph) and the summed botness of the clients. */
  readonly graphShare: number;
  readonly botMass: number;
}

export interface FeatureWindow {
  readonly fromMs: number;
  readonly toMs: number;
}

function rangePredicate(col: string, ranges: readonly Ipv4Range[]): string {
  if (!ranges.length) return 'false';
  return `(${ranges.map((r) => `${col} BETWEEN ${r.start} AND ${r.end}`).join(' OR ')})`;
}

/** The window's time bounds present in `flows` (for "the whole data" windows). */
export async function flowsExtent(conn: DuckDBConnection): Promise<{ fromMs: number; toMs: number; rows: number } | undefined> {
  const r = await conn.runAndReadAll('SELECT min(start_ms), max(start_ms), count(*) FROM flows');
  const row = r.getRows()[0];
  if (!row || row[0] === null) return undefined;
  return { fromMs: Number(row[0]), toMs: Number(row[1]) + 1, rows: Number(row[2]) };
}

/** Load the known-bad addresses as the temp table known_bad(ip). */
export async function loadKnownBad(conn: DuckDBConnection, ips: readonly number[]): Promise<void> {
  await conn.run('CREATE OR REPLACE TEMP TABLE known_bad (ip UINTEGER PRIMARY KEY)');
  const uniq = [...new Set(ips)];
  for (let i = 0; i < uniq.length; i += 2000) await conn.run(`INSERT INTO known_bad VALUES ${uniq.slice(i, i + 2000).map((n) => `(${n})`).join(',')}`);
}

/**
 * Compute the features of every endpoint that at least `minClients` internal hosts contacted in the
 * window. Needs known_bad loaded. Internal→external flows only; replies of internal servers (a
 * well-known source port to a high port) are left out so the server side is the endpoint.
 */
export async function endpointFeatures(conn: DuckDBConnection, window: FeatureWindow, internal: readonly Ipv4Range[], options: { minClients?: number } = {}): Promise<EndpointFeatures[]> {
  const minClients = options.minClients ?? 2;
  const inside = rangePredicate('src', internal);
  const outside = rangePredicate('dst', internal);
  await conn.run(`CREATE OR REPLACE TEMP TABLE fw AS
    SELECT src, dst, dst_port, proto, start_ms, packets::DOUBLE AS packets, bytes::DOUBLE AS bytes FROM flows
    WHERE start_ms >= ${Math.floor(window.fromMs)} AND start_ms < ${Math.ceil(window.toMs)} AND proto IN (6, 17)
      AND ${inside} AND NOT ${outside} AND NOT (src_port < 1024 AND dst_port >= 1024)`);
  await conn.run(`CREATE OR REPLACE TEMP TABLE pairs AS
    SELECT src, (dst::UBIGINT << 17) | (dst_port::UBIGINT << 1) | (proto = 17)::UBIGINT AS eid, count(*) AS n, min(start_ms) AS first, max(start_ms) AS last,
           sum(bytes) AS b, sum(bytes * bytes) AS b2, sum(packets) AS p,
           median(ia) AS ia_med, mad(ia) AS ia_mad
    FROM (SELECT *, start_ms - lag(start_ms) OVER (PARTITION BY src, dst, dst_port, proto ORDER BY start_ms) AS ia FROM fw)
    GROUP BY src, dst, dst_port, proto`);
  await conn.run(`CREATE OR REPLACE TEMP TABLE ep AS
    SELECT eid, count(*) AS clients FROM pairs GROUP BY eid HAVING count(*) >= ${minClients}`);
  await conn.run(`CREATE OR REPLACE TEMP TABLE edges AS SELECT p.src, p.eid FROM pairs p SEMI JOIN ep USING (eid)`);
  await propagate(conn);
  const hoursSql = `SELECT (dst::UBIGINT << 17) | (dst_port::UBIGINT << 1) | (proto = 17)::UBIGINT AS eid, count(DISTINCT start_ms // 3600000) AS hours FROM fw GROUP BY ALL`;
  const r = await conn.runAndReadAll(`
    WITH pf AS (
      SELECT p.*, (k.ip IS NOT NULL) AS bad, CASE WHEN p.n >= 4 AND p.ia_med > 0 THEN p.ia_mad / p.ia_med END AS reg
      FROM pairs p SEMI JOIN ep USING (eid) LEFT JOIN known_bad k ON k.ip = p.src
    ), agg AS (
      SELECT eid, count(*) AS clients, count(*) FILTER (bad) AS bad_clients, sum(n) AS flows,
             count(*) FILTER (n >= 4) AS repeat_clients, count(*) FILTER (reg < 0.25) AS periodic_clients,
             median(reg) AS med_reg, median(ia_med) FILTER (n >= 4) AS med_period,
             sum(b) / sum(n) AS bpf, sum(p) / sum(n) AS ppf, sum(b2) / sum(n) AS b2pf,
             min(first) AS first_seen, max(last) AS last_seen, min(first) + (max(last) - min(first)) / 2 AS mid
      FROM pf GROUP BY eid
    ), late AS (
      SELECT pf.eid, count(*) FILTER (pf.first > agg.mid) AS late FROM pf JOIN agg USING (eid) GROUP BY pf.eid
    ), ports AS (
      SELECT dst_port, proto, count(DISTINCT dst) AS servers FROM fw GROUP BY ALL
    ), hours AS (${hoursSql.replace('FROM fw', 'FROM fw SEMI JOIN ep ON ep.eid = (dst::UBIGINT << 17) | (dst_port::UBIGINT << 1) | (proto = 17)::UBIGINT')})
    SELECT (a.eid >> 17)::BIGINT AS ip, ((a.eid >> 1) & 65535)::INTEGER AS port, CASE WHEN a.eid & 1 = 1 THEN 17 ELSE 6 END AS proto,
           a.clients, a.bad_clients, a.flows, a.repeat_clients, a.periodic_clients, a.med_reg, a.med_period,
           a.bpf, a.ppf, CASE WHEN a.bpf > 0 THEN sqrt(greatest(a.b2pf - a.bpf * a.bpf, 0)) / a.bpf ELSE 0 END AS size_cv,
           a.first_seen, a.last_seen, h.hours, l.late, po.servers, g.s, g.bot_mass
    FROM agg a JOIN late l USING (eid) JOIN hours h USING (eid) JOIN graph_scores g USING (eid)
    JOIN ports po ON po.dst_port = ((a.eid >> 1) & 65535) AND po.proto = CASE WHEN a.eid & 1 = 1 THEN 17 ELSE 6 END`);
  const out: EndpointFeatures[] = [];
  for (const row of r.getRows()) {
    const n = (i: number) => Number(row[i] ?? 0);
    const nn = (i: number) => (row[i] === null || row[i] === undefined ? null : Number(row[i]));
    out.push({
      ip: n(0),
      port: n(1),
      proto: n(2),
      clients: n(3),
      badClients: n(4),
      flows: n(5),
      repeatClients: n(6),
      periodicClients: n(7),
      medianRegularity: nn(8),
      medianPeriodS: nn(9) === null ? null : nn(9)! / 1000,
      bytesPerFlow: n(10),
      packetsPerFlow: n(11),
      sizeCv: n(12),
      firstSeenMs: n(13),
      lastSeenMs: n(14),
      activeHours: n(15),
      lateClients: n(16),
      portServers: n(17),
      graphShare: n(18),
      botMass: n(19),
    });
  }
  return out;
}

/** Names of the model inputs, in order (the model JSON lists them too, and they must agree). */
export const featureNames = [
  'graph_share',
  'known_bad_share',
  'log_known_bad_clients',
  'log_clients',
  'periodic_share',
  'regularity',
  'repeat_share',
  'log_flows_per_client',
  'log_bytes_per_flow',
  'log_packets_per_flow',
  'size_cv',
  'uncommon_port',
  'log_port_servers',
  'active_hours_share',
  'seen_span_share',
  'late_client_share',
] as const;

/** The model inputs of one endpoint (raw, before the model's standardisation). */
export function featureVector(f: EndpointFeatures, window: FeatureWindow): number[] {
  const hours = Math.max(1, (window.toMs - window.fromMs) / 3_600_000);
  const life = Math.max(1, f.lastSeenMs - f.firstSeenMs);
  return [
    f.graphShare,
    f.badClients / f.clients,
    Math.log1p(f.badClients),
    Math.log1p(f.clients),
    f.repeatClients ? f.periodicClients / f.repeatClients : 0,
    Math.min(2, f.medianRegularity ?? 2),
    f.repeatClients / f.clients,
    Math.log1p(f.flows / f.clients),
    Math.log1p(f.bytesPerFlow),
    Math.log1p(f.packetsPerFlow),
    Math.min(5, f.sizeCv),
    COMMON_PORTS.has(f.port) ? 0 : 1,
    Math.log1p(f.portServers),
    Math.min(1, f.activeHours / hours),
    Math.min(1, life / (window.toMs - window.fromMs)),
    f.lateClients / f.clients,
  ];
}

/** The endpoint as "ip:port/proto". */
export function endpointKey(ip: number | string, port: number, proto: number | string): string {
  const p = proto === 17 || proto === 'udp' ? 'udp' : 'tcp';
  return `${typeof ip === 'number' ? formatIpv4(ip) : ip}:${port}/${p}`;
}
