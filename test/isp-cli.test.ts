/**
 * `iotclean isp import | match` as an ISP runs them, on the lab's written files: every ISP's logs
 * import without a malformed line, each probe finding (current holders, earlier holders of
 * reassigned addresses, CGNAT ports) prints the subscriber the truth names and the measure its
 * inventory gives; a malformed line is reported with file and line while the rest is imported.
 */
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Finding, NotificationBatch } from '../src/core/records.js';
import { buildLab } from '../src/lab/population.js';
import { buildLabSubscribers, writeLabSubscribers } from '../src/lab/subscribers.js';
import { runCli } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'iotclean-ispcli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const periodEnd = Date.parse('2026-12-15T00:00:00Z');
const plan = buildLab({ devices: 120, seed: 'isp-cli', network: '127.114.0.0/16' });
const world = buildLabSubscribers(plan, { periodEnd });
writeLabSubscribers(world, dir);

function finding(ip: string, port: number | null, at: number, model: string): Finding {
  return {
    kind: 'weak-credential',
    ip,
    port,
    protocol: 'telnet',
    observedAt: new Date(at).toISOString(),
    period: '2026-12',
    device: { type: 'router', vendor: null, model, firmware: null },
    severity: 'high',
    details: { entry: 'mirai-001' },
    evidence: [],
    surveyId: 1,
    planVersion: '2026.12-1',
    isp: null,
    prefixOwner: null,
    held: null,
  };
}

describe('iotclean isp', () => {
  it('has help for import and match', async () => {
    const r = await runCli(['isp', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('import');
    expect(r.stdout).toContain('match');
  }, 60_000);

  it('imports every lab ISP and matches its probes to the right subscriber and measure', async () => {
    for (const isp of world.isps) {
      const db = join(dir, `${isp.ispId}.db`);
      const d = join(dir, isp.ispId);
      const imp = await runCli(['isp', 'import', join(d, isp.sessionFile), '--collected-at', new Date(periodEnd).toISOString(), '--subscribers', join(d, 'subscribers.csv'), '--inventory', join(d, 'inventory.csv'), '--db', db, '--json']);
      expect(imp.code, imp.stderr).toBe(0);
      const report = JSON.parse(imp.stdout) as { files: { sessions: number; problems: number; sources: Record<string, number> }[]; problems: unknown[] };
      expect(report.problems).toEqual([]);
      expect(Object.keys(report.files[0]!.sources)).toEqual([isp.format]);
      const probes = world.truth.probes.filter((p) => p.ispId === isp.ispId);
      const byId = new Map(plan.devices.map((x) => [x.id, x]));
      const batch: NotificationBatch = {
        kind: 'notification-batch',
        ticket: `IOTC-20261215-${isp.ispId}-0001`,
        isp: isp.ispId,
        createdAt: new Date(periodEnd).toISOString(),
        findings: probes.map((p) => finding(p.ip, p.port, p.at, byId.get(p.deviceId)!.profile.model)),
      };
      const file = join(dir, `${isp.ispId}-batch.json`);
      writeFileSync(file, JSON.stringify(batch));
      const m = await runCli(['isp', 'match', file, '--db', db, '--json']);
      expect(m.code, m.stderr).toBe(0);
      const rows = m.stdout.trim().split('\n').map((l) => JSON.parse(l) as { status: string; subscriber: string | null; measure: string | null; ticket: string });
      expect(rows.length).toBe(probes.length);
      rows.forEach((r, i) => {
        const p = probes[i]!;
        expect([r.status, r.subscriber], `${isp.ispId} ${p.kind} ${p.ip}`).toEqual(['matched', p.subscriber]);
        const entry = isp.inventory.find((e) => e.subscriber === p.subscriber || (e.mac !== null && isp.subscribers.find((s) => s.id === p.subscriber)?.macs.includes(e.mac)));
        expect(r.measure).toBe(entry?.measure ?? 'subscriber-alert');
        expect(r.ticket).toBe(batch.ticket);
      });
      if (isp === world.isps[0]) {
        // People get one tab-separated line per finding.
        const text = await runCli(['isp', 'match', file, '--db', db]);
        expect(text.stdout.trim().split('\n').length).toBe(probes.length);
        expect(text.stdout).toContain('\tmatched\t');
      }
    }
  }, 300_000);

  it('reports a malformed line with file and line and imports the rest; an unknown file is E_SESSION_LOG', async () => {
    const isp = world.isps.find((i) => i.format === 'radius-csv')!;
    const log = join(dir, 'broken.csv');
    const original = readFileSync(join(dir, isp.ispId, isp.sessionFile), 'utf8');
    writeFileSync(log, original);
    appendFileSync(log, '2026-12-14T00:00:00Z,Start,zz,someone,999.1.1.1,,\n');
    const lineNo = original.split('\n').length;
    const db = join(dir, 'broken.db');
    const r = await runCli(['isp', 'import', log, '--db', db]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`${log}:${lineNo}: bad framed_ip "999.1.1.1"`);
    expect(r.stdout).toMatch(/\d+ sessions \(radius-csv\), 1 malformed/);
    const junk = join(dir, 'junk.txt');
    writeFileSync(junk, 'hello\n');
    const bad = await runCli(['isp', 'import', junk, '--db', db, '--json']);
    expect(bad.code).toBe(2);
    expect(JSON.parse(bad.stderr).error).toMatchObject({ code: 'E_SESSION_LOG', file: junk });
    const badBatch = join(dir, 'bad-batch.json');
    writeFileSync(badBatch, JSON.stringify({ kind: 'notification-batch', ticket: 'T', isp: 'x', createdAt: '', findings: [{ kind: 'weak-credential', ip: '127.0.0.9', port: 23, observedAt: 'later' }] }));
    const m = await runCli(['isp', 'match', badBatch, '--db', db, '--json']);
    expect(m.code).toBe(2);
    expect(JSON.parse(m.stderr).error).toMatchObject({ code: 'E_FINDING', file: badBatch });
  }, 120_000);
});
