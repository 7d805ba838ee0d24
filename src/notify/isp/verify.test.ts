/**
 * Re-scans close fixed cases and re-alert persisting ones (over a real SMTP server on 127.10x),
 * resolved through the ISP's matcher (an address reassigned by DHCP resolves to who held it at
 * the re-scan), and escalate after N delivered alerts.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openStore } from '../../store/open.js';
import type { Store } from '../../store/store.js';
import { loadAlertTemplates, manualBaseUrl, sendDueAlerts, smtpTransport, type AlertRunOptions } from './alerts.js';
import { intakeMatches } from './intake.js';
import { startTestSmtp, testFinding, testMatch } from './test-support.js';
import type { Subscriber, Verification } from './types.js';
import { applyVerifications, lastSeenResolver, type Resolve } from './verify.js';

const dir = mkdtempSync(join(tmpdir(), 'iotclean-verify-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const day = (n: number) => new Date(Date.parse('2026-12-01T00:00:00.000Z') + n * 86_400_000).toISOString();

/** Sessions: sub-b held .2 until day 3, then got .9 (DHCP); .2 went to sub-x. */
const sessions = [
  { ip: '127.101.0.1', subscriber: 'sub-a', from: day(-30), to: day(60) },
  { ip: '127.101.0.2', subscriber: 'sub-b', from: day(-30), to: day(3) },
  { ip: '127.101.0.2', subscriber: 'sub-x', from: day(3), to: day(60) },
  { ip: '127.101.0.9', subscriber: 'sub-b', from: day(3), to: day(60) },
];
const resolve: Resolve = (ip, at) => sessions.find((s) => s.ip === ip && s.from <= at && at < s.to)?.subscriber ?? null;
const subscribers: Record<string, Subscriber> = {
  'sub-a': { id: 'sub-a', email: 'a@home.test', language: 'ja', name: null },
  'sub-b': { id: 'sub-b', email: 'b@home.test', language: 'en', name: null },
};
const v = (ip: string, at: string, present: boolean): Verification => ({ kind: 'weak-credential', ip, port: 23, at, present, ticket: 'R' });

describe('verification', () => {
  let store: Store;
  let smtp: Awaited<ReturnType<typeof startTestSmtp>>;
  let n = 0;
  beforeEach(async () => {
    store = await openStore(join(dir, `v${n++}.db`));
    smtp = await startTestSmtp();
  });
  afterEach(async () => {
    await store.close();
    await smtp.close();
  });
  const alertAt = async (now: string) => {
    const o: AlertRunOptions = {
      now,
      by: 'iotclean isp alert',
      reAlertAfterMs: 7 * 86_400_000,
      templates: loadAlertTemplates(),
      context: { ispName: 'ISP-B', desk: { ja: 'desk', en: 'desk' }, manualBase: manualBaseUrl('https://notice.example.test'), manualFor: () => null },
      subscriber: (id) => subscribers[id],
      mail: smtpTransport(smtp.url, 'abuse@isp-b.test'),
    };
    try {
      return await sendDueAlerts(store, o);
    } finally {
      o.mail.close();
    }
  };

  it('closes fixed cases, re-alerts persisting ones after the wait, escalates after N delivered alerts', async () => {
    await intakeMatches(
      store,
      [
        { match: testMatch('sub-a', testFinding('127.101.0.1', 23, day(0))), measure: 'subscriber-alert', contact: null, ticket: 'T1' },
        { match: testMatch('sub-b', testFinding('127.101.0.2', 23, day(0))), measure: 'subscriber-alert', contact: null, ticket: 'T1' },
      ],
      { step: { at: day(0), by: 'match' }, controlShare: 0 },
    );
    expect((await alertAt(day(0))).filter((r) => r.delivered).length).toBe(2);
    // sub-b's device moved to .9; .2 now belongs to sub-x, whose (clean) line says nothing about sub-b.
    const r1 = await applyVerifications(store, [v('127.101.0.1', day(7), false), v('127.101.0.9', day(7), true), v('127.101.0.2', day(7), false), v('127.101.0.77', day(7), true)], { resolve, escalateAfter: 2, by: 'verify' });
    expect(r1.applied.map((a) => a.to).sort()).toEqual(['fixed', 'persisting']);
    expect(r1.unmatched.map((u) => u.reason)).toEqual(['subscriber sub-x has no weak-credential case on port 23', 'no single subscriber held 127.101.0.77:23 at 2026-12-08T00:00:00.000Z']);
    const a = (await store.cases.find('sub-a', 'weak-credential', 23))!;
    const b = (await store.cases.find('sub-b', 'weak-credential', 23))!;
    expect(a.state).toBe('fixed');
    expect(b.state).toBe('persisting');
    expect(b.lastIp).toBe('127.101.0.9');

    // Not yet: the last alert is 7 days old only at day 7; at day 6.9 nothing, at day 7 the re-alert.
    expect(await alertAt(day(6.9))).toEqual([]);
    const sent = smtp.received.length;
    const re = await alertAt(day(7));
    expect(re.map((r) => [r.recipient, r.delivered])).toEqual([['b@home.test', true]]);
    expect(smtp.received.length).toBe(sent + 1);
    expect(smtp.received.at(-1)!.mail.text).toContain('127.101.0.9');
    expect((await store.cases.get(b.reference))!.state).toBe('re-alerted');

    await applyVerifications(store, [v('127.101.0.9', day(14), true)], { resolve, escalateAfter: 2, by: 'verify' });
    const esc = (await store.cases.get(b.reference))!;
    expect(esc.state).toBe('escalated');
    expect(esc.alertsDelivered).toBe(2);
    expect((await store.cases.verifications(b.reference)).length).toBe(2);
  });

  it('resolves from the store when addresses are static', async () => {
    await intakeMatches(store, [{ match: testMatch('sub-a', testFinding('127.101.0.1', 23, day(0))), measure: 'subscriber-alert', contact: null, ticket: null }], { step: { at: day(0), by: 'm' }, controlShare: 0 });
    const r = await applyVerifications(store, [v('127.101.0.1', day(7), false)], { resolve: lastSeenResolver(store), escalateAfter: 2, by: 'verify' });
    expect(r.applied).toEqual([{ reference: 'IOTC-2026-000001', from: 'new', to: 'fixed', present: false }]);
  });
});
