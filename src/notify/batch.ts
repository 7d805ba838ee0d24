/**
 * Findings → per-ISP batches. One pass over a stream of findings: each finding attributed to an
 * ISP (isp set) goes to that ISP's batch when its id is above the ISP's last batched id ("since
 * last batch"); held findings (isp null) are never batched, only counted by reason. A batch
 * writer is opened for an ISP at its first finding, so an ISP with nothing new gets no batch,
 * and writers stream (files) or collect (memory) as the caller chooses.
 */
import { createHash } from 'node:crypto';
import { createWriteStream, type WriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { IotcleanError } from '../core/errors.js';
import type { Finding, HoldReason, NotificationBatch } from '../core/records.js';
import type { BatchFile } from '../store/notifications.js';
import { formats, type BatchFormat, type BatchMeta, type FormatName, type FormatOptions } from './formats/index.js';

/** What a writer returns when its batch is complete. */
export interface WrittenBatch {
  readonly meta: BatchMeta;
  readonly findingCount: number;
  readonly afterFindingId: number;
  readonly maxFindingId: number;
  readonly counts: Readonly<Record<string, number>>;
  readonly files: readonly BatchFile[];
  /** The findings, when the writer kept them (memory writer). */
  readonly findings?: readonly Finding[];
}

/** Receives one ISP's findings in order; closes once the stream ends. */
export interface BatchWriter {
  add(finding: Finding): void | Promise<void>;
  close(): Promise<{ readonly files: readonly BatchFile[]; readonly findings?: readonly Finding[] }>;
  /** Drop what was written (the run failed). */
  abort(): Promise<void>;
}

export interface GroupOptions {
  /** Last batched finding id per ISP (absent: 0). */
  readonly since: ReadonlyMap<string, number>;
  /** Only this ISP's findings (the others are skipped, not counted as held). */
  readonly isp?: string;
  /** A batch's ticket and time, asked once per ISP at its first new finding. */
  readonly meta: (isp: string) => BatchMeta | Promise<BatchMeta>;
  readonly writer: (meta: BatchMeta) => BatchWriter | Promise<BatchWriter>;
}

export interface GroupResult {
  readonly batches: readonly WrittenBatch[];
  /** Held findings seen (never batched), in all and per reason. */
  readonly held: number;
  readonly heldBy: Readonly<Partial<Record<HoldReason, number>>>;
  /** Findings skipped because an earlier batch of their ISP has them. */
  readonly alreadyBatched: number;
}

/** `IOTC-YYYYMMDD-<isp>-NNNN`; ISP ids are kept as they are unless they hold other than [A-Za-z0-9_.-] (what contacts and tokens accept). */
export function ticketId(isp: string, at: Date, seq: number): string {
  const day = at.toISOString().slice(0, 10).replace(/-/g, '');
  return `IOTC-${day}-${ticketIsp(isp)}-${String(seq).padStart(4, '0')}`;
}

/** The ISP as it appears in a ticket and a file name: never a path separator or a space. */
export function ticketIsp(isp: string): string {
  return isp.replace(/[^A-Za-z0-9_.-]/g, '_').replace(/^\./, '_');
}

interface Open {
  readonly meta: BatchMeta;
  readonly writer: BatchWriter;
  readonly after: number;
  count: number;
  max: number;
  readonly counts: Record<string, number>;
}

/** Group a stream of findings into per-ISP batches (see the file header). */
export async function groupFindings(findings: AsyncIterable<Finding> | Iterable<Finding>, options: GroupOptions): Promise<GroupResult> {
  const open = new Map<string, Open>();
  const heldBy: Partial<Record<HoldReason, number>> = {};
  let held = 0;
  let alreadyBatched = 0;
  try {
    for await (const f of findings) {
      if (f.isp === null) {
        if (options.isp !== undefined) continue;
        held++;
        const reason = f.held ?? 'no-isp';
        heldBy[reason] = (heldBy[reason] ?? 0) + 1;
        continue;
      }
      if (options.isp !== undefined && f.isp !== options.isp) continue;
      const after = options.since.get(f.isp) ?? 0;
      if (f.id !== undefined && f.id <= after) {
        alreadyBatched++;
        continue;
      }
      let b = open.get(f.isp);
      if (!b) {
        const meta = await options.meta(f.isp);
        b = { meta, writer: await options.writer(meta), after, count: 0, max: after, counts: {} };
        open.set(f.isp, b);
      }
      const pending = b.writer.add(f);
      if (pending) await pending;
      b.count++;
      if (f.id !== undefined && f.id > b.max) b.max = f.id;
      b.counts[f.kind] = (b.counts[f.kind] ?? 0) + 1;
    }
  } catch (e) {
    await Promise.allSettled([...open.values()].map((b) => b.writer.abort()));
    throw e;
  }
  const batches: WrittenBatch[] = [];
  try {
    for (const b of [...open.values()].sort((x, y) => (x.meta.isp < y.meta.isp ? -1 : x.meta.isp > y.meta.isp ? 1 : 0))) {
      const closed = await b.writer.close();
      batches.push({ meta: b.meta, findingCount: b.count, afterFindingId: b.after, maxFindingId: b.max, counts: b.counts, files: closed.files, ...(closed.findings ? { findings: closed.findings } : {}) });
    }
  } catch (e) {
    // All or nothing: a batch without its row would block its ticket's files on the next run.
    await Promise.allSettled([...open.values()].map((b) => b.writer.abort()));
    throw e;
  }
  return { batches, held, heldBy, alreadyBatched };
}

/** A writer that keeps the findings (small batches, tests, mail without files). */
export function memoryWriter(): BatchWriter {
  const kept: Finding[] = [];
  return {
    add: (f) => void kept.push(f),
    close: async () => ({ files: [], findings: kept }),
    abort: async () => {},
  };
}

/** A written batch as the NotificationBatch record (memory writer only). */
export function toNotificationBatch(b: WrittenBatch): NotificationBatch {
  return { kind: 'notification-batch', ticket: b.meta.ticket, isp: b.meta.isp, createdAt: b.meta.createdAt, findings: b.findings ?? [] };
}

/** The file name of a batch in one format: `<ticket>.<extension>`. */
export function batchFileName(ticket: string, format: BatchFormat): string {
  return `${ticket}.${format.extension}`;
}

// Rows are joined into chunks of about this size before a write: one write per row would cost
// more in stream overhead than the formatting itself.
const chunkChars = 1 << 16;

/** One format's file: buffered, hashed (SHA-256 of the bytes written) and counted as it goes. */
class FormatFile {
  private readonly stream: WriteStream;
  private readonly hash = createHash('sha256');
  private buffer: string[] = [];
  private buffered = 0;
  private bytes = 0;
  private index = 0;
  private failure: Error | undefined;

  constructor(
    readonly format: BatchFormat,
    readonly name: string,
    readonly path: string,
    private readonly meta: BatchMeta,
    options: FormatOptions,
  ) {
    // A large buffer: the formatter runs ahead of the disk instead of stalling on every chunk.
    this.stream = createWriteStream(path, { flags: 'wx', highWaterMark: 1 << 20 });
    this.stream.on('error', (e) => (this.failure = e));
    this.push(format.head(meta, options));
  }

  private push(text: string): void {
    this.buffer.push(text);
    this.buffered += text.length;
  }

  /** Add a row; a promise only when the buffer was flushed (awaiting every row costs more than formatting it). */
  add(f: Finding): Promise<void> | undefined {
    this.push(this.format.row(f, this.meta, this.index++));
    return this.buffered >= chunkChars ? this.flush() : undefined;
  }

  private async flush(): Promise<void> {
    if (this.failure) throw writeError(this.path, this.failure);
    if (this.buffered === 0) return;
    const data = Buffer.from(this.buffer.join(''), 'utf8');
    this.buffer = [];
    this.buffered = 0;
    this.hash.update(data);
    this.bytes += data.length;
    if (!this.stream.write(data)) {
      // Drain, or the error that means it never comes (disk full): never wait forever.
      await new Promise<void>((resolve) => {
        const done = () => {
          this.stream.off('drain', done);
          this.stream.off('error', done);
          this.stream.off('close', done);
          resolve();
        };
        this.stream.once('drain', done).once('error', done).once('close', done);
      });
      if (this.failure) throw writeError(this.path, this.failure);
    }
  }

  async close(): Promise<BatchFile> {
    this.push(this.format.tail(this.meta, this.index));
    await this.flush();
    await new Promise<void>((resolve, reject) => this.stream.end((e?: Error | null) => (e ? reject(writeError(this.path, e)) : resolve())));
    if (this.failure) throw writeError(this.path, this.failure);
    return { format: this.format.name, name: this.name, bytes: this.bytes, sha256: this.hash.digest('hex') };
  }

  /** Stop and remove the partial file (a failed run leaves no half batch behind). */
  async abort(): Promise<void> {
    this.stream.destroy();
    if (this.failure && (this.failure as NodeJS.ErrnoException).code === 'EEXIST') return; // not ours
    await rm(this.path, { force: true });
  }
}

function writeError(path: string, e: Error): IotcleanError {
  const code = (e as NodeJS.ErrnoException).code;
  const why = code === 'EEXIST' ? 'the file exists already (files of an earlier run are never overwritten)' : e.message;
  return new IotcleanError('E_ARGS', `cannot write batch file: ${why}`, { file: path, hint: 'give --out an existing folder you can write to' });
}

/** A writer streaming the batch to `<dir>/<ticket>.<ext>` in each format; never overwrites a file. */
export function fileWriter(dir: string, meta: BatchMeta, names: readonly FormatName[] = ['csv', 'json', 'intelmq'], options: FormatOptions = {}): BatchWriter {
  const files = names.map((n) => {
    const format = formats[n];
    const name = batchFileName(meta.ticket, format);
    return new FormatFile(format, name, join(dir, name), meta, options);
  });
  return {
    add(f) {
      let wait: Promise<void>[] | undefined;
      for (const file of files) {
        const p = file.add(f);
        if (p) (wait ??= []).push(p);
      }
      return wait ? Promise.all(wait).then(() => undefined) : undefined;
    },
    async close() {
      const out: BatchFile[] = [];
      for (const file of files) out.push(await file.close());
      return { files: out };
    },
    async abort() {
      for (const file of files) await file.abort();
    },
  };
}
