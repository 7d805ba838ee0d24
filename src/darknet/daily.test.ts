/**
 * Per-day aggregates: the sums match the source summaries they come from, the store keeps them on
 * both back ends and a re-analysed day replaces (never adds to) its rows, and Parquet output reads
 * back through DuckDB row for row.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { darknetFindingsForLab } from '../lab/darknet/lab-capture.js';
import { buildLab, type LabPlan } from '../lab/population.js';
import { formatIspTable, parseIspTable, type IspTable } from '../scope/isp.js';
import { openStore } from '../store/open.js';
import type { Store } from '../store/store.js';
import { storeBackends } from '../store/test-support.js';
import { analyseCaptures, type AnalyseResult } from './analyse.js';
import { dailyAggregates } from './daily.js';
import { writeSourcesParquet } from './parquet.js';

const dir = mkdtempSync(join(tmpdir(), 'iotclean-dkdays-'));
const { backends, cleanup } = storeBackends('dkdays', { fresh: true });
afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  await cleanup();
});

let plan: LabPlan;
let isps: IspTable;
let analysis: AnalyseResult;
beforeAll(async () => {
  plan = buildLab({ seed: 'dkdays', devices: 300 });
  isps = parseIspTable(formatIspTable(plan.ispRows), 'lab');
  const lab = darknetFindingsForLab(plan, { dir: join(dir, 'lab'), packets: 40_000 });
  analysis = await analyseCaptures([lab.capture]);
});

describe('dailyAggregates', () => {
  it('accounts for every source, infected source and packet once, keyed by day, class, fingerprint and ISP', () => {
    const days = dailyAggregates(analysis.sources, isps);
    expect(days.reduce((n, d) => n + d.sources, 0)).toBe(analysis.sources.length);
    expect(days.reduce((n, d) => n + d.infected, 0)).toBe(analysis.sources.filter((s) => s.infected).length);
    expect(days.reduce((n, d) => n + d.packets, 0)).toBe(analysis.sources.reduce((n, s) => n + s.packets, 0));
    const keys = days.map((d) => `${d.day}|${d.class}|${d.fingerprint}|${d.isp}`);
    expect(new Set(keys).size).toBe(keys.length);
    // Mirai-style sources of a lab ISP are counted under that ISP, with telnet among their top ports.
    const mirai = days.filter((d) => d.fingerprint === 'mirai' && d.isp !== null);
    expect(mirai.length).toBeGreaterThan(0);
    expect(mirai.some((d) => d.topPorts[0]?.port === 23)).toBe(true);
    for (const d of days) expect(d.topPorts.length).toBeLessThanOrEqual(10);
  });
});

describe.each(backends)('store.darknet (%s)', (_name, locate) => {
  let store: Store;
  beforeAll(async () => {
    store = await openStore(await locate());
  });
  afterAll(async () => store?.close());

  it('stores the aggregates and replaces a day analysed again', async () => {
    const days = dailyAggregates(analysis.sources, isps);
    await store.darknet.recordDays(days);
    await store.darknet.recordDays(days);
    const back = await store.darknet.days();
    expect(back).toEqual(days);
    // A day re-analysed from fewer sources keeps only the new figures.
    const day = days[0]!.day;
    const fewer = dailyAggregates(analysis.sources.filter((s) => s.day === day).slice(0, 5), isps);
    await store.darknet.recordDays(fewer);
    const same = (await store.darknet.days({ from: day, to: day })).reduce((n, d) => n + d.sources, 0);
    expect(same).toBe(5);
  });
});

describe('writeSourcesParquet', () => {
  it('writes one folder per day that DuckDB reads back row for row, and appends on a second write', async () => {
    const out = join(dir, 'parquet');
    expect(await writeSourcesParquet(out, analysis.sources)).toBe(analysis.sources.length);
    await writeSourcesParquet(out, analysis.sources.slice(0, 10));
    const instance = await DuckDBInstance.create(':memory:');
    const db = await instance.connect();
    try {
      const rows = (await db.runAndReadAll(`select day, count(*)::integer n, sum(packets)::bigint p, count(*) filter (where infected)::integer inf from read_parquet('${out}/*/*.parquet', hive_partitioning = true) group by day order by day`)).getRowObjects();
      const byDay = new Map<string, { n: number; p: number; inf: number }>();
      for (const s of analysis.sources) {
        const d = byDay.get(s.day) ?? { n: 0, p: 0, inf: 0 };
        byDay.set(s.day, { n: d.n + 1, p: d.p + s.packets, inf: d.inf + (s.infected ? 1 : 0) });
      }
      const extra = analysis.sources.slice(0, 10);
      for (const s of extra) {
        const d = byDay.get(s.day)!;
        byDay.set(s.day, { n: d.n + 1, p: d.p + s.packets, inf: d.inf + (s.infected ? 1 : 0) });
      }
      expect(rows.map((r) => ({ day: String(r.day), n: Number(r.n), p: Number(r.p), inf: Number(r.inf) }))).toEqual([...byDay].sort().map(([day, v]) => ({ day, ...v })));
    } finally {
      db.closeSync();
      instance.closeSync();
    }
  });
});
