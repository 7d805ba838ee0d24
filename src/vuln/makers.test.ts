import { describe, expect, it } from 'vitest';
import type { Identification, Severity, ThreatLevel, VulnerabilityMatch, VulnStatus } from '../core/records.js';
import { splitCsvLine } from '../core/csv.js';
import { createRng } from '../core/rng.js';
import { makerCsvHeader, makerReport, makerReportCsv, makerReportJson } from './makers.js';

function hostRow(id: number, ip: string, vendor: string | null, model: string | null, version: string | null, identifiedAt: string, surveyId = 1): Identification {
  return {
    kind: 'identification',
    id,
    surveyId,
    endpointId: null,
    ip,
    port: null,
    protocol: null,
    type: 'router',
    vendor,
    product: model,
    version,
    device: vendor || model ? { vendor, product: model, version: null } : null,
    os: null,
    service: null,
    cpe: [],
    confidence: 0.9,
    rule: 'r',
    rules: ['r'],
    catalogue: null,
    identifiedAt,
  };
}

function threat(level: Severity, kev: boolean): ThreatLevel {
  return { level, kev, kevDateAdded: null, ransomware: null, epss: null, epssPercentile: null, epssDate: null, cvss: null, exploitPublic: kev, devicesAffected: 0 };
}

function match(identificationId: number | null, ip: string, cve: string, status: VulnStatus, level: Severity = 'high', kev = false, surveyId = 1): VulnerabilityMatch {
  return { kind: 'vulnerability-match', surveyId, identificationId, ip, cve, status, cpe: [], reason: 'test', threat: threat(level, kev), matchedAt: '2026-12-01T12:00:00.000Z' };
}

const hosts = [
  hostRow(1, '127.80.2.1', 'TP-Link', 'Archer AX21', '1.1.3 Build 20221125', '2026-12-01T03:00:00.000Z'),
  hostRow(2, '127.80.2.2', 'TP-Link', 'Archer AX21', '1.1.3 Build 20221125', '2026-12-01T01:00:00.000Z'),
  hostRow(3, '127.80.2.3', 'TP-Link', 'Archer AX21', '1.1.2 Build 20211118', '2026-12-01T02:00:00.000Z'),
  hostRow(4, '127.80.2.4', 'TP-Link', 'Archer AX21', '1.1.4 Build 20230219', '2026-12-01T00:30:00.000Z'),
  hostRow(5, '127.80.2.5', 'Dahua', 'IPC-HDW3441T-ZS', '2.800.0000000.29.R', '2026-12-01T05:00:00.000Z'),
  hostRow(6, '127.80.2.6', 'D-Link', 'DIR-605L', '2.06', '2026-12-01T04:00:00.000Z'),
];

const matches = [
  match(1, '127.80.2.1', 'CVE-2023-1389', 'affected', 'critical', true),
  match(2, '127.80.2.2', 'CVE-2023-1389', 'affected', 'critical', true),
  match(3, '127.80.2.3', 'CVE-2023-1389', 'affected', 'high', true),
  match(4, '127.80.2.4', 'CVE-2023-1389', 'not-affected', 'info'),
  match(5, '127.80.2.5', 'CVE-2021-33044', 'unknown', 'high', true),
  // Joined by survey and address when the identification id is missing.
  match(null, '127.80.2.6', 'CVE-2014-8361', 'affected', 'critical', true),
  match(6, '127.80.2.6', 'CVE-2021-35394', 'affected', 'high'),
  // No identification for it: left out and counted.
  match(99, '127.80.2.99', 'CVE-2014-8361', 'affected'),
];

describe('makerReport', () => {
  const report = makerReport(matches, hosts);

  it('counts affected devices per model and CVE, with firmware, first seen and the most urgent level', () => {
    const ax21 = report.models.find((m) => m.model === 'Archer AX21');
    expect(ax21).toMatchObject({ vendor: 'TP-Link', devicesAffected: 3, devicesUnknown: 0, firstSeen: '2026-12-01T01:00:00.000Z', lastSeen: '2026-12-01T03:00:00.000Z' });
    expect(ax21?.cves).toEqual([
      {
        cve: 'CVE-2023-1389',
        affected: 3,
        unknown: 0,
        kev: true,
        level: 'critical',
        firmware: [
          { firmware: '1.1.3 Build 20221125', devices: 2 },
          { firmware: '1.1.2 Build 20211118', devices: 1 },
        ],
        firstSeen: '2026-12-01T01:00:00.000Z',
        lastSeen: '2026-12-01T03:00:00.000Z',
      },
    ]);
  });

  it('keeps unknown apart from affected, joins by address, lists several CVEs of one device once', () => {
    const dahua = report.models.find((m) => m.vendor === 'Dahua');
    expect(dahua).toMatchObject({ devicesAffected: 0, devicesUnknown: 1 });
    expect(dahua?.cves[0]).toMatchObject({ cve: 'CVE-2021-33044', affected: 0, unknown: 1 });
    const dlink = report.models.find((m) => m.vendor === 'D-Link');
    expect(dlink?.devicesAffected).toBe(1);
    expect(dlink?.cves.map((c) => c.cve)).toEqual(['CVE-2014-8361', 'CVE-2021-35394']);
    expect(report.unmatched).toBe(1);
    expect(report.surveyIds).toEqual([1]);
    expect(report.models.map((m) => m.vendor)).toEqual(['D-Link', 'Dahua', 'TP-Link']);
  });

  it('the same address in two surveys is two devices; a device without a name is "(unknown)"', () => {
    const r = makerReport(
      [match(1, '127.80.3.1', 'CVE-2020-8515', 'affected', 'critical', true, 1), match(2, '127.80.3.1', 'CVE-2020-8515', 'affected', 'critical', true, 2), match(3, '127.80.3.2', 'CVE-2020-8515', 'affected')],
      [hostRow(1, '127.80.3.1', 'DrayTek', 'Vigor2960', '1.3.1_Beta', '2026-11-01T00:00:00.000Z', 1), hostRow(2, '127.80.3.1', 'DrayTek', 'Vigor2960', '1.3.1_Beta', '2026-12-01T00:00:00.000Z', 2), hostRow(3, '127.80.3.2', null, null, null, '2026-12-01T00:00:00.000Z')],
    );
    expect(r.models.map((m) => [m.vendor, m.model, m.devicesAffected])).toEqual([
      ['(unknown)', '(unknown)', 1],
      ['DrayTek', 'Vigor2960', 2],
    ]);
    expect(r.surveyIds).toEqual([1, 2]);
  });
});

describe('CSV and JSON', () => {
  it('one row per vendor, model and CVE under the header; hostile names cannot become formulas or lines', () => {
    const evil = [hostRow(1, '127.80.4.1', '=HYPERLINK("http://x","y")', '+cmd|\' /C calc\'!A0', '-1\r\nnext,line', '2026-12-01T00:00:00.000Z')];
    const csv = makerReportCsv(makerReport([match(1, '127.80.4.1', 'CVE-2023-1389', 'affected', 'critical', true)], evil));
    const lines = csv.split('\r\n');
    expect(lines[0]).toBe(makerCsvHeader.join(','));
    expect(lines).toHaveLength(3);
    expect(lines[2]).toBe('');
    const split = splitCsvLine(lines[1] ?? '');
    if (!('fields' in split)) throw new Error(split.problem);
    expect(split.fields).toHaveLength(makerCsvHeader.length);
    expect(split.fields[0]).toBe('\'=HYPERLINK("http://x","y")');
    expect(split.fields[1]).toBe("'+cmd|' /C calc'!A0");
    expect(split.fields[7]).toBe("'-1  next,line (1)");
    expect(split.fields.slice(2, 7)).toEqual(['CVE-2023-1389', 'yes', 'critical', '1', '0']);
    for (const f of split.fields) expect(f).not.toMatch(/^[=+\-@]/);
  });

  it('JSON is the report record itself', () => {
    const report = makerReport(matches, hosts);
    expect(JSON.parse(makerReportJson(report))).toEqual(report);
  });

  it('fuzz: random records always give a report and a CSV of header + one row per model and CVE', () => {
    const rng = createRng('makers-fuzz');
    const words = ['TP-Link', '=1+1', '@x', '', 'a,b', '"q"', '\n', 'ダ', '-'];
    for (let i = 0; i < 300; i++) {
      const hs: Identification[] = [];
      const ms: VulnerabilityMatch[] = [];
      for (let k = 0; k < rng.int(20); k++) {
        const ipAddr = `127.80.5.${k + 1}`;
        hs.push(hostRow(k + 1, ipAddr, rng.pick([...words, null] as (string | null)[]) ?? null, rng.pick(words), rng.pick(words), `2026-12-0${1 + rng.int(9)}T00:00:00.000Z`));
        ms.push(match(rng.int(2) === 0 ? k + 1 : null, ipAddr, rng.pick(['CVE-2023-1389', 'CVE-2014-8361']), rng.pick(['affected', 'unknown', 'not-affected'] as const)));
      }
      const r = makerReport(ms, hs);
      const rows = r.models.reduce((n, m) => n + m.cves.length, 0);
      const lines = makerReportCsv(r).split('\r\n');
      expect(lines).toHaveLength(rows + 2);
      for (const line of lines.slice(1, -1)) expect('fields' in splitCsvLine(line)).toBe(true);
    }
  });
});
