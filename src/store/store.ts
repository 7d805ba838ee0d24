/**
 * The query layer. Callers use these functions and never write SQL, so the PostgreSQL back end
 * can be added under them without touching callers. SQLite (better-sqlite3) is the embedded
 * default: one file under ./data.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, Migrator, PostgresDialect, SqliteDialect, sql, type MigrationProvider, type Selectable } from 'kysely';
import pg from 'pg';
import { IotcleanError } from '../core/errors.js';
import type { Ipv4Range } from '../core/ip.js';
import type { Endpoint, EndpointSource } from '../core/records.js';
import { parseIpv4 } from '../core/ip.js';
import { migrations, type Dialect } from './migrations.js';
import type { Database, SurveyStatus, SurveyTable } from './schema.js';

export const DEFAULT_DB = 'data/iotclean.db';

export interface SurveyRow {
  readonly id: number;
  readonly planDigest: string;
  readonly scope: { readonly source: string; readonly ranges: readonly Ipv4Range[] };
  readonly targets: readonly Ipv4Range[];
  readonly ports: readonly number[];
  readonly seed: number;
  readonly shard: { readonly index: number; readonly count: number };
  readonly workers: number;
  readonly status: SurveyStatus;
  readonly checkpoint: readonly number[];
  readonly startedAt: string;
  readonly finishedAt: string | null;
  readonly probesSent: number;
  readonly elapsedMs: number;
}

export type NewSurvey = Omit<SurveyRow, 'id' | 'status' | 'checkpoint' | 'finishedAt' | 'probesSent' | 'elapsedMs'>;

export interface Store {
  readonly dialect: Dialect;
  readonly db: Kysely<Database>;
  /** Save a plan version (idempotent by digest). */
  savePlan(plan: { digest: string; version: string; name: string; body: unknown }): Promise<void>;
  getPlan(digest: string): Promise<unknown>;
  createSurvey(s: NewSurvey): Promise<number>;
  getSurvey(id: number): Promise<SurveyRow | undefined>;
  listSurveys(): Promise<SurveyRow[]>;
  /** Write found endpoints and the new checkpoint in one transaction (resume depends on it). */
  recordProgress(surveyId: number, endpoints: readonly Endpoint[], checkpoint: readonly number[], probesSent?: number): Promise<void>;
  /** Mark a survey ended; without stats only the status changes (the checkpoint is kept for resume). */
  finishSurvey(id: number, status: SurveyStatus, stats?: { probesSent: number; elapsedMs: number; checkpoint: readonly number[] }): Promise<void>;
  endpoints(surveyId: number): Promise<Endpoint[]>;
  /**
   * Store imported scanner output as a finished survey, all or nothing: if the stream throws,
   * the transaction rolls back and what was stored before is untouched.
   */
  importSurvey(s: NewSurvey, endpoints: AsyncIterable<Endpoint>): Promise<{ surveyId: number; count: number }>;
  close(): Promise<void>;
}

/** True when a --db location names a PostgreSQL server rather than a SQLite file. */
export function isPostgresUrl(location: string): boolean {
  return /^postgres(ql)?:\/\//.test(location);
}

/**
 * Open the store at a location: a SQLite file path (the embedded default) or a postgres:// URL
 * (many users and workers). Both get the same schema and the same queries.
 */
export async function openStore(location: string = DEFAULT_DB): Promise<Store> {
  return isPostgresUrl(location) ? openPostgres(location) : openSqlite(location);
}

async function openSqlite(location: string): Promise<Store> {
  let sqlite: SQLite.Database;
  try {
    if (location !== ':memory:') mkdirSync(dirname(location), { recursive: true });
    sqlite = new SQLite(location);
    // WAL + NORMAL: a committed transaction survives a killed process, which resume relies on.
    sqlite.pragma('journal_mode = WAL');
    sqlite.pragma('synchronous = NORMAL');
    sqlite.pragma('foreign_keys = ON');
    sqlite.pragma('busy_timeout = 5000');
  } catch (e) {
    throw new IotcleanError('E_STORE', `cannot open database ${location}: ${(e as Error).message}`, {
      file: location,
      hint: 'check the path and its permissions, or pass another --db',
    });
  }
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: sqlite }) });
  await migrate(db, 'sqlite', location);
  return createStore(db, 'sqlite');
}

/** The URL without its password, for messages. */
function redact(url: string): string {
  return url.replace(/\/\/([^:/@]+):[^@]*@/, '//$1:***@');
}

async function openPostgres(url: string): Promise<Store> {
  const pool = new pg.Pool({ connectionString: url, max: 4 });
  // An idle client losing its server must not crash the process; the next query reports it.
  pool.on('error', () => {});
  try {
    const client = await pool.connect();
    client.release();
  } catch (e) {
    await pool.end().catch(() => {});
    throw new IotcleanError('E_STORE', `cannot connect to ${redact(url)}: ${(e as Error).message}`, {
      hint: 'check that the PostgreSQL server runs and the URL, user and database are right',
    });
  }
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  await migrate(db, 'postgres', redact(url));
  return createStore(db, 'postgres');
}

async function migrate(db: Kysely<Database>, dialect: Dialect, location: string): Promise<void> {
  const provider: MigrationProvider = { getMigrations: async () => migrations(dialect) };
  // On PostgreSQL the migration log lives in the schema the connection works in (its search_path),
  // not wherever Kysely's introspection first finds a table of that name.
  const migrationTableSchema =
    dialect === 'postgres' ? (await sql<{ s: string }>`select current_schema() as s`.execute(db)).rows[0]?.s : undefined;
  const { error } = await new Migrator({ db, provider, ...(migrationTableSchema ? { migrationTableSchema } : {}) }).migrateToLatest();
  if (error) {
    throw new IotcleanError('E_STORE', `cannot migrate database ${location}: ${(error as Error).message}`, {
      file: location,
    });
  }
}

function toSurvey(r: Selectable<SurveyTable>): SurveyRow {
  return {
    id: Number(r.id),
    planDigest: r.plan_digest,
    scope: JSON.parse(r.scope) as SurveyRow['scope'],
    targets: JSON.parse(r.targets) as Ipv4Range[],
    ports: JSON.parse(r.ports) as number[],
    seed: Number(r.seed),
    shard: { index: r.shard_index, count: r.shard_count },
    workers: r.workers,
    status: r.status,
    checkpoint: JSON.parse(r.checkpoint) as number[],
    startedAt: r.started_at,
    finishedAt: r.finished_at,
    probesSent: Number(r.probes_sent),
    elapsedMs: Number(r.elapsed_ms),
  };
}

function createStore(db: Kysely<Database>, dialect: Dialect): Store {
  return {
    dialect,
    db,
    async savePlan(plan) {
      await db
        .insertInto('plan_versions')
        .values({
          digest: plan.digest,
          version: plan.version,
          name: plan.name,
          body: JSON.stringify(plan.body),
          created_at: new Date().toISOString(),
        })
        .onConflict((oc) => oc.column('digest').doNothing())
        .execute();
    },
    async getPlan(digest) {
      const r = await db.selectFrom('plan_versions').select('body').where('digest', '=', digest).executeTakeFirst();
      return r ? (JSON.parse(r.body) as unknown) : undefined;
    },
    async createSurvey(s) {
      const row = await db
        .insertInto('surveys')
        .values({
          plan_digest: s.planDigest,
          scope: JSON.stringify(s.scope),
          targets: JSON.stringify(s.targets),
          ports: JSON.stringify(s.ports),
          seed: s.seed,
          shard_index: s.shard.index,
          shard_count: s.shard.count,
          workers: s.workers,
          status: 'running',
          checkpoint: JSON.stringify(new Array(s.workers).fill(0)),
          started_at: s.startedAt,
          finished_at: null,
        })
        .returning('id')
        .executeTakeFirstOrThrow();
      return Number(row.id);
    },
    async getSurvey(id) {
      const r = await db.selectFrom('surveys').selectAll().where('id', '=', id).executeTakeFirst();
      return r ? toSurvey(r) : undefined;
    },
    async listSurveys() {
      const rows = await db.selectFrom('surveys').selectAll().orderBy('id').execute();
      return rows.map(toSurvey);
    },
    async recordProgress(surveyId, endpoints, checkpoint, probesSent) {
      const write = async (tx: Kysely<Database>) => {
        // Chunked to stay under SQLite's bound-parameter limit.
        for (let i = 0; i < endpoints.length; i += 500) {
          const chunk = endpoints.slice(i, i + 500);
          await tx
            .insertInto('endpoints')
            .values(
              chunk.map((e) => ({
                survey_id: surveyId,
                ip: e.ip,
                ip_num: parseIpv4(e.ip) ?? 0,
                port: e.port,
                seen_at: e.seenAt,
                source: e.source,
              })),
            )
            .onConflict((oc) => oc.columns(['survey_id', 'ip_num', 'port']).doNothing())
            .execute();
        }
        const update = tx.updateTable('surveys').set({ checkpoint: JSON.stringify(checkpoint) });
        await (probesSent === undefined ? update : update.set({ probes_sent: probesSent })).where('id', '=', surveyId).execute();
      };
      // Inside an import the caller's transaction already holds it together.
      await (db.isTransaction ? write(db) : db.transaction().execute(write));
    },
    async finishSurvey(id, status, stats) {
      await db
        .updateTable('surveys')
        .set({ status, finished_at: new Date().toISOString() })
        .$if(stats !== undefined, (q) =>
          q.set({
            probes_sent: stats!.probesSent,
            elapsed_ms: Math.round(stats!.elapsedMs),
            checkpoint: JSON.stringify(stats!.checkpoint),
          }),
        )
        .where('id', '=', id)
        .execute();
    },
    async endpoints(surveyId) {
      const rows = await db
        .selectFrom('endpoints')
        .select(['ip', 'port', 'seen_at', 'source'])
        .where('survey_id', '=', surveyId)
        .orderBy('ip_num')
        .orderBy('port')
        .execute();
      return rows.map((r) => ({ kind: 'endpoint', ip: r.ip, port: r.port, seenAt: r.seen_at, source: r.source as EndpointSource }));
    },
    async importSurvey(s, endpoints) {
      return db.transaction().execute(async (tx) => {
        const inner = createStore(tx, dialect);
        const surveyId = await inner.createSurvey(s);
        let batch: Endpoint[] = [];
        let count = 0;
        for await (const e of endpoints) {
          batch.push(e);
          count++;
          if (batch.length >= 2000) {
            await inner.recordProgress(surveyId, batch, []);
            batch = [];
          }
        }
        await inner.recordProgress(surveyId, batch, []);
        await inner.finishSurvey(surveyId, 'done', { probesSent: 0, elapsedMs: 0, checkpoint: [] });
        return { surveyId, count };
      });
    },
    async close() {
      await db.destroy();
    },
  };
}
