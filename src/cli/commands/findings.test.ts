/**
 * `iotclean findings` as a user runs it (a spawned CLI) on a store this test fills: JSON Lines
 * with the record's field names, filters, held findings, counts, safe display of hostile device
 * text, and argument mistakes.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../../test/helpers.js';
import type { Finding } from '../../core/records.js';
import { hostileText, sampleFinding } from '../../findings/test-support.js';
import { openStore } from '../../store/open.js';
import { findingLine, safeText } from './findings.js';

const dir = mkdtempSync(join(tmpdir(), 'iotclean-findings-cli-'));
const db = join(dir, 'findings.db');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const written: Finding[] = [
  sampleFinding('weak-credential', { ip: '127.1.0.1', device: { type: 'router', vendor: hostileText, model: 'M', firmware: null } }),
  sampleFinding('weak-credential', { ip: '127.1.0.2', isp: 'ispb', prefixOwner: 'ispb', surveyId: 2 }),
  sampleFinding('infected', { ip: '127.1.0.3', isp: null, prefixOwner: null, held: 'no-isp' }),
  sampleFinding('exposed-service', { ip: '127.1.0.4', isp: null, prefixOwner: 'orphan', held: 'not-participating' }),
  sampleFinding('firmware-vulnerability', { ip: '127.1.0.5' }),
];

beforeAll(async () => {
  const store = await openStore(db);
  try {
    await store.findings.record(written);
  } finally {
    await store.close();
  }
});

const lines = (stdout: string): Finding[] => stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Finding);

describe('iotclean findings', () => {
  it('--json prints one finding per line, the record exactly, hostile text included', async () => {
    const r = await runCli(['findings', '--db', db, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const got = lines(r.stdout);
    expect(got.map(({ id: _id, ...rest }) => rest)).toEqual(written);
    expect(got[0]!.device.vendor).toBe(hostileText);
  }, 60_000);

  it('filters by kind, ISP, held and survey', async () => {
    const ips = async (...args: string[]) => {
      const r = await runCli(['findings', '--db', db, '--json', ...args]);
      expect(r.code, r.stderr).toBe(0);
      return lines(r.stdout).map((f) => f.ip);
    };
    expect(await ips('--kind', 'weak-credential')).toEqual(['127.1.0.1', '127.1.0.2']);
    expect(await ips('--isp', 'ispb')).toEqual(['127.1.0.2']);
    expect(await ips('--held')).toEqual(['127.1.0.3', '127.1.0.4']);
    expect(await ips('--survey', '2')).toEqual(['127.1.0.2']);
    expect(await ips('--isp', 'nobody')).toEqual([]);
  }, 60_000);

  it('the table shows each finding with its ISP or hold, then counts; device text escaped', async () => {
    const r = await runCli(['findings', '--db', db]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).not.toMatch(/[\u0000\u001b\r]/);
    expect(r.stdout).toContain('A0\\u0000<script>');
    expect(r.stdout).toMatch(/127\.1\.0\.3 .*held:no-isp/);
    expect(r.stdout).toMatch(/127\.1\.0\.4:23 .*held:not-participating/);
    expect(r.stdout).toContain('5 findings');
    expect(r.stdout).toContain('per kind: exposed-service 1, firmware-vulnerability 1, infected 1, weak-credential 2');
    expect(r.stdout).toMatch(/per ISP: held 2, ispa 2, ispb 1|per ISP: ispa 2, ispb 1, held 2/);
    expect(r.stdout).toContain('held: no-isp 1, not-participating 1');
  }, 60_000);

  it('--help lists the filters', async () => {
    const r = await runCli(['findings', '--help']);
    expect(r.code).toBe(0);
    for (const flag of ['--kind', '--isp', '--held', '--survey', '--period', '--db', '--json']) expect(r.stdout).toContain(flag);
  }, 60_000);

  it('refuses --isp with --held, an unknown kind and a bad period', async () => {
    for (const [args, text] of [
      [['--isp', 'ispa', '--held'], '--isp ID or --held'],
      [['--kind', 'nasty'], '--kind'],
      [['--period', 'december'], '--period'],
    ] as const) {
      const r = await runCli(['findings', '--db', db, ...args]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('E_ARGS');
      expect(r.stderr).toContain(text);
    }
  }, 60_000);
});

describe('iotclean findings --derive', () => {
  it("derives a survey's weak-credential findings, attributed, then lists them; a rerun adds none", async () => {
    const derived = join(dir, 'derive.db');
    const isps = join(dir, 'isps.csv');
    writeFileSync(isps, 'prefix,isp_id,name,participating,parent\n127.20.0.0/16,ispa,ISP A,yes,\n');
    const store = await openStore(derived);
    try {
      await store.plans.save({ digest: 'a'.repeat(64), version: '1', name: 'default', body: {} });
      const surveyId = await store.surveys.create({ planDigest: 'a'.repeat(64), scope: { source: 'default', ranges: [] }, targets: [], ports: [23], seed: 1, shard: { index: 0, count: 1 }, workers: 1, startedAt: '2026-12-01T00:00:00.000Z' });
      for (const ip of ['127.20.0.1', '127.21.0.1']) {
        await store.access.record(
          {
            kind: 'access-result', surveyId, endpointId: null, ip, port: 23, protocol: 'telnet', verdict: 'weak-credential', entry: 'e-1', username: 'root', reason: null, attempts: 2,
            planDigest: null, planVersion: '1', dictionary: { name: 'd', version: '1', digest: 'b'.repeat(64) }, startedAt: '2026-12-01T00:00:00.000Z', finishedAt: '2026-12-01T00:00:01.000Z',
          },
          [],
        );
      }
    } finally {
      await store.close();
    }
    for (let run = 0; run < 2; run++) {
      const r = await runCli(['findings', '--derive', '--survey', '1', '--isps', isps, '--db', derived, '--json']);
      expect(r.code, r.stderr).toBe(0);
      expect(lines(r.stdout).map((f) => [f.id, f.ip, f.isp, f.held])).toEqual([
        [1, '127.20.0.1', 'ispa', null],
        [2, '127.21.0.1', null, 'no-isp'],
      ]);
    }
    const missing = await runCli(['findings', '--derive', '--db', derived]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('--derive needs --survey ID and --isps FILE');
  }, 120_000);
});

describe('safeText', () => {
  it('escapes controls, lone surrogates, bidi overrides and backslashes; keeps other text', () => {
    expect(safeText('a\u0000b\x1b[31m\u202Ec\uD800 😀 ﾃｽﾄ\\', 200)).toBe('a\\u0000b\\u001b[31m\\u202ec\\ud800 😀 ﾃｽﾄ\\\\');
    expect(safeText('x'.repeat(100), 10)).toBe(`${'x'.repeat(9)}…`);
    expect(findingLine(written[0]!)).not.toMatch(/[\u0000\u001b]/);
  });
});
