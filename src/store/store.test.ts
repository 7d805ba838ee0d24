/**
 * One conformance suite for every back end: the same calls must give the same results on SQLite
 * and on PostgreSQL. PostgreSQL runs when IOTCLEAN_TEST_POSTGRES names a server (CI starts one);
 * each run works in a schema of its own and drops it afterwards.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kysely, Migrator, PostgresDialect, SqliteDialect, sql } from 'kysely';
import SQLite from 'better-sqlite3';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { IotcleanError } from '../core/errors.js';
import type { Endpoint } from '../core/records.js';
import { migrations } from './migrations.js';
import { pgQuery } from './test-support.js';
import { openStore } from './open.js';
import type { NewSurvey, Store } from './store.js';

const dir = mkdtempSync(join(tmpdir(), 'iotclean-store-'));
const pgUrl = process.env.IOTCLEAN_TEST_POSTGRES;
const schema = `iotclean_test_${process.pid}`;
if (!pgUrl) console.log('store tests: PostgreSQL back end skipped (set IOTCLEAN_TEST_POSTGRES=postgres://... to run it)');

function withSchema(url: string, name = schema): string {
  return `${url}${url.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c search_path=${name}`)}`;
}


afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  if (pgUrl) {
    const client = new pg.Client({ connectionString: pgUrl });
    await client.connect();
    for (const name of [schema, `${schema}_old`, `${schema}_empty`]) await client.query(`drop schema if exists ${name} cascade`);
    await client.end();
  }
});

/** Each back end makes a fresh, empty database (or schema) per name. */
const backends: [string, (name: string) => Promise<string>][] = [['sqlite', async (name) => join(dir, `${name}.db`)]];
if (pgUrl) {
  backends.push([
    'postgres',
    async (name) => {
      const full = name === 'conformance' ? schema : `${schema}_${name}`;
      await pgQuery(pgUrl!, `create schema if not exists ${full}`);
      return withSchema(pgUrl, full);
    },
  ]);
}

/** A raw Kysely handle on a location, for building a database as an older iotclean left it. */
function rawDb(where: string): Kysely<any> {
  return where.startsWith('postgres')
    ? new Kysely<any>({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: where, max: 1 }) }) })
    : new Kysely<any>({ dialect: new SqliteDialect({ database: new SQLite(where) }) });
}

const survey: NewSurvey = {
  planDigest: 'd1',
  scope: { source: 'default', ranges: [{ start: 0x7f000000, end: 0x7fffffff }] },
  targets: [{ start: 0x7f0a0000, end: 0x7f0a00ff }],
  ports: [23, 80],
  seed: 2 ** 31 - 1,
  shard: { index: 1, count: 3 },
  workers: 2,
  startedAt: '2026-11-22T00:00:00.000Z',
};
const ep = (ip: string, port: number): Endpoint => ({ kind: 'endpoint', ip, port, seenAt: '2026-11-22T00:00:01.000Z', source: 'connect' });

const lease = (owner: string, ttlMs = 60_000) => ({ owner, ttlMs });
const ids = (eps: readonly Endpoint[]) => eps.map((e) => e.id);
const strip = (eps: readonly Endpoint[]) => eps.map(({ id: _id, ...rest }) => rest);

describe.each(backends)('store on %s', (_name, location) => {
  let store: Store;
  let where: string;

  it('migrates a new database, and opening it again is harmless', async () => {
    where = await location('conformance');
    await (await openStore(where)).close();
    store = await openStore(where);
    expect(await store.surveys.list()).toEqual([]);
  });

  it('saves a plan version once and returns its body', async () => {
    const plan = { digest: 'd1', version: '2026.11-1', name: 'default', body: { ports: [23, 80], note: 'テスト' } };
    await store.plans.save(plan);
    await store.plans.save(plan);
    expect(await store.plans.get('d1')).toEqual(plan.body);
    expect(await store.plans.get('nope')).toBeUndefined();
  });

  it('round-trips a survey with typed fields, held by its creator', async () => {
    const id = await store.surveys.create(survey, lease('creator'));
    const row = await store.surveys.get(id);
    expect(row).toMatchObject({ ...survey, id, status: 'running', checkpoint: [0, 0], finishedAt: null, probesSent: 0, elapsedMs: 0 });
    expect(row!.lease).toMatchObject({ owner: 'creator' });
    expect(Date.parse(row!.lease!.expiresAt) - Date.parse(row!.lease!.takenAt)).toBe(60_000);
    expect(typeof row!.seed).toBe('number');
  });

  it('records progress without duplicates, orders endpoints by address and gives each a stable id', async () => {
    await store.surveys.recordProgress(1, [ep('127.10.0.10', 80), ep('127.10.0.9', 23)], [5, 4]);
    const firstIds = new Map((await store.endpoints.all(1)).map((e) => [`${e.ip}:${e.port}`, e.id]));
    await store.surveys.recordProgress(1, [ep('127.10.0.10', 80), ep('127.10.0.9', 80)], [9, 8], { probesSent: 17, owner: 'creator' });
    const eps = await store.endpoints.all(1);
    expect(eps.map((e) => `${e.ip}:${e.port}`)).toEqual(['127.10.0.9:23', '127.10.0.9:80', '127.10.0.10:80']);
    expect(strip(eps)[0]).toEqual(ep('127.10.0.9', 23));
    // Re-found on a resumed run: the same row, the same id.
    expect(eps.find((e) => e.ip === '127.10.0.10')!.id).toBe(firstIds.get('127.10.0.10:80'));
    for (const id of ids(eps)) expect(Number.isInteger(id) && id! > 0).toBe(true);
    expect(new Set(ids(eps)).size).toBe(3);
    expect(await store.surveys.get(1)).toMatchObject({ checkpoint: [9, 8], probesSent: 17 });
    // A runner without the lease writes nothing, endpoints included.
    const err = await store.surveys.recordProgress(1, [ep('127.10.0.77', 80)], [50, 50], { owner: 'not-the-holder' }).catch((e: unknown) => e);
    expect((err as IotcleanError).code).toBe('E_BUSY');
    expect(await store.endpoints.count(1)).toBe(3);
    expect(await store.surveys.get(1)).toMatchObject({ checkpoint: [9, 8] });
  });

  it('refuses an endpoint whose address is not IPv4, storing nothing of its batch', async () => {
    for (const bad of ['999.1.1.1', '', 'fe80::1']) {
      const err = await store.surveys.recordProgress(1, [ep('127.10.0.50', 23), ep(bad, 23)], [99, 99]).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(IotcleanError);
      expect((err as IotcleanError).code).toBe('E_STORE');
    }
    expect(await store.endpoints.count(1)).toBe(3);
    expect(await store.surveys.get(1)).toMatchObject({ checkpoint: [9, 8] });
  });

  it('one lease holder at a time: refused while live, renewed by its holder, taken once lapsed', async () => {
    expect(await store.leases.acquire(1, lease('second'))).toMatchObject({ ok: false, survey: { id: 1, lease: { owner: 'creator' } } });
    expect(await store.leases.renew(1, lease('second'))).toBe(false);
    expect(await store.leases.renew(1, lease('creator', 1))).toBe(true);
    // The creator's lease now lapses within a millisecond; the survey reads interrupted, not running.
    await new Promise((r) => setTimeout(r, 20));
    expect((await store.surveys.get(1))!.status).toBe('interrupted');
    expect(await store.leases.acquire(1, lease('second'))).toEqual({ ok: true });
    expect(await store.surveys.get(1)).toMatchObject({ status: 'running', lease: { owner: 'second' } });
    // A runner known dead can be replaced at once, and only that one.
    expect(await store.leases.acquire(1, lease('third'), { replacing: 'someone-else' })).toMatchObject({ ok: false });
    expect(await store.leases.acquire(1, lease('third'), { replacing: 'second' })).toEqual({ ok: true });
    // The runner that lost it cannot finish the survey over the new holder.
    expect(await store.surveys.finish(1, 'interrupted', undefined, 'second')).toBe(false);
    expect((await store.surveys.get(1))!.status).toBe('running');
    await store.leases.release(1, 'third');
    expect(await store.surveys.get(1)).toMatchObject({ status: 'interrupted', lease: null });
  });

  it('racing runners: exactly one takes the lease', async () => {
    const id = await store.surveys.create(survey);
    const results = await Promise.all(Array.from({ length: 8 }, (_, i) => store.leases.acquire(id, lease(`racer-${i}`))));
    expect(results.filter((r) => r.ok)).toHaveLength(1);
    await store.surveys.finish(id, 'interrupted');
  });

  it('finishing without stats keeps the checkpoint; with stats records them; a done survey cannot be leased', async () => {
    expect(await store.surveys.finish(1, 'interrupted')).toBe(true);
    expect(await store.surveys.get(1)).toMatchObject({ status: 'interrupted', checkpoint: [9, 8] });
    await store.surveys.finish(1, 'done', { probesSent: 512, elapsedMs: 1234.6, checkpoint: [86, 85] });
    const row = await store.surveys.get(1);
    expect(row).toMatchObject({ status: 'done', probesSent: 512, elapsedMs: 1235, checkpoint: [86, 85], lease: null });
    expect(row!.finishedAt).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(await store.leases.acquire(1, lease('late'))).toMatchObject({ ok: false, survey: { status: 'done' } });
  });

  it('imports all or nothing, recording the ports the rows hold', async () => {
    async function* good() {
      for (let i = 1; i <= 2500; i++) yield ep(`127.20.${i >> 8}.${i & 255}`, i % 2 ? 23 : 8080);
    }
    const { ports: _ports, ...imported } = survey;
    const ok = await store.surveys.import({ ...imported, workers: 0 }, good());
    expect(ok).toEqual({ surveyId: 3, count: 2500, ports: [23, 8080] });
    expect(await store.surveys.get(3)).toMatchObject({ status: 'done', ports: [23, 8080] });
    expect(await store.endpoints.all(3)).toHaveLength(2500);

    async function* bad() {
      yield ep('127.30.0.1', 23);
      throw new IotcleanError('E_IMPORT_FILE', 'broken line', { file: 'x.json', line: 2 });
    }
    await expect(store.surveys.import(imported, bad())).rejects.toThrow('broken line');
    expect((await store.surveys.list()).map((s) => s.id)).toEqual([1, 2, 3]);
    expect(await store.endpoints.all(1)).toHaveLength(3);
  });

  it('streams endpoints in pages (keyset) in the same order as one read, and counts them per survey', async () => {
    const all = await store.endpoints.all(3);
    for (const pageSize of [7, 2500, 4000]) {
      const paged: Endpoint[] = [];
      for await (const e of store.endpoints.list(3, { pageSize })) paged.push(e);
      expect(paged).toEqual(all);
    }
    expect(await store.endpoints.count(3)).toBe(2500);
    expect(await store.endpoints.count(2)).toBe(0);
    expect(await store.endpoints.countBySurvey()).toEqual(new Map([[1, 3], [3, 2500]]));
  });

  it('closes', async () => {
    await store.close();
  });

  it('a read-only open of an empty database fails and leaves it empty', async () => {
    const empty = await location('empty');
    const err = await openStore(empty, { readOnly: true }).catch((e: unknown) => e);
    expect((err as IotcleanError).code).toBe('E_NOT_FOUND');
    if (empty.startsWith('postgres')) {
      const raw = rawDb(empty);
      const tables = await sql<{ n: string }>`select count(*) as n from information_schema.tables where table_schema = ${`${schema}_empty`}`.execute(raw);
      await raw.destroy();
      expect(Number(tables.rows[0]!.n)).toBe(0);
    } else {
      expect(existsSync(empty)).toBe(false);
    }
  });

  it('upgrades a store made before endpoint ids, keeping its rows and their uniqueness (read-only open included)', async () => {
    const old = await location('old');
    const raw = rawDb(old);
    const dialect = old.startsWith('postgres') ? 'postgres' : 'sqlite';
    const first = { '0001-survey-foundation': migrations(dialect)['0001-survey-foundation']! };
    const schemaName = dialect === 'postgres' ? `${schema}_old` : undefined;
    const { error } = await new Migrator({ db: raw, provider: { getMigrations: async () => first }, ...(schemaName ? { migrationTableSchema: schemaName } : {}) }).migrateToLatest();
    expect(error).toBeUndefined();
    await raw.insertInto('plan_versions').values({ digest: 'd0', version: 'v', name: 'n', body: '{}', created_at: 'x' }).execute();
    await raw
      .insertInto('surveys')
      .values({ plan_digest: 'd0', scope: '{}', targets: '[]', ports: '[23]', seed: 1, shard_index: 0, shard_count: 1, workers: 1, status: 'running', checkpoint: '[4]', started_at: 'x' })
      .execute();
    const rows = [['127.0.0.2', 0x7f000002, 23], ['127.0.0.1', 0x7f000001, 23]] as const;
    for (const [ip, ipNum, port] of rows) {
      await raw.insertInto('endpoints').values({ survey_id: 1, ip, ip_num: ipNum, port, seen_at: 'x', source: 'connect' }).execute();
    }
    await raw.destroy();

    const reader = await openStore(old, { readOnly: true });
    try {
      const eps = await reader.endpoints.all(1);
      expect(eps.map((e) => e.ip)).toEqual(['127.0.0.1', '127.0.0.2']);
      expect(new Set(eps.map((e) => typeof e.id))).toEqual(new Set(['number']));
      // A running survey from before leases has no runner anyone can vouch for.
      expect((await reader.surveys.get(1))!.status).toBe('interrupted');
    } finally {
      await reader.close();
    }
    const writer = await openStore(old);
    try {
      await writer.surveys.recordProgress(1, [ep('127.0.0.1', 23), ep('127.0.0.3', 23)], [5]);
      expect((await writer.endpoints.all(1)).map((e) => e.ip)).toEqual(['127.0.0.1', '127.0.0.2', '127.0.0.3']);
      const raw2 = rawDb(old);
      await expect(raw2.insertInto('endpoints').values({ survey_id: 1, ip: '127.0.0.1', ip_num: 0x7f000001, port: 23, seen_at: 'x', source: 'connect' }).execute()).rejects.toThrow();
      await raw2.destroy();
    } finally {
      await writer.close();
    }
  });
});

describe('store errors', () => {
  const codeOf = async (p: Promise<unknown>) => {
    const err = await p.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(IotcleanError);
    return err as IotcleanError;
  };

  it('refuses an empty --db instead of using a throwaway database', async () => {
    expect((await codeOf(openStore(''))).code).toBe('E_ARGS');
    expect((await codeOf(openStore('   '))).code).toBe('E_ARGS');
  });

  it('refuses a mistyped or unknown URL scheme, never creating a file, never showing the password', async () => {
    const before = readdirSync(process.cwd());
    for (const location of ['postgress://user:hunter2@127.0.0.1/db', 'mysql://root:hunter2@127.0.0.1/x', 'sqlite://x.db', 'file:x.db']) {
      const err = await codeOf(openStore(location));
      expect(err.code).toBe('E_ARGS');
      expect(err.format()).not.toContain('hunter2');
      expect(err.format()).toContain(location.split(':')[0]);
    }
    expect(readdirSync(process.cwd())).toEqual(before);
  });

  it('a read-only open of a missing database names it and creates nothing', async () => {
    const path = join(dir, 'ro', 'missing.db');
    const err = await codeOf(openStore(path, { readOnly: true }));
    expect(err.code).toBe('E_NOT_FOUND');
    expect(err.format()).toContain(path);
    expect(existsSync(join(dir, 'ro'))).toBe(false);
    const flat = join(dir, 'missing.db');
    await codeOf(openStore(flat, { readOnly: true }));
    expect(existsSync(flat)).toBe(false);
  });

  it('a read-only store cannot write', async () => {
    const path = join(dir, 'ro-write.db');
    await (await openStore(path)).close();
    const ro = await openStore(path, { readOnly: true });
    try {
      await expect(ro.plans.save({ digest: 'x', version: 'v', name: 'n', body: {} })).rejects.toThrow(/readonly/i);
    } finally {
      await ro.close();
    }
  });

  it('creates no folders for a path other than the default: the parent must exist', async () => {
    const path = join(dir, 'no', 'such', 'folder', 'x.db');
    const err = await codeOf(openStore(path));
    expect(err.code).toBe('E_STORE');
    expect(err.format()).toContain(join(dir, 'no', 'such', 'folder'));
    expect(existsSync(join(dir, 'no'))).toBe(false);
  });

  it('fails at once under /proc, where a recursive mkdir never ends', async () => {
    const err = await codeOf(openStore('/proc/x/y.db'));
    expect(err.code).toBe('E_STORE');
    expect(err.format()).toContain('/proc/x');
  }, 20_000);

  it('names an unusable SQLite path', async () => {
    const notADir = join(dir, 'plain-file');
    writeFileSync(notADir, 'x');
    const path = join(notADir, 'x.db');
    const err = await openStore(path).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IotcleanError);
    expect((err as IotcleanError).code).toBe('E_STORE');
    expect((err as IotcleanError).format()).toContain(path);
  });

  it('reports an unreachable PostgreSQL server without its password', async () => {
    const err = await openStore('postgres://me:secret@127.0.0.1:1/nodb').catch((e: unknown) => e);
    expect((err as IotcleanError).code).toBe('E_STORE');
    expect((err as IotcleanError).message).toContain('me:***@');
    expect((err as IotcleanError).message).not.toContain('secret');
  });
});
