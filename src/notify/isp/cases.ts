/**
 * ISP-side cases: one per subscriber + problem (finding kind, port), with a lifecycle every step of
 * which is timestamped with who or what did it. Pure functions over records; the store keeps them
 * (src/store/cases.ts).
 *
 *   new → alerted → acknowledged → fixed
 *              ↘ persisting → re-alerted → … → escalated
 *
 * `fixed` is reached only through a Verification with present=false (the centre's re-scan of the
 * endpoint), never by someone saying so. A fixed case whose problem is seen again is reopened
 * (fixed → new, note "reinfected") and counts as a reinfection. Control-group cases (held back for
 * the effect baseline, see ./effect.ts) stay `new` until a re-scan shows them fixed.
 */
import { createHash } from 'node:crypto';
import { IotcleanError } from '../../core/errors.js';
import type { FindingKind } from '../../core/records.js';
import type { Case, CaseState, CaseTransition, Measure, SubscriberMatch, Verification } from './types.js';

/**
 * A case as the ISP tracks it: the shared Case record plus what effect measurement needs (the
 * Case shape on main stays as it is). `control`: held back from alerts for the baseline.
 */
export interface TrackedCase extends Case {
  readonly isp: string | null;
  readonly control: boolean;
  /** The address and time the problem was last seen at (the latest finding or re-scan). */
  readonly lastIp: string;
  readonly lastSeenAt: string;
  /** Who gets the task or notice (InventoryEntry.contact): ops queue for isp-task, SIer for sier-notice. */
  readonly contact: string | null;
}

/** Who/what did a step, when, and why. */
export interface CaseStep {
  readonly at: string;
  readonly by: string;
  readonly note?: string | null;
}

/** The allowed moves; anything else is refused. `fixed` only via applyVerification. */
const allowed: Readonly<Record<CaseState, readonly CaseState[]>> = {
  new: ['alerted', 'fixed'],
  alerted: ['acknowledged', 'fixed', 'persisting'],
  acknowledged: ['fixed', 'persisting'],
  persisting: ['re-alerted', 'acknowledged', 'fixed', 'escalated'],
  're-alerted': ['acknowledged', 'fixed', 'persisting', 'escalated'],
  escalated: ['re-alerted', 'acknowledged', 'fixed'],
  // Reopened when the problem reappears (reinfection).
  fixed: ['new'],
};

/** Whether a case may move from one state to another. */
export function canMove(from: CaseState, to: CaseState): boolean {
  return allowed[from].includes(to);
}

/** The support-desk reference of the n-th case of a year: IOTC-2026-000123. */
export function formatReference(year: number, n: number): string {
  if (!Number.isInteger(year) || year < 1970 || year > 9999 || !Number.isInteger(n) || n < 1 || n > 999_999) {
    throw new IotcleanError('E_INTERNAL', `no case reference for year ${year}, number ${n}`, { hint: 'case numbers run 1..999999 per year' });
  }
  return `IOTC-${year}-${String(n).padStart(6, '0')}`;
}

/** A reference typed by a person, checked (the desk looks cases up by it). */
export function parseReference(text: string): { readonly year: number; readonly n: number } | null {
  const m = /^IOTC-(\d{4})-(\d{6})$/.exec(text.trim());
  return m ? { year: Number(m[1]), n: Number(m[2]) } : null;
}

/** The identity of a problem at a subscriber: one case each. */
export function caseKey(subscriber: string, kind: FindingKind, port: number | null): string {
  return `${subscriber}\u0000${kind}\u0000${port ?? '-'}`;
}

/**
 * Whether a case is held back from alerts (the control group): a hash of its key, so the choice is
 * deterministic, reproducible and independent of arrival order, and about `share` of all cases.
 */
export function isControl(key: string, share: number, salt = 'iotclean-control'): boolean {
  if (share <= 0) return false;
  if (share >= 1) return true;
  // The first 32 bits of SHA-256 over salt + key: uniform, and the same on every machine.
  const h = createHash('sha256').update(`${salt}\u0000${key}`).digest().readUInt32BE(0);
  return h / 0x1_0000_0000 < share;
}

function invalid(c: Case, to: CaseState, why: string): IotcleanError {
  return new IotcleanError('E_ARGS', `case ${c.reference}: cannot go from ${c.state} to ${to}: ${why}`, {
    hint: `from ${c.state} a case may go to ${allowed[c.state].join(', ') || 'nothing'}; see iotclean isp cases ${c.reference}`,
  });
}

function move<C extends Case>(c: C, to: CaseState, step: CaseStep, extra: Partial<TrackedCase> = {}): C {
  const t: CaseTransition = { from: c.state, to, at: step.at, by: step.by, note: step.note ?? null };
  return { ...c, ...extra, state: to, updatedAt: step.at, transitions: [...c.transitions, t] };
}

/**
 * Move a case by hand or by a stage (acknowledged by the desk, persisting, escalated). Refused with
 * E_ARGS when the lifecycle does not allow it; `fixed` is refused here (only a re-scan fixes).
 */
export function transition<C extends Case>(c: C, to: CaseState, step: CaseStep): C {
  if (to === 'fixed') throw invalid(c, to, 'only a re-scan by the centre (a verification with present=false) marks a case fixed');
  if (to === 'alerted' || to === 're-alerted') throw invalid(c, to, 'alerts are recorded with recordAlert, which counts delivered ones');
  if (!canMove(c.state, to)) throw invalid(c, to, 'not a step of the case lifecycle');
  return move(c, to, step);
}

/** Input for a case opened from a matched finding. */
export interface OpenCase {
  readonly reference: string;
  readonly match: SubscriberMatch;
  readonly measure: Measure;
  readonly control: boolean;
  readonly ticket: string | null;
  readonly step: CaseStep;
  /** Routing's contact for isp-task / sier-notice (never the subscriber's address). */
  readonly contact?: string | null;
}

/** A finding key the case rests on: ticket, else kind@ip:port/period. */
function findingKey(m: SubscriberMatch, ticket: string | null): string {
  const f = m.finding;
  return ticket ?? `${f.kind}@${f.ip}:${f.port ?? '-'}/${f.period}`;
}

/** A new case for a matched finding (state `new`). */
export function openCase(o: OpenCase): TrackedCase {
  const f = o.match.finding;
  if (o.match.status !== 'matched' || o.match.subscriber === null) {
    throw new IotcleanError('E_FINDING', `finding ${f.kind} at ${f.ip}:${f.port ?? '-'} has no subscriber (${o.match.status}${o.match.reason ? `: ${o.match.reason}` : ''}); no case opened`, {
      hint: 'only matched findings become cases; see iotclean isp match for the unmatched ones',
    });
  }
  return {
    reference: o.reference,
    subscriber: o.match.subscriber,
    findingKind: f.kind,
    port: f.port,
    measure: o.measure,
    state: 'new',
    alertsDelivered: 0,
    device: f.device,
    tickets: [findingKey(o.match, o.ticket)],
    openedAt: o.step.at,
    updatedAt: o.step.at,
    transitions: [{ from: null, to: 'new', at: o.step.at, by: o.step.by, note: o.control ? 'control group: held back from alerts for the effect baseline' : null }],
    isp: f.isp,
    control: o.control,
    lastIp: f.ip,
    lastSeenAt: f.observedAt,
    contact: o.contact ?? null,
  };
}

/**
 * The same problem reported again for an existing case: the ticket is added, and a fixed case is
 * reopened as a reinfection (fixed → new). Other states are left as they are (the case goes on).
 */
export function seenAgain(c: TrackedCase, match: SubscriberMatch, ticket: string | null, step: CaseStep): TrackedCase {
  const key = findingKey(match, ticket);
  const tickets = c.tickets.includes(key) ? c.tickets : [...c.tickets, key];
  const seen = { tickets, lastIp: match.finding.ip, lastSeenAt: match.finding.observedAt, device: match.finding.device };
  if (c.state === 'fixed') return move(c, 'new', { ...step, note: step.note ?? 'reinfected: the problem was reported again after the fix' }, seen);
  return { ...c, ...seen, updatedAt: step.at };
}

/** The outcome of one attempt to send an alert (or task, or notice) for a case. */
export interface AlertOutcome {
  /** The SMTP server accepted the message (or a task file was written). */
  readonly delivered: boolean;
  readonly at: string;
  readonly by: string;
  readonly note?: string | null;
}

/**
 * Record an alert attempt. A delivered alert moves new → alerted, persisting/escalated →
 * re-alerted, and counts toward escalation; a failed one changes nothing but is kept by the store.
 */
export function recordAlert<C extends Case>(c: C, o: AlertOutcome): C {
  if (!o.delivered) return c;
  const to: CaseState = c.state === 'new' ? 'alerted' : 're-alerted';
  if (!canMove(c.state, to)) throw invalid(c, to, 'no alert is due in this state');
  return move({ ...c, alertsDelivered: c.alertsDelivered + 1 }, to, { at: o.at, by: o.by, note: o.note ?? null });
}

/** Options of applying a re-scan result. */
export interface VerifyOptions {
  /** Escalate a persisting case once this many alerts demonstrably reached the subscriber. */
  readonly escalateAfter: number;
  readonly by: string;
}

/**
 * Apply one re-scan result to its case. Gone (present=false): fixed (from any open state, control
 * cases included). Still there: alerted/acknowledged/re-alerted → persisting, then escalated once
 * `escalateAfter` delivered alerts did not help; a fixed case → reopened (reinfection); a `new`
 * case (control, or not yet alerted) stays new. Verifications older than the case are ignored.
 */
export function applyVerification(c: TrackedCase, v: Verification, o: VerifyOptions): TrackedCase {
  if (v.kind !== c.findingKind || (v.port ?? null) !== c.port) {
    throw new IotcleanError('E_INTERNAL', `verification ${v.kind}@${v.ip}:${v.port ?? '-'} applied to case ${c.reference} (${c.findingKind}:${c.port ?? '-'})`);
  }
  if (v.at < c.openedAt) return c;
  const note = `re-scan ${v.ip}:${v.port ?? '-'} at ${v.at}${v.ticket ? ` (${v.ticket})` : ''}: ${v.present ? 'still present' : 'gone'}`;
  const step = { at: v.at, by: o.by, note };
  const seen = v.present ? { lastIp: v.ip, lastSeenAt: v.at } : {};
  if (!v.present) return c.state === 'fixed' ? c : move(c, 'fixed', step, seen);
  switch (c.state) {
    case 'fixed':
      return move(c, 'new', { ...step, note: `reinfected: ${note}` }, seen);
    case 'new':
      return { ...c, ...seen };
    case 'alerted':
    case 'acknowledged':
    case 're-alerted': {
      const p = move(c, 'persisting', step, seen);
      return p.alertsDelivered >= o.escalateAfter ? move(p, 'escalated', { ...step, note: `${p.alertsDelivered} delivered alert(s) did not help` }) : p;
    }
    case 'persisting':
      return c.alertsDelivered >= o.escalateAfter ? move(c, 'escalated', { ...step, note: `${c.alertsDelivered} delivered alert(s) did not help; ${note}` }, seen) : { ...c, ...seen };
    case 'escalated':
      return { ...c, ...seen };
  }
}

/** When the last delivered alert went out, or null. */
export function lastAlertAt(c: Case): string | null {
  for (let i = c.transitions.length - 1; i >= 0; i--) {
    const t = c.transitions[i]!;
    if (t.to === 'alerted' || t.to === 're-alerted') return t.at;
  }
  return null;
}

/** When a case first went out (first delivered alert), or null. */
export function firstAlertAt(c: Case): string | null {
  return c.transitions.find((t) => t.to === 'alerted')?.at ?? null;
}

/** When it was first verified fixed, or null. */
export function firstFixedAt(c: Case): string | null {
  return c.transitions.find((t) => t.to === 'fixed')?.at ?? null;
}

/** How many times it was reopened after a fix. */
export function reinfections(c: Case): number {
  return c.transitions.filter((t) => t.from === 'fixed' && t.to === 'new').length;
}

/** How long control cases are held back before they too are alerted (the longest curve point). */
export const defaultControlHoldMs = 30 * 86_400_000;

/**
 * Whether a case should get an alert now: a `new` case at once (a control case only once it has
 * been held back `controlHoldMs`: the baseline needs "found but not yet notified", not "never
 * told"); a persisting or escalated one when its last delivered alert is at least
 * `reAlertAfterMs` old.
 */
export function alertDue(c: TrackedCase, now: string, reAlertAfterMs: number, controlHoldMs = defaultControlHoldMs): boolean {
  if (c.state === 'new') return !c.control || Date.parse(now) - Date.parse(c.openedAt) >= controlHoldMs;
  if (c.state !== 'persisting' && c.state !== 'escalated') return false;
  const last = lastAlertAt(c);
  return last === null || Date.parse(now) - Date.parse(last) >= reAlertAfterMs;
}
