/**
 * The `flows` relation detection reads (columns of flowColumns): a table a generator or test fills,
 * or a view over a folder of Parquet files (DIR/date=…/hour=…/*.parquet). The collector's own
 * `openFlows` replaces openFlowsDir once both are merged; this one is kept small on purpose.
 */
import { existsSync, statSync } from 'node:fs';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { IotcleanError } from '../../core/errors.js';
import { flowColumns } from '../types.js';

const columnList = flowColumns.map(([n, t]) => `${n} ${t}`).join(', ');

/** Create an empty table with the `flows` columns. */
export async function createFlowsTable(conn: DuckDBConnection, name = 'flows'): Promise<void> {
  await conn.run(`CREATE TABLE ${name} (${columnList})`);
}

/** Define the view `flows` over every Parquet file under `dir` (hive partitions ignored: start_ms is in the rows). */
export async function openFlowsDir(conn: DuckDBConnection, dir: string): Promise<void> {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new IotcleanError('E_ARGS', `flow folder ${dir} does not exist`, { hint: 'give the folder `iotclean flows generate --out DIR` or the collector wrote' });
  }
  const glob = `${dir.replace(/\/+$/, '').replace(/'/g, "''")}/**/*.parquet`;
  try {
    await conn.run(`CREATE OR REPLACE VIEW flows AS SELECT ${flowColumns.map(([n, t]) => `CAST(${n} AS ${t}) AS ${n}`).join(', ')} FROM read_parquet('${glob}', hive_partitioning = false, union_by_name = true)`);
  } catch (e) {
    throw new IotcleanError('E_ARGS', `no readable flow Parquet files under ${dir}: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`, { hint: 'the folder should hold date=YYYY-MM-DD/hour=HH/*.parquet' });
  }
}

/** An in-memory DuckDB and a connection; close with closeDuck. */
export async function openDuck(path = ':memory:', options: { readOnly?: boolean } = {}): Promise<{ instance: DuckDBInstance; conn: DuckDBConnection }> {
  // Read-only for detection over a collector's database: its writer keeps its lock.
  const instance = await DuckDBInstance.create(path, options.readOnly ? { access_mode: 'READ_ONLY' } : {});
  const conn = await instance.connect();
  return { instance, conn };
}

export function closeDuck(d: { instance: DuckDBInstance; conn: DuckDBConnection }): void {
  d.conn.closeSync();
  d.instance.closeSync();
}
