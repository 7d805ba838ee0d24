/**
 * The flows repository on every back end: candidates upserted by endpoint (first detection and
 * first seen kept, score and evidence replaced), due checks by time, checks recorded with their
 * state and read back as history.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { C2Candidate } from '../flows/types.js';
import { openStore } from './open.js';
import { storeBackends } from './test-support.js';

const { backends, cleanup } = storeBackends('flows', { fresh: true });
afterAll(cleanup);

const cand = (ip: string, port: number, over: Partial<C2Candidate> = {}): C2Candidate => ({
  kind: 'c2-candidate',
  ip,
  port,
  proto: 'tcp',
  score: 0.9,
  firstSeen: '2026-11-02T01:00:00.000Z',
  lastSeen: '2026-11-02T05:00:00.000Z',
  clients: 12,
  knownBadClients: 5,
  evidence: [{ feature: 'known_bad_clients', value: 5, note: '5 of 12 "quoted" <b>' }],
  window: { from: '2026-11-02T00:00:00.000Z', to: '2026-11-03T00:00:00.000Z' },
  ...over,
});

describe.each(backends)('flows repository on %s', (_name, location) => {
  it('upserts by endpoint and keeps the first detection', async () => {
    const store = await openStore(await location());
    try {
      const [a, b] = await store.flows.upsert([cand('127.100.0.1', 6667), cand('127.100.0.2', 23)], '2026-11-02T06:00:00.000Z');
      expect(a).not.toBe(b);
      const [a2] = await store.flows.upsert([cand('127.100.0.1', 6667, { score: 0.95, firstSeen: '2026-11-01T23:00:00.000Z', lastSeen: '2026-11-02T09:00:00.000Z', clients: 20 })], '2026-11-02T10:00:00.000Z');
      expect(a2).toBe(a);
      const got = await store.flows.get(a!);
      expect(got).toMatchObject({ ip: '127.100.0.1', port: 6667, proto: 'tcp', score: 0.95, clients: 20, firstSeen: '2026-11-01T23:00:00.000Z', lastSeen: '2026-11-02T09:00:00.000Z', detectedAt: '2026-11-02T06:00:00.000Z', status: 'active', nextCheckAt: '2026-11-02T06:00:00.000Z' });
      expect(got!.evidence[0]!.note).toBe('5 of 12 "quoted" <b>');
      expect((await store.flows.list()).map((c) => c.score)).toEqual([0.95, 0.9]);
    } finally {
      await store.close();
    }
  });

  it('lists due candidates and records checks with their history', async () => {
    const store = await openStore(await location());
    try {
      const [id] = await store.flows.upsert([cand('127.100.0.3', 1312)], '2026-11-02T06:00:00.000Z');
      expect((await store.flows.due('2026-11-02T05:59:59.000Z')).length).toBe(0);
      expect((await store.flows.due('2026-11-02T06:00:00.000Z')).map((c) => c.id)).toEqual([id]);
      await store.flows.recordCheck(id!, { ip: '127.100.0.3', port: 1312, at: '2026-11-02T06:00:01.000Z', alive: true, outcome: 'connected', ms: 0.4 }, { status: 'active', deadStreak: 0, nextCheckAt: '2026-11-02T07:00:01.000Z' });
      await store.flows.recordCheck(id!, { ip: '127.100.0.3', port: 1312, at: '2026-11-02T07:00:01.000Z', alive: false, outcome: 'refused', ms: 0.2 }, { status: 'expired', deadStreak: 1, nextCheckAt: '2026-11-03T07:00:01.000Z' });
      expect((await store.flows.due('2026-11-02T08:00:00.000Z')).length).toBe(0);
      const c = await store.flows.get(id!);
      expect(c).toMatchObject({ status: 'expired', deadStreak: 1, checks: 2, lastAliveAt: '2026-11-02T06:00:01.000Z', lastCheckAt: '2026-11-02T07:00:01.000Z' });
      expect((await store.flows.list({ status: 'expired' })).map((x) => x.id)).toEqual([id]);
      expect((await store.flows.history(id!)).map((h) => [h.alive, h.outcome])).toEqual([
        [true, 'connected'],
        [false, 'refused'],
      ]);
      await expect(store.flows.recordCheck(99999, { ip: '127.0.0.1', port: 1, at: '2026-11-02T07:00:01.000Z', alive: false, outcome: 'refused', ms: 1 }, { status: 'active', deadStreak: 1, nextCheckAt: '2026-11-02T08:00:00.000Z' })).rejects.toThrow(/no C&C candidate/);
    } finally {
      await store.close();
    }
  });

  it('refuses a candidate that is not an address', async () => {
    const store = await openStore(await location());
    try {
      await expect(store.flows.upsert([cand('127.100.0.9', 80), cand('not-an-ip', 80)], '2026-11-02T06:00:00.000Z')).rejects.toThrow(/nothing of this batch/);
      expect(await store.flows.list()).toEqual([]);
    } finally {
      await store.close();
    }
  });
});
