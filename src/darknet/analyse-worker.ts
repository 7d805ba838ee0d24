/**
 * The reading thread of analyseCaptures: reads every file into packet rows and posts each batch
 * (its buffers moved) to the folding thread, staying at most `ahead` batches ahead of it.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { IotcleanError } from '../core/errors.js';
import type { ReaderData, ReaderMessage } from './analyse.js';
import { readCaptureRows } from './pcap/reader.js';
import { RowPacker } from './rows.js';

const { paths, rows: capacity, ahead, folded } = workerData as ReaderData;
const count = new Int32Array(folded);
const post = (m: ReaderMessage, transfer: ArrayBuffer[] = []) => parentPort!.postMessage(m, transfer);
let posted = 0;
let bytes = 0;
const packer = new RowPacker(capacity, (rows) => {
  // Blocking is fine here: this thread does nothing else.
  for (let done = Atomics.load(count, 0); posted - done >= ahead; done = Atomics.load(count, 0)) Atomics.wait(count, 0, done, 1000);
  post({ type: 'rows', rows, bytes }, [rows.words.buffer as ArrayBuffer, rows.six.buffer as ArrayBuffer]);
  posted++;
});

try {
  let before = 0;
  for (const file of paths) {
    const stats = await readCaptureRows(file, packer, { onProgress: (b) => void (bytes = before + b) });
    packer.flush();
    before += stats.bytes;
    post({ type: 'file', stats: { file, ...stats } });
  }
  post({ type: 'done' });
} catch (e) {
  post(e instanceof IotcleanError ? { type: 'error', message: e.message, code: e.code, where: e.where } : { type: 'error', message: e instanceof Error ? e.message : String(e) });
}
