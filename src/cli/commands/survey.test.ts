/**
 * The survey, grab, identify and devices commands as users meet them: --stages checked against
 * the stage registry, errors as JSON under --json, a zgrab2 import followed by identify and
 * `devices --json` with its documented field names, one row per endpoint.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { repoRoot, runCli } from '../../../test/helpers.js';
import { IotcleanError } from '../../core/errors.js';
import { parseStages } from './survey.js';

const dir = mkdtempSync(join(tmpdir(), 'iotclean-survey-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('--stages', () => {
  it('puts known, built stages in pipeline order', () => {
    expect(parseStages('identify,discover,grab')).toEqual(['discover', 'grab', 'identify']);
    expect(parseStages(' discover ')).toEqual(['discover']);
  });

  it.each([
    ['discover,grabb', /unknown stage "grabb"/],
    ['discover,access', /access needs grab/],
    ['discover,grab,vuln', /vuln without identify/],
    ['grab,identify', /must include discover/],
    ['discover,identify', /identify needs grab/],
    ['discover,grab,grab', /lists "grab" twice/],
  ])('refuses %s', (text, message) => {
    let err: unknown;
    try {
      parseStages(text);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(IotcleanError);
    expect((err as IotcleanError).code).toBe('E_ARGS');
    expect((err as IotcleanError).message).toMatch(message);
  });

  it('the CLI prints the refusal as JSON under --json, before anything is stored', async () => {
    const db = join(dir, 'refused.db');
    const r = await runCli(['survey', '--targets', '127.67.50.1', '--stages', 'discover,bogus', '--db', db, '--json']);
    expect(r.code).toBe(2);
    expect(JSON.parse(r.stderr)).toMatchObject({ error: { code: 'E_ARGS', message: expect.stringMatching(/unknown stage "bogus"/), hint: expect.stringMatching(/discover, grab, identify/) } });
  }, 60_000);
});

describe('grab, identify, devices on an imported zgrab2 file', () => {
  const db = join(dir, 'zgrab2.db');
  const fixture = join(repoRoot, 'test/fixtures/zgrab2/sample.jsonl');

  it('grab needs --survey or a FILE, and a FILE needs --format', async () => {
    const text = await runCli(['grab', fixture, '--format', 'zgrab2', '--db', join(dir, 'text.db')]);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stderr).toMatch(/skipped: E_IMPORT_FILE .*sample\.jsonl:3: not JSON/);
    const none = await runCli(['grab', '--db', db, '--json']);
    expect(none.code).toBe(2);
    expect(JSON.parse(none.stderr).error.message).toMatch(/needs --survey ID or a FILE/);
    const noFormat = await runCli(['grab', fixture, '--db', db]);
    expect(noFormat.code).toBe(2);
    expect(noFormat.stderr).toMatch(/--format zgrab2/);
  }, 60_000);

  it('imports, identifies, and lists one row per endpoint with the documented fields', async () => {
    const imported = await runCli(['grab', fixture, '--format', 'zgrab2', '--db', db, '--json']);
    expect(imported.code, imported.stderr).toBe(0);
    const summary = JSON.parse(imported.stdout);
    expect(summary).toMatchObject({ surveyId: 1, endpoints: 5, observations: 5, errors: 2, outsideScope: 1 });
    expect(summary.problems.map((p: { line: number }) => p.line)).toEqual([3, 6]);
    const identified = await runCli(['identify', '--survey', '1', '--db', db, '--json']);
    expect(identified.code, identified.stderr).toBe(0);
    expect(JSON.parse(identified.stdout)).toMatchObject({ surveyId: 1, endpoints: 5, hosts: 4, failed: 0 });
    // Again: results are replaced, not added.
    await runCli(['identify', '--survey', '1', '--db', db, '--json']);
    const devices = await runCli(['devices', '--survey', '1', '--db', db, '--json']);
    expect(devices.code, devices.stderr).toBe(0);
    const rows = JSON.parse(devices.stdout) as Record<string, unknown>[];
    expect(rows.map((d) => `${d.ip}:${d.port}`)).toEqual(['127.67.40.1:22', '127.67.40.2:23', '127.67.40.2:80', '127.67.40.3:21', '127.67.40.4:9527']);
    for (const d of rows) {
      for (const key of ['ip', 'port', 'protocol', 'vendor', 'product', 'version', 'cpe', 'type', 'confidence', 'rule']) expect(d).toHaveProperty(key);
      expect(Array.isArray(d.cpe)).toBe(true);
      expect(typeof d.confidence).toBe('number');
    }
    const table = await runCli(['devices', '--db', db]);
    expect(table.stdout.trim().split('\n')).toHaveLength(5);
  }, 120_000);

  it('an endpoint nothing identified still gets its row, with nulls', async () => {
    const scan = join(dir, 'scan.txt');
    writeFileSync(scan, '#masscan\nopen tcp 23 127.67.41.2 1700000000\nopen tcp 80 127.67.41.1 1700000000\n');
    const imported = await runCli(['import', scan, '--db', db, '--json']);
    expect(imported.code, imported.stderr).toBe(0);
    const id = JSON.parse(imported.stdout).surveyId as number;
    const devices = await runCli(['devices', '--survey', String(id), '--db', db, '--json']);
    expect(JSON.parse(devices.stdout)).toEqual([
      expect.objectContaining({ ip: '127.67.41.1', port: 80, protocol: null, type: null, vendor: null, product: null, version: null, cpe: [], confidence: 0, rule: null }),
      expect.objectContaining({ ip: '127.67.41.2', port: 23, vendor: null, rule: null }),
    ]);
  }, 60_000);

  it('devices on a survey that does not exist is E_NOT_FOUND', async () => {
    const r = await runCli(['devices', '--survey', '99', '--db', db, '--json']);
    expect(r.code).toBe(2);
    expect(JSON.parse(r.stderr).error.code).toBe('E_NOT_FOUND');
  }, 60_000);

  it('every new command has --help', async () => {
    for (const c of ['survey', 'grab', 'identify', 'devices']) {
      const r = await runCli([c, '--help']);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`^Usage: iotclean ${c}`));
    }
  }, 120_000);
});
