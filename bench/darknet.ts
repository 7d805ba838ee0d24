/**
 * Benchmark: darknet analysis against the reference readers, on one generated capture (only files:
 * nothing is sent anywhere). In one invocation:
 *   - tcpdump -r FILE -w /dev/null with a BPF filter for the Mirai fingerprint (SYN without ACK,
 *     sequence number = destination): the speed limit of a C reader doing the least;
 *   - tshark -r FILE -Y <the same filter> -T fields -e ip.src, on the first --tshark-packets packets
 *     (tshark runs at tens of thousands of packets/s and its memory grows with the capture; a whole
 *     10 M-packet run takes minutes and gigabytes, so it is bounded unless --tshark-packets 0);
 *   - iotclean's full classification (every source: class, fingerprint, destinations, ports),
 *     in-process, with its peak RSS, as `darknet analyse` runs it: a file this large is read by a
 *     second thread while this one folds (analyse.ts), so its CPU time is that of both; then on
 *     one thread alone, what a machine with its other cores busy gets.
 * The machine's load average is printed before and after: on a shared machine every figure is
 * wall-clock time and moves with it (run twice).
 * Prints packets/s and the ratios. Mirai sources found by tcpdump's filter and by iotclean are
 * compared as a sanity check (tcpdump's matches are written to a temporary file and read back).
 *
 * Run: npm run build && node dist/bench/darknet.js [--packets N] [--seed S] [--file F] [--keep]
 *        [--tshark-packets N]
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { analyseCaptures } from '../src/darknet/analyse.js';
import { readCapture } from '../src/darknet/pcap/reader.js';
import { generateDarknetCapture } from '../src/lab/darknet/generate.js';

const MIRAI_BPF = 'tcp[13] & 0x12 == 0x02 and tcp[4:4] == ip[16:4]';
const MIRAI_DISPLAY = 'tcp.flags.syn == 1 && tcp.flags.ack == 0 && tcp[4:4] == ip[16:4]';
/** Every external run is bounded. */
const TOOL_TIMEOUT_MS = 15 * 60_000;
const MAX_PACKETS = 100_000_000;

const { values } = parseArgs({
  options: {
    packets: { type: 'string', default: '10000000' },
    seed: { type: 'string', default: 'darknet-bench' },
    file: { type: 'string' },
    keep: { type: 'boolean', default: false },
    'tshark-packets': { type: 'string', default: '1000000' },
  },
});
const packets = Number(values.packets);
const tsharkPackets = Number(values['tshark-packets']);
if (!Number.isInteger(packets) || packets < 1000 || packets > MAX_PACKETS) throw new Error(`--packets must be an integer in 1000..${MAX_PACKETS}`);
if (!Number.isInteger(tsharkPackets) || tsharkPackets < 0) throw new Error('--tshark-packets must be a whole number (0 = the whole file)');

const have = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
const dir = mkdtempSync(join(tmpdir(), 'iotclean-bench-darknet-'));
const file = values.file ?? join(dir, 'darknet.pcap');
const rate = (n: number, s: number) => `${Math.round(n / s).toLocaleString('en')} packets/s`;

function timed(cmd: string, args: readonly string[]): { seconds: number; stdout: string; status: number | null } {
  const t0 = performance.now();
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 1 << 30, timeout: TOOL_TIMEOUT_MS, killSignal: 'SIGKILL', stdio: ['ignore', 'pipe', 'ignore'] });
  return { seconds: (performance.now() - t0) / 1000, stdout: r.stdout ?? '', status: r.status };
}

try {
  if (!values.file || !existsSync(file)) {
    const t0 = performance.now();
    generateDarknetCapture({ out: file, truth: join(dir, 'truth.json'), seed: values.seed, packets });
    console.log(`generated ${file}: ${(statSync(file).size / 1e6).toFixed(0)} MB in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  }
  const load = () => loadavg().map((x) => x.toFixed(2)).join(' ');
  console.log(`load average before: ${load()}`);
  // Warm the page cache so that every reader below reads from memory, not the disk.
  spawnSync('sh', ['-c', 'cat "$1" > /dev/null', 'sh', file], { stdio: 'ignore', timeout: TOOL_TIMEOUT_MS });

  /** Seconds tcpdump took. */
  let tcpdumpRate: number | undefined;
  let tcpdumpMirai: Set<string> | undefined;
  if (have('tcpdump')) {
    const r = timed('tcpdump', ['-r', file, '-w', '/dev/null', MIRAI_BPF]);
    const matches = join(dir, 'mirai.pcap');
    spawnSync('tcpdump', ['-r', file, '-w', matches, MIRAI_BPF], { stdio: 'ignore', timeout: TOOL_TIMEOUT_MS });
    tcpdumpMirai = new Set();
    const seen = tcpdumpMirai;
    await readCapture(matches, (v) => void seen.add(`${v.src >>> 24}.${(v.src >>> 16) & 255}.${(v.src >>> 8) & 255}.${v.src & 255}`));
    console.log(`tcpdump -r -w /dev/null '${MIRAI_BPF}': ${r.seconds.toFixed(2)} s`);
    tcpdumpRate = r.seconds;
  } else console.log('tcpdump: not installed (apt-get install tcpdump), skipped');

  let peakRss = 0;
  const run = async (threads: number | undefined) => {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const r = await analyseCaptures([file], { ...(threads ? { threads } : {}), onProgress: () => void (peakRss = Math.max(peakRss, process.memoryUsage().rss)) });
    const seconds = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(c0);
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
    return { r, seconds, cpu: (cpu.user + cpu.system) / 1e6 };
  };
  const { r, seconds, cpu } = await run(undefined);
  const mirai = r.sources.filter((s) => s.fingerprint === 'mirai');
  console.log(`iotclean darknet analyse (full classification): ${r.packets.toLocaleString('en')} packets in ${seconds.toFixed(2)} s = ${rate(r.packets, seconds)} (CPU ${cpu.toFixed(2)} s), peak RSS ${(peakRss / 2 ** 20).toFixed(0)} MiB; ${r.sources.length.toLocaleString('en')} sources, ${mirai.length} Mirai-style`);
  const one = await run(1);
  console.log(`  on one thread: ${one.seconds.toFixed(2)} s = ${rate(one.r.packets, one.seconds)}; same sources as the default run: ${JSON.stringify(one.r.sources) === JSON.stringify(r.sources)}`);
  if (tcpdumpRate !== undefined) {
    console.log(`  tcpdump: ${rate(r.packets, tcpdumpRate)}; iotclean/tcpdump speed ratio ${(tcpdumpRate / seconds).toFixed(2)}× (one thread ${(tcpdumpRate / one.seconds).toFixed(2)}×; target ≥ 0.5×)`);
    // A Mirai source is one with ≥ 2 matching SYNs in iotclean's rules; tcpdump's filter sees single hits too.
    const miraiIps = new Set(mirai.map((s) => s.ip));
    const tcpdumpIps = tcpdumpMirai ?? new Set<string>();
    const missed = [...miraiIps].filter((ip) => !tcpdumpIps.has(ip)).length;
    console.log(`  sources matching tcpdump's Mirai filter ${tcpdumpIps.size}, labelled mirai by iotclean ${miraiIps.size}, labelled but unmatched ${missed}`);
  }

  if (have('tshark')) {
    const args = ['-r', file, ...(tsharkPackets > 0 ? ['-c', String(tsharkPackets)] : []), '-Y', MIRAI_DISPLAY, '-T', 'fields', '-e', 'ip.src'];
    const t = timed('tshark', args);
    const n = tsharkPackets > 0 ? Math.min(tsharkPackets, r.packets) : r.packets;
    const lines = t.stdout.split('\n').filter(Boolean).length;
    console.log(`tshark -Y '${MIRAI_DISPLAY}' -T fields on ${n.toLocaleString('en')} packets: ${t.seconds.toFixed(2)} s = ${rate(n, t.seconds)}, ${lines} matches; iotclean/tshark speed ratio ${(n / t.seconds > 0 ? r.packets / seconds / (n / t.seconds) : 0).toFixed(1)}×`);
  } else console.log('tshark: not installed (apt-get install tshark), skipped');
  console.log(`load average after: ${load()}`);
} finally {
  if (!values.keep) rmSync(dir, { recursive: true, force: true });
  else console.log(`kept ${dir}`);
}
