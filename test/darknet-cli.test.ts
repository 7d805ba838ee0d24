/** `iotclean darknet generate | analyse` as a user runs them. */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'iotclean-darknet-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('iotclean darknet', () => {
  it('has help for each command and takes one or more capture files', async () => {
    for (const path of [['darknet'], ['darknet', 'analyse'], ['darknet', 'watch'], ['darknet', 'generate'], ['darknet', 'days']]) {
      const r = await runCli([...path, '--help']);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/^Usage: iotclean darknet/);
      expect(r.stdout).toContain('--json');
    }
    expect((await runCli(['darknet', 'analyse', '--help'])).stdout).toContain('<file...>');
    const none = await runCli(['darknet', 'analyse']);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/E_ARGS .*at least 1 argument/);
  }, 60_000);

  const cap = join(dir, 'lab.pcap');
  const truth = join(dir, 'lab.json');

  it('generate is deterministic from its seed and writes the truth separately', async () => {
    const g = await runCli(['darknet', 'generate', '--out', cap, '--truth', truth, '--seed', 's1', '--packets', '20000', '--json']);
    expect(g.code, g.stderr).toBe(0);
    expect(JSON.parse(g.stdout)).toMatchObject({ out: cap, truth });
    const again = join(dir, 'again.pcap');
    const g2 = await runCli(['darknet', 'generate', '--out', again, '--truth', join(dir, 'again.json'), '--seed', 's1', '--packets', '20000']);
    expect(g2.code, g2.stderr).toBe(0);
    expect(readFileSync(again).equals(readFileSync(cap))).toBe(true);
  }, 60_000);

  it('analyse --days stores the per-day aggregates, --parquet writes the source-days; darknet days lists them', async () => {
    const db = join(dir, 'days.db');
    const pq = join(dir, 'parquet');
    const r = await runCli(['darknet', 'analyse', cap, '--days', '--parquet', pq, '--db', db, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const sources = JSON.parse(r.stdout) as { infected: boolean; packets: number }[];
    const folders = readdirSync(pq);
    expect(folders.length).toBeGreaterThan(0);
    expect(folders.every((f) => /^day=\d{4}-\d{2}-\d{2}$/.test(f) && readdirSync(join(pq, f)).some((x) => x.endsWith('.parquet')))).toBe(true);
    const days = await runCli(['darknet', 'days', '--db', db, '--json']);
    expect(days.code, days.stderr).toBe(0);
    const rows = JSON.parse(days.stdout) as { sources: number; infected: number; packets: number; isp: string | null }[];
    expect(rows.reduce((n, d) => n + d.sources, 0)).toBe(sources.length);
    expect(rows.reduce((n, d) => n + d.infected, 0)).toBe(sources.filter((s) => s.infected).length);
    expect(rows.reduce((n, d) => n + d.packets, 0)).toBe(sources.reduce((n, s) => n + s.packets, 0));
    expect(rows.every((d) => d.isp === null)).toBe(true); // no --isps: no ISP
    const text = await runCli(['darknet', 'days', '--db', db]);
    expect(text.stdout).toMatch(/scanning\s+mirai\s+-\s+\d+/);
    const bad = await runCli(['darknet', 'days', '--db', db, '--from', 'yesterday']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--from yesterday is not a UTC day');
  }, 60_000);

  it('analyse --json gives one object per source with the documented keys; text gives the tables', async () => {
    const r = await runCli(['darknet', 'analyse', cap, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const rows = JSON.parse(r.stdout) as Record<string, unknown>[];
    const t = JSON.parse(readFileSync(truth, 'utf8')) as { sources: { ip: string; role: string }[] };
    expect(new Set(rows.map((x) => x.ip))).toEqual(new Set(t.sources.map((s) => s.ip)));
    for (const key of ['ip', 'class', 'fingerprint', 'packets', 'destinations', 'ports', 'first_seen', 'last_seen', 'confidence', 'infected']) expect(rows[0]).toHaveProperty(key);
    const bots = new Set(t.sources.filter((s) => s.role === 'mirai').map((s) => s.ip));
    expect(rows.filter((x) => x.infected).map((x) => x.ip).sort()).toEqual([...bots].sort());
    const text = await runCli(['darknet', 'analyse', cap]);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/scanning\s+mirai\s+\d+/);
    expect(text.stdout).toContain(`Mirai-style infected candidates: ${bots.size} source(s)`);
  }, 60_000);

  it('reports skipped records of a damaged capture, and refuses a file that is not a capture', async () => {
    const bytes = readFileSync(cap);
    const damaged = join(dir, 'damaged.pcap');
    const b = Buffer.from(bytes.subarray(0, bytes.length - 7));
    b.writeUInt32LE(0xffffff, 24 + 8 + 70 * 100);
    writeFileSync(damaged, b);
    const r = await runCli(['darknet', 'analyse', damaged]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/skipped \(.*truncated-record 1/);
    const j = await runCli(['darknet', 'analyse', damaged, '--json']);
    expect(j.code).toBe(0);
    expect(j.stderr).toMatch(/skipped/);
    const text = join(dir, 'notes.txt');
    writeFileSync(text, 'not a capture\n');
    const bad = await runCli(['darknet', 'analyse', text]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('E_CAPTURE_FILE');
    expect(bad.stderr).toContain(text);
  }, 60_000);
});

describe('darknet generate, bounded', () => {
  it('refuses ISP prefixes too small for the bots asked of them instead of looping', async () => {
    const { generateDarknetCapture } = await import('../src/lab/darknet/generate.js');
    expect(() => generateDarknetCapture({ out: join(dir, 'x.pcap'), truth: join(dir, 'x.json'), packets: 100_000, isps: [{ id: 'tiny', prefix: '127.9.9.0/30' }] })).toThrow(/no free source address/);
  });
});
