/**
 * The access repository on every back end: SQLite always, PostgreSQL when IOTCLEAN_TEST_POSTGRES
 * names a server (a schema of its own, dropped afterwards). Results and attempts read back equal
 * to what was written, hostile text included; a re-run replaces the result and keeps the audit;
 * a bad record stores nothing; a store left at migration 0003 upgrades without losing a row.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kysely, Migrator, PostgresDialect, SqliteDialect } from 'kysely';
import SQLite from 'better-sqlite3';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { IotcleanError } from '../core/errors.js';
import type { AccessAttemptRecord, AccessResult, Endpoint, Identification, Observation } from '../core/records.js';
import { createRng } from '../core/rng.js';
import { migrations, type Dialect } from './migrations.js';
import { openStore } from './open.js';
import type { Store } from './store.js';
import { pgQuery } from './test-support.js';

const dir = mkdtempSync(join(tmpdir(), 'iotclean-access-'));
const pgUrl = process.env.IOTCLEAN_TEST_POSTGRES;
const schema = `iotclean_access_${process.pid}`;
if (!pgUrl) console.log('access store tests: PostgreSQL back end skipped (set IOTCLEAN_TEST_POSTGRES=postgres://... to run it)');

afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  if (pgUrl) {
    const client = new pg.Client({ connectionString: pgUrl });
    await client.connect();
    for (const name of [schema, `${schema}_old`]) await client.query(`drop schema if exists ${name} cascade`);
    await client.end();
  }
});

/** Each back end makes a fresh, empty database (or schema) per name. */
const backends: [string, (name: string) => Promise<string>][] = [['sqlite', async (name) => join(dir, `${name}.db`)]];
if (pgUrl) {
  backends.push([
    'postgres',
    async (name) => {
      const full = name === 'main' ? schema : `${schema}_${name}`;
      await pgQuery(pgUrl, `create schema if not exists ${full}`);
      return `${pgUrl}${pgUrl.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c search_path=${full}`)}`;
    },
  ]);
}

/** NUL, lone surrogates of both halves, a valid pair, HTML, escapes, half-width kana. */
const hostile = 'a\u0000b<script>alert(1)</script>\uD800x\uDC00 😀 ﾃｽﾄ\r\n\x1b[31m';
/** The longest text a record may carry, with hostile bytes at both ends. */
const long = `\u0000${'<b>'.repeat(1364)}\uDBFF`;
const digest = 'a'.repeat(64);

const ep = (ip: string, port: number): Endpoint => ({ kind: 'endpoint', ip, port, seenAt: '2026-12-01T00:00:00.000Z', source: 'connect' });

function result(surveyId: number | null, ip: string, port: number, over: Partial<AccessResult> = {}): AccessResult {
  return {
    kind: 'access-result',
    surveyId,
    endpointId: null,
    ip,
    port,
    protocol: 'telnet',
    verdict: 'no-weak-credential',
    entry: null,
    username: null,
    reason: null,
    attempts: 3,
    planDigest: digest,
    planVersion: '2026.12-1',
    dictionary: { name: 'default', version: '2026.12-1', digest: 'b'.repeat(64) },
    startedAt: '2026-12-01T00:00:10.000Z',
    finishedAt: '2026-12-01T00:00:12.500Z',
    ...over,
  };
}

function attempt(r: AccessResult, entry: string, over: Partial<AccessAttemptRecord> = {}): AccessAttemptRecord {
  return {
    kind: 'access-attempt',
    surveyId: r.surveyId,
    ip: r.ip,
    port: r.port,
    protocol: r.protocol,
    entry,
    username: 'root',
    outcome: 'failure',
    at: '2026-12-01T00:00:11.000Z',
    durationMs: 120.5,
    detail: null,
    planVersion: r.planVersion,
    ...over,
  };
}

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

/** What record() must have refused: an E_STORE error whose message names `field`. */
async function refused(p: Promise<unknown>, field: string): Promise<void> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(IotcleanError);
  expect((err as IotcleanError).code).toBe('E_STORE');
  expect((err as IotcleanError).message).toContain(` ${field} `);
  expect((err as IotcleanError).message).toContain('nothing of this batch was stored');
}

/** A raw Kysely handle on a location, for building a database as an older iotclean left it. */
function rawDb(where: string): Kysely<any> {
  return where.startsWith('postgres')
    ? new Kysely<any>({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: where, max: 1 }) }) })
    : new Kysely<any>({ dialect: new SqliteDialect({ database: new SQLite(where) }) });
}

describe.each(backends)('access repository on %s', (_name, location) => {
  let store: Store;
  let surveyId: number;
  let other: number;
  let eps: Endpoint[];
  const counts = async () => ({
    results: (await collect(store.access.list(surveyId))).length,
    attempts: (await collect(store.access.attempts(surveyId))).length,
  });

  it('opens a new store with two surveys and their endpoints', async () => {
    store = await openStore(await location('main'));
    await store.plans.save({ digest, version: '2026.12-1', name: 'default', body: {} });
    const newSurvey = { planDigest: digest, scope: { source: 'default', ranges: [] }, targets: [], ports: [23, 80], seed: 1, shard: { index: 0, count: 1 }, workers: 1, startedAt: '2026-12-01T00:00:00.000Z' };
    surveyId = await store.surveys.create(newSurvey);
    other = await store.surveys.create(newSurvey);
    eps = await store.surveys.recordProgress(surveyId, [ep('127.68.0.9', 23), ep('127.68.0.9', 80), ep('127.68.0.10', 23)], [1]);
    expect(eps.every((e) => typeof e.id === 'number')).toBe(true);
  });

  it('round-trips a result and its attempts exactly, hostile text included, with clean flat columns', async () => {
    const r = result(surveyId, '127.68.0.9', 23, { endpointId: eps[0]!.id!, verdict: 'weak-credential', entry: 'mirai-07', username: `root${hostile}`, reason: long, planVersion: `v${hostile}` });
    const tries = [
      attempt(r, 'mirai-01', { username: 'admin', detail: `Login incorrect\r\n${hostile}` }),
      attempt(r, 'mirai-02', { username: long, detail: long, outcome: 'error', durationMs: 0 }),
      attempt(r, 'mirai-07', { username: `root${hostile}`, outcome: 'success', detail: '<html><body onload=alert(1)>#</body></html>' }),
      attempt(r, 'control:1', { username: 'x9Qz', detail: null, planVersion: null }),
    ];
    const id = await store.access.record(r, tries);
    expect(Number.isInteger(id) && id > 0).toBe(true);
    expect(await collect(store.access.list(surveyId))).toEqual([{ ...r, id }]);
    const read = await collect(store.access.attempts(surveyId));
    expect(read.map(({ id: _id, ...rest }) => rest)).toEqual(tries);
    expect(read.map((a) => a.id)).toEqual([...read.map((a) => a.id!)].sort((a, b) => a - b));
    // Exports and queries read the flat columns: no NUL, no lone surrogate there, on either back end.
    const flat = await store.db.selectFrom('access_results').select(['username', 'reason', 'plan_version']).where('id', '=', id).executeTakeFirstOrThrow();
    for (const v of Object.values(flat)) expect(v).not.toMatch(/\u0000|[\uD800-\uDFFF](?<![\uD800-\uDBFF][\uDC00-\uDFFF])(?![\uDC00-\uDFFF])/);
    expect(flat.username).toBe('root' + hostile.replace('\u0000', '\uFFFD').replace('\uD800', '\uFFFD').replace('\uDC00', '\uFFFD'));
    // The common case costs no exact copy.
    const plain = await store.db.selectFrom('access_attempts').select('exact').where('entry', '=', 'control:1').executeTakeFirstOrThrow();
    expect(plain.exact).toBeNull();
  });

  it('keeps random text exact: a seeded loop of code-unit soup in every text field', async () => {
    const rng = createRng('access-store-text');
    const units = [0, 0x0a, 0x1b, 0x22, 0x3c, 0x5c, 0x41, 0x7f, 0xa0, 0xff5e, 0xd800, 0xdbff, 0xdc00, 0xdfff, 0xfffd, 0xfeff];
    const soup = () => String.fromCharCode(...Array.from({ length: rng.int(40) }, () => (rng.next() < 0.5 ? rng.pick(units) : rng.int(0x10000))));
    const r = result(other, '127.68.1.1', 2323, { reason: soup(), username: soup() });
    const tries = Array.from({ length: 60 }, (_, i) => attempt(r, `e${i}`, { username: soup(), detail: rng.next() < 0.2 ? null : soup(), planVersion: soup() }));
    const id = await store.access.record(r, tries);
    expect(await collect(store.access.list(other))).toEqual([{ ...r, id }]);
    expect((await collect(store.access.attempts(other, { pageSize: 7 }))).map(({ id: _id, ...rest }) => rest)).toEqual(tries);
  });

  it('a re-run replaces the result (same id) and appends its attempts to the audit', async () => {
    const [before] = await collect(store.access.list(surveyId));
    const beforeAttempts = await collect(store.access.attempts(surveyId));
    const r = result(surveyId, '127.68.0.9', 23, { endpointId: eps[0]!.id!, verdict: 'locked-out', reason: 'refused after 5 failures', attempts: 6, startedAt: '2026-12-02T00:00:00.000Z', finishedAt: '2026-12-02T00:01:00.000Z' });
    const tries = [attempt(r, 'mirai-01', { outcome: 'locked-out', at: '2026-12-02T00:00:01.000Z' })];
    const id = await store.access.record(r, tries);
    expect(id).toBe(before!.id);
    expect(await collect(store.access.list(surveyId))).toEqual([{ ...r, id }]);
    const after = await collect(store.access.attempts(surveyId));
    expect(after.slice(0, beforeAttempts.length)).toEqual(beforeAttempts);
    expect(after.slice(beforeAttempts.length).map(({ id: _id, ...rest }) => rest)).toEqual(tries);
    // The other survey's rows are untouched.
    expect(await collect(store.access.list(other))).toHaveLength(1);
  });

  it('refuses bad results and attempts, naming the field, and stores nothing of them', async () => {
    const before = await counts();
    const [stored] = await collect(store.access.list(surveyId));
    const weakNoEntry = result(surveyId, '127.68.0.9', 23, { verdict: 'weak-credential', entry: null });
    const entryOnNoWeak = result(surveyId, '127.68.0.9', 23, { verdict: 'no-weak-credential', entry: 'mirai-01' });
    const good = result(surveyId, '127.68.0.9', 23);
    await refused(store.access.record(weakNoEntry, [attempt(weakNoEntry, 'mirai-01')]), 'entry');
    await refused(store.access.record(entryOnNoWeak, [attempt(entryOnNoWeak, 'mirai-01')]), 'entry');
    await refused(store.access.record(result(surveyId, '127.68.0.256', 23), []), 'ip');
    await refused(store.access.record(result(surveyId, '127.68.0.9', 0), []), 'port');
    await refused(store.access.record(result(surveyId, '127.68.0.9', 23, { protocol: 'rdp' as never }), []), 'protocol');
    await refused(store.access.record({ ...good, password: 'admin' } as unknown as AccessResult, []), '(record)');
    await refused(store.access.record(result(surveyId, '127.68.0.9', 23, { reason: 'x'.repeat(4097) }), []), 'reason');
    // A bad attempt late in the batch: the result and the good attempts before it are not stored.
    await refused(store.access.record(good, [attempt(good, 'mirai-01'), attempt(good, 'mirai-02', { outcome: 'maybe' as never })]), 'outcome');
    await refused(store.access.record(good, [attempt(good, 'mirai-01'), attempt(good, 'mirai 02')]), 'entry');
    await refused(store.access.record(good, [attempt(good, 'mirai-01', { detail: 'y'.repeat(4097) })]), 'detail');
    // Attempts of another service than the result's.
    await refused(store.access.record(good, [attempt(good, 'mirai-01'), attempt(good, 'mirai-02', { port: 80 })]), 'port');
    await refused(store.access.record(good, [attempt(good, 'mirai-01', { ip: '127.68.0.10' })]), 'ip');
    await refused(store.access.record(good, [attempt(good, 'mirai-01', { surveyId: other })]), 'surveyId');
    await refused(store.access.record(good, [attempt(good, 'mirai-01', { protocol: 'ssh' })]), 'protocol');
    expect(await counts()).toEqual(before);
    expect(await collect(store.access.list(surveyId))).toEqual([stored]);
  });

  it('lists by address (numerically), port, protocol in keyset pages, and filters by verdict', async () => {
    await store.access.record(result(surveyId, '127.68.0.10', 23, { endpointId: eps[2]!.id!, verdict: 'accepts-any', reason: 'a random pair got in' }), []);
    await store.access.record(result(surveyId, '127.68.0.9', 80, { protocol: 'http-form', verdict: 'unsupported', reason: 'JavaScript login' }), []);
    await store.access.record(result(surveyId, '127.68.0.9', 80, { protocol: 'http-basic', verdict: 'weak-credential', entry: 'vendor-nec-1', username: 'admin' }), []);
    await store.access.record(result(surveyId, '127.68.0.2', 22, { protocol: 'ssh' }), []);
    const all = await collect(store.access.list(surveyId));
    expect(all.map((r) => `${r.ip}:${r.port}:${r.protocol}`)).toEqual(['127.68.0.2:22:ssh', '127.68.0.9:23:telnet', '127.68.0.9:80:http-basic', '127.68.0.9:80:http-form', '127.68.0.10:23:telnet']);
    for (const pageSize of [1, 2, 4, 5, 6]) expect(await collect(store.access.list(surveyId, { pageSize }))).toEqual(all);
    const weak = await collect(store.access.list(surveyId, { verdict: 'weak-credential', pageSize: 1 }));
    expect(weak.map((r) => [r.ip, r.port, r.protocol, r.entry, r.username])).toEqual([['127.68.0.9', 80, 'http-basic', 'vendor-nec-1', 'admin']]);
    expect(await collect(store.access.list(surveyId, { verdict: 'no-weak-credential', pageSize: 1 }))).toEqual([all[0]]);
    expect(await collect(store.access.list(surveyId, { verdict: 'error' }))).toEqual([]);
    expect(await collect(store.access.list(9999))).toEqual([]);
  });

  it('counts per verdict and per protocol, and names the services checked', async () => {
    expect(await store.access.countBy(surveyId, 'verdict')).toEqual(
      new Map([
        ['accepts-any', 1],
        ['locked-out', 1],
        ['no-weak-credential', 1],
        ['unsupported', 1],
        ['weak-credential', 1],
      ]),
    );
    expect(await store.access.countBy(surveyId, 'protocol')).toEqual(
      new Map([
        ['http-basic', 1],
        ['http-form', 1],
        ['ssh', 1],
        ['telnet', 2],
      ]),
    );
    expect(await store.access.checked(surveyId)).toEqual(new Set(['127.68.0.2:22:ssh', '127.68.0.9:23:telnet', '127.68.0.9:80:http-basic', '127.68.0.9:80:http-form', '127.68.0.10:23:telnet']));
    expect(await store.access.checked(9999)).toEqual(new Set());
    expect(await store.access.countBy(9999, 'verdict')).toEqual(new Map());
  });

  it('reads attempts in insertion order, by address and port, across pages', async () => {
    const a = result(surveyId, '127.68.0.10', 23, { verdict: 'no-weak-credential' });
    const b = result(surveyId, '127.68.0.10', 2323);
    const c = result(surveyId, '127.68.0.9', 23);
    // Interleaved services: order is the order written, never the address order.
    await store.access.record(a, [attempt(a, 'p1'), attempt(a, 'p2')]);
    await store.access.record(c, [attempt(c, 'p3')]);
    await store.access.record(b, [attempt(b, 'p4'), attempt(b, 'p5')]);
    await store.access.record(a, [attempt(a, 'p6'), attempt(a, 'p7'), attempt(a, 'p8')]);
    for (const pageSize of [1, 2, 3, 100]) {
      expect((await collect(store.access.attempts(surveyId, { ip: '127.68.0.10', pageSize }))).map((t) => t.entry)).toEqual(['p1', 'p2', 'p4', 'p5', 'p6', 'p7', 'p8']);
      expect((await collect(store.access.attempts(surveyId, { ip: '127.68.0.10', port: 23, pageSize }))).map((t) => t.entry)).toEqual(['p1', 'p2', 'p6', 'p7', 'p8']);
    }
    const whole = await collect(store.access.attempts(surveyId));
    expect((await collect(store.access.attempts(surveyId, { pageSize: 2 })))).toEqual(whole);
    expect(whole.map((t) => t.entry).slice(-8)).toEqual(['p1', 'p2', 'p3', 'p4', 'p5', 'p6', 'p7', 'p8']);
    expect(new Set(whole.map((t) => t.surveyId))).toEqual(new Set([surveyId]));
    expect(await collect(store.access.attempts(surveyId, { ip: '127.68.0.77' }))).toEqual([]);
    const err = await collect(store.access.attempts(surveyId, { ip: 'not-an-ip' })).catch((e: unknown) => e);
    expect((err as IotcleanError).code).toBe('E_ARGS');
  });

  it('runs outside a survey: one result per service too (the latest), apart from every survey', async () => {
    const first = result(null, '127.68.0.9', 23, { verdict: 'error', reason: 'timed out' });
    const id = await store.access.record(first, [attempt(first, 'q1', { outcome: 'error' })]);
    const again = result(null, '127.68.0.9', 23, { verdict: 'weak-credential', entry: 'q2', username: 'root' });
    expect(await store.access.record(again, [attempt(again, 'q2', { outcome: 'success' })])).toBe(id);
    await store.access.record(result(null, '127.68.0.9', 23, { protocol: 'ssh' }), []);
    expect((await collect(store.access.list(null))).map((r) => [r.protocol, r.verdict, r.surveyId])).toEqual([
      ['ssh', 'no-weak-credential', null],
      ['telnet', 'weak-credential', null],
    ]);
    expect((await collect(store.access.attempts(null))).map((t) => t.entry)).toEqual(['q1', 'q2']);
    expect(await store.access.checked(null)).toEqual(new Set(['127.68.0.9:23:ssh', '127.68.0.9:23:telnet']));
    // The survey's own result for the same service is untouched.
    expect((await collect(store.access.list(surveyId))).find((r) => r.port === 23 && r.ip === '127.68.0.9')!.verdict).toBe('no-weak-credential');
  });

  it('refuses a result naming a survey or endpoint that does not exist (foreign keys), storing nothing', async () => {
    const before = await counts();
    const r = result(9999, '127.68.0.9', 23);
    await expect(store.access.record(r, [attempt(r, 'z1')])).rejects.toThrow();
    const s = result(surveyId, '127.68.0.99', 23, { endpointId: 987654 });
    await expect(store.access.record(s, [attempt(s, 'z2')])).rejects.toThrow();
    expect(await counts()).toEqual(before);
  });

  it('closes', async () => {
    await store.close();
  });

  it('upgrades a store left at 0003 with data, losing nothing, then records access results', async () => {
    const old = await location('old');
    const dialect: Dialect = old.startsWith('postgres') ? 'postgres' : 'sqlite';
    const all = migrations(dialect);
    const upTo3 = Object.fromEntries(Object.entries(all).filter(([name]) => name < '0004'));
    expect(Object.keys(upTo3)).toEqual(['0001-survey-foundation', '0002-endpoint-ids-and-leases', '0003-observations-and-identifications']);
    const raw = rawDb(old);
    const { error } = await new Migrator({ db: raw, provider: { getMigrations: async () => upTo3 }, ...(dialect === 'postgres' ? { migrationTableSchema: `${schema}_old` } : {}) }).migrateToLatest();
    expect(error).toBeUndefined();
    await raw.destroy();

    await fillAt0003(old, dialect);

    const store2 = await openStore(old);
    try {
      const s = (await store2.surveys.list())[0]!;
      const eps2 = await store2.endpoints.all(s.id);
      expect(eps2.map((e) => `${e.ip}:${e.port}`)).toEqual(['127.68.2.1:23', '127.68.2.2:80']);
      const obs = await collect(store2.observations.list(s.id));
      expect(obs.map((o) => [o.ip, o.port, o.module])).toEqual([['127.68.2.1', 23, 'telnet']]);
      const ids = await collect(store2.identifications.list(s.id, { level: 'all' }));
      expect(ids.map((i) => [i.ip, i.port, i.vendor])).toEqual([['127.68.2.1', 23, 'NEC']]);
      const r = result(s.id, '127.68.2.1', 23, { endpointId: eps2[0]!.id!, verdict: 'weak-credential', entry: 'mirai-01', username: 'root' });
      const id = await store2.access.record(r, [attempt(r, 'mirai-01', { outcome: 'success' })]);
      expect(await collect(store2.access.list(s.id))).toEqual([{ ...r, id }]);
    } finally {
      await store2.close();
    }
  });
});

/**
 * Fill a database migrated to 0003 with a plan, a survey, endpoints, an observation and an
 * identification through plain inserts of that schema (no access tables exist yet).
 */
async function fillAt0003(where: string, dialect: Dialect): Promise<void> {
  const raw = rawDb(where);
  try {
    await fill(raw, dialect);
  } finally {
    await raw.destroy();
  }
}

async function fill(raw: Kysely<any>, dialect: Dialect): Promise<void> {
  const tables = (await raw.introspection.getTables()).filter((t) => dialect === 'sqlite' || t.schema === `${schema}_old`);
  expect(tables.map((t) => t.name)).toContain('identifications');
  expect(tables.map((t) => t.name)).not.toContain('access_results');
  await raw.insertInto('plan_versions').values({ digest, version: 'v', name: 'n', body: '{}', created_at: 'x' }).execute();
  const survey = await raw
    .insertInto('surveys')
    .values({ plan_digest: digest, scope: '{}', targets: '[]', ports: '[23,80]', seed: 1, shard_index: 0, shard_count: 1, workers: 1, status: 'done', checkpoint: '[4]', started_at: 'x' })
    .returning('id')
    .executeTakeFirstOrThrow();
  const surveyId = Number(survey.id);
  const endpointIds: number[] = [];
  for (const [ip, ipNum, port] of [['127.68.2.1', 0x7f440201, 23], ['127.68.2.2', 0x7f440202, 80]] as const) {
    const e = await raw.insertInto('endpoints').values({ survey_id: surveyId, ip, ip_num: ipNum, port, seen_at: 'x', source: 'connect' }).returning('id').executeTakeFirstOrThrow();
    endpointIds.push(Number(e.id));
  }
  const o: Omit<Observation, 'kind'> = {
    surveyId, endpointId: endpointIds[0]!, ip: '127.68.2.1', port: 23, module: 'telnet', status: 'success', recognised: true, fields: { banner: 'login:' }, raw: '', bytesReceived: 6, observedAt: 'x', durationMs: 1, source: 'grab',
  };
  await raw
    .insertInto('observations')
    .values({ survey_id: o.surveyId, endpoint_id: o.endpointId, ip: o.ip, ip_num: 0x7f440201, port: o.port, module: o.module, status: o.status, recognised: 1, fields: JSON.stringify(o.fields), raw: o.raw, bytes_received: o.bytesReceived, error: null, observed_at: o.observedAt, duration_ms: o.durationMs, source: o.source })
    .execute();
  const body: Omit<Identification, 'id'> = {
    kind: 'identification', surveyId, endpointId: endpointIds[0]!, ip: '127.68.2.1', port: 23, protocol: 'telnet', type: 'router', vendor: 'NEC', product: null, version: null, device: null, os: null, service: null, cpe: [], confidence: 0.5, rule: null, rules: [], catalogue: null, identifiedAt: '2026-12-01T00:00:00.000Z',
  };
  await raw
    .insertInto('identifications')
    .values({ survey_id: surveyId, endpoint_id: endpointIds[0]!, ip: body.ip, ip_num: 0x7f440201, port: 23, protocol: 'telnet', type: 'router', vendor: 'NEC', product: null, version: null, cpe: '[]', confidence: 0.5, rule: null, body: JSON.stringify(body), identified_at: body.identifiedAt })
    .execute();
}
