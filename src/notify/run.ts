/**
 * One notify run over the store: batch every ISP's findings since its last batch (files to a
 * folder, or kept in memory), store the batch rows, and hand out what mail and the API need (a
 * batch's findings and attachments). The findings come through the FindingRepository contract
 * only, so this runs on any store that provides it.
 */
import { createReadStream, existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Finding } from '../core/records.js';
import type { FindingRepository } from '../findings/types.js';
import type { BatchRow, NotificationRepository } from '../store/notifications.js';
import { batchFileName, fileWriter, groupFindings, memoryWriter, ticketId, type GroupResult } from './batch.js';
import { formats, renderBatchText, type FormatName, type FormatOptions } from './formats/index.js';
import { maxAttachedFindings, type MailAttachment } from './mail.js';

export interface NotifyDeps {
  readonly findings: Pick<FindingRepository, 'list'>;
  readonly notifications: NotificationRepository;
}

export interface BatchRunOptions {
  readonly isp?: string;
  /** Folder for the batch files (CSV, JSON, IntelMQ); without it nothing is written to disk. */
  readonly out?: string;
  readonly now?: Date;
  readonly format?: FormatOptions;
  /** Which files to write to `out` (default all: CSV, JSON, IntelMQ). */
  readonly formats?: readonly FormatName[];
}

export interface BatchRunResult {
  readonly group: GroupResult;
  readonly rows: readonly BatchRow[];
}

/** Make and store the batches of everything new since each ISP's last batch. */
export async function makeBatches(deps: NotifyDeps, options: BatchRunOptions = {}): Promise<BatchRunResult> {
  const now = options.now ?? new Date();
  const createdAt = now.toISOString();
  const day = createdAt.slice(0, 10).replace(/-/g, '');
  const since = await deps.notifications.lastFindingIds();
  const afterId = options.isp !== undefined ? (since.get(options.isp) ?? 0) : 0;
  const stream = deps.findings.list({ ...(options.isp !== undefined ? { isp: options.isp } : {}), ...(afterId > 0 ? { afterId } : {}) });
  const group = await groupFindings(stream, {
    since,
    ...(options.isp !== undefined ? { isp: options.isp } : {}),
    meta: async (isp) => ({ ticket: ticketId(isp, now, await deps.notifications.nextSequence(isp, day)), isp, createdAt }),
    writer: (meta) => (options.out !== undefined ? fileWriter(options.out, meta, options.formats ?? ['csv', 'json', 'intelmq'], options.format) : memoryWriter()),
  });
  const rows: BatchRow[] = [];
  for (const [i, b] of group.batches.entries()) {
    const row = { ticket: b.meta.ticket, isp: b.meta.isp, createdAt, findingCount: b.findingCount, afterFindingId: b.afterFindingId, maxFindingId: b.maxFindingId, counts: b.counts, files: b.files };
    try {
      await deps.notifications.create(row);
    } catch (e) {
      // The files of batches left without a row go, so the next run can make them again.
      if (options.out !== undefined) for (const later of group.batches.slice(i)) for (const f of later.files) await rm(join(options.out, f.name), { force: true });
      throw e;
    }
    rows.push({ ...row, deliveries: [] });
  }
  return { group, rows };
}

/** A stored batch's findings, re-read: the ISP's findings with ids in (after, max]. */
export async function* batchFindings(findings: Pick<FindingRepository, 'list'>, row: BatchRow): AsyncGenerator<Finding> {
  for await (const f of findings.list({ isp: row.isp, afterId: row.afterFindingId })) {
    if (f.isp !== row.isp || f.id === undefined || f.id <= row.afterFindingId || f.id > row.maxFindingId) continue;
    yield f;
  }
}

/**
 * A batch's mail attachments (CSV and JSON): the files of its run when they are in `out` (streamed
 * from disk), else rendered from the findings (a retry in a later run); none above `limit` findings.
 */
export async function batchAttachments(findings: Pick<FindingRepository, 'list'>, row: BatchRow, out?: string, limit = maxAttachedFindings): Promise<MailAttachment[]> {
  if (row.findingCount > limit) return [];
  const wanted = [formats.csv, formats.json];
  const onDisk = out !== undefined && wanted.every((f) => row.files.some((x) => x.name === batchFileName(row.ticket, f)) && existsSync(join(out, batchFileName(row.ticket, f))));
  if (onDisk) return wanted.map((f) => ({ filename: batchFileName(row.ticket, f), contentType: f.mediaType, content: createReadStream(join(out!, batchFileName(row.ticket, f))) }));
  const list: Finding[] = [];
  for await (const f of batchFindings(findings, row)) list.push(f);
  const batch = { kind: 'notification-batch' as const, ticket: row.ticket, isp: row.isp, createdAt: row.createdAt, findings: list };
  return wanted.map((f) => ({ filename: batchFileName(row.ticket, f), contentType: f.mediaType, content: renderBatchText(f, batch) }));
}
