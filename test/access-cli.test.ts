/**
 * The access stage end to end through the CLI on a lab started with `iotclean lab up`:
 * `survey --stages discover,grab,identify,access` stores a result per login service, scored
 * against the lab's ground truth with the issue 7 criteria (test/access-lab.ts), the lab's lock
 * record included; `access --survey ID --json` prints one JSON object per line per service with
 * the documented fields and no password; a rerun skips what is checked; bad arguments are refused.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadDictionary } from '../src/access/dictionary/index.js';
import type { AccessResult } from '../src/core/records.js';
import { readGroundTruth } from '../src/lab/ground-truth.js';
import { readLockouts } from '../src/lab/lockouts.js';
import { scoreAccess } from '../src/lab/score-access.js';
import { openStore } from '../src/store/open.js';
import { expectLabAccessPerfect, summary } from './access-lab.js';
import { repoRoot, runCli } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'iotclean-access-e2e-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/**
 * The default plan without the pause, with lock-outs reported at once (the lab's lock lasts 10
 * minutes) and 240 tries per host (the lab's weak pairs rank within the first 72 for their maker;
 * the whole list on every strong device would take minutes).
 */
function labPlan(): string {
  const text = readFileSync(join(repoRoot, 'plans/default.yaml'), 'utf8')
    .replace(/pauseMs: 200\b/, 'pauseMs: 0')
    .replace(/lockoutBackoffMs: 300000\b/, 'lockoutBackoffMs: 0')
    .replace(/maxAttemptsPerHost: 3000\b/, 'maxAttemptsPerHost: 240');
  expect(text).toContain('lockoutBackoffMs: 0');
  expect(text).toContain('maxAttemptsPerHost: 240');
  const path = join(dir, 'lab-plan.yaml');
  writeFileSync(path, text);
  return path;
}

describe('iotclean survey --stages discover,grab,identify,access on a lab', () => {
  it('finds every weak device with a right pair, no false positive, honeypots accepts-any, lock-outs polite', async () => {
    const labDir = join(dir, 'lab');
    const db = join(dir, 'access.db');
    const plan = labPlan();
    const up = await runCli(['lab', 'up', '--devices', '300', '--network', '127.63.0.0/16', '--dir', labDir, '--json']);
    expect(up.code, up.stderr).toBe(0);
    let surveyId: number;
    try {
      const r = await runCli(['survey', '--lab', labDir, '--plan', plan, '--stages', 'discover,grab,identify,access', '--rate', '0', '--db', db, '--json']);
      expect(r.code, r.stderr).toBe(0);
      const out = JSON.parse(r.stdout) as { surveyId: number; stages: string[]; access: { byVerdict: Record<string, number>; byProtocol: Record<string, number> } };
      expect(out.stages).toEqual(['discover', 'grab', 'identify', 'access']);
      expect(out.access.byVerdict['weak-credential']).toBeGreaterThan(0);
      surveyId = out.surveyId;
    } finally {
      const down = await runCli(['lab', 'down', '--dir', labDir]);
      expect(down.code, down.stderr).toBe(0);
    }
    const store = await openStore(db, { readOnly: true });
    const results: AccessResult[] = [];
    let audit = 0;
    try {
      for await (const x of store.access.list(surveyId)) results.push(x);
      for await (const a of store.access.attempts(surveyId)) {
        audit++;
        expect(a.planVersion).toBe('2026.12-3');
      }
    } finally {
      await store.close();
    }
    const dictionary = await loadDictionary();
    const byId = new Map(dictionary.entries.map((e) => [e.id, e]));
    const score = scoreAccess(readGroundTruth(labDir), results, (id) => byId.get(id));
    console.log(`access e2e (CLI, 300 devices): ${summary(score)}; ${audit} attempts audited`);
    expect(score.weakDevices).toBeGreaterThan(10);
    expect(score.honeypotServices).toBeGreaterThan(0);
    expectLabAccessPerfect(score, readLockouts(labDir));
    // Every try is in the audit: at least one per result that tried anything.
    expect(audit).toBeGreaterThanOrEqual(results.reduce((n, r) => n + r.attempts, 0));

    // The stored results as a script reads them: one JSON object per line, entry ids, no password.
    const printed = await runCli(['access', '--survey', String(surveyId), '--db', db, '--json']);
    expect(printed.code, printed.stderr).toBe(0);
    const lines = printed.stdout.trim().split('\n');
    expect(lines).toHaveLength(results.length);
    const rows = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    for (const row of rows) {
      expect(Object.keys(row)).toEqual(expect.arrayContaining(['ip', 'port', 'protocol', 'verdict', 'entry', 'username']));
      expect(['telnet', 'ssh', 'http-basic', 'http-digest', 'http-form']).toContain(row['protocol']);
    }
    const weak = rows.filter((row) => row['verdict'] === 'weak-credential');
    expect(weak.length).toBeGreaterThan(0);
    for (const row of weak) {
      const entry = byId.get(row['entry'] as string)!;
      expect(row['username']).toBe(entry.username);
      // The password is never printed for the pair that worked (only where it is the ID too).
      expect(Object.keys(row)).not.toContain('password');
      for (const [key, value] of Object.entries(row)) if (key !== 'username' && entry.password !== '') expect(value, key).not.toBe(entry.password);
    }
    // The lab is down, so a try would fail: the rerun skipped every checked service (no new attempt).
    const again = await openStore(db, { readOnly: true });
    try {
      let after = 0;
      for await (const _ of again.access.attempts(surveyId)) after++;
      expect(after).toBe(audit);
    } finally {
      await again.close();
    }
  }, 600_000);

  it('refuses --survey with --targets, and a stage list with access but no grab', async () => {
    const both = await runCli(['access', '--survey', '1', '--targets', '127.0.0.1', '--db', join(dir, 'none.db'), '--json']);
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/either --survey ID or --targets/);
    const noGrab = await runCli(['survey', '--targets', '127.0.0.1', '--stages', 'discover,access', '--db', join(dir, 'none.db'), '--json']);
    expect(noGrab.code).toBe(2);
    expect(noGrab.stderr).toMatch(/access needs grab/);
  }, 120_000);
});
