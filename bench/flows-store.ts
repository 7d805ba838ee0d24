/**
 * Benchmark: the flow store at scale. DuckDB writes --rows synthetic flows (default 100 M) spread
 * over --hours hour partitions in the store's layout, then the `flows` view answers a one-hour
 * window through openFlows(dir, range) (partition pruning) and through the unbounded view with a
 * WHERE on start_ms (row-group statistics only), and a whole-store aggregate. Only files are written.
 *
 * Run: npm run build && node dist/bench/flows-store.js [--rows 100000000] [--hours 168] [--keep]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DuckDBInstance } from '@duckdb/node-api';
import { openFlows } from '../src/flows/storage.js';

const { values } = parseArgs({ options: { rows: { type: 'string', default: '100000000' }, hours: { type: 'string', default: '168' }, keep: { type: 'boolean', default: false } } });
const rows = Number(values.rows);
const hours = Number(values.hours);
if (!Number.isInteger(rows) || rows < 1e5 || rows > 1e9) throw new Error('--rows must be an integer in 100000..1000000000');
if (!Number.isInteger(hours) || hours < 2 || hours > 24 * 366) throw new Error('--hours must be an integer in 2..8784');
const dir = mkdtempSync(join(tmpdir(), 'iotclean-bench-flowstore-'));
const T0 = Date.UTC(2026, 0, 1);
const H = 3_600_000;
const fmt = (n: number) => Math.round(n).toLocaleString('en');

async function time<T>(f: () => Promise<T>): Promise<[T, number]> {
  const t0 = performance.now();
  const r = await f();
  return [r, (performance.now() - t0) / 1000];
}

try {
  const db = await DuckDBInstance.create(':memory:');
  const c = await db.connect();
  const [, genS] = await time(() =>
    c.run(`COPY (
      SELECT (${T0} + (i * ${hours * H}) // ${rows})::BIGINT AS start_ms, (${T0} + (i * ${hours * H}) // ${rows} + 1500)::BIGINT AS end_ms,
        (2131361792 + (i * 7919) % 65536)::UINTEGER AS src, (1024 + i % 60000)::USMALLINT AS src_port,
        (2132017152 + (i * 104729) % 4096)::UINTEGER AS dst, ([23, 80, 443, 2323, 6667, 53, 123])[1 + i % 7]::USMALLINT AS dst_port,
        (CASE WHEN i % 4 = 0 THEN 17 ELSE 6 END)::UTINYINT AS proto, (1 + i % 9)::UBIGINT AS packets, (60 + i % 1400)::UBIGINT AS bytes,
        27::UTINYINT AS tcp_flags, '127.0.0.1:2055/0' AS exporter, 1::UINTEGER AS sampling,
        strftime(make_timestamp((${T0} + (i * ${hours * H}) // ${rows}) * 1000), '%Y-%m-%d') AS date,
        strftime(make_timestamp((${T0} + (i * ${hours * H}) // ${rows}) * 1000), '%H') AS hour
      FROM range(${rows}) t(i)
    ) TO '${dir}' (FORMAT parquet, COMPRESSION snappy, PARTITION_BY (date, hour))`),
  );
  c.closeSync();
  db.closeSync();
  console.log(`wrote ${fmt(rows)} flows in ${hours} hour partitions in ${genS.toFixed(1)} s`);

  const mid = T0 + Math.floor(hours / 2) * H;
  const windowSql = 'SELECT dst, dst_port, count(*), count(DISTINCT src), sum(bytes) FROM flows GROUP BY ALL';
  const pruned = await openFlows(dir, { fromMs: mid, toMs: mid + H });
  const [, prunedS] = await time(() => pruned.connection.runAndReadAll(windowSql));
  const [inWindow] = (await pruned.connection.runAndReadAll('SELECT count(*)::BIGINT FROM flows')).getRows()[0]! as [bigint];
  pruned.close();
  const all = await openFlows(dir);
  const [, statsS] = await time(() => all.connection.runAndReadAll(`SELECT dst, dst_port, count(*), count(DISTINCT src), sum(bytes) FROM flows WHERE start_ms >= ${mid} AND start_ms < ${mid + H} GROUP BY ALL`));
  const [, countS] = await time(() => all.connection.runAndReadAll('SELECT count(*) FROM flows'));
  const [, aggS] = await time(() => all.connection.runAndReadAll('SELECT dst_port, proto, count(*), sum(packets), sum(bytes) FROM flows GROUP BY ALL'));
  all.close();
  console.log(`one-hour window (${fmt(Number(inWindow))} flows), group by dst:port with distinct sources:`);
  console.log(`  openFlows(dir, {fromMs, toMs}) (only that hour's directory): ${prunedS.toFixed(2)} s`);
  console.log(`  unbounded view + WHERE start_ms (row-group statistics):      ${statsS.toFixed(2)} s`);
  console.log(`whole store: count(*) ${countS.toFixed(2)} s; group by port, proto with sums ${aggS.toFixed(2)} s (${fmt(rows / aggS)} flows/s)`);
} finally {
  if (values.keep) console.log(`kept ${dir}`);
  else rmSync(dir, { recursive: true, force: true });
}
