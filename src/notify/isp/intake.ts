/**
 * Taking matched findings in as cases: one case per subscriber + problem (kind, port). A new
 * problem opens a case (a deterministic share held back as the effect baseline's control group);
 * the same problem again adds its ticket; a fixed case seen again is reopened as a reinfection.
 * Unmatched and ambiguous matches open nothing and are returned with their reason.
 */
import type { Store } from '../../store/store.js';
import { caseKey, isControl, openCase, seenAgain, type CaseStep } from './cases.js';
import type { Measure, SubscriberMatch } from './types.js';

/** A match with the measure routing chose for it (src/notify/isp/route.ts) and its contact. */
export interface RoutedMatch {
  readonly match: SubscriberMatch;
  readonly measure: Measure;
  /** Ops queue (isp-task) or SIer address (sier-notice); null for subscriber alerts. */
  readonly contact: string | null;
  /** The centre's batch ticket the finding came in. */
  readonly ticket: string | null;
}

export interface IntakeOptions {
  readonly step: CaseStep;
  /**
   * Share of new cases held back from alerts as the baseline (0 … 0.5). The choice is a hash of
   * the case key (./cases.ts isControl), so it is reproducible and blind to everything else.
   */
  readonly controlShare: number;
}

export interface IntakeResult {
  readonly opened: readonly string[];
  readonly control: readonly string[];
  readonly updated: readonly string[];
  readonly reopened: readonly string[];
  readonly skipped: readonly { readonly ip: string; readonly port: number | null; readonly kind: string; readonly reason: string }[];
}

/** Open or update the cases of a batch of routed matches (one store write per case touched). */
export async function intakeMatches(store: Store, routed: readonly RoutedMatch[], o: IntakeOptions): Promise<IntakeResult> {
  const opened: string[] = [];
  const control: string[] = [];
  const updated: string[] = [];
  const reopened: string[] = [];
  const skipped: IntakeResult['skipped'][number][] = [];
  const year = new Date(o.step.at).getUTCFullYear();
  for (const r of routed) {
    const f = r.match.finding;
    if (r.match.status !== 'matched' || r.match.subscriber === null) {
      skipped.push({ ip: f.ip, port: f.port, kind: f.kind, reason: `${r.match.status}: ${r.match.reason ?? 'no subscriber'}` });
      continue;
    }
    const existing = await store.cases.find(r.match.subscriber, f.kind, f.port);
    if (existing) {
      const next = seenAgain(existing, r.match, r.ticket, o.step);
      await store.cases.save(next);
      (next.state === 'new' && existing.state === 'fixed' ? reopened : updated).push(existing.reference);
      continue;
    }
    // Subscriber alerts only: ISP tasks and SIer notices are not part of the subscriber experiment.
    const held = r.measure === 'subscriber-alert' && isControl(caseKey(r.match.subscriber, f.kind, f.port), o.controlShare);
    const reference = await store.cases.nextReference(year);
    await store.cases.save(openCase({ reference, match: r.match, measure: r.measure, control: held, ticket: r.ticket, step: o.step, contact: r.contact }));
    opened.push(reference);
    if (held) control.push(reference);
  }
  return { opened, control, updated, reopened, skipped };
}
