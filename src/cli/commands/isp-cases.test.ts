/**
 * The case commands as an ISP operator meets them (the real CLI process, a real SMTP server on
 * 127.10x in this test): alert opens cases and mails, verify closes and persists, cases shows and
 * acknowledges, escalations lists with evidence, effect prints the curve; bad input is refused.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../../test/helpers.js';
import { startTestSmtp, testFinding, testMatch } from '../../notify/isp/test-support.js';

const dir = mkdtempSync(join(tmpdir(), 'iotclean-isp-cases-cli-'));
let smtp: Awaited<ReturnType<typeof startTestSmtp>>;
beforeAll(async () => {
  smtp = await startTestSmtp();
});
afterAll(async () => {
  await smtp.close();
  rmSync(dir, { recursive: true, force: true });
});

const db = join(dir, 'isp.db');
const t0 = '2026-12-01T00:00:00.000Z';
const file = (name: string, value: unknown) => {
  const path = join(dir, name);
  writeFileSync(path, JSON.stringify(value));
  return path;
};
const cli = (args: string[]) => runCli(['isp', ...args, '--db', db]);

describe('iotclean isp (cases)', () => {
  it('runs alert → verify → alert → verify → escalations → effect', { timeout: 120_000 }, async () => {
    const matches = file('matches.json', [
      testMatch('sub-1', testFinding('127.105.0.1', 23, t0)),
      { match: testMatch('sub-2', testFinding('127.105.0.2', 23, t0)), measure: 'subscriber-alert', contact: null, ticket: 'IOTC-20261201-ispa-0001' },
      { match: testMatch('sub-3', testFinding('127.105.0.3', 80, t0, { kind: 'unauthenticated-admin' })), measure: 'isp-task', contact: 'noc@isp.test', ticket: null },
      { finding: testFinding('127.105.0.4', 23, t0), status: 'unmatched', subscriber: null, candidates: [], reason: 'no session covers it' },
    ]);
    const subscribers = file('subs.json', [
      { id: 'sub-1', email: 'one@home.test', language: 'ja', name: '一郎' },
      { id: 'sub-2', email: 'two@home.test', language: 'en', name: null },
      { id: 'sub-3', email: 'three@home.test', language: 'ja', name: null },
    ]);
    const common = ['--smtp', smtp.url, '--subscribers', subscribers, '--control-share', '0', '--json'];
    const a1 = await cli(['alert', '--matches', matches, ...common, '--now', '2026-12-01T01:00:00Z']);
    expect(a1.stderr).toBe('');
    expect(a1.code).toBe(0);
    const r1 = JSON.parse(a1.stdout) as { intake: { opened: string[]; skipped: unknown[] }; sent: { delivered: boolean; recipient: string }[] };
    expect(r1.intake.opened).toEqual(['IOTC-2026-000001', 'IOTC-2026-000002', 'IOTC-2026-000003']);
    expect(r1.intake.skipped.length).toBe(1);
    expect(r1.sent.map((s) => s.recipient).sort()).toEqual(['noc@isp.test', 'one@home.test', 'two@home.test']);
    expect(smtp.received.flatMap((m) => m.envelopeTo)).not.toContain('three@home.test');

    const v1 = file('v1.json', [
      { kind: 'weak-credential', ip: '127.105.0.1', port: 23, at: '2026-12-08T00:00:00Z', present: false, ticket: null },
      { kind: 'weak-credential', ip: '127.105.0.2', port: 23, at: '2026-12-08T00:00:00Z', present: true, ticket: null },
    ]);
    const vr = await cli(['verify', '--verifications', v1, '--escalate-after', '2']);
    expect(vr.code).toBe(0);
    expect(vr.stdout).toContain('1 fixed, 1 persisting');

    const a2 = await cli(['alert', ...common, '--now', '2026-12-08T02:00:00Z']);
    expect((JSON.parse(a2.stdout) as { sent: { recipient: string; delivered: boolean }[] }).sent).toEqual([expect.objectContaining({ recipient: 'two@home.test', delivered: true })]);
    const v2 = file('v2.json', [{ kind: 'weak-credential', ip: '127.105.0.2', port: 23, at: '2026-12-15T00:00:00Z', present: true, ticket: 'R2' }]);
    expect((await cli(['verify', '--verifications', v2, '--escalate-after', '2'])).stdout).toContain('1 escalated');

    const esc = await cli(['escalations', '--after', '2']);
    expect(esc.code).toBe(0);
    expect(esc.stdout).toContain('IOTC-2026-000002  subscriber sub-2');
    expect(esc.stdout).toMatch(/alert 2026-12-01T01:00:00\.000Z .*two@home\.test +delivered +"250/);
    expect(esc.stdout).toContain('re-scan 2026-12-15T00:00:00.000Z  127.105.0.2:23  still present  (R2)');
    expect(esc.stdout).toContain('never disconnects');

    const show = await cli(['cases', 'IOTC-2026-000003', '--acknowledge', '--by', 'desk:sato', '--note', 'ops on it']);
    expect(show.code).toBe(0);
    expect(show.stdout).toMatch(/alerted → acknowledged +by desk:sato +\(ops on it\)/);
    const bad = await cli(['cases', 'IOTC-2026-000001', '--acknowledge']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('cannot go from fixed to acknowledged');

    const list = await cli(['cases', '--state', 'escalated', '--json']);
    expect((JSON.parse(list.stdout) as { reference: string }[]).map((c) => c.reference)).toEqual(['IOTC-2026-000002']);

    const eff = await cli(['effect', '--as-of', '2027-01-31T00:00:00Z', '--json']);
    const report = JSON.parse(eff.stdout) as { rows: { dimension: string; value: string; notified: { points: { days: number; share: number | null }[] } }[] };
    const all = report.rows.find((r) => r.dimension === 'all')!;
    expect(all.notified.points.map((p) => p.share)).toEqual([1 / 3, 1 / 3, 1 / 3]);
    expect((await cli(['effect', '--as-of', '2027-01-31T00:00:00Z'])).stdout).toContain('fixed≤14d');
  });

  it('refuses bad input with the file and item, and a missing --smtp', async () => {
    const broken = file('broken.json', [{ finding: { kind: 'weak-credential' }, status: 'matched', subscriber: 's' }]);
    const r = await cli(['alert', '--matches', broken, '--smtp', smtp.url]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/E_ARGS .*broken\.json.*matches #1/s);
    expect((await cli(['alert'])).stderr).toContain('--smtp is required');
    expect((await cli(['alert', '--smtp', 'http://x'])).stderr).toContain('smtp://');
    const own = mkdtempSync(join(dir, 'tpl-'));
    writeFileSync(join(own, 'subscriber-alert.ja.txt'), 'Subject: {{reference}}\n\n{{secret}}\n');
    const t = await cli(['alert', '--smtp', smtp.url, '--templates', own]);
    expect(t.code).toBe(2);
    expect(t.stderr).toMatch(/E_TEMPLATE .*subscriber-alert\.ja\.txt:3: unknown placeholder \{\{secret\}\}/);
    expect((await cli(['cases', 'nonsense'])).stderr).toContain('not a case reference');
  });
});
