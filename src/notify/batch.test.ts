/**
 * Batching: one batch per ISP with its findings only; held findings are counted per reason and
 * never batched; "since last batch" skips what an earlier batch has; file writers stream every
 * format with the SHA-256 and size of what they wrote, and never overwrite a file.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Finding } from '../core/records.js';
import { fileWriter, groupFindings, memoryWriter, ticketId, toNotificationBatch } from './batch.js';
import { finding, parseCsv } from './test-support.js';

const dir = mkdtempSync(join(tmpdir(), 'iotclean-batch-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const at = new Date('2026-12-01T23:59:59.000Z');
const meta = (isp: string) => ({ ticket: ticketId(isp, at, 1), isp, createdAt: at.toISOString() });

const mixed: Finding[] = [
  finding('ispa', 1),
  finding('ispb', 2),
  finding(null, 3, { held: 'not-participating', prefixOwner: 'ispz' }),
  finding('ispa', 4, { kind: 'infected', port: null, protocol: null }),
  finding(null, 5, { held: 'no-isp' }),
  finding(null, 6, { held: 'resold-no-participant' }),
  finding(null, 7, { held: 'no-isp' }),
  finding('ispb', 8),
];

describe('ticket ids', () => {
  it('read IOTC-YYYYMMDD-<isp>-NNNN in UTC', () => {
    expect(ticketId('ispa', at, 1)).toBe('IOTC-20261201-ispa-0001');
    expect(ticketId('ispa', at, 12345)).toBe('IOTC-20261201-ispa-12345');
    expect(ticketId('../x y', at, 2)).toBe('IOTC-20261201-_._x_y-0002');
  });
});

describe('groupFindings', () => {
  it('makes one batch per ISP with its own findings; held ones are counted, not batched', async () => {
    const r = await groupFindings(mixed, { since: new Map(), meta, writer: () => memoryWriter() });
    expect(r.batches.map((b) => [b.meta.ticket, b.findings!.map((f) => f.id)])).toEqual([
      ['IOTC-20261201-ispa-0001', [1, 4]],
      ['IOTC-20261201-ispb-0001', [2, 8]],
    ]);
    expect(r.held).toBe(4);
    expect(r.heldBy).toEqual({ 'not-participating': 1, 'no-isp': 2, 'resold-no-participant': 1 });
    expect(r.batches[0]!.counts).toEqual({ 'weak-credential': 1, infected: 1 });
    expect(r.batches[1]).toMatchObject({ findingCount: 2, afterFindingId: 0, maxFindingId: 8 });
    for (const b of r.batches) expect(toNotificationBatch(b).findings.every((f) => f.isp === b.meta.isp)).toBe(true);
  });

  it('takes only findings above each ISP\'s last batched id, and no batch for an ISP with none', async () => {
    const r = await groupFindings(mixed, { since: new Map([['ispa', 4], ['ispb', 2]]), meta, writer: () => memoryWriter() });
    expect(r.batches.map((b) => [b.meta.isp, b.findings!.map((f) => f.id), b.afterFindingId])).toEqual([['ispb', [8], 2]]);
    expect(r.alreadyBatched).toBe(3);
  });

  it('with one ISP, takes only its findings', async () => {
    const r = await groupFindings(mixed, { since: new Map(), isp: 'ispb', meta, writer: () => memoryWriter() });
    expect(r.batches.map((b) => b.meta.isp)).toEqual(['ispb']);
    expect(r.held).toBe(0);
  });

  it('aborts the writers when the stream fails', async () => {
    let aborted = 0;
    async function* broken(): AsyncGenerator<Finding> {
      yield finding('ispa', 1);
      throw new Error('store went away');
    }
    const writer = () => ({ ...memoryWriter(), abort: async () => void aborted++ });
    await expect(groupFindings(broken(), { since: new Map(), meta, writer })).rejects.toThrow('store went away');
    expect(aborted).toBe(1);
  });
});

describe('fileWriter', () => {
  it('writes every format with the digest and size of its bytes', async () => {
    const many = Array.from({ length: 3000 }, (_, i) => finding('ispa', i + 1, { device: { type: 'router', vendor: 'ア,"=x"', model: `M-${i}`, firmware: null } }));
    const out = mkdtempSync(join(dir, 'files-'));
    const r = await groupFindings(many, { since: new Map(), meta, writer: (m) => fileWriter(out, m) });
    const files = r.batches[0]!.files;
    expect(files.map((f) => f.name)).toEqual(['IOTC-20261201-ispa-0001.csv', 'IOTC-20261201-ispa-0001.json', 'IOTC-20261201-ispa-0001.intelmq.jsonl']);
    for (const f of files) {
      const bytes = readFileSync(join(out, f.name));
      expect(f.bytes).toBe(bytes.length);
      expect(f.sha256).toBe(createHash('sha256').update(bytes).digest('hex'));
    }
    const rows = parseCsv(readFileSync(join(out, files[0]!.name), 'utf8'));
    expect(rows).toHaveLength(3001);
    expect(rows[3000]![rows[0]!.indexOf('device_model')]).toBe('M-2999');
    const doc = JSON.parse(readFileSync(join(out, files[1]!.name), 'utf8')) as { findings: Finding[]; count: number };
    expect(doc.count).toBe(3000);
    expect(readFileSync(join(out, files[2]!.name), 'utf8').trim().split('\n')).toHaveLength(3000);
  });

  it('removes its partial files when the stream fails', async () => {
    const out = mkdtempSync(join(dir, 'fail-'));
    async function* broken(): AsyncGenerator<Finding> {
      for (let i = 1; i <= 5000; i++) yield finding('ispa', i);
      throw new Error('store went away');
    }
    await expect(groupFindings(broken(), { since: new Map(), meta, writer: (m) => fileWriter(out, m) })).rejects.toThrow('store went away');
    expect(readdirSync(out)).toEqual([]);
  });

  it('never overwrites an existing file', async () => {
    const out = mkdtempSync(join(dir, 'again-'));
    await groupFindings([finding('ispa', 1)], { since: new Map(), meta, writer: (m) => fileWriter(out, m) });
    const first = readFileSync(join(out, 'IOTC-20261201-ispa-0001.csv'));
    await expect(groupFindings([finding('ispa', 1, { ip: '127.90.9.9' })], { since: new Map(), meta, writer: (m) => fileWriter(out, m) })).rejects.toMatchObject({ code: 'E_ARGS' });
    expect(readFileSync(join(out, 'IOTC-20261201-ispa-0001.csv'))).toEqual(first);
  });
});
