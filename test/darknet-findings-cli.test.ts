/**
 * `iotclean darknet analyse FILE --findings` as a user runs it: infected findings stored for the
 * Mirai-style sources of a generated capture (its truth read only here), per-ISP counts printed,
 * the JSON per-source rows unchanged with a summary object last, a listed research scanner never a
 * finding, a re-run adding nothing, and bad operator files or captures storing nothing.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'iotclean-dkfind-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const cap = join(dir, 'lab.pcap');
const truthFile = join(dir, 'lab.json');
const isps = join(dir, 'isps.csv');
const scanners = join(dir, 'scanners.csv');
let bots: { ip: string; isp?: string }[] = [];
let listed = '';

beforeAll(async () => {
  const g = await runCli(['darknet', 'generate', '--out', cap, '--truth', truthFile, '--seed', 'dkfind-cli', '--packets', '30000']);
  expect(g.code, g.stderr).toBe(0);
  const truth = JSON.parse(readFileSync(truthFile, 'utf8')) as { sources: { ip: string; role: string; isp?: string }[] };
  bots = truth.sources.filter((s) => s.role === 'mirai');
  listed = bots[0]!.ip;
  // The generator's default lab ISPs; isp-b does not take part.
  writeFileSync(isps, ['prefix,isp_id,name,participating,parent', '127.77.0.0/18,isp-a,ISP A,yes,', '127.77.64.0/18,isp-b,ISP B,no,', '127.77.128.0/17,isp-c,ISP C,yes,'].join('\n'));
  writeFileSync(scanners, ['cidr,name', '127.250.0.0/16,lab research', `${listed},Example Measurement Project`].join('\n'));
}, 60_000);

async function storedInfected(db: string): Promise<Record<string, unknown>[]> {
  const r = await runCli(['findings', '--kind', 'infected', '--db', db, '--json']);
  expect(r.code, r.stderr).toBe(0);
  return r.stdout.split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe('iotclean darknet analyse --findings', () => {
  const db = join(dir, 'centre.db');

  it('stores infected findings for the bots, prints per-ISP counts, and a re-run adds nothing', async () => {
    const r = await runCli(['darknet', 'analyse', cap, '--findings', '--isps', isps, '--scanners', scanners, '--db', db, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as Record<string, unknown>[];
    const summary = out[out.length - 1]!;
    const rows = out.slice(0, -1);
    // The per-source rows are those of plain --json (no kind key); the summary comes last.
    const plain = JSON.parse((await runCli(['darknet', 'analyse', cap, '--json'])).stdout) as unknown[];
    expect(rows).toEqual(plain);
    const expected = bots.map((b) => b.ip).filter((ip) => ip !== listed);
    expect(summary).toMatchObject({ kind: 'summary', candidates: bots.length, findings: expected.length, added: expected.length, excluded_scanners: { 'Example Measurement Project': 1 }, failed: 0 });

    const stored = await storedInfected(db);
    expect(stored.map((f) => f.ip).sort()).toEqual([...expected].sort());
    for (const f of stored) {
      const isp = bots.find((b) => b.ip === f.ip)!.isp;
      if (isp === 'isp-b') expect(f).toMatchObject({ isp: null, held: 'not-participating', prefixOwner: 'isp-b' });
      else expect(f).toMatchObject({ isp, held: null, period: '2026-01-15' });
    }

    const text = await runCli(['darknet', 'analyse', cap, '--findings', '--isps', isps, '--scanners', scanners, '--db', db]);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toContain(`infected findings: ${expected.length} (0 new, ${expected.length} already stored)`);
    expect(text.stdout).toMatch(/isp-a\s+\d+/);
    expect(text.stdout).toContain('excluded: Example Measurement Project 1');
    expect((await storedInfected(db)).length).toBe(expected.length);
  }, 120_000);

  it('without --scanners the listed bot is a finding; without --isps every finding is held no-isp', async () => {
    const other = join(dir, 'other.db');
    const r = await runCli(['darknet', 'analyse', cap, '--findings', '--db', other]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('no --isps');
    const stored = await storedInfected(other);
    expect(stored.length).toBe(bots.length);
    expect(stored.every((f) => f.held === 'no-isp')).toBe(true);
  }, 120_000);

  it('bad options and files are refused with their error, and nothing is stored', async () => {
    const none = await runCli(['darknet', 'analyse', cap, '--isps', isps]);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/E_ARGS .*--findings/);

    const badList = join(dir, 'bad-scanners.csv');
    writeFileSync(badList, 'cidr,name\n127.250.0.0/16,ok\n10.0.0.1/8,bad\n');
    const fresh = join(dir, 'fresh.db');
    const b = await runCli(['darknet', 'analyse', cap, '--findings', '--scanners', badList, '--db', fresh]);
    expect(b.code).toBe(2);
    expect(b.stderr).toContain('E_SCANNER_LIST');
    expect(b.stderr).toContain(`${badList}:3`);
    expect(existsSync(fresh)).toBe(false);

    const notCap = join(dir, 'notes.txt');
    writeFileSync(notCap, 'not a capture\n');
    const g = join(dir, 'garbage.db');
    const c = await runCli(['darknet', 'analyse', cap, notCap, '--findings', '--isps', isps, '--db', g]);
    expect(c.code).toBe(2);
    expect(c.stderr).toContain('E_CAPTURE_FILE');
    expect(await storedInfected(g)).toEqual([]);
  }, 120_000);
});
