/**
 * What the sharing stage reads and decides: C&C candidates with their liveness (from the flows
 * stage), the sharing ISP's choices (what to share, under which TLP), and the STIX objects it
 * makes. The flows stage's own repository is wired to `CandidateSource` at merge; this stage
 * never reads its tables.
 */
import type { Ipv4Range } from '../core/ip.js';
import type { C2Candidate, LivenessCheck } from '../flows/types.js';

/** One candidate as the sharing stage sees it: the detection, its liveness history and how long it stays valid. */
export interface ShareEntry {
  readonly candidate: C2Candidate;
  /** Oldest first or in any order: the builder sorts by `at`. */
  readonly liveness: readonly LivenessCheck[];
  /** Set by the liveness monitor when it has decided (expired when dead); null lets the builder derive it. */
  readonly validUntil: string | null;
}

/** What a CandidateSource is asked for (the cheap part of the filter; the builder applies the rest). */
export interface CandidateFilter {
  /** Only candidates seen, or checked, at or after this time (ISO 8601). */
  readonly since?: string;
  readonly minScore?: number;
}

/** Where candidates come from: the flows stage's store, or a file of `flows detect --json` output. */
export interface CandidateSource {
  list(filter: CandidateFilter): AsyncIterable<ShareEntry>;
}

/** TLP 2.0 levels (FIRST, 2022), the ones a sharing ISP chooses from. */
export const tlpLevels = ['clear', 'green', 'amber', 'amber+strict', 'red'] as const;
export type Tlp = (typeof tlpLevels)[number];
/** TLP 1.0 levels, as STIX 2.1 §7.2.1.4 predefines marking definitions for them. */
export type Tlp1 = 'white' | 'green' | 'amber' | 'red';
/**
 * The TLP 1.0 marking also put on everything, for consumers that know only the STIX predefined ones.
 * Never looser than the 2.0 level: 1.0 AMBER (the recipient's organisation) is what 2.0 calls
 * AMBER+STRICT, so 2.0 AMBER, which also allows the recipient's clients, gets the stricter one.
 */
export const tlp1Of: Readonly<Record<Tlp, Tlp1>> = { clear: 'white', green: 'green', amber: 'amber', 'amber+strict': 'amber', red: 'red' };
/** A level as the operator may write it: TLP 1.0's WHITE is 2.0's CLEAR. */
export function parseTlp(s: string): Tlp | undefined {
  const v = s.trim().toLowerCase().replace(/^tlp:/, '');
  if (v === 'white') return 'clear';
  return (tlpLevels as readonly string[]).includes(v) ? (v as Tlp) : undefined;
}

/** The sharing ISP's choices for one export. */
export interface ShareOptions {
  /** The sharing organisation (the STIX identity every object is created by). */
  readonly identity: string;
  readonly tlp: Tlp;
  /** Candidates below this score are not shared. */
  readonly minScore: number;
  /** Leave out candidates whose latest liveness check failed (by default they are shared, expired). */
  readonly aliveOnly: boolean;
  /** Addresses never shared, e.g. the ISP's own subscribers' prefixes (a C&C on a customer line is a case, not a list entry). */
  readonly exclude: readonly Ipv4Range[];
  /** Only candidates seen or re-checked at or after this time. */
  readonly since?: string;
  /** How long an indicator stays valid after its last sign of life, when the liveness monitor did not say. */
  readonly ttlMs: number;
}

export const defaultShareOptions: Omit<ShareOptions, 'identity'> = {
  tlp: 'amber',
  minScore: 0.5,
  aliveOnly: false,
  exclude: [],
  // C&C servers move fast (80% unreachable within 10 days): a week without a sign of life expires it.
  ttlMs: 7 * 86_400_000,
};

/** A STIX 2.1 object as plain JSON (the builder's output, the validator's and the TAXII server's input). */
export type StixObject = { readonly type: string; readonly id: string } & Readonly<Record<string, unknown>>;

export interface StixBundle {
  readonly type: 'bundle';
  readonly id: string;
  readonly objects: readonly StixObject[];
}

/** What an export left out and why, so an ISP sees the effect of its choices. */
export interface ShareCounts {
  readonly candidates: number;
  readonly shared: number;
  readonly expired: number;
  readonly skipped: Readonly<Record<'low-score' | 'dead' | 'excluded' | 'before-since' | 'not-ipv4', number>>;
}
