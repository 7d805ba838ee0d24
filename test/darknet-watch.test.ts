/**
 * `iotclean darknet watch` as a sensor runs it: a capture streamed on stdin (as `tcpdump -w -` would
 * give it) spanning three UTC days. Each Mirai-style bot is reported once per day it scans, the
 * moment it crosses the threshold; no research scanner ever is; each day is summarised as it closes.
 */
import { spawn } from 'node:child_process';
import { createReadStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { generateDarknetCapture } from '../src/lab/darknet/generate.js';
import { cliArgv, repoRoot } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'iotclean-darknet-watch-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('iotclean darknet watch', () => {
  it('reports bots as they cross the threshold and summarises each day as it closes', async () => {
    const cap = join(dir, 'days.pcap');
    const truth = generateDarknetCapture({ out: cap, truth: join(dir, 'days.json'), seed: 'watch', packets: 60_000, start: '2026-02-01T12:00:00Z', hours: 60 });
    const child = spawn(cliArgv[0]!, [...cliArgv.slice(1), 'darknet', 'watch', '--json'], { cwd: repoRoot, stdio: ['pipe', 'pipe', 'pipe'] });
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    createReadStream(cap).pipe(child.stdin);
    const code = await new Promise<number | null>((r) => child.on('close', r));
    clearTimeout(timer);
    expect(code, stderr).toBe(0);
    const events = stdout.trim().split('\n').map((l) => JSON.parse(l) as { event: string; ip?: string; day?: string; infected?: number });
    const kinds = events.map((e) => e.event);
    expect(kinds.at(-1)).toBe('end');
    // Three days (12:00 on day one to 00:00 on day four): day one closes when day three starts.
    const days = events.filter((e) => e.event === 'day');
    expect(days.map((d) => d.day)).toEqual(['2026-02-01', '2026-02-02', '2026-02-03']);
    expect(kinds.indexOf('day')).toBeLessThan(kinds.lastIndexOf('infected'));
    const alerts = events.filter((e) => e.event === 'infected');
    const keys = alerts.map((a) => `${a.ip} ${a.day}`);
    expect(new Set(keys).size).toBe(keys.length);
    const roleOf = new Map(truth.sources.map((s) => [s.ip, s.role]));
    expect(alerts.every((a) => roleOf.get(a.ip!) === 'mirai')).toBe(true);
    const bots = truth.sources.filter((s) => s.role === 'mirai');
    expect(new Set(alerts.map((a) => a.ip)).size).toBeGreaterThanOrEqual(Math.ceil(bots.length * 0.99));
    expect(days.reduce((n, d) => n + (d.infected ?? 0), 0)).toBe(alerts.length);
  }, 90_000);
});
