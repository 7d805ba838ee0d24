/**
 * The case repository on every back end: SQLite always, PostgreSQL when IOTCLEAN_TEST_POSTGRES
 * names a server (a schema of its own, dropped afterwards). Cases read back equal to what was
 * written (hostile device text included), transitions are append-only, references count up per
 * year, and alerts and re-scans are kept as evidence.
 */
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { applyVerification, openCase, recordAlert, transition } from '../notify/isp/cases.js';
import { testFinding, testMatch } from '../notify/isp/test-support.js';
import { openStore } from './open.js';
import type { Store } from './store.js';
import { storeBackends } from './test-support.js';

const { backends, cleanup } = storeBackends('cases', { fresh: true });
afterAll(cleanup);

const hostile = 'a\u0000b<script>alert(1)</script>\uD800x 😀 ﾃｽﾄ\r\n\x1b[31m{{reference}}';
const t0 = '2026-12-01T00:00:00.000Z';

describe.each(backends)('case repository on %s', (_name, location) => {
  let store: Store;
  beforeEach(async () => {
    store = await openStore(await location());
  });
  afterEach(async () => {
    await store.close();
  });

  it('stores a case, appends its transitions and reads it back equal', async () => {
    const f = testFinding('127.100.0.5', 23, t0, { device: { type: 'router', vendor: hostile, model: hostile, firmware: null } });
    const ref = await store.cases.nextReference(2026);
    expect(ref).toBe('IOTC-2026-000001');
    let c = openCase({ reference: ref, match: testMatch('sub-1', f), measure: 'subscriber-alert', control: false, ticket: 'T-1', step: { at: t0, by: 'test' } });
    c = await store.cases.save(c);
    expect(c.id).toBeTypeOf('number');
    expect(await store.cases.nextReference(2026)).toBe('IOTC-2026-000002');
    expect(await store.cases.nextReference(2027)).toBe('IOTC-2027-000001');
    c = recordAlert(c, { delivered: true, at: '2026-12-01T01:00:00.000Z', by: 'iotclean isp alert' });
    c = transition(c, 'acknowledged', { at: '2026-12-02T00:00:00.000Z', by: 'desk:sato', note: 'phoned' });
    c = await store.cases.save(c);
    const back = await store.cases.get(ref);
    expect(back).toEqual(c);
    expect(back!.device.model).toBe(hostile);
    expect(await store.cases.find('sub-1', 'weak-credential', 23)).toEqual(c);
    expect(await store.cases.find('sub-1', 'weak-credential', 80)).toBeUndefined();
    expect((await store.cases.byLastIp('127.100.0.5')).map((x) => x.reference)).toEqual([ref]);
  });

  it('keeps one case per subscriber + kind + port, host-level ones included', async () => {
    const mk = async (port: number | null) => {
      const ref = await store.cases.nextReference(2026);
      return store.cases.save(openCase({ reference: ref, match: testMatch('sub-2', testFinding('127.100.0.6', port, t0, { kind: 'infected' })), measure: 'subscriber-alert', control: false, ticket: null, step: { at: t0, by: 't' } }));
    };
    await mk(null);
    await expect(mk(null)).rejects.toThrow();
    await mk(23);
    expect((await store.cases.list({ subscriber: 'sub-2' })).length).toBe(2);
    expect((await store.cases.list({ states: ['fixed'] })).length).toBe(0);
    expect((await store.cases.list({ states: ['new'], kind: 'infected' })).length).toBe(2);
  });

  it('refuses a record that drops stored transitions, writing nothing', async () => {
    const ref = await store.cases.nextReference(2026);
    let c = await store.cases.save(openCase({ reference: ref, match: testMatch('sub-3', testFinding('127.100.0.7', 23, t0)), measure: 'isp-task', control: false, ticket: null, step: { at: t0, by: 't' } }));
    c = await store.cases.save(recordAlert(c, { delivered: true, at: t0, by: 'a' }));
    await expect(store.cases.save({ ...c, state: 'new', transitions: c.transitions.slice(0, 1) })).rejects.toThrow(/2 transitions stored, the record holds 1/);
    expect((await store.cases.get(ref))!.state).toBe('alerted');
  });

  it('keeps alerts with the SMTP answer and re-scans, in order', async () => {
    const ref = await store.cases.nextReference(2026);
    let c = await store.cases.save(openCase({ reference: ref, match: testMatch('sub-4', testFinding('127.100.0.8', 23, t0)), measure: 'subscriber-alert', control: true, ticket: null, step: { at: t0, by: 't' } }));
    await store.cases.recordAlert({ reference: ref, at: t0, measure: 'subscriber-alert', channel: 'smtp', recipient: 'a@example.test', language: 'ja', delivered: false, response: '451 try later', messageId: null });
    await store.cases.recordAlert({ reference: ref, at: '2026-12-01T00:05:00.000Z', measure: 'subscriber-alert', channel: 'smtp', recipient: 'a@example.test', language: 'ja', delivered: true, response: '250 OK: queued', messageId: '<m1@x>' });
    expect((await store.cases.alerts(ref)).map((a) => [a.delivered, a.response])).toEqual([
      [false, '451 try later'],
      [true, '250 OK: queued'],
    ]);
    const v = { kind: 'weak-credential' as const, ip: '127.100.0.8', port: 23, at: '2026-12-08T00:00:00.000Z', present: false, ticket: 'R-9' };
    await store.cases.recordVerification(ref, v);
    c = await store.cases.save(applyVerification(c, v, { escalateAfter: 2, by: 'verify' }));
    expect(await store.cases.verifications(ref)).toEqual([v]);
    expect((await store.cases.get(ref))!.control).toBe(true);
    expect((await store.cases.get(ref))!.state).toBe('fixed');
    await expect(store.cases.alerts('IOTC-2026-999999')).rejects.toThrow(/no case/);
  });
});
