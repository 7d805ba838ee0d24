/**
 * Simulated device owners for the lab's ISP loop (survey → notify → alert → re-scan → curve): each
 * owner fixes, ignores, or fixes and is then reinfected, with configurable probabilities, over
 * simulated weeks; un-notified (control) devices clean up on their own at the natural rate. The
 * output is what the centre's weekly re-scans would see: Verification records. Seeded, and each
 * device draws from its own stream (seed + endpoint), so adding a device changes no other's fate.
 * The behaviour drawn is returned as ground truth, which detection and effect code never read.
 */
import { createRng } from '../core/rng.js';
import type { FindingKind } from '../core/records.js';
import type { Verification } from '../notify/isp/types.js';

/** How owners behave. Probabilities are per device over the whole simulation. */
export interface OwnerModel {
  /** A notified owner fixes for good. */
  readonly fix: number;
  /** A notified owner fixes, and the device is reinfected (weak password kept, Mirai back). */
  readonly fixThenReinfect: number;
  /** A device nobody notified gets clean anyway (reboot, replacement, churn) within the horizon. */
  readonly natural: number;
  /** Notified owners who act do so within this many weeks of the alert (uniformly). */
  readonly fixWithinWeeks: number;
  /** Reinfection comes this many weeks after the fix at most (uniformly, at least a day). */
  readonly reinfectWithinWeeks: number;
}

/** Defaults in the range Çetin et al. (NDSS 2019) report; the lab may change them. */
export const defaultOwnerModel: OwnerModel = { fix: 0.55, fixThenReinfect: 0.1, natural: 0.3, fixWithinWeeks: 2, reinfectWithinWeeks: 2 };

/** One problem device as the simulation sees it. */
export interface SimDevice {
  readonly ip: string;
  readonly port: number | null;
  readonly kind: FindingKind;
  /** When its owner was alerted, or (control) when it would have been. */
  readonly since: string;
  readonly notified: boolean;
}

export type OwnerBehaviour = 'fix' | 'fix-then-reinfect' | 'ignore' | 'natural-fix';

export interface OwnerTruth {
  readonly ip: string;
  readonly port: number | null;
  readonly kind: FindingKind;
  readonly behaviour: OwnerBehaviour;
  readonly fixedAt: string | null;
  readonly reinfectedAt: string | null;
}

export interface OwnerSimOptions {
  readonly seed: string | number;
  /** Re-scans happen weekly after `since`, this many times. */
  readonly weeks: number;
  readonly model?: OwnerModel;
}

const dayMs = 86_400_000;
const weekMs = 7 * dayMs;

function checkModel(m: OwnerModel): void {
  const probs = [m.fix, m.fixThenReinfect, m.natural];
  if (probs.some((p) => !(p >= 0 && p <= 1)) || m.fix + m.fixThenReinfect > 1 || !(m.fixWithinWeeks > 0) || !(m.reinfectWithinWeeks > 0)) {
    throw new RangeError(`owner model out of range: ${JSON.stringify(m)} (probabilities 0..1, fix + fixThenReinfect ≤ 1, weeks > 0)`);
  }
}

/**
 * Simulate owners over `weeks` weekly re-scans. Returns the re-scans in time order and the truth.
 * The number of records is devices × weeks, so a caller bounds both.
 */
export function simulateOwners(devices: readonly SimDevice[], o: OwnerSimOptions): { readonly verifications: Verification[]; readonly truth: OwnerTruth[] } {
  const m = o.model ?? defaultOwnerModel;
  checkModel(m);
  if (!Number.isInteger(o.weeks) || o.weeks < 1 || o.weeks > 520) throw new RangeError(`weeks must be a whole number 1..520, not ${o.weeks}`);
  const verifications: Verification[] = [];
  const truth: OwnerTruth[] = [];
  for (const d of devices) {
    const rng = createRng(`${o.seed}\u0000${d.kind}\u0000${d.ip}\u0000${d.port ?? '-'}`);
    const since = Date.parse(d.since);
    const roll = rng.next();
    let behaviour: OwnerBehaviour;
    let fixedAt: number | null = null;
    let reinfectedAt: number | null = null;
    if (d.notified) {
      behaviour = roll < m.fix ? 'fix' : roll < m.fix + m.fixThenReinfect ? 'fix-then-reinfect' : 'ignore';
      if (behaviour !== 'ignore') fixedAt = since + rng.next() * m.fixWithinWeeks * weekMs;
      if (behaviour === 'fix-then-reinfect') reinfectedAt = fixedAt! + dayMs + rng.next() * (m.reinfectWithinWeeks * weekMs - dayMs);
    } else {
      behaviour = roll < m.natural ? 'natural-fix' : 'ignore';
      if (behaviour === 'natural-fix') fixedAt = since + rng.next() * o.weeks * weekMs;
    }
    truth.push({ ip: d.ip, port: d.port, kind: d.kind, behaviour, fixedAt: fixedAt === null ? null : new Date(fixedAt).toISOString(), reinfectedAt: reinfectedAt === null ? null : new Date(reinfectedAt).toISOString() });
    for (let w = 1; w <= o.weeks; w++) {
      const at = since + w * weekMs;
      const clean = fixedAt !== null && fixedAt <= at && !(reinfectedAt !== null && reinfectedAt <= at);
      verifications.push({ kind: d.kind, ip: d.ip, port: d.port, at: new Date(at).toISOString(), present: !clean, ticket: `rescan-w${w}` });
    }
  }
  verifications.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
  return { verifications, truth };
}
