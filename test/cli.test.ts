/**
 * The CLI as users meet it: help everywhere, JSON output, and bad input that gets one clear error
 * naming the file and line while what is already stored stays intact.
 */
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SQLite from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listenSpread, repoRoot, runCli, startCli, type Listeners } from './helpers.js';

let dir: string;
let db: string;
let lab: Listeners;
// Listeners' /20 and the lab's network, varied per run so parallel runs of this file (other
// worktrees on the same host) do not collide with EADDRINUSE.
const slot = process.pid % 24;
const block = `127.${160 + slot}.0.0`;
const labNetwork = `127.${184 + slot}.0.0/20`;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'iotclean-cli-'));
  db = join(dir, 'store.db');
  lab = await listenSpread(block, [2323, 8080], 20, 3); // unprivileged: runs without root
  // One good survey first: everything after must leave it untouched.
  const first = await runCli(['discover', '--targets', `${block}/20`, '--ports', '2323,8080', '--db', db, '--seed', '1', '--json']);
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

  const commands = [[], ['lab'], ['lab', 'up'], ['lab', 'down'], ['lab', 'status'], ['discover'], ['survey'], ['grab'], ['identify'], ['import'], ['surveys'], ['endpoints'], ['devices'], ['demo'], ['scope'], ['plan']];
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

  it('checks the default plan: 40 ports, each with a reason', async () => {
    const r = await runCli(['plan', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const plan = JSON.parse(r.stdout) as { ports: { port: number; reason: string }[]; digest: string };
    expect(plan.ports).toHaveLength(40);
    expect(plan.ports.every((p) => p.reason.length > 10)).toBe(true);
    expect(plan.digest).toMatch(/^[0-9a-f]{64}$/);
  });

  it("shows the plan's dictionary and its digest", async () => {
    const r = await runCli(['plan']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/access: dictionary default \(sha256 [0-9a-f]{16}…\), pause 200 ms, at most 3000 tries per host/);
    const j = await runCli(['plan', '--json']);
    expect((JSON.parse(j.stdout) as { access: { dictionaryDigest: string } }).access.dictionaryDigest).toMatch(/^[0-9a-f]{64}$/);
  });

  it('refuses targets outside the scope before probing anything', async () => {
    const r = await runCli(['discover', '--targets', '10.0.0.0/24', '--db', db]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('E_SCOPE_DENIED');
  });
});

/** Children started by the tests below, killed in teardown even when a test fails or times out. */
const children = new Set<ChildProcess>();
function start(args: readonly string[]): ChildProcess {
  const child = startCli(args);
  children.add(child);
  child.once('close', () => children.delete(child));
  return child;
}
afterAll(() => {
  for (const c of children) c.kill('SIGKILL');
});

function collect(child: ChildProcess): Promise<{ code: number | null; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}
const run = (args: readonly string[]) => collect(start(args));

function surveyRow(file: string, id: number): { checkpoint: number[]; probesSent: number; status: string; seed: number } {
  const d = new SQLite(file, { readonly: true });
  try {
    const row = d.prepare('select checkpoint, probes_sent, status, seed from surveys where id = ?').get(id) as { checkpoint: string; probes_sent: number; status: string; seed: number };
    return { checkpoint: JSON.parse(row.checkpoint) as number[], probesSent: Number(row.probes_sent), status: row.status, seed: Number(row.seed) };
  } finally {
    d.close();
  }
}

describe('the CLI a person meets', () => {
  let db2: string;
  beforeAll(() => {
    db2 = join(dir, 'second.db');
  });
  const surveyCount = (): number => {
    if (!existsSync(db2)) return 0;
    const d = new SQLite(db2, { readonly: true });
    try {
      return (d.prepare('select count(*) as n from surveys').get() as { n: number }).n;
    } finally {
      d.close();
    }
  };

  it('ends quietly when the reader closes stdout (| head)', async () => {
    const child = start(['endpoints', '--db', db, '--json']);
    child.stdout!.destroy(); // the reader is gone before the CLI writes anything
    const r = await collect(child);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });

  it('-h is --help, and --version prints the package version', async () => {
    const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string };
    const v = await run(['--version']);
    expect(v.code).toBe(0);
    expect(v.stdout.trim()).toBe(pkg.version);
    const h = await run(['discover', '-h']);
    expect(h.code).toBe(0);
    expect(h.stdout).toMatch(/^Usage: iotclean discover/);
    // Help comes from the same specs as validation: choices and ranges are shown.
    expect(h.stdout).toMatch(/--engine auto\|raw\|net/);
    expect(h.stdout).toMatch(/--seed N .*a whole number from 0 to 4294967295/);
  });

  // The discover command's own specs; every rule kind is covered in src/cli/command.test.ts.
  const refused: [string, string[], RegExp][] = [
    ['a negative rate, by min (not "ambiguous")', ['--rate', '-1'], /--rate must be a number ≥ 0, got -1/],
    ['a seed too large', ['--seed', '1e20'], /--seed must be a whole number from 0 to 4294967295, got 1e20/],
    ['a fractional seed', ['--seed', '1.5'], /--seed must be a whole number/],
    ['an unknown engine', ['--engine', 'fast'], /--engine must be one of auto, raw, net, got "fast"/],
    ['empty targets', ['--targets', ''], /--targets is empty/],
    ['empty ports', ['--ports', ''], /--ports is empty/],
    ['a list of no ports', ['--ports', ','], /--ports lists nothing/],
  ];
  it.each(refused)('refuses %s before creating a survey', async (_what, args, pattern) => {
    const targets = args.includes('--targets') ? [] : ['--targets', '127.91.0.1']; // nothing listens there
    const r = await run(['discover', ...targets, '--rate', '0', '--db', db2, ...args]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^iotclean: E_ARGS /);
    expect(r.stderr).toMatch(pattern);
    expect(r.stderr).not.toContain('ambiguous');
    expect(surveyCount()).toBe(0);
  });

  it('accepts the largest seed and stores it as given', async () => {
    const r = await run(['discover', '--targets', '127.91.0.1', '--ports', '2323', '--seed', '4294967295', '--rate', '0', '--db', db2, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { surveyId: number };
    expect(surveyRow(db2, out.surveyId).seed).toBe(2 ** 32 - 1);
  });

  it('under --json, errors are one JSON object on stderr, with the same exit code', async () => {
    const args = await run(['discover', '--rate', '-1', '--json']);
    expect(args.code).toBe(2);
    expect(args.stdout).toBe('');
    expect(JSON.parse(args.stderr)).toEqual({ error: { code: 'E_ARGS', message: '--rate must be a number ≥ 0, got -1', file: null, line: null, hint: 'see iotclean discover --help' } });
    const unknown = await run(['discover', '--rat', '5', '--json']);
    expect(unknown.code).toBe(2);
    expect(JSON.parse(unknown.stderr)).toMatchObject({ error: { code: 'E_ARGS' } });
    const file = join(dir, 'bad-json.scope');
    writeFileSync(file, 'include 127.91.0.0/20\ninclude nonsense\n');
    const scope = await run(['scope', file, '--json']);
    expect(scope.code).toBe(2);
    expect(JSON.parse(scope.stderr)).toMatchObject({ error: { code: 'E_SCOPE_FILE', file, line: 2 } });
  });

  it('--resume refuses flags that would change the stored survey', async () => {
    const r = await run(['discover', '--resume', '1', '--targets', '127.91.0.0/24', '--seed', '2', '--db', db]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/E_ARGS .*--targets, --seed would change it/);
  });

  it('--resume shows the stored size, continues from the checkpoint and adds earlier probes', { timeout: 120_000 }, async () => {
    const db3 = join(dir, 'resume.db');
    // 4,096 addresses × 2 ports at 500 probes/s: about 16 s, so it is interrupted long before the end.
    const first = start(['discover', '--targets', `${block}/20`, '--ports', '2323,8080', '--rate', '500', '--seed', '5', '--db', db3]);
    const firstDone = collect(first);
    let row: ReturnType<typeof surveyRow> | undefined;
    for (let i = 0; i < 300 && !(row && row.checkpoint.some((c) => c > 0)); i++) {
      await new Promise((r) => setTimeout(r, 100));
      try {
        row = surveyRow(db3, 1);
      } catch {
        row = undefined; // the store or the survey row does not exist yet
      }
    }
    first.kill('SIGINT');
    const interrupted = await firstDone;
    expect(interrupted.code, interrupted.stderr).toBe(130);
    const stored = surveyRow(db3, 1);
    expect(stored.status).toBe('interrupted');
    const doneBefore = stored.checkpoint.reduce((a, b) => a + b, 0);
    expect(doneBefore).toBeGreaterThan(0);
    expect(stored.probesSent).toBeGreaterThan(0);

    // No --targets: the current scope is all of 127/8, yet the survey is the stored /20.
    const resumed = await run(['discover', '--resume', '1', '--rate', '0', '--db', db3]);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).toContain(
      `resuming survey 1: 4,096 addresses × 2 ports = 8,192 targets; continuing after ${doneBefore.toLocaleString('en')} done and ${stored.probesSent.toLocaleString('en')} probes sent`,
    );
    const total = Number(/probes sent ([\d,]+) over all runs/.exec(resumed.stdout)?.[1]?.replaceAll(',', ''));
    expect(total).toBe(surveyRow(db3, 1).probesSent);
    expect(total).toBeGreaterThanOrEqual(8192); // every target was probed at least once over the two runs
    expect(resumed.stdout).toContain(`open endpoints ${lab.truth.size}`);
  });
});

describe('--lab and demo', () => {
  let labDir: string;
  beforeAll(async () => {
    labDir = join(dir, 'lab');
    const up = await run(['lab', 'up', '--devices', '30', '--network', labNetwork, '--dir', labDir, '--json']);
    expect(up.code, up.stderr).toBe(0);
  }, 120_000);
  afterAll(async () => {
    await run(['lab', 'down', '--dir', labDir]);
  }, 60_000);

  type Report = { addresses: number; ports: number[]; probesSent: number; open: number; byPort: Record<string, number>; isps: { ispId: string; addressesSurveyed: number; openEndpoints: number }[] };
  let discovered: Report;

  it('discover --lab without --targets surveys the lab network, not all of 127/8', { timeout: 120_000 }, async () => {
    const r = await run(['discover', '--lab', labDir, '--ports', '23,80', '--rate', '0', '--db', join(dir, 'lab.db'), '--json']);
    expect(r.code, r.stderr).toBe(0);
    discovered = JSON.parse(r.stdout) as Report;
    expect(discovered.addresses).toBe(4096);
    expect(discovered.probesSent).toBeGreaterThanOrEqual(4096 * 2);
    // The per-ISP summary accounts for every surveyed address, the lab's spare block included.
    const rows = discovered.isps;
    expect(rows.reduce((n, x) => n + x.addressesSurveyed, 0)).toBe(4096);
    expect(rows.at(-1)).toMatchObject({ ispId: '-', openEndpoints: 0 });
    expect(rows.at(-1)!.addressesSurveyed).toBeGreaterThan(0);
    expect(rows.reduce((n, x) => n + x.openEndpoints, 0)).toBe(discovered.open);
  });

  it('demo and discover print the same JSON keys for the same figures', { timeout: 180_000 }, async () => {
    const r = await run(['demo', '--dir', labDir, '--db', join(dir, 'demo.db'), '--json']);
    expect(r.code, r.stderr).toBe(0);
    const demo = JSON.parse(r.stdout) as Report & { totalMs: number };
    // The demo also runs grab, identify and access, and counts devices and weak logins.
    expect(Object.keys(demo).sort()).toEqual([...Object.keys(discovered), 'totalMs', 'grab', 'identify', 'devices', 'access', 'accessByIsp', 'vuln', 'findings', 'darknet', 'flows', 'notice'].sort());
    expect(demo.addresses).toBe(discovered.addresses);
    expect(demo.isps.at(-1)).toMatchObject({ ispId: '-', addressesSurveyed: discovered.isps.at(-1)!.addressesSurveyed });
  });
});
