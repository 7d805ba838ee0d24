/**
 * `iotclean vuln` end to end, spawned as a user runs it: for each CVE in the shared NVD records, a
 * device of an affected model with vulnerable firmware is `affected`, one with fixed firmware is
 * `not-affected`; KEV-listed ones are flagged (from the catalogue, or from NVD's own copy of it);
 * an unorderable version gives `unknown`. Then the same through the store: `vuln import` twice
 * (the second changes nothing), a malformed record skipped with its CVE id, and `vuln match`
 * against the store.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from './helpers.js';

const data = '/work/shared/data';
const have = existsSync(`${data}/nvd/CVE-2023-1389.json`);
const dir = mkdtempSync(join(tmpdir(), 'iotclean-vuln-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const hw = (v: string, m: string, rev = '-') => `cpe:2.3:h:${v}:${m}:${rev}:*:*:*:*:*:*:*`;
const fw = (v: string, m: string, ver: string, upd = '*') => `cpe:2.3:o:${v}:${m}_firmware:${ver.replace(/ /g, '\\ ')}:${upd}:*:*:*:*:*:*`;

/** Per CVE: a vulnerable device and a fixed one (the firmware after the NVD bound). */
const cases: readonly { cve: string; bad: string[]; good: string[]; kev?: false }[] = [
  { cve: 'CVE-2023-1389', bad: [hw('tp-link', 'archer_ax21'), fw('tp-link', 'archer_ax21', '1.1.3 Build 20221115')], good: [hw('tp-link', 'archer_ax21'), fw('tp-link', 'archer_ax21', '1.1.4 Build 20230219')] },
  { cve: 'CVE-2014-8361', bad: [hw('dlink', 'dir-605l', 'b1'), fw('dlink', 'dir-605l', '2.07b01')], good: [hw('dlink', 'dir-605l', 'b1'), fw('dlink', 'dir-605l', '2.13b03')] },
  { cve: 'CVE-2020-10987', bad: [hw('tenda', 'ac15'), fw('tenda', 'ac15', '15.03.05.19')], good: [hw('tenda', 'ac15'), fw('tenda', 'ac15', '15.03.05.20')] },
  { cve: 'CVE-2020-25078', bad: [hw('dlink', 'dcs-2670l'), fw('dlink', 'dcs-2670l', '2.02')], good: [hw('dlink', 'dcs-2670l'), fw('dlink', 'dcs-2670l', '2.03')] },
  { cve: 'CVE-2020-8515', bad: [hw('draytek', 'vigor3900'), fw('draytek', 'vigor3900', '1.4.4', 'beta')], good: [hw('draytek', 'vigor3900'), fw('draytek', 'vigor3900', '1.5.1')] },
  { cve: 'CVE-2021-33044', bad: [hw('dahuasecurity', 'ipc-hx5xxx'), fw('dahuasecurity', 'ipc-hx5xxx', '2.820.0000000.17.R')], good: [hw('dahuasecurity', 'ipc-hx5xxx'), fw('dahuasecurity', 'ipc-hx5xxx', '2.820.0000000.18.r.210705')] },
  { cve: 'CVE-2021-35394', bad: ['cpe:2.3:a:realtek:rtl819x_jungle_software_development_kit:3.4.14b:*:*:*:*:*:*:*'], good: ['cpe:2.3:a:realtek:rtl819x_jungle_software_development_kit:3.4.15:*:*:*:*:*:*:*'] },
  // NVD names these firmwares without a version ("-"): an equally unversioned firmware matches.
  { cve: 'CVE-2021-36260', bad: [hw('hikvision', 'ds-2cd2026g2-iu\\/sl'), fw('hikvision', 'ds-2cd2026g2-iu\\/sl', '-')], good: [hw('hikvision', 'ds-2cd2027g2-lu'), fw('hikvision', 'ds-2cd2027g2-lu', '-')] },
  // Not in the 2025.08.25 KEV catalogue (nor marked KEV in its NVD record).
  { cve: 'CVE-2017-17215', bad: [hw('huawei', 'hg532'), fw('huawei', 'hg532', '-')], good: [hw('huawei', 'hg532e'), fw('huawei', 'hg532e', '-')], kev: false },
];

interface Line {
  cve: string;
  status: string;
  kev: boolean;
  reason: string;
  level: string;
  epss: number | null;
}

async function match(cpes: readonly string[], extra: readonly string[]): Promise<Line[]> {
  const r = await runCli(['vuln', 'match', ...cpes.flatMap((c) => ['--cpe', c]), ...extra, '--json']);
  expect(r.code, r.stderr).toBe(0);
  return r.stdout
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Line);
}

describe.skipIf(!have)('iotclean vuln match on the shared NVD records', () => {
  const files = ['--nvd', `${data}/nvd`, '--cve5', `${data}/cve5`, '--kev', `${data}/kev/known_exploited_vulnerabilities.json`, '--epss', `${data}/epss/epss_scores_subset.csv`];
  it('covers every record of the folder', () => {
    const ids = new Set(cases.map((c) => c.cve));
    for (const f of ['CVE-2014-8361', 'CVE-2017-17215', 'CVE-2020-10987', 'CVE-2020-25078', 'CVE-2020-8515', 'CVE-2021-33044', 'CVE-2021-35394', 'CVE-2021-36260', 'CVE-2023-1389']) expect(ids.has(f)).toBe(true);
  });
  it.each(cases)('$cve: vulnerable firmware affected and KEV-flagged if listed, fixed firmware not affected', { timeout: 60_000 }, async ({ cve, bad, good, kev }) => {
    const hit = (await match(bad, files)).find((l) => l.cve === cve);
    expect(hit?.status, JSON.stringify(hit)).toBe('affected');
    expect(hit!.kev).toBe(kev ?? true);
    if (kev ?? true) expect(hit!.level).toBe('critical');
    expect(hit!.epss).not.toBeNull();
    expect(hit!.reason).toMatch(/configuration \d+/);
    const miss = (await match(good, files)).find((l) => l.cve === cve);
    // The fixed device either is not considered at all (another model) or is judged not affected.
    if (miss) expect(miss.status, JSON.stringify(miss)).toBe('not-affected');
  });
  it('unorderable versions give unknown; NVD\'s own KEV copy flags without a catalogue', { timeout: 60_000 }, async () => {
    const [u] = await match([hw('tp-link', 'archer_ax21'), fw('tp-link', 'archer_ax21', 'V100R001C00SPC200')], ['--nvd', `${data}/nvd`]);
    expect(u?.status).toBe('unknown');
    expect(u?.reason).toContain('cannot be ordered');
    expect(u?.kev).toBe(true);
    const [na] = await match([hw('huawei', 'hg532'), fw('huawei', 'hg532', 'V100R001C00SPC200')], ['--nvd', `${data}/nvd`]);
    expect(na?.status).toBe('unknown');
  });
  it('refuses a bad CPE with E_CPE and no CPE with E_ARGS', async () => {
    const r = await runCli(['vuln', 'match', '--cpe', 'cpe:2.3:x:bad', '--nvd', `${data}/nvd`, '--json']);
    expect(r.code).toBe(2);
    expect(JSON.parse(r.stderr).error.code).toBe('E_CPE');
    const r2 = await runCli(['vuln', 'match', '--nvd', `${data}/nvd`, '--json']);
    expect(r2.code).toBe(2);
    expect(JSON.parse(r2.stderr).error.code).toBe('E_ARGS');
  });
});

describe.skipIf(!have)('iotclean vuln import, then match against the store', () => {
  it('imports, is idempotent, skips a malformed record naming it, and matches from the store', { timeout: 120_000 }, async () => {
    const db = join(dir, 'vuln.db');
    // A feed of our own: two real records and one malformed (configurations is not an array).
    const rec = (id: string) => JSON.parse(readFileSync(`${data}/nvd/${id}.json`, 'utf8')) as Record<string, unknown>;
    const feed = join(dir, 'feed.json');
    writeFileSync(feed, JSON.stringify({ format: 'NVD_CVE', version: '2.0', vulnerabilities: [{ cve: rec('CVE-2023-1389') }, { cve: { ...rec('CVE-2020-10987'), id: 'CVE-2099-0001', configurations: 'oops' } }, { cve: rec('CVE-2021-35394') }] }));
    const args = ['vuln', 'import', feed, `${data}/cve5`, `${data}/kev/known_exploited_vulnerabilities.json`, `${data}/epss/epss_scores_subset.csv`, '--db', db, '--json'];
    const first = await runCli(args);
    expect(first.code, first.stderr).toBe(0);
    const a = JSON.parse(first.stdout) as { imported: number; unchanged: number; skipped: number; files: { file: string; errors: { id: string }[] }[] };
    expect(a.skipped).toBe(1);
    expect(a.files.find((f) => f.file === feed)!.errors[0]!.id).toBe('CVE-2099-0001');
    expect(a.imported).toBe(2 + 9 + 1404 + 9);
    const second = await runCli(args);
    const b = JSON.parse(second.stdout) as { imported: number; unchanged: number; skipped: number };
    expect(b.imported).toBe(0);
    expect(b.unchanged).toBe(a.imported);
    const lines = await match([hw('tp-link', 'archer_ax21'), fw('tp-link', 'archer_ax21', '1.1.3')], ['--db', db]);
    expect(lines.map((l) => [l.cve, l.status, l.kev])).toEqual([['CVE-2023-1389', 'affected', true]]);
  });
  it('refuses a file of another kind with E_VULN_DATA', async () => {
    const junk = join(dir, 'junk.json');
    writeFileSync(junk, '{"hello": 1}');
    const r = await runCli(['vuln', 'import', junk, '--db', join(dir, 'junk.db'), '--json']);
    expect(r.code).toBe(2);
    expect(JSON.parse(r.stderr).error.code).toBe('E_VULN_DATA');
  });
});
