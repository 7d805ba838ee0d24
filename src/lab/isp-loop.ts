/**
 * The ISP side of the lab loop, for the demo: after the survey's findings became cases and the
 * first alerts went out, simulated owners (./owners.ts) act week by week; each week the centre's
 * re-scan results are applied (fixed, persisting, escalated, reinfected), then what is due is
 * alerted again; at the end the remediation curve is computed. The caller passes how to alert
 * (sendDueAlerts with its transport) and the ISP's matcher, so this module sends nothing itself.
 */
import { computeEffect, type EffectReport } from '../notify/isp/effect.js';
import { applyVerifications, type Resolve } from '../notify/isp/verify.js';
import type { Store } from '../store/store.js';
import { simulateOwners, type OwnerModel, type OwnerTruth } from './owners.js';

export interface IspLoopOptions {
  /** When the first alerts went out; weekly re-scans follow. */
  readonly start: string;
  readonly weeks: number;
  readonly seed: string | number;
  readonly model?: OwnerModel;
  readonly escalateAfter: number;
  readonly resolve: Resolve;
  /** Send what is due at a time (re-alerts of persisting cases, control cases after their hold). */
  readonly alert: (now: string) => Promise<unknown>;
}

export interface IspLoopResult {
  readonly effect: EffectReport;
  readonly truth: readonly OwnerTruth[];
  readonly rescans: number;
  readonly unmatched: number;
}

const weekMs = 7 * 86_400_000;

/** Run the weeks; the owners are the store's cases at the start (notified = not control). */
export async function runIspLoop(store: Store, o: IspLoopOptions): Promise<IspLoopResult> {
  const cases = await store.cases.list();
  const devices = cases.map((c) => ({ ip: c.lastIp, port: c.port, kind: c.findingKind, since: o.start, notified: !c.control }));
  const sim = simulateOwners(devices, { seed: o.seed, weeks: o.weeks, ...(o.model ? { model: o.model } : {}) });
  const start = Date.parse(o.start);
  let unmatched = 0;
  for (let w = 1; w <= o.weeks; w++) {
    const at = new Date(start + w * weekMs).toISOString();
    const week = sim.verifications.filter((v) => v.at === at);
    const r = await applyVerifications(store, week, { resolve: o.resolve, escalateAfter: o.escalateAfter, by: 'lab re-scan' });
    unmatched += r.unmatched.length;
    // Re-alerts go out an hour after the re-scan.
    await o.alert(new Date(start + w * weekMs + 3_600_000).toISOString());
  }
  const effect = computeEffect(await store.cases.list(), { asOf: new Date(start + o.weeks * weekMs + 86_400_000).toISOString() });
  return { effect, truth: sim.truth, rescans: sim.verifications.length, unmatched };
}
