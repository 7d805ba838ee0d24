/**
 * The sharing repository on every back end: collections, object versions in the order added with
 * keyset pages and version filters, date_added that never goes backwards, the merge of received
 * objects (dedupe by id, newest modified wins) and the pull cursors.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildBundle } from '../share/stix.js';
import { sampleEntries } from '../share/test-support.js';
import { defaultShareOptions, type StixObject } from '../share/types.js';
import { openStore } from './open.js';
import type { Store } from './store.js';
import { storeBackends } from './test-support.js';

const { backends, cleanup } = storeBackends('share', { fresh: true });
afterAll(cleanup);

const now = Date.parse('2026-11-28T00:00:00.000Z');

describe.each(backends)('share repository on %s', (_name, location) => {
  let store: Store;
  let objects: readonly StixObject[];
  beforeAll(async () => {
    store = await openStore(await location());
    objects = (await buildBundle(sampleEntries(), { ...defaultShareOptions, identity: 'ISP-A' }, now)).bundle.objects;
  });
  afterAll(async () => store?.close());

  it('collections by id or alias; ensure updates the title and keeps the kind', async () => {
    await store.share.ensureCollection({ id: '11111111-1111-4111-8111-111111111111', alias: 'c2', title: 'C2', description: 'ours', kind: 'export' }, now);
    const again = await store.share.ensureCollection({ id: '11111111-1111-4111-8111-111111111111', alias: 'c2', title: 'C2 list', description: 'ours', kind: 'inbox' }, now + 5);
    expect(again).toMatchObject({ title: 'C2 list', kind: 'export', createdMs: now });
    expect((await store.share.collection('c2'))?.id).toBe('11111111-1111-4111-8111-111111111111');
    expect(await store.share.collection('nope')).toBeUndefined();
  });

  it('adds versions once, pages in order, and date_added never goes backwards', async () => {
    const cid = '11111111-1111-4111-8111-111111111111';
    const first = await store.share.addObjects(cid, objects, now);
    expect(first).toEqual({ added: objects.length, unchanged: 0, dateAddedMs: now });
    // The same objects again: nothing new. An earlier clock still stamps after the latest.
    expect(await store.share.addObjects(cid, objects, now - 60_000)).toEqual({ added: 0, unchanged: objects.length, dateAddedMs: null });
    const ind = objects.find((o) => o.type === 'indicator')!;
    const v2 = { ...ind, modified: '2026-11-29T00:00:00.000Z' };
    const second = await store.share.addObjects(cid, [v2], now - 60_000);
    expect(second.dateAddedMs).toBe(now + 1);

    const pages: string[] = [];
    let afterSeq: number | undefined;
    for (let n = 0; n < 20; n++) {
      const p = await store.share.objects(cid, { limit: 4, ...(afterSeq !== undefined ? { afterSeq } : {}) });
      pages.push(...p.rows.map((r) => `${r.id}@${r.version}`));
      if (!p.more) break;
      afterSeq = p.rows.at(-1)!.seq;
    }
    // Last versions only: the old indicator version is hidden, the new one comes last.
    expect(pages).toHaveLength(objects.length);
    expect(pages.at(-1)).toBe(`${ind.id}@2026-11-29T00:00:00.000Z`);
    const all = await store.share.objects(cid, { limit: 100, versions: ['all'], ids: [ind.id] });
    expect(all.rows.map((r) => r.version)).toEqual([String(ind.modified), '2026-11-29T00:00:00.000Z']);
    const firstV = await store.share.objects(cid, { limit: 100, versions: ['first'], ids: [ind.id] });
    expect(firstV.rows.map((r) => r.version)).toEqual([String(ind.modified)]);
    const after = await store.share.objects(cid, { limit: 100, addedAfterMs: now });
    expect(after.rows.map((r) => r.id)).toEqual([ind.id]);
    const types = await store.share.objects(cid, { limit: 100, types: ['ipv4-addr'] });
    expect(types.rows.map((r) => r.object.value)).toEqual(['198.51.100.7', '203.0.113.10']);
  });

  it('merges received objects: new ids added, newer modified replaces, older or equal ignored', async () => {
    const ind = objects.find((o) => o.type === 'indicator')!;
    expect(await store.share.mergeReceived('http://127.0.0.1:1/a', objects, now)).toEqual({ added: objects.length, updated: 0, unchanged: 0 });
    const newer = { ...ind, modified: '2026-12-01T00:00:00.000Z', valid_until: '2026-12-01T00:00:00.000Z' };
    const older = { ...ind, modified: '2026-11-01T00:00:00.000Z' };
    expect(await store.share.mergeReceived('http://127.0.0.1:1/b', [older, newer, ind], now)).toEqual({ added: 0, updated: 1, unchanged: 2 });
    const held = (await store.share.received({ type: 'indicator' })).find((o) => o.id === ind.id)!;
    expect(held.valid_until).toBe('2026-12-01T00:00:00.000Z');
    expect(await store.share.countReceived()).toBe(objects.length);
  });

  it('remembers pull cursors', async () => {
    expect(await store.share.cursor('x')).toBeUndefined();
    await store.share.saveCursor({ source: 'x', addedAfter: '2026-11-28T00:00:00.000Z', pulledMs: now, objects: 3 });
    await store.share.saveCursor({ source: 'x', addedAfter: '2026-11-28T00:00:01.000Z', pulledMs: now + 1, objects: 5 });
    expect(await store.share.cursor('x')).toEqual({ source: 'x', addedAfter: '2026-11-28T00:00:01.000Z', pulledMs: now + 1, objects: 5 });
  });
});
