/**
 * Records of the ISP side (`iotclean isp …`), which runs at the ISP: subscriber data lives only in
 * the ISP's own store and never goes to the centre. Input is the centre's batches (Finding[], see
 * NotificationBatch in src/core/records.ts); output is cases, alerts and the effect curve.
 */
import type { Finding, FindingKind } from '../../core/records.js';

/** Where a session row came from. */
export const sessionSources = ['radius-detail', 'radius-csv', 'dhcpd-leases', 'kea-csv', 'cgnat'] as const;
export type SessionSource = (typeof sessionSources)[number];

/**
 * Who held a public address (and, behind CGNAT, which port block) during [start, end). One row per
 * RADIUS session, DHCP lease or CGNAT port-block allocation. `end` null: still open at import.
 */
export interface SessionRecord {
  readonly subscriber: string;
  readonly ip: string;
  /** CGNAT port block on the public address, inclusive; null for a whole address. */
  readonly portFirst: number | null;
  readonly portLast: number | null;
  readonly start: string;
  readonly end: string | null;
  readonly mac: string | null;
  readonly source: SessionSource;
  /** File and 1-based line (first line of a multi-line record) it came from. */
  readonly file: string;
  readonly line: number;
}

/** How a finding's ip + time (+ port) resolved to a subscriber. */
export const matchStatuses = ['matched', 'unmatched', 'ambiguous'] as const;
export type MatchStatus = (typeof matchStatuses)[number];

export interface SubscriberMatch {
  readonly finding: Finding;
  readonly status: MatchStatus;
  readonly subscriber: string | null;
  /** Every subscriber that could hold it (ambiguous), else the one matched. */
  readonly candidates: readonly string[];
  /** Why unmatched or ambiguous ("no session covers 2026-12-01T03:00Z", "CGNAT: port needed"). */
  readonly reason: string | null;
}

/** Which measure fits a case (issue 9: subscriber alert, the ISP's own fix, the SIer, the maker). */
export const measures = ['subscriber-alert', 'isp-task', 'sier-notice'] as const;
export type Measure = (typeof measures)[number];

/** An ISP-side inventory line: a device the ISP rents out, or a line whose devices an SIer manages. */
export interface InventoryEntry {
  readonly subscriber: string | null;
  readonly mac: string | null;
  /** `isp-task`: the ISP rents and manages the device; `sier-notice`: an SIer manages the line. */
  readonly measure: Exclude<Measure, 'subscriber-alert'>;
  /** SIer name and contact address for sier-notice, the ops team queue for isp-task. */
  readonly contact: string | null;
  readonly model: string | null;
}

/** The subscriber's contact (ISP-side only) and preferred language for alerts. */
export interface Subscriber {
  readonly id: string;
  readonly email: string | null;
  readonly language: 'ja' | 'en';
  readonly name: string | null;
}

export const caseStates = ['new', 'alerted', 'acknowledged', 'fixed', 'persisting', 're-alerted', 'escalated'] as const;
export type CaseState = (typeof caseStates)[number];

/** One step of a case, timestamped with who or what did it ("iotclean isp alert", "ops:tanaka"). */
export interface CaseTransition {
  readonly from: CaseState | null;
  readonly to: CaseState;
  readonly at: string;
  readonly by: string;
  readonly note: string | null;
}

/**
 * One case per subscriber + problem (finding kind, port). `reference` is what the alert quotes
 * and the support desk looks up ("IOTC-2026-000123").
 */
export interface Case {
  readonly id?: number;
  readonly reference: string;
  readonly subscriber: string;
  readonly findingKind: FindingKind;
  readonly port: number | null;
  readonly measure: Measure;
  readonly state: CaseState;
  /** Alerts that demonstrably reached the subscriber (SMTP accepted), for escalation. */
  readonly alertsDelivered: number;
  readonly device: Finding['device'];
  /** Tickets and finding keys the case rests on. */
  readonly tickets: readonly string[];
  readonly openedAt: string;
  readonly updatedAt: string;
  readonly transitions: readonly CaseTransition[];
}

/**
 * The centre's re-scan of one endpoint after notification: the problem still there or gone.
 * Sent back to the ISP like a batch, so it can close or re-alert cases.
 */
export interface Verification {
  readonly kind: FindingKind;
  readonly ip: string;
  readonly port: number | null;
  readonly at: string;
  readonly present: boolean;
  readonly ticket: string | null;
}
