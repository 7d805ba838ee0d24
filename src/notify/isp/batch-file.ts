/**
 * Reading a centre → ISP batch (NotificationBatch, src/core/records.ts) from its JSON file, checked
 * at the boundary: the fields matching needs are validated, the rest of each finding is kept as
 * sent (the findings schema itself belongs to the centre side).
 */
import { readFile, stat } from 'node:fs/promises';
import { z } from 'zod';
import { IotcleanError } from '../../core/errors.js';
import { findingKinds, type Finding, type NotificationBatch } from '../../core/records.js';

/** Largest batch file read: under V8's longest string (2^29 characters); a larger batch is split. */
export const maxBatchBytes = 500 * 1024 * 1024;

const findingShape = z.looseObject({
  kind: z.enum(findingKinds),
  ip: z.string().max(100),
  port: z.number().int().min(0).max(65535).nullable(),
  observedAt: z.string().max(64).refine((t) => Number.isFinite(Date.parse(t)), 'not a time'),
  device: z.looseObject({ type: z.string().nullable().optional(), vendor: z.string().nullable().optional(), model: z.string().nullable().optional(), firmware: z.string().nullable().optional() }).optional(),
  details: z.record(z.string(), z.unknown()).optional(),
});

const batchShape = z.looseObject({
  kind: z.literal('notification-batch'),
  ticket: z.string().min(1).max(200),
  isp: z.string().min(1).max(200),
  createdAt: z.string(),
  findings: z.array(findingShape),
});

/** Check a parsed batch; E_FINDING names the first bad field. */
export function checkBatch(value: unknown, file: string): NotificationBatch {
  const r = batchShape.safeParse(value);
  if (!r.success) {
    const i = r.error.issues[0]!;
    throw new IotcleanError('E_FINDING', `batch field ${i.path.join('.') || '(root)'}: ${i.message}`, { file, hint: 'give a notification batch JSON file as the centre sends it (iotclean notify --out DIR)' });
  }
  const b = r.data;
  const findings = b.findings.map(
    (f) =>
      ({
        device: { type: null, vendor: null, model: null, firmware: null },
        details: {},
        evidence: [],
        protocol: null,
        period: f.observedAt.slice(0, 7),
        severity: 'medium',
        surveyId: null,
        planVersion: null,
        isp: b.isp,
        prefixOwner: b.isp,
        held: null,
        ...f,
      }) as unknown as Finding,
  );
  return { kind: 'notification-batch', ticket: b.ticket, isp: b.isp, createdAt: b.createdAt, findings };
}

/** Read and check a batch file. */
export async function readBatchFile(path: string): Promise<NotificationBatch> {
  let text: string;
  try {
    const st = await stat(path);
    if (st.size > maxBatchBytes) throw new IotcleanError('E_FINDING', `batch file is ${Math.round(st.size / 1048576)} MB, more than ${maxBatchBytes / 1048576} MB`, { file: path, hint: 'ask the centre for smaller batches (they split per ISP and period), or split the findings array' });
    text = await readFile(path, 'utf8');
  } catch (e) {
    if (e instanceof IotcleanError) throw e;
    throw new IotcleanError('E_NOT_FOUND', `cannot read batch: ${(e as NodeJS.ErrnoException).code ?? String(e)}`, { file: path, hint: 'check the path' });
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new IotcleanError('E_FINDING', `batch is not JSON: ${(e as Error).message}`, { file: path, hint: 'give the JSON form of the batch' });
  }
  return checkBatch(value, path);
}
