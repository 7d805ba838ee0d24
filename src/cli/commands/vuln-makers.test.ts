import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Identification, VulnerabilityMatch } from '../../core/records.js';
import { IotcleanError } from '../../core/errors.js';
import { openStore } from '../../store/open.js';
import type { Store } from '../../store/store.js';
import type { Output } from '../command.js';
import { runCommand } from '../command.js';
import { createVulnMakersCommand, runVulnMakers, storedMatches, type VulnMakersOptions } from './vuln-makers.js';

const dir = mkdtempSync(join(tmpdir(), 'iotclean-makers-'));
const db = join(dir, 'store.db');
let store: Store;
let surveyId: number;
let matches: VulnerabilityMatch[];

function host(ip: string, vendor: string, model: string, version: string): Identification {
  return {
    kind: 'identification',
    surveyId,
    endpointId: null,
    ip,
    port: null,
    protocol: null,
    type: 'router',
    vendor,
    product: model,
    version,
    device: { vendor, product: model, version: null },
    os: null,
    service: null,
    cpe: [],
    confidence: 0.9,
    rule: 'r',
    rules: ['r'],
    catalogue: null,
    identifiedAt: '2026-12-01T02:00:00.000Z',
  };
}

beforeAll(async () => {
  store = await openStore(db);
  await store.plans.save({ digest: 'd', version: '1', name: 'test', body: {} });
  surveyId = await store.surveys.create({
    planDigest: 'd',
    scope: { source: 'default', ranges: [{ start: 0x7f000000, end: 0x7fffffff }] },
    targets: [{ start: 0x7f500000, end: 0x7f5000ff }],
    ports: [80],
    seed: 1,
    shard: { index: 0, count: 1 },
    workers: 1,
    startedAt: '2026-12-01T00:00:00.000Z',
  });
  const ids = await store.identifications.add([host('127.80.0.1', 'TP-Link', 'Archer AX21', '1.1.3 Build 20221125'), host('127.80.0.2', 'TP-Link', 'Archer AX21', '1.1.4 Build 20230219')]);
  const threat = { level: 'critical', kev: true, kevDateAdded: '2023-05-01', ransomware: null, epss: 0.9, epssPercentile: 0.99, epssDate: null, cvss: null, exploitPublic: true, devicesAffected: 1 } as const;
  matches = [
    { kind: 'vulnerability-match', surveyId, identificationId: ids[0] ?? null, ip: '127.80.0.1', cve: 'CVE-2023-1389', status: 'affected', cpe: [], reason: 'r', threat, matchedAt: '2026-12-01T03:00:00.000Z' },
    { kind: 'vulnerability-match', surveyId, identificationId: ids[1] ?? null, ip: '127.80.0.2', cve: 'CVE-2023-1389', status: 'not-affected', cpe: [], reason: 'r', threat: { ...threat, level: 'info' }, matchedAt: '2026-12-01T03:00:00.000Z' },
  ];
});
afterAll(async () => {
  await store?.close();
  rmSync(dir, { recursive: true, force: true });
});

function capture(json: boolean): { out: Output; results: { text: string; value: unknown }[] } {
  const results: { text: string; value: unknown }[] = [];
  return {
    results,
    out: { json, info: () => undefined, result: (text, value) => results.push({ text, value }), stream: async () => undefined },
  };
}

const opts = (o: Partial<VulnMakersOptions>): VulnMakersOptions => ({ survey: undefined, csv: false, db, json: false, ...o });

describe('iotclean vuln makers', () => {
  it('--json: the maker report of the survey from its stored hosts and the matches', async () => {
    const { out, results } = capture(true);
    expect(await runVulnMakers(opts({ survey: surveyId, json: true }), out, store, () => matches)).toBe(0);
    const report = results[0]?.value as { models: { vendor: string; model: string; devicesAffected: number; cves: { cve: string; kev: boolean; firmware: unknown }[] }[] };
    expect(report.models).toHaveLength(1);
    expect(report.models[0]).toMatchObject({ vendor: 'TP-Link', model: 'Archer AX21', devicesAffected: 1 });
    expect(report.models[0]?.cves[0]).toMatchObject({ cve: 'CVE-2023-1389', kev: true, firmware: [{ firmware: '1.1.3 Build 20221125', devices: 1 }] });
    expect(results[0]?.text).toMatch(/^TP-Link Archer AX21: 1 affected/);
  });

  it('--csv writes the CSV to stdout; --csv with --json is refused', async () => {
    const { out } = capture(false);
    const written: string[] = [];
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    });
    try {
      await runVulnMakers(opts({ survey: surveyId, csv: true }), out, store, async function* () {
        yield* matches;
      });
    } finally {
      spy.mockRestore();
    }
    const lines = written.join('').split('\r\n');
    expect(lines[0]).toBe('vendor,model,cve,kev,threat_level,devices_affected,devices_unknown,firmware,first_seen,last_seen');
    expect(lines[1]).toBe('TP-Link,Archer AX21,CVE-2023-1389,yes,critical,1,0,1.1.3 Build 20221125 (1),2026-12-01T02:00:00.000Z,2026-12-01T02:00:00.000Z');
    await expect(runVulnMakers(opts({ csv: true, json: true }), out, store, () => matches)).rejects.toThrow(/--csv or --json/);
  });

  it("an unknown survey is E_NOT_FOUND; the default reader reads the survey's stored matches", async () => {
    const { out } = capture(false);
    const e = await runVulnMakers(opts({ survey: 999 }), out, store, () => matches).catch((x: unknown) => x);
    expect((e as IotcleanError).code).toBe('E_NOT_FOUND');
    await store.vuln.recordMatches(matches.filter((m) => m.surveyId === surveyId));
    const read: VulnerabilityMatch[] = [];
    for await (const m of storedMatches(store, surveyId) as AsyncIterable<VulnerabilityMatch>) read.push(m);
    expect(read.map((m) => m.cve).sort()).toEqual(matches.filter((m) => m.surveyId === surveyId).map((m) => m.cve).sort());
  });

  it('is a command with --help through the CLI machinery', async () => {
    const written: string[] = [];
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    });
    try {
      expect(await runCommand(createVulnMakersCommand(() => matches) as never, ['--help'], ['iotclean', 'vuln', 'makers'])).toBe(0);
    } finally {
      spy.mockRestore();
    }
    expect(written.join('')).toMatch(/Usage: iotclean vuln makers[\s\S]*--survey ID[\s\S]*--csv/);
  });
});
