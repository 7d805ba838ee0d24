/**
 * `iotclean survey --stages discover,grab,identify` end to end on a small lab: every listening
 * endpoint is found, grabbed and identified, the identifications are scored against the lab's
 * ground truth (src/lab/score.ts, the tests' and benchmarks' one definition), and `devices --json`
 * lists one row per endpoint.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Identification } from '../src/core/records.js';
import { readGroundTruth } from '../src/lab/ground-truth.js';
import { scoreIdentifications } from '../src/lab/score.js';
import { openStore } from '../src/store/open.js';
import { runCli } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'iotclean-survey-e2e-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('iotclean survey --stages discover,grab,identify', () => {
  it('finds, grabs and identifies the lab\'s devices; unknown ones stay unknown', async () => {
    const labDir = join(dir, 'lab');
    const db = join(dir, 'survey.db');
    const up = await runCli(['lab', 'up', '--devices', '200', '--network', '127.68.0.0/16', '--dir', labDir, '--json']);
    expect(up.code, up.stderr).toBe(0);
    try {
      const r = await runCli(['survey', '--lab', labDir, '--stages', 'discover,grab,identify', '--rate', '0', '--db', db, '--json']);
      expect(r.code, r.stderr).toBe(0);
      const out = JSON.parse(r.stdout) as { surveyId: number; open: number; stages: string[]; grab: { in: number; out: number; failed: number }; identify: { endpoints: number; hosts: number; failed: number }; devices: { hosts: number }[] };
      const truth = readGroundTruth(labDir);
      const endpoints = truth.devices.reduce((n, d) => n + d.services.length, 0);
      expect(out.stages).toEqual(['discover', 'grab', 'identify']);
      expect(out.open).toBe(endpoints);
      expect(out.grab).toMatchObject({ in: endpoints, failed: 0 });
      expect(out.grab.out).toBeGreaterThanOrEqual(endpoints);
      expect(out.identify).toMatchObject({ endpoints, hosts: truth.devices.length, failed: 0 });
      expect(out.devices.reduce((n, d) => n + d.hosts, 0)).toBe(truth.devices.length);

      const store = await openStore(db, { readOnly: true });
      const hosts: Identification[] = [];
      try {
        for await (const h of store.identifications.hosts(out.surveyId)) hosts.push(h);
      } finally {
        await store.close();
      }
      const score = scoreIdentifications(truth, hosts);
      console.log(`survey e2e: ${score.right}/${score.known} known devices right (${(100 * score.rightShare).toFixed(1)}%), ${score.wrong} wrong (${score.wrongHighConfidence} at high confidence), ${score.unknownKept}/${score.unknown} unknown kept`);
      expect(score.wrongHighConfidence).toBe(0);
      expect(score.unknownKept).toBe(score.unknown);
      expect(score.rightShare).toBeGreaterThanOrEqual(0.98);

      const devices = await runCli(['devices', '--survey', String(out.surveyId), '--db', db, '--json']);
      expect(devices.code, devices.stderr).toBe(0);
      const rows = JSON.parse(devices.stdout) as { ip: string; port: number }[];
      expect(rows).toHaveLength(endpoints);
    } finally {
      const down = await runCli(['lab', 'down', '--dir', labDir]);
      expect(down.code, down.stderr).toBe(0);
    }
  }, 360_000);
});
