/**
 * A real exporter and a real collector beside iotclean's: softflowd 1.1.0 reads a generated capture
 * (-r) and exports NetFlow v9 and IPFIX to iotclean's collector, then the same capture to nfcapd
 * 1.7.1; the flows iotclean stored must be the flows nfdump reports (count, and per 5-tuple packets,
 * bytes and start second).
 *
 * Network rule: everything is on 127.0.0.1 (the capture's hosts are 127.x too and are never
 * contacted: softflowd only reads the file). Every process is bounded in time and killed in
 * afterAll. Needs softflowd, nfcapd and nfdump (Debian packages softflowd, nfdump); skips otherwise.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCollector, udpKernelDrops } from '../src/flows/collector.js';
import { writeBurstPcap } from '../src/flows/netflow/burst-pcap.js';
import { importNfdumpCsv } from '../src/flows/nfdump.js';
import { importPcap } from '../src/flows/pcap.js';
import { openFlows, openFlowSink, readFlows } from '../src/flows/storage.js';
import type { FlowRecord } from '../src/flows/types.js';

const FLOWS = 5000;
const onPath = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
const absent = ['softflowd', 'nfcapd', 'nfdump'].filter((c) => !onPath(c));
const skipReason = process.platform !== 'linux' ? 'needs Linux' : absent.length ? `needs ${absent.join(', ')} (apt-get install softflowd nfdump)` : undefined;
if (skipReason) console.warn(`[flows-real-tools] skipped: ${skipReason}`);

const live = new Set<ChildProcess>();
let dir = '';
let pcap = '';
let truth: { firstMs: number; lastMs: number };

function start(cmd: string, args: readonly string[], timeoutMs: number): { child: ChildProcess; done: Promise<number | null>; stderr: () => string } {
  const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  live.add(child);
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const done = new Promise<number | null>((resolve) =>
    child.on('close', (code) => {
      clearTimeout(timer);
      live.delete(child);
      resolve(code);
    }),
  );
  return { child, done, stderr: () => err };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(test: () => boolean, ms: number): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; await sleep(50)) if (test()) return true;
  return test();
}

/** A UDP port free on 127.0.0.1 right now. */
async function freePort(): Promise<number> {
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  const p = s.address().port;
  await new Promise<void>((r) => s.close(() => r()));
  return p;
}

async function softflowd(port: number, version: 9 | 10): Promise<void> {
  // -d stays in the foreground and exits at the end of the file; never with -c (it hangs with -r).
  // -a takes times from the capture (else "now", which differs between the two runs); IPFIX with
  // -A milli exports flowStart/EndMilliseconds, v9 the sysUptime-relative times.
  const p = start('softflowd', ['-r', pcap, '-n', `127.0.0.1:${port}`, '-v', String(version), '-d', '-a', ...(version === 10 ? ['-A', 'milli'] : [])], 60_000);
  const code = await p.done;
  if (code !== 0) throw new Error(`softflowd -v ${version} exited ${code}: ${p.stderr()}`);
}

const key = (f: FlowRecord) => `${f.src}:${f.srcPort}>${f.dst}:${f.dstPort}/${f.proto}`;

beforeAll(() => {
  if (skipReason) return;
  dir = mkdtempSync(join(tmpdir(), 'iotclean-flows-real-'));
  pcap = join(dir, 'burst.pcap');
  const t = writeBurstPcap({ out: pcap, flows: FLOWS, startSec: 1_767_225_600 });
  truth = { firstMs: 1_767_225_600_000, lastMs: 1_767_225_600_000 + Math.ceil((t.packets * 7) / 1000) };
});

afterAll(() => {
  for (const c of live) c.kill('SIGKILL');
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(skipReason !== undefined)('softflowd → iotclean collector and nfcapd', () => {
  for (const version of [9, 10] as const) {
    it(`NetFlow v${version === 9 ? '9' : '10 (IPFIX)'}: iotclean stores the flows nfdump reports`, async () => {
      const store = join(dir, `ours-v${version}`);
      const sink = await openFlowSink(store, { worker: true });
      const collector = await startCollector({ host: '127.0.0.1', port: 0, sink });
      let nfcapd: ReturnType<typeof start> | undefined;
      try {
        await softflowd(collector.address.port, version);
        await until(() => collector.stats().records >= FLOWS, 20_000);
        const stats = await collector.close();
        await sink.close();
        expect(stats.records).toBe(FLOWS);
        expect(stats.kernelDrops).toBe(0);
        for (const c of Object.values(stats.byExporter)) expect([c.malformed, c.missingTemplate]).toEqual([0, 0]);

        const nfDir = join(dir, `nfcapd-v${version}`);
        mkdirSync(nfDir);
        const port = await freePort();
        // A receive buffer as large as ours (its default, 208 KiB, overflows on this burst): the counts must agree, not race.
        nfcapd = start('nfcapd', ['-b', '127.0.0.1', '-p', String(port), '-w', nfDir, '-t', '3600', '-B', String(32 * 1024 * 1024)], 60_000);
        expect(await until(() => udpKernelDrops('127.0.0.1', port) !== null, 10_000), `nfcapd did not bind: ${nfcapd.stderr()}`).toBe(true);
        await softflowd(port, version);
        await sleep(1500);
        expect(udpKernelDrops('127.0.0.1', port), 'datagrams the kernel dropped for nfcapd').toBe(0);
        nfcapd.child.kill('SIGTERM');
        await nfcapd.done;
        const file = readdirSync(nfDir).find((f) => /^nfcapd\.\d{12}$/.test(f));
        expect(file, `nfcapd wrote ${readdirSync(nfDir).join(', ')}`).toBeDefined();
        const dump = spawnSync('nfdump', ['-r', join(nfDir, file!), '-o', 'csv', '-q'], { encoding: 'utf8', env: { ...process.env, TZ: 'UTC' }, timeout: 60_000, maxBuffer: 1 << 28 });
        expect(dump.status, dump.stderr).toBe(0);
        // -q drops the header: put nfdump's own header back from an unquiet run of no records.
        const headerRun = spawnSync('nfdump', ['-r', join(nfDir, file!), '-o', 'csv', '-c', '1'], { encoding: 'utf8', env: { ...process.env, TZ: 'UTC' }, timeout: 60_000 });
        const csv = join(dir, `nfdump-v${version}.csv`);
        writeFileSync(csv, `${headerRun.stdout.split('\n')[0]}\n${dump.stdout}`);
        const theirs: FlowRecord[] = [];
        const imported = await importNfdumpCsv(csv, async (b) => void theirs.push(...b));
        expect(imported.skipped).toEqual({});

        const ours: FlowRecord[] = [];
        for await (const f of readFlows(store)) ours.push(f);
        expect(ours).toHaveLength(FLOWS);
        expect(theirs).toHaveLength(ours.length);
        const byKey = new Map(ours.map((f) => [key(f), f]));
        let sameTimes = 0;
        // nfdump 1.7.1 prints some v9 flows of softflowd -a at 1970-01-01 (seen on ~1% here); iotclean
        // gives them the capture's time. Those are left out of the time comparison, and bounded.
        let nfdumpEpoch = 0;
        for (const t of theirs) {
          const o = byKey.get(key(t));
          expect(o, key(t)).toBeDefined();
          expect([o!.packets, o!.bytes, o!.tcpFlags]).toEqual([t.packets, t.bytes, t.tcpFlags]);
          if (t.startMs === 0) nfdumpEpoch++;
          else if (Math.floor(o!.startMs / 1000) === Math.floor(t.startMs / 1000)) sameTimes++;
        }
        expect(nfdumpEpoch).toBeLessThan(FLOWS * 0.05);
        expect(sameTimes).toBe(FLOWS - nfdumpEpoch);
        // And the times are the capture's: every flow inside the span its packets were written in
        // (v9 headers carry whole export seconds only, so v9 times are good to a second).
        const slack = version === 9 ? 1000 : 1;
        expect(ours.every((f) => f.startMs >= truth.firstMs - slack && f.endMs <= truth.lastMs + slack && f.startMs <= f.endMs)).toBe(true);
        const view = await openFlows(store);
        try {
          const [n, pk] = (await view.connection.runAndReadAll('SELECT count(*)::INTEGER, sum(packets)::INTEGER FROM flows')).getRows()[0]!;
          expect([n, pk]).toEqual([FLOWS, theirs.reduce((a, f) => a + f.packets, 0)]);
        } finally {
          view.close();
        }
      } finally {
        await collector.close();
        await sink.close().catch(() => undefined);
        if (nfcapd) {
          nfcapd.child.kill('SIGKILL');
          await nfcapd.done;
        }
      }
    });
  }
});

describe.skipIf(skipReason !== undefined)('softflowd -r and iotclean flows import read the same capture', () => {
  it('the flows iotclean builds from the pcap are the flows softflowd exports (default timeouts, -m as --max-flows)', async () => {
    const store = join(dir, 'softflowd-export');
    const sink = await openFlowSink(store, { worker: true });
    const collector = await startCollector({ host: '127.0.0.1', port: 0, sink });
    try {
      await softflowd(collector.address.port, 10);
      await until(() => collector.stats().records >= FLOWS, 20_000);
      await collector.close();
      await sink.close();
      const theirs: FlowRecord[] = [];
      for await (const f of readFlows(store)) theirs.push(f);
      const ours: FlowRecord[] = [];
      const stats = await importPcap(pcap, async (b) => void ours.push(...b), { maxFlows: 8192 });
      expect(stats.skipped).toEqual({});
      expect(ours).toHaveLength(theirs.length);
      const byKey = new Map(ours.map((f) => [key(f), f]));
      for (const t of theirs) {
        const o = byKey.get(key(t));
        expect(o, key(t)).toBeDefined();
        expect([o!.packets, o!.bytes, o!.tcpFlags, o!.startMs]).toEqual([t.packets, t.bytes, t.tcpFlags, t.startMs]);
      }
    } finally {
      await collector.close();
      await sink.close().catch(() => undefined);
    }
  });
});
