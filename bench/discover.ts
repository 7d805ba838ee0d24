/**
 * bench/discover: iotclean's connect scan against nmap -sT over the same lab targets, in one
 * invocation, printing probes/s, recall against the lab's ground truth, peak RSS and the ratios.
 *
 * Scenarios (`--scenario loopback|internet|all`, default all), each in its own network namespace
 * when run as root (only `lo`), so nothing else on the machine is disturbed:
 * - loopback: the lab /16 × the default plan's ports; every closed port refuses at once, so this
 *   measures CPU per probe. iotclean also runs on a /18 of the lab to show its memory is flat.
 * - internet: a /20 lab under nftables rules (bench/silence.ts) where unused addresses and
 *   firewalled ports drop SYNs and slow devices answer after a lost SYN; both tools scan the
 *   lab's densest /23 with the plan's timeout, retries and rate. Needs root and nftables.
 *
 * Every target is in the lab's 127.x network; every run is bounded by --max-seconds.
 * Usage: node dist/bench/discover.js [--scenario S] [--devices N] [--min-rate N]
 *        [--internet-devices N] [--internet-prefix L] [--max-seconds S]
 *        diagnosis: [--concurrency N] [--timeout-ms N] [--engine auto|raw|net] [--iotclean-only]
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import SQLite from 'better-sqlite3';
import { parseDocument } from 'yaml';
import { IotcleanError } from '../src/core/errors.js';
import { defaultPlanPath, loadPlan, withPortMap, type SurveyPlan } from '../src/discover/plan.js';
import { readGroundTruth, type GroundTruth } from '../src/lab/ground-truth.js';
import { labDown, labUp, type LabState } from '../src/lab/runtime.js';
import { labPortMap } from '../src/lab/state.js';
import { measure } from './measure.js';
import { densestBlock, inBlock, parseCounters, planSilence, silenceRuleset, silenceTable } from './silence.js';
import { rerunInNamespace } from './namespace.js';

const scenarios = ['loopback', 'internet'] as const;
type Scenario = (typeof scenarios)[number];

const { values: args } = parseArgs({
  options: {
    scenario: { type: 'string', default: 'all' },
    devices: { type: 'string', default: '1000' },
    'min-rate': { type: 'string', default: '100000' },
    'internet-devices': { type: 'string', default: '240' },
    'internet-prefix': { type: 'string', default: '23' },
    concurrency: { type: 'string' },
    'timeout-ms': { type: 'string' },
    'max-seconds': { type: 'string', default: '900' },
    // Diagnosis: skip the reference tool (no ratio is printed then).
    'iotclean-only': { type: 'boolean', default: false },
    // Diagnosis: iotclean's connect engine (auto picks the raw handle).
    engine: { type: 'string', default: 'auto' },
    inner: { type: 'boolean', default: false },
  },
});

function intArg(name: keyof typeof args, min: number, max: number): number | undefined {
  const text = args[name];
  if (text === undefined || typeof text !== 'string') return undefined;
  const n = Number(text);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new IotcleanError('E_ARGS', `--${name} must be a whole number in ${min}..${max}, got "${text}"`, { hint: 'see the usage line at the top of bench/discover.ts' });
  }
  return n;
}

const opt = {
  devices: intArg('devices', 1, 100_000)!,
  minRate: intArg('min-rate', 1, 10_000_000)!,
  internetDevices: intArg('internet-devices', 1, 1000)!,
  // A /20 lab; smaller blocks keep the silent probes (each costs timeout × tries) bounded.
  internetPrefix: intArg('internet-prefix', 20, 28)!,
  concurrency: intArg('concurrency', 1, 60_000),
  timeoutMs: intArg('timeout-ms', 50, 60_000),
  maxSeconds: intArg('max-seconds', 10, 3600)!,
};
const chosen: readonly Scenario[] = args.scenario === 'all' ? scenarios : scenarios.filter((s) => s === args.scenario);
if (!['auto', 'raw', 'net'].includes(args.engine!)) throw new IotcleanError('E_ARGS', `--engine must be auto, raw or net, got "${args.engine}"`);
if (chosen.length === 0) throw new IotcleanError('E_ARGS', `--scenario must be loopback, internet or all, got "${args.scenario}"`);

const internetNetwork = '127.78.0.0/20';

function have(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
}

/** Run nmap beside iotclean, unless asked not to or it is missing (said once per scenario). */
function withNmap(): boolean {
  if (args['iotclean-only']) return false;
  if (have('nmap')) return true;
  console.log('nmap not installed (apt-get install nmap): iotclean alone');
  return false;
}

const isRoot = process.getuid?.() === 0;

interface Run {
  readonly tool: string;
  /** (address, port) targets covered. */
  readonly probes: number;
  readonly seconds: number;
  readonly found: ReadonlySet<string>;
  readonly peakRssMb?: number;
  /** iotclean only: connection attempts (retries included) and targets that timed out. */
  readonly sent?: number;
  readonly timeouts?: number;
}

interface Timing {
  readonly timeoutMs: number;
  readonly retries: number;
}

/** The default plan, or a copy with other settings (for finding where the time goes); nmap follows it. */
async function benchPlan(dir: string): Promise<{ file: string; plan: SurveyPlan }> {
  const changes: [string, number][] = [];
  if (opt.concurrency !== undefined) changes.push(['concurrency', opt.concurrency]);
  if (opt.timeoutMs !== undefined) changes.push(['timeoutMs', opt.timeoutMs]);
  if (changes.length === 0) return { file: defaultPlanPath(), plan: await loadPlan(defaultPlanPath()) };
  const doc = parseDocument(readFileSync(defaultPlanPath(), 'utf8'));
  for (const [key, value] of changes) doc.set(key, value);
  doc.set('version', `${String(doc.get('version'))}-bench-${changes.map(([k, v]) => `${k}${v}`).join('-')}`);
  const file = join(dir, 'plan.yaml');
  writeFileSync(file, doc.toString());
  return { file, plan: await loadPlan(file) };
}

function cliArgv(): string[] {
  const cli = new URL(import.meta.url.endsWith('.ts') ? '../src/cli/main.ts' : '../src/cli/main.js', import.meta.url).pathname;
  return [process.execPath, ...(cli.endsWith('.ts') ? ['--import', 'tsx'] : []), cli];
}

async function runIotclean(o: { labDir: string; targets: string; probes: number; planFile: string; rate?: number; dir: string; tag: string }): Promise<Run> {
  const db = join(o.dir, `bench-${o.tag}.db`);
  const argv = [...cliArgv(), 'discover', '--lab', o.labDir, '--targets', o.targets, '--plan', o.planFile, '--seed', '1', '--db', db, '--engine', args.engine!, '--json'];
  if (o.rate !== undefined) argv.push('--rate', String(o.rate));
  const m = await measure(argv, opt.maxSeconds);
  if (m.timedOut) throw new Error(`iotclean discover passed the ${opt.maxSeconds} s limit on ${o.targets}`);
  if (m.code !== 0) throw new Error(`iotclean discover exited ${m.code}`);
  const r = JSON.parse(m.stdout) as { probesSent: number; timeouts: number; surveyId: number };
  const d = new SQLite(db, { readonly: true });
  const rows = d.prepare('select ip, port from endpoints where survey_id = ?').all(r.surveyId) as { ip: string; port: number }[];
  d.close();
  return {
    tool: 'iotclean',
    probes: o.probes,
    seconds: m.seconds,
    found: new Set(rows.map((x) => `${x.ip}:${x.port}`)),
    ...(m.peakRssMb !== undefined ? { peakRssMb: m.peakRssMb } : {}),
    sent: r.probesSent,
    timeouts: r.timeouts,
  };
}

/** nmap's timing flags matched to the plan: one fixed timeout (no adaptive shortening), same retries. */
function nmapTiming(t: Timing): string[] {
  const ms = `${t.timeoutMs}ms`;
  return ['--max-retries', String(t.retries), '--initial-rtt-timeout', ms, '--min-rtt-timeout', ms, '--max-rtt-timeout', ms];
}

async function runNmap(targets: string, ports: readonly number[], probes: number, flags: readonly string[], dir: string): Promise<Run> {
  const out = join(dir, 'nmap.gnmap');
  const m = await measure(['nmap', '-sT', '-n', '-Pn', ...flags, '-p', ports.join(','), '-oG', out, targets], opt.maxSeconds);
  if (m.timedOut) throw new Error(`nmap passed the ${opt.maxSeconds} s limit on ${targets}`);
  if (m.code !== 0) throw new Error(`nmap exited ${m.code}`);
  const found = new Set<string>();
  for (const line of readFileSync(out, 'utf8').split('\n')) {
    const match = /^Host: (\S+) .*Ports: (.*)$/.exec(line);
    if (!match) continue;
    for (const entry of match[2]!.split(', ')) {
      const [port, state] = entry.split('/');
      if (state === 'open') found.add(`${match[1]}:${port}`);
    }
  }
  return { tool: 'nmap -sT', probes, seconds: m.seconds, found, ...(m.peakRssMb !== undefined ? { peakRssMb: m.peakRssMb } : {}) };
}

const fmt = (n: number) => Math.round(n).toLocaleString('en');

function printTable(runs: readonly Run[], expected: ReadonlySet<string>): void {
  console.log('\ntool        probes/s   seconds   recall   false+   peak RSS');
  for (const r of runs) {
    const hits = [...r.found].filter((x) => expected.has(x)).length;
    console.log(
      `${r.tool.padEnd(10)} ${fmt(r.probes / r.seconds).padStart(9)} ${r.seconds.toFixed(1).padStart(9)}   ${((100 * hits) / expected.size).toFixed(2).padStart(6)}%  ${String(r.found.size - hits).padStart(6)}   ${r.peakRssMb !== undefined ? `${r.peakRssMb} MB` : '-'}`,
    );
  }
  for (const r of runs) {
    const extra = [...r.found].filter((x) => !expected.has(x));
    const missed = [...expected].filter((x) => !r.found.has(x));
    if (extra.length > 0) console.log(`  ${r.tool} false positives: ${extra.slice(0, 8).join(' ')}${extra.length > 8 ? ' …' : ''}`);
    if (missed.length > 0) console.log(`  ${r.tool} missed: ${missed.slice(0, 8).join(' ')}${missed.length > 8 ? ' …' : ''}`);
  }
  const [ours, nmap] = runs;
  if (ours && nmap) {
    const rss = ours.peakRssMb !== undefined && nmap.peakRssMb !== undefined ? `, ${(ours.peakRssMb / nmap.peakRssMb).toFixed(2)}x peak RSS` : '';
    console.log(`ratio iotclean / nmap -sT: ${(ours.probes / ours.seconds / (nmap.probes / nmap.seconds)).toFixed(2)}x probes/s${rss}`);
  }
  console.log('(probes = address × port targets covered; seconds and peak RSS are each process\'s, spawn to exit)');
}

async function withLab<T>(config: { devices: number; network?: string }, body: (state: LabState, truth: GroundTruth, dir: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'iotclean-bench-'));
  const labDir = join(dir, 'lab');
  try {
    const state = await labUp({ dir: labDir, ...config });
    const truth = readGroundTruth(labDir);
    return await body(state, truth, dir);
  } finally {
    await labDown(labDir);
    rmSync(dir, { recursive: true, force: true });
  }
}

async function loopbackScenario(): Promise<void> {
  await withLab({ devices: opt.devices }, async (state, truth, dir) => {
    const expected = new Set(truth.devices.flatMap((d) => d.services.map((s) => `${d.ip}:${s.boundPort}`)));
    const { file, plan: base } = await benchPlan(dir);
    const plan = withPortMap(base, labPortMap(state));
    const ports = plan.ports.map((p) => p.port);
    const prefixLen = Number(state.network.split('/')[1]);
    const probes = 2 ** (32 - prefixLen) * ports.length;
    const nmapFlags = ['-T5', '--min-rate', String(opt.minRate), ...nmapTiming(plan)];
    console.log(`\n== scenario loopback: every closed port refuses at once (CPU per probe)`);
    console.log(`lab: ${state.devices} devices, ${expected.size} listening endpoints in ${state.network}; ${2 ** (32 - prefixLen)} addresses × ${ports.length} ports = ${fmt(probes)} probes per tool`);
    console.log(`iotclean: plan ${plan.version} (timeout ${plan.timeoutMs} ms, retries ${plan.retries}, concurrency ${plan.concurrency}), --rate 0 (unlimited)`);
    console.log(`nmap: ${args['iotclean-only'] ? 'skipped (--iotclean-only)' : `-sT -n -Pn ${nmapFlags.join(' ')}`}`);

    const runs: Run[] = [await runIotclean({ labDir: state.dir, targets: state.network, probes, planFile: file, rate: 0, dir, tag: 'full' })];
    if (withNmap()) runs.push(await runNmap(state.network, ports, probes, nmapFlags, dir));
    printTable(runs, expected);

    // Memory flat in the number of targets: the same scan over a quarter of the addresses.
    const quarter = `${state.network.split('/')[0]}/${prefixLen + 2}`;
    const small = await runIotclean({ labDir: state.dir, targets: quarter, probes: probes / 4, planFile: file, rate: 0, dir, tag: 'quarter' });
    const full = runs[0]!;
    console.log(
      `\nmemory vs targets (iotclean peak RSS): ${quarter} (${fmt(small.probes)} probes) ${small.peakRssMb ?? '-'} MB; ${state.network} (${fmt(full.probes)} probes) ${full.peakRssMb ?? '-'} MB` +
        (small.peakRssMb && full.peakRssMb ? `; ratio ${(full.peakRssMb / small.peakRssMb).toFixed(2)} for 4x the targets` : ''),
    );
  });
}

function nft(args: readonly string[], input?: string): string {
  return execFileSync('nft', args, { input, encoding: 'utf8' });
}

async function internetScenario(): Promise<void> {
  if (!isRoot || !args.inner) {
    console.log('\n== scenario internet: skipped (needs root for its network namespace and nftables rules)');
    return;
  }
  if (!have('nft')) {
    throw new IotcleanError('E_ARGS', 'the internet scenario needs nftables (nft) to make addresses silent', { hint: 'apt-get install nftables, or run --scenario loopback' });
  }
  await withLab({ devices: opt.internetDevices, network: internetNetwork }, async (state, truth, dir) => {
    const silence = planSilence(truth);
    nft(['-f', '-'], silenceRuleset(silence));
    const targets = densestBlock(truth, opt.internetPrefix);
    const addresses = 2 ** (32 - opt.internetPrefix);
    const inTargets = (ip: string) => inBlock(ip, targets);
    const expected = new Set(silence.open.filter(([ip]) => inTargets(ip)).map(([ip, port]) => `${ip}:${port}`));
    const live = silence.live.filter(inTargets).length;
    const { file, plan: base } = await benchPlan(dir);
    const plan = withPortMap(base, labPortMap(state));
    const ports = plan.ports.map((p) => p.port);
    const probes = addresses * ports.length;
    const nmapFlags = ['--min-rate', String(plan.rate), '--max-rate', String(plan.rate), ...nmapTiming(plan)];
    console.log(`\n== scenario internet: most probes meet silence (nftables in the namespace)`);
    console.log(`lab: ${state.devices} devices in ${state.network}; targets ${targets} (densest /${opt.internetPrefix}) = ${addresses} addresses × ${ports.length} ports = ${fmt(probes)} probes per tool`);
    console.log(
      `silence: ${addresses - live} of ${addresses} addresses (${((100 * (addresses - live)) / addresses).toFixed(0)}%) drop every SYN; ` +
        `${silence.firewalled.filter(inTargets).length} of ${live} devices drop SYNs to closed ports; ` +
        `${silence.slow.filter(inTargets).length} lose the first SYN of each connection (answer ~1 s later); ${expected.size} listening endpoints`,
    );
    console.log(`iotclean: plan ${plan.version}: timeout ${plan.timeoutMs} ms, retries ${plan.retries}, rate ${plan.rate}/s, concurrency ${plan.concurrency}`);
    console.log(`nmap: ${args['iotclean-only'] ? 'skipped (--iotclean-only)' : `-sT -n -Pn ${nmapFlags.join(' ')}`}`);
    const silentBound = plan.concurrency / ((plan.timeoutMs / 1000) * (plan.retries + 1));
    console.log(`iotclean's bound for silent probes: concurrency / (timeout × tries) = ${fmt(silentBound)} probes/s`);

    const drops: Record<string, number>[] = [];
    const counters = () => parseCounters(nft(['-j', 'list', 'counters', 'table', 'inet', silenceTable]));
    const before = counters();
    const runs: Run[] = [await runIotclean({ labDir: state.dir, targets, probes, planFile: file, dir, tag: 'internet' })];
    drops.push(counters());
    if (withNmap()) {
      runs.push(await runNmap(targets, ports, probes, nmapFlags, dir));
      drops.push(counters());
    }
    printTable(runs, expected);

    const ours = runs[0]!;
    console.log(`iotclean: ${fmt(ours.sent ?? 0)} connects sent (retries included), ${fmt(ours.timeouts ?? 0)} targets timed out`);
    let prev = before;
    runs.forEach((r, i) => {
      const now = drops[i]!;
      const d = (k: string) => fmt((now[k] ?? 0) - (prev[k] ?? 0));
      console.log(`SYNs dropped during ${r.tool}: unused ${d('unused')}, firewalled ${d('firewalled')}, slow (first SYN) ${d('slow')}`);
      prev = now;
    });
  });
}

async function main(): Promise<void> {
  if (!args.inner && isRoot && have('ip')) {
    let status = 0;
    for (const s of chosen) status ||= rerunInNamespace(`iotclean-bench-${process.pid}-${s}`, ['--scenario', s]);
    process.exitCode = status;
    return;
  }
  for (const s of chosen) {
    if (s === 'loopback') await loopbackScenario();
    else await internetScenario();
  }
}

await main();
