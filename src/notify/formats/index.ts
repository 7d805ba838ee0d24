/** The output formats, by name: adding one is one file and one line here. */
import { csvFormat } from './csv.js';
import { jsonFormat } from './json.js';
import { intelmqFormat } from '../intelmq.js';
import type { BatchFormat, BatchMeta, FormatOptions } from './types.js';
import type { NotificationBatch } from '../../core/records.js';

export const formats = { csv: csvFormat, json: jsonFormat, intelmq: intelmqFormat } as const satisfies Record<string, BatchFormat>;

export type FormatName = keyof typeof formats;

export const formatNames = Object.keys(formats) as FormatName[];

/** A whole batch in one format, as chunks (a head, one per finding, a tail). */
export function* renderBatch(format: BatchFormat, batch: NotificationBatch, options?: FormatOptions): Generator<string> {
  const meta: BatchMeta = { ticket: batch.ticket, isp: batch.isp, createdAt: batch.createdAt };
  yield format.head(meta, options);
  let i = 0;
  for (const f of batch.findings) yield format.row(f, meta, i++);
  yield format.tail(meta, i);
}

/** A whole batch in one format as one string (mail attachments, API responses of small batches). */
export function renderBatchText(format: BatchFormat, batch: NotificationBatch, options?: FormatOptions): string {
  return [...renderBatch(format, batch, options)].join('');
}

export type { BatchFormat, BatchMeta, FormatOptions } from './types.js';
