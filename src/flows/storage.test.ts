import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { flowColumns, type FlowRecord } from './types.js';
import { openFlows, openFlowSink, partitionOf, readFlows } from './storage.js';

const dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'iotclean-flowstore-'));
  dirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const H = 3_600_000;
const T0 = Date.UTC(2026, 2, 1, 22, 0, 0);
function flow(i: number, startMs: number, exporter = '127.0.0.1:2055/0'): FlowRecord {
  return { startMs, endMs: startMs + 1500, src: 0x7f0a0000 + i, srcPort: 1024 + (i % 1000), dst: 0x7f140001, dstPort: 23, proto: 6, packets: 3 + (i % 5), bytes: 180 + i, tcpFlags: 0x1b, exporter, sampling: 1 };
}

describe('Parquet flow store', () => {
  it('partitions by UTC hour and reads back exactly what was written, through the flows view', async () => {
    const dir = tmp();
    const sink = await openFlowSink(dir, { flushRows: 2500 });
    const written: FlowRecord[] = [];
    // 10,000 flows over 4 hours crossing midnight, from two exporters, appended in small batches.
    for (let i = 0; i < 10_000; i += 100) {
      const batch = Array.from({ length: 100 }, (_, k) => flow(i + k, T0 + Math.floor(((i + k) / 10_000) * 4 * H), (i + k) % 2 ? '127.0.0.1:2055/0' : '127.0.0.2:4739/7'));
      written.push(...batch);
      await sink.append(batch);
    }
    await sink.close();
    expect(sink.counts()).toMatchObject({ rows: 10_000, pending: 0 });
    expect(readdirSync(dir).sort()).toEqual(['date=2026-03-01', 'date=2026-03-02']);
    expect(readdirSync(join(dir, 'date=2026-03-02')).sort()).toEqual(['hour=00', 'hour=01']);
    expect(partitionOf(T0 + 2 * H + 1)).toBe('date=2026-03-02/hour=00');

    const view = await openFlows(dir);
    try {
      const cols = await view.connection.runAndReadAll(`SELECT column_name, column_type FROM (DESCRIBE flows)`);
      expect(cols.getRows()).toEqual(flowColumns.map(([n, t]) => [n, t]));
      const agg = (await view.connection.runAndReadAll('SELECT count(*)::INTEGER, sum(bytes)::DOUBLE, count(DISTINCT exporter)::INTEGER FROM flows')).getRows()[0];
      expect(agg).toEqual([10_000, written.reduce((a, f) => a + f.bytes, 0), 2]);
    } finally {
      view.close();
    }
    const back: FlowRecord[] = [];
    for await (const f of readFlows(dir)) back.push(f);
    const key = (f: FlowRecord) => `${f.src}/${f.srcPort}/${f.startMs}`;
    expect(back.sort((a, b) => key(a).localeCompare(key(b)))).toEqual(written.sort((a, b) => key(a).localeCompare(key(b))));
  });

  it('opens only the partitions of a time range and hides the rows outside it', async () => {
    const dir = tmp();
    const sink = await openFlowSink(dir, { worker: true });
    await sink.append(Array.from({ length: 600 }, (_, i) => flow(i, T0 + Math.floor(i / 100) * H + (i % 100) * 1000)));
    await sink.close();
    const view = await openFlows(dir, { fromMs: T0 + 2 * H + 50_000, toMs: T0 + 4 * H });
    try {
      expect(view.partitions.map((p) => p.slice(dir.length + 1))).toEqual(['date=2026-03-02/hour=00', 'date=2026-03-02/hour=01']);
      const n = (await view.connection.runAndReadAll('SELECT count(*)::INTEGER FROM flows')).getRows()[0]![0];
      expect(n).toBe(150);
    } finally {
      view.close();
    }
    let n = 0;
    for await (const _ of readFlows(dir, { fromMs: T0 + 5 * H })) n++;
    expect(n).toBe(100);
  });

  it('an empty store is an empty flows view with the right columns', async () => {
    const dir = tmp();
    const view = await openFlows(dir);
    try {
      expect((await view.connection.runAndReadAll('SELECT count(*)::INTEGER FROM flows')).getRows()[0]![0]).toBe(0);
      expect((await view.connection.runAndReadAll('SELECT column_name FROM (DESCRIBE flows)')).getRows().map((r) => r[0])).toEqual(flowColumns.map(([n]) => n));
    } finally {
      view.close();
    }
    await expect(openFlows(join(dir, 'absent'))).rejects.toThrow(/no flow store/);
  });
});
