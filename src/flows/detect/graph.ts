/**
 * Propagation from known bots over the bipartite graph internal host ↔ external ip:port, in DuckDB
 * SQL (the edge table can hold millions of pairs). A label-spreading scheme, simple enough to explain:
 *
 *   s(e) = (Σ_{h ∈ N(e)} b(h) + α·π) / (deg(e) + α)      the endpoint's smoothed share of bot clients
 *   b(h) = 1 for a known-bad host, else γ · max_{e ∈ P(h)} s(e)   an unknown host is as suspect as the
 *                                                               most bot-heavy endpoint it beacons to
 *
 * P(h) are the endpoints h contacts periodically (the edge's `periodic` flag): suspicion spreads to
 * hosts only along beacon-like edges, so visiting a small web site a known bot also visited does not
 * make a host a bot (with many flows per host that alone would lift every host).
 *
 * π is the share of known-bad hosts among all active hosts (the prior), α the prior's weight. After a
 * few rounds, bots nobody knew of (found through the C&C they share with known bots) lift the C&C the
 * botnet moves to next, even when few of its known bots have followed yet.
 */
import type { DuckDBConnection } from '@duckdb/node-api';

export interface PropagationOptions {
  readonly rounds?: number;
  readonly alpha?: number;
  readonly gamma?: number;
}

/**
 * Reads the temp tables `edges(src, eid, periodic)` and `known_bad(ip)`; writes `graph_scores(eid, s, bot_mass)`
 * and `host_scores(src, b)`. Returns π.
 */
export async function propagate(conn: DuckDBConnection, o: PropagationOptions = {}): Promise<number> {
  const rounds = o.rounds ?? 3;
  const alpha = o.alpha ?? 2;
  const gamma = o.gamma ?? 0.8;
  await conn.run(`CREATE OR REPLACE TEMP TABLE host_scores AS
    SELECT h.src, (k.ip IS NOT NULL) AS known, CASE WHEN k.ip IS NOT NULL THEN 1.0 ELSE 0.0 END AS b
    FROM (SELECT DISTINCT src FROM edges) h LEFT JOIN known_bad k ON k.ip = h.src`);
  const piRow = await conn.runAndReadAll(`SELECT coalesce(avg(b), 0) FROM host_scores`);
  const pi = Number(piRow.getRows()[0]?.[0] ?? 0);
  await conn.run(`CREATE OR REPLACE TEMP TABLE edeg AS SELECT eid, count(*) AS deg FROM edges GROUP BY eid`);
  for (let r = 0; r < rounds; r++) {
    await conn.run(`CREATE OR REPLACE TEMP TABLE graph_scores AS
      SELECT e.eid, (sum(h.b) + ${alpha} * ${pi}) / (count(*) + ${alpha}) AS s, sum(h.b) AS bot_mass
      FROM edges e JOIN host_scores h USING (src) GROUP BY e.eid`);
    if (r === rounds - 1) break;
    await conn.run(`CREATE OR REPLACE TEMP TABLE host_scores AS
      SELECT h.src, h.known, CASE WHEN h.known THEN 1.0 ELSE ${gamma} * coalesce(m.s, 0) END AS b
      FROM host_scores h LEFT JOIN (
        SELECT e.src, max(g.s) AS s FROM edges e JOIN graph_scores g USING (eid) JOIN edeg d USING (eid) WHERE d.deg >= 2 AND e.periodic GROUP BY e.src
      ) m USING (src)`);
  }
  return pi;
}
