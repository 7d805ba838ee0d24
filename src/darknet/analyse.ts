/**
 * The darknet stage: captures in, per-source-per-day summaries out. Files are read one after
 * another into one analyser, so several captures of the same sensor make one picture.
 *
 * Large files are analysed by two threads: each reads every file but keeps the counters of only
 * half of the sources (by hash, see shardOf; the other half's packets are passed by undecoded),
 * and the halves' raw day tables are joined and summarised in exactly the order one analyser
 * gives. Every packet still moves each shard's days on, so days open and close as in one
 * analyser; a shard's sources are a disjoint part of the whole, so their summaries are the same.
 * Where halves could differ from the whole (a full day table: eviction, dropped packets; or the
 * threads read different bytes) the files are read again by one analyser.
 */
import { availableParallelism } from 'node:os';
import { stat } from 'node:fs/promises';
import { Worker } from 'node:worker_threads';
import { workerEntry } from '../core/worker-entry.js';
import { DarknetAnalyser, summariseShards, type AnalysisLimits, type DayRows, type SourceSummary } from './classify.js';
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

/** One shard's read of every input: its closed days' raw tables and the files' stats. */
export interface ShardResult {
  readonly days: DayRows[];
  readonly files: (CaptureStats & { file: string })[];
  readonly limits: AnalysisLimits;
}

/**
 * Read every input into one analyser: the whole (count 1: its closed days' summaries) or shard
 * `index` of `count` (its closed days' raw tables, for summariseShards).
 */
async function analyseInto(
  inputs: readonly CaptureInput[],
  maxSources: number,
  shard: { index: number; count: number },
  onProgress: ((bytes: number) => void) | undefined,
  onDay: (sources: SourceSummary[]) => void,
  onDayRows: (rows: DayRows) => void,
): Promise<{ files: (CaptureStats & { file: string })[]; limits: AnalysisLimits }> {
  const analyser = new DarknetAnalyser(shard.count > 1 ? { maxSources, shard, onDayRows } : { maxSources, onDay });
  const files: (CaptureStats & { file: string })[] = [];
  let before = 0;
  const add = analyser.add.bind(analyser);
  const skip = shard.count > 1 ? analyser.passes.bind(analyser) : undefined;
  for (const input of inputs) {
    const s = await readCapture(input, add, { ...(onProgress ? { onProgress: (b: number) => onProgress(before + b) } : {}), ...(skip ? { skip } : {}) });
    before += s.bytes;
    files.push({ file: typeof input === 'string' ? input : input.name, ...s });
  }
  return { files, limits: analyser.finish().limits };
}

/** Read every input keeping the sources of shard `index` of `count`. */
export async function analyseShard(inputs: readonly CaptureInput[], maxSources: number, shard: { index: number; count: number }, onProgress?: (bytes: number) => void): Promise<ShardResult> {
  const days: DayRows[] = [];
  const r = await analyseInto(inputs, maxSources, shard, onProgress, () => undefined, (d) => void days.push(d));
  return { days, ...r };
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
  let read: { files: (CaptureStats & { file: string })[]; limits: AnalysisLimits } | undefined;
  if (threads >= 2) {
    // This thread takes shard 0 while the worker takes shard 1; a failing worker fails the read.
    // The worker is started before this thread's read, which never yields to the event loop.
    const other = (await shardInWorker(paths, maxSources, 1, 2)).result;
    other.catch(() => undefined);
    const mine = await analyseShard(paths, maxSources, { index: 0, count: 2 }, progress).catch(async (e) => {
      await other.catch(() => undefined);
      throw e;
    });
    const theirs = await other;
    // Both threads must have read the same bytes (a capture still being written may have grown).
    const same = mine.files.every((f, i) => f.bytes === theirs.files[i]?.bytes && f.records === theirs.files[i]?.records);
    sources = same ? summariseShards([mine.days, theirs.days], maxSources) : undefined;
    read = { files: mine.files, limits: { evictedSources: 0, droppedPackets: 0 } };
  }
  if (!sources) {
    const all: SourceSummary[] = [];
    read = await analyseInto(inputs, maxSources, { index: 0, count: 1 }, progress, (d) => {
      for (const s of d) all.push(s);
    }, () => undefined);
    sources = all;
  }
  const { files, limits } = read!;
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

/** Run analyseShard in a worker thread; resolves once the thread is started, to the shard's result. */
async function shardInWorker(paths: readonly string[], maxSources: number, index: number, count: number): Promise<{ result: Promise<ShardResult> }> {
  const workerData = { paths, maxSources, index, count };
  const worker = new Worker(await workerEntry(import.meta.url, 'analyse-worker'), { workerData });
  return { result: outcome(worker) };
}

function outcome(worker: Worker): Promise<ShardResult> {
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
