/**
 * Features of external endpoints (ip:port/proto) over a window, from headers only, in DuckDB SQL over
 * the `flows` relation: who contacts them (known-bad vs clean internal hosts, and the propagated bot
 * share from ./graph.ts), how regularly (inter-arrival regularity per client: coefficient of variation of
 * the gaps, long gaps from a missed beacon left out), how uniform the flows are (size coefficient of variation), the port (uncommon, and
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
  /** Clients with ≥4 contacts, and how many of them contact it periodically (coefficient of variation of gaps < 0.25). */
  readonly repeatClients: number;
  readonly periodicClients: number;
  /** Median over repeat clients of the coefficient of variation of their inter-arrival times (null: no repeat client). */
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
  const eidOf = `(dst::UBIGINT << 17) | (dst_port::UBIGINT << 1) | (proto = 17)::UBIGINT`;
  // Per client and endpoint: one hash aggregate over the window.
  await conn.run(`CREATE OR REPLACE TEMP TABLE pairs AS
    SELECT src, ${eidOf} AS eid, count(*) AS n, min(start_ms) AS first, max(start_ms) AS last,
           sum(bytes) AS b, sum(bytes * bytes) AS b2, sum(packets) AS p
    FROM fw GROUP BY ALL`);
  await conn.run(`CREATE OR REPLACE TEMP TABLE ep AS
    SELECT eid, count(*) AS clients FROM pairs GROUP BY eid HAVING count(*) >= ${minClients}`);
  // Inter-arrival regularity only where it can mean something: repeat clients (≥4 contacts) of
  // endpoints in the graph. Gaps longer than 1.8× the pair's mean (a missed beacon, a pause) are
  // dropped before the coefficient of variation, so one lost flow does not hide a beacon.
  await conn.run(`CREATE OR REPLACE TEMP TABLE gaps AS
    WITH g AS (
      SELECT f.src, ${eidOf.replace(/dst/g, 'f.dst').replace('(proto', '(f.proto')} AS eid,
             f.start_ms - lag(f.start_ms) OVER (PARTITION BY f.src, f.dst, f.dst_port, f.proto ORDER BY f.start_ms) AS ia
      FROM fw f SEMI JOIN (SELECT src, eid FROM pairs p SEMI JOIN ep USING (eid) WHERE p.n >= 4) r
        ON r.src = f.src AND r.eid = ${eidOf.replace(/dst/g, 'f.dst').replace('(proto', '(f.proto')}
    ), m AS (SELECT src, eid, avg(ia) AS mean_ia FROM g WHERE ia IS NOT NULL GROUP BY ALL)
    SELECT g.src, g.eid, avg(g.ia) AS ia_mean, CASE WHEN avg(g.ia) > 0 THEN stddev_pop(g.ia) / avg(g.ia) END AS reg
    FROM g JOIN m USING (src, eid) WHERE g.ia IS NOT NULL AND g.ia <= 1.8 * m.mean_ia GROUP BY g.src, g.eid`);
  await conn.run(`CREATE OR REPLACE TEMP TABLE edges AS
    SELECT p.src, p.eid, coalesce(g.reg < 0.25, false) AS periodic FROM pairs p SEMI JOIN ep USING (eid) LEFT JOIN gaps g USING (src, eid)`);
  await propagate(conn);
  const r = await conn.runAndReadAll(`
    WITH pf AS (
      SELECT p.*, (k.ip IS NOT NULL) AS bad, g.reg, g.ia_mean
      FROM pairs p SEMI JOIN ep USING (eid) LEFT JOIN known_bad k ON k.ip = p.src LEFT JOIN gaps g USING (src, eid)
    ), agg AS (
      SELECT eid, count(*) AS clients, count(*) FILTER (bad) AS bad_clients, sum(n) AS flows,
             count(*) FILTER (n >= 4) AS repeat_clients, count(*) FILTER (reg < 0.25) AS periodic_clients,
             median(reg) AS med_reg, median(ia_mean) AS med_period,
             sum(b) / sum(n) AS bpf, sum(p) / sum(n) AS ppf, sum(b2) / sum(n) AS b2pf,
             min(first) AS first_seen, max(last) AS last_seen, min(first) + (max(last) - min(first)) / 2 AS mid
      FROM pf GROUP BY eid
    ), late AS (
      SELECT pf.eid, count(*) FILTER (pf.first > agg.mid) AS late FROM pf JOIN agg USING (eid) GROUP BY pf.eid
    ), ports AS (
      SELECT eid & 131071 AS pk, count(*) AS servers FROM (SELECT DISTINCT eid FROM pairs) GROUP BY ALL
    ), hours AS (
      SELECT eid, count(*) AS hours FROM (SELECT DISTINCT ${eidOf} AS eid, start_ms // 3600000 AS hour FROM fw SEMI JOIN ep ON ep.eid = ${eidOf}) GROUP BY eid
    )
    SELECT (a.eid >> 17)::BIGINT AS ip, ((a.eid >> 1) & 65535)::INTEGER AS port, CASE WHEN a.eid & 1 = 1 THEN 17 ELSE 6 END AS proto,
           a.clients, a.bad_clients, a.flows, a.repeat_clients, a.periodic_clients, a.med_reg, a.med_period,
           a.bpf, a.ppf, CASE WHEN a.bpf > 0 THEN sqrt(greatest(a.b2pf - a.bpf * a.bpf, 0)) / a.bpf ELSE 0 END AS size_cv,
           a.first_seen, a.last_seen, h.hours, l.late, po.servers, g.s, g.bot_mass
    FROM agg a JOIN late l USING (eid) JOIN hours h USING (eid) JOIN graph_scores g USING (eid)
    JOIN ports po ON po.pk = a.eid & 131071`);
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
