/**
 * Benchmark: writing findings to the SQLite store (store.findings.record).
 *
 * Builds 100,000 seeded weak-credential and firmware-vulnerability findings (data only, nothing
 * is sent) and records them in batches of 10,000: every one validated, deduplicated against the
 * store, inserted in chunked multi-row inserts inside one transaction per batch. Then the same
 * findings again (the dedup path: one read per chunk, no write when nothing changes) and once more
 * with new evidence (every row merged and updated). For comparison, a row-at-a-time insert of the
 * same rows (one INSERT statement per finding, one transaction) runs on a sample of 10,000.
 * Prints findings/s and peak RSS.
 *
 * Run: npx tsx bench/findings.ts [count] [postgres://URL]   (or npm run bench:findings after npm run build)
 * With a PostgreSQL URL the same runs on that server, in schemas of their own dropped afterwards.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Finding } from '../src/core/records.js';
import { createRng } from '../src/core/rng.js';
import { checkFinding, periodOf } from '../src/findings/schema.js';
import { openStore } from '../src/store/open.js';
import { pgQuery } from '../src/store/test-support.js';

const COUNT = Number(process.argv[2] ?? 100_000);
const BATCH = 10_000;
const NAIVE_SAMPLE = 10_000;
const PG_URL = process.argv[3]?.startsWith('postgres') ? process.argv[3] : undefined;
const pgSchemas: string[] = [];

/** A fresh store location: a SQLite file, or a schema of its own on the PostgreSQL server. */
async function location(name: string): Promise<string> {
  if (!PG_URL) return join(dir, `${name}.db`);
  const schema = `iotclean_bench_findings_${name}_${process.pid}`;
  await pgQuery(PG_URL, `create schema ${schema}`);
  pgSchemas.push(schema);
  return `${PG_URL}${PG_URL.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c search_path=${schema}`)}`;
}

const rng = createRng('bench-findings');

function finding(i: number): Finding {
  const observedAt = new Date(Date.UTC(2026, 11, 1) + rng.int(28 * 86_400_000)).toISOString();
  const ip = `127.${(i >>> 16) & 255}.${(i >>> 8) & 255}.${i & 255}`;
  const common = {
    ip,
    observedAt,
    device: { type: 'router', vendor: 'Acme', model: `R-${rng.int(100)}`, firmware: `1.${rng.int(10)}` },
    surveyId: 1,
    planVersion: '2026.12-1',
    isp: `isp${rng.int(20)}`,
    prefixOwner: null as string | null,
    held: null,
  } as const;
  const base = { ...common, prefixOwner: common.isp };
  if (i % 4 === 0) {
    return {
      ...base,
      kind: 'firmware-vulnerability',
      port: null,
      protocol: null,
      period: periodOf('firmware-vulnerability', observedAt),
      severity: 'critical',
      details: { cves: [{ cve: 'CVE-2023-1389', status: 'affected', kev: true, epss: 0.9, cvss: 8.8, level: 'critical' }], threat: { level: 'critical', cves: 1, kev: 1, maxEpss: 0.9, maxCvss: 8.8 } },
      evidence: [{ record: 'identification', id: i + 1 }, { record: 'vulnerability-match', id: i + 1 }],
    };
  }
  return {
    ...base,
    kind: 'weak-credential',
    port: 23,
    protocol: 'telnet',
    period: periodOf('weak-credential', observedAt),
    severity: 'critical',
    details: { entry: `entry-${rng.int(60)}`, username: 'admin', authType: 'telnet' },
    evidence: [{ record: 'access-result', id: i + 1 }],
  };
}

/** Wall time, and this process's CPU time (less skewed when the machine is shared and busy). */
async function timed(label: string, n: number, fn: () => Promise<void>): Promise<number> {
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  await fn();
  const s = (performance.now() - t0) / 1000;
  const c = process.cpuUsage(c0);
  const cpu = (c.user + c.system) / 1e6;
  console.log(
    `${label.padEnd(46)} ${n.toLocaleString('en').padStart(9)} in ${s.toFixed(2).padStart(6)} s  ${Math.round(n / s).toLocaleString('en').padStart(9)} findings/s  (cpu ${cpu.toFixed(2)} s, ${Math.round(n / cpu).toLocaleString('en')}/cpu-s)`,
  );
  return s;
}

const dir = mkdtempSync(join(tmpdir(), 'iotclean-bench-findings-'));
try {
  const findings = Array.from({ length: COUNT }, (_, i) => finding(i));
  console.log(`back end: ${PG_URL ? 'PostgreSQL' : 'SQLite'}`);
  const store = await openStore(await location('main'));
  await timed('validate only (checkFinding)', COUNT, async () => void findings.forEach((f) => checkFinding(f)));
  const recordAll = async (list: readonly Finding[]) => {
    for (let i = 0; i < list.length; i += BATCH) await store.findings.record(list.slice(i, i + BATCH));
  };
  const first = await timed(`record, new (batches of ${BATCH.toLocaleString('en')})`, COUNT, () => recordAll(findings));
  await timed('record again, same (dedup, nothing changes)', COUNT, () => recordAll(findings));
  const more = findings.map((f) => ({ ...f, evidence: [...f.evidence, { record: 'observation' as const, id: 'x' }] }));
  await timed('record again, new evidence (every row merged)', COUNT, () => recordAll(more));
  await timed('list all (keyset pages)', COUNT, async () => {
    let n = 0;
    for await (const _f of store.findings.list()) n++;
    if (n !== COUNT) throw new Error(`listed ${n} findings, expected ${COUNT}`);
  });
  await timed('list one ISP of 20', Math.round(COUNT / 20), async () => {
    for await (const _f of store.findings.list({ isp: 'isp3' })) void _f;
  });
  const stored = (await store.findings.countBy('kind')).values();
  const total = [...stored].reduce((a, b) => a + b, 0);
  if (total !== COUNT) throw new Error(`expected ${COUNT} stored findings, found ${total}`);

  // Row at a time, the reference a chunked insert is measured against.
  const naive = await openStore(await location('naive'));
  const sample = findings.slice(0, Math.min(NAIVE_SAMPLE, COUNT));
  const perRow = await timed('reference: one INSERT per finding', sample.length, () =>
    naive.db.transaction().execute(async (tx) => {
      for (const f of sample) {
        checkFinding(f);
        const { observedAt, evidence, isp, prefixOwner, held, ...rest } = f;
        await tx
          .insertInto('findings')
          .values({ kind: f.kind, ip: f.ip, ip_num: 0, port: f.port ?? 0, period: f.period, severity: f.severity, survey_id: f.surveyId, isp, prefix_owner: prefixOwner, held, observed_at: observedAt, evidence: JSON.stringify(evidence), body: JSON.stringify(rest) })
          .onConflict((oc) => oc.columns(['ip_num', 'kind', 'port', 'period']).doNothing())
          .execute();
      }
    }),
  );
  await naive.close();
  await store.close();
  console.log(`chunked record() is ${((perRow / sample.length) / (first / COUNT)).toFixed(1)}x the per-row insert rate; peak RSS ${Math.round(process.resourceUsage().maxRSS / 1024)} MiB`);
} finally {
  rmSync(dir, { recursive: true, force: true });
  for (const schema of pgSchemas) await pgQuery(PG_URL!, `drop schema if exists ${schema} cascade`);
}
