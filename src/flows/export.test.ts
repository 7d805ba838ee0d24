import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { csvField, exportFlowsCsv } from './export.js';
import { openFlows, openFlowSink } from './storage.js';
import type { FlowRecord } from './types.js';

const dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'iotclean-flowexport-'));
  dirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const H = 3_600_000;
const T0 = Date.UTC(2026, 2, 1, 22, 0, 0);
const exporters = ['127.0.0.1:2055/0', 'file:a,b.pcap', 'file:say "hi".pcap', 'file:x\ny', '10.0.0.1:4739/4294967295'];

/** What the exporter replaced: DuckDB's own CSV writer over the same view. */
async function duckCsv(dir: string, range: { fromMs?: number; toMs?: number } = {}): Promise<string> {
  const out = join(tmp(), 'duck.csv');
  const v = await openFlows(dir, range);
  try {
    await v.connection.run(`COPY (SELECT * FROM flows) TO '${out}' (FORMAT csv)`);
  } finally {
    v.close();
  }
  return readFileSync(out, 'utf8');
}

async function ours(dir: string, range: { fromMs?: number; toMs?: number } = {}): Promise<{ text: string; rows: number; chunks: number }> {
  const parts: Buffer[] = [];
  const rows = await exportFlowsCsv(dir, (b) => void parts.push(Buffer.from(b)), range); // the buffer is reused: copy
  return { text: Buffer.concat(parts).toString('utf8'), rows, chunks: parts.length };
}

describe('exportFlowsCsv', () => {
  it('writes byte for byte what DuckDB COPY … (FORMAT csv) writes, row order included', async () => {
    const dir = tmp();
    const sink = await openFlowSink(dir, { flushRows: 7000 });
    const n = 60_000;
    const batch: FlowRecord[] = [];
    for (let i = 0; i < n; i++) {
      // Values at every digit length, 32-bit and 53-bit edges, several hours and exporters.
      const big = i % 97 === 0 ? 2 ** 53 - 1 - i : i % 89 === 0 ? 4294967296 + i : (i * 7919) % 100_000;
      batch.push({
        startMs: T0 + Math.floor((i / n) * 5 * H), endMs: T0 + Math.floor((i / n) * 5 * H) + (i % 3000), src: (i * 2654435761) >>> 0, srcPort: i % 65536,
        dst: i % 50 === 0 ? 0xffffffff : i % 51 === 0 ? 0 : 0x7f140001 + (i % 300), dstPort: (i * 31) % 65536, proto: i % 7 === 0 ? 17 : i % 11 === 0 ? 255 : 6,
        packets: 1 + (i % 10 ** (1 + (i % 9))), bytes: big, tcpFlags: i % 256, exporter: exporters[i % exporters.length]!, sampling: i % 13 === 0 ? 4294967295 : 1 + (i % 3),
      });
    }
    await sink.append(batch);
    await sink.close();
    const want = await duckCsv(dir);
    const got = await ours(dir);
    expect(got.rows).toBe(n);
    expect(got.chunks).toBeGreaterThan(1); // the buffer hand-off was exercised
    expect(want.split('\n').length).toBeGreaterThan(n);
    expect(got.text).toBe(want);
    // A range, as the view prunes it.
    const range = { fromMs: T0 + H, toMs: T0 + 3 * H };
    const r = await ours(dir, range);
    expect(r.text).toBe(await duckCsv(dir, range));
    expect(r.rows).toBeGreaterThan(0);
    expect(r.rows).toBeLessThan(n);
  });

  it('writes just the header for an empty store or range', async () => {
    const dir = tmp();
    const sink = await openFlowSink(dir);
    await sink.close();
    const got = await ours(dir);
    expect(got.rows).toBe(0);
    expect(got.text).toBe('start_ms,end_ms,src,src_port,dst,dst_port,proto,packets,bytes,tcp_flags,exporter,sampling\n');
  });

  it('quotes text fields the way DuckDB does', () => {
    expect(csvField('127.0.0.1:2055/0')).toBe('127.0.0.1:2055/0');
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('')).toBe('""');
  });
});
