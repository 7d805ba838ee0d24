/**
 * Benchmark: pcap → flows, iotclean's `flows import` builder against `softflowd -r`, in one
 * invocation on one generated capture (src/flows/netflow/burst-pcap.ts, ~1 M packets by default).
 * iotclean: importPcap into the Parquet flow store (what `flows import x.pcap` does). softflowd:
 * -r FILE -d -a -v 10 exporting to a UDP socket on 127.0.0.1 in this process that only counts
 * datagrams. Both with softflowd's default timeouts and the same flow-table size (-m / maxFlows).
 * Prints flows, packets/s and flows/s for both and the ratio.
 *
 * Network rule: softflowd's export goes to 127.0.0.1 only; the capture is only read. Bounded: the
 * softflowd run is killed after 300 s.
 *
 * Run: npx tsx bench/flows-pcap.ts [--packets 1000000] [--max-flows 8192]
 */
import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { writeBurstPcap } from '../src/flows/netflow/burst-pcap.js';
import { importPcap } from '../src/flows/pcap.js';
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

  const sink = await openFlowSink(join(dir, 'store'), { worker: true, flushIntervalMs: 0 });
  let t0 = performance.now();
  const ours = await importPcap(pcap, (b) => sink.append(b), { maxFlows });
  await sink.close();
  const oursS = (performance.now() - t0) / 1000;

  const sock = createSocket('udp4');
  let datagrams = 0;
  sock.on('message', () => datagrams++);
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
  t0 = performance.now();
  const child = spawn('softflowd', ['-r', pcap, '-n', `127.0.0.1:${sock.address().port}`, '-v', '10', '-d', '-a', '-m', String(maxFlows)], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 300_000);
  const code = await new Promise<number | null>((r) => child.on('close', r));
  clearTimeout(timer);
  const theirS = (performance.now() - t0) / 1000;
  sock.close();
  const m = /(\d+) flows? (?:exported|expired)/i.exec(err);
  if (code !== 0) console.log(`softflowd exited ${code}: ${err.slice(0, 400)}`);

  const row = (name: string, flows: number | string, s: number) =>
    console.log(`${name.padEnd(22)} ${String(flows).padStart(9)} flows  ${s.toFixed(2).padStart(6)} s  ${Math.round(truth.packets / s).toLocaleString('en').padStart(11)} packets/s  ${typeof flows === 'number' ? Math.round(flows / s).toLocaleString('en').padStart(10) : '?'} flows/s`);
  row('iotclean flows import', ours.flows, oursS);
  row('softflowd -r', m ? Number(m[1]) : truth.flows, theirS);
  console.log(`softflowd export datagrams received: ${datagrams.toLocaleString('en')}${m ? '' : ' (flow count taken as the 5-tuples: softflowd -d printed none)'}`);
  console.log(`ratio (iotclean rate / softflowd rate): ${(theirS / oursS).toFixed(2)}×`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
