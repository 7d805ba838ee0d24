/**
 * Benchmark: the dashboard with a million findings. Fills a fresh SQLite store (and, with --pg or
 * IOTCLEAN_TEST_POSTGRES, a fresh PostgreSQL schema) with seeded findings by store.findings.record
 * in chunks (data only: nothing is sent anywhere), then times every list page, the device page,
 * every chart image and the statistics pages server-side through app.request(), several runs
 * each, and prints the median and max per page, flagging any over 300 ms.
 *
 * The data: 24 months; a population of problem keys (device, kind) of which about 80% are found
 * again the next month (remediation) and the rest replaced by new ones; kinds, protocols, ISPs
 * (skewed, 3% held) and models (catalogue models and unknown ones) drawn with weights; one ISP and
 * one model jump in the last month (a sudden change to find).
 *
 * Run: npx tsx bench/web.ts [--findings 1000000] [--runs 5] [--pg [postgres://URL]] [--no-sqlite] [--json]
 *      (or npm run bench:web after npm run build)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { sql } from 'kysely';
import type { DeviceType, Finding, FindingKind } from '../src/core/records.js';
import { createRng, type Rng } from '../src/core/rng.js';
import { periodOf } from '../src/findings/schema.js';
import { sampleFinding } from '../src/findings/test-support.js';
import { loadCatalogue } from '../src/identify/catalogue.js';
import { openStore } from '../src/store/open.js';
import type { Store } from '../src/store/store.js';
import { pgQuery } from '../src/store/test-support.js';
import { createWebApp, webContext } from '../src/web/server.js';
import { chartNames, charts } from '../src/web/stats/data.js';
import { addTestAccounts, testAccounts, testClient, testScryptLog2N } from '../src/web/test-support.js';

export interface WebBenchOptions {
  readonly findings?: number;
  readonly runs?: number;
  /** A PostgreSQL URL: run there too. */
  readonly pg?: string;
  readonly seed?: string;
  /** Skip the SQLite run (PostgreSQL only). */
  readonly skipSqlite?: boolean;
  /** Print progress and the table (default true). */
  readonly print?: boolean;
}

export interface PageTiming {
  readonly backend: string;
  readonly page: string;
  readonly path: string;
  readonly status: number;
  readonly firstMs: number;
  readonly medianMs: number;
  readonly maxMs: number;
  /** The median is over the limit. */
  readonly over: boolean;
  /** Some run (the first, cold one, as a rule) was over the limit. */
  readonly maxOver: boolean;
}

export interface WebBenchResult {
  readonly findings: number;
  readonly fillSeconds: Record<string, number>;
  readonly timings: readonly PageTiming[];
}

export const limitMs = 300;
const months = Array.from({ length: 24 }, (_, i) => new Date(Date.UTC(2025, i, 1)).toISOString().slice(0, 7));

const kindWeights: readonly [FindingKind, number][] = [
  ['weak-credential', 45],
  ['exposed-service', 25],
  ['firmware-vulnerability', 12],
  ['infected', 10],
  ['unauthenticated-admin', 4],
  ['end-of-life', 3],
  ['c2-server', 1],
];
const protocolsOf: Partial<Record<FindingKind, readonly [string, number, number][]>> = {
  'weak-credential': [
    ['telnet', 23, 60],
    ['ssh', 22, 15],
    ['http-basic', 80, 15],
    ['http-form', 8080, 10],
  ],
  'exposed-service': [
    ['telnet', 23, 50],
    ['ftp', 21, 20],
    ['rtsp', 554, 20],
    ['telnet', 2323, 10],
  ],
  'unauthenticated-admin': [['http', 80, 1]],
  'c2-server': [['irc', 6667, 1]],
};

function weighted<T>(rng: Rng, items: readonly (readonly [T, ...unknown[]])[], weightAt: number): T {
  const total = items.reduce((s, it) => s + (it[weightAt] as number), 0);
  let r = rng.next() * total;
  for (const it of items) {
    r -= it[weightAt] as number;
    if (r < 0) return it[0];
  }
  return items.at(-1)![0];
}

interface Device {
  readonly ip: string;
  readonly isp: string | null;
  readonly model: { vendor: string; model: string; type: DeviceType };
}

/** The seeded findings, month by month (see the module comment). */
export function* benchFindings(count: number, seed = 'bench-web'): Generator<Finding> {
  const rng = createRng(seed);
  let catalogueModels: { vendor: string; model: string; type: DeviceType }[] = [];
  try {
    catalogueModels = loadCatalogue().entries.map((e) => ({ vendor: e.vendor, model: e.model, type: e.type }));
  } catch {
    // no catalogue: unknown models only
  }
  const unknownTypes: readonly DeviceType[] = ['camera', 'dvr', 'router', 'nas', 'iot'];
  const unknownModels = Array.from({ length: 20 }, (_, i) => ({ vendor: `Vendor${i % 7}`, model: `X-${100 + i}`, type: unknownTypes[i % 5]! }));
  const models = [...catalogueModels, ...unknownModels];
  const isps = Array.from({ length: 12 }, (_, i) => [`isp-${i + 1}`, 12 - i] as const);
  let nextDevice = 1;
  const newDevice = (): Device => {
    const n = nextDevice++;
    const held = rng.next() < 0.03;
    return { ip: `127.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`, isp: held ? null : weighted(rng, isps, 1), model: models[Math.floor(Math.pow(rng.next(), 2) * models.length)]! };
  };
  const perMonth = Math.ceil(count / months.length);
  let active: { device: Device; kind: FindingKind; protocol: string | null; port: number | null }[] = [];
  let made = 0;
  for (let m = 0; m < months.length && made < count; m++) {
    const month = months[m]!;
    const last = m === months.length - 1;
    // About 80% of last month's problems are still there; new ones fill the month up.
    active = active.filter(() => rng.next() < 0.8);
    while (active.length < perMonth) {
      const kind = weighted(rng, kindWeights, 1);
      const protos = protocolsOf[kind];
      const p = protos ? protos[Math.floor(rng.next() * protos.length)]! : null;
      active.push({ device: newDevice(), kind, protocol: p ? p[0] : null, port: p ? p[1] : null });
    }
    // The sudden change: in the last month one ISP and one model gain many new exposed services.
    const spike = last ? Array.from({ length: Math.max(20, Math.round(perMonth * 0.02)) }, () => ({ device: { ...newDevice(), isp: 'isp-7', model: unknownModels[3]! }, kind: 'exposed-service' as const, protocol: 'telnet', port: 23 })) : [];
    for (const a of [...active, ...spike]) {
      if (made >= count) break;
      const day = 1 + rng.int(28);
      const observedAt = `${month}-${String(day).padStart(2, '0')}T${String(rng.int(24)).padStart(2, '0')}:00:00.000Z`;
      const period = periodOf(a.kind, observedAt);
      const base = sampleFinding(a.kind);
      yield sampleFinding(a.kind, {
        ...(a.kind === 'infected' ? { details: { ...base.details, day: period } } : {}),
        ...(a.kind === 'weak-credential' ? { details: { ...base.details, authType: a.protocol } } : {}),
        ...(a.kind === 'exposed-service' ? { details: { ...base.details, service: a.protocol } } : {}),
        ip: a.device.ip,
        port: a.port,
        protocol: a.protocol,
        observedAt,
        period,
        device: { type: a.device.model.type, vendor: a.device.model.vendor, model: a.device.model.model, firmware: null },
        isp: a.device.isp,
        prefixOwner: a.device.isp,
        held: a.device.isp === null ? 'no-isp' : null,
        surveyId: null,
        evidence: [{ record: 'access-result', id: made + 1 }],
      } as Partial<Finding>);
      made++;
    }
  }
  // Fewer months than asked for? Fill the rest in the last month with new devices.
  while (made < count) {
    const observedAt = `${months.at(-1)}-15T00:00:00.000Z`;
    const d = newDevice();
    yield sampleFinding('weak-credential', { ip: d.ip, observedAt, period: periodOf('weak-credential', observedAt), device: { type: d.model.type, vendor: d.model.vendor, model: d.model.model, firmware: null }, isp: d.isp, prefixOwner: d.isp, held: d.isp === null ? 'no-isp' : null, surveyId: null });
    made++;
  }
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

async function fill(store: Store, count: number, seed: string, print: boolean): Promise<number> {
  const t0 = performance.now();
  let batch: Finding[] = [];
  let done = 0;
  for (const f of benchFindings(count, seed)) {
    batch.push(f);
    if (batch.length === 10_000) {
      await store.findings.record(batch);
      done += batch.length;
      batch = [];
      if (print && done % 100_000 === 0) process.stdout.write(`  ${done.toLocaleString('en')} findings recorded (${((performance.now() - t0) / 1000).toFixed(0)} s)\n`);
    }
  }
  if (batch.length) await store.findings.record(batch);
  return (performance.now() - t0) / 1000;
}

async function timePages(store: Store, backend: string, runs: number): Promise<PageTiming[]> {
  await addTestAccounts(store);
  const app = createWebApp(webContext(store, { scryptLog2N: testScryptLog2N }));
  const client = testClient(app, { 'accept-language': 'en' });
  const login = await client.login(testAccounts.analyst.name, testAccounts.analyst.password);
  if (login.status !== 303) throw new Error(`bench: login failed (${login.status})`);
  // Targets taken from the data: a mid-sized ISP, a common vendor, an address with findings, a deep page.
  const db = store.db;
  const vendor = (await db.selectFrom('findings_rollup_model').select('vendor').where('vendor', '<>', '').groupBy('vendor').orderBy((eb) => eb.fn.sum('n'), 'desc').limit(1).executeTakeFirst())?.vendor ?? 'NEC';
  const maxId = Number((await db.selectFrom('findings').select((eb) => eb.fn.max('id').as('m')).executeTakeFirst())?.m ?? 0);
  const ip = (await db.selectFrom('findings').select('ip').where('id', '=', Math.max(1, Math.floor(maxId / 3))).executeTakeFirst())?.ip ?? '127.0.0.1';
  const deep = Math.max(2, Math.floor(maxId / 50));
  const pages: [string, string][] = [
    ['findings, unfiltered', '/ops/findings'],
    ['findings, kind', '/ops/findings?kind=infected'],
    ['findings, ISP', '/ops/findings?isp=isp-5'],
    ['findings, held', '/ops/findings?isp=(held)'],
    ['findings, vendor', `/ops/findings?vendor=${encodeURIComponent(vendor)}`],
    ['findings, type + port', '/ops/findings?type=camera&port=554'],
    ['findings, date range', '/ops/findings?from=2025-06-01&to=2025-06-30'],
    ['findings, ISP + kind + date', '/ops/findings?isp=isp-3&kind=weak-credential&from=2026-01-01&to=2026-03-31'],
    ['findings, rare combination', '/ops/findings?isp=isp-12&kind=c2-server&type=nas'],
    ['findings, deep keyset page', `/ops/findings?before=${deep}`],
    ['device page', `/ops/devices/${ip}`],
    ['dashboard /ops', '/ops'],
    ['sudden changes', '/ops/changes'],
    ...chartNames.map((n): [string, string] => [`chart ${n}`, `/ops/stats/chart/${n}.svg`]),
    ['/ops/stats', '/ops/stats'],
    ...chartNames.filter((n) => charts[n]!.public).map((n): [string, string] => [`public chart ${n}`, `/stats/chart/${n}.svg`]),
    ['public /stats', '/stats'],
  ];
  const out: PageTiming[] = [];
  for (const [page, path] of pages) {
    const ms: number[] = [];
    let status = 0;
    for (let r = 0; r < runs; r++) {
      const t0 = performance.now();
      const res = await client.request(path);
      await res.arrayBuffer();
      ms.push(performance.now() - t0);
      status = res.status;
    }
    const max = Math.max(...ms);
    out.push({ backend, page, path, status, firstMs: ms[0]!, medianMs: median(ms), maxMs: max, over: median(ms) > limitMs, maxOver: max > limitMs });
  }
  return out;
}

/** Fill, time, clean up; every store it made is removed afterwards. */
export async function runWebBench(options: WebBenchOptions = {}): Promise<WebBenchResult> {
  const count = options.findings ?? 1_000_000;
  const runs = Math.max(1, options.runs ?? 5);
  const seed = options.seed ?? 'bench-web';
  const print = options.print ?? true;
  const dir = mkdtempSync(join(tmpdir(), 'iotclean-bench-web-'));
  const schema = `iotclean_bench_web_${process.pid}`;
  const timings: PageTiming[] = [];
  const fillSeconds: Record<string, number> = {};
  try {
    const targets: [string, () => Promise<string>][] = options.skipSqlite ? [] : [['sqlite', async () => join(dir, 'web.db')]];
    if (options.pg) {
      const url = options.pg;
      targets.push([
        'postgres',
        async () => {
          await pgQuery(url, `drop schema if exists ${schema} cascade`);
          await pgQuery(url, `create schema ${schema}`);
          return `${url}${url.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c search_path=${schema}`)}`;
        },
      ]);
    }
    for (const [backend, locate] of targets) {
      const store = await openStore(await locate());
      try {
        if (print) console.log(`${backend}: recording ${count.toLocaleString('en')} findings…`);
        fillSeconds[backend] = await fill(store, count, seed, print);
        if (print) console.log(`${backend}: recorded in ${fillSeconds[backend]!.toFixed(1)} s (${Math.round(count / fillSeconds[backend]!).toLocaleString('en')} findings/s); timing pages, ${runs} runs each`);
        // Planner statistics, as a live store has them after its autovacuum / optimize runs.
        await sql`analyze`.execute(store.db);
        timings.push(...(await timePages(store, backend, runs)));
      } finally {
        await store.close();
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
    if (options.pg) await pgQuery(options.pg, `drop schema if exists ${schema} cascade`);
  }
  if (print) printTable(count, timings);
  return { findings: count, fillSeconds, timings };
}

function printTable(count: number, timings: readonly PageTiming[]): void {
  console.log(`\nserver-side time per page with ${count.toLocaleString('en')} findings (app.request, ms; limit ${limitMs} ms)`);
  console.log(`${'back end'.padEnd(9)} ${'page'.padEnd(34)} ${'status'.padStart(6)} ${'first'.padStart(8)} ${'median'.padStart(8)} ${'max'.padStart(8)}`);
  for (const t of timings) {
    console.log(`${t.backend.padEnd(9)} ${t.page.padEnd(34)} ${String(t.status).padStart(6)} ${t.firstMs.toFixed(1).padStart(8)} ${t.medianMs.toFixed(1).padStart(8)} ${t.maxMs.toFixed(1).padStart(8)}${t.over ? `  OVER ${limitMs} ms (median)` : t.maxOver ? `  over ${limitMs} ms once (max)` : ''}`);
  }
  // The cold render of each chart (its first request, nothing cached yet) on its own line.
  for (const t of timings.filter((t) => t.page.startsWith('chart '))) console.log(`cold first render ${t.backend.padEnd(9)} ${t.page.padEnd(28)} ${t.firstMs.toFixed(1).padStart(8)} ms${t.firstMs > limitMs ? `  OVER ${limitMs} ms` : ''}`);
  const over = timings.filter((t) => t.over);
  const once = timings.filter((t) => t.maxOver && !t.over);
  console.log(`${over.length} page(s) with a median over ${limitMs} ms; ${once.length} more over it on one run (the cold first one: caches empty after new findings)`);
}

function argOf(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  // --pg URL, or --pg / IOTCLEAN_TEST_POSTGRES alone: that server.
  const pgArg = argOf('pg')?.startsWith('postgres') ? argOf('pg') : process.argv.includes('--pg') || process.env.IOTCLEAN_TEST_POSTGRES ? process.env.IOTCLEAN_TEST_POSTGRES : undefined;
  if (process.argv.includes('--pg') && !pgArg) {
    console.error('bench/web: --pg needs a URL or IOTCLEAN_TEST_POSTGRES');
    process.exit(2);
  }
  const json = process.argv.includes('--json');
  const result = await runWebBench({ findings: Number(argOf('findings') ?? 1_000_000), runs: Number(argOf('runs') ?? 5), ...(pgArg ? { pg: pgArg } : {}), skipSqlite: process.argv.includes('--no-sqlite'), print: !json });
  if (json) console.log(JSON.stringify(result, null, 2));
}
