/**
 * The notifications repository on every back end: SQLite always, PostgreSQL when
 * IOTCLEAN_TEST_POSTGRES names a server (a schema of its own, dropped afterwards). Batches read
 * back as written; the last batched id and the ticket sequence are per ISP; a duplicate ticket is
 * E_STORE; deliveries keep the latest attempt and count them; pending lists the unaccepted.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { IotcleanError } from '../core/errors.js';
import type { NewBatchRow } from './notifications.js';
import { openStore } from './open.js';
import type { Store } from './store.js';
import { storeBackends } from './test-support.js';

const { backends, cleanup } = storeBackends('notifications');
afterAll(cleanup);

const batch = (ticket: string, isp: string, after: number, max: number, over: Partial<NewBatchRow> = {}): NewBatchRow => ({
  ticket,
  isp,
  createdAt: '2026-12-01T10:00:00.000Z',
  findingCount: max - after,
  afterFindingId: after,
  maxFindingId: max,
  counts: { 'weak-credential': max - after },
  files: [{ format: 'csv', name: `${ticket}.csv`, bytes: 123, sha256: 'c'.repeat(64) }],
  ...over,
});

describe.each(backends)('notifications repository on %s', (_name, location) => {
  let store: Store;

  it('starts empty: no last id, sequence 1', async () => {
    store = await openStore(await location());
    expect(await store.notifications.lastFindingId('ispa')).toBe(0);
    expect(await store.notifications.nextSequence('ispa', '20261201')).toBe(1);
    expect(await store.notifications.list()).toEqual([]);
  });

  it('stores batches and reads them back; last id and sequence are per ISP and day', async () => {
    const a1 = batch('IOTC-20261201-ispa-0001', 'ispa', 0, 40);
    await store.notifications.create(a1);
    await store.notifications.create(batch('IOTC-20261201-ispa-0002', 'ispa', 40, 90, { createdAt: '2026-12-01T11:00:00.000Z' }));
    await store.notifications.create(batch('IOTC-20261201-ispb-0001', 'ispb', 0, 5000000000, { findingCount: 12 }));
    expect(await store.notifications.get(a1.ticket)).toEqual({ ...a1, deliveries: [] });
    expect(await store.notifications.lastFindingId('ispa')).toBe(90);
    expect(await store.notifications.lastFindingId('ispb')).toBe(5000000000);
    expect(await store.notifications.lastFindingIds()).toEqual(new Map([['ispa', 90], ['ispb', 5000000000]]));
    expect(await store.notifications.nextSequence('ispa', '20261201')).toBe(3);
    expect(await store.notifications.nextSequence('ispa', '20261202')).toBe(1);
    expect(await store.notifications.nextSequence('ispb', '20261201')).toBe(2);
    expect((await store.notifications.list({ isp: 'ispa' })).map((b) => b.ticket)).toEqual(['IOTC-20261201-ispa-0002', 'IOTC-20261201-ispa-0001']);
    expect(await store.notifications.get('IOTC-20261201-ispc-0001')).toBeUndefined();
  });

  it('refuses a duplicate ticket with E_STORE', async () => {
    const err = await store.notifications.create(batch('IOTC-20261201-ispa-0001', 'ispa', 90, 95)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IotcleanError);
    expect((err as IotcleanError).code).toBe('E_STORE');
    expect(await store.notifications.lastFindingId('ispa')).toBe(90);
  });

  it('records deliveries: the latest attempt, counted; pending lists batches not accepted', async () => {
    const t = 'IOTC-20261201-ispa-0001';
    expect((await store.notifications.pending('email')).map((b) => b.ticket)).toHaveLength(3);
    await store.notifications.recordDelivery(t, { channel: 'email', target: 'abuse@ispa.example', status: 'rejected', response: '550 5.1.1 mailbox unavailable', at: '2026-12-01T10:01:00.000Z' });
    expect((await store.notifications.pending('email', { isp: 'ispa' })).map((b) => b.ticket)).toContain(t);
    await store.notifications.recordDelivery(t, { channel: 'email', target: 'abuse@ispa.example', status: 'accepted', response: '250 2.0.0 OK queued', at: '2026-12-01T11:00:00.000Z' });
    const row = await store.notifications.get(t);
    expect(row!.deliveries).toEqual([
      { channel: 'email', target: 'abuse@ispa.example', status: 'accepted', response: '250 2.0.0 OK queued', attempts: 2, firstAttemptAt: '2026-12-01T10:01:00.000Z', lastAttemptAt: '2026-12-01T11:00:00.000Z', deliveredAt: '2026-12-01T11:00:00.000Z' },
    ]);
    expect((await store.notifications.pending('email')).map((b) => b.ticket).sort()).toEqual(['IOTC-20261201-ispa-0002', 'IOTC-20261201-ispb-0001']);
    // Another channel is independent.
    expect((await store.notifications.pending('other')).map((b) => b.ticket)).toHaveLength(3);
  });

  it('closes', async () => {
    await store.close();
  });
});
