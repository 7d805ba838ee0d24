/**
 * Scoring detection against the lab's truth (tests, benchmarks and training only: detection itself
 * never sees the truth). Precision and recall are over C&C endpoints (ip:port): a C&C counts as
 * detectable in a window when at least two internal hosts contacted it there (the detector's
 * universe; one host alone is no botnet), and recallAll also counts the ones with any beacon.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { parseIpv4, type Ipv4Range } from '../../core/ip.js';
import { detectC2, type DetectResult } from '../../flows/detect/detect.js';
import { endpointKey, type FeatureWindow } from '../../flows/detect/features.js';
import type { C2Model } from '../../flows/detect/model.js';
import { knownBadOf, type LabFlowsTruth } from './generate.js';

export interface Evaluation {
  readonly precision: number;
  readonly recall: number;
  readonly recallAll: number;
  readonly tp: number;
  readonly fp: number;
  readonly fn: number;
  readonly detectable: number;
  readonly falsePositives: string[];
  readonly missed: string[];
}

/** The internal ranges and known-bad list of a lab truth, as detection is given them. */
export function labInputs(truth: LabFlowsTruth): { internal: Ipv4Range[]; knownBad: number[] } {
  const [base, len] = truth.internal.split('/');
  const start = parseIpv4(base!)!;
  const size = 2 ** (32 - Number(len));
  return { internal: [{ start, end: start + size - 1 }], knownBad: knownBadOf(truth).map((ip) => parseIpv4(ip)!) };
}

export const c2Keys = (truth: LabFlowsTruth): Set<string> => new Set(truth.c2.map((c) => endpointKey(c.ip, c.port, c.proto)));

/** Compare one detection run with the truth. */
export function evaluate(r: DetectResult, truth: LabFlowsTruth): Evaluation {
  const keys = c2Keys(truth);
  const flagged = new Set(r.candidates.map((c) => endpointKey(c.ip, c.port, c.proto)));
  const universe = new Set(r.scored.map((s) => endpointKey(s.features.ip, s.features.port, s.features.proto)));
  const detectable = [...keys].filter((k) => universe.has(k));
  const tp = detectable.filter((k) => flagged.has(k)).length;
  const falsePositives = [...flagged].filter((k) => !keys.has(k));
  const active = truth.c2.filter((c) => c.firstBeaconMs !== null && c.firstBeaconMs < r.window.toMs && c.toMs + 4 * 3_600_000 > r.window.fromMs).length;
  return {
    precision: flagged.size ? tp / (tp + falsePositives.length) : 1,
    recall: detectable.length ? tp / detectable.length : 1,
    recallAll: active ? [...flagged].filter((k) => keys.has(k)).length / active : 1,
    tp,
    fp: falsePositives.length,
    fn: detectable.length - tp,
    detectable: detectable.length,
    falsePositives,
    missed: detectable.filter((k) => !flagged.has(k)),
  };
}

/** Sliding windows ending every `stepMs` (each `lengthMs` long, clipped to the data's start). */
export function slidingWindows(truth: LabFlowsTruth, lengthMs: number, stepMs: number, firstEndMs = truth.startMs + stepMs): FeatureWindow[] {
  const out: FeatureWindow[] = [];
  for (let end = firstEndMs; end <= truth.endMs; end += stepMs) out.push({ fromMs: Math.max(truth.startMs, end - lengthMs), toMs: end });
  return out;
}

/** Feature vectors and labels of every endpoint over the given windows (the training set). */
export async function labelledSet(conn: DuckDBConnection, truth: LabFlowsTruth, windows: readonly FeatureWindow[], model: C2Model): Promise<{ xs: number[][]; ys: number[] }> {
  const keys = c2Keys(truth);
  const xs: number[][] = [];
  const ys: number[] = [];
  const inputs = labInputs(truth);
  for (const window of windows) {
    const r = await detectC2(conn, { ...inputs, window, model, minScore: 2 });
    for (const s of r.scored) {
      xs.push([...s.x]);
      ys.push(keys.has(endpointKey(s.features.ip, s.features.port, s.features.proto)) ? 1 : 0);
    }
  }
  return { xs, ys };
}

export interface Earliness {
  /** Per C&C endpoint: hours from its first beacon to the end of the first window that flagged it (null: never). */
  readonly perC2: { readonly key: string; readonly firstBeacon: string; readonly hours: number | null }[];
  readonly medianHours: number | null;
  readonly maxHours: number | null;
  readonly found: number;
  readonly total: number;
  readonly windows: number;
  readonly falsePositiveEndpoints: number;
}

/**
 * Run detection as an operator would (every `stepMs` over the last `lengthMs`) and note when each
 * C&C is first flagged. C&Cs whose first beacon falls before the data are left out.
 */
export async function earliness(conn: DuckDBConnection, truth: LabFlowsTruth, o: { lengthMs: number; stepMs: number; model?: C2Model }): Promise<Earliness> {
  const inputs = labInputs(truth);
  const first = new Map<string, number>();
  const fps = new Set<string>();
  const keys = c2Keys(truth);
  const windows = slidingWindows(truth, o.lengthMs, o.stepMs);
  for (const window of windows) {
    const r = await detectC2(conn, { ...inputs, window, ...(o.model ? { model: o.model } : {}) });
    for (const c of r.candidates) {
      const k = endpointKey(c.ip, c.port, c.proto);
      if (!keys.has(k)) fps.add(k);
      else if (!first.has(k)) first.set(k, window.toMs);
    }
  }
  // A C&C already running when the data start has no observable first beacon: not counted.
  const fresh = truth.c2.filter((c) => c.firstBeaconMs !== null && c.fromMs > truth.startMs);
  const perC2 = fresh.map((c) => {
    const k = endpointKey(c.ip, c.port, c.proto);
    const at = first.get(k);
    return { key: k, firstBeacon: new Date(c.firstBeaconMs!).toISOString(), hours: at === undefined ? null : Math.max(0, (at - c.firstBeaconMs!) / 3_600_000) };
  });
  const hours = perC2.map((p) => p.hours).filter((h): h is number => h !== null).sort((a, b) => a - b);
  return {
    perC2,
    medianHours: hours.length ? hours[Math.floor(hours.length / 2)]! : null,
    maxHours: hours.length ? hours[hours.length - 1]! : null,
    found: hours.length,
    total: perC2.length,
    windows: windows.length,
    falsePositiveEndpoints: fps.size,
  };
}
