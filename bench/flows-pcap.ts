/**
 * Benchmark: pcap → flows, iotclean's `flows import` builder against `softflowd -r`, in one
 * invocation on one generated capture (src/flows/netflow/burst-pcap.ts, ~1 M packets by default).
 * iotclean: importPcapBatches into the Parquet flow store (what `flows import x.pcap` does). softflowd:
 * -r FILE -d -a -v 10 exporting to a UDP socket on 127.0.0.1 in this process that only counts
 * datagrams. Both with softflowd's default timeouts and the same flow-table size (-m / maxFlows).
 * Prints flows, packets/s and flows/s for both and the ratio, best of 3 interleaved runs, wall and CPU.
 *
 * Network rule: softflowd's export goes to 127.0.0.1 only; the capture is only read. Bounded: the
 * softflowd run is killed after 300 s.
 *
 * Run: npx tsx bench/flows-pcap.ts [--packets 1000000] [--max-flows 8192]
 */
import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { writeBurstPcap } from '../src/flows/netflow/burst-pcap.js';
import { importPcapBatches } from '../src/flows/pcap.js';
import { openFlowSink } from '../src/flows/storage.js';

const { values } = parseArgs({ options: { packets: { type: 'string', default: '1000000' }, 'max-flows': { type: 'string', default: '8192' } } });
const wantPackets = Number(values.packets);
const maxFlows = Number(values['max-flows']);
const dir = mkdtempSync(join(tmpdir(), 'iotclean-bench-flows-pcap-'));
try {
  const pcap = join(dir, 'burst.pcap');
  // The burst averages 2.625 packets per flow (3/4 TCP of 3 packets, 1/4 UDP of 1 or 2).
  const truth = writeBurstPcap({ out: pcap, flows: Math.round(wantPackets / 2.625), startSec: 1_767_225_600 });
  console.log(`capture: ${truth.packets.toLocaleString('en')} packets, ${truth.flows.toLocaleString('en')} 5-tuples`);

  // Each side runs REPEAT times, interleaved; the best wall time and the least CPU time (ours: the
  // whole process, worker and DuckDB threads included; softflowd: the child, from the shell's
  // `times`) are compared, since one run of either has varied by 3× with the shared machine's load.
  const REPEAT = 3;
  const oursRun = async () => {
    const store = join(dir, 'store');
    rmSync(store, { recursive: true, force: true });
    const sink = await openFlowSink(store, { worker: true, flushIntervalMs: 0 });
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const r = await importPcapBatches(pcap, (b) => sink.appendBatch(b), { maxFlows });
    await sink.close();
    const wallS = (performance.now() - t0) / 1000;
    const c = process.cpuUsage(c0);
    return { flows: r.flows, wallS, cpuS: (c.user + c.system) / 1e6 };
  };

  const sock = createSocket('udp4');
  let datagrams = 0;
  sock.on('message', () => datagrams++);
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
  const theirRun = async () => {
    datagrams = 0;
    const t0 = performance.now();
    const child = spawn('sh', ['-c', 'softflowd "$@"; s=$?; times >&2; exit $s', 'sh', '-r', pcap, '-n', `127.0.0.1:${sock.address().port}`, '-v', '10', '-d', '-a', '-m', String(maxFlows)], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 300_000);
    const code = await new Promise<number | null>((r) => child.on('close', r));
    clearTimeout(timer);
    const wallS = (performance.now() - t0) / 1000;
    if (code !== 0) console.log(`softflowd exited ${code}: ${err.slice(0, 400)}`);
    const t = /(\d+)m([\d.]+)s (\d+)m([\d.]+)s\s*$/.exec(err.trim());
    const m = /(\d+) flows? (?:exported|expired)/i.exec(err);
    return { flows: m ? Number(m[1]) : truth.flows, counted: !!m, wallS, cpuS: t ? 60 * Number(t[1]) + Number(t[2]) + 60 * Number(t[3]) + Number(t[4]) : NaN };
  };
  const oursRuns: Awaited<ReturnType<typeof oursRun>>[] = [];
  const theirRuns: Awaited<ReturnType<typeof theirRun>>[] = [];
  for (let k = 0; k < REPEAT; k++) {
    oursRuns.push(await oursRun());
    theirRuns.push(await theirRun());
  }
  sock.close();
  const best = (runs: readonly { wallS: number; cpuS: number }[]) => ({ wallS: Math.min(...runs.map((r) => r.wallS)), cpuS: Math.min(...runs.map((r) => r.cpuS)) });
  const ours = { ...best(oursRuns), flows: oursRuns[0]!.flows };
  const theirs = { ...best(theirRuns), flows: theirRuns[0]!.flows };

  const row = (name: string, flows: number, r: { wallS: number; cpuS: number }) =>
    console.log(`${name.padEnd(22)} ${String(flows).padStart(9)} flows  ${r.wallS.toFixed(2).padStart(6)} s  ${Math.round(truth.packets / r.wallS).toLocaleString('en').padStart(11)} packets/s  ${Math.round(flows / r.wallS).toLocaleString('en').padStart(10)} flows/s  CPU ${r.cpuS.toFixed(2)} s`);
  console.log(`best of ${REPEAT} interleaved runs each (wall s: ours ${oursRuns.map((r) => r.wallS.toFixed(2)).join('/')}, softflowd ${theirRuns.map((r) => r.wallS.toFixed(2)).join('/')}; load average ${loadavg().map((l) => l.toFixed(1)).join(' ')})`);
  row('iotclean flows import', ours.flows, ours);
  row('softflowd -r', theirs.flows, theirs);
  console.log(`softflowd export datagrams received (last run): ${datagrams.toLocaleString('en')}${theirRuns[0]!.counted ? '' : ' (flow count taken as the 5-tuples: softflowd -d printed none)'}`);
  console.log(`ratio (iotclean rate / softflowd rate): ${(theirs.wallS / ours.wallS).toFixed(2)}× wall, ${(theirs.cpuS / ours.cpuS).toFixed(2)}× CPU`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
