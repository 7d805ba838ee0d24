/**
 * The darknet stage: captures in, per-source-per-day summaries out. Files are read one after
 * another into one analyser, so several captures of the same sensor make one picture.
 *
 * Large files are analysed by two threads: each reads every file but keeps the counters of only
 * half of the sources (by hash, see shardOf), and the halves are merged into exactly the order one
 * analyser gives. Every packet still moves each shard's days on, so days open and close as in one
 * analyser; a shard's sources are a disjoint part of the whole, so their summaries are the same.
 * The one case where halves differ from the whole is a full day table (eviction, dropped packets):
 * then the files are read again by one analyser.
 */
import { availableParallelism } from 'node:os';
import { stat } from 'node:fs/promises';
import { Worker } from 'node:worker_threads';
import { DarknetAnalyser, type AnalysisLimits, type SourceSummary } from './classify.js';
import type { SkipReason } from './pcap/container.js';
import { readCapture, type CaptureInput, type CaptureStats } from './pcap/reader.js';

export interface AnalyseResult {
  readonly sources: readonly SourceSummary[];
  readonly files: readonly (CaptureStats & { readonly file: string })[];
  /** Records, packets and skips over all files. */
  readonly records: number;
  readonly packets: number;
  readonly skipped: Readonly<Partial<Record<SkipReason, number>>>;
  readonly skippedRecords: number;
  readonly limits: AnalysisLimits;
}

export interface AnalyseOptions {
  readonly maxSources?: number;
  /** Progress: bytes read so far over all inputs, and their total size when known. */
  readonly onProgress?: (bytes: number, totalBytes: number | undefined) => void;
  /**
   * Threads to share the sources over (1 or 2). Default: 2 for files of PARALLEL_BYTES or more on
   * a machine with two cores or more, else 1. Streams are always read by one thread.
   */
  readonly threads?: number;
}

/** Below this much input a second thread costs more to start than it saves. */
export const PARALLEL_BYTES = 32 << 20;
const DEFAULT_MAX_SOURCES = 1_000_000;

/** One shard's read of every input: its closed days (each busiest first) and the files' stats. */
export interface ShardResult {
  readonly days: SourceSummary[][];
  readonly files: (CaptureStats & { file: string })[];
  readonly limits: AnalysisLimits;
}

/** Read every input into one analyser that keeps shard `index` of `count`. */
export async function analyseShard(
  inputs: readonly CaptureInput[],
  maxSources: number,
  shard: { index: number; count: number },
  onProgress?: (bytes: number) => void,
): Promise<ShardResult> {
  const days: SourceSummary[][] = [];
  const analyser = new DarknetAnalyser({ maxSources, shard, onDay: (sources) => void days.push(sources) });
  const files: (CaptureStats & { file: string })[] = [];
  let before = 0;
  const add = analyser.add.bind(analyser);
  for (const input of inputs) {
    const s = await readCapture(input, add, onProgress ? { onProgress: (b) => onProgress(before + b) } : {});
    before += s.bytes;
    files.push({ file: typeof input === 'string' ? input : input.name, ...s });
  }
  const { limits } = analyser.finish();
  return { days, files, limits };
}

/** Read every capture and classify its sources. Throws IotcleanError for a non-capture input. */
export async function analyseCaptures(inputs: readonly CaptureInput[], options: AnalyseOptions = {}): Promise<AnalyseResult> {
  const maxSources = options.maxSources ?? DEFAULT_MAX_SOURCES;
  let total: number | undefined = 0;
  for (const i of inputs) {
    if (typeof i !== 'string') total = undefined;
    else if (total !== undefined) total += await stat(i).then((s) => s.size, () => 0);
  }
  const progress = options.onProgress ? (b: number) => options.onProgress?.(b, total) : undefined;
  const paths = inputs.filter((i): i is string => typeof i === 'string');
  const threads = paths.length < inputs.length ? 1 : options.threads ?? (total !== undefined && total >= PARALLEL_BYTES && availableParallelism() >= 2 ? 2 : 1);
  let sources: SourceSummary[] | undefined;
  let shard: ShardResult | undefined;
  if (threads >= 2) {
    // This thread takes shard 0 while the worker takes shard 1; a worker that fails makes the
    // whole read fail, as a single-threaded read would.
    const other = shardInWorker(paths, maxSources, 1, 2);
    other.catch(() => undefined);
    const mine = await analyseShard(paths, maxSources, { index: 0, count: 2 }, progress).catch(async (e) => {
      await other.catch(() => undefined);
      throw e;
    });
    const theirs = await other;
    sources = mergeShards([mine, theirs], maxSources);
    shard = mine;
    if (sources) shard = { ...mine, limits: { evictedSources: 0, droppedPackets: 0 } };
  }
  if (!sources) {
    shard = await analyseShard(inputs, maxSources, { index: 0, count: 1 }, progress);
    sources = shard.days.flat();
  }
  const { files, limits } = shard!;
  const skipped: Partial<Record<SkipReason, number>> = {};
  for (const f of files) for (const [k, v] of Object.entries(f.skipped) as [SkipReason, number][]) skipped[k] = (skipped[k] ?? 0) + v;
  return {
    sources,
    files,
    records: files.reduce((a, f) => a + f.records, 0),
    packets: files.reduce((a, f) => a + f.packets, 0),
    skipped,
    skippedRecords: Object.values(skipped).reduce((a, b) => a + b, 0),
    limits,
  };
}

/**
 * The shards' days merged into one analyser's output, or undefined when a day table filled up
 * somewhere (the shards' evictions would not be the whole's). A day's sources are IPv4 busiest
 * first then by address, then IPv6 in arrival order (all in shard 0).
 */
export function mergeShards(shards: readonly ShardResult[], maxSources: number): SourceSummary[] | undefined {
  if (shards.some((s) => s.limits.evictedSources > 0 || s.limits.droppedPackets > 0)) return undefined;
  const n = shards[0]!.days.length;
  if (shards.some((s) => s.days.length !== n)) return undefined;
  const out: SourceSummary[] = [];
  for (let d = 0; d < n; d++) {
    const lists = shards.map((s) => s.days[d]!);
    // No shard ever had a full table, and together they never held maxSources at once: so one
    // analyser, holding their sum, never compacted either.
    if (lists.reduce((a, l) => a + l.length, 0) > maxSources) return undefined;
    let merged: SourceSummary[] = [];
    for (const l of lists) merged = mergeBusiest(merged, l.filter((s) => !s.ip.includes(':')));
    out.push(...merged);
    for (const l of lists) for (const s of l) if (s.ip.includes(':')) out.push(s);
  }
  return out;
}

const v4Key = (ip: string): number => {
  const [a, b, c, d] = ip.split('.').map(Number) as [number, number, number, number];
  return ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;
};

/** Two IPv4 lists each busiest first then by address, merged in that order. */
function mergeBusiest(x: readonly SourceSummary[], y: readonly SourceSummary[]): SourceSummary[] {
  const out: SourceSummary[] = [];
  let i = 0;
  let j = 0;
  while (i < x.length && j < y.length) {
    const a = x[i]!;
    const b = y[j]!;
    if (a.packets > b.packets || (a.packets === b.packets && v4Key(a.ip) < v4Key(b.ip))) {
      out.push(a);
      i++;
    } else {
      out.push(b);
      j++;
    }
  }
  while (i < x.length) out.push(x[i++]!);
  while (j < y.length) out.push(y[j++]!);
  return out;
}

/** Run analyseShard in a worker thread (from the TypeScript sources under tsx, else the build). */
function shardInWorker(paths: readonly string[], maxSources: number, index: number, count: number): Promise<ShardResult> {
  const workerData = { paths, maxSources, index, count };
  const worker = import.meta.url.endsWith('.ts')
    ? new Worker(`import('tsx/esm/api').then((t) => t.register()).then(() => import(${JSON.stringify(new URL('./analyse-worker.ts', import.meta.url).href)}))`, { eval: true, workerData })
    : new Worker(new URL('./analyse-worker.js', import.meta.url), { workerData });
  return new Promise((resolve, reject) => {
    let settled = false;
    worker.once('message', (m: { ok: true; result: ShardResult } | { ok: false; error: string }) => {
      settled = true;
      if (m.ok) resolve(m.result);
      else reject(new Error(`darknet analysis thread: ${m.error}`));
      void worker.terminate();
    });
    worker.once('error', (e) => {
      settled = true;
      reject(e);
    });
    worker.once('exit', (code) => {
      if (!settled) reject(new Error(`darknet analysis thread exited with code ${code}`));
    });
  });
}

/**
 * The seam for the findings step: one candidate per Mirai-style source and day. A later step keeps
 * those inside participating ISPs' ranges, joins survey data on the same address, and drops
 * operator-listed research scanners, then writes `infected` findings.
 */
export interface InfectionCandidate {
  readonly kind: 'infection-candidate';
  readonly ip: string;
  readonly day: string;
  readonly fingerprint: SourceSummary['fingerprint'];
  readonly packets: number;
  readonly destinations: number;
  readonly ports: readonly number[];
  readonly firstSeen: string;
  readonly lastSeen: string;
  readonly confidence: number;
}

/** The infection candidates among summaries (Mirai-style scanning only; research scanners never). */
export function infectionCandidates(sources: readonly SourceSummary[]): InfectionCandidate[] {
  return sources
    .filter((s) => s.infected)
    .map((s) => ({ kind: 'infection-candidate', ip: s.ip, day: s.day, fingerprint: s.fingerprint, packets: s.packets, destinations: s.destinations, ports: s.ports, firstSeen: s.firstSeen, lastSeen: s.lastSeen, confidence: s.confidence }));
}
