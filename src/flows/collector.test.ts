/**
 * The collector on a real UDP socket (127.0.0.1 only): replayed softflowd exports from two
 * exporters, one of them also sending garbage, must be stored whole; the garbage is counted for
 * its exporter only. Bounded: a few hundred datagrams.
 */
import { createSocket, type Socket } from 'node:dgram';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startCollector, type FlowCollector } from './collector.js';
import { openFlows, openFlowSink } from './storage.js';

const dir = mkdtempSync(join(tmpdir(), 'iotclean-collector-'));
const sockets: Socket[] = [];
const collectors: FlowCollector[] = [];
afterAll(async () => {
  for (const s of sockets) s.close();
  for (const c of collectors) await c.close();
  rmSync(dir, { recursive: true, force: true });
});

const fixture = (v: string) =>
  readFileSync(new URL(`../../test/fixtures/flows/softflowd-${v}.hex`, import.meta.url), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((h) => Buffer.from(h, 'hex'));

async function sender(): Promise<Socket> {
  const s = createSocket('udp4');
  sockets.push(s);
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  return s;
}
const send = (s: Socket, port: number, b: Uint8Array) => new Promise<void>((r, j) => s.send(b, port, '127.0.0.1', (e) => (e ? j(e) : r())));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('UDP collector', () => {
  it('stores every flow of two exporters; one exporter\'s garbage is counted for it alone', async () => {
    const sink = await openFlowSink(join(dir, 'store'), { worker: true });
    const c = await startCollector({ host: '127.0.0.1', port: 0, sink });
    collectors.push(c);
    expect(c.stats().recvBuffer.granted).toBeGreaterThan(0);
    const good = await sender();
    const noisy = await sender();
    for (const p of fixture('v9')) await send(good, c.address.port, p);
    for (const p of fixture('v10')) {
      await send(noisy, c.address.port, p);
      await send(noisy, c.address.port, Buffer.from([0, 10, 0, 200, 1, 2, 3]));
      await send(noisy, c.address.port, p.subarray(0, 40));
    }
    const expected = fixture('v9').length + 3 * fixture('v10').length;
    for (let i = 0; i < 200 && c.stats().packets < expected; i++) await sleep(50);
    expect(c.stats().packets).toBe(expected);
    const stats = await c.close();
    await sink.close();
    const ex = Object.entries(stats.byExporter);
    const goodKey = `127.0.0.1:${good.address().port}/0`;
    const noisyKey = `127.0.0.1:${noisy.address().port}/0`;
    expect(stats.byExporter[goodKey]).toMatchObject({ records: 40, malformed: 0, missingTemplate: 0 });
    expect(stats.byExporter[noisyKey]!.records).toBe(40);
    expect(ex.reduce((a, [, v]) => a + v.malformed, 0)).toBe(4);
    expect(stats.byExporter[goodKey]!.malformed).toBe(0);
    expect(stats.kernelDrops).toBe(0);
    const view = await openFlows(join(dir, 'store'));
    try {
      const rows = (await view.connection.runAndReadAll('SELECT exporter, count(*)::INTEGER FROM flows GROUP BY 1 ORDER BY 1')).getRows();
      expect(rows).toEqual([goodKey, noisyKey].sort().map((k) => [k, 40]));
    } finally {
      view.close();
    }
  });

  it('refuses a port it cannot bind, saying which', async () => {
    const c = await startCollector({ host: '127.0.0.1', port: 0 });
    collectors.push(c);
    await expect(startCollector({ host: '127.0.0.1', port: c.address.port })).rejects.toThrow(new RegExp(`cannot listen on 127.0.0.1:${c.address.port}`));
  });
});
