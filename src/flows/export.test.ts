import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { exportFlowsCsv } from './export.js';
import { openFlowSink, readFlows } from './storage.js';
import { flowColumns, type FlowRecord } from './types.js';

const dir = mkdtempSync(join(tmpdir(), 'iotclean-flowexport-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const H = 3_600_000;
const T0 = Date.UTC(2026, 2, 1, 22, 0, 0);
const exporters = ['127.0.0.1:2055/0', 'file:a,b.pcap', 'file:say "hi".pcap'];

/** A minimal RFC 4180 reader: enough to read the export back. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') (field += '"'), i++;
      else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') row.push(field), (field = '');
    else if (ch === '\n') row.push(field), rows.push(row), (row = []), (field = '');
    else field += ch;
  }
  return rows;
}

describe('exportFlowsCsv', () => {
  it('writes every stored flow of the range with every column, and reads back to the same records', async () => {
    const store = join(dir, 'store');
    const sink = await openFlowSink(store, { flushRows: 700 });
    const batch: FlowRecord[] = [];
    for (let i = 0; i < 3000; i++) {
      const start = T0 + Math.floor((i / 3000) * 5 * H);
      batch.push({
        startMs: start, endMs: start + (i % 3000), src: (i * 2654435761) >>> 0, srcPort: i % 65536, dst: i % 50 === 0 ? 0xffffffff : 0x7f140001 + (i % 300),
        dstPort: (i * 31) % 65536, proto: i % 7 === 0 ? 17 : 6, packets: 1 + i, bytes: i % 97 === 0 ? 2 ** 53 - 1 - i : 40 * i, tcpFlags: i % 256,
        exporter: exporters[i % exporters.length]!, sampling: 1 + (i % 3),
      });
    }
    await sink.append(batch);
    await sink.close();
    const range = { fromMs: T0 + H, toMs: T0 + 3 * H };
    const out = join(dir, 'out.csv');
    const rows = await exportFlowsCsv(store, out, range);
    const [header, ...body] = parseCsv(readFileSync(out, 'utf8'));
    expect(header).toEqual(flowColumns.map(([name]) => name));
    expect(body).toHaveLength(rows);
    const want: FlowRecord[] = [];
    for await (const f of readFlows(store, range)) want.push(f);
    expect(rows).toBe(want.length);
    expect(rows).toBeGreaterThan(0);
    expect(rows).toBeLessThan(batch.length);
    const key = (f: FlowRecord) => JSON.stringify([f.startMs, f.endMs, f.src, f.srcPort, f.dst, f.dstPort, f.proto, f.packets, f.bytes, f.tcpFlags, f.exporter, f.sampling]);
    const got = body.map((r) => JSON.stringify(r.map((v, i) => (i === 10 ? v : Number(v)))));
    expect(got.sort()).toEqual(want.map(key).sort());
  });
});
