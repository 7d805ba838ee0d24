/** Worker thread of analyseCaptures: reads every file and answers with one shard's days. */
import { parentPort, workerData } from 'node:worker_threads';
import { analyseShard } from './analyse.js';

const { paths, maxSources, index, count } = workerData as { paths: string[]; maxSources: number; index: number; count: number };
analyseShard(paths, maxSources, { index, count }).then(
  // The tables' buffers are moved to the main thread, not copied.
  (result) => parentPort!.postMessage({ ok: true, result }, result.days.flatMap((d) => [d.c4.buffer, d.pool.buffer, d.c6.buffer] as ArrayBuffer[])),
  (e: unknown) => parentPort!.postMessage({ ok: false, error: e instanceof Error ? e.message : String(e) }),
);
