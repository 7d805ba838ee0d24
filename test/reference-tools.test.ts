/**
 * The importer against REAL output of the reference scanners, masscan 1.3.2 and zmap 2.1.1, run on
 * loopback inside a private network namespace (see /work/shared/RECIPES.md), with a listener
 * process whose (address, port) pairs are the truth. Also iotclean's own `discover`, in the same
 * namespace, against the same truth.
 *
 * Network rule: every probe goes to 127.66.0.0/24 inside the namespace this file creates, whose
 * only interface is lo. Nothing leaves it. Every process is bounded in time; the namespace is
 * deleted at the end, even on failure.
 *
 * Needs root, `ip`, `masscan` and `zmap`; the masscan tests also need `python3` (see OFFLOADS_OFF).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SQLite from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importScanFile, type ImportOptions } from '../src/discover/import.js';
import { cliArgv, repoRoot } from './helpers.js';

const NS = `iotclean-compat-${process.pid}`;
const RANGE = '127.66.0.0/24';
const PORTS = [23, 80, 8080] as const;
const LISTENERS = 40;
/** MAC given to lo: masscan's --router-mac and zmap's -G. The scanners claim LO_PEER_MAC as theirs. */
const LO_MAC = '02:00:00:00:00:01';
const LO_PEER_MAC = '02:00:00:00:00:02';

const onPath = (cmd: string): boolean => spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;

function whyNot(): string | undefined {
  if (process.platform !== 'linux') return 'needs Linux network namespaces';
  if (process.getuid?.() !== 0) return 'needs root (network namespace, raw sockets)';
  const absent = ['ip', 'masscan', 'zmap'].filter((c) => !onPath(c));
  return absent.length > 0 ? `needs ${absent.join(', ')} on PATH` : undefined;
}
const skipReason = whyNot();
if (skipReason) console.warn(`[reference-tools] skipping the masscan/zmap compatibility tests: ${skipReason}`);
const noPython = skipReason === undefined && !onPath('python3');
if (noPython) {
  console.warn('[reference-tools] skipping the masscan tests: python3 is needed to turn off lo offloads (see OFFLOADS_OFF)');
}

// --- the truth: a seeded set of (address, port) pairs ----------------------------------------------

function seededTruth(seed: number): [string, number][] {
  let s = seed >>> 0;
  const rnd = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
  const pairs = new Map<string, [string, number]>();
  while (pairs.size < LISTENERS) {
    const ip = `127.66.0.${1 + Math.floor(rnd() * 254)}`;
    const port = PORTS[Math.floor(rnd() * PORTS.length)]!;
    pairs.set(`${ip}:${port}`, [ip, port]);
  }
  return [...pairs.values()];
}
const truthPairs = seededTruth(66);
const truth = new Set(truthPairs.map(([ip, port]) => `${ip}:${port}`));
const truthAt = (port: number) => new Set(truthPairs.filter(([, p]) => p === port).map(([ip]) => `${ip}:${port}`));

/**
 * Listens on the pairs given as JSON in argv[1] and prints READY. A "poke" line on stdin makes one
 * TCP connection to a closed port on 127.0.0.1 (what wakes masscan's receive thread); stdin's end,
 * or three minutes, ends the process.
 */
const LISTENER = `
const net = require('node:net');
const pairs = JSON.parse(process.argv[1]);
let up = 0;
for (const [host, port] of pairs) {
  const server = net.createServer((c) => { c.on('error', () => {}); c.destroy(); });
  server.on('error', (e) => { console.error(String(e)); process.exit(1); });
  server.listen({ host, port, backlog: 1024 }, () => { if (++up === pairs.length) console.log('READY'); });
}
let buf = '';
process.stdin.on('data', (d) => {
  buf += d;
  for (let i = buf.indexOf('\\n'); i !== -1; i = buf.indexOf('\\n')) {
    if (buf.slice(0, i) === 'poke') net.connect(1, '127.0.0.1').on('error', () => {}).on('connect', function () { this.destroy(); });
    buf = buf.slice(i + 1);
  }
});
process.stdin.on('end', () => process.exit(0));
setTimeout(() => process.exit(0), 180000).unref();
`;

/**
 * masscan reads replies through libpcap in immediate mode (TPACKET_V2), whose ring frames are sized
 * from the interface: on lo, with its 64 KiB MTU and TSO/GSO/GRO on, each frame takes 64 KiB and
 * the default 2 MiB ring holds ~32 packets. masscan's own SYNs come back in on lo as well, so the
 * ring overflows within the first milliseconds and replies are dropped before masscan sees them
 * (measured here: 5-29 of 40 listeners found, at any rate from 1k to 1M pps; the kernel's
 * counters showed all 40 SYN-ACKs sent). A small MTU and offloads off make the frames small
 * (~thousands in the ring); then masscan found 40/40 in 24 of 24 runs at 10k-1M pps. `ip` cannot
 * change offloads and ethtool is not installed, so python3 does the ethtool ioctl. This only
 * touches the namespace's own lo.
 */
const OFFLOADS_OFF = `
import array, fcntl, socket, struct
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
def ethtool(cmd, value=0):
    data = array.array('B', struct.pack('II', cmd, value))
    fcntl.ioctl(s, 0x8946, struct.pack('16sP16x', b'lo', data.buffer_info()[0]))  # SIOCETHTOOL
    return struct.unpack('II', data.tobytes())[1]
for get, put in ((0x1e, 0x1f), (0x23, 0x24), (0x2b, 0x2c)):  # TSO, GSO, GRO (linux/ethtool.h)
    ethtool(put, 0)
    assert ethtool(get) == 0, hex(get)
`;

// --- processes: all inside the namespace, all bounded, all remembered for cleanup -------------------

const live = new Set<ChildProcess>();
let listener: ChildProcess | undefined;
let dir = '';
let nsCreated = false;

/** Run a short setup command to completion (bounded); throws with its stderr on failure. */
function must(cmd: string, args: readonly string[], timeoutMs = 10_000): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: timeoutMs, killSignal: 'SIGKILL' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.error?.message ?? `exit ${r.status}`}): ${r.stderr}`);
  return r.stdout;
}
const inNs = (args: readonly string[], timeoutMs?: number) => must('ip', ['netns', 'exec', NS, ...args], timeoutMs);

interface Finished {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
}

/** Start a process inside the namespace (`ip netns exec` execs it in place, so the pid is its own). */
function startInNs(args: readonly string[], opts: { cwd?: string; timeoutMs: number }): { child: ChildProcess; done: Promise<Finished> } {
  const t0 = Date.now();
  const child = spawn('ip', ['netns', 'exec', NS, ...args], { cwd: opts.cwd ?? dir, stdio: ['pipe', 'pipe', 'pipe'] });
  live.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs);
  const done = new Promise<Finished>((resolve) =>
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      live.delete(child);
      resolve({ code, signal, stdout, stderr, ms: Date.now() - t0 });
    }),
  );
  return { child, done };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Wait until `test` holds (polling), at most `ms`; returns whether it did. */
async function until(test: () => boolean, ms: number): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; await sleep(50)) if (test()) return true;
  return test();
}

/** Kill whatever still runs in the namespace (all of it was started here), then delete it. */
function cleanup(): void {
  for (const child of live) child.kill('SIGKILL');
  if (listener?.pid) listener.kill('SIGKILL');
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

// --- the scanners -----------------------------------------------------------------------------------

/**
 * masscan as RECIPES says: rate 100k, then, once it is waiting for late replies (all probes sent),
 * SIGINT and a connection to a closed port, repeated, to wake its receive thread so it can exit.
 */
async function masscan(outFlag: '-oJ' | '-oL', file: string): Promise<Finished> {
  const run = startInNs(
    [
      'masscan', RANGE, `-p${PORTS.join(',')}`, '--rate', '100000',
      '--adapter', 'lo', '--adapter-ip', '127.0.0.1',
      '--adapter-mac', LO_PEER_MAC.replace(/:/g, '-'), '--router-mac', LO_MAC.replace(/:/g, '-'),
      '--wait', '2', outFlag, file,
    ],
    { timeoutMs: 25_000 },
  );
  let exited = false;
  void run.done.then(() => (exited = true));
  let stderr = '';
  run.child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  // The status line reads "waiting N-secs" only after the last probe went out; a SIGINT before that
  // would cut the scan short.
  await until(() => exited || /waiting -?\d+-secs/.test(stderr), 15_000);
  await sleep(500); // loopback replies are immediate; this is margin
  if (!exited) run.child.kill('SIGINT');
  for (let i = 0; i < 40 && !exited; i++) {
    listener!.stdin!.write('poke\n');
    await sleep(250);
  }
  return run.done;
}

let blocklist = '';

/** zmap 2.1.1 on lo as RECIPES says; it exits by itself (1 s cooldown keeps it short). */
async function zmap(port: number, output: readonly string[], file: string): Promise<Finished> {
  // zmap 2.1.1 sometimes aborts at start-up on a range this small ("constraint_lookup_index:
  // Assertion `index < con->root->count' failed", SIGABRT, nothing scanned): run it again then.
  let last: Finished | undefined;
  for (let attempt = 0; attempt < 4; attempt++) {
    const run = startInNs(
      [
        'zmap', '-p', String(port), '-i', 'lo', '-S', '127.0.0.1', '-G', LO_MAC, '--source-mac', LO_PEER_MAC,
        '-b', blocklist, '-c', '1', '-q', '--disable-syslog', ...output, '-o', file, RANGE,
      ],
      { timeoutMs: 20_000 },
    );
    last = await run.done;
    if (!(last.code === null && last.stderr.includes('constraint_lookup_index'))) return last;
  }
  return last!;
}

// --- reading the files -----------------------------------------------------------------------------

async function importSet(file: string, options: ImportOptions = {}) {
  const run = importScanFile(file, options);
  const found = new Set<string>();
  const seenAt: string[] = [];
  let rows = 0;
  for await (const e of run) {
    rows++;
    found.add(`${e.ip}:${e.port}`);
    seenAt.push(e.seenAt);
  }
  return { found, rows, seenAt, summary: run.summary };
}

/** Open endpoints read from masscan output with a regex, independently of the importer. */
function masscanOpens(text: string, format: 'json' | 'list'): Set<string> {
  const out = new Set<string>();
  const re =
    format === 'json'
      ? /"ip": "([\d.]+)",.*"port": (\d+), "proto": "tcp", "status": "open"/g
      : /^open tcp (\d+) ([\d.]+) \d+$/gm;
  for (const m of text.matchAll(re)) out.add(format === 'json' ? `${m[1]}:${m[2]}` : `${m[2]}:${m[1]}`);
  return out;
}

const recallOf = (found: ReadonlySet<string>) => [...truth].filter((k) => found.has(k)).length / truth.size;
const falsePositives = (found: ReadonlySet<string>) => [...found].filter((k) => !truth.has(k));

function excerpt(file: string, lines = 4): string {
  return readFileSync(file, 'utf8').split('\n').slice(0, lines).join('\n');
}

// ---------------------------------------------------------------------------------------------------

describe.skipIf(skipReason !== undefined)('real masscan 1.3.2 and zmap 2.1.1 output, on loopback in a namespace', () => {
  beforeAll(async () => {
    process.once('exit', cleanup); // in case the worker dies before afterAll
    dir = mkdtempSync(join(tmpdir(), 'iotclean-compat-'));
    must('ip', ['netns', 'add', NS]);
    nsCreated = true;
    must('ip', ['-n', NS, 'link', 'set', 'lo', 'up']);
    must('ip', ['-n', NS, 'link', 'set', 'lo', 'address', LO_MAC]);
    must('ip', ['-n', NS, 'link', 'set', 'lo', 'mtu', '256']);
    inNs([
      'sysctl', '-q', '-w',
      'net.ipv4.conf.lo.route_localnet=1', 'net.ipv4.conf.all.route_localnet=1',
      'net.ipv4.conf.lo.accept_local=1', 'net.ipv4.conf.all.accept_local=1',
    ]);
    if (!noPython) inNs(['python3', '-c', OFFLOADS_OFF]);
    // The only interface in the namespace is lo: nothing can be routed anywhere else.
    expect(must('ip', ['-n', NS, '-o', 'link', 'show']).trim().split('\n')).toHaveLength(1);

    // zmap's default blocklist, less its 127.0.0.0/8 line.
    blocklist = join(dir, 'blocklist.conf');
    const lines = readFileSync('/etc/zmap/blacklist.conf', 'utf8').split('\n');
    writeFileSync(blocklist, lines.filter((l) => !/^\s*127\.0\.0\.0\/8\b/.test(l)).join('\n'));

    const run = startInNs([process.execPath, '-e', LISTENER, JSON.stringify(truthPairs)], { timeoutMs: 170_000 });
    listener = run.child;
    let out = '';
    listener.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    listener.stdin!.on('error', () => {}); // a poke after it died must not crash the run
    let ended: Finished | undefined;
    void run.done.then((f) => (ended = f));
    // Polled, so a generous bound costs nothing when the machine is idle.
    await until(() => ended !== undefined || out.includes('READY'), 60_000);
    if (!out.includes('READY')) throw new Error(`listener did not start: ${ended ? ended.stderr : 'no READY in 60 s'}`);
  });

  afterAll(async () => {
    listener?.stdin?.end();
    if (listener) await until(() => listener!.exitCode !== null || listener!.signalCode !== null, 2000);
    cleanup();
    process.off('exit', cleanup);
  });

  describe.skipIf(noPython)('masscan', () => {
    // Measured while writing this test: 40/40 in every run (recall 100%) once lo is tuned as
    // OFFLOADS_OFF explains; untuned, 5-29/40. The assertion allows ≥ 95% as the tool can still drop
    // replies under load, but never a false positive.
    for (const [flag, format] of [['-oJ', 'masscan-json'], ['-oL', 'masscan-list']] as const) {
      it(`${flag}: the importer reads exactly what masscan wrote; recall ≥ 95%, no false positives`, async () => {
        const file = join(dir, `masscan${flag}.out`);
        const started = Math.floor(Date.now() / 1000) * 1000;
        const r = await masscan(flag, file);
        expect(r.signal, r.stderr).toBeNull();
        expect(r.code, r.stderr).toBe(0);
        const ended = Date.now();

        const text = readFileSync(file, 'utf8');
        const written = masscanOpens(text, format === 'masscan-json' ? 'json' : 'list');
        const { found, rows, seenAt, summary } = await importSet(file);
        expect(summary.format).toBe(format); // auto-detected
        expect(summary).toMatchObject({ errors: 0, endpoints: rows });
        expect(found).toEqual(written);
        expect(falsePositives(found)).toEqual([]);
        const recall = recallOf(found);
        console.info(`[reference-tools] masscan ${flag}: ${found.size}/${truth.size} listeners (recall ${(recall * 100).toFixed(1)}%) in ${r.ms} ms`);
        expect(recall).toBeGreaterThanOrEqual(0.95);
        // masscan stamps records with whole seconds of the scan.
        for (const t of seenAt) expect(Date.parse(t)).toSatisfy((ms: number) => ms >= started && ms <= ended);
        if (recall < 1) console.info(`[reference-tools] masscan missed: ${[...truth].filter((k) => !found.has(k)).join(' ')}`);
        if (process.env.IOTCLEAN_SHOW_OUTPUT) console.info(excerpt(file));
      });
    }
  });

  describe('zmap', () => {
    it.each(PORTS)('-O csv -f saddr,sport,classification,success on port %i: exactly the listeners, RST rows skipped', async (port) => {
      const file = join(dir, `zmap-${port}.csv`);
      const r = await zmap(port, ['-O', 'csv', '-f', 'saddr,sport,classification,success'], file);
      expect(r.code, r.stderr).toBe(0);
      const lines = readFileSync(file, 'utf8').trim().split('\n');
      expect(lines[0]).toBe('saddr,sport,classification,success');
      // With -O csv, zmap 2.1.1 writes every reply: each address of the /24 answers SYN-ACK or RST.
      expect(lines.length - 1).toBeGreaterThan(truthAt(port).size);

      const { found, summary } = await importSet(file); // no port option: sport is in the file
      expect(summary.format).toBe('zmap-csv');
      expect(summary).toMatchObject({ errors: 0, endpoints: truthAt(port).size, skipped: lines.length - 1 - truthAt(port).size });
      expect(found).toEqual(truthAt(port));
      if (process.env.IOTCLEAN_SHOW_OUTPUT) console.info(excerpt(file));
    });

    it('default output (one address per line, no header) on port 80: needs the port, then exactly the listeners', async () => {
      const file = join(dir, 'zmap-default-80.txt');
      const r = await zmap(80, [], file);
      expect(r.code, r.stderr).toBe(0);
      const text = readFileSync(file, 'utf8');
      expect(text).toMatch(/^127\.66\.0\.\d+\n/); // no header

      await expect(importSet(file)).rejects.toMatchObject({ code: 'E_IMPORT_FILE', where: { line: 1, hint: expect.stringMatching(/-p/) } });
      const seenAt = '2001-02-03T04:05:06.000Z';
      const { found, summary, seenAt: times } = await importSet(file, { port: 80, seenAt });
      expect(summary).toMatchObject({ format: 'zmap-csv', errors: 0, skipped: 0 });
      expect(found).toEqual(truthAt(80));
      expect(new Set(times)).toEqual(new Set([seenAt])); // the file carries no times
      if (process.env.IOTCLEAN_SHOW_OUTPUT) console.info(excerpt(file));
    });

    it('zmap 2.x time fields ("timestamp-ts", "-us", "-str") give each endpoint its reply time', async () => {
      const file = join(dir, 'zmap-times-23.csv');
      const started = Date.now() - 1000;
      const r = await zmap(23, ['-O', 'csv', '-f', 'saddr,sport,success,repeat,timestamp-ts,timestamp-us,timestamp-str'], file);
      expect(r.code, r.stderr).toBe(0);
      const ended = Date.now() + 1000;
      expect(readFileSync(file, 'utf8').split('\n')[0]).toBe('saddr,sport,success,repeat,timestamp-ts,timestamp-us,timestamp-str');

      const fallback = '2001-02-03T04:05:06.000Z';
      const { found, seenAt, summary } = await importSet(file, { seenAt: fallback });
      expect(summary).toMatchObject({ format: 'zmap-csv', errors: 0 });
      expect(found).toEqual(truthAt(23));
      expect(seenAt).toHaveLength(found.size);
      for (const t of seenAt) expect(Date.parse(t)).toSatisfy((ms: number) => ms >= started && ms <= ended);
    });

    it('refuses -O csv output without success/classification: RST rows are indistinguishable there', async () => {
      const file = join(dir, 'zmap-nosuccess-8080.csv');
      const r = await zmap(8080, ['-O', 'csv', '-f', 'saddr,sport'], file);
      expect(r.code, r.stderr).toBe(0);
      const rows = readFileSync(file, 'utf8').trim().split('\n').slice(1);
      expect(rows.length).toBeGreaterThan(truthAt(8080).size); // RST replies are rows too
      await expect(importSet(file)).rejects.toMatchObject({ code: 'E_IMPORT_FILE', message: expect.stringMatching(/no "success" or "classification"/) });
      await expect(importSet(file, { mode: 'lenient' })).rejects.toMatchObject({ code: 'E_IMPORT_FILE' });
    });
  });

  it('iotclean discover in the same namespace stores exactly the listeners', async () => {
    const db = join(dir, 'discover.db');
    const run = startInNs(
      [...cliArgv, 'discover', '--targets', RANGE, '--ports', PORTS.join(','), '--db', db, '--json'],
      { cwd: repoRoot, timeoutMs: 150_000 }, // CLI start-up and 768 probes, on a possibly busy machine
    );
    const r = await run.done;
    expect(r.code, r.stderr).toBe(0);
    const { surveyId, status } = JSON.parse(r.stdout) as { surveyId: number; status: string };
    expect(status).toBe('done');
    const d = new SQLite(db, { readonly: true, fileMustExist: true });
    try {
      const rows = d.prepare('select ip, port from endpoints where survey_id = ?').all(surveyId) as { ip: string; port: number }[];
      const stored = rows.map((x) => `${x.ip}:${x.port}`);
      expect(stored.length).toBe(new Set(stored).size);
      expect(new Set(stored)).toEqual(truth);
    } finally {
      d.close();
    }
    console.info(`[reference-tools] iotclean discover: ${truth.size}/${truth.size} in ${r.ms} ms (process start included)`);
  }, 180_000);
});
