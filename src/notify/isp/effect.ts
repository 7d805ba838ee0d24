/**
 * Effect measurement: the remediation curve — the share of notified cases verified fixed (by the
 * centre's re-scan) within 7, 14 and 30 days — per ISP, device model, finding kind and measure,
 * against a baseline, plus the reinfection rate.
 *
 * Why a baseline: devices get cleaned up without any notification (reboots wipe Mirai, addresses
 * churn, owners replace devices). Çetin et al., "Cleaning Up the Internet of Evil Things:
 * Real-World Evidence on ISP and Consumer Efforts to Remove Mirai", NDSS 2019, saw 58–74% of
 * infected devices in their control group clean up with no notice at all, against 92% within 14
 * days for a walled garden; a curve without a control group would credit the alerts with that
 * natural clean-up.
 *
 * Method (documented so others can reproduce it):
 * - Control group: a fixed share of subscriber-alert cases (--control-share) is held back from
 *   alerts when the case is opened, for a bounded time only (30 days by default, the longest curve
 *   point; then they are alerted like the others: nobody is left untold). The choice is the first 32 bits of SHA-256 over the case key
 *   (subscriber, kind, port) compared with the share (./cases.ts isControl): deterministic, blind
 *   to the device and the subscriber's history, and the same on every run.
 * - Notified group: non-control cases with at least one delivered alert. Cases never delivered
 *   (no address, bounced) are in neither group.
 * - Clock: days since the case was opened (the ISP received the finding), for both groups alike.
 * - A case counts at day d only once it has been open d days at `asOf` (right-censoring): the
 *   share's denominator is `eligible`, not all cases. A control case counts at day d only while it
 *   was still un-notified through day d (points past the hold have no baseline).
 * - Fixed by day d: its first transition to `fixed` (a re-scan saw the problem gone) at or before
 *   openedAt + d. A later reinfection does not undo that fix; it is counted in the reinfection rate
 *   (reinfected / ever fixed).
 */
import { firstAlertAt, firstFixedAt, reinfections, type TrackedCase } from './cases.js';

export const defaultEffectDays: readonly number[] = [7, 14, 30];

/** One point of a curve. `share` is null when no case was eligible yet. */
export interface CurvePoint {
  readonly days: number;
  readonly eligible: number;
  readonly fixed: number;
  readonly share: number | null;
}

export interface GroupCurve {
  readonly cases: number;
  readonly points: readonly CurvePoint[];
  readonly everFixed: number;
  readonly reinfected: number;
  readonly reinfectionRate: number | null;
}

export const effectDimensions = ['all', 'isp', 'model', 'kind', 'measure'] as const;
export type EffectDimension = (typeof effectDimensions)[number];

export interface EffectRow {
  readonly dimension: EffectDimension;
  readonly value: string;
  readonly notified: GroupCurve;
  readonly baseline: GroupCurve;
  /** notified share − baseline share per point (null when either is null). */
  readonly lift: readonly (number | null)[];
}

export interface EffectReport {
  readonly asOf: string;
  readonly days: readonly number[];
  /** Cases in neither group (never delivered, not control). */
  readonly excluded: number;
  readonly rows: readonly EffectRow[];
}

const dayMs = 86_400_000;

function curve(cases: readonly TrackedCase[], asOf: number, days: readonly number[], baseline: boolean): GroupCurve {
  const points = days.map((d) => {
    let eligible = 0;
    let fixed = 0;
    for (const c of cases) {
      const opened = Date.parse(c.openedAt);
      if (opened + d * dayMs > asOf) continue;
      if (baseline) {
        // Alerted once its hold ended: from then on it is no longer a baseline case.
        const alerted = firstAlertAt(c);
        if (alerted !== null && Date.parse(alerted) < opened + d * dayMs) continue;
      }
      eligible++;
      const f = firstFixedAt(c);
      if (f !== null && Date.parse(f) <= opened + d * dayMs) fixed++;
    }
    return { days: d, eligible, fixed, share: eligible ? fixed / eligible : null };
  });
  const everFixed = cases.filter((c) => firstFixedAt(c) !== null).length;
  const reinfected = cases.filter((c) => reinfections(c) > 0).length;
  return { cases: cases.length, points, everFixed, reinfected, reinfectionRate: everFixed ? reinfected / everFixed : null };
}

function valueOf(c: TrackedCase, d: EffectDimension): string {
  switch (d) {
    case 'all':
      return 'all';
    case 'isp':
      return c.isp ?? '(unknown)';
    case 'model':
      return [c.device.vendor, c.device.model].filter(Boolean).join(' ') || '(unidentified)';
    case 'kind':
      return c.findingKind;
    case 'measure':
      return c.measure;
  }
}

/** The curves of a set of cases as of a time, overall and per dimension value. */
export function computeEffect(cases: readonly TrackedCase[], options: { readonly asOf: string; readonly days?: readonly number[] }): EffectReport {
  const asOf = Date.parse(options.asOf);
  const days = options.days ?? defaultEffectDays;
  const notified = cases.filter((c) => !c.control && firstAlertAt(c) !== null);
  const baseline = cases.filter((c) => c.control);
  const rows: EffectRow[] = [];
  for (const dim of effectDimensions) {
    const values = [...new Set([...notified, ...baseline].map((c) => valueOf(c, dim)))].sort();
    for (const value of values) {
      const n = curve(notified.filter((c) => valueOf(c, dim) === value), asOf, days, false);
      const b = curve(baseline.filter((c) => valueOf(c, dim) === value), asOf, days, true);
      const lift = n.points.map((p, i) => {
        const q = b.points[i]!.share;
        return p.share === null || q === null ? null : p.share - q;
      });
      rows.push({ dimension: dim, value, notified: n, baseline: b, lift });
    }
  }
  return { asOf: new Date(asOf).toISOString(), days, excluded: cases.length - notified.length - baseline.length, rows };
}

const pct = (x: number | null) => (x === null ? '—' : `${(x * 100).toFixed(1)}%`);
const signedPct = (x: number | null) => (x === null ? '—' : `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)}`);

/** The report as a text table for people. */
export function effectText(r: EffectReport): string {
  const head = ['dimension', 'value', 'notified', ...r.days.map((d) => `fixed≤${d}d`), 'baseline', ...r.days.map((d) => `base≤${d}d`), ...r.days.map((d) => `lift${d}d`), 'reinfected'];
  const rows = r.rows.map((row) => [
    row.dimension,
    row.value,
    String(row.notified.cases),
    ...row.notified.points.map((p) => `${pct(p.share)} (${p.fixed}/${p.eligible})`),
    String(row.baseline.cases),
    ...row.baseline.points.map((p) => `${pct(p.share)} (${p.fixed}/${p.eligible})`),
    ...row.lift.map(signedPct),
    pct(row.notified.reinfectionRate),
  ]);
  const all = [head, ...rows];
  const widths = head.map((_, i) => Math.max(...all.map((x) => [...x[i]!].length)));
  const lines = all.map((x) => x.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd());
  lines.push('', `as of ${r.asOf}; share of cases verified fixed by a re-scan within N days of the case opening (eligible: open at least N days)`);
  lines.push(`baseline: control group held back from alerts (deterministic hash split); ${r.excluded} case(s) neither notified nor control; method: src/notify/isp/effect.ts`);
  return lines.join('\n');
}
