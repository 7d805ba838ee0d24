/**
 * Real scanners' traffic labelled by iotclean: masscan 1.3.2 and zmap 2.1.1 (Debian packages) scan
 * a /24 of the loopback range inside a network namespace this file creates, tcpdump -w captures
 * lo, and `iotclean darknet analyse --json` must label the masscan source masscan and the zmap
 * source zmap (and neither mirai nor infected); `darknet watch --interface lo` follows it live.
 *
 * Network rule: every probe goes to 127.201.0.0/24 inside the namespace, whose only interface is
 * lo; nothing leaves it. Every process is bounded in time; the namespace is deleted at the end,
 * even on failure. Needs root, ip, masscan, zmap and tcpdump; skips with a message otherwise.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliArgv, repoRoot, runCli } from './helpers.js';

const NS = `iotclean-darknet-${process.pid}`;
const RANGE = '127.201.0.0/24';
const MASSCAN_SRC = '127.0.0.2';
const ZMAP_SRC = '127.0.0.3';
const LO_MAC = '02:00:00:00:00:01';
const LO_PEER_MAC = '02:00:00:00:00:02';

const onPath = (cmd: string): boolean => spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
function whyNot(): string | undefined {
  if (process.platform !== 'linux') return 'needs Linux network namespaces';
  if (process.getuid?.() !== 0) return 'needs root (network namespace, raw sockets)';
  const absent = ['ip', 'masscan', 'zmap', 'tcpdump'].filter((c) => !onPath(c));
  return absent.length ? `needs ${absent.join(', ')} on PATH (apt-get install ${absent.join(' ')})` : undefined;
}
const skipReason = whyNot();
if (skipReason) console.warn(`[darknet-real-tools] skipped: ${skipReason}`);

const live = new Set<ChildProcess>();
let dir = '';
let nsCreated = false;

function must(cmd: string, args: readonly string[], timeoutMs = 10_000): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: timeoutMs, killSignal: 'SIGKILL' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.error?.message ?? `exit ${r.status}`}): ${r.stderr}`);
  return r.stdout;
}
const inNs = (args: readonly string[], timeoutMs?: number) => must('ip', ['netns', 'exec', NS, ...args], timeoutMs);

/** Start a process in the namespace, killed after timeoutMs at the latest. */
function startInNs(args: readonly string[], timeoutMs: number): { child: ChildProcess; stderr: () => string; done: Promise<number | null> } {
  const child = spawn('ip', ['netns', 'exec', NS, ...args], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
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
  return { child, stderr: () => err, done };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(test: () => boolean, ms: number): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; await sleep(50)) if (test()) return true;
  return test();
}

function cleanup(): void {
  for (const child of live) child.kill('SIGKILL');
  if (nsCreated) {
    const pids = spawnSync('ip', ['netns', 'pids', NS], { encoding: 'utf8', timeout: 5000 }).stdout ?? '';
    for (const pid of pids.split(/\s+/).filter((p) => /^\d+$/.test(p))) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        // already gone
      }
    }
    spawnSync('ip', ['netns', 'del', NS], { timeout: 5000 });
    nsCreated = false;
  }
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = '';
}

describe.skipIf(skipReason !== undefined)('darknet: real masscan and zmap traffic', () => {
  let capture = '';
  let watch: ChildProcess | undefined;
  let watchOut = '';
  let watchErr = '';
  let watchDone: Promise<number | null> = Promise.resolve(null);

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'iotclean-darknet-real-'));
    must('ip', ['netns', 'add', NS]);
    nsCreated = true;
    inNs(['ip', 'link', 'set', 'lo', 'up']);
    inNs(['ip', 'link', 'set', 'lo', 'address', LO_MAC]);
    inNs(['sysctl', '-q', '-w', 'net.ipv4.conf.lo.route_localnet=1', 'net.ipv4.conf.all.route_localnet=1', 'net.ipv4.conf.lo.accept_local=1', 'net.ipv4.conf.all.accept_local=1']);
    // zmap refuses 127.0.0.0/8 through its default blocklist: the same list without that line.
    const blocklist = join(dir, 'blocklist.conf');
    writeFileSync(blocklist, readFileSync('/etc/zmap/blacklist.conf', 'utf8').split('\n').filter((l) => !l.startsWith('127.0.0.0/8')).join('\n'));
    capture = join(dir, 'lo.pcap');
    const tcpdump = startInNs(['tcpdump', '-i', 'lo', '-n', '-U', '-w', capture], 90_000);
    expect(await until(() => /listening on lo/.test(tcpdump.stderr()), 10_000)).toBe(true);
    // The live sensor too: iotclean darknet watch starting its own tcpdump on the namespace's lo.
    watch = spawn('ip', ['netns', 'exec', NS, ...cliArgv, 'darknet', 'watch', '--interface', 'lo', '--json'], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    live.add(watch);
    watch.stdout!.on('data', (d: Buffer) => (watchOut += d.toString()));
    watch.stderr!.on('data', (d: Buffer) => (watchErr += d.toString()));
    watchDone = new Promise((resolve) => watch!.on('close', (code) => {
      live.delete(watch!);
      resolve(code);
    }));
    expect(await until(() => /listening on lo/.test(watchErr), 20_000), watchErr).toBe(true);

    // masscan: two ports over the /24 (512 SYNs); it does not exit by itself, so it is stopped once
    // its status says it is waiting (every probe sent).
    const masscan = startInNs(
      ['masscan', RANGE, '-p23,80', '--rate', '20000', '--adapter', 'lo', '--adapter-ip', MASSCAN_SRC, '--adapter-mac', LO_PEER_MAC.replace(/:/g, '-'), '--router-mac', LO_MAC.replace(/:/g, '-'), '--wait', '1'],
      30_000,
    );
    let masscanDone = false;
    void masscan.done.then(() => (masscanDone = true));
    await until(() => masscanDone || /waiting -?\d+-secs/.test(masscan.stderr()), 20_000);
    if (!masscanDone) masscan.child.kill('SIGINT');
    await sleep(1500);
    if (!masscanDone) masscan.child.kill('SIGKILL');
    await masscan.done;

    // zmap 2.1.1: one port per run, exits by itself; it sometimes aborts at start-up on a small range
    // (an assertion in constraint_lookup_index): run it again then.
    for (let attempt = 0; attempt < 4; attempt++) {
      const zmap = startInNs(
        ['zmap', '-p', '23', '-i', 'lo', '-S', ZMAP_SRC, '-G', LO_MAC, '--source-mac', LO_PEER_MAC, '-b', blocklist, '-r', '20000', '-c', '1', '-q', '--disable-syslog', '-o', join(dir, 'zmap.csv'), RANGE],
        30_000,
      );
      const code = await zmap.done;
      if (code === 0 || !zmap.stderr().includes('constraint_lookup_index')) break;
    }
    await sleep(500);
    tcpdump.child.kill('SIGINT');
    await tcpdump.done;
    watch.kill('SIGINT');
    const killer = setTimeout(() => watch?.kill('SIGKILL'), 20_000);
    await watchDone;
    clearTimeout(killer);
  }, 120_000);

  afterAll(cleanup);

  it('labels the masscan source masscan and the zmap source zmap, neither infected', async () => {
    expect(statSync(capture).size).toBeGreaterThan(24);
    const r = await runCli(['darknet', 'analyse', capture, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const rows = JSON.parse(r.stdout) as { ip: string; class: string; fingerprint: string; packets: number; infected: boolean }[];
    const masscan = rows.find((x) => x.ip === MASSCAN_SRC);
    const zmap = rows.find((x) => x.ip === ZMAP_SRC);
    expect(masscan, JSON.stringify(rows.slice(0, 5))).toMatchObject({ class: 'scanning', fingerprint: 'masscan', infected: false });
    expect(masscan!.packets).toBeGreaterThanOrEqual(256);
    expect(zmap, JSON.stringify(rows.slice(0, 5))).toMatchObject({ class: 'scanning', fingerprint: 'zmap', infected: false });
    expect(zmap!.packets).toBeGreaterThanOrEqual(128);
    // The kernel's RSTs from the scanned addresses are backscatter, never a scanner.
    expect(rows.filter((x) => x.ip.startsWith('127.201.0.')).every((x) => x.class !== 'scanning')).toBe(true);
  }, 60_000);

  it('darknet watch --interface lo saw the same traffic live and ended cleanly on SIGINT', () => {
    const events = watchOut.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as { event: string; packets?: number; sources?: number; infected?: number });
    const end = events.find((e) => e.event === 'end');
    expect(end, watchErr).toBeDefined();
    expect(end!.packets).toBeGreaterThanOrEqual(512 + 256);
    const day = events.find((e) => e.event === 'day');
    expect(day?.sources).toBeGreaterThanOrEqual(2);
    // masscan and zmap are research scanners: never raised as infected.
    expect(events.filter((e) => e.event === 'infected')).toEqual([]);
  });
});
