/** The remediation curve on hand-made cases: groups, censoring, fixed-by-day, lift, reinfection, the text table. */
import { describe, expect, it } from 'vitest';
import { applyVerification, openCase, recordAlert, type TrackedCase } from './cases.js';
import { computeEffect, effectText } from './effect.js';
import { testFinding, testMatch } from './test-support.js';

const day = (n: number) => new Date(Date.parse('2026-12-01T00:00:00.000Z') + n * 86_400_000).toISOString();
const by = { escalateAfter: 9, by: 'v' };

function mk(i: number, opts: { control?: boolean; alerted?: boolean; fixedOn?: number; reinfectOn?: number; opened?: number; model?: string }): TrackedCase {
  const opened = opts.opened ?? 0;
  const f = testFinding(`127.104.0.${i}`, 23, day(opened), { device: { type: 'camera', vendor: 'Cam', model: opts.model ?? 'C1', firmware: null } });
  let c = openCase({ reference: `IOTC-2026-${String(i).padStart(6, '0')}`, match: testMatch(`s${i}`, f), measure: 'subscriber-alert', control: opts.control ?? false, ticket: null, step: { at: day(opened), by: 't' } });
  if (opts.alerted ?? !opts.control) c = recordAlert(c, { delivered: true, at: day(opened), by: 'a' });
  const v = (d: number, present: boolean) => ({ kind: c.findingKind, ip: c.lastIp, port: c.port, at: day(d), present, ticket: null });
  if (opts.fixedOn !== undefined) c = applyVerification(c, v(opts.fixedOn, false), by);
  if (opts.reinfectOn !== undefined) c = applyVerification(c, v(opts.reinfectOn, true), by);
  return c;
}

describe('effect', () => {
  it('computes shares per day with censoring, lift and reinfection', () => {
    const cases = [
      mk(1, { fixedOn: 5 }),
      mk(2, { fixedOn: 10, reinfectOn: 20 }),
      mk(3, {}),
      mk(4, { fixedOn: 23, opened: 20 }), // open only 20 days at asOf: counts at 7 and 14, not 30
      mk(5, { control: true, fixedOn: 12 }),
      mk(6, { control: true }),
      mk(7, { alerted: false }), // never delivered: in neither group
      mk(8, { fixedOn: 6, model: 'C2' }),
    ];
    const r = computeEffect(cases, { asOf: day(40) });
    expect(r.excluded).toBe(1);
    const all = r.rows.find((x) => x.dimension === 'all')!;
    expect(all.notified.cases).toBe(5);
    expect(all.notified.points).toEqual([
      { days: 7, eligible: 5, fixed: 3, share: 0.6 },
      { days: 14, eligible: 5, fixed: 4, share: 0.8 },
      { days: 30, eligible: 4, fixed: 3, share: 0.75 },
    ]);
    expect(all.baseline.points.map((p) => p.share)).toEqual([0, 0.5, 0.5]);
    expect(all.lift[0]).toBeCloseTo(0.6);
    expect(all.lift[2]).toBeCloseTo(0.25);
    expect(all.notified.everFixed).toBe(4);
    expect(all.notified.reinfected).toBe(1);
    expect(all.notified.reinfectionRate).toBe(0.25);
    const models = r.rows.filter((x) => x.dimension === 'model');
    expect(models.map((m) => [m.value, m.notified.cases])).toEqual([
      ['Cam C1', 4],
      ['Cam C2', 1],
    ]);
    // No control case of model C2: its baseline is empty and its lift unknown.
    expect(models[1]!.baseline.points[0]!.share).toBeNull();
    expect(models[1]!.lift[0]).toBeNull();
    const text = effectText(r);
    expect(text).toContain('60.0% (3/5)');
    expect(text).toContain('1 case(s) neither notified nor control');
  });

  it('drops a control case from the baseline once it has been alerted (its hold is over)', () => {
    const c = recordAlert(mk(20, { control: true, alerted: false }), { delivered: true, at: day(30), by: 'a' });
    const fixed = applyVerification(c, { kind: c.findingKind, ip: c.lastIp, port: c.port, at: day(35), present: false, ticket: null }, by);
    const r = computeEffect([fixed], { asOf: day(90), days: [30, 60] });
    const all = r.rows.find((x) => x.dimension === 'all')!;
    expect(all.baseline.points).toEqual([
      { days: 30, eligible: 1, fixed: 0, share: 0 },
      { days: 60, eligible: 0, fixed: 0, share: null },
    ]);
    expect(all.notified.cases).toBe(0);
  });

  it('handles no cases at all', () => {
    const r = computeEffect([], { asOf: day(1) });
    expect(r.rows).toEqual([]);
    expect(effectText(r)).toContain('as of');
  });
});
