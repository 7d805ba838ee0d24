/**
 * Benchmark: centre → ISP batching at national scale. 1 M generated findings (seeded: several
 * ISPs of different sizes, every finding kind, a share held for attribution) stream through the
 * real notify run (src/notify/run.ts makeBatches: per-ISP grouping since the last batch, ticket
 * ids, batch rows in a SQLite store) into CSV and JSON files (IntelMQ too with --intelmq). Prints the time, findings/s,
 * bytes written and peak RSS; target under 30 s. A generation-only pass is timed first so the
 * figure for batching can be read without it. Only files: nothing is sent anywhere.
 *
 * The matching half of issue 9's bench (1 M findings against 10 M session-log rows, target under
 * 60 s) is bench/notify-match.ts's runMatchBench(), written with the ISP side: the lead joins it
 * in main() below.
 *
 * Run: npm run build && node dist/bench/notify.js [--findings N] [--isps N] [--sessions N] [--seed S] [--keep] [--intelmq]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createRng } from '../src/core/rng.js';
import { findingKinds, type Finding, type FindingKind } from '../src/core/records.js';
import type { FindingFilter } from '../src/findings/types.js';
import { makeBatches } from '../src/notify/run.js';
import { openStore } from '../src/store/open.js';
import { runMatchBench } from './notify-match.js';

const MAX_FINDINGS = 20_000_000;

export interface BatchBenchOptions {
  readonly findings: number;
  readonly isps: number;
  readonly seed: string;
  readonly keep?: boolean;
  /** Write the IntelMQ file too (the target counts CSV and JSON). */
  readonly intelmq?: boolean;
}

export interface BatchBenchResult {
  readonly findings: number;
  readonly batches: number;
  readonly held: number;
  readonly generateSeconds: number;
  readonly seconds: number;
  /** CPU time of this process during the run (user + system): the figure a loaded machine does not inflate. */
  readonly cpuSeconds: number;
  readonly bytesWritten: number;
  readonly peakRssMb: number;
  readonly dir: string | null;
  readonly formats: string;
}

const vendors = [['Acme', 'AR-100', 'router'], ['Hikam', 'DS-2CD', 'camera'], ['Dahva', 'XVR-5104', 'dvr'], ['Synolo', 'DS-218', 'nas'], ['ルーター工房', 'WR-9000', 'router']] as const;
const protocols = ['telnet', 'ssh', 'http-basic', 'http-form', 'rtsp', 'ftp'] as const;

/** `n` findings in id order, the same for the same seed; ISPs get Zipf-like shares. */
export function* generateFindings(n: number, isps: number, seed: string, afterId = 0): Generator<Finding> {
  const rng = createRng(seed);
  const weights = Array.from({ length: isps }, (_, i) => 1 / (i + 1));
  const total = weights.reduce((a, b) => a + b, 0);
  const cumulative = weights.map(((sum) => (w: number) => (sum += w / total))(0));
  const pickIsp = () => {
    const x = rng.next();
    const i = cumulative.findIndex((c) => x < c);
    return `isp${String(i < 0 ? isps - 1 : i).padStart(2, '0')}`;
  };
  const base = Date.parse('2026-12-01T00:00:00.000Z');
  for (let k = 1; k <= n; k++) {
    const id = afterId + k;
    const kind: FindingKind = rng.next() < 0.55 ? 'weak-credential' : rng.pick(findingKinds);
    const held = rng.next() < 0.04;
    const isp = held ? null : pickIsp();
    const [vendor, model, type] = rng.pick(vendors);
    const portBound = kind !== 'infected' && kind !== 'end-of-life';
    const protocol = portBound ? rng.pick(protocols) : null;
    const details: Record<string, unknown> =
      kind === 'weak-credential' ? { entry: `mirai-${rng.int(62)}` }
      : kind === 'firmware-vulnerability' ? { cves: [`CVE-20${17 + rng.int(8)}-${1000 + rng.int(50000)}`] }
      : kind === 'infected' || kind === 'c2-server' ? { fingerprint: rng.pick(['mirai', 'gafgyt', 'mozi']) }
      : { reason: rng.next() < 0.1 ? '=cmd|"/c calc"!A1' : 'seen open' };
    yield {
      kind,
      id,
      ip: `127.${1 + rng.int(250)}.${rng.int(256)}.${1 + rng.int(254)}`,
      port: portBound ? rng.pick([23, 22, 80, 8080, 554, 21, 2323]) : null,
      protocol,
      observedAt: new Date(base + rng.int(28 * 86_400_000)).toISOString(),
      period: '2026-12',
      device: { type, vendor, model, firmware: `${1 + rng.int(4)}.${rng.int(10)}.${rng.int(30)}` },
      severity: rng.pick(['critical', 'high', 'medium', 'low'] as const),
      details,
      evidence: [{ record: 'access-result', id }],
      surveyId: 1,
      planVersion: '2026.12-1',
      isp,
      prefixOwner: isp ?? (rng.next() < 0.5 ? 'isp-np' : null),
      held: held ? rng.pick(['no-isp', 'not-participating', 'resold-no-participant'] as const) : null,
    };
  }
}

/** The batching half: generated findings → batches, rows and files. */
export async function runBatchBench(o: BatchBenchOptions): Promise<BatchBenchResult> {
  if (!Number.isInteger(o.findings) || o.findings < 1 || o.findings > MAX_FINDINGS) throw new Error(`--findings must be an integer in 1..${MAX_FINDINGS}`);
  if (!Number.isInteger(o.isps) || o.isps < 1 || o.isps > 99) throw new Error('--isps must be an integer in 1..99');
  let t0 = performance.now();
  let generated = 0;
  for (const _ of generateFindings(o.findings, o.isps, o.seed)) generated++;
  const generateSeconds = (performance.now() - t0) / 1000;

  const dir = mkdtempSync(join(tmpdir(), 'iotclean-bench-notify-'));
  const store = await openStore(join(dir, 'notify.db'));
  try {
    const findings = {
      async *list(_filter?: FindingFilter) {
        yield* generateFindings(o.findings, o.isps, o.seed);
      },
    };
    t0 = performance.now();
    const cpu0 = process.cpuUsage();
    const { rows, group } = await makeBatches({ findings, notifications: store.notifications }, { out: dir, formats: o.intelmq ? ['csv', 'json', 'intelmq'] : ['csv', 'json'] });
    const seconds = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const counted = rows.reduce((n, r) => n + r.findingCount, 0) + group.held;
    if (counted !== generated) throw new Error(`batched ${counted} findings (held included) of ${generated}`);
    return {
      findings: generated,
      batches: rows.length,
      held: group.held,
      generateSeconds,
      seconds,
      cpuSeconds: (cpu.user + cpu.system) / 1e6,
      bytesWritten: rows.reduce((n, r) => n + r.files.reduce((m, f) => m + f.bytes, 0), 0),
      peakRssMb: process.resourceUsage().maxRSS / 1024,
      dir: o.keep ? dir : null,
      formats: o.intelmq ? 'CSV + JSON + IntelMQ' : 'CSV + JSON',
    };
  } finally {
    await store.close();
    if (!o.keep) rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      findings: { type: 'string', default: '1000000' },
      isps: { type: 'string', default: '8' },
      seed: { type: 'string', default: 'notify-bench' },
      keep: { type: 'boolean', default: false },
      intelmq: { type: 'boolean', default: false },
      sessions: { type: 'string', default: '10000000' },
    },
  });
  const r = await runBatchBench({ findings: Number(values.findings), isps: Number(values.isps), seed: values.seed, keep: values.keep, intelmq: values.intelmq });
  const mb = (b: number) => `${(b / 1e6).toFixed(0)} MB`;
  console.log(`notify batches: ${r.findings.toLocaleString('en')} findings → ${r.batches} per-ISP batches (${r.held.toLocaleString('en')} held, not sent), ${r.formats} ${mb(r.bytesWritten)}`);
  console.log(`  time ${r.seconds.toFixed(1)} s (${Math.round(r.findings / r.seconds).toLocaleString('en')} findings/s; CPU ${r.cpuSeconds.toFixed(1)} s; generating them alone ${r.generateSeconds.toFixed(1)} s), peak RSS ${r.peakRssMb.toFixed(0)} MB; target < 30 s: ${r.seconds < 30 ? 'met' : 'MISSED'}`);
  if (r.dir) console.log(`  files kept in ${r.dir}`);
  // The ISP side's half, in the same invocation (its RSS figure is this process's peak so far).
  const m = runMatchBench({ sessions: Number(values.sessions), findings: Number(values.findings) });
  console.log(`notify matching: ${m.findings.toLocaleString('en')} findings against ${m.sessions.toLocaleString('en')} session rows: index ${m.buildSeconds.toFixed(1)} s + match ${m.matchSeconds.toFixed(1)} s = ${m.totalSeconds.toFixed(1)} s (CPU ${m.cpuSeconds.toFixed(1)} s), ${m.matched.toLocaleString('en')} matched, ${m.unmatched.toLocaleString('en')} unmatched, ${m.ambiguous.toLocaleString('en')} ambiguous, ${m.wrong} wrong; peak RSS ${m.peakRssMb.toFixed(0)} MB; target < ${m.targetSeconds} s: ${m.pass ? 'met' : 'MISSED'}`);
}

if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) await main();
