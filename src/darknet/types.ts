/** The darknet stage's records and options, shared by the analyser, the CLI and later the findings step. */
import type { Fingerprint } from './fingerprints.js';

export type SourceClass = 'scanning' | 'backscatter' | 'other';

/** One source on one UTC day: what a later findings step turns into `infected` findings. */
export interface SourceSummary {
  readonly kind: 'darknet-source';
  readonly ip: string;
  /** UTC day, YYYY-MM-DD. */
  readonly day: string;
  readonly class: SourceClass;
  readonly fingerprint: Fingerprint;
  readonly confidence: number;
  readonly packets: number;
  /** Distinct destinations: exact up to 4, then an estimate (about ±6.5 %). */
  readonly destinations: number;
  readonly destinationsExact: boolean;
  /** Most frequent destination ports, most first (Misra–Gries counts: lower bounds, halved together past 65,535). */
  readonly ports: readonly number[];
  readonly portPackets: readonly number[];
  /** Share of TCP SYN probes to 23 or 2323 (Mirai's 9:1 mix), 0 without probes. */
  readonly telnetShare: number;
  readonly port2323Share: number;
  readonly firstSeen: string;
  readonly lastSeen: string;
  readonly counts: {
    readonly synProbes: number;
    readonly udpProbes: number;
    readonly icmpEcho: number;
    readonly synAck: number;
    readonly rst: number;
    readonly icmpReplies: number;
    readonly other: number;
  };
  /** Mirai-style scanning: the candidate a findings step checks against ISP ranges. */
  readonly infected: boolean;
}

/** What the read as a whole could not keep. */
export interface AnalysisLimits {
  readonly evictedSources: number;
  readonly droppedPackets: number;
}

export interface AnalyserOptions {
  /** Sources per open day (see the header for the memory this takes). */
  readonly maxSources?: number;
  /** Called when a day is closed, with its sources. */
  readonly onDay?: (sources: SourceSummary[]) => void;
  /**
   * Called once per source and day, on the packet that makes it a Mirai-style scanner (enough SYN
   * probes, enough of them matching): what a live sensor raises as it happens.
   */
  readonly onInfected?: (source: SourceSummary) => void;
}
