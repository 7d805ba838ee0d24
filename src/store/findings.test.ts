/**
 * The findings repository on every back end: SQLite always, PostgreSQL when IOTCLEAN_TEST_POSTGRES
 * names a server (a schema of its own, dropped afterwards). Findings read back equal to what was
 * written, hostile text included; one row per (kind, ip, port, period) with evidence merged and the
 * first observation kept; a bad record stores nothing of its batch; keyset pages and counts.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { IotcleanError } from '../core/errors.js';
import { findingKinds, type Finding } from '../core/records.js';
import { createRng } from '../core/rng.js';
import { hostileText, sampleFinding } from '../findings/test-support.js';
import { openStore } from './open.js';
import type { Store } from './store.js';
import { storeBackends } from './test-support.js';

const { backends, cleanup } = storeBackends('findings');
afterAll(cleanup);

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

/** What record() must have refused: an E_FINDING error whose message names `field`. */
async function refused(p: Promise<unknown>, field: string): Promise<void> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(IotcleanError);
  expect((err as IotcleanError).code).toBe('E_FINDING');
  expect((err as IotcleanError).message).toContain(`: ${field} `);
}

const strip = ({ id: _id, ...rest }: Finding): Omit<Finding, 'id'> => rest;

describe.each(backends)('findings repository on %s', (_name, location) => {
  let store: Store;

  it('opens a store and reads back every kind exactly, hostile text included', async () => {
    store = await openStore(await location());
    const written = findingKinds.map((kind, i) =>
      sampleFinding(kind, {
        ip: `127.1.0.${i + 1}`,
        device: { type: null, vendor: hostileText, model: `${hostileText}${'x'.repeat(100)}`, firmware: '\u0000' },
        ...(kind === 'unauthenticated-admin' ? { details: { title: hostileText, path: '/' } } : {}),
      }),
    );
    const ids = await store.findings.record(written);
    expect(new Set(ids).size).toBe(written.length);
    for (const [i, id] of ids.entries()) {
      const back = await store.findings.get(id);
      expect(back?.id).toBe(id);
      expect(strip(back!)).toEqual(written[i]);
    }
    expect(await store.findings.get(999_999)).toBeUndefined();
  });

  it('deduplicates per (kind, ip, port, period): same id, evidence merged, the first observation kept', async () => {
    const base = sampleFinding('weak-credential', { ip: '127.2.0.1', observedAt: '2026-12-10T00:00:00.000Z', period: '2026-12', evidence: [{ record: 'access-result', id: 10 }] });
    const [first] = await store.findings.record([base]);
    // Later in the month, an earlier observation arriving late, and one in the same batch twice.
    const later = { ...base, observedAt: '2026-12-20T00:00:00.000Z', evidence: [{ record: 'access-result', id: 11 }], device: { ...base.device, model: 'other' } } as Finding;
    const early = { ...base, observedAt: '2026-12-02T00:00:00.000Z', evidence: [{ record: 'access-result', id: 10 }, { record: 'observation', id: 'x' }] } as Finding;
    const ids = await store.findings.record([later, early, later]);
    expect(ids).toEqual([first, first, first]);
    const back = await store.findings.get(first!);
    expect(back?.observedAt).toBe('2026-12-02T00:00:00.000Z');
    expect(back?.device.model).toBe('R-100');
    expect(back?.evidence).toEqual([{ record: 'access-result', id: 10 }, { record: 'access-result', id: 11 }, { record: 'observation', id: 'x' }]);

    // Another period, port or kind is another finding; a host-level one (port null) too.
    const other = await store.findings.record([
      { ...base, observedAt: '2027-01-01T00:00:00.000Z', period: '2027-01' },
      { ...base, port: 2323 },
      sampleFinding('exposed-service', { ip: '127.2.0.1' }),
      sampleFinding('end-of-life', { ip: '127.2.0.1' }),
      sampleFinding('end-of-life', { ip: '127.2.0.1', evidence: [{ record: 'identification', id: 5 }] }),
    ]);
    expect(new Set([first, ...other]).size).toBe(5);
    expect(other[3]).toBe(other[4]);
  });

  it('a bad record stores nothing of its batch, and names the field', async () => {
    const before = (await collect(store.findings.list())).length;
    const good = sampleFinding('infected', { ip: '127.3.0.1' });
    await refused(store.findings.record([good, { ...good, ip: '127.3.0.2', details: { ...good.details, password: 'admin' } } as Finding]), 'details.password');
    await refused(store.findings.record([good, { ...good, ip: '127.3.0.3', severity: 'bad' } as unknown as Finding]), 'severity');
    expect((await collect(store.findings.list())).length).toBe(before);
    expect(await store.findings.record([])).toEqual([]);
  });

  it('lists by filter in id order with keyset pages, and counts', async () => {
    const rng = createRng('findings-store');
    const many: Finding[] = [];
    for (let i = 0; i < 250; i++) {
      const isp = ['ispa', 'ispb', null][rng.int(3)]!;
      many.push(
        sampleFinding(rng.pick(['weak-credential', 'exposed-service'] as const), {
          ip: `127.4.${Math.floor(i / 200)}.${i % 200}`,
          surveyId: 1 + rng.int(2),
          isp,
          prefixOwner: isp ?? (rng.next() < 0.5 ? 'orphan' : null),
        }),
      );
    }
    const fixed = many.map((f) => (f.isp === null ? { ...f, held: f.prefixOwner === null ? ('no-isp' as const) : ('not-participating' as const) } : f));
    const ids = await store.findings.record(fixed);
    const all = await collect(store.findings.list({ afterId: ids[0]! - 1 }, { pageSize: 7 }));
    expect(all.map((f) => f.id)).toEqual(ids);

    const ofB = await collect(store.findings.list({ isp: 'ispb', afterId: ids[0]! - 1 }, { pageSize: 3 }));
    expect(ofB.map((f) => f.id)).toEqual(fixed.map((f, i) => (f.isp === 'ispb' ? ids[i] : undefined)).filter((x) => x !== undefined));
    const held = await collect(store.findings.list({ isp: null, afterId: ids[0]! - 1 }));
    expect(held.length).toBe(fixed.filter((f) => f.isp === null).length);
    expect(held.every((f) => f.held !== null && f.isp === null)).toBe(true);
    const wc2 = await collect(store.findings.list({ kind: 'weak-credential', surveyId: 2, period: '2026-12', afterId: ids[0]! - 1 }));
    expect(wc2.length).toBe(fixed.filter((f) => f.kind === 'weak-credential' && f.surveyId === 2).length);

    const byIsp = await store.findings.countBy('isp', { afterId: ids[0]! - 1 });
    expect(byIsp.get('ispa')).toBe(fixed.filter((f) => f.isp === 'ispa').length);
    expect(byIsp.get(null)).toBe(held.length);
    const byHeld = await store.findings.countBy('held', { afterId: ids[0]! - 1 });
    expect(byHeld.get('no-isp')).toBe(fixed.filter((f) => f.held === 'no-isp').length);
    expect(byHeld.get('not-participating')).toBe(fixed.filter((f) => f.held === 'not-participating').length);
    expect(byHeld.get(null)).toBe(fixed.filter((f) => f.held === null).length);
    const byKind = await store.findings.countBy('kind', { surveyId: 1, afterId: ids[0]! - 1 });
    expect(byKind.get('exposed-service')).toBe(fixed.filter((f) => f.kind === 'exposed-service' && f.surveyId === 1).length);
  });

  it('matches a model of deduplication over random batches (seeded)', async () => {
    const rng = createRng(`findings-dedup-${_name}`);
    const model = new Map<string, { id?: number; observedAt: string; evidence: string[]; model: string | null }>();
    for (let round = 0; round < 6; round++) {
      const batch: Finding[] = [];
      for (let i = 0; i < 120; i++) {
        const kind = rng.pick(['weak-credential', 'end-of-life'] as const);
        const day = 1 + rng.int(28);
        const observedAt = `2026-${rng.next() < 0.5 ? '11' : '12'}-${String(day).padStart(2, '0')}T00:00:00.000Z`;
        const f = sampleFinding(kind, {
          ip: `127.6.0.${rng.int(8)}`,
          observedAt,
          period: observedAt.slice(0, 7),
          device: { type: null, vendor: null, model: `m${round}-${i}`, firmware: null },
          evidence: [{ record: 'observation', id: 1 + rng.int(6) }],
        });
        batch.push(f);
        const key = `${f.kind}|${f.ip}|${f.port}|${f.period}`;
        const m = model.get(key);
        const ref = String(f.evidence[0]!.id);
        if (!m) model.set(key, { observedAt, evidence: [ref], model: f.device.model });
        else {
          if (observedAt < m.observedAt) m.observedAt = observedAt;
          if (!m.evidence.includes(ref)) m.evidence.push(ref);
        }
      }
      const ids = await store.findings.record(batch);
      batch.forEach((f, i) => {
        const m = model.get(`${f.kind}|${f.ip}|${f.port}|${f.period}`)!;
        if (m.id === undefined) m.id = ids[i];
        expect(ids[i]).toBe(m.id);
      });
    }
    for (const m of model.values()) {
      const back = await store.findings.get(m.id!);
      expect({ observedAt: back?.observedAt, evidence: back?.evidence.map((e) => String(e.id)), model: back?.device.model }).toEqual({ observedAt: m.observedAt, evidence: m.evidence, model: m.model });
    }
  });

  it('two writers racing on the same keys end with one finding per key and both evidence', async () => {
    const make = (ref: number) => Array.from({ length: 300 }, (_, i) => sampleFinding('exposed-service', { ip: `127.7.${i >> 8}.${i & 255}`, evidence: [{ record: 'observation', id: ref }] }));
    const [a, b] = await Promise.all([store.findings.record(make(1)), store.findings.record(make(2))]);
    expect(a).toEqual(b);
    for (const id of [a[0]!, a[299]!]) expect((await store.findings.get(id))?.evidence.map((e) => e.id).sort()).toEqual([1, 2]);
  });

  it('stores a batch larger than one insert chunk, duplicates across chunks included', async () => {
    const batch: Finding[] = [];
    for (let i = 0; i < 2500; i++) batch.push(sampleFinding('exposed-service', { ip: `127.5.${Math.floor(i / 250)}.${i % 250}`, evidence: [{ record: 'observation', id: i + 1 }] }));
    // The first 300 again at the end: they land in a later chunk than their first copies.
    const again = batch.slice(0, 300).map((f, i) => ({ ...f, evidence: [{ record: 'observation' as const, id: 100_000 + i }] }));
    const ids = await store.findings.record([...batch, ...again]);
    expect(new Set(ids).size).toBe(2500);
    expect(ids.slice(2500)).toEqual(ids.slice(0, 300));
    expect((await store.findings.get(ids[0]!))?.evidence).toEqual([{ record: 'observation', id: 1 }, { record: 'observation', id: 100_000 }]);
    await store.close();
  });
});
