/**
 * The output formats: the CSV header equals the documented columns, RFC 4180 quoting reads back
 * exactly, device text cannot start a spreadsheet formula, no password reaches any format, the
 * JSON is the batch, IntelMQ events carry the harmonisation keys; fuzzed with hostile text.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Finding, NotificationBatch } from '../../core/records.js';
import { createRng } from '../../core/rng.js';
import { toIntelmqEvent } from '../intelmq.js';
import { finding, parseCsv } from '../test-support.js';
import { csvCell, csvColumns } from './csv.js';
import { formatNames, formats, renderBatchText } from './index.js';

const batch = (findings: readonly Finding[]): NotificationBatch => ({ kind: 'notification-batch', ticket: 'IOTC-20261201-ispa-0001', isp: 'ispa', createdAt: '2026-12-01T10:00:00.000Z', findings });

describe('CSV', () => {
  it('has the header documented in docs/notify-format.md', () => {
    const doc = readFileSync(new URL('../../../docs/notify-format.md', import.meta.url), 'utf8');
    const table = /<!-- columns[^>]*-->([\s\S]*?)<!-- \/columns -->/.exec(doc)![1]!;
    const documented = table
      .split('\n')
      .filter((l) => l.startsWith('| ') && !l.startsWith('| column') && !l.startsWith('| ---'))
      .map((l) => l.split('|')[1]!.trim());
    const header = parseCsv(renderBatchText(formats.csv, batch([])))[0];
    expect(header).toEqual(documented);
    expect(documented.length).toBe(csvColumns.length);
  });

  it('quotes commas, quotes and line breaks so they read back exactly', () => {
    const model = 'AR,100 "Pro"\r\nline2\nline3';
    const rows = parseCsv(renderBatchText(formats.csv, batch([finding('ispa', 1, { device: { type: 'router', vendor: 'A "B", C', model, firmware: ' 1.0 ' } })])));
    const col = (n: string) => rows[0]!.indexOf(n);
    expect(rows).toHaveLength(2);
    expect(rows[1]![col('device_model')]).toBe(model);
    expect(rows[1]![col('device_vendor')]).toBe('A "B", C');
    expect(rows[1]![col('device_firmware')]).toBe(' 1.0 ');
    expect(rows[1]![col('dictionary_entry')]).toBe('mirai-042');
    expect(rows[1]![col('ticket')]).toBe('IOTC-20261201-ispa-0001');
  });

  it.each(['=cmd|"/c calc"!A1', '+1+1', '-2+3', '@SUM(A1)', '\tx', '\rx', '=HYPERLINK("http://127.0.0.1")', ' =1+1', '\n-1'])('defuses a cell starting a formula: %j', (text) => {
    const rows = parseCsv(renderBatchText(formats.csv, batch([finding('ispa', 1, { device: { type: 'router', vendor: text, model: text, firmware: text }, details: { entry: 'e1', reason: text } })])));
    for (const name of ['device_vendor', 'device_model', 'device_firmware', 'reason']) {
      const cell = rows[1]![rows[0]!.indexOf(name)]!;
      expect(cell).toBe(`'${text}`);
      expect(cell[0]).toBe("'");
    }
  });

  it('leaves ordinary text alone and writes numbers as numbers', () => {
    expect(csvCell('AR-100')).toBe('AR-100');
    expect(csvCell(23)).toBe('23');
    expect(csvCell(null)).toBe('');
    expect(csvCell('ルーター')).toBe('ルーター');
  });

  it('replaces NUL, other controls and lone surrogates with U+FFFD', () => {
    expect(csvCell('a\u0000b\u001bc\uD800d')).toBe('a\uFFFDb\uFFFDc\uFFFDd');
    expect(csvCell('😀')).toBe('😀');
  });

  it('writes a byte order mark only when asked', () => {
    expect(renderBatchText(formats.csv, batch([]), { bom: true }).startsWith('\uFEFFtimestamp,')).toBe(true);
    expect(renderBatchText(formats.csv, batch([])).startsWith('timestamp,')).toBe(true);
  });
});

describe('no plaintext password in any format', () => {
  const secret = 'hunter2-s3cret';
  const leaky = finding('ispa', 7, { details: { entry: 'mirai-007', password: secret, nested: { Passwd: secret, ok: 'kept' }, list: [{ secret }] } });
  it.each(formatNames)('%s', (name) => {
    const text = renderBatchText(formats[name], batch([leaky]));
    expect(text).not.toContain(secret);
    expect(text).toContain('mirai-007');
  });
  it('JSON keeps the other details', () => {
    const doc = JSON.parse(renderBatchText(formats.json, batch([leaky]))) as { findings: Finding[] };
    expect(doc.findings[0]!.details).toEqual({ entry: 'mirai-007', nested: { ok: 'kept' }, list: [{}] });
  });
});

describe('JSON', () => {
  it('is the batch record with its findings and count', () => {
    const fs = [finding('ispa', 1), finding('ispa', 2, { kind: 'infected', port: null, protocol: null, details: { fingerprint: 'mirai' } })];
    const doc = JSON.parse(renderBatchText(formats.json, batch(fs))) as NotificationBatch & { count: number };
    expect(doc).toEqual({ ...batch(fs), count: 2 });
  });
  it('is valid for an empty batch', () => {
    expect(JSON.parse(renderBatchText(formats.json, batch([])))).toMatchObject({ findings: [], count: 0 });
  });
});

describe('IntelMQ', () => {
  const ctx = { ticket: 'T-1', observedBy: '2026-12-01T10:00:00.000Z' };
  it('maps a weak credential', () => {
    expect(toIntelmqEvent(finding('ispa', 5), ctx)).toMatchObject({
      'classification.taxonomy': 'vulnerable',
      'classification.type': 'vulnerable-system',
      'classification.identifier': 'weak-credential',
      'source.ip': '127.90.0.5',
      'source.port': 23,
      'protocol.transport': 'tcp',
      'protocol.application': 'telnet',
      'time.source': '2026-12-01T03:04:05.000Z',
      'time.observation': ctx.observedBy,
      'feed.name': 'iotclean-notify',
      'extra.ticket': 'T-1',
      'extra.dictionary_entry': 'mirai-042',
      'extra.finding_id': 5,
      'extra.device_model': 'AR-100',
    });
  });
  it('maps an infection, a C&C server, a CVE and an exposed service', () => {
    const inf = toIntelmqEvent(finding('ispa', 1, { kind: 'infected', port: null, protocol: null, details: { fingerprint: 'Mirai' } }), ctx);
    expect(inf).toMatchObject({ 'classification.taxonomy': 'malicious-code', 'classification.type': 'infected-system', 'malware.name': 'mirai' });
    expect(inf['source.port']).toBeUndefined();
    expect(toIntelmqEvent(finding('ispa', 1, { kind: 'c2-server', details: {} }), ctx)['classification.type']).toBe('c2-server');
    const vuln = toIntelmqEvent(finding('ispa', 1, { kind: 'firmware-vulnerability', details: { cves: ['CVE-2017-17215', { cve: 'CVE-2018-10561' }] } }), ctx);
    expect(vuln).toMatchObject({ 'classification.identifier': 'cve-2017-17215', 'extra.cves': ['CVE-2017-17215', 'CVE-2018-10561'] });
    expect(toIntelmqEvent(finding('ispa', 1, { kind: 'exposed-service', details: {} }), ctx)).toMatchObject({ 'classification.type': 'potentially-unwanted-accessible', 'classification.identifier': 'accessible-telnet' });
  });
});

describe('fuzz: hostile device text', () => {
  it('every format renders, CSV reads back exactly (after cleaning) and never starts a formula', () => {
    const rng = createRng('notify-formats');
    const alphabet = ['=', '+', '-', '@', '\t', '\r', '\n', '"', ',', "'", '\u0000', '\uD800', '\uDC00', 'ア', '😀', ' ', 'a', '<script>', '\u001b'];
    const text = () => Array.from({ length: rng.int(12) }, () => rng.pick(alphabet)).join('');
    for (let n = 0; n < 300; n++) {
      const f = finding('ispa', n + 1, { device: { type: 'router', vendor: text(), model: text(), firmware: text() }, details: { entry: text(), reason: text(), fingerprint: text() } });
      for (const name of formatNames) expect(typeof renderBatchText(formats[name], batch([f]))).toBe('string');
      JSON.parse(renderBatchText(formats.json, batch([f])));
      const rows = parseCsv(renderBatchText(formats.csv, batch([f])));
      expect(rows).toHaveLength(2);
      expect(rows[1]).toHaveLength(csvColumns.length);
      for (const cell of rows[1]!) expect(cell).not.toMatch(/^[=+\-@\t\r]|^\s+[=+\-@]/);
    }
  });
});
