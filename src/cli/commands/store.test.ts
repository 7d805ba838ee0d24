/**
 * The store commands as users meet them: read-only commands never create a database, --db
 * mistakes are refused before anything is written, and import honours --targets and records the
 * ports its rows hold.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { repoRoot, runCli } from '../../../test/helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'iotclean-store-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('--db mistakes', () => {
  it.each([['surveys'], ['endpoints']])('%s on a missing database names it and creates nothing', async (command) => {
    const db = join(dir, 'nothing-here', 'x.db');
    const r = await runCli([command, '--db', db]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('E_NOT_FOUND');
    expect(r.stderr).toContain(db);
    expect(existsSync(join(dir, 'nothing-here'))).toBe(false);
  });

  it('an empty --db is an error, not a throwaway database', async () => {
    const r = await runCli(['surveys', '--db', '']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/E_ARGS .*--db is empty/);
  });

  it('a mistyped postgres URL is refused without showing its password or making a file', async () => {
    const before = readdirSync(repoRoot);
    const file = join(dir, 'scan.txt');
    writeFileSync(file, '#masscan\nopen tcp 80 127.95.0.5 1700000000\n');
    for (const args of [['surveys'], ['import', file]]) {
      const r = await runCli([...args, '--db', 'postgress://survey:hunter2@127.0.0.1/iotclean']);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/E_ARGS .*unknown scheme "postgress:"/);
      expect(r.stderr).toContain('survey:***@');
      expect(r.stderr).not.toContain('hunter2');
    }
    expect(readdirSync(repoRoot)).toEqual(before);
  });

  it('a database under /proc fails at once with the folder named', async () => {
    const r = await runCli(['discover', '--targets', '127.95.9.1', '--ports', '2325', '--db', '/proc/x/y.db']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/E_STORE .*\/proc\/x/);
  }, 60_000);
});

describe('import', () => {
  it('honours --targets (the rest counted, not stored) and records the ports the rows hold', async () => {
    const db = join(dir, 'import.db');
    const file = join(dir, 'targets.txt');
    writeFileSync(
      file,
      ['#masscan', 'open tcp 80 127.95.0.5 1700000000', 'open tcp 23 127.95.0.6 1700000001', 'open tcp 8443 127.95.1.7 1700000002', 'open tcp 80 127.95.1.8 1700000003', '# end', ''].join('\n'),
    );
    const r = await runCli(['import', file, '--targets', '127.95.0.0/24', '--db', db, '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ surveyId: 1, endpoints: 2, outsideTargets: 2, outsideScope: 0, ports: [23, 80] });
    const eps = await runCli(['endpoints', '--db', db, '--json']);
    expect((JSON.parse(eps.stdout) as { ip: string; port: number }[]).map((e) => `${e.ip}:${e.port}`)).toEqual(['127.95.0.5:80', '127.95.0.6:23']);
    const surveys = await runCli(['surveys', '--db', db, '--json']);
    expect(JSON.parse(surveys.stdout)).toMatchObject([{ id: 1, status: 'done', ports: [23, 80], targets: [{ start: 0x7f5f0000, end: 0x7f5f00ff }], endpoints: 2 }]);
  }, 60_000);
});

describe('endpoints', () => {
  it('streams every endpoint of a large survey, as lines and as one JSON array, in address order', async () => {
    const db = join(dir, 'many.db');
    const file = join(dir, 'many.txt');
    // 6,000 rows: several pages of the store's keyset reads.
    const rows = Array.from({ length: 6000 }, (_, i) => `open tcp ${80 + (i % 3)} 127.96.${Math.floor(i / 250)}.${i % 250} 1700000000`);
    writeFileSync(file, ['#masscan', ...rows, '# end', ''].join('\n'));
    const imported = await runCli(['import', file, '--db', db, '--json']);
    expect(imported.code, imported.stderr).toBe(0);
    const text = await runCli(['endpoints', '--db', db]);
    expect(text.code, text.stderr).toBe(0);
    const lines = text.stdout.trim().split('\n');
    const expected = rows.map((r) => r.split(' ')).map(([, , port, ip]) => `${ip}:${port}`);
    expect(lines).toEqual(expected); // all 6,000, in (address, port) order across page boundaries
    const json = await runCli(['endpoints', '--db', db, '--json']);
    const parsed = JSON.parse(json.stdout) as { id: number; ip: string; port: number }[];
    expect(parsed.map((e) => `${e.ip}:${e.port}`)).toEqual(lines);
    expect(new Set(parsed.map((e) => e.id)).size).toBe(6000);
  }, 60_000);
});
