/**
 * Observations and identifications on every back end: the same calls give the same results on
 * SQLite and on PostgreSQL (when IOTCLEAN_TEST_POSTGRES names a server; a schema of its own,
 * dropped afterwards). Hostile strings (NUL, lone surrogates, HTML) round-trip the same on both.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { IotcleanError } from '../core/errors.js';
import type { Endpoint, Identification, Observation } from '../core/records.js';
import { openStore } from './open.js';
import type { Store } from './store.js';
import { pgQuery } from './test-support.js';

const dir = mkdtempSync(join(tmpdir(), 'iotclean-results-'));
const pgUrl = process.env.IOTCLEAN_TEST_POSTGRES;
const schema = `iotclean_results_${process.pid}`;

afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  if (pgUrl) {
    const client = new pg.Client({ connectionString: pgUrl });
    await client.connect();
    await client.query(`drop schema if exists ${schema} cascade`);
    await client.end();
  }
});

const backends: [string, () => Promise<string>][] = [['sqlite', async () => join(dir, 'results.db')]];
if (pgUrl) {
  backends.push([
    'postgres',
    async () => {
      await pgQuery(pgUrl, `create schema if not exists ${schema}`);
      return `${pgUrl}${pgUrl.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c search_path=${schema}`)}`;
    },
  ]);
}

const hostile = 'a\u0000b<script>alert(1)</script>\uD800 ﾃｽﾄ\r\n\x1b[31m';

const ep = (ip: string, port: number): Endpoint => ({ kind: 'endpoint', ip, port, seenAt: '2026-12-01T00:00:00.000Z', source: 'connect' });

function observation(surveyId: number, e: Endpoint, over: Partial<Observation> = {}): Observation {
  return {
    kind: 'observation',
    surveyId,
    endpointId: e.id!,
    ip: e.ip,
    port: e.port,
    module: 'telnet',
    status: 'success',
    recognised: true,
    fields: { banner: hostile, prompt: 'login:', nested: { list: [1, 'x\u0000'], nul: '\u0000' } },
    raw: Buffer.from(hostile).toString('base64'),
    bytesReceived: 123,
    error: `peer said ${hostile}`,
    observedAt: '2026-12-01T00:00:02.000Z',
    durationMs: 12.5,
    source: 'grab',
    ...over,
  };
}

function identification(surveyId: number, e: Endpoint | null, ip: string, over: Partial<Identification> = {}): Identification {
  return {
    kind: 'identification',
    surveyId,
    endpointId: e?.id ?? null,
    ip,
    port: e?.port ?? null,
    protocol: e ? 'ssh' : null,
    type: 'router',
    vendor: 'NEC',
    product: `Aterm ${hostile}`,
    version: null,
    device: { vendor: 'NEC', product: 'Aterm WG1200HS', version: null },
    os: null,
    service: e ? { vendor: 'dropbear', product: 'Dropbear SSH', version: '2019.78' } : null,
    cpe: ['cpe:2.3:h:nec:aterm_wg1200hs:-:*:*:*:*:*:*:*'],
    confidence: 0.9,
    rule: 'iotclean:nec-aterm-title',
    rules: ['iotclean:nec-aterm-title', 'recog:ssh_banners.xml:12'],
    catalogue: { vendor: 'NEC', model: 'Aterm WG1200HS', type: 'router', releaseYear: 2015, endOfLife: null, supportUrl: null, manual: null },
    identifiedAt: '2026-12-01T00:00:03.000Z',
    ...over,
  };
}

describe.each(backends)('observations and identifications on %s', (_name, location) => {
  let store: Store;
  let surveyId: number;
  let eps: Endpoint[];

  it('opens and migrates, with a survey holding endpoints whose ids come back from recordProgress', async () => {
    store = await openStore(await location());
    await store.plans.save({ digest: 'p', version: 'v', name: 'n', body: {} });
    surveyId = await store.surveys.create({
      planDigest: 'p',
      scope: { source: 'default', ranges: [] },
      targets: [],
      ports: [22, 23],
      seed: 1,
      shard: { index: 0, count: 1 },
      workers: 1,
      startedAt: '2026-12-01T00:00:00.000Z',
    });
    eps = await store.surveys.recordProgress(surveyId, [ep('127.67.0.10', 23), ep('127.67.0.9', 22), ep('127.67.0.9', 23)], [1]);
    const stored = await store.endpoints.all(surveyId);
    expect(eps.map((e) => e.id).sort()).toEqual(stored.map((e) => e.id).sort());
    // Re-found: the same ids again.
    const again = await store.surveys.recordProgress(surveyId, [ep('127.67.0.9', 22)], [2]);
    expect(again[0]!.id).toBe(eps[1]!.id);
  });

  it('round-trips observations with hostile text; JSON exactly, flat text with NUL and lone surrogates as U+FFFD', async () => {
    const written = [observation(surveyId, eps[0]!), observation(surveyId, eps[1]!, { module: 'ssh', recognised: false, status: 'protocol-error' }), observation(surveyId, eps[2]!)];
    const ids = await store.observations.add(written);
    expect(ids).toHaveLength(3);
    const read: Observation[] = [];
    for await (const o of store.observations.list(surveyId)) read.push(o);
    // By address, then port: 127.67.0.9:22, 127.67.0.9:23, 127.67.0.10:23.
    expect(read.map((o) => `${o.ip}:${o.port}`)).toEqual(['127.67.0.9:22', '127.67.0.9:23', '127.67.0.10:23']);
    const first = read.find((o) => o.endpointId === eps[0]!.id)!;
    const { error, ...rest } = first;
    const { error: wrote, ...wroteRest } = written[0]!;
    expect(rest).toEqual({ ...wroteRest, id: ids[0] });
    expect(error).toBe(wrote!.replace('\u0000', '\uFFFD').replace('\uD800', '\uFFFD'));
    expect(read[0]).toMatchObject({ module: 'ssh', recognised: false, status: 'protocol-error' });
    expect(Buffer.from(first.raw, 'base64').toString()).toBe(Buffer.from(hostile).toString());
    expect(await store.observations.count(surveyId)).toBe(3);
    expect(await store.observations.endpointIds(surveyId)).toEqual(new Set(eps.map((e) => e.id)));
  });

  it('lists observations page by page in the same order, and per endpoint', async () => {
    await store.observations.add(Array.from({ length: 25 }, (_, i) => observation(surveyId, eps[2]!, { module: `m${i}` })));
    const all: Observation[] = [];
    for await (const o of store.observations.list(surveyId)) all.push(o);
    for (const pageSize of [1, 7, 28]) {
      const paged: Observation[] = [];
      for await (const o of store.observations.list(surveyId, { pageSize })) paged.push(o);
      expect(paged).toEqual(all);
    }
    const one: Observation[] = [];
    for await (const o of store.observations.list(surveyId, { endpointId: eps[2]!.id!, pageSize: 4 })) one.push(o);
    expect(one).toHaveLength(26);
    expect(new Set(one.map((o) => o.endpointId))).toEqual(new Set([eps[2]!.id]));
  });

  it('refuses a bad observation (unknown key, bad status, bad ip, endless raw) and stores nothing of its batch', async () => {
    const before = await store.observations.count(surveyId);
    const bad: Observation[] = [
      { ...observation(surveyId, eps[0]!), extra: 1 } as unknown as Observation,
      observation(surveyId, eps[0]!, { status: 'fine' as never }),
      observation(surveyId, eps[0]!, { ip: '999.0.0.1' }),
      observation(surveyId, eps[0]!, { raw: 'A'.repeat((1 << 20) + 4) }),
      observation(surveyId, eps[0]!, { fields: { big: 'x'.repeat(1 << 20) } }),
    ];
    for (const b of bad) {
      const err = await store.observations.add([observation(surveyId, eps[1]!), b]).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(IotcleanError);
      expect((err as IotcleanError).code).toBe('E_STORE');
      expect((err as IotcleanError).message).toMatch(/^observation for \S+ refused: \S+ /);
    }
    expect(await store.observations.count(surveyId)).toBe(before);
  });

  it('round-trips identifications whole (hostile text included), lists endpoint and host rows apart, counts by type and vendor', async () => {
    const rows = [identification(surveyId, eps[1]!, '127.67.0.9'), identification(surveyId, eps[2]!, '127.67.0.9'), identification(surveyId, null, '127.67.0.9')];
    const ids = await store.identifications.add(rows);
    await store.identifications.add([
      identification(surveyId, eps[0]!, '127.67.0.10', { type: null, vendor: null, product: null, device: null, cpe: [], confidence: 0, rule: null, rules: [], catalogue: null }),
      identification(surveyId, null, '127.67.0.10', { type: null, vendor: null, product: null, device: null, cpe: [], confidence: 0, rule: null, rules: [], catalogue: null }),
    ]);
    const endpointsRead: Identification[] = [];
    for await (const r of store.identifications.list(surveyId)) endpointsRead.push(r);
    expect(endpointsRead.map((r) => r.port)).toEqual([22, 23, 23]);
    expect(endpointsRead[0]).toEqual({ ...rows[0], id: ids[0] });
    const hosts: Identification[] = [];
    for await (const r of store.identifications.hosts(surveyId)) hosts.push(r);
    expect(hosts.map((h) => [h.ip, h.port, h.vendor])).toEqual([['127.67.0.9', null, 'NEC'], ['127.67.0.10', null, null]]);
    expect(await store.identifications.count(surveyId)).toBe(3);
    expect(await store.identifications.count(surveyId, { level: 'host' })).toBe(2);
    expect(await store.identifications.countBy(surveyId, 'type')).toEqual(new Map([['router', 1], [null, 1]]));
    expect(await store.identifications.countBy(surveyId, 'vendor', { level: 'endpoint' })).toEqual(new Map([['NEC', 2], [null, 1]]));
  });

  it('replaces one host\'s rows in one go, leaving other hosts alone', async () => {
    await store.identifications.replaceHost(surveyId, '127.67.0.9', [identification(surveyId, eps[1]!, '127.67.0.9', { vendor: 'Buffalo' }), identification(surveyId, null, '127.67.0.9', { vendor: 'Buffalo' })]);
    const all: Identification[] = [];
    for await (const r of store.identifications.list(surveyId, { level: 'all', pageSize: 1 })) all.push(r);
    expect(all.map((r) => `${r.ip}:${r.port}:${r.vendor}`)).toEqual(['127.67.0.9:22:Buffalo', '127.67.0.9:null:Buffalo', '127.67.0.10:23:null', '127.67.0.10:null:null']);
    const err = await store.identifications.replaceHost(surveyId, '127.67.0.9', [identification(surveyId, null, '127.67.0.10')]).catch((e: unknown) => e);
    expect((err as IotcleanError).code).toBe('E_STORE');
    expect(await store.identifications.count(surveyId, { level: 'all' })).toBe(4);
  });

  it('refuses a bad identification: unknown type, confidence past 1, endpoint row without port', async () => {
    for (const over of [{ type: 'toaster' as never }, { confidence: 1.5 }, { port: null }, { cpe: ['not-a-cpe'] }]) {
      const err = await store.identifications.add([identification(surveyId, eps[1]!, '127.67.0.9', over)]).catch((e: unknown) => e);
      expect((err as IotcleanError).code).toBe('E_STORE');
    }
    expect(await store.identifications.count(surveyId, { level: 'all' })).toBe(4);
  });

  it('closes', async () => {
    await store.close();
  });
});
