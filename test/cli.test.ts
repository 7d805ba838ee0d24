/**
 * The CLI as users meet it: help everywhere, JSON output, and bad input that gets one clear error
 * naming the file and line while what is already stored stays intact.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listenSpread, runCli, type Listeners } from './helpers.js';

let dir: string;
let db: string;
let lab: Listeners;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'iotclean-cli-'));
  db = join(dir, 'store.db');
  lab = await listenSpread('127.91.0.0', [2323, 8080], 20, 3); // unprivileged: runs without root
  // One good survey first: everything after must leave it untouched.
  const first = await runCli(['discover', '--targets', '127.91.0.0/20', '--ports', '2323,8080', '--db', db, '--seed', '1', '--json']);
  expect(first.code, first.stderr).toBe(0);
});
afterAll(async () => {
  await lab.close();
  rmSync(dir, { recursive: true, force: true });
});

async function storedSurveys(): Promise<{ id: number; status: string; endpoints: number }[]> {
  const r = await runCli(['surveys', '--db', db, '--json']);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as { id: number; status: string; endpoints: number }[];
}

describe('iotclean CLI', () => {
  it('stored the first survey with exactly the listening endpoints', async () => {
    const surveys = await storedSurveys();
    expect(surveys).toHaveLength(1);
    expect(surveys[0]).toMatchObject({ id: 1, status: 'done', endpoints: lab.truth.size });
    const eps = await runCli(['endpoints', '--db', db]);
    expect(new Set(eps.stdout.trim().split('\n'))).toEqual(lab.truth);
  });

  const commands = [[], ['lab'], ['lab', 'up'], ['lab', 'down'], ['lab', 'status'], ['discover'], ['import'], ['surveys'], ['endpoints'], ['demo'], ['scope'], ['plan']];
  it.each(commands.map((c) => [`iotclean ${c.join(' ')}`, c] as const))('%s --help prints usage and options', async (_name, path) => {
    const r = await runCli([...path, '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Usage: iotclean/);
    expect(r.stdout).toContain('--json');
  });

  it('refuses an unknown flag and an unknown command with a hint', async () => {
    const flag = await runCli(['discover', '--rat', '5']);
    expect(flag.code).toBe(2);
    expect(flag.stderr).toMatch(/E_ARGS .*--rat/);
    expect(flag.stderr).toContain('hint:');
    const cmd = await runCli(['dicsover']);
    expect(cmd.code).toBe(2);
    expect(cmd.stderr).toContain('unknown command "dicsover"');
  });

  const bad: [string, string, string[], RegExp][] = [
    ['scope file', 'bad.scope', ['discover', '--scope', '@'], /E_SCOPE_FILE .*bad\.scope:3: /],
    ['plan file', 'bad.yaml', ['discover', '--plan', '@'], /E_PLAN_FILE .*bad\.yaml:4: /],
    ['masscan file', 'bad.json', ['import', '@'], /E_IMPORT_FILE .*bad\.json:3: /],
  ];
  const contents: Record<string, string> = {
    'bad.scope': '# lab\ninclude 127.91.0.0/20\ninclude 127.91.0.300\n',
    'bad.yaml': 'version: "1"\nname: broken\nports:\n  - { port: telnet-ish, service: telnet, reason: typo }\n',
    'bad.json': '[\n{"ip": "127.91.0.5", "timestamp": "1700000000", "ports": [{"port": 80, "proto": "tcp", "status": "open"}]},\n{"ip": "127.91.0.6", "timestamp": "17000\u0000\u0001garbage\n]\n',
  };
  it.each(bad)('a bad %s gets one error naming file and line, and the store keeps what it had', async (_what, name, args, pattern) => {
    const file = join(dir, name);
    writeFileSync(file, contents[name]!);
    const r = await runCli([...args.map((a) => (a === '@' ? file : a)), '--db', db]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(pattern);
    expect(r.stderr.trim().split('\n').filter((l) => l.startsWith('iotclean:'))).toHaveLength(1);
    const surveys = await storedSurveys();
    expect(surveys.filter((s) => s.status === 'done').map((s) => s.id)).toEqual([1]);
    expect(surveys[0]!.endpoints).toBe(lab.truth.size);
  });

  it('an unreadable import file is named in the error', async () => {
    const r = await runCli(['import', join(dir, 'missing.json'), '--db', db]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('missing.json');
  });

  it('imports masscan -oL output inside the scope, and refuses rows outside it', async () => {
    const good = join(dir, 'scan.txt');
    writeFileSync(good, '#masscan\nopen tcp 80 127.91.0.5 1700000000\nopen tcp 23 127.91.0.6 1700000001\n# end\n');
    const r = await runCli(['import', good, '--db', db, '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ endpoints: 2, format: 'masscan-list' });

    const outside = join(dir, 'outside.txt');
    writeFileSync(outside, '#masscan\nopen tcp 80 127.91.0.7 1700000000\nopen tcp 80 10.0.0.1 1700000000\n# end\n');
    const refused = await runCli(['import', outside, '--db', db]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/E_SCOPE_DENIED .*10\.0\.0\.1/);
    // All or nothing: the refused file left no partial survey behind.
    const ids = (await storedSurveys()).map((s) => s.id);
    expect(ids).toEqual([1, 2]);
  });

  it('checks a scope file: exclusions win', async () => {
    const file = join(dir, 'ok.scope');
    writeFileSync(file, 'include 127.10.0.0/16\nexclude 127.10.5.0/24 # opt-out\nallow-reserved 127.0.0.0/8\n');
    const r = await runCli(['scope', file, '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ addresses: 65536 - 256, excluded: 256, ranges: ['127.10.0.0-127.10.4.255', '127.10.6.0-127.10.255.255'] });
  });

  it('checks the default plan: 39 ports, each with a reason', async () => {
    const r = await runCli(['plan', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const plan = JSON.parse(r.stdout) as { ports: { port: number; reason: string }[]; digest: string };
    expect(plan.ports).toHaveLength(39);
    expect(plan.ports.every((p) => p.reason.length > 10)).toBe(true);
    expect(plan.digest).toMatch(/^[0-9a-f]{64}$/);
  });

  it('refuses targets outside the scope before probing anything', async () => {
    const r = await runCli(['discover', '--targets', '10.0.0.0/24', '--db', db]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('E_SCOPE_DENIED');
  });
});
