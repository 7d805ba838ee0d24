/**
 * Discovery against real loopback listeners: recall, sharding (disjoint and complete), and the
 * SIGKILL/resume property, through the CLI and the store as a user would meet them.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SQLite from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatIpv4 } from '../src/core/ip.js';
import { runDiscovery } from '../src/discover/engine.js';
import { listenSpread, runCli, startCli, type Listeners } from './helpers.js';

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
const scope = [{ start: 0x7f000000, end: 0x7fffffff }];

async function scan(shard = { index: 0, count: 1 }, workers = 2) {
  const found: string[] = [];
  const stats = await runDiscovery({
    scopeRanges: scope,
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

describe('connect discovery', () => {
  it('finds exactly the listening endpoints and nothing else', async () => {
    const { found, stats } = await scan();
    expect(new Set(found)).toEqual(lab.truth);
    expect(found.length).toBe(lab.truth.size);
    expect(stats.completed).toBe(4096 * PORTS.length);
  });

  it('shards are disjoint and together complete', async () => {
    const parts = await Promise.all([0, 1, 2].map((index) => scan({ index, count: 3 }, 1)));
    const all = parts.flatMap((p) => p.found);
    expect(all.length).toBe(new Set(all).size); // disjoint: nothing found twice
    expect(new Set(all)).toEqual(lab.truth); // complete
    expect(parts.reduce((n, p) => n + p.stats.completed, 0)).toBe(4096 * PORTS.length); // every probe once
    for (const p of parts) expect(p.stats.completed).toBeGreaterThan(0);
  });

  it('refuses to probe outside the scope even when asked to', async () => {
    const found: string[] = [];
    const stats = await runDiscovery({
      scopeRanges: [{ start: 0x7f5a0000, end: 0x7f5a00ff }], // only 127.90.0.0/24 authorised
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
    for (const ep of found) expect(ep.startsWith('127.90.0.')).toBe(true);
  });

  it('survives SIGKILL at any moment: resumed runs end with exactly the uninterrupted endpoints, no duplicates', async () => {
    const common = ['discover', '--targets', '127.90.0.0/20', '--ports', PORTS.join(','), '--seed', '5', '--workers', '2', '--json'];
    const full = join(dir, 'full.db');
    const ref = await runCli([...common, '--db', full]);
    expect(ref.code, ref.stderr).toBe(0);
    const refRows = rowsOf(full, 1);
    expect(new Set(refRows)).toEqual(lab.truth);

    const db = join(dir, 'killed.db');
    // Slow enough (about 3 s) to be killed part-way, several times, at different moments.
    const slow = [...common, '--rate', '6000', '--db', db];
    // --resume takes the stored targets, ports, seed and workers (giving them again is refused).
    const resumeSlow = ['discover', '--resume', '1', '--rate', '6000', '--db', db, '--json'];
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
    expect(JSON.parse(last.stdout)).toMatchObject({ surveyId: 1, status: 'done', resumed: true });
  });
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

describe('politeness and slow targets', () => {
  it('never goes faster than --rate', async () => {
    const t0 = performance.now();
    const stats = await runDiscovery({
      scopeRanges: scope,
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
    // a connect to it hangs, like a filtered port. Node always accepts, so python3 holds it.
    const { spawn } = await import('node:child_process');
    const net = await import('node:net');
    const holder = spawn('python3', ['-c', "import socket,time\ns=socket.socket()\ns.bind(('127.90.200.1',9999))\ns.listen(0)\nprint('ready',flush=True)\ntime.sleep(30)"], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise((r) => holder.stdout!.once('data', r));
    const fillers = Array.from({ length: 4 }, () => net.connect(9999, '127.90.200.1').on('error', () => {}));
    // The queue is full once one filler is connected (backlog 0 holds one); wait for that rather
    // than a fixed time, which a busy machine may not honour.
    await new Promise((r, reject) => {
      const timer = setTimeout(() => reject(new Error('no filler connected within 30 s')), 30_000);
      for (const f of fillers) f.once('connect', () => (clearTimeout(timer), r(undefined)));
    });
    try {
      const stats = await runDiscovery({
        scopeRanges: scope,
        targetRanges: [{ start: 0x7f5ac801, end: 0x7f5ac801 }],
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
      for (const f of fillers) f.destroy();
      holder.kill();
    }
  });
});
