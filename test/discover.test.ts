/**
 * Discovery against real loopback listeners: recall, sharding (disjoint and complete), and the
 * SIGKILL/resume property, through the CLI and the store as a user would meet them, for both
 * connect engines. Also: unreachable targets end promptly (in a network namespace with no route),
 * and the engine choice under Node flags that make the raw handle unusable.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SQLite from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatIpv4, parseIpv4 } from '../src/core/ip.js';
import { runDiscovery } from '../src/discover/engine.js';
import { compileScope, defaultScope, restrictScope } from '../src/scope/scope.js';
import { listenSpread, repoRoot, runCli, startCli, type Listeners } from './helpers.js';

// Unprivileged ports, so the tests run without root too.
const PORTS = [2323, 8080, 8081, 34567, 37777];
const BASE = '127.90.0.0';
let lab: Listeners;
let dir: string;

beforeAll(async () => {
  lab = await listenSpread(BASE, PORTS, 120, 11);
  dir = mkdtempSync(join(tmpdir(), 'iotclean-discover-'));
});
afterAll(async () => {
  await lab.close();
  rmSync(dir, { recursive: true, force: true });
});

const target = { start: 0x7f5a0000, end: 0x7f5a0fff }; // 127.90.0.0/20
const scope = compileScope(defaultScope());
const ENGINES = ['raw', 'net'] as const;
type Engine = (typeof ENGINES)[number];

async function scan(engine: Engine, shard = { index: 0, count: 1 }, workers = 2) {
  const found: string[] = [];
  const stats = await runDiscovery({
    scope,
    engine,
    targetRanges: [target],
    ports: PORTS,
    seed: 99,
    shard,
    rate: 0,
    concurrency: 512,
    timeoutMs: 2000,
    retries: 1,
    workers,
    onBatch: (b) => void found.push(...b.opens.map(([ip, port]) => `${formatIpv4(ip)}:${port}`)),
  });
  return { found, stats };
}

function rowsOf(db: string, survey: number): string[] {
  const d = new SQLite(db, { readonly: true });
  try {
    return (d.prepare('select ip, port from endpoints where survey_id = ?').all(survey) as { ip: string; port: number }[]).map((r) => `${r.ip}:${r.port}`);
  } finally {
    d.close();
  }
}

function progressOf(db: string): number {
  try {
    const d = new SQLite(db, { readonly: true, fileMustExist: true });
    try {
      const row = d.prepare('select checkpoint from surveys where id = 1').get() as { checkpoint: string } | undefined;
      return row ? (JSON.parse(row.checkpoint) as number[]).reduce((a, b) => a + b, 0) : 0;
    } finally {
      d.close();
    }
  } catch {
    return 0; // not created yet
  }
}

/** Wait until the survey has stored a checkpoint beyond the previous one (bounded: 120 s, for a busy machine). */
async function waitForProgress(db: string): Promise<void> {
  const before = progressOf(db);
  for (let i = 0; i < 2400 && progressOf(db) <= before; i++) await new Promise((r) => setTimeout(r, 50));
  if (progressOf(db) <= before) throw new Error(`no new checkpoint in ${db} within 120 s`);
}

describe.each(ENGINES)('connect discovery (%s engine)', (engine) => {
  it('finds exactly the listening endpoints and nothing else', async () => {
    const { found, stats } = await scan(engine);
    expect(stats.engine).toBe(engine);
    expect(new Set(found)).toEqual(lab.truth);
    expect(found.length).toBe(lab.truth.size);
    expect(stats.completed).toBe(4096 * PORTS.length);
  });

  it('shards are disjoint and together complete', async () => {
    const parts = await Promise.all([0, 1, 2].map((index) => scan(engine, { index, count: 3 }, 1)));
    const all = parts.flatMap((p) => p.found);
    expect(all.length).toBe(new Set(all).size); // disjoint: nothing found twice
    expect(new Set(all)).toEqual(lab.truth); // complete
    expect(parts.reduce((n, p) => n + p.stats.completed, 0)).toBe(4096 * PORTS.length); // every probe once
    for (const p of parts) expect(p.stats.completed).toBeGreaterThan(0);
  });

  it('refuses to probe outside the scope even when asked to', async () => {
    const found: string[] = [];
    const stats = await runDiscovery({
      scope: restrictScope(scope, ['127.90.0.0/24']), // only 127.90.0.0/24 authorised
      engine,
      targetRanges: [target],
      ports: PORTS,
      seed: 1,
      shard: { index: 0, count: 1 },
      rate: 0,
      concurrency: 256,
      timeoutMs: 2000,
      retries: 0,
      workers: 1,
      onBatch: (b) => void found.push(...b.opens.map(([ip, port]) => `${formatIpv4(ip)}:${port}`)),
    });
    expect(stats.denied).toBe((4096 - 256) * PORTS.length);
    expect(stats.sent).toBe(256 * PORTS.length); // refused probes are not probes sent
    for (const ep of found) expect(ep.startsWith('127.90.0.')).toBe(true);
  });

  it('survives SIGKILL at any moment: resumed runs end with exactly the uninterrupted endpoints, no duplicates', async () => {
    const common = ['discover', '--targets', '127.90.0.0/20', '--ports', PORTS.join(','), '--seed', '5', '--workers', '2', '--engine', engine, '--json'];
    const full = join(dir, `full-${engine}.db`);
    const ref = await runCli([...common, '--db', full]);
    expect(ref.code, ref.stderr).toBe(0);
    const refRows = rowsOf(full, 1);
    expect(new Set(refRows)).toEqual(lab.truth);

    const db = join(dir, `killed-${engine}.db`);
    // Slow enough (about 3 s) to be killed part-way, several times, at different moments.
    const slow = [...common, '--rate', '6000', '--db', db];
    // --resume takes the stored targets, ports, seed and workers (giving them again is refused).
    const resumeSlow = ['discover', '--resume', '1', '--rate', '6000', '--engine', engine, '--db', db, '--json'];
    let resume = false;
    for (const delayMs of [0, 300, 900]) {
      const child = startCli(resume ? resumeSlow : slow);
      await waitForProgress(db);
      await new Promise((r) => setTimeout(r, delayMs));
      child.kill('SIGKILL');
      await new Promise((r) => child.once('close', r));
      resume = true;
      // The kill really landed mid-survey: the row is still running with a partial checkpoint.
      const d = new SQLite(db, { readonly: true });
      const row = d.prepare('select status, checkpoint from surveys where id = 1').get() as { status: string; checkpoint: string };
      d.close();
      expect(row.status).toBe('running');
      const done = (JSON.parse(row.checkpoint) as number[]).reduce((a, b) => a + b, 0);
      expect(done).toBeLessThan(4096 * PORTS.length);
    }
    const last = await runCli(resumeSlow);
    expect(last.code, last.stderr).toBe(0);
    const rows = rowsOf(db, 1);
    expect(rows.length).toBe(new Set(rows).size);
    expect(new Set(rows)).toEqual(new Set(refRows));
    expect(JSON.parse(last.stdout)).toMatchObject({ surveyId: 1, status: 'done', resumed: true, engine });
  }, 120_000);
});

describe('interrupting a survey', () => {
  it('stops on SIGINT with a resumable checkpoint, and --resume completes it exactly', async () => {
    const db = join(dir, 'sigint.db');
    const args = ['discover', '--targets', '127.90.0.0/20', '--ports', PORTS.join(','), '--seed', '8', '--rate', '6000', '--db', db, '--json'];
    const child = startCli(args);
    let stdout = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    await waitForProgress(db);
    child.kill('SIGINT');
    const code = await new Promise((r) => child.once('close', r));
    expect(code).toBe(130);
    expect(JSON.parse(stdout)).toMatchObject({ surveyId: 1, status: 'interrupted' });
    const resumeArgs = ['discover', '--resume', '1', '--rate', '6000', '--db', db, '--json'];
    const resumed = await runCli(resumeArgs);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(new Set(rowsOf(db, 1))).toEqual(lab.truth);
    const again = await runCli(resumeArgs);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('already complete');
  });
});

describe.each(ENGINES)('politeness and slow targets (%s engine)', (engine) => {
  it('never goes faster than --rate', async () => {
    const t0 = performance.now();
    const stats = await runDiscovery({
      scope,
      engine,
      targetRanges: [{ start: 0x7f5a0000, end: 0x7f5a07ff }], // 2,048 addresses
      ports: [23, 80],
      seed: 3,
      shard: { index: 0, count: 1 },
      rate: 2000,
      concurrency: 256,
      timeoutMs: 2000,
      retries: 0,
      workers: 2,
      onBatch: () => {},
    });
    const seconds = (performance.now() - t0) / 1000;
    expect(stats.sent).toBe(4096);
    // 4,096 probes at 2,000/s cannot take less than ~2 s (a small initial burst is allowed).
    expect(seconds).toBeGreaterThan(1.8);
    expect(stats.rate).toBeLessThan(2000 * 1.1);
  });

  it('times out and retries a target that never answers the handshake', async () => {
    // A listener with a full accept queue that never accepts: Linux then drops further SYNs, so
    // a connect to it hangs, like a filtered port. Node always accepts, so python3 holds it and
    // fills its own queue, saying ready once the first filler is queued (not after a fixed sleep). One address per engine, so the two runs never share a port.
    const ip = engine === 'raw' ? '127.90.200.1' : '127.90.200.2';
    const holder = spawn(
      'python3',
      ['-c', `import select,socket,time\ns=socket.socket()\ns.bind(('${ip}',9999))\ns.listen(0)\nc=[socket.socket() for _ in range(4)]\nfor x in c: x.setblocking(False); x.connect_ex(('${ip}',9999))\nselect.select([], [c[0]], [], 30)\nprint('ready',flush=True)\ntime.sleep(30)`],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    try {
      await new Promise((r) => holder.stdout!.once('data', r));
      const stats = await runDiscovery({
        scope,
        engine,
        targetRanges: [{ start: parseIpv4(ip)!, end: parseIpv4(ip)! }],
        ports: [9999],
        seed: 1,
        shard: { index: 0, count: 1 },
        rate: 0,
        concurrency: 4,
        timeoutMs: 300,
        retries: 2,
        workers: 1,
        onBatch: () => {},
      });
      expect(stats.timeouts).toBe(1);
      expect(stats.sent).toBe(3); // the first attempt and two retries
      expect(stats.open).toBe(0);
    } finally {
      holder.kill('SIGKILL');
    }
  });
});

// A small driver run as a child process (in a namespace, or under Node flags): each case is a
// discovery over a scope written as scope-file text; it prints one JSON line of stats per case.
const DRIVER = `
import { runDiscovery } from ${JSON.stringify(new URL('../src/discover/engine.ts', import.meta.url).href)};
import { compileScope, defaultScope, parseScope, restrictScope } from ${JSON.stringify(new URL('../src/scope/scope.ts', import.meta.url).href)};
for (const c of JSON.parse(process.argv[2])) {
  try {
    const scope = restrictScope(compileScope(c.scope ? parseScope(c.scope, 'test.scope') : defaultScope()), c.targets);
    const s = await runDiscovery({ scope, targetRanges: scope.ranges, ports: c.ports, seed: 1, shard: { index: 0, count: 1 }, rate: 0,
      concurrency: c.concurrency ?? 64, timeoutMs: 1000, retries: c.retries, workers: 1, engine: c.engine, onBatch: () => {} });
    console.log(JSON.stringify(s));
  } catch (e) {
    console.log(JSON.stringify({ error: e.code ?? 'crash', message: e.message }));
  }
}
`;

interface Case {
  readonly scope?: string;
  readonly targets: readonly string[];
  readonly ports: readonly number[];
  readonly retries: number;
  readonly engine: 'auto' | Engine;
  readonly concurrency?: number;
}
type CaseResult = Partial<Awaited<ReturnType<typeof runDiscovery>>> & { error?: string; message?: string };

/** Run the driver (bounded: 60 s, then SIGKILL) with a command prefix; returns one result per case. */
function drive(prefix: readonly string[], cases: readonly Case[], env: NodeJS.ProcessEnv = {}): Promise<{ results: CaseResult[]; code: number | null; stderr: string }> {
  const file = join(dir, 'driver.mts');
  writeFileSync(file, DRIVER);
  const argv = [...prefix, process.execPath, '--import', 'tsx', file, JSON.stringify(cases)];
  const child = spawn(argv[0]!, argv.slice(1), { cwd: repoRoot, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) =>
    child.on('close', (code) => {
      clearTimeout(timer);
      const results = stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as CaseResult);
      resolve({ results, code, stderr });
    }),
  );
}

const asRoot = process.getuid?.() === 0 && spawnSync('ip', ['-V']).status === 0;

// A loopback address that the namespace's routing refuses: an `unreachable` route in the local
// table (consulted first, longest prefix wins) makes connect() fail with EHOSTUNREACH at once.
const UNROUTABLE = '127.201.0.1';

describe.skipIf(!asRoot)('unreachable targets (in a network namespace with an unreachable route; needs root and iproute2, skipped otherwise)', () => {
  const NS = `iotclean-unroutable-${process.pid}`;
  beforeAll(() => {
    expect(spawnSync('ip', ['netns', 'add', NS], { timeout: 10_000 }).status).toBe(0);
    expect(spawnSync('ip', ['netns', 'exec', NS, 'ip', 'link', 'set', 'lo', 'up'], { timeout: 10_000 }).status).toBe(0);
    const route = spawnSync('ip', ['netns', 'exec', NS, 'ip', 'route', 'add', 'unreachable', `${UNROUTABLE}/32`, 'table', 'local'], { encoding: 'utf8', timeout: 10_000 });
    expect(route.status, route.stderr).toBe(0);
  });
  afterAll(() => {
    const pids = spawnSync('ip', ['netns', 'pids', NS], { encoding: 'utf8', timeout: 5000 }).stdout ?? '';
    for (const pid of pids.split(/\s+/).filter((p) => /^\d+$/.test(p))) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        // already gone
      }
    }
    spawnSync('ip', ['netns', 'del', NS], { timeout: 10_000 });
  });

  it('an address with no usable route ends promptly, counted unreachable, never retried as a local error', async () => {
    const cases: Case[] = ENGINES.flatMap((engine) => [
      { targets: [UNROUTABLE], ports: [80, 443], retries: 2, engine },
      { targets: ['127.255.255.248/29'], ports: [1, 2], retries: 2, engine },
    ]);
    const { results, code, stderr } = await drive(['ip', 'netns', 'exec', NS], cases);
    expect(code, stderr).toBe(0);
    expect(results).toHaveLength(4);
    for (const [i, engine] of ENGINES.entries()) {
      const unroutable = results[i * 2]!;
      const broadcastEnd = results[i * 2 + 1]!;
      expect(unroutable).toMatchObject({ engine, completed: 2, unreachable: 2, localErrors: 0, timeouts: 0, open: 0 });
      // No packet left the machine: connect() failed at once, so nothing counts as sent.
      expect(unroutable.sent).toBe(0);
      // 127.255.255.255 is lo's broadcast address (no route for TCP); the other seven refuse.
      expect(broadcastEnd).toMatchObject({ engine, completed: 16, unreachable: 2, localErrors: 0, timeouts: 0 });
      expect(broadcastEnd.sent).toBe(14);
    }
  }, 90_000);
});

describe.skipIf(spawnSync('prlimit', ['--version']).status !== 0)('out of file descriptors (needs util-linux prlimit, skipped otherwise)', () => {
  it('with far fewer fds than the concurrency, every target still completes: local errors wait, none is lost or given up', async () => {
    // 64 fds for the whole process against 1,024 probes in flight: connect() fails with EMFILE
    // again and again; those targets must wait for sockets to free, not be dropped or spin.
    const cases: Case[] = ENGINES.map((engine) => ({ targets: ['127.90.0.0/20'], ports: PORTS, retries: 0, engine, concurrency: 1024 }));
    const { results, code, stderr } = await drive(['prlimit', '--nofile=64:64'], cases);
    expect(code, stderr).toBe(0);
    for (const [i, engine] of ENGINES.entries()) {
      expect(results[i]).toMatchObject({ engine, completed: 4096 * PORTS.length, open: lab.truth.size, localErrors: 0, timeouts: 0 });
      expect(results[i]!.sent).toBe(4096 * PORTS.length); // each target sent once: failed connects are not probes
    }
  }, 90_000);
});

describe('engine choice under Node flags that make the raw handle unusable', () => {
  it('with --pending-deprecation --throw-deprecation, auto runs the net engine and --engine raw is E_ARGS, not a crash', async () => {
    const env = { NODE_OPTIONS: '--pending-deprecation --throw-deprecation' };
    const base = ['discover', '--targets', '127.90.0.0/24', '--ports', PORTS.join(','), '--seed', '1', '--json'];
    const auto = await collect(startCli([...base, '--db', join(dir, 'dep-auto.db')], env));
    expect(auto.code, auto.stderr).toBe(0);
    const out = JSON.parse(auto.stdout) as { engine: string; engineReason: string; status: string };
    expect(out).toMatchObject({ engine: 'net', status: 'done' });
    expect(out.engineReason).toMatch(/deprecation/);
    const raw = await collect(startCli([...base, '--engine', 'raw', '--db', join(dir, 'dep-raw.db')], env));
    expect(raw.code).toBe(2);
    expect(raw.stderr).toContain('E_ARGS');
    expect(raw.stderr).toContain('--engine raw is not available');
    expect(raw.stderr).not.toContain('DeprecationWarning');
  }, 90_000);

  it('under the permission model, auto runs the net engine and --engine raw is E_ARGS before any probe', async () => {
    // The CLI's SQLite addon is refused under the permission model, so the driver calls the engine.
    // Node 20 knows only --experimental-permission; Node 24 refuses it in NODE_OPTIONS.
    const permission = process.allowedNodeEnvironmentFlags.has('--permission') ? '--permission' : '--experimental-permission';
    const flags = [permission, '--allow-fs-read=*', '--allow-fs-write=*', '--allow-worker', '--allow-child-process'];
    const cases: Case[] = [
      { targets: ['127.90.0.0/24'], ports: PORTS, retries: 0, engine: 'auto' },
      { targets: ['127.90.0.0/24'], ports: PORTS, retries: 0, engine: 'raw' },
    ];
    const { results, code, stderr } = await drive([], cases, { NODE_OPTIONS: flags.join(' ') });
    expect(code, stderr).toBe(0);
    expect(results[0]).toMatchObject({ engine: 'net', completed: 256 * PORTS.length });
    expect(results[0]!.engineReason).toMatch(/permission/);
    expect(results[1]).toMatchObject({ error: 'E_ARGS' });
    expect(results[1]!.message).toMatch(/--engine raw is not available: the permission model/);
  }, 90_000);
});

function collect(child: ReturnType<typeof startCli>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) =>
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    }),
  );
}
