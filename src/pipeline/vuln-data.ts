/**
 * The vulnerability data a survey's vuln stage matches against: what the operator imported into
 * the store (`iotclean vuln import`), indexed once per run. The demo and tests also look for a
 * copy of the reference data (NVD, CVE 5, KEV, EPSS) next to the repository, never download it.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { CveRecord, EpssScore, KevEntry } from '../vuln/types.js';
import { buildIndex, type VulnIndex } from '../vuln/match.js';
import type { Store } from '../store/store.js';
import { findRecogDir } from '../identify/recog/locate.js';
import { parseIpv4 } from '../core/ip.js';
import type { Finding, Identification, Observation } from '../core/records.js';
import { vulnerabilityFindings } from '../findings/survey.js';
import { exposureFindings, loadExposurePlan, type ExposurePlan } from '../vuln/exposure.js';

export interface VulnContext {
  readonly index: VulnIndex;
  readonly kev: ReadonlyMap<string, KevEntry>;
  readonly epss: ReadonlyMap<string, EpssScore>;
  /** CVE records indexed. */
  readonly records: number;
}

/** Index the store's imported CVE records with its KEV and EPSS data. */
export async function storedVulnContext(store: Store): Promise<VulnContext> {
  const records: CveRecord[] = [];
  for await (const r of store.vuln.cves()) records.push(r);
  const [kev, epss] = await Promise.all([store.vuln.kevMap(), store.vuln.epssMap()]);
  return { index: buildIndex(records), kev, epss, records: records.length };
}

/**
 * Folders of reference vulnerability data found nearby: `$IOTCLEAN_VULN_DATA` (a folder holding
 * nvd/, cve5/, kev/, epss/), else the shared data folder beside Recog's. Empty when none.
 */
export function findVulnDataDirs(env: NodeJS.ProcessEnv = process.env): string[] {
  const recog = findRecogDir(env);
  const roots = [env.IOTCLEAN_VULN_DATA, recog ? join(recog, '..') : undefined].filter((x): x is string => !!x);
  for (const root of roots) {
    const dirs = ['nvd', 'cve5', 'kev', 'epss'].map((d) => join(root, d)).filter((d) => existsSync(d));
    if (dirs.length) return dirs.map((d) => resolve(d));
  }
  return [];
}

/**
 * The finding sources of issue 8 for one stored survey, for deriveSurveyFindings' `extra`: one
 * firmware-vulnerability finding per host with affected CVEs, and the exposure findings
 * (exposed services, admin pages open without login, end of life) from each host's
 * identification and observations. Both stream in address order.
 */
export function storedSurveyFindingSources(store: Store, surveyId: number, plan: ExposurePlan = loadExposurePlan(), planVersion: string | null = null): AsyncIterable<Finding>[] {
  return [vulnFindings(store, surveyId), exposures(store, surveyId, plan, planVersion)];
}

async function* vulnFindings(store: Store, surveyId: number): AsyncGenerator<Finding> {
  const hosts = new Map<string, Identification>();
  for await (const h of store.identifications.hosts(surveyId)) if (h.cpe.length) hosts.set(h.ip, h);
  yield* vulnerabilityFindings(store.vuln.matches(surveyId, { status: 'affected' }), (ip) => hosts.get(ip));
}

async function* exposures(store: Store, surveyId: number, plan: ExposurePlan, planVersion: string | null): AsyncGenerator<Finding> {
  const ids = store.identifications.hosts(surveyId)[Symbol.asyncIterator]();
  let next = await ids.next();
  let ip: string | undefined;
  let observations: Observation[] = [];
  const num = (a: string) => parseIpv4(a)!;
  const flush = async function* (): AsyncGenerator<Finding> {
    if (ip === undefined) return;
    const at = num(ip);
    while (!next.done && num(next.value.ip) < at) next = await ids.next();
    if (!next.done && next.value.ip === ip) yield* exposureFindings(next.value, observations, plan, planVersion ? { planVersion } : {});
  };
  for await (const o of store.observations.list(surveyId)) {
    if (o.ip !== ip) {
      yield* flush();
      ip = o.ip;
      observations = [];
    }
    observations.push(o);
  }
  yield* flush();
}
