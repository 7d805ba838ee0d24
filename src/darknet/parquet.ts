/**
 * Per-source, per-day darknet rows to Parquet through DuckDB: one folder per UTC day
 * (DIR/day=YYYY-MM-DD/), so months of a busy sensor (millions of source-days) stay queryable with
 * `read_parquet(...)` with hive partitioning and day pruning. Each write adds new
 * files named by a fresh id and never rewrites earlier ones.
 */
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { IotcleanError } from '../core/errors.js';
import type { SourceSummary } from './types.js';

const columns = 'ip VARCHAR, day VARCHAR, class VARCHAR, fingerprint VARCHAR, confidence DOUBLE, packets UBIGINT, destinations UBIGINT, ports VARCHAR, telnet_share DOUBLE, first_seen VARCHAR, last_seen VARCHAR, infected BOOLEAN';

const sqlString = (s: string): string => `'${s.replace(/'/g, "''")}'`;

/** Write the sources under `dir` (made if missing); returns the rows written. */
export async function writeSourcesParquet(dir: string, sources: readonly SourceSummary[]): Promise<number> {
  const out = resolve(dir);
  try {
    mkdirSync(out, { recursive: true });
  } catch (e) {
    throw new IotcleanError('E_ARGS', `cannot create the Parquet folder ${out}: ${(e as Error).message}`, { hint: 'give a folder you can write to' });
  }
  if (!sources.length) return 0;
  const instance = await DuckDBInstance.create(':memory:');
  const db = await instance.connect();
  try {
    await db.run(`create table sources (${columns})`);
    const a = await db.createAppender('sources');
    for (const s of sources) {
      a.appendVarchar(s.ip);
      a.appendVarchar(s.day);
      a.appendVarchar(s.class);
      a.appendVarchar(s.fingerprint);
      a.appendDouble(s.confidence);
      a.appendUBigInt(BigInt(s.packets));
      a.appendUBigInt(BigInt(s.destinations));
      a.appendVarchar(s.ports.join(' '));
      a.appendDouble(s.telnetShare);
      a.appendVarchar(s.firstSeen);
      a.appendVarchar(s.lastSeen);
      a.appendBoolean(s.infected);
      a.endRow();
    }
    a.closeSync();
    await db.run(`copy sources to ${sqlString(out)} (format parquet, partition_by (day), append, filename_pattern ${sqlString("sources-{uuid}")})`);
    return sources.length;
  } finally {
    db.closeSync();
    instance.closeSync();
  }
}
