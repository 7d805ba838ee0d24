/**
 * The threat level of one CVE match: the facts (KEV and its ransomware use, EPSS, CVSS, public
 * exploit, prevalence in the survey) and the level derived from them by one documented rule:
 *
 * - critical: listed in KEV; or a public exploit with CVSS ≥ 9.0; or EPSS ≥ 0.5;
 * - high: CVSS ≥ 9.0; or a public exploit with CVSS ≥ 7.0; or EPSS ≥ 0.1;
 * - medium: CVSS ≥ 7.0 or a public exploit; or EPSS ≥ 0.01;
 * - low: CVSS ≥ 4.0;
 * - info: anything else (no score known, nothing exploited).
 *
 * One step up (never past critical) when KEV records known ransomware use or the CVE affects at
 * least `prevalent` devices in the survey (default 100): many devices make even a medium worth an
 * alert campaign. The CVSS taken is the highest base score of the newest version present (v4.0,
 * then v3.1, v3.0; v2 only when nothing newer exists), as NVD and CISA-ADP both score.
 */
import type { Severity, ThreatLevel } from '../core/records.js';
import type { CveRecord, EpssScore, KevEntry } from './types.js';

/** Inputs beyond the record. */
export interface ThreatInputs {
  readonly kev?: KevEntry | undefined;
  readonly epss?: EpssScore | undefined;
  readonly devicesAffected?: number;
  /** Affected devices from which prevalence raises the level (default 100). */
  readonly prevalent?: number;
}

const order: readonly Severity[] = ['info', 'low', 'medium', 'high', 'critical'];

/** The CVSS the rule uses (see the module comment), or null. */
export function bestCvss(r: CveRecord): ThreatLevel['cvss'] {
  for (const v of ['4.0', '3.1', '3.0', '2.0'] as const) {
    const of = r.cvss.filter((s) => s.version === v && Number.isFinite(s.score));
    if (of.length === 0) continue;
    const top = of.reduce((a, b) => (b.score > a.score ? b : a));
    return { version: v, score: top.score, vector: top.vector };
  }
  return null;
}

/** A public exploit is known: KEV, or an NVD reference tagged "Exploit". */
export function exploitPublic(r: CveRecord, kev: KevEntry | undefined): boolean {
  return kev !== undefined || r.references.some((x) => x.tags.some((t) => t.toLowerCase() === 'exploit'));
}

/** The level from the facts (the rule in the module comment). */
export function levelOf(f: { kev: boolean; ransomware: boolean | null; epss: number | null; cvss: number | null; exploit: boolean; devicesAffected: number; prevalent?: number }): Severity {
  const c = f.cvss ?? -1;
  const e = f.epss ?? -1;
  let lv: Severity = 'info';
  if (f.kev || (f.exploit && c >= 9) || e >= 0.5) lv = 'critical';
  else if (c >= 9 || (f.exploit && c >= 7) || e >= 0.1) lv = 'high';
  else if (c >= 7 || f.exploit || e >= 0.01) lv = 'medium';
  else if (c >= 4) lv = 'low';
  if (f.ransomware === true || f.devicesAffected >= (f.prevalent ?? 100)) lv = order[Math.min(order.length - 1, order.indexOf(lv) + 1)]!;
  return lv;
}

/** The ThreatLevel of one CVE. */
export function threatLevel(r: CveRecord, i: ThreatInputs = {}): ThreatLevel {
  const cvss = bestCvss(r);
  const exploit = exploitPublic(r, i.kev);
  const ransomware = i.kev ? (i.kev.ransomware === 'Known' ? true : null) : null;
  const devicesAffected = i.devicesAffected ?? 0;
  return {
    level: levelOf({ kev: i.kev !== undefined, ransomware, epss: i.epss?.epss ?? null, cvss: cvss?.score ?? null, exploit, devicesAffected, ...(i.prevalent !== undefined ? { prevalent: i.prevalent } : {}) }),
    kev: i.kev !== undefined,
    kevDateAdded: i.kev?.dateAdded ?? null,
    ransomware,
    epss: i.epss?.epss ?? null,
    epssPercentile: i.epss?.percentile ?? null,
    epssDate: i.epss?.date ?? null,
    cvss,
    exploitPublic: exploit,
    devicesAffected,
  };
}
