/**
 * The main job end to end (what `npm start` runs): the demo starts a lab, surveys it with the
 * default plan and stores endpoints that must match the lab's ground truth exactly.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SQLite from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { readGroundTruth } from '../src/lab/ground-truth.js';
import { runCli } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'iotclean-demo-'));
// Measured on 2 cores shared with other test runs: the demo took 57-94 s and the 10,000-device lab
// 46-60 s. The timeouts leave room for a fully busy machine; if one expires, test/setup.ts kills the
// CLI and the lab's detached shards (they carry the test's marker), so nothing scans on afterwards.
const demoTimeoutMs = 360_000;
const bigLabTimeoutMs = 480_000;
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('iotclean demo', () => {
  it('finds every listening device port of the lab and nothing else, and summarises per ISP', async () => {
    const labDir = join(dir, 'lab');
    const db = join(dir, 'demo.db');
    const r = await runCli(['demo', '--devices', '300', '--network', '127.83.0.0/16', '--dir', labDir, '--db', db, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as {
      surveyId: number;
      status: string;
      open: number;
      probesSent: number;
      isps: { ispId: string; participating: boolean; parent?: string; openEndpoints: number; addressesSurveyed: number }[];
    };
    expect(out.status).toBe('done');
    expect(out.probesSent).toBe(65536 * 40);

    const truth = readGroundTruth(labDir);
    const expected = new Set(truth.devices.flatMap((d) => d.services.map((s) => `${d.ip}:${s.boundPort}`)));
    const d = new SQLite(db, { readonly: true });
    const rows = (d.prepare('select ip, port from endpoints where survey_id = ?').all(out.surveyId) as { ip: string; port: number }[]).map((x) => `${x.ip}:${x.port}`);
    d.close();
    expect(rows.length).toBe(expected.size);
    expect(new Set(rows)).toEqual(expected);

    // Per-ISP summary: every endpoint is attributed, the whole /16 is accounted for once.
    expect(out.isps.reduce((n, i) => n + i.openEndpoints, 0)).toBe(expected.size);
    for (const isp of truth.isps) {
      const want = truth.devices.filter((dev) => dev.ispId === isp.id).reduce((n, dev) => n + dev.services.length, 0);
      expect(out.isps.find((i) => i.ispId === isp.id)?.openEndpoints).toBe(want);
    }
    expect(out.isps.some((i) => !i.participating)).toBe(true);
    expect(out.isps.some((i) => i.parent !== undefined)).toBe(true);
    // The lab was stopped afterwards (the demo started it).
    const status = await runCli(['lab', 'status', '--dir', labDir]);
    expect(status.stdout).toContain('no lab running');
  }, demoTimeoutMs);
});

describe('a 10,000-device lab', () => {
  it('starts, is surveyed exactly, and stops', async () => {
    const labDir = join(dir, 'big');
    const db = join(dir, 'big.db');
    const up = await runCli(['lab', 'up', '--devices', '10000', '--network', '127.84.0.0/16', '--dir', labDir, '--json']);
    expect(up.code, up.stderr).toBe(0);
    try {
      const state = JSON.parse(up.stdout) as { devices: number; listeners: number; shards: unknown[] };
      expect(state.devices).toBe(10000);
      expect(state.shards.length).toBeGreaterThan(1); // more listeners than one process may hold
      const truth = readGroundTruth(labDir);
      const expected = new Set(truth.devices.flatMap((d) => d.services.map((s) => `${d.ip}:${s.boundPort}`)));
      expect(state.listeners).toBe(expected.size);
      const r = await runCli(['discover', '--lab', labDir, '--targets', '127.84.0.0/16', '--rate', '0', '--db', db, '--json']);
      expect(r.code, r.stderr).toBe(0);
      const d = new SQLite(db, { readonly: true });
      const rows = (d.prepare('select ip, port from endpoints').all() as { ip: string; port: number }[]).map((x) => `${x.ip}:${x.port}`);
      d.close();
      expect(rows.length).toBe(expected.size);
      expect(new Set(rows)).toEqual(expected);
    } finally {
      const down = await runCli(['lab', 'down', '--dir', labDir]);
      expect(down.code, down.stderr).toBe(0);
    }
  }, bigLabTimeoutMs);
});
