/**
 * The connect-scan engine: splits the (address × port) permutation between worker threads, each a
 * disjoint arithmetic slice of the positions, and gathers open endpoints in batches with a resume
 * checkpoint (one watermark per worker). Sharding across machines uses the same arithmetic:
 * shard i of n takes positions ≡ i (mod n), as ZMap does.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { IotcleanError } from '../core/errors.js';
import type { Ipv4Range } from '../core/ip.js';
import { workerEntry } from '../core/worker-entry.js';
import { requireCompiledScope, type EngineRequest } from '../scope/guard.js';
import { countAddresses, normaliseRanges } from '../scope/range-set.js';
import type { CompiledScope } from '../scope/scope.js';
import { stepsFor, type WorkerFatal, type WorkerReport, type WorkerTask } from './worker.js';

export interface Shard {
  /** 0-based shard index. */
  readonly index: number;
  readonly count: number;
}

export interface DiscoveryOptions {
  /** The authorised scope; each worker revives it from its spec and the guard checks every probe. */
  readonly scope: CompiledScope;
  /** Addresses to probe; addresses outside the scope are refused by the guard (counted as denied). */
  readonly targetRanges: readonly Ipv4Range[];
  readonly ports: readonly number[];
  readonly seed: number;
  readonly shard: Shard;
  /** Total probes/s across workers; 0 = as fast as the machine goes. */
  readonly rate: number;
  /** Total connections in flight across workers. */
  readonly concurrency: number;
  readonly timeoutMs: number;
  readonly retries: number;
  readonly workers: number;
  readonly engine?: EngineRequest;
  /** Per-worker steps already done (from a checkpoint); length must equal `workers`. */
  readonly resumeFrom?: readonly number[];
  /** Called with each batch of results; awaited, in order. */
  readonly onBatch: (batch: DiscoveryBatch) => void | Promise<void>;
  readonly onProgress?: (p: DiscoveryProgress) => void;
  readonly signal?: AbortSignal;
}

export interface DiscoveryBatch {
  /** Open (ip, port) pairs, ip as an unsigned 32-bit number. */
  readonly opens: readonly (readonly [number, number])[];
  /** Per-worker watermarks: everything before them is done and its results delivered. */
  readonly checkpoint: readonly number[];
}

export interface DiscoveryProgress {
  readonly done: number;
  readonly total: number;
  readonly open: number;
  readonly elapsedMs: number;
}

export interface DiscoveryStats {
  /** Targets (address × port) this run completed. */
  readonly completed: number;
  /** Connection attempts that left this machine, retries included (a connect() that failed
   *  before sending, e.g. no route, is not counted). */
  readonly sent: number;
  readonly open: number;
  readonly timeouts: number;
  readonly denied: number;
  /** Targets reported unreachable (no route, network down, refused by a firewall). */
  readonly unreachable: number;
  /** Targets given up after repeated local failures (out of ports or fds here). */
  readonly localErrors: number;
  readonly elapsedMs: number;
  /** Achieved probes/s (attempts sent over wall time). */
  readonly rate: number;
  readonly engine: 'raw' | 'net';
  /** Why that engine ran (e.g. "auto: the permission model is on ..."). */
  readonly engineReason: string;
  readonly interrupted: boolean;
  readonly checkpoint: readonly number[];
}

/** Size of the index space for targets × ports. */
export function indexSpace(targetRanges: readonly Ipv4Range[], portCount: number): number {
  return countAddresses(targetRanges) * portCount;
}

/** Default worker count: both cores of a small machine, at most 8. */
export function defaultWorkers(): number {
  return Math.max(1, Math.min(8, availableParallelism()));
}

/** Run a discovery over the options' slice of the permutation. Resolves when done or aborted. */
export async function runDiscovery(o: DiscoveryOptions): Promise<DiscoveryStats> {
  requireCompiledScope(o.scope);
  const targetRanges = normaliseRanges(o.targetRanges);
  const total = indexSpace(targetRanges, o.ports.length);
  const W = Math.max(1, o.workers);
  if (o.resumeFrom && o.resumeFrom.length !== W) {
    throw new Error(`checkpoint has ${o.resumeFrom.length} workers, run has ${W}`);
  }
  const stride = o.shard.count * W;
  const offsets = Array.from({ length: W }, (_, w) => o.shard.index + o.shard.count * w);
  const ends = offsets.map((off) => stepsFor(total, off, stride));
  const checkpoint = offsets.map((_, w) => Math.min(o.resumeFrom?.[w] ?? 0, ends[w]!));
  const toDo = ends.reduce((s, e, w) => s + e - checkpoint[w]!, 0);

  const t0 = performance.now();
  let done = 0;
  let sent = 0;
  let open = 0;
  let timeouts = 0;
  let denied = 0;
  let unreachable = 0;
  let localErrors = 0;
  let engine: 'raw' | 'net' = 'net';
  let engineReason = 'no worker ran';
  let interrupted = false;
  // Batches are delivered strictly in order so a checkpoint never overtakes its endpoints.
  let chain: Promise<void> = Promise.resolve();
  let failure: unknown;

  const entry = await workerEntry(import.meta.url, 'worker');
  const workers: Worker[] = [];
  const finished = offsets.map((off, w) => {
    if (ends[w]! <= checkpoint[w]!) return Promise.resolve();
    const task: WorkerTask = {
      scope: o.scope.spec,
      targetRanges,
      ports: o.ports,
      seed: o.seed,
      total,
      offset: off,
      stride,
      startStep: checkpoint[w]!,
      rate: o.rate > 0 ? o.rate / W : 0,
      concurrency: Math.max(1, Math.ceil(o.concurrency / W)),
      timeoutMs: o.timeoutMs,
      retries: o.retries,
      engine: o.engine ?? 'auto',
      reportMs: 200,
    };
    const worker = new Worker(entry, { workerData: task });
    workers.push(worker);
    return new Promise<void>((resolve, reject) => {
      worker.on('message', (r: WorkerReport | WorkerFatal) => {
        if (r.type === 'fatal') {
          failure ??= r.code ? new IotcleanError(r.code, r.message, r.where) : new Error(`discovery worker failed: ${r.message}`);
          stopAll();
          return;
        }
        engine = r.engine;
        engineReason = r.engineReason;
        unreachable += r.unreachable;
        done += r.completed;
        sent += r.sent;
        timeouts += r.timeouts;
        denied += r.denied;
        localErrors += r.localErrors;
        open += r.opens.length / 2;
        checkpoint[w] = r.low;
        const pairs: (readonly [number, number])[] = [];
        for (let i = 0; i < r.opens.length; i += 2) pairs.push([r.opens[i]!, r.opens[i + 1]!]);
        const snapshot = [...checkpoint];
        chain = chain.then(() => o.onBatch({ opens: pairs, checkpoint: snapshot })).catch((e: unknown) => {
          failure ??= e;
          stopAll();
        });
        o.onProgress?.({ done, total: toDo, open, elapsedMs: performance.now() - t0 });
      });
      worker.once('error', reject);
      worker.once('exit', (code) => (code === 0 || interrupted || failure ? resolve() : reject(new Error(`discovery worker exited with code ${code}`))));
    });
  });

  function stopAll(): void {
    interrupted = true;
    for (const w of workers) w.postMessage({ type: 'stop' });
  }
  const onAbort = () => stopAll();
  o.signal?.addEventListener('abort', onAbort, { once: true });
  if (o.signal?.aborted) stopAll();

  try {
    await Promise.all(finished);
    await chain;
  } finally {
    o.signal?.removeEventListener('abort', onAbort);
    await Promise.all(workers.map((w) => w.terminate()));
  }
  if (failure) throw failure;
  const elapsedMs = performance.now() - t0;
  return {
    completed: done,
    sent,
    open,
    timeouts,
    denied,
    unreachable,
    localErrors,
    elapsedMs,
    rate: elapsedMs > 0 ? (sent * 1000) / elapsedMs : 0,
    engine,
    engineReason,
    interrupted,
    checkpoint: [...checkpoint],
  };
}
