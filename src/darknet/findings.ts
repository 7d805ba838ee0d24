/**
 * Darknet captures → `infected` findings in the store: the step after classification, shared by
 * `iotclean darknet analyse --findings` and the demo.
 *
 * 1. Every capture is read and classified first (analyseCaptures). A capture that cannot be read
 *    at all throws before anything is stored; damaged records inside a readable capture are
 *    counted and skipped by the reader, so what is stored comes from intact packets only.
 * 2. Infection candidates (Mirai-style scanning per source and UTC day; the classifier's masscan
 *    and ZMap fingerprints already keep those research tools out) whose source is in the
 *    operator's research-scanner list are dropped and counted per scanner name.
 * 3. The rest become `infected` findings (period = the UTC day), joined with a survey when one is
 *    given (the host's device, and whether the same address also had a weak credential), and are
 *    attributed by the ISP table's longest prefix. Held ones are stored and counted, never sent.
 * 4. The store keeps one finding per (kind, ip, port, day): re-analysing a capture adds nothing.
 * 5. The per-day aggregates (./daily.ts) of every source, infected or not, replace the stored
 *    aggregates of the days analysed.
 */
import type { FindingDevice, HoldReason, Identification } from '../core/records.js';
import type { Finding } from '../core/records.js';
import { parseIpv4 } from '../core/ip.js';
import { attribute } from '../findings/attribute.js';
import { deviceOf, fromInfectionCandidate } from '../findings/build.js';
import type { IspTable } from '../scope/isp.js';
import type { Store } from '../store/store.js';
import { dailyAggregates } from './daily.js';
import { analyseCaptures, infectionCandidates, type AnalyseOptions, type AnalyseResult, type InfectionCandidate } from './analyse.js';
import type { CaptureInput } from './pcap/reader.js';
import type { ScannerList } from './scanners.js';

/** Options of analyseToFindings beyond the reader's. */
export interface DarknetFindingsOptions extends AnalyseOptions {
  /** Join with this survey: the host's identified device, and its weak credentials (details.extra). */
  readonly surveyId?: number;
  /** Findings written per store call (default 5,000). */
  readonly batchSize?: number;
  /** A candidate that could not become a valid finding, with its error (counted in `failed`). */
  readonly onError?: (item: string, error: unknown) => void;
}

/** What one run did. Counts of findings are of distinct stored findings. */
export interface DarknetFindingsResult {
  readonly analysis: AnalyseResult;
  /** Per-day aggregate rows stored (day × class × fingerprint × ISP). */
  readonly days: number;
  /** Mirai-style source-days the classifier found. */
  readonly candidates: number;
  /** Candidates dropped because the operator lists their source as a research scanner, per scanner name. */
  readonly excluded: Readonly<Record<string, number>>;
  /** Distinct findings these candidates landed on (new or already stored). */
  readonly stored: number;
  /**
   * Findings that were not in the store before this run (the rest were deduplicated): the store's
   * infected total after minus before, so another writer's findings at the same time count too.
   */
  readonly added: number;
  /**
   * Per ISP notified, as this run attributed them; held findings are counted under `held` only.
   * (A finding stored before keeps its first attribution: the store's first write wins.)
   */
  readonly byIsp: Readonly<Record<string, number>>;
  readonly held: Readonly<Partial<Record<HoldReason, number>>>;
  /** Findings whose address also had a weak credential in the joined survey. */
  readonly alsoWeakCredential: number;
  readonly failed: number;
}

/** What the joined survey knows of one address. */
interface SurveyFacts {
  device?: FindingDevice;
  weak?: { ports: number[]; protocols: string[] };
}

/**
 * Analyse captures and store their infected findings (see the module comment). `isps` attributes
 * them; `scanners` is the operator's research-scanner list. Throws IotcleanError (E_CAPTURE_FILE)
 * for an input that is not a capture, before storing anything.
 */
export async function analyseToFindings(
  store: Store,
  files: readonly CaptureInput[],
  isps: IspTable,
  scanners?: ScannerList,
  options: DarknetFindingsOptions = {},
): Promise<DarknetFindingsResult> {
  const analysis = await analyseCaptures(files, options);
  const days = dailyAggregates(analysis.sources, isps);
  await store.darknet.recordDays(days);
  const all = infectionCandidates(analysis.sources);
  const excluded: Record<string, number> = {};
  const kept: InfectionCandidate[] = [];
  for (const c of all) {
    const name = scanners?.match(c.ip);
    if (name === undefined) kept.push(c);
    else excluded[name] = (excluded[name] ?? 0) + 1;
  }
  const facts = options.surveyId !== undefined ? await surveyFacts(store, options.surveyId, new Set(kept.map((c) => c.ip))) : new Map<string, SurveyFacts>();

  const before = await infectedCount(store);
  const batchSize = Math.max(1, options.batchSize ?? 5000);
  const seen = new Set<number>();
  const byIsp: Record<string, number> = {};
  const held: Partial<Record<HoldReason, number>> = {};
  let alsoWeakCredential = 0;
  let failed = 0;
  let batch: Finding[] = [];
  const flush = async (): Promise<void> => {
    if (!batch.length) return;
    const out = batch;
    batch = [];
    const ids = await store.findings.record(out);
    ids.forEach((id, i) => {
      if (seen.has(id)) return;
      seen.add(id);
      const f = out[i]!;
      if (f.isp !== null) byIsp[f.isp] = (byIsp[f.isp] ?? 0) + 1;
      if (f.held !== null) held[f.held] = (held[f.held] ?? 0) + 1;
      if (f.details.extra !== undefined) alsoWeakCredential++;
    });
  };
  for (const c of kept) {
    let f: Finding;
    try {
      const known = facts.get(c.ip);
      const base = fromInfectionCandidate(c, known?.device);
      // The survey's weak credential on the same address: the notice can say how it was taken over.
      f = attribute(known?.weak ? { ...base, details: { ...base.details, extra: { weakCredential: known.weak } } } : base, isps);
    } catch (e) {
      failed++;
      options.onError?.(`infection ${c.ip}@${c.day}`, e);
      continue;
    }
    batch.push(f);
    if (batch.length >= batchSize) await flush();
  }
  await flush();
  const after = await infectedCount(store);
  return { analysis, days: days.length, candidates: all.length, excluded, stored: seen.size, added: Math.max(0, after - before), byIsp, held, alsoWeakCredential, failed };
}

async function infectedCount(store: Store): Promise<number> {
  const m = await store.findings.countBy('kind', { kind: 'infected' });
  return m.get('infected') ?? 0;
}

/** The survey's host devices and weak credentials for the given addresses (one pass over each). */
async function surveyFacts(store: Store, surveyId: number, ips: ReadonlySet<string>): Promise<Map<string, SurveyFacts>> {
  const out = new Map<string, SurveyFacts>();
  if (!ips.size) return out;
  const at = (ip: string): SurveyFacts => {
    let f = out.get(ip);
    if (!f) out.set(ip, (f = {}));
    return f;
  };
  for await (const h of store.identifications.hosts(surveyId) as AsyncIterable<Identification>) if (ips.has(h.ip)) at(h.ip).device = deviceOf(h);
  for await (const r of store.access.list(surveyId, { verdict: 'weak-credential' })) {
    if (!ips.has(r.ip) || parseIpv4(r.ip) === undefined) continue;
    const f = at(r.ip);
    const w = (f.weak ??= { ports: [], protocols: [] });
    // Bounded: a host has a handful of services; the schema caps extra at 8 KiB anyway.
    if (!w.ports.includes(r.port) && w.ports.length < 32) w.ports.push(r.port);
    if (!w.protocols.includes(r.protocol) && w.protocols.length < 16) w.protocols.push(r.protocol);
  }
  return out;
}
