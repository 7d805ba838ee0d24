/**
 * Benchmark: the ISP side's subscriber matching — 1 M findings against 10 M session-log rows.
 *
 * Generates a seeded ISP's session history (addresses reassigned every few days among 2 M
 * subscribers, plus a CGNAT pool whose public addresses are shared out in port blocks), builds the
 * in-memory interval index from it, and matches 1 M findings (95% inside some session, 5% at
 * times no session covers; CGNAT findings carry their port). Prints the build and match times,
 * matches per second and peak RSS against the 60 s target, and checks every answer
 * against the generator's truth. Only data: nothing is sent anywhere.
 *
 * Run: npx tsx bench/notify-match.ts [--sessions N] [--findings N]   (or npm run bench:notify-match after npm run build)
 */
import { pathToFileURL } from 'node:url';
import type { Finding } from '../src/core/records.js';
import { formatIpv4 } from '../src/core/ip.js';
import { createRng } from '../src/core/rng.js';
import { createSessionIndexBuilder, matchFinding } from '../src/notify/isp/match.js';

export interface MatchBenchOptions {
  readonly sessions?: number;
  readonly findings?: number;
  readonly seed?: string;
  /** Print as it goes (default true when run alone). */
  readonly log?: (line: string) => void;
}

export interface MatchBenchResult {
  readonly sessions: number;
  readonly findings: number;
  readonly buildSeconds: number;
  readonly matchSeconds: number;
  readonly totalSeconds: number;
  readonly peakRssMb: number;
  /** CPU seconds (user + system) of index build and matching: steadier than wall time on a shared machine. */
  readonly cpuSeconds: number;
  readonly matched: number;
  readonly unmatched: number;
  readonly ambiguous: number;
  /** Answers that disagree with the generator's truth (must be 0). */
  readonly wrong: number;
  readonly targetSeconds: number;
  readonly pass: boolean;
}

const day = 86_400_000;
const sessionDays = 6;
const perAddress = 5;
/** CGNAT: 16 blocks of 4096 ports per public address, each block reassigned `perAddress` times. */
const blocksPerIp = 16;
const blockSize = 4096;

/** Run the benchmark; the figures are returned and (with `log`) printed. */
export function runMatchBench(options: MatchBenchOptions = {}): MatchBenchResult {
  const sessions = options.sessions ?? 10_000_000;
  const findings = options.findings ?? 1_000_000;
  const log = options.log ?? (() => {});
  const rng = createRng(options.seed ?? 'bench-notify-match');
  const base = Date.parse('2026-11-01T00:00:00Z');
  const subscribers = 2_000_000;
  const names: string[] = new Array(subscribers);
  for (let i = 0; i < subscribers; i++) names[i] = `sub-${i}`;
  // 90% of rows whole-address sessions, 10% CGNAT port blocks.
  const cgnatRows = Math.floor(sessions / 10 / (blocksPerIp * perAddress)) * blocksPerIp * perAddress;
  const addresses = Math.floor((sessions - cgnatRows) / perAddress);
  const cgnatIps = cgnatRows / (blocksPerIp * perAddress);
  const firstIp = 0x7f100000; // 127.16.0.0: only numbers, never an address contacted
  const firstCgnat = firstIp + addresses + 1024;
  const who = (slot: number, k: number): number => (slot * 7 + k * 104_729) % subscribers;
  const imported = base + perAddress * sessionDays * day;

  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const builder = createSessionIndexBuilder(imported);
  for (let a = 0; a < addresses; a++) {
    for (let k = 0; k < perAddress; k++) {
      const start = base + k * sessionDays * day;
      // The last session of each address is still open (ends at import).
      builder.addRaw(firstIp + a, start, k === perAddress - 1 ? null : start + sessionDays * day, null, null, names[who(a, k)]!, null);
    }
  }
  for (let c = 0; c < cgnatIps; c++) {
    for (let b = 0; b < blocksPerIp; b++) {
      for (let k = 0; k < perAddress; k++) {
        const start = base + k * sessionDays * day;
        builder.addRaw(firstCgnat + c, start, start + sessionDays * day, b * blockSize, b * blockSize + blockSize - 1, names[who(addresses + c * blocksPerIp + b, k)]!, null);
      }
    }
  }
  const index = builder.build();
  const buildSeconds = (performance.now() - t0) / 1000;
  log(`index: ${index.size.toLocaleString('en')} sessions (${cgnatRows.toLocaleString('en')} CGNAT port blocks) built in ${buildSeconds.toFixed(2)} s`);

  // Findings share their constant parts, as a parsed batch's findings would not; the matcher reads only ip, time, port.
  const device = { type: 'router', vendor: null, model: null, firmware: null } as const;
  const details = {};
  const evidence: never[] = [];
  let matched = 0;
  let unmatched = 0;
  let ambiguous = 0;
  let wrong = 0;
  const t1 = performance.now();
  for (let i = 0; i < findings; i++) {
    const cg = rng.next() < 0.1;
    const outside = rng.next() < 0.05;
    const k = rng.int(perAddress);
    const at = outside ? imported + (1 + rng.int(10)) * day : base + k * sessionDays * day + rng.int(sessionDays * 86_400) * 1000;
    let ip: number;
    let port: number;
    let want: number;
    if (cg) {
      const c = rng.int(cgnatIps);
      const b = rng.int(blocksPerIp);
      ip = firstCgnat + c;
      port = b * blockSize + rng.int(blockSize);
      want = who(addresses + c * blocksPerIp + b, k);
    } else {
      const a = rng.int(addresses);
      ip = firstIp + a;
      port = 23;
      want = who(a, k);
    }
    const f: Finding = {
      kind: 'weak-credential',
      ip: formatIpv4(ip),
      port,
      protocol: 'telnet',
      observedAt: new Date(at).toISOString(),
      period: '2026-11',
      device,
      severity: 'high',
      details,
      evidence,
      surveyId: null,
      planVersion: null,
      isp: 'bench',
      prefixOwner: 'bench',
      held: null,
    };
    const m = matchFinding(index, f);
    if (m.status === 'matched') matched++;
    else if (m.status === 'unmatched') unmatched++;
    else ambiguous++;
    if (outside ? m.status !== 'unmatched' : m.subscriber !== names[want]) wrong++;
  }
  const matchSeconds = (performance.now() - t1) / 1000;
  const totalSeconds = buildSeconds + matchSeconds;
  const used = process.cpuUsage(cpu0);
  const cpuSeconds = (used.user + used.system) / 1e6;
  const peakRssMb = process.resourceUsage().maxRSS / 1024;
  const targetSeconds = 60;
  const result: MatchBenchResult = { sessions: index.size, findings, buildSeconds, matchSeconds, totalSeconds, peakRssMb, cpuSeconds, matched, unmatched, ambiguous, wrong, targetSeconds, pass: totalSeconds < targetSeconds && wrong === 0 };
  log(`match: ${findings.toLocaleString('en')} findings in ${matchSeconds.toFixed(2)} s = ${Math.round(findings / matchSeconds).toLocaleString('en')} findings/s (${matched.toLocaleString('en')} matched, ${unmatched.toLocaleString('en')} unmatched, ${ambiguous} ambiguous, ${wrong} wrong)`);
  log(`total: ${totalSeconds.toFixed(2)} s against the ${targetSeconds} s target: ${result.pass ? 'PASS' : 'FAIL'}; CPU ${cpuSeconds.toFixed(2)} s; peak RSS ${peakRssMb.toFixed(0)} MB`);
  return result;
}

function arg(name: string): number | undefined {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : undefined;
  return v !== undefined && Number.isInteger(v) && v > 0 ? v : undefined;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const sessions = arg('sessions');
  const findings = arg('findings');
  const r = runMatchBench({ ...(sessions ? { sessions } : {}), ...(findings ? { findings } : {}), log: (l) => console.log(l) });
  if (!r.pass) process.exitCode = 1;
}
