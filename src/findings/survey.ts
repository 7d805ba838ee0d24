/**
 * The findings stage of a survey: what the survey stored (weak-credential access results, host
 * identifications for the device), darknet infection candidates passed in, and any further
 * finding sources (`extra`: where vulnerability and exposure findings join) become attributed,
 * deduplicated findings in store.findings.
 *
 * Memory stays flat at any survey size: access results and host identifications are both read in
 * address order and merge-joined, and findings are written in batches. A record that cannot be
 * turned into a valid finding is counted and handed to `onError` with its error; the rest go on
 * (IntelMQ's per-item failure routing).
 */
import { parseIpv4 } from '../core/ip.js';
import type { Finding, FindingDevice, FindingKind, HoldReason, Identification, VulnerabilityMatch } from '../core/records.js';
import type { InfectionCandidate } from '../darknet/analyse.js';
import type { IspTable } from '../scope/isp.js';
import type { Store } from '../store/store.js';
import { attribute } from './attribute.js';
import { deviceOf, fromAccessResult, fromInfectionCandidate, fromVulnerabilityMatches, passThrough } from './build.js';

/** One input that could not become a finding, and why. */
export interface FindingFailure {
  /** What it was: "access-result 17", "infection 127.0.0.9@2026-12-01", "extra 3". */
  readonly item: string;
  readonly error: unknown;
}

/** Further inputs of deriveSurveyFindings, and where failures go. */
export interface DeriveOptions {
  /** Darknet infection candidates (src/darknet/analyse.ts infectionCandidates), any days. */
  readonly infections?: Iterable<InfectionCandidate> | AsyncIterable<InfectionCandidate>;
  /** Further findings built elsewhere (vulnerability, exposure, end-of-life, ...): validated, attributed, stored. */
  readonly extra?: readonly (Iterable<Finding> | AsyncIterable<Finding>)[];
  readonly onError?: (failure: FindingFailure) => void;
  /** Findings written per store call (default 5,000). */
  readonly batchSize?: number;
}

/** What one derivation did. Counts of stored findings are of distinct findings (after dedup). */
export interface DeriveCounts {
  /** Inputs read per source. */
  readonly read: { readonly access: number; readonly infections: number; readonly extra: number };
  /** Findings written (before deduplication). */
  readonly written: number;
  /** Distinct stored findings these writes landed on. */
  readonly stored: number;
  readonly byKind: Readonly<Partial<Record<FindingKind, number>>>;
  /** Per ISP notified; held ones are counted under `held` only. */
  readonly byIsp: Readonly<Record<string, number>>;
  readonly held: Readonly<Partial<Record<HoldReason, number>>>;
  /** Inputs that could not become a valid finding (each also given to onError). */
  readonly failed: number;
}

const bump = <K extends string>(m: Partial<Record<K, number>>, k: K): void => {
  m[k] = (m[k] ?? 0) + 1;
};

/**
 * Derive a survey's findings and store them. `isps` attributes every finding (held ones are
 * stored and counted, never sent). Running it again on the same survey adds nothing new: the
 * store deduplicates per (kind, ip, port, period).
 */
export async function deriveSurveyFindings(store: Store, surveyId: number, isps: IspTable, options: DeriveOptions = {}): Promise<DeriveCounts> {
  const batchSize = Math.max(1, options.batchSize ?? 5000);
  const read = { access: 0, infections: 0, extra: 0 };
  const byKind: Partial<Record<FindingKind, number>> = {};
  const byIsp: Record<string, number> = {};
  const held: Partial<Record<HoldReason, number>> = {};
  const seen = new Set<number>();
  let written = 0;
  let failed = 0;
  const fail = (item: string, error: unknown): void => {
    failed++;
    options.onError?.({ item, error });
  };

  let batch: Finding[] = [];
  const flush = async (): Promise<void> => {
    if (!batch.length) return;
    const out = batch;
    batch = [];
    const ids = await store.findings.record(out);
    written += out.length;
    ids.forEach((id, i) => {
      if (seen.has(id)) return;
      seen.add(id);
      const f = out[i]!;
      bump(byKind, f.kind);
      if (f.isp !== null) byIsp[f.isp] = (byIsp[f.isp] ?? 0) + 1;
      if (f.held !== null) bump(held, f.held);
    });
  };
  const add = async (item: string, make: () => Finding | undefined): Promise<void> => {
    let f: Finding | undefined;
    try {
      f = make();
    } catch (e) {
      fail(item, e);
      return;
    }
    if (f === undefined) return;
    batch.push(attribute(f, isps));
    if (batch.length >= batchSize) await flush();
  };

  // Weak credentials, each joined to its host's identification (both streams in address order).
  const hosts = store.identifications.hosts(surveyId)[Symbol.asyncIterator]();
  let host: Identification | undefined = (await hosts.next()).value as Identification | undefined;
  for await (const r of store.access.list(surveyId, { verdict: 'weak-credential' })) {
    read.access++;
    const at = parseIpv4(r.ip) ?? -1;
    while (host !== undefined && (parseIpv4(host.ip) ?? -1) < at) host = (await hosts.next()).value as Identification | undefined;
    const device = host !== undefined && host.ip === r.ip ? host : undefined;
    await add(`access-result ${r.id ?? `${r.ip}:${r.port}`}`, () => fromAccessResult(r, device));
  }
  await hosts.return?.();

  if (options.infections) {
    // The darknet's sources: their devices, when this survey identified them.
    const candidates: InfectionCandidate[] = [];
    for await (const c of options.infections) candidates.push(c);
    read.infections = candidates.length;
    const devices = await devicesOf(store, surveyId, new Set(candidates.map((c) => c.ip)));
    for (const c of candidates) await add(`infection ${c.ip}@${c.day}`, () => fromInfectionCandidate(c, devices.get(c.ip)));
  }

  for (const [s, source] of (options.extra ?? []).entries()) {
    let n = 0;
    for await (const f of source) {
      read.extra++;
      await add(`extra ${s}:${n++}`, () => passThrough(f));
    }
  }
  await flush();
  return { read, written, stored: seen.size, byKind, byIsp, held, failed };
}

/** Host devices of a survey for the given addresses (one pass over the survey's host rows). */
async function devicesOf(store: Store, surveyId: number, ips: ReadonlySet<string>): Promise<Map<string, FindingDevice>> {
  const out = new Map<string, FindingDevice>();
  if (!ips.size) return out;
  for await (const h of store.identifications.hosts(surveyId)) if (ips.has(h.ip)) out.set(h.ip, deviceOf(h));
  return out;
}

/**
 * Firmware-vulnerability findings from a stream of matches in address order (as the vuln stage
 * stores them): each run of one address's matches becomes one finding (fromVulnerabilityMatches),
 * with the device from `hostOf`. A ready `extra` source for deriveSurveyFindings.
 */
export async function* vulnerabilityFindings(
  matches: Iterable<VulnerabilityMatch> | AsyncIterable<VulnerabilityMatch>,
  hostOf: (ip: string) => Identification | undefined = () => undefined,
): AsyncGenerator<Finding> {
  let run: VulnerabilityMatch[] = [];
  const finish = (): Finding | undefined => (run.length ? fromVulnerabilityMatches(run, hostOf(run[0]!.ip)) : undefined);
  for await (const m of matches) {
    if (run.length && run[0]!.ip !== m.ip) {
      const f = finish();
      run = [];
      if (f) yield f;
    }
    run.push(m);
  }
  const f = finish();
  if (f) yield f;
}
