/**
 * analyseToFindings on a lab capture, on every store back end (SQLite always, PostgreSQL when
 * IOTCLEAN_TEST_POSTGRES names a server): infected findings for exactly the Mirai-style sources of
 * the generator's truth (read here only), attributed to their ISPs, none for research scanners,
 * listed scanners or backscatter; a second run adds nothing; a survey's weak credential is joined;
 * damaged captures store nothing wrong, and a non-capture stores nothing at all.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IotcleanError } from '../core/errors.js';
import { createRng } from '../core/rng.js';
import type { AccessResult, Finding } from '../core/records.js';
import { darknetFindingsForLab, labScannerList, outsideIspId, type LabDarknetCapture } from '../lab/darknet/lab-capture.js';
import type { DarknetTruth } from '../lab/darknet/generate.js';
import { buildLab, type LabPlan } from '../lab/population.js';
import { formatIspTable, parseIspTable } from '../scope/isp.js';
import { openStore } from '../store/open.js';
import type { Store } from '../store/store.js';
import { pgQuery } from '../store/test-support.js';
import { analyseToFindings } from './findings.js';
import { parseScannerList } from './scanners.js';

const dir = mkdtempSync(join(tmpdir(), 'iotclean-dkfind-'));
const pgUrl = process.env.IOTCLEAN_TEST_POSTGRES;
const schema = `iotclean_dkfind_${process.pid}`;
if (!pgUrl) console.log('darknet findings tests: PostgreSQL back end skipped (set IOTCLEAN_TEST_POSTGRES=postgres://... to run it)');

const schemas: string[] = [];
const backends: [string, (name: string) => Promise<string>][] = [['sqlite', async (name) => join(dir, `${name}.db`)]];
if (pgUrl) {
  backends.push([
    'postgres',
    async (name) => {
      const full = `${schema}_${name}`;
      schemas.push(full);
      await pgQuery(pgUrl, `create schema if not exists ${full}`);
      return `${pgUrl}${pgUrl.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c search_path=${full}`)}`;
    },
  ]);
}

const stores: Store[] = [];
afterAll(async () => {
  for (const s of stores) await s.close().catch(() => {});
  rmSync(dir, { recursive: true, force: true });
  // Through the store's test support: only src/store/ imports the PostgreSQL driver.
  if (pgUrl) for (const full of schemas) await pgQuery(pgUrl, `drop schema if exists ${full} cascade`);
});

let plan: LabPlan;
let lab: LabDarknetCapture;
let truth: DarknetTruth;
let listedBot: string;
beforeAll(() => {
  plan = buildLab({ seed: 'dkfind', devices: 400 });
  lab = darknetFindingsForLab(plan, { dir: join(dir, 'lab'), packets: 60_000 });
  truth = JSON.parse(readFileSync(lab.truth, 'utf8')) as DarknetTruth;
  // A bot in an ISP's range that the operator nevertheless lists as a research project.
  listedBot = truth.sources.find((s) => s.role === 'mirai' && s.isp !== outsideIspId && !lab.deviceBots.includes(s.ip))!.ip;
});

const isps = () => parseIspTable(formatIspTable(plan.ispRows), 'lab-isps.csv');
const scanners = () => parseScannerList(['cidr,name', '# the research block of the lab generator', '127.250.0.0/16,lab research', `${listedBot},"Example University, measurement"`].join('\n'), 'scanners.csv');

function longestOwner(ip: string): string | undefined {
  const n = ip.split('.').reduce((a, o) => a * 256 + Number(o), 0);
  let best: { len: number; id: string } | undefined;
  for (const r of plan.ispRows) {
    const [base = '', lenText = ''] = r.prefix.split('/');
    const len = Number(lenText);
    const b = base.split('.').reduce((a, o) => a * 256 + Number(o), 0);
    const size = 2 ** (32 - len);
    if (n >= b && n < b + size && (!best || len > best.len)) best = { len, id: r.ispId };
  }
  return best?.id;
}

async function all(store: Store): Promise<Finding[]> {
  const out: Finding[] = [];
  for await (const f of store.findings.list({ kind: 'infected' })) out.push(f);
  return out;
}

function weak(surveyId: number, ip: string): AccessResult {
  return {
    kind: 'access-result', surveyId, endpointId: null, ip, port: 23, protocol: 'telnet', verdict: 'weak-credential', entry: 'mirai-root-xc3511', username: 'root', reason: null, attempts: 2,
    planDigest: 'a'.repeat(64), planVersion: '2026.12-1', dictionary: { name: 'default', version: '2026.12-1', digest: 'b'.repeat(64) }, startedAt: '2026-01-15T00:00:00.000Z', finishedAt: '2026-01-15T00:00:01.000Z',
  };
}

describe('the lab capture for the lab population', () => {
  it('makes a seeded share of the weak devices bots, plus bots outside every ISP, and is reproducible', () => {
    const weakIps = new Set(plan.devices.filter((d) => d.weak).map((d) => d.ip));
    expect(lab.deviceBots.length).toBeGreaterThan(0);
    for (const ip of lab.deviceBots) expect(weakIps.has(ip)).toBe(true);
    const bots = truth.sources.filter((s) => s.role === 'mirai');
    for (const ip of lab.deviceBots) expect(bots.some((b) => b.ip === ip)).toBe(true);
    expect(bots.some((b) => b.isp === outsideIspId)).toBe(true);
    const again = darknetFindingsForLab(plan, { dir: join(dir, 'lab-again'), packets: 60_000 });
    expect(readFileSync(again.capture).equals(readFileSync(lab.capture))).toBe(true);
  });

  it("the lab's scanner list covers its research scanners and no bot", () => {
    const l = labScannerList();
    for (const s of truth.sources) {
      if (s.role === 'masscan' || s.role === 'zmap' || s.role === 'zmap-new') expect(l.match(s.ip), s.ip).toBeDefined();
      if (s.role === 'mirai') expect(l.match(s.ip), s.ip).toBeUndefined();
    }
  });

  it('refuses a darknet that overlaps the lab network', () => {
    expect(() => darknetFindingsForLab(plan, { dir: join(dir, 'bad'), darknet: plan.network })).toThrow(IotcleanError);
  });

  it('without a named block, takes the first free /16 when the lab itself sits in 127.200.0.0/16', () => {
    const inside = buildLab({ seed: 'dkfind', devices: 50, network: '127.200.0.0/20' });
    const c = darknetFindingsForLab(inside, { dir: join(dir, 'moved'), packets: 5_000 });
    expect(c.darknet).toBe('127.201.0.0/16');
    const t = JSON.parse(readFileSync(c.truth, 'utf8')) as DarknetTruth;
    expect(t.darknet).toBe('127.201.0.0/16');
    expect(lab.darknet).toBe('127.200.0.0/16');
  });
});

describe.each(backends)('analyseToFindings (%s)', (_name, locate) => {
  let store: Store;
  beforeAll(async () => {
    store = await openStore(await locate('main'));
    stores.push(store);
  });

  it('stores infected findings for exactly the Mirai-style sources, attributed, none for scanners or backscatter; a re-run adds nothing', async () => {
    const table = isps();
    const r = await analyseToFindings(store, [lab.capture], table, scanners());
    const bots = truth.sources.filter((s) => s.role === 'mirai');
    const expected = new Set(bots.map((b) => b.ip).filter((ip) => ip !== listedBot));
    const found = await all(store);
    expect(new Set(found.map((f) => f.ip))).toEqual(expected);
    expect(found.length).toBe(expected.size);
    expect(r).toMatchObject({ candidates: bots.length, stored: expected.size, added: expected.size, failed: 0, excluded: { 'Example University, measurement': 1 } });
    const role = new Map(truth.sources.map((s) => [s.ip, s]));
    for (const f of found) {
      const t = role.get(f.ip)!;
      expect(t.role).toBe('mirai');
      expect(f).toMatchObject({ kind: 'infected', port: null, severity: 'critical', period: '2026-01-15' });
      if (t.isp === outsideIspId) expect(f).toMatchObject({ isp: null, prefixOwner: null, held: 'no-isp' });
      else {
        // The longest of the lab's (nested) prefixes holding the address, found here by a plain scan.
        const ownerId = longestOwner(f.ip);
        expect(f.prefixOwner).toBe(ownerId);
        const device = plan.devices.find((d) => d.ip === f.ip);
        if (device) expect(f.prefixOwner).toBe(device.ispId);
        const owner = plan.isps.find((i) => i.id === ownerId)!;
        if (owner.participating) expect(f.isp).toBe(owner.id);
        else expect(f.isp === null ? f.held : f.isp).toBe(owner.parent ?? 'not-participating');
      }
    }
    // Counts per ISP and held add up to what was stored, and both kinds occur in the lab.
    const sent = Object.values(r.byIsp).reduce((a, b) => a + b, 0);
    const held = Object.values(r.held).reduce((a, b) => a + b, 0);
    expect(sent + held).toBe(expected.size);
    expect(sent).toBeGreaterThan(0);
    expect(r.held['no-isp']).toBe(found.filter((f) => role.get(f.ip)!.isp === outsideIspId).length);

    const again = await analyseToFindings(store, [lab.capture], table, scanners());
    expect(again).toMatchObject({ stored: expected.size, added: 0 });
    expect((await all(store)).length).toBe(expected.size);
  }, 120_000);

  it('without the operator list the listed bot is a finding: the list is what kept it out', async () => {
    const s = await openStore(await locate('nolist'));
    stores.push(s);
    await analyseToFindings(s, [lab.capture], isps());
    expect((await all(s)).some((f) => f.ip === listedBot)).toBe(true);
  }, 120_000);

  it('joins the survey: device bots that had a weak credential say so', async () => {
    const s = await openStore(await locate('survey'));
    stores.push(s);
    await s.plans.save({ digest: 'a'.repeat(64), version: '2026.12-1', name: 'default', body: {} });
    const surveyId = await s.surveys.create({ planDigest: 'a'.repeat(64), scope: { source: 'default', ranges: [] }, targets: [], ports: [23], seed: 1, shard: { index: 0, count: 1 }, workers: 1, startedAt: '2026-01-15T00:00:00.000Z' });
    const ip = lab.deviceBots[0]!;
    await s.access.record(weak(surveyId, ip), []);
    const r = await analyseToFindings(s, [lab.capture], isps(), scanners(), { surveyId });
    expect(r.alsoWeakCredential).toBe(1);
    const f = (await all(s)).find((x) => x.ip === ip)!;
    expect(f.details.extra).toEqual({ weakCredential: { ports: [23], protocols: ['telnet'] } });
  }, 120_000);

  it('a truncated capture: skipped records are counted and every stored finding is a real bot', async () => {
    const s = await openStore(await locate('damaged'));
    stores.push(s);
    const bytes = readFileSync(lab.capture);
    // Cut mid-record, and overwrite a stretch in the middle with garbage.
    const damaged = Buffer.from(bytes.subarray(0, Math.floor(bytes.length * 0.8) + 7));
    for (let i = 0; i < 4096; i++) damaged[Math.floor(damaged.length / 2) + i] = (i * 151) & 255;
    const file = join(dir, 'damaged.pcap');
    writeFileSync(file, damaged);
    const r = await analyseToFindings(s, [file], isps(), scanners());
    expect(r.analysis.skippedRecords).toBeGreaterThan(0);
    const bots = new Set(truth.sources.filter((x) => x.role === 'mirai').map((x) => x.ip));
    const found = await all(s);
    expect(found.length).toBeGreaterThan(0);
    for (const f of found) expect(bots.has(f.ip)).toBe(true);
  }, 120_000);

  it('fuzz: randomly damaged captures either fail with IotcleanError or store only real bots', async () => {
    const s = await openStore(await locate('fuzz'));
    stores.push(s);
    const bytes = readFileSync(lab.capture);
    const bots = new Set(truth.sources.filter((x) => x.role === 'mirai').map((x) => x.ip));
    const rng = createRng('dkfind-fuzz');
    const file = join(dir, 'fuzz.pcap');
    for (let round = 0; round < 12; round++) {
      const b = Buffer.from(bytes.subarray(0, 24 + rng.int(bytes.length - 24)));
      // Flip bytes anywhere past the file header, some rounds many, some few.
      const flips = rng.int(2) === 0 ? 1 + rng.int(16) : 200 + rng.int(2000);
      for (let i = 0; i < flips; i++) b[24 + rng.int(b.length - 24)] = rng.int(256);
      writeFileSync(file, b);
      try {
        await analyseToFindings(s, [file], isps(), scanners());
      } catch (e) {
        expect(e).toBeInstanceOf(IotcleanError);
      }
    }
    const found = await all(s);
    expect(found.length).toBeGreaterThan(0);
    for (const f of found) expect(bots.has(f.ip), f.ip).toBe(true);
  }, 120_000);

  it('a file that is not a capture: the error names it and nothing is stored, even after a good file', async () => {
    const s = await openStore(await locate('garbage'));
    stores.push(s);
    const file = join(dir, 'not-a-capture.pcap');
    writeFileSync(file, '<html><script>alert(1)</script>\u0000\u0000 not a pcap at all\n'.repeat(10));
    const err = await analyseToFindings(s, [lab.capture, file], isps(), scanners()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IotcleanError);
    expect((err as IotcleanError).code).toBe('E_CAPTURE_FILE');
    expect((await all(s)).length).toBe(0);
  }, 120_000);
});
