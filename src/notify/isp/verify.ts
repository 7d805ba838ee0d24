/**
 * Applying the centre's re-scans (Verification records: ip, port, kind, at, present) to cases. The
 * address is matched to a subscriber through the ISP's own matcher, passed in as `resolve` (the
 * session-log matcher of src/notify/isp/match.ts, or lastSeenResolver below), because the address a
 * device had when it was reported may belong to someone else by the time of the re-scan. Gone:
 * the case is fixed. Still there: persisting, and escalated after N delivered alerts; the next
 * `sendDueAlerts` re-alerts persisting cases once the configured wait has passed.
 */
import type { Store } from '../../store/store.js';
import { applyVerification } from './cases.js';
import type { CaseState, Verification } from './types.js';

/** Who held `ip` (and `port`, behind CGNAT) at `at`, or null. */
export type Resolve = (ip: string, at: string, port: number | null) => string | null | Promise<string | null>;

export interface VerifyOptions {
  readonly resolve: Resolve;
  /** Escalate once this many alerts demonstrably reached the subscriber and the problem stayed. */
  readonly escalateAfter: number;
  readonly by: string;
}

export interface VerifyResult {
  readonly applied: readonly { readonly reference: string; readonly from: CaseState; readonly to: CaseState; readonly present: boolean }[];
  readonly unmatched: readonly { readonly verification: Verification; readonly reason: string }[];
}

/**
 * A resolver from the store alone: the subscriber whose case last saw this problem at this
 * address. Good enough where addresses are static; with DHCP or CGNAT pass the session matcher.
 */
export function lastSeenResolver(store: Store): Resolve {
  return async (ip) => {
    const cases = await store.cases.byLastIp(ip);
    const subscribers = [...new Set(cases.map((c) => c.subscriber))];
    return subscribers.length === 1 ? subscribers[0]! : null;
  };
}

/** Apply re-scan results in time order; each is kept with its case as evidence. */
export async function applyVerifications(store: Store, verifications: readonly Verification[], o: VerifyOptions): Promise<VerifyResult> {
  const applied: VerifyResult['applied'][number][] = [];
  const unmatched: VerifyResult['unmatched'][number][] = [];
  const ordered = [...verifications].sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
  for (const v of ordered) {
    const subscriber = await o.resolve(v.ip, v.at, v.port);
    if (subscriber === null) {
      unmatched.push({ verification: v, reason: `no single subscriber held ${v.ip}${v.port === null ? '' : `:${v.port}`} at ${v.at}` });
      continue;
    }
    const c = await store.cases.find(subscriber, v.kind, v.port);
    if (!c) {
      unmatched.push({ verification: v, reason: `subscriber ${subscriber} has no ${v.kind} case on port ${v.port ?? '-'}` });
      continue;
    }
    await store.cases.recordVerification(c.reference, v);
    const next = applyVerification(c, v, { escalateAfter: o.escalateAfter, by: o.by });
    if (next !== c) await store.cases.save(next);
    applied.push({ reference: c.reference, from: c.state, to: next.state, present: v.present });
  }
  return { applied, unmatched };
}
