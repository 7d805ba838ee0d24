/**
 * bench/grab: iotclean's grab + identify against nmap -sV on the same lab endpoints, in one
 * invocation, printing endpoints/s for both, the ratio, and how many devices each identified
 * correctly against the lab's ground truth (the rules are in bench/grab-score.ts).
 *
 * As root it re-runs itself inside a fresh network namespace (only `lo`), starts a lab of
 * --devices devices there, and samples whole devices, every profile in turn, until --endpoints
 * services are covered (ssh, http, telnet, rtsp, and ftp/mqtt where the lab has them, plus the
 * tarpits, garbage and endless banners). Then, on exactly those addresses and the union of their
 * ports:
 *   (a) `iotclean survey --stages discover,grab,identify --targets <the addresses> --ports <ports>`,
 *       timed from spawn to exit (its own port scan included, as nmap's is), then
 *       `iotclean devices --json` (not timed); the scores read the store's whole identification
 *       records (host rows, service layer), falling back to the `devices` rows;
 *   (b) `nmap -sV -Pn -n -p <ports> --host-timeout S -oX <file> <the addresses>`, timed the same way.
 *
 * Every target is in the lab's 127.x network inside the namespace; both tools are bounded by
 * --max-seconds, nmap's hosts also by --host-timeout.
 * Usage: node dist/bench/grab.js [--endpoints N] [--devices N] [--seed S] [--host-timeout S]
 *        [--max-seconds S] [--recog DIR] [--show-mistakes N]
 *        diagnosis: [--iotclean-only] [--nmap-only]
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import SQLite from 'better-sqlite3';
import { IotcleanError } from '../src/core/errors.js';
import { readGroundTruth, type GroundTruth, type GroundTruthDevice } from '../src/lab/ground-truth.js';
import { labDown, labUp, type LabState } from '../src/lab/runtime.js';
import {
  expectationOf,
  iotcleanSoftwareRight,
  nmapSoftwareRight,
  parseNmapXml,
  pickDevices,
  scoreIotclean,
  scoreNmap,
  softwareOf,
  type DeviceRow,
  type Expectation,
  type NmapPort,
  type Score,
  type Software,
} from './grab-score.js';
import { measure } from './measure.js';
import { rerunInNamespace } from './namespace.js';

const { values: args } = parseArgs({
  options: {
    endpoints: { type: 'string', default: '100' },
    devices: { type: 'string', default: '300' },
    seed: { type: 'string', default: 'bench-grab' },
    'host-timeout': { type: 'string', default: '60' },
    'max-seconds': { type: 'string', default: '240' },
    recog: { type: 'string' },
    'show-mistakes': { type: 'string', default: '8' },
    'iotclean-only': { type: 'boolean', default: false },
    // Diagnosis: nmap alone (no ratio is printed then).
    'nmap-only': { type: 'boolean', default: false },
    inner: { type: 'boolean', default: false },
  },
});

function intArg(name: 'endpoints' | 'devices' | 'host-timeout' | 'max-seconds' | 'show-mistakes', min: number, max: number): number {
  const text = args[name]!;
  const n = Number(text);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new IotcleanError('E_ARGS', `--${name} must be a whole number in ${min}..${max}, got "${text}"`, { hint: 'see the usage line at the top of bench/grab.ts' });
  }
  return n;
}

const opt = {
  endpoints: intArg('endpoints', 1, 5000),
  devices: intArg('devices', 1, 10_000),
  hostTimeout: intArg('host-timeout', 5, 900),
  maxSeconds: intArg('max-seconds', 10, 3600),
  showMistakes: intArg('show-mistakes', 0, 1000),
};

const have = (cmd: string): boolean => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
const isRoot = process.getuid?.() === 0;

function cliArgv(): string[] {
  const cli = new URL(import.meta.url.endsWith('.ts') ? '../src/cli/main.ts' : '../src/cli/main.js', import.meta.url).pathname;
  return [process.execPath, ...(cli.endsWith('.ts') ? ['--import', 'tsx'] : []), cli];
}

interface ToolRun {
  readonly tool: string;
  readonly seconds: number;
  /** Stopped at --max-seconds: its rate is an upper bound. */
  readonly timedOut?: boolean;
  readonly peakRssMb?: number;
  /** Device id → its score. */
  readonly scores: ReadonlyMap<string, Score>;
  /** Endpoints whose ground truth names the software, and how many the tool named right. */
  readonly software: { readonly right: number; readonly total: number };
}

/** Every sampled endpoint whose ground truth names its software. */
function softwareEndpoints(devices: readonly GroundTruthDevice[]): { ip: string; port: number; sw: Software }[] {
  return devices.flatMap((d) => d.services.flatMap((s) => {
    const sw = softwareOf(s);
    return sw ? [{ ip: d.ip, port: s.boundPort, sw }] : [];
  }));
}

/** `devices --json` prints one JSON array (an object per line) or JSON lines: read either. */
function parseDevices(stdout: string): DeviceRow[] {
  const text = stdout.trim();
  if (text === '') return [];
  if (text.startsWith('[')) return JSON.parse(text) as DeviceRow[];
  return text.split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as DeviceRow);
}

/** Every identification row of the survey (host rows included) from the store, or undefined when it has none. */
function storedIdentifications(db: string, surveyId: number): DeviceRow[] | undefined {
  const d = new SQLite(db, { readonly: true, fileMustExist: true });
  try {
    const rows = d.prepare('select body from identifications where survey_id = ?').all(surveyId) as { body: string }[];
    return rows.length > 0 ? rows.map((r) => JSON.parse(r.body) as DeviceRow) : undefined;
  } catch {
    return undefined; // a store without the table: fall back to `devices`
  } finally {
    d.close();
  }
}

/** The survey id in `survey --json` output. */
function surveyIdOf(stdout: string): number {
  const v = JSON.parse(stdout) as { surveyId?: number; survey?: { id?: number }; id?: number };
  const id = v.surveyId ?? v.survey?.id ?? v.id;
  if (typeof id !== 'number') throw new Error(`no survey id in iotclean survey output: ${stdout.slice(0, 300)}`);
  return id;
}

async function runIotclean(o: { devices: readonly GroundTruthDevice[]; ports: readonly number[]; state: LabState; dir: string }): Promise<ToolRun> {
  const db = join(o.dir, 'bench-grab.db');
  const targets = o.devices.map((d) => d.ip).join(',');
  const argv = [...cliArgv(), 'survey', '--stages', 'discover,grab,identify', '--targets', targets, '--ports', o.ports.join(','), '--db', db, '--json'];
  // The lab publishes a port elsewhere only when it could not bind it; then the survey follows its map.
  if (Object.entries(o.state.portMap).some(([port, bound]) => Number(port) !== bound)) argv.push('--lab', o.state.dir);
  if (args.recog) argv.push('--recog', args.recog);
  const m = await measure(argv, opt.maxSeconds);
  if (m.timedOut) throw new Error(`iotclean survey passed the ${opt.maxSeconds} s limit`);
  if (m.code !== 0) throw new Error(`iotclean survey exited ${m.code}`);
  const surveyId = surveyIdOf(m.stdout);
  const listed = await measure([...cliArgv(), 'devices', '--survey', String(surveyId), '--db', db, '--json'], opt.maxSeconds);
  if (listed.code !== 0) throw new Error(`iotclean devices exited ${listed.code}`);
  // The store's rows hold each whole Identification: the host rows (the engine's merge across
  // ports) and the service layer, which the flat `devices` fields replace with the device's.
  const rows = storedIdentifications(db, surveyId) ?? parseDevices(listed.stdout);
  const byIp = new Map<string, DeviceRow[]>();
  for (const r of rows) byIp.set(r.ip, [...(byIp.get(r.ip) ?? []), r]);
  const scores = new Map(o.devices.map((d) => [d.id, scoreIotclean(d, byIp.get(d.ip) ?? [])]));
  const withSoftware = softwareEndpoints(o.devices);
  const right = withSoftware.filter((e) => iotcleanSoftwareRight(e.sw, byIp.get(e.ip)?.find((r) => r.port === e.port))).length;
  return { tool: 'iotclean', seconds: m.seconds, scores, software: { right, total: withSoftware.length }, ...(m.peakRssMb !== undefined ? { peakRssMb: m.peakRssMb } : {}) };
}

async function runNmap(o: { devices: readonly GroundTruthDevice[]; ports: readonly number[]; dir: string }): Promise<ToolRun> {
  const out = join(o.dir, 'nmap-sV.xml');
  const argv = ['nmap', '-sV', '-Pn', '-n', '-p', o.ports.join(','), '--host-timeout', `${opt.hostTimeout}s`, '-oX', out, ...o.devices.map((d) => d.ip)];
  const m = await measure(argv, opt.maxSeconds);
  if (m.code !== 0 && !m.timedOut) throw new Error(`nmap exited ${m.code}`);
  // Stopped at the limit, nmap has written the hosts it finished (the XML is cut): they are scored,
  // the rest count as not identified, and its rate is an upper bound.
  let hosts = new Map<string, NmapPort[]>();
  try {
    hosts = parseNmapXml(existsSync(out) ? readFileSync(out, 'utf8') : '');
  } catch {
    if (!m.timedOut) throw new Error(`nmap's XML output ${out} cannot be read`);
  }
  const scores = new Map(o.devices.map((d) => [d.id, scoreNmap(d, hosts.get(d.ip) ?? ([] as NmapPort[]))]));
  const withSoftware = softwareEndpoints(o.devices);
  const right = withSoftware.filter((e) => nmapSoftwareRight(e.sw, hosts.get(e.ip)?.find((p) => p.port === e.port))).length;
  return { tool: 'nmap -sV', seconds: m.seconds, timedOut: m.timedOut, scores, software: { right, total: withSoftware.length }, ...(m.peakRssMb !== undefined ? { peakRssMb: m.peakRssMb } : {}) };
}

const expectations: readonly Expectation[] = ['known', 'ambiguous', 'unknown'];

function printResults(runs: readonly ToolRun[], devices: readonly GroundTruthDevice[], endpoints: number): void {
  const groups = new Map(expectations.map((e) => [e, devices.filter((d) => expectationOf(d) === e)]));
  console.log('\ntool        endpoints/s   seconds   right (all)    known     ambiguous   unknown   wrong@≥0.8   peak RSS');
  for (const r of runs) {
    const right = (list: readonly GroundTruthDevice[]) => list.filter((d) => r.scores.get(d.id)?.correct).length;
    const cell = (e: Expectation) => `${right(groups.get(e)!)}/${groups.get(e)!.length}`;
    const wrongHigh = r.tool === 'iotclean' ? String([...r.scores.values()].filter((s) => s.wrongHighConfidence).length) : '-';
    console.log(
      `${r.tool.padEnd(10)} ${`${r.timedOut ? '≤' : ''}${(endpoints / r.seconds).toFixed(2)}`.padStart(12)} ${`${r.timedOut ? '≥' : ''}${r.seconds.toFixed(1)}`.padStart(9)}   ` +
        `${`${right(devices)}/${devices.length}`.padStart(7)} ${`(${((100 * right(devices)) / devices.length).toFixed(1)}%)`.padStart(8)}` +
        `${cell('known').padStart(9)} ${cell('ambiguous').padStart(11)} ${cell('unknown').padStart(9)} ${wrongHigh.padStart(12)}   ${r.peakRssMb !== undefined ? `${r.peakRssMb} MB` : '-'}`,
    );
  }
  for (const r of runs) {
    if (r.software.total > 0) console.log(`  ${r.tool}: service software (product and version) right on ${r.software.right}/${r.software.total} endpoints whose ground truth names it`);
  }
  for (const r of runs) {
    const wrong = devices.filter((d) => !r.scores.get(d.id)?.correct);
    if (wrong.length === 0 || opt.showMistakes === 0) continue;
    console.log(`  ${r.tool} not right on ${wrong.length} device(s)${wrong.length > opt.showMistakes ? `, first ${opt.showMistakes}` : ''}:`);
    for (const d of wrong.slice(0, opt.showMistakes)) {
      console.log(`    ${d.ip} ${d.profile} (${expectationOf(d)}: ${d.type} ${d.vendor}) → ${r.scores.get(d.id)?.said ?? '?'}`);
    }
  }
  const [ours, nmap] = runs;
  if (ours && nmap) {
    const right = (r: ToolRun) => [...r.scores.values()].filter((s) => s.correct).length;
    if (nmap.timedOut) console.log(`nmap -sV was stopped at the ${opt.maxSeconds} s limit: hosts it had not finished count as not identified`);
    console.log(`ratio iotclean / nmap -sV: ${nmap.timedOut ? '≥' : ''}${(nmap.seconds / ours.seconds).toFixed(1)}x endpoints/s; right ${right(ours)} vs ${right(nmap)} of ${devices.length} devices`);
  }
  console.log('(seconds and peak RSS are each process\'s, spawn to exit; iotclean\'s include its own port scan and store, nmap\'s its SYN scan)');
}

async function withLab<T>(body: (state: LabState, truth: GroundTruth, dir: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'iotclean-bench-grab-'));
  const labDir = join(dir, 'lab');
  try {
    const state = await labUp({ dir: labDir, devices: opt.devices });
    return await body(state, readGroundTruth(labDir), dir);
  } finally {
    await labDown(labDir).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}

async function bench(): Promise<void> {
  await withLab(async (state, truth, dir) => {
    const devices = pickDevices(truth.devices, opt.endpoints, args.seed!);
    const endpoints = devices.reduce((n, d) => n + d.services.length, 0);
    const ports = [...new Set(devices.flatMap((d) => d.services.map((s) => s.boundPort)))].sort((a, b) => a - b);
    const byProtocol = new Map<string, number>();
    for (const d of devices) for (const s of d.services) byProtocol.set(s.protocol, (byProtocol.get(s.protocol) ?? 0) + 1);
    console.log(`\n== bench/grab: grab + identify, iotclean vs nmap -sV on the same endpoints`);
    console.log(`lab: ${state.devices} devices in ${state.network}; sample (seed "${args.seed}"): ${devices.length} devices of ${new Set(devices.map((d) => d.profile)).size} profiles, ${endpoints} endpoints`);
    console.log(`endpoints by protocol: ${[...byProtocol].sort().map(([p, n]) => `${p} ${n}`).join(', ')}; ports scanned: ${ports.join(',')}`);
    console.log(`devices by expectation: ${expectations.map((e) => `${e} ${devices.filter((d) => expectationOf(d) === e).length}`).join(', ')}`);
    console.log(`nmap: ${args['iotclean-only'] ? 'skipped (--iotclean-only)' : `-sV -Pn -n --host-timeout ${opt.hostTimeout}s (nmap ${nmapVersion()})`}`);

    const runs: ToolRun[] = args['nmap-only'] ? [] : [await runIotclean({ devices, ports, state, dir })];
    if (runs[0]) console.log(`iotclean done in ${runs[0].seconds.toFixed(1)} s; nmap -sV now (bounded by ${opt.maxSeconds} s) ...`);
    if (!args['iotclean-only']) {
      if (have('nmap')) runs.push(await runNmap({ devices, ports, dir }));
      else console.log('nmap not installed (apt-get install nmap): iotclean alone');
    }
    printResults(runs, devices, endpoints);
  });
}

function nmapVersion(): string {
  const r = spawnSync('nmap', ['--version'], { encoding: 'utf8' });
  return /Nmap version (\S+)/.exec(r.stdout ?? '')?.[1] ?? '?';
}

async function main(): Promise<void> {
  if (!args.inner && isRoot && have('ip')) {
    process.exitCode = rerunInNamespace(`iotclean-bench-grab-${process.pid}`);
    return;
  }
  if (!isRoot) console.log('not root: running without a namespace of its own (the lab may move ports it cannot bind)');
  await bench();
}

await main();
