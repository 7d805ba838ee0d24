/**
 * The darknet stage: captures in, per-source-per-day summaries out. Files are read one after
 * another into one analyser, so several captures of the same sensor make one picture.
 */
import { stat } from 'node:fs/promises';
import { DarknetAnalyser, type AnalysisLimits, type SourceSummary } from './classify.js';
import type { SkipReason } from './pcap/container.js';
import { readCapture, type CaptureInput, type CaptureStats } from './pcap/reader.js';

export interface AnalyseResult {
  readonly sources: readonly SourceSummary[];
  readonly files: readonly (CaptureStats & { readonly file: string })[];
  /** Records, packets and skips over all files. */
  readonly records: number;
  readonly packets: number;
  readonly skipped: Readonly<Partial<Record<SkipReason, number>>>;
  readonly skippedRecords: number;
  readonly limits: AnalysisLimits;
}

export interface AnalyseOptions {
  readonly maxSources?: number;
  /** Progress: bytes read so far over all inputs, and their total size when known. */
  readonly onProgress?: (bytes: number, totalBytes: number | undefined) => void;
}

/** Read every capture and classify its sources. Throws IotcleanError for a non-capture input. */
export async function analyseCaptures(inputs: readonly CaptureInput[], options: AnalyseOptions = {}): Promise<AnalyseResult> {
  const analyser = new DarknetAnalyser(options.maxSources !== undefined ? { maxSources: options.maxSources } : {});
  let total: number | undefined = 0;
  for (const i of inputs) {
    if (typeof i !== 'string') total = undefined;
    else if (total !== undefined) total += await stat(i).then((s) => s.size, () => 0);
  }
  const files: (CaptureStats & { file: string })[] = [];
  let before = 0;
  const add = analyser.add.bind(analyser);
  for (const input of inputs) {
    const s = await readCapture(input, add, { onProgress: (b) => options.onProgress?.(before + b, total) });
    before += s.bytes;
    files.push({ file: typeof input === 'string' ? input : input.name, ...s });
  }
  const { sources, limits } = analyser.finish();
  const skipped: Partial<Record<SkipReason, number>> = {};
  for (const f of files) for (const [k, v] of Object.entries(f.skipped) as [SkipReason, number][]) skipped[k] = (skipped[k] ?? 0) + v;
  return {
    sources,
    files,
    records: files.reduce((a, f) => a + f.records, 0),
    packets: files.reduce((a, f) => a + f.packets, 0),
    skipped,
    skippedRecords: Object.values(skipped).reduce((a, b) => a + b, 0),
    limits,
  };
}

/**
 * The seam for the findings step: one candidate per Mirai-style source and day. A later step keeps
 * those inside participating ISPs' ranges, joins survey data on the same address, and drops
 * operator-listed research scanners, then writes `infected` findings.
 */
export interface InfectionCandidate {
  readonly kind: 'infection-candidate';
  readonly ip: string;
  readonly day: string;
  readonly fingerprint: SourceSummary['fingerprint'];
  readonly packets: number;
  readonly destinations: number;
  readonly ports: readonly number[];
  readonly firstSeen: string;
  readonly lastSeen: string;
  readonly confidence: number;
}

/** The infection candidates among summaries (Mirai-style scanning only; research scanners never). */
export function infectionCandidates(sources: readonly SourceSummary[]): InfectionCandidate[] {
  return sources
    .filter((s) => s.infected)
    .map((s) => ({ kind: 'infection-candidate', ip: s.ip, day: s.day, fingerprint: s.fingerprint, packets: s.packets, destinations: s.destinations, ports: s.ports, firstSeen: s.firstSeen, lastSeen: s.lastSeen, confidence: s.confidence }));
}
