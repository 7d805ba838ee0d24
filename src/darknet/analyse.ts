/**
 * The darknet stage: captures in, per-source-per-day summaries out. Files are read one after
 * another into one analyser, so several captures of the same sensor make one picture.
 *
 * Reading is cut from folding at the packet rows (rows.ts): the reader decodes every record and
 * packs what the fold needs into batches, the analyser folds batches into per-source state. Large
 * files are read by a second thread that posts its batches (moved, not copied) to this one, which
 * folds them as they come: the two halves of the work overlap, and the result is the one thread's
 * result exactly, since the same batches are folded in the same order. The reader is held at a few
 * batches ahead of the fold, so memory stays bounded however fast it reads.
 */
import { availableParallelism } from 'node:os';
import { stat } from 'node:fs/promises';
import { Worker } from 'node:worker_threads';
import { IotcleanError, type ErrorCode } from '../core/errors.js';
import { workerEntry } from '../core/worker-entry.js';
import { DarknetAnalyser, type AnalysisLimits, type SourceSummary } from './classify.js';
import type { SkipReason } from './pcap/container.js';
import { readCaptureRows, type CaptureInput, type CaptureStats } from './pcap/reader.js';
import { RowPacker, type PacketRows } from './rows.js';

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
   * Threads (1 or 2): with 2 a second thread reads while this one folds. Default: 2 for files of
   * PARALLEL_BYTES or more on a machine with two cores or more, else 1. Streams are read here.
   */
  readonly threads?: number;
}

/** Below this much input a second thread costs more to start than it saves. */
export const PARALLEL_BYTES = 32 << 20;
const DEFAULT_MAX_SOURCES = 1_000_000;
/** Rows per batch read and folded on one thread: 64 KB, which stays in the core's cache. */
const BATCH_ROWS = 4096;
/** Rows per batch posted between threads (256 KB), and batches the reader may be ahead. */
const POSTED_ROWS = 16384;
const POSTED_AHEAD = 8;

type FileStats = CaptureStats & { file: string };

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
  const sources: SourceSummary[] = [];
  const analyser = new DarknetAnalyser({ maxSources, onDay: (d) => {
    for (const s of d) sources.push(s);
  } });
  const files = threads >= 2 ? await foldFromWorker(paths, analyser, progress) : await foldHere(inputs, analyser, progress);
  const { limits } = analyser.finish();
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

/** Read and fold on this thread. */
async function foldHere(inputs: readonly CaptureInput[], analyser: DarknetAnalyser, onProgress: ((bytes: number) => void) | undefined): Promise<FileStats[]> {
  const packer = new RowPacker(BATCH_ROWS, (rows) => {
    analyser.addRows(rows);
    return rows;
  });
  const files: FileStats[] = [];
  let before = 0;
  for (const input of inputs) {
    const s = await readCaptureRows(input, packer, onProgress ? { onProgress: (b: number) => onProgress(before + b) } : {});
    packer.flush();
    before += s.bytes;
    files.push({ file: typeof input === 'string' ? input : input.name, ...s });
  }
  return files;
}

/** What the reading thread posts (analyse-worker.ts). */
export type ReaderMessage =
  | { readonly type: 'rows'; readonly rows: PacketRows; readonly bytes: number }
  | { readonly type: 'file'; readonly stats: FileStats }
  | { readonly type: 'done' }
  | { readonly type: 'error'; readonly message: string; readonly code?: ErrorCode; readonly where?: IotcleanError['where'] };

/** What the reading thread is given: the files, its batches' size, and the count of batches folded so far. */
export interface ReaderData {
  readonly paths: readonly string[];
  readonly rows: number;
  readonly ahead: number;
  readonly folded: SharedArrayBuffer;
}

/** Fold here what a reading thread reads; fails as a read here would. */
async function foldFromWorker(paths: readonly string[], analyser: DarknetAnalyser, onProgress: ((bytes: number) => void) | undefined): Promise<FileStats[]> {
  const folded = new SharedArrayBuffer(4);
  const count = new Int32Array(folded);
  const worker = new Worker(await workerEntry(import.meta.url, 'analyse-worker'), { workerData: { paths, rows: POSTED_ROWS, ahead: POSTED_AHEAD, folded } satisfies ReaderData });
  const files: FileStats[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      worker.on('message', (m: ReaderMessage) => {
        try {
          if (m.type === 'rows') {
            analyser.addRows(m.rows);
            Atomics.add(count, 0, 1);
            Atomics.notify(count, 0);
            onProgress?.(m.bytes);
          } else if (m.type === 'file') files.push(m.stats);
          else if (m.type === 'done') resolve();
          else reject(m.code ? new IotcleanError(m.code, m.message, m.where) : new Error(`darknet reading thread: ${m.message}`));
        } catch (e) {
          reject(e);
        }
      });
      worker.once('error', reject);
      worker.once('exit', (code) => reject(new Error(`darknet reading thread exited with code ${code}`)));
    });
  } finally {
    await worker.terminate();
  }
  return files;
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
