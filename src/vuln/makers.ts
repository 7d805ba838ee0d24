/**
 * The maker view: per vendor and model, how many surveyed devices a CVE affects, on which
 * firmware, and since when: the report handed to manufacturers. Built from vulnerability matches
 * and the host identifications they were made on (records only, no store access), written as CSV
 * (spreadsheet-safe, src/core/csv.ts) or JSON.
 */
import { csvCell } from '../core/csv.js';
import type { Identification, Severity, VulnerabilityMatch } from '../core/records.js';
import { severities } from '../core/records.js';

/** Devices of one model on one firmware version. */
export interface FirmwareCount {
  /** The firmware as identified; null when the identification did not see it. */
  readonly firmware: string | null;
  readonly devices: number;
}

/** One CVE on one model. */
export interface MakerCve {
  readonly cve: string;
  /** Distinct devices (addresses of a survey) matched as affected. */
  readonly affected: number;
  /** Devices whose firmware could not be ordered against the CVE's bounds. */
  readonly unknown: number;
  readonly kev: boolean;
  /** The most urgent threat level among its matches. */
  readonly level: Severity;
  readonly firmware: readonly FirmwareCount[];
  /** Earliest identification of an affected (else unknown) device, ISO 8601. */
  readonly firstSeen: string | null;
  readonly lastSeen: string | null;
}

/** One model of one maker. */
export interface MakerModel {
  readonly vendor: string;
  readonly model: string;
  /** Distinct devices affected by at least one CVE. */
  readonly devicesAffected: number;
  /** Distinct devices with only unknown matches. */
  readonly devicesUnknown: number;
  readonly cves: readonly MakerCve[];
  readonly firmware: readonly FirmwareCount[];
  readonly firstSeen: string | null;
  readonly lastSeen: string | null;
}

/** The maker report: models ordered by maker, then by devices affected (most first). */
export interface MakerReport {
  readonly kind: 'maker-report';
  readonly surveyIds: readonly number[];
  readonly models: readonly MakerModel[];
  /** Matches whose identification was not given (left out, counted here). */
  readonly unmatched: number;
}

/** Label of a maker or model the identification did not name. */
export const unknownLabel = '(unknown)';

interface Acc {
  readonly affected: Map<string, string | null>;
  readonly unknown: Map<string, string | null>;
  kev: boolean;
  level: number;
  first: string | null;
  last: string | null;
}

function earlier(a: string | null, b: string): string {
  return a === null || b < a ? b : a;
}
function later(a: string | null, b: string): string {
  return a === null || b > a ? b : a;
}

function firmwareCounts(devices: ReadonlyMap<string, string | null>): FirmwareCount[] {
  const counts = new Map<string | null, number>();
  for (const f of devices.values()) counts.set(f, (counts.get(f) ?? 0) + 1);
  return [...counts]
    .map(([firmware, n]) => ({ firmware, devices: n }))
    .sort((a, b) => b.devices - a.devices || String(a.firmware ?? '').localeCompare(String(b.firmware ?? '')));
}

/**
 * Build the maker view. Each match is joined to its host identification by `identificationId`
 * (else by survey and address); a device is one address in one survey. Not-affected matches are
 * not counted; unknown ones are counted apart, never as affected.
 */
export function makerReport(matches: Iterable<VulnerabilityMatch>, hosts: Iterable<Identification>): MakerReport {
  const byId = new Map<number, Identification>();
  const byAddress = new Map<string, Identification>();
  for (const h of hosts) {
    if (h.port !== null) continue;
    if (h.id !== undefined) byId.set(h.id, h);
    byAddress.set(`${h.surveyId ?? ''}|${h.ip}`, h);
  }
  const models = new Map<string, { vendor: string; model: string; cves: Map<string, Acc> }>();
  const surveys = new Set<number>();
  let unmatched = 0;
  for (const m of matches) {
    if (m.status === 'not-affected') continue;
    const host = (m.identificationId !== null ? byId.get(m.identificationId) : undefined) ?? byAddress.get(`${m.surveyId ?? ''}|${m.ip}`);
    if (!host) {
      unmatched++;
      continue;
    }
    if (m.surveyId !== null) surveys.add(m.surveyId);
    const vendor = host.device?.vendor ?? host.vendor ?? unknownLabel;
    const model = host.device?.product ?? host.product ?? unknownLabel;
    const key = `${vendor.toLowerCase()}\u0000${model.toLowerCase()}`;
    let entry = models.get(key);
    if (!entry) {
      entry = { vendor, model, cves: new Map() };
      models.set(key, entry);
    }
    let acc = entry.cves.get(m.cve);
    if (!acc) {
      acc = { affected: new Map(), unknown: new Map(), kev: false, level: severities.length - 1, first: null, last: null };
      entry.cves.set(m.cve, acc);
    }
    const device = `${m.surveyId ?? ''}|${m.ip}`;
    (m.status === 'affected' ? acc.affected : acc.unknown).set(device, host.version);
    acc.kev ||= m.threat.kev;
    acc.level = Math.min(acc.level, Math.max(0, severities.indexOf(m.threat.level)));
    acc.first = earlier(acc.first, host.identifiedAt);
    acc.last = later(acc.last, host.identifiedAt);
  }
  const out: MakerModel[] = [];
  for (const { vendor, model, cves } of models.values()) {
    const affected = new Map<string, string | null>();
    const unknownOnly = new Map<string, string | null>();
    const rows: MakerCve[] = [];
    let first: string | null = null;
    let last: string | null = null;
    for (const [cve, acc] of cves) {
      for (const [d, f] of acc.affected) affected.set(d, f);
      for (const [d, f] of acc.unknown) unknownOnly.set(d, f);
      if (acc.first !== null) first = earlier(first, acc.first);
      if (acc.last !== null) last = later(last, acc.last);
      rows.push({
        cve,
        affected: acc.affected.size,
        unknown: acc.unknown.size,
        kev: acc.kev,
        level: severities[acc.level] ?? 'info',
        firmware: firmwareCounts(acc.affected.size > 0 ? acc.affected : acc.unknown),
        firstSeen: acc.first,
        lastSeen: acc.last,
      });
    }
    for (const d of affected.keys()) unknownOnly.delete(d);
    rows.sort((a, b) => b.affected - a.affected || b.unknown - a.unknown || a.cve.localeCompare(b.cve));
    out.push({ vendor, model, devicesAffected: affected.size, devicesUnknown: unknownOnly.size, cves: rows, firmware: firmwareCounts(new Map([...unknownOnly, ...affected])), firstSeen: first, lastSeen: last });
  }
  out.sort((a, b) => a.vendor.localeCompare(b.vendor) || b.devicesAffected - a.devicesAffected || a.model.localeCompare(b.model));
  return { kind: 'maker-report', surveyIds: [...surveys].sort((a, b) => a - b), models: out, unmatched };
}

/** CSV header of {@link makerReportCsv}: one row per (vendor, model, CVE). */
export const makerCsvHeader = ['vendor', 'model', 'cve', 'kev', 'threat_level', 'devices_affected', 'devices_unknown', 'firmware', 'first_seen', 'last_seen'] as const;

/** "1.1.3 Build 20221125 (4); 1.1.2 (1)": firmware versions with their device counts. */
function firmwareText(list: readonly FirmwareCount[]): string {
  return list.map((f) => `${f.firmware ?? unknownLabel} (${f.devices})`).join('; ');
}

/** The report as CSV lines (header first, CRLF line ends as RFC 4180 says), every cell formula-safe. */
export function makerReportCsv(report: MakerReport): string {
  const lines = [makerCsvHeader.join(',')];
  for (const m of report.models) {
    for (const c of m.cves) {
      lines.push([m.vendor, m.model, c.cve, c.kev ? 'yes' : 'no', c.level, c.affected, c.unknown, firmwareText(c.firmware), c.firstSeen, c.lastSeen].map(csvCell).join(','));
    }
  }
  return `${lines.join('\r\n')}\r\n`;
}

/** The report as JSON text (the records as they are). */
export function makerReportJson(report: MakerReport): string {
  return `${JSON.stringify(report, null, 2)}\n`;
}
