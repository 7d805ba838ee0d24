/**
 * Benchmark: flow collection and stored-flow reading, iotclean against nfcapd/nfdump 1.7.1, in one
 * invocation, on one generated capture of N distinct flows (the truth: softflowd exports exactly N).
 *
 *  1. softflowd 1.1.0 reads the capture (-r, -a) and exports IPFIX (or v9, --version 9) as fast as
 *     it can to iotclean's collector (in this process, Parquet written by a worker thread): flows
 *     received and lost (N − received), kernel drops on its socket (/proc/net/udp).
 *  2. The same export to nfcapd, with -B the buffer iotclean asks for, then with nfcapd's default:
 *     flows it stored (nfdump -I) and lost, and its socket's kernel drops.
 *  3. Read rates of the stored flows (the same flows on both sides, TZ=UTC, output to /dev/null):
 *     `nfdump -r FILE -q -o csv` (the issue's yardstick, 48 columns) and `-o fmt:` with only the
 *     fields our store keeps (the stricter like-with-like), against `iotclean flows export`
 *     (exportFlowsCsv: every column as integers, DuckDB's CSV writer); best of 3 interleaved runs,
 *     wall and CPU time. Then DuckDB over the Parquet store:
 *     count(*), a group-by aggregate, an aggregate over every column (a full scan), and readFlows()
 *     into JavaScript records.
 *
 * Network rule: everything goes to 127.0.0.1; the capture's hosts are 127.x and only read from the
 * file. Every run is bounded. As root, --rmem raises net.core.rmem_max for the run (so both
 * collectors can get the buffer they ask for) and puts the old value back at the end.
 *
 * Run: npm run build && node dist/bench/flows.js [--flows 1000000] [--version 10|9]
 *        [--recv-buffer BYTES] [--rmem BYTES|0] [--keep]
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startCollector, udpKernelDrops } from '../src/flows/collector.js';
import { writeBurstPcap } from '../src/flows/netflow/burst-pcap.js';
import { exportFlowsCsv } from '../src/flows/export.js';
import { openFlows, openFlowSink, readFlows } from '../src/flows/storage.js';

const { values } = parseArgs({
  options: {
    flows: { type: 'string', default: '1000000' },
    version: { type: 'string', default: '10' },
    'recv-buffer': { type: 'string', default: String(32 * 1024 * 1024) },
    rmem: { type: 'string', default: String(64 * 1024 * 1024) },
    keep: { type: 'boolean', default: false },
  },
});
const N = Number(values.flows);
const version = Number(values.version);
const recvBuffer = Number(values['recv-buffer']);
const rmem = Number(values.rmem);
if (!Number.isInteger(N) || N < 1000 || N > 20_000_000) throw new Error('--flows must be an integer in 1000..20000000');
if (version !== 9 && version !== 10) throw new Error('--version must be 9 or 10');
const TOOL_TIMEOUT_MS = 10 * 60_000;

const have = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
const missing = ['softflowd', 'nfcapd', 'nfdump'].filter((c) => !have(c));
if (missing.length) {
  console.log(`bench/flows: needs ${missing.join(', ')} (apt-get install softflowd nfdump); nothing measured`);
  process.exit(0);
}

const fmt = (n: number) => Math.round(n).toLocaleString('en');
const pct = (a: number, b: number) => `${((100 * a) / b).toFixed(2)}%`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const live = new Set<ChildProcess>();
const dir = mkdtempSync(join(tmpdir(), 'iotclean-bench-flows-'));
let oldRmem: string | undefined;

function start(cmd: string, args: readonly string[], env?: NodeJS.ProcessEnv): { child: ChildProcess; done: Promise<number | null>; stderr: () => string } {
  const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], ...(env ? { env } : {}) });
  live.add(child);
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), TOOL_TIMEOUT_MS);
  const done = new Promise<number | null>((resolve) =>
    child.on('close', (code) => {
      clearTimeout(timer);
      live.delete(child);
      resolve(code);
    }),
  );
  return { child, done, stderr: () => err };
}

async function freePort(): Promise<number> {
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  const p = s.address().port;
  await new Promise<void>((r) => s.close(() => r()));
  return p;
}

/** softflowd -r: the whole capture as one burst; seconds it took. */
async function softflowd(pcap: string, port: number): Promise<number> {
  const t0 = performance.now();
  const p = start('softflowd', ['-r', pcap, '-n', `127.0.0.1:${port}`, '-v', String(version), '-d', '-a', ...(version === 10 ? ['-A', 'milli'] : [])]);
  const code = await p.done;
  if (code !== 0) throw new Error(`softflowd exited ${code}: ${p.stderr()}`);
  return (performance.now() - t0) / 1000;
}

/** Wait until count() stops changing for quietMs (or maxMs). */
async function settle(count: () => number, quietMs = 2000, maxMs = 60_000): Promise<void> {
  let last = -1;
  let since = Date.now();
  for (const end = Date.now() + maxMs; Date.now() < end; await sleep(100)) {
    const n = count();
    if (n !== last) {
      last = n;
      since = Date.now();
    } else if (Date.now() - since >= quietMs) return;
  }
}

function timed<T>(f: () => T): [T, number] {
  const t0 = performance.now();
  const r = f();
  return [r, (performance.now() - t0) / 1000];
}
async function timedAsync<T>(f: () => Promise<T>): Promise<[T, number]> {
  const t0 = performance.now();
  const r = await f();
  return [r, (performance.now() - t0) / 1000];
}

try {
  if (rmem > 0 && process.getuid?.() === 0) {
    oldRmem = readFileSync('/proc/sys/net/core/rmem_max', 'utf8').trim();
    if (Number(oldRmem) < rmem) writeFileSync('/proc/sys/net/core/rmem_max', String(rmem));
  }
  const rmemNow = readFileSync('/proc/sys/net/core/rmem_max', 'utf8').trim();
  console.log(`net.core.rmem_max ${fmt(Number(rmemNow))}${oldRmem !== undefined && oldRmem !== rmemNow ? ` (raised from ${fmt(Number(oldRmem))} for this run)` : ''}; both collectors ask for ${fmt(recvBuffer)} bytes`);

  const pcap = join(dir, 'burst.pcap');
  const [truth, genS] = timed(() => writeBurstPcap({ out: pcap, flows: N, compact: true }));
  console.log(`capture: ${fmt(N)} flows, ${fmt(truth.packets)} packets, ${(statSync(pcap).size / 1e6).toFixed(0)} MB, written in ${genS.toFixed(1)} s`);
  spawnSync('sh', ['-c', 'cat "$1" > /dev/null', 'sh', pcap], { stdio: 'ignore', timeout: TOOL_TIMEOUT_MS });

  // 1. iotclean's collector.
  const store = join(dir, 'iotclean');
  const sink = await openFlowSink(store, { worker: true });
  const collector = await startCollector({ host: '127.0.0.1', port: 0, sink, recvBufferBytes: recvBuffer });
  const cpu0 = process.cpuUsage();
  const oursSend = await softflowd(pcap, collector.address.port);
  await settle(() => collector.stats().records);
  const ours = await collector.close();
  const cpu = process.cpuUsage(cpu0);
  const [, closeS] = await timedAsync(() => sink.close());
  console.log(`\niotclean collector (IPFIX=${version === 10}): softflowd sent for ${oursSend.toFixed(1)} s; ${fmt(ours.packets)} datagrams, ${fmt(ours.records)} flows received, lost ${fmt(N - ours.records)} (${pct(N - ours.records, N)}); kernel drops ${ours.kernelDrops}; sequence gaps ${JSON.stringify(ours.sequenceLoss)}; buffer granted ${fmt(ours.recvBuffer.granted)}; CPU ${((cpu.user + cpu.system) / 1e6).toFixed(1)} s; last part written ${closeS.toFixed(1)} s after the burst; stored ${fmt(sink.counts().rows)}`);

  // 2. nfcapd, with the same buffer as iotclean asked for, then with its default (as installed).
  const nfcapdRun = async (label: string, extra: readonly string[]) => {
    const nfDir = join(dir, `nfcapd-${label}`);
    mkdirSync(nfDir);
    const port = await freePort();
    const nfcapd = start('nfcapd', ['-b', '127.0.0.1', '-p', String(port), '-w', nfDir, '-t', '3600', ...extra]);
    for (let i = 0; i < 100 && udpKernelDrops('127.0.0.1', port) === null; i++) await sleep(100);
    const sendS = await softflowd(pcap, port);
    await sleep(3000);
    const drops = udpKernelDrops('127.0.0.1', port);
    nfcapd.child.kill('SIGTERM');
    await nfcapd.done;
    const file = readdirSync(nfDir).find((f) => /^nfcapd\.\d{12}$/.test(f));
    if (!file) throw new Error(`nfcapd wrote no file: ${nfcapd.stderr()}`);
    const info = spawnSync('nfdump', ['-r', join(nfDir, file), '-I'], { encoding: 'utf8', timeout: TOOL_TIMEOUT_MS });
    const flows = Number(/^Flows:\s+(\d+)/m.exec(info.stdout)?.[1] ?? NaN);
    console.log(`nfcapd 1.7.1 ${label}: softflowd sent for ${sendS.toFixed(1)} s; ${fmt(flows)} flows stored, lost ${fmt(N - flows)} (${pct(N - flows, N)}); kernel drops ${drops}`);
    return { file: join(nfDir, file), flows };
  };
  const same = await nfcapdRun(`-B ${recvBuffer}`, ['-B', String(recvBuffer)]);
  const dflt = await nfcapdRun('default buffer', []);
  const nfFile = same.file;
  const nfFlows = same.flows;

  // 3. Reading the stored flows. Every CSV-out measurement runs REPEAT times, the tools interleaved,
  // and keeps the best wall time and the least CPU time (user + system, all threads or the child):
  // the machine is shared, and a single run of either side has varied by 2× with the load.
  const REPEAT = 3;
  const env = { ...process.env, TZ: 'UTC' };
  // The same fields nfdump -o csv has and our store keeps, in nfdump's own text form: the stricter
  // like-with-like (nfdump -o csv writes 48 columns, most of them zeros for these flows).
  const nfFields = 'fmt:%ts,%te,%sa,%sp,%da,%dp,%pr,%pkt,%byt,%flg,%ra';
  const nfdumpRun = (format: string): { wallS: number; cpuS: number } => {
    const t0 = performance.now();
    const r = spawnSync('sh', ['-c', 'nfdump -r "$1" -q -o "$2" > /dev/null; s=$?; times; exit $s', 'sh', nfFile, format], { env, encoding: 'utf8', timeout: TOOL_TIMEOUT_MS });
    const wallS = (performance.now() - t0) / 1000;
    if (r.status !== 0) throw new Error(`nfdump -o ${format} failed: ${r.stderr}`);
    // `times`: the shell's user/system, then its children's: "0m4.450s 0m0.113s".
    const m = /(\d+)m([\d.]+)s (\d+)m([\d.]+)s\s*$/.exec(r.stdout.trim());
    const cpuS = m ? 60 * Number(m[1]) + Number(m[2]) + 60 * Number(m[3]) + Number(m[4]) : NaN;
    return { wallS, cpuS };
  };
  const bytesPerRow = (format: string) => {
    const r = spawnSync('sh', ['-c', 'nfdump -r "$1" -q -c 10000 -o "$2" | wc -c', 'sh', nfFile, format], { env, encoding: 'utf8', timeout: TOOL_TIMEOUT_MS });
    return Number(r.stdout.trim()) / 10000;
  };
  const oursCsv = async (): Promise<{ wallS: number; cpuS: number; rows: number }> => {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const rows = await exportFlowsCsv(store, '/dev/null');
    const wallS = (performance.now() - t0) / 1000;
    const c = process.cpuUsage(c0);
    return { wallS, cpuS: (c.user + c.system) / 1e6, rows };
  };
  const ourBytesPerRow = async (): Promise<number> => {
    const file = join(dir, 'export-sample.csv');
    const rows = await exportFlowsCsv(store, file);
    return statSync(file).size / rows;
  };
  const best = (runs: readonly { wallS: number; cpuS: number }[]) => ({ wallS: Math.min(...runs.map((r) => r.wallS)), cpuS: Math.min(...runs.map((r) => r.cpuS)) });
  const nfCsvRuns: { wallS: number; cpuS: number }[] = [];
  const nfFmtRuns: { wallS: number; cpuS: number }[] = [];
  const oursRuns: { wallS: number; cpuS: number; rows: number }[] = [];
  await oursCsv(); // warm: the page cache holds both stores' files from here on
  for (let k = 0; k < REPEAT; k++) {
    nfCsvRuns.push(nfdumpRun('csv'));
    oursRuns.push(await oursCsv());
    nfFmtRuns.push(nfdumpRun(nfFields));
  }
  const nfCsv = best(nfCsvRuns);
  const nfFmt = best(nfFmtRuns);
  const oursBest = best(oursRuns);
  const exported = oursRuns[0]!.rows;

  const view = await openFlows(store);
  const q = async (sql: string) => (await timedAsync(() => view.connection.runAndReadAll(sql)))[1];
  await q('SELECT count(*) FROM flows'); // warm the file metadata cache, as the page cache is warm for nfdump
  const stored = Number((await view.connection.runAndReadAll('SELECT count(*) FROM flows')).getRows()[0]![0]);
  const countS = await q('SELECT count(*) FROM flows');
  const aggS = await q('SELECT dst, dst_port, proto, count(*), sum(packets), sum(bytes), count(DISTINCT src) FROM flows GROUP BY ALL');
  const scanS = await q('SELECT min(start_ms), max(end_ms), sum(src), sum(src_port), sum(dst), sum(dst_port), sum(proto), sum(packets), sum(bytes), bit_or(tcp_flags), count(DISTINCT exporter), sum(sampling) FROM flows');
  view.close();
  const [, jsS] = await timedAsync(async () => {
    let n = 0;
    for await (const _ of readFlows(store)) n++;
    return n;
  });
  const nfRate = nfFlows / nfCsv.wallS;
  const rate = (s: number) => stored / s;
  console.log(`\nread rate of stored flows (${fmt(stored)} iotclean, ${fmt(nfFlows)} nfdump: ${stored === nfFlows && exported === stored ? 'the same flows' : 'NOT the same count'}; TZ=UTC; all CSV output to /dev/null; CSV rows best of ${REPEAT} interleaved runs, wall and CPU):`);
  const csvRow = (label: string, flows: number, r: { wallS: number; cpuS: number }, bpr: number) =>
    console.log(`  ${label.padEnd(62)} ${fmt(flows / r.wallS).padStart(14)} flows/s  ${((flows / r.wallS) / nfRate).toFixed(1).padStart(7)}×   CPU ${r.cpuS.toFixed(2).padStart(6)} s  ${(nfCsv.cpuS / r.cpuS).toFixed(1).padStart(5)}×  ${bpr.toFixed(0).padStart(4)} B/row`);
  csvRow('nfdump -r FILE -q -o csv (48 columns)', nfFlows, nfCsv, bytesPerRow('csv'));
  csvRow('nfdump -q -o fmt:%ts,%te,%sa,%sp,%da,%dp,%pr,%pkt,%byt,%flg,%ra', nfFlows, nfFmt, bytesPerRow(nfFields));
  csvRow('iotclean flows export (DuckDB COPY csv; 12 columns, integers)', exported, oursBest, await ourBytesPerRow());
  const rows: [string, number][] = [
    ['DuckDB count(*) over Parquet', rate(countS)],
    ['DuckDB group by dst,port,proto: count, sums, distinct src', rate(aggS)],
    ['DuckDB full scan: an aggregate over every column', rate(scanS)],
    ['readFlows() into JavaScript records', rate(jsS)],
  ];
  for (const [label, r] of rows) console.log(`  ${label.padEnd(62)} ${fmt(r).padStart(14)} flows/s  ${(r / nfRate).toFixed(1).padStart(7)}×`);
  const ratio = (r: { wallS: number }, other: { wallS: number }) => (other.wallS / r.wallS) * (exported / nfFlows);
  console.log(`  (ratios: against nfdump -o csv; runs: nfdump csv ${nfCsvRuns.map((r) => r.wallS.toFixed(2)).join('/')} s, ours ${oursRuns.map((r) => r.wallS.toFixed(2)).join('/')} s; load average ${loadavg().map((l) => l.toFixed(1)).join(' ')})`);
  console.log(`\nsummary: loss iotclean ${pct(N - ours.records, N)} vs nfcapd ${pct(N - nfFlows, N)} (same buffer) / ${pct(N - dflt.flows, N)} (its default); CSV out ${ratio(oursBest, nfCsv).toFixed(1)}× nfdump -o csv wall (CPU ${(nfCsv.cpuS / oursBest.cpuS).toFixed(1)}×), ${ratio(oursBest, nfFmt).toFixed(1)}× nfdump with our fields only; full scan ${(rate(scanS) / nfRate).toFixed(1)}×, JS records ${(rate(jsS) / nfRate).toFixed(1)}×, group-by ${(rate(aggS) / nfRate).toFixed(1)}×`);
} finally {
  for (const c of live) c.kill('SIGKILL');
  if (oldRmem !== undefined) {
    try {
      writeFileSync('/proc/sys/net/core/rmem_max', oldRmem);
    } catch {
      // not ours to insist on
    }
  }
  if (values.keep) console.log(`kept ${dir}`);
  else rmSync(dir, { recursive: true, force: true });
}
