/** The flow sink's worker thread: receives batches, writes Parquet parts (see storage.ts). */
import { parentPort, workerData } from 'node:worker_threads';
import { ParquetPartWriter, type FlowBatch } from './storage.js';

const port = parentPort!;
const { dir } = workerData as { dir: string };
try {
  const writer = await ParquetPartWriter.open(dir);
  port.on('message', (m: { id: number; batch?: FlowBatch; close?: boolean }) => {
    void (async () => {
      try {
        if (m.close) {
          writer.close();
          port.postMessage({ id: m.id, ok: true, files: 0, rows: 0 });
          port.close();
          return;
        }
        const files = await writer.write(m.batch!);
        port.postMessage({ id: m.id, ok: true, files: files.length, rows: m.batch!.length });
      } catch (e) {
        port.postMessage({ id: m.id, ok: false, error: e instanceof Error ? e.message : String(e) });
      }
    })();
  });
  port.postMessage({ ready: true, ok: true });
} catch (e) {
  port.postMessage({ ready: true, ok: false, error: e instanceof Error ? e.message : String(e) });
}
