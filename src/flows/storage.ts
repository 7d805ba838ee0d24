/**
 * Flow storage: Parquet files partitioned by the UTC hour a flow started in,
 *   DIR/date=YYYY-MM-DD/hour=HH/part-<time>-<pid>-<tag>-<n>.parquet,
 * written through DuckDB (typed-array columns copied into an in-memory staging table, then COPY …
 * (FORMAT parquet); row-group min/max of start_ms prune time ranges inside a part, the directory
 * names prune whole hours), and read back through a DuckDB view `flows` with exactly the columns of
 * `flowColumns`. Parts are not sorted: sorting doubled the write time, and exporters deliver
 * flows nearly in time order anyway.
 *
 * A part is written under a dot-name and renamed when complete, so readers never see half a file.
 * Memory is bounded by `flushRows` (records held before a part is written). The sink can run its
 * DuckDB work in a worker thread (`worker: true`), so a collector's event loop never stalls while
 * a part is written and the socket keeps draining.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, renameSync, existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Worker } from 'node:worker_threads';
import { DOUBLE, DuckDBDataChunk, DuckDBInstance, UINTEGER, USMALLINT, UTINYINT, type DuckDBAppender, type DuckDBConnection } from '@duckdb/node-api';
import duckdb from '@duckdb/node-bindings';
import { IotcleanError } from '../core/errors.js';
import { flowColumns, type FlowRecord, type FlowSink } from './types.js';

/** Records in columns: cheap to build, transferable to a worker without copying. */
export interface FlowBatch {
  readonly length: number;
  readonly startMs: Float64Array;
  readonly endMs: Float64Array;
  readonly src: Uint32Array;
  readonly srcPort: Uint16Array;
  readonly dst: Uint32Array;
  readonly dstPort: Uint16Array;
  readonly proto: Uint8Array;
  readonly packets: Float64Array;
  readonly bytes: Float64Array;
  readonly tcpFlags: Uint8Array;
  /** Index into `exporters` per record. */
  readonly exporter: Uint32Array;
  readonly exporters: readonly string[];
  readonly sampling: Uint32Array;
}

/** Turn records into a batch (exporter strings deduplicated). */
export function toBatch(records: readonly FlowRecord[]): FlowBatch {
  const n = records.length;
  const b = {
    length: n, startMs: new Float64Array(n), endMs: new Float64Array(n), src: new Uint32Array(n), srcPort: new Uint16Array(n),
    dst: new Uint32Array(n), dstPort: new Uint16Array(n), proto: new Uint8Array(n), packets: new Float64Array(n), bytes: new Float64Array(n),
    tcpFlags: new Uint8Array(n), exporter: new Uint32Array(n), exporters: [] as string[], sampling: new Uint32Array(n),
  };
  const index = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const r = records[i]!;
    b.startMs[i] = r.startMs;
    b.endMs[i] = r.endMs;
    b.src[i] = r.src;
    b.srcPort[i] = r.srcPort;
    b.dst[i] = r.dst;
    b.dstPort[i] = r.dstPort;
    b.proto[i] = r.proto;
    b.packets[i] = r.packets;
    b.bytes[i] = r.bytes;
    b.tcpFlags[i] = r.tcpFlags;
    b.sampling[i] = r.sampling;
    let e = index.get(r.exporter);
    if (e === undefined) {
      e = b.exporters.length;
      b.exporters.push(r.exporter);
      index.set(r.exporter, e);
    }
    b.exporter[i] = e;
  }
  return b;
}

const HOUR_MS = 3_600_000;

/** "date=YYYY-MM-DD/hour=HH" of the UTC hour containing ms. */
export function partitionOf(ms: number): string {
  const iso = new Date(Math.floor(ms / HOUR_MS) * HOUR_MS).toISOString();
  return `date=${iso.slice(0, 10)}/hour=${iso.slice(11, 13)}`;
}

const columnsSql = flowColumns.map(([name, type]) => `${name} ${type}`).join(', ');
const columnNames = flowColumns.map(([name]) => name).join(', ');
const sqlString = (s: string) => `'${s.replace(/'/g, "''")}'`;

/** Writes batches as Parquet parts; every DuckDB call of the sink happens here (main thread or worker). */
export class ParquetPartWriter {
  private seq = 0;
  /** Distinguishes two writers of one process (two sinks on one store). */
  private readonly tag = randomBytes(3).toString('hex');
  private files = 0;
  private rows = 0;
  private constructor(
    private readonly dir: string,
    private readonly instance: DuckDBInstance,
    private readonly conn: DuckDBConnection,
  ) {}

  static async open(dir: string): Promise<ParquetPartWriter> {
    const abs = resolve(dir);
    try {
      mkdirSync(abs, { recursive: true });
    } catch (e) {
      throw new IotcleanError('E_FLOW_STORE', `cannot create the flow directory ${abs}: ${(e as Error).message}`);
    }
    const instance = await DuckDBInstance.create(':memory:', { threads: '2' });
    const conn = await instance.connect();
    return new ParquetPartWriter(abs, instance, conn);
  }

  /** Write one part per hour present in the batch; returns the paths written. */
  async write(b: FlowBatch): Promise<string[]> {
    if (b.length === 0) return [];
    // Group rows by partition without sorting the whole batch in JavaScript.
    const byPart = new Map<string, number[]>();
    let lastHour = NaN;
    let lastList: number[] = [];
    for (let i = 0; i < b.length; i++) {
      const h = Math.floor(b.startMs[i]! / HOUR_MS);
      if (h !== lastHour) {
        const key = partitionOf(b.startMs[i]!);
        let list = byPart.get(key);
        if (!list) byPart.set(key, (list = []));
        lastHour = h;
        lastList = list;
      }
      lastList.push(i);
    }
    const written: string[] = [];
    const exporters = `[${b.exporters.map(sqlString).join(', ')}]`;
    for (const [part, rows] of byPart) {
      await this.conn.run(`CREATE OR REPLACE TEMP TABLE staging (${stagingSql})`);
      const a = await this.conn.createAppender('staging');
      try {
        appendColumns(a, b, rows);
      } finally {
        a.closeSync();
      }
      const partDir = join(this.dir, part);
      mkdirSync(partDir, { recursive: true });
      const name = `part-${Date.now()}-${process.pid}-${this.tag}-${++this.seq}.parquet`;
      const tmp = join(partDir, `.${name}.tmp`);
      await this.conn.run(`COPY (SELECT ${copySelect(exporters)} FROM staging) TO ${sqlString(tmp)} (FORMAT parquet, COMPRESSION snappy)`);
      renameSync(tmp, join(partDir, name));
      written.push(join(partDir, name));
      this.files++;
      this.rows += rows.length;
    }
    await this.conn.run('DROP TABLE IF EXISTS staging');
    return written;
  }

  get written(): { files: number; rows: number } {
    return { files: this.files, rows: this.rows };
  }

  close(): void {
    this.conn.closeSync();
    this.instance.closeSync();
  }
}

/**
 * The staging table holds the batch's own column types (doubles for times and counts, an index for
 * the exporter), so whole typed arrays are copied into DuckDB vectors with one call per column and
 * chunk; the COPY converts them to the `flows` types. Per-value appender calls ran at ~350k rows/s,
 * this at several million.
 */
const staging = [
  ['start_ms', 'DOUBLE', DOUBLE], ['end_ms', 'DOUBLE', DOUBLE], ['src', 'UINTEGER', UINTEGER], ['src_port', 'USMALLINT', USMALLINT],
  ['dst', 'UINTEGER', UINTEGER], ['dst_port', 'USMALLINT', USMALLINT], ['proto', 'UTINYINT', UTINYINT], ['packets', 'DOUBLE', DOUBLE],
  ['bytes', 'DOUBLE', DOUBLE], ['tcp_flags', 'UTINYINT', UTINYINT], ['exporter_ix', 'UINTEGER', UINTEGER], ['sampling', 'UINTEGER', UINTEGER],
] as const;
const stagingSql = staging.map(([n, t]) => `${n} ${t}`).join(', ');
const stagingTypes = staging.map(([, , t]) => t);

function copySelect(exporters: string): string {
  return flowColumns
    .map(([name, type]) => (name === 'exporter' ? `${exporters}[exporter_ix + 1] AS exporter` : `CAST(${type === 'BIGINT' || type === 'UBIGINT' ? `round(${name})` : name} AS ${type}) AS ${name}`))
    .join(', ');
}

type Column = Float64Array | Uint32Array | Uint16Array | Uint8Array;

function appendColumns(a: DuckDBAppender, b: FlowBatch, rows: readonly number[]): void {
  const source: readonly Column[] = [b.startMs, b.endMs, b.src, b.srcPort, b.dst, b.dstPort, b.proto, b.packets, b.bytes, b.tcpFlags, b.exporter, b.sampling];
  const size = duckdb.vector_size();
  // Gather the rows of this partition into contiguous scratch columns, a chunk at a time.
  const scratch = source.map((c) => new (c.constructor as new (n: number) => Column)(size));
  const chunk = DuckDBDataChunk.create(stagingTypes);
  for (let off = 0; off < rows.length; off += size) {
    const n = Math.min(size, rows.length - off);
    chunk.reset();
    for (let c = 0; c < source.length; c++) {
      const from = source[c]!;
      const to = scratch[c]!;
      for (let j = 0; j < n; j++) to[j] = from[rows[off + j]!]!;
      const vector = duckdb.data_chunk_get_vector(chunk.chunk, c);
      duckdb.copy_data_to_vector(vector, 0, to.buffer as ArrayBuffer, 0, n * to.BYTES_PER_ELEMENT);
    }
    duckdb.data_chunk_set_size(chunk.chunk, n);
    a.appendDataChunk(chunk);
  }
}

export interface FlowSinkOptions {
  /** Records held in memory before a part is written (default 1,000,000; about 100 bytes each). */
  readonly flushRows?: number;
  /** Longest time a record waits in memory before it is written, ms (default 60 s; 0 = only by size and on flush). */
  readonly flushIntervalMs?: number;
  /** Write parts in a worker thread so the caller's event loop never stalls on DuckDB (default false). */
  readonly worker?: boolean;
}

/** What the sink wrote so far. */
export interface SinkCounts {
  readonly rows: number;
  readonly files: number;
  readonly pending: number;
}

/** A FlowSink writing hour-partitioned Parquet under dir. */
export interface ParquetFlowSink extends FlowSink {
  /** Append flows already in columns (no record objects; the batch's arrays become the sink's). */
  appendBatch(b: FlowBatch): Promise<void>;
  counts(): SinkCounts;
}

interface PartBackend {
  write(b: FlowBatch): Promise<{ files: number; rows: number }>;
  close(): Promise<void>;
}

async function localBackend(dir: string): Promise<PartBackend> {
  const w = await ParquetPartWriter.open(dir);
  return {
    async write(b) {
      const files = await w.write(b);
      return { files: files.length, rows: b.length };
    },
    async close() {
      w.close();
    },
  };
}

/** The worker's protocol: one message per batch, answered in order. */
type WorkerReply = { id: number; ok: true; files: number; rows: number } | { id: number; ok: false; error: string };

async function workerBackend(dir: string): Promise<PartBackend> {
  // Under tsx (tests, development) the worker is the .ts source; built, it is the .js beside this file.
  const worker = import.meta.url.endsWith('.ts')
    ? new Worker(`import('tsx/esm/api').then((t) => t.register()).then(() => import(${JSON.stringify(new URL('./storage-worker.ts', import.meta.url).href)}))`, { eval: true, workerData: { dir } })
    : new Worker(new URL('./storage-worker.js', import.meta.url), { workerData: { dir } });
  const waiting = new Map<number, { resolve: (v: { files: number; rows: number }) => void; reject: (e: Error) => void }>();
  let id = 0;
  let dead: Error | undefined;
  const failAll = (e: Error) => {
    dead = e;
    for (const w of waiting.values()) w.reject(e);
    waiting.clear();
  };
  worker.on('message', (m: WorkerReply | { ready: true; ok: false; error: string } | { ready: true; ok: true }) => {
    if ('ready' in m) return;
    const w = waiting.get(m.id);
    waiting.delete(m.id);
    if (!w) return;
    if (m.ok) w.resolve({ files: m.files, rows: m.rows });
    else w.reject(new IotcleanError('E_FLOW_STORE', m.error));
  });
  worker.on('error', (e) => failAll(e));
  worker.on('exit', (code) => failAll(new IotcleanError('E_FLOW_STORE', `the flow storage worker exited (code ${code})`)));
  await new Promise<void>((resolveReady, reject) => {
    const onMsg = (m: { ready?: boolean; ok?: boolean; error?: string }) => {
      if (!m.ready) return;
      worker.off('message', onMsg);
      if (m.ok) resolveReady();
      else reject(new IotcleanError('E_FLOW_STORE', m.error ?? 'storage worker failed'));
    };
    worker.on('message', onMsg);
    worker.once('error', reject);
  });
  return {
    write(b) {
      if (dead) return Promise.reject(dead);
      const my = ++id;
      return new Promise((res, rej) => {
        waiting.set(my, { resolve: res, reject: rej });
        const transfer = [b.startMs, b.endMs, b.src, b.srcPort, b.dst, b.dstPort, b.proto, b.packets, b.bytes, b.tcpFlags, b.exporter, b.sampling].map((a) => a.buffer as ArrayBuffer);
        worker.postMessage({ id: my, batch: b }, transfer);
      });
    },
    async close() {
      if (!dead) {
        const my = ++id;
        await new Promise<void>((res, rej) => {
          waiting.set(my, { resolve: () => res(), reject: rej });
          worker.postMessage({ id: my, close: true });
        }).catch(() => undefined);
      }
      await worker.terminate();
    },
  };
}

/** Open a sink appending to the hour-partitioned Parquet store under dir. */
export async function openFlowSink(dir: string, options: FlowSinkOptions = {}): Promise<ParquetFlowSink> {
  const flushRows = options.flushRows ?? 1_000_000;
  const intervalMs = options.flushIntervalMs ?? 60_000;
  const backend = options.worker ? await workerBackend(dir) : await localBackend(dir);
  let buffer: FlowRecord[] = [];
  let rows = 0;
  let files = 0;
  let inFlight = 0;
  let closed = false;
  // Parts are written one after another: order is kept and at most one batch is in flight besides the buffer.
  let chain: Promise<void> = Promise.resolve();
  let failure: unknown;
  const writeOut = (): Promise<void> => {
    if (buffer.length === 0) return chain;
    const batch = toBatch(buffer);
    buffer = [];
    return enqueue(batch);
  };
  const enqueue = (batch: FlowBatch): Promise<void> => {
    inFlight += batch.length;
    chain = chain.then(async () => {
      try {
        const r = await backend.write(batch);
        rows += r.rows;
        files += r.files;
      } catch (e) {
        failure ??= e;
      } finally {
        inFlight -= batch.length;
      }
    });
    return chain;
  };
  const timer = intervalMs > 0 ? setInterval(() => void writeOut(), intervalMs) : undefined;
  timer?.unref();
  const check = () => {
    if (failure) throw failure;
    if (closed) throw new IotcleanError('E_FLOW_STORE', 'the flow sink is closed');
  };
  return {
    async append(flows) {
      check();
      for (const f of flows) buffer.push(f);
      if (buffer.length >= flushRows) {
        const done = writeOut();
        // Back-pressure: never more than one part in flight beyond the buffer, so memory stays bounded.
        if (inFlight > flushRows) await done;
      }
    },
    async appendBatch(b) {
      check();
      if (b.length === 0) return;
      // Records appended before stay ahead of this batch.
      writeOut();
      const done = enqueue(b);
      if (inFlight > flushRows) await done;
    },
    async flush() {
      check();
      await writeOut();
      if (failure) throw failure;
    },
    async close() {
      if (closed) return;
      if (timer) clearInterval(timer);
      try {
        await writeOut();
      } finally {
        closed = true;
        await backend.close();
      }
      if (failure) throw failure;
    },
    counts: () => ({ rows, files, pending: buffer.length + inFlight }),
  };
}

/** Parquet files of one partition directory (dot-files are parts still being written). */
function partFiles(dir: string): string[] {
  try {
    return readdirSync(dir).filter((f) => f.endsWith('.parquet') && !f.startsWith('.'));
  } catch {
    return [];
  }
}

/** Partition directories under dir whose hour overlaps [fromMs, toMs). */
export function partitionsIn(dir: string, range: { fromMs?: number; toMs?: number } = {}): string[] {
  const abs = resolve(dir);
  const out: string[] = [];
  let dates: string[] = [];
  try {
    dates = readdirSync(abs).filter((d) => /^date=\d{4}-\d{2}-\d{2}$/.test(d)).sort();
  } catch {
    return [];
  }
  for (const d of dates) {
    const day = Date.parse(`${d.slice(5)}T00:00:00Z`);
    if (range.toMs !== undefined && day >= range.toMs) continue;
    if (range.fromMs !== undefined && day + 24 * HOUR_MS <= range.fromMs) continue;
    for (const h of readdirSync(join(abs, d)).filter((x) => /^hour=\d{2}$/.test(x)).sort()) {
      const start = day + Number(h.slice(5)) * HOUR_MS;
      if (range.toMs !== undefined && start >= range.toMs) continue;
      if (range.fromMs !== undefined && start + HOUR_MS <= range.fromMs) continue;
      const p = join(abs, d, h);
      if (partFiles(p).length) out.push(p);
    }
  }
  return out;
}

export interface FlowsView {
  readonly instance: DuckDBInstance;
  readonly connection: DuckDBConnection;
  /** Partition directories the view reads (empty: the view is empty). */
  readonly partitions: readonly string[];
  close(): void;
}

/** The SQL of the `flows` view over dir (optionally only the partitions overlapping a range). */
export function flowsViewSql(dir: string, range: { fromMs?: number; toMs?: number } = {}): { sql: string; partitions: string[] } {
  const abs = resolve(dir);
  const bounded = range.fromMs !== undefined || range.toMs !== undefined;
  const partitions = partitionsIn(abs, range);
  if (partitions.length === 0) {
    const empty = flowColumns.map(([name, type]) => `CAST(NULL AS ${type}) AS ${name}`).join(', ');
    return { sql: `CREATE OR REPLACE VIEW flows AS SELECT ${empty} WHERE false`, partitions };
  }
  // Unbounded: one glob, expanded at each query, so parts written later are seen too.
  const source = bounded ? `[${partitions.map((p) => sqlString(join(p, '*.parquet'))).join(', ')}]` : sqlString(join(abs, 'date=*', 'hour=*', '*.parquet'));
  const where: string[] = [];
  if (range.fromMs !== undefined) where.push(`start_ms >= ${Math.floor(range.fromMs)}`);
  if (range.toMs !== undefined) where.push(`start_ms < ${Math.floor(range.toMs)}`);
  return {
    sql: `CREATE OR REPLACE VIEW flows AS SELECT ${columnNames} FROM read_parquet(${source}, hive_partitioning = true)${where.length ? ` WHERE ${where.join(' AND ')}` : ''}`,
    partitions,
  };
}

/**
 * A DuckDB connection with the view `flows` (the columns of flowColumns) over the Parquet store
 * under dir; with a range, only the partitions overlapping it are opened (and rows outside it hidden).
 */
export async function openFlows(dir: string, range: { fromMs?: number; toMs?: number } = {}, options: { threads?: number } = {}): Promise<FlowsView> {
  if (!existsSync(dir)) throw new IotcleanError('E_FLOW_STORE', `no flow store at ${dir}`, { hint: 'write one with iotclean flows collect --out DIR or iotclean flows import FILE --out DIR' });
  const instance = await DuckDBInstance.create(':memory:', options.threads ? { threads: String(options.threads) } : {});
  const connection = await instance.connect();
  const { sql, partitions } = flowsViewSql(dir, range);
  await connection.run(sql);
  return {
    instance,
    connection,
    partitions,
    close() {
      connection.closeSync();
      instance.closeSync();
    },
  };
}

/** A typed view of a vector's memory (DuckDB aligns vectors; copy when it ever does not). */
function vectorView<T extends Float64Array | Uint32Array | Uint16Array | Uint8Array>(make: { new (b: ArrayBufferLike, o: number, n: number): T; new (n: number): T; BYTES_PER_ELEMENT: number }, chunk: DuckDBDataChunk, col: number, n: number): T {
  const raw = duckdb.vector_get_data(duckdb.data_chunk_get_vector(chunk.chunk, col), n * make.BYTES_PER_ELEMENT);
  if (raw.byteOffset % make.BYTES_PER_ELEMENT === 0) return new make(raw.buffer, raw.byteOffset, n);
  const copy = new make(n);
  new Uint8Array(copy.buffer).set(raw);
  return copy;
}

/**
 * Stream the stored flows in [fromMs, toMs) (for small uses: tests, exports; detection should
 * query the `flows` view instead). Columns are read straight from DuckDB's vectors.
 */
export async function* readFlows(dir: string, range: { fromMs?: number; toMs?: number } = {}): AsyncIterable<FlowRecord> {
  const view = await openFlows(dir, range);
  try {
    // Our parts never hold NULLs (the writer has none to write), so validity masks are not read.
    // Exporter strings come as an index into their distinct list: materialising a VARCHAR per row
    // cost 5× the rest of the read.
    const exporters = (await view.connection.runAndReadAll('SELECT DISTINCT exporter FROM flows ORDER BY 1')).getRows().map((r) => String(r[0]));
    await view.connection.run('CREATE TEMP TABLE read_exporters (exporter VARCHAR, ix UINTEGER)');
    if (exporters.length) await view.connection.run(`INSERT INTO read_exporters VALUES ${exporters.map((e, i) => `(${sqlString(e)}, ${i})`).join(', ')}`);
    const result = await view.connection.stream(
      'SELECT start_ms::DOUBLE, end_ms::DOUBLE, src, src_port, dst, dst_port, proto, packets::DOUBLE, bytes::DOUBLE, tcp_flags, ix, sampling FROM flows JOIN read_exporters USING (exporter)',
    );
    for (;;) {
      const chunk = await result.fetchChunk();
      if (!chunk || chunk.rowCount === 0) break;
      const n = chunk.rowCount;
      const st = vectorView(Float64Array, chunk, 0, n);
      const en = vectorView(Float64Array, chunk, 1, n);
      const src = vectorView(Uint32Array, chunk, 2, n);
      const sp = vectorView(Uint16Array, chunk, 3, n);
      const dst = vectorView(Uint32Array, chunk, 4, n);
      const dp = vectorView(Uint16Array, chunk, 5, n);
      const pr = vectorView(Uint8Array, chunk, 6, n);
      const pk = vectorView(Float64Array, chunk, 7, n);
      const by = vectorView(Float64Array, chunk, 8, n);
      const fl = vectorView(Uint8Array, chunk, 9, n);
      const ex = vectorView(Uint32Array, chunk, 10, n);
      const sa = vectorView(Uint32Array, chunk, 11, n);
      for (let i = 0; i < n; i++) {
        yield { startMs: st[i]!, endMs: en[i]!, src: src[i]!, srcPort: sp[i]!, dst: dst[i]!, dstPort: dp[i]!, proto: pr[i]!, packets: pk[i]!, bytes: by[i]!, tcpFlags: fl[i]!, exporter: exporters[ex[i]!]!, sampling: sa[i]! };
      }
    }
  } finally {
    view.close();
  }
}
