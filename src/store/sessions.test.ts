/**
 * The session repository on every back end: SQLite always, PostgreSQL when IOTCLEAN_TEST_POSTGRES
 * names a server (a schema of its own, dropped afterwards). Sessions read back as imported,
 * chunked imports commit chunk by chunk, a re-import updates instead of duplicating, lookups
 * honour open sessions up to their import time, and the stored index matches like the records.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { IotcleanError } from '../core/errors.js';
import type { SessionRecord } from '../notify/isp/types.js';
import { openStore } from './open.js';
import type { Store } from './store.js';
import { storeBackends } from './test-support.js';

const { backends, cleanup } = storeBackends('sessions');
afterAll(cleanup);

const row = (i: number, over: Partial<SessionRecord> = {}): SessionRecord => ({
  subscriber: `sub-${i}`,
  ip: `127.113.${(i >> 8) & 255}.${i & 255}`,
  portFirst: null,
  portLast: null,
  start: '2026-12-01T00:00:00.000Z',
  end: '2026-12-02T00:00:00.000Z',
  mac: null,
  source: 'radius-csv',
  file: 'radius.csv',
  line: i + 2,
  ...over,
});

describe.each(backends)('session repository on %s', (_name, location) => {
  let store: Store;
  const importedAt = Date.parse('2026-12-05T00:00:00Z');

  it('imports in chunks and reads back exactly, hostile text included', async () => {
    store = await openStore(await location());
    const rows = Array.from({ length: 1200 }, (_, i) => row(i));
    rows.push(row(5000, { subscriber: 'a\u0000b<script>', ip: '127.113.200.1', end: null, mac: '00:11:22:33:44:55', source: 'dhcpd-leases', file: 'dhcpd.leases' }));
    rows.push(row(5001, { subscriber: 'cg', ip: '127.113.200.2', portFirst: 1024, portLast: 2047, source: 'cgnat', file: 'cgnat.log' }));
    const chunks: number[] = [];
    const r = await store.sessions.import(rows, { importedAt, chunk: 500, onChunk: (n) => chunks.push(n) });
    expect(r.count).toBe(1202);
    expect(chunks).toEqual([500, 1000]);
    expect(await store.sessions.count()).toBe(1202);
    const [open] = await store.sessions.lookup('127.113.200.1');
    // NUL cannot live in a text column; it is replaced, the rest kept.
    expect(open).toMatchObject({ ip: '127.113.200.1', end: null, mac: '00:11:22:33:44:55', source: 'dhcpd-leases', importedAt: '2026-12-05T00:00:00.000Z' });
    expect(open!.subscriber).toMatch(/^a.b<script>$/);
    expect((await store.sessions.lookup('127.113.200.2'))[0]).toMatchObject({ portFirst: 1024, portLast: 2047, subscriber: 'cg' });
  });

  it('a lookup at a time honours ends, and open sessions end at their import', async () => {
    expect((await store.sessions.lookup('127.113.0.7', '2026-12-01T12:00:00Z')).map((s) => s.subscriber)).toEqual(['sub-7']);
    expect(await store.sessions.lookup('127.113.0.7', '2026-12-02T00:00:00Z')).toEqual([]);
    expect((await store.sessions.lookup('127.113.200.1', '2026-12-04T23:59:59Z')).length).toBe(1);
    expect(await store.sessions.lookup('127.113.200.1', '2026-12-05T00:00:01Z')).toEqual([]);
  });

  it('re-importing a grown log updates rows (the open session closed) instead of duplicating', async () => {
    await store.sessions.import([row(5000, { subscriber: 'a\u0000b<script>', ip: '127.113.200.1', end: '2026-12-03T00:00:00.000Z', mac: '00:11:22:33:44:55', source: 'dhcpd-leases', file: 'dhcpd.leases' })], { importedAt });
    expect(await store.sessions.count()).toBe(1202);
    expect((await store.sessions.lookup('127.113.200.1'))[0]!.end).toBe('2026-12-03T00:00:00.000Z');
  });

  it('a bad record fails its chunk only; chunks before it stay', async () => {
    async function* gen() {
      for (let i = 0; i < 10; i++) yield row(9000 + i, { file: 'bad.csv' });
      yield row(9999, { file: 'bad.csv', ip: 'not-an-ip' });
    }
    const e = await store.sessions.import(gen(), { chunk: 5, importedAt }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(IotcleanError);
    expect((e as IotcleanError).code).toBe('E_STORE');
    expect(await store.sessions.count()).toBe(1212);
  });

  it('stores subscribers, their lease keys and the inventory', async () => {
    await store.sessions.putSubscribers(
      [
        { id: 'sub-1', email: 'sub-1@x.lab.invalid', language: 'ja', name: '佐藤 蓮' },
        { id: 'sub-2', email: null, language: 'en', name: null },
      ],
      { byMac: new Map([['00:11:22:33:44:55', 'sub-1']]), byClientId: new Map([['01aa', 'sub-2']]) },
    );
    await store.sessions.putSubscribers([{ id: 'sub-2', email: 'two@x.lab.invalid', language: 'en', name: 'Two' }]);
    expect(await store.sessions.subscribers()).toEqual([
      { id: 'sub-1', email: 'sub-1@x.lab.invalid', language: 'ja', name: '佐藤 蓮' },
      { id: 'sub-2', email: 'two@x.lab.invalid', language: 'en', name: 'Two' },
    ]);
    const keys = await store.sessions.subscriberKeys();
    expect([...keys.byMac]).toEqual([['00:11:22:33:44:55', 'sub-1']]);
    expect([...keys.byClientId]).toEqual([['01aa', 'sub-2']]);
    const inv = [
      { subscriber: 'sub-1', mac: null, measure: 'isp-task' as const, contact: 'ops', model: 'Aterm' },
      { subscriber: null, mac: 'aa:bb:cc:dd:ee:ff', measure: 'sier-notice' as const, contact: 'sier', model: null },
    ];
    await store.sessions.putInventory(inv);
    await store.sessions.putInventory(inv);
    expect(await store.sessions.inventory()).toEqual(inv);
  });

  it('builds the matching index from the stored rows', async () => {
    const index = await store.sessions.index();
    expect(index.size).toBe(1212);
    const ip = (s: string) => s.split('.').reduce((a, b) => a * 256 + Number(b), 0);
    expect(index.lookup(ip('127.113.0.9'), Date.parse('2026-12-01T05:00:00Z'), null).map((x) => x.subscriber)).toEqual(['sub-9']);
    expect(index.lookup(ip('127.113.200.2'), Date.parse('2026-12-01T05:00:00Z'), 1500).map((x) => x.subscriber)).toEqual(['cg']);
    await store.close();
  });
});
