/**
 * One conformance suite for every back end: the same calls must give the same results on SQLite
 * and on PostgreSQL. PostgreSQL runs when IOTCLEAN_TEST_POSTGRES names a server (CI starts one);
 * each run works in a schema of its own and drops it afterwards.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { IotcleanError } from '../core/errors.js';
import type { Endpoint } from '../core/records.js';
import { openStore, type NewSurvey, type Store } from './store.js';

const dir = mkdtempSync(join(tmpdir(), 'iotclean-store-'));
const pgUrl = process.env.IOTCLEAN_TEST_POSTGRES;
const schema = `iotclean_test_${process.pid}`;
if (!pgUrl) console.log('store tests: PostgreSQL back end skipped (set IOTCLEAN_TEST_POSTGRES=postgres://... to run it)');

function withSchema(url: string): string {
  return `${url}${url.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c search_path=${schema}`)}`;
}

afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  if (pgUrl) {
    const client = new pg.Client({ connectionString: pgUrl });
    await client.connect();
    await client.query(`drop schema if exists ${schema} cascade`);
    await client.end();
  }
});

const backends: [string, () => Promise<string>][] = [['sqlite', async () => join(dir, 'conformance.db')]];
if (pgUrl) {
  backends.push([
    'postgres',
    async () => {
      const client = new pg.Client({ connectionString: pgUrl });
      await client.connect();
      await client.query(`create schema if not exists ${schema}`);
      await client.end();
      return withSchema(pgUrl);
    },
  ]);
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

describe.each(backends)('store on %s', (_name, location) => {
  let store: Store;
  let where: string;

  it('migrates a new database, and opening it again is harmless', async () => {
    where = await location();
    await (await openStore(where)).close();
    store = await openStore(where);
    expect(await store.listSurveys()).toEqual([]);
  });

  it('saves a plan version once and returns its body', async () => {
    const plan = { digest: 'd1', version: '2026.11-1', name: 'default', body: { ports: [23, 80], note: 'テスト' } };
    await store.savePlan(plan);
    await store.savePlan(plan);
    expect(await store.getPlan('d1')).toEqual(plan.body);
    expect(await store.getPlan('nope')).toBeUndefined();
  });

  it('round-trips a survey with typed fields', async () => {
    const id = await store.createSurvey(survey);
    const row = await store.getSurvey(id);
    expect(row).toMatchObject({ ...survey, id, status: 'running', checkpoint: [0, 0], finishedAt: null, probesSent: 0, elapsedMs: 0 });
    expect(typeof row!.seed).toBe('number');
  });

  it('records progress without duplicates and orders endpoints by address', async () => {
    await store.recordProgress(1, [ep('127.10.0.10', 80), ep('127.10.0.9', 23)], [5, 4]);
    await store.recordProgress(1, [ep('127.10.0.10', 80), ep('127.10.0.9', 80)], [9, 8], 17);
    const eps = await store.endpoints(1);
    expect(eps.map((e) => `${e.ip}:${e.port}`)).toEqual(['127.10.0.9:23', '127.10.0.9:80', '127.10.0.10:80']);
    expect(eps[0]).toEqual(ep('127.10.0.9', 23));
    expect(await store.getSurvey(1)).toMatchObject({ checkpoint: [9, 8], probesSent: 17 });
  });

  it('finishing without stats keeps the checkpoint; with stats records them', async () => {
    await store.finishSurvey(1, 'interrupted');
    expect(await store.getSurvey(1)).toMatchObject({ status: 'interrupted', checkpoint: [9, 8] });
    await store.finishSurvey(1, 'done', { probesSent: 512, elapsedMs: 1234.6, checkpoint: [86, 85] });
    const row = await store.getSurvey(1);
    expect(row).toMatchObject({ status: 'done', probesSent: 512, elapsedMs: 1235, checkpoint: [86, 85] });
    expect(row!.finishedAt).toMatch(/^\d{4}-\d\d-\d\dT/);
  });

  it('imports all or nothing', async () => {
    async function* good() {
      for (let i = 1; i <= 2500; i++) yield ep(`127.20.${i >> 8}.${i & 255}`, 23);
    }
    const ok = await store.importSurvey({ ...survey, workers: 0 }, good());
    expect(ok).toEqual({ surveyId: 2, count: 2500 });
    expect(await store.endpoints(2)).toHaveLength(2500);

    async function* bad() {
      yield ep('127.30.0.1', 23);
      throw new IotcleanError('E_IMPORT_FILE', 'broken line', { file: 'x.json', line: 2 });
    }
    await expect(store.importSurvey(survey, bad())).rejects.toThrow('broken line');
    expect((await store.listSurveys()).map((s) => s.id)).toEqual([1, 2]);
    expect(await store.endpoints(1)).toHaveLength(3);
  });

  it('closes', async () => {
    await store.close();
  });
});

describe('store errors', () => {
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
