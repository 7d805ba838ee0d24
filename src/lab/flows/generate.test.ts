/**
 * The lab flow generator: deterministic by seed, the `flows` columns of the contract, C&C endpoints
 * that move (each botnet has several in turn, its bots follow), a known-bad list holding only some
 * bots plus weak devices that are not bots, and Parquet partitions read back through openFlowsDir.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseIpv4 } from '../../core/ip.js';
import { flowColumns } from '../../flows/types.js';
import { closeDuck, openDuck, openFlowsDir } from '../../flows/detect/relation.js';
import { generateLabFlows, knownBadOf, writeLabFlows } from './generate.js';

const dir = mkdtempSync(join(tmpdir(), 'iotclean-labflows-'));
const d = await openDuck();
afterAll(() => {
  closeDuck(d);
  rmSync(dir, { recursive: true, force: true });
});

const digest = async () => {
  const r = await d.conn.runAndReadAll('SELECT count(*), sum(hash(start_ms, src, src_port, dst, dst_port, proto, packets, bytes)) FROM flows');
  return r.getRows()[0]!.map(String).join('/');
};

describe('lab flows generator', () => {
  it('is deterministic by seed and different across seeds', async () => {
    const o = { days: 1, flows: 50_000, hosts: 2_000 };
    const t1 = await generateLabFlows(d.conn, { ...o, seed: 11 });
    const a = await digest();
    const t2 = await generateLabFlows(d.conn, { ...o, seed: 11 });
    expect(await digest()).toBe(a);
    expect(t2).toEqual(t1);
    await generateLabFlows(d.conn, { ...o, seed: 12 });
    expect(await digest()).not.toBe(a);
  });

  it('has the contract columns, moving C&C, and a partial known-bad list', async () => {
    const truth = await generateLabFlows(d.conn, { seed: 3, days: 3, flows: 120_000, hosts: 3_000 });
    const cols = await d.conn.runAndReadAll("SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'flows' ORDER BY ordinal_position");
    expect(cols.getRows().map((r) => [r[0], r[1]])).toEqual(flowColumns.map(([n, t]) => [n, t]));
    expect(Math.abs(truth.flows - 120_000) / 120_000).toBeLessThan(0.15);
    // Every botnet moves: more C&C endpoints than botnets, each with beacons in the flows.
    const families = new Set(truth.c2.map((c) => c.family));
    expect(truth.c2.length).toBeGreaterThan(families.size);
    expect(truth.c2.filter((c) => c.beacons > 0).length).toBeGreaterThan(families.size);
    const known = new Set(knownBadOf(truth));
    const bots = truth.bots.map((b) => b.ip);
    const knownBots = bots.filter((b) => known.has(b)).length;
    expect(knownBots).toBeGreaterThan(0);
    expect(knownBots).toBeLessThan(bots.length);
    expect(truth.decoys.every((ip) => known.has(ip) && !bots.includes(ip))).toBe(true);
    // The exporter field gives nothing of the class away.
    const ex = await d.conn.runAndReadAll('SELECT DISTINCT exporter FROM flows');
    expect(ex.getRows().length).toBe(1);
  });

  it('takes large subscriber spaces (host numbers past 2^31 / 100000 in the SQL)', async () => {
    const truth = await generateLabFlows(d.conn, { seed: 9, days: 0.5, flows: 20_000, hosts: 60_000 });
    expect(truth.bots.some((b) => Number(b.ip.split('.')[2]) * 256 + Number(b.ip.split('.')[3]) > 21_474 + 256)).toBe(true);
  });

  it('uses a given known-bad list for known bots and weak devices', async () => {
    const given = Array.from({ length: 400 }, (_, i) => parseIpv4('127.16.1.0')! + i * 3);
    const truth = await generateLabFlows(d.conn, { seed: 4, days: 1, flows: 40_000, hosts: 2_000, knownBad: given });
    const g = new Set(given.map((n) => `127.16.${(n >> 8) & 255}.${n & 255}`));
    expect(truth.bots.filter((b) => b.known).every((b) => g.has(b.ip))).toBe(true);
    expect(truth.decoys.every((ip) => g.has(ip))).toBe(true);
  });

  it('writes hour partitions that read back as the flows view, and the truth apart', async () => {
    const truth = await generateLabFlows(d.conn, { seed: 5, days: 0.5, flows: 30_000, hosts: 1_000 });
    const out = join(dir, 'lab');
    const truthFile = join(dir, 'truth-elsewhere.json');
    await writeLabFlows(d.conn, out, truth, truthFile);
    expect(JSON.parse(readFileSync(truthFile, 'utf8')).kind).toBe('lab-flows-truth');
    const r = await openDuck();
    try {
      await openFlowsDir(r.conn, out);
      const n = await r.conn.runAndReadAll('SELECT count(*) FROM flows');
      expect(Number(n.getRows()[0]![0])).toBe(truth.flows);
      const files = await r.conn.runAndReadAll(`SELECT count(*) FROM glob('${out}/date=*/hour=*/*.parquet')`);
      expect(Number(files.getRows()[0]![0])).toBeGreaterThanOrEqual(12);
      await expect(openFlowsDir(r.conn, join(dir, 'nothing-here'))).rejects.toThrow(/does not exist/);
    } finally {
      closeDuck(r);
    }
  });
});
