/**
 * The loop the demo runs — cases → alerts → simulated owners → weekly re-scans → curve — on a real
 * store: with fix probability p the notified curve lands near p's expectation and above the
 * baseline; reinfections are counted; the simulation is reproducible from its seed.
 */
import { describe, expect, it } from 'vitest';
import { loadAlertTemplates, manualBaseUrl, sendDueAlerts, type AlertRunOptions, type AlertTransport } from '../notify/isp/alerts.js';
import { effectText } from '../notify/isp/effect.js';
import { runIspLoop } from './isp-loop.js';
import { intakeMatches, type RoutedMatch } from '../notify/isp/intake.js';
import { testFinding, testMatch } from '../notify/isp/test-support.js';
import { openStore } from '../store/open.js';
import { simulateOwners, type OwnerModel, type SimDevice } from './owners.js';

const t0 = '2026-12-01T00:00:00.000Z';
const model: OwnerModel = { fix: 0.6, fixThenReinfect: 0.1, natural: 0.3, fixWithinWeeks: 1, reinfectWithinWeeks: 2 };

/** Accepts everything, in memory: the SMTP path itself is tested in src/notify/isp/alerts.test.ts. */
const accepting: AlertTransport = { channel: 'smtp', send: async () => ({ delivered: true, response: '250 accepted (test)', messageId: null }), close() {} };

describe('owner simulation', () => {
  it('is reproducible and follows the model', () => {
    const devices: SimDevice[] = Array.from({ length: 4000 }, (_, i) => ({ ip: `127.102.${i >> 8}.${i & 255}`, port: 23, kind: 'weak-credential', since: t0, notified: i % 2 === 0 }));
    const a = simulateOwners(devices, { seed: 7, weeks: 6, model });
    const b = simulateOwners(devices, { seed: 7, weeks: 6, model });
    expect(a).toEqual(b);
    expect(a.verifications.length).toBe(4000 * 6);
    const notified = a.truth.filter((_, i) => i % 2 === 0);
    const share = (k: string) => notified.filter((t) => t.behaviour === k).length / notified.length;
    expect(share('fix')).toBeGreaterThan(0.56);
    expect(share('fix')).toBeLessThan(0.64);
    expect(share('fix-then-reinfect')).toBeGreaterThan(0.08);
    expect(share('fix-then-reinfect')).toBeLessThan(0.12);
    expect(simulateOwners(devices, { seed: 8, weeks: 6, model }).truth).not.toEqual(a.truth);
    expect(() => simulateOwners(devices, { seed: 1, weeks: 0 })).toThrow(RangeError);
  });

  it('runs the loop: the notified curve is near p and above the baseline', { timeout: 120_000 }, async () => {
    const store = await openStore(':memory:');
    try {
      const n = 800;
      const routed: RoutedMatch[] = Array.from({ length: n }, (_, i) => ({
        match: testMatch(`sub-${i}`, testFinding(`127.103.${i >> 8}.${i & 255}`, 23, t0, { isp: i % 2 ? 'isp-a' : 'isp-b' })),
        measure: 'subscriber-alert',
        contact: null,
        ticket: 'T',
      }));
      const intake = await intakeMatches(store, routed, { step: { at: t0, by: 'lab' }, controlShare: 0.3 });
      expect(intake.control.length / n).toBeGreaterThan(0.24);
      expect(intake.control.length / n).toBeLessThan(0.36);
      const alertOptions: AlertRunOptions = {
        now: t0,
        by: 'lab',
        reAlertAfterMs: 7 * 86_400_000,
        templates: loadAlertTemplates(),
        context: { ispName: 'lab', desk: { ja: 'd', en: 'd' }, manualBase: manualBaseUrl('https://notice.example.test'), manualFor: () => null },
        subscriber: (id) => ({ id, email: `${id}@home.test`, language: 'ja', name: null }),
        mail: accepting,
      };
      const rows = await sendDueAlerts(store, alertOptions);
      expect(rows.length).toBe(n - intake.control.length);
      const cases = await store.cases.list();
      const ipToSub = new Map(cases.map((c) => [c.lastIp, c.subscriber]));
      let realerts = 0;
      const loop = await runIspLoop(store, {
        start: t0,
        weeks: 5,
        seed: 'loop',
        model,
        escalateAfter: 3,
        resolve: (ip) => ipToSub.get(ip) ?? null,
        alert: async (now) => {
          realerts += (await sendDueAlerts(store, { ...alertOptions, now })).length;
        },
      });
      expect(loop.unmatched).toBe(0);
      expect(loop.rescans).toBe(n * 5);
      // Ignorers and the reinfected are re-alerted week after week; the rest are not.
      expect(realerts).toBeGreaterThan(0);
      const report = loop.effect;
      const all = report.rows.find((r) => r.dimension === 'all')!;
      const at = (g: typeof all.notified, d: number) => g.points.find((p) => p.days === d)!.share!;
      // Everyone who acts does so in week 1: fix + fixThenReinfect = 0.7 by day 7.
      expect(at(all.notified, 7)).toBeGreaterThan(0.63);
      expect(at(all.notified, 7)).toBeLessThan(0.77);
      // Natural clean-up spread over 5 weeks: 0.3 × 4/5 = 0.24 by day 30 (re-scan on day 28).
      expect(at(all.baseline, 30)).toBeGreaterThan(0.14);
      expect(at(all.baseline, 30)).toBeLessThan(0.34);
      expect(at(all.notified, 30)).toBeGreaterThan(at(all.baseline, 30) + 0.3);
      // Reinfected: 0.1 / 0.7 of the fixed, all seen again within the 5 weeks.
      expect(all.notified.reinfectionRate!).toBeGreaterThan(0.08);
      expect(all.notified.reinfectionRate!).toBeLessThan(0.22);
      expect(report.rows.filter((r) => r.dimension === 'isp').map((r) => r.value)).toEqual(['isp-a', 'isp-b']);
      expect(effectText(report)).toContain('fixed≤7d');
    } finally {
      await store.close();
    }
  });
});
