/** The case lifecycle: allowed and refused moves, fixed only by a re-scan, escalation, reinfection, references, control split. */
import { describe, expect, it } from 'vitest';
import { IotcleanError } from '../../core/errors.js';
import {
  alertDue,
  applyVerification,
  canMove,
  caseKey,
  firstFixedAt,
  formatReference,
  isControl,
  openCase,
  parseReference,
  recordAlert,
  reinfections,
  seenAgain,
  transition,
  type TrackedCase,
} from './cases.js';
import { testFinding, testMatch } from './test-support.js';
import type { Verification } from './types.js';

const t0 = '2026-12-01T00:00:00.000Z';
const day = (n: number) => new Date(Date.parse(t0) + n * 86_400_000).toISOString();
const finding = testFinding('127.100.0.5', 23, t0);
const fresh = (control = false): TrackedCase =>
  openCase({ reference: 'IOTC-2026-000001', match: testMatch('sub-1', finding), measure: 'subscriber-alert', control, ticket: 'T-1', step: { at: t0, by: 'test' } });
const v = (at: string, present: boolean): Verification => ({ kind: 'weak-credential', ip: '127.100.0.5', port: 23, at, present, ticket: 'R-1' });
const opts = { escalateAfter: 2, by: 'iotclean isp verify' };

describe('case lifecycle', () => {
  it('opens new with a timestamped first transition naming who opened it', () => {
    const c = fresh();
    expect(c.state).toBe('new');
    expect(c.transitions).toEqual([{ from: null, to: 'new', at: t0, by: 'test', note: null }]);
    expect(c.tickets).toEqual(['T-1']);
  });

  it('refuses to open a case for an unmatched finding', () => {
    const m = { finding, status: 'unmatched' as const, subscriber: null, candidates: [], reason: 'no session' };
    expect(() => openCase({ reference: 'IOTC-2026-000002', match: m, measure: 'subscriber-alert', control: false, ticket: null, step: { at: t0, by: 't' } })).toThrow(/no subscriber/);
  });

  it('goes new → alerted → acknowledged → fixed, fixed only through a re-scan', () => {
    let c = recordAlert(fresh(), { delivered: true, at: day(0), by: 'iotclean isp alert' });
    expect(c.state).toBe('alerted');
    expect(c.alertsDelivered).toBe(1);
    c = transition(c, 'acknowledged', { at: day(1), by: 'desk:tanaka', note: 'called the support desk' });
    expect(() => transition(c, 'fixed', { at: day(2), by: 'desk:tanaka' })).toThrow(/only a re-scan/);
    c = applyVerification(c, v(day(7), false), opts);
    expect(c.state).toBe('fixed');
    expect(firstFixedAt(c)).toBe(day(7));
    expect(c.transitions.map((t) => `${t.from}>${t.to}:${t.by}`)).toEqual(['null>new:test', 'new>alerted:iotclean isp alert', 'alerted>acknowledged:desk:tanaka', 'acknowledged>fixed:iotclean isp verify']);
  });

  it('refuses invalid moves with an error naming the case, the states and what is allowed', () => {
    const c = fresh();
    try {
      transition(c, 'acknowledged', { at: t0, by: 't' });
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(IotcleanError);
      expect((e as IotcleanError).message).toContain('IOTC-2026-000001: cannot go from new to acknowledged');
      expect((e as IotcleanError).where.hint).toContain('alerted, fixed');
    }
    expect(() => transition(c, 'alerted', { at: t0, by: 't' })).toThrow(/recordAlert/);
    expect(canMove('fixed', 'alerted')).toBe(false);
  });

  it('a failed delivery changes nothing; persisting → re-alerted → escalated after N delivered alerts', () => {
    let c = recordAlert(fresh(), { delivered: false, at: day(0), by: 'a' });
    expect(c.state).toBe('new');
    c = recordAlert(c, { delivered: true, at: day(0), by: 'a' });
    c = applyVerification(c, v(day(7), true), opts);
    expect(c.state).toBe('persisting');
    expect(alertDue(c, day(8), 10 * 86_400_000)).toBe(false);
    expect(alertDue(c, day(10), 10 * 86_400_000)).toBe(true);
    c = recordAlert(c, { delivered: true, at: day(10), by: 'a' });
    expect(c.state).toBe('re-alerted');
    c = applyVerification(c, v(day(14), true), opts);
    expect(c.state).toBe('escalated');
    expect(c.transitions.at(-1)!.note).toContain('2 delivered alert(s)');
  });

  it('reopens a fixed case whose problem reappears and counts the reinfection', () => {
    let c = recordAlert(fresh(), { delivered: true, at: day(0), by: 'a' });
    c = applyVerification(c, v(day(7), false), opts);
    c = applyVerification(c, v(day(14), true), opts);
    expect(c.state).toBe('new');
    expect(reinfections(c)).toBe(1);
    c = applyVerification(c, v(day(21), false), opts);
    c = seenAgain(c, testMatch('sub-1', testFinding('127.100.0.9', 23, day(40))), 'T-2', { at: day(41), by: 'iotclean isp alert' });
    expect(c.state).toBe('new');
    expect(reinfections(c)).toBe(2);
    expect(c.tickets).toEqual(['T-1', 'T-2']);
    expect(c.lastIp).toBe('127.100.0.9');
  });

  it('control cases are held back for the hold period only, and a re-scan can fix them', () => {
    let c = fresh(true);
    expect(alertDue(c, day(1), 0)).toBe(false);
    expect(alertDue(c, day(29.9), 0)).toBe(false);
    expect(alertDue(c, day(30), 0)).toBe(true);
    expect(alertDue(c, day(5), 0, 5 * 86_400_000)).toBe(true);
    c = applyVerification(c, v(day(7), true), opts);
    expect(c.state).toBe('new');
    c = applyVerification(c, v(day(14), false), opts);
    expect(c.state).toBe('fixed');
  });

  it('ignores re-scans older than the case', () => {
    const c = fresh();
    expect(applyVerification(c, v('2026-11-01T00:00:00.000Z', false), opts)).toBe(c);
  });
});

describe('references and control split', () => {
  it('formats and parses IOTC-YYYY-NNNNNN', () => {
    expect(formatReference(2026, 123)).toBe('IOTC-2026-000123');
    expect(parseReference(' IOTC-2026-000123 ')).toEqual({ year: 2026, n: 123 });
    expect(parseReference('IOTC-26-1')).toBeNull();
    expect(() => formatReference(2026, 0)).toThrow();
  });

  it('holds back about the configured share, deterministically', () => {
    const keys = Array.from({ length: 20_000 }, (_, i) => caseKey(`sub-${i}`, 'weak-credential', 23));
    const held = keys.filter((k) => isControl(k, 0.2)).length;
    expect(held / keys.length).toBeGreaterThan(0.18);
    expect(held / keys.length).toBeLessThan(0.22);
    expect(keys.filter((k) => isControl(k, 0.2)).length).toBe(held);
    expect(isControl(keys[0]!, 0)).toBe(false);
    expect(isControl(keys[0]!, 1)).toBe(true);
  });
});
