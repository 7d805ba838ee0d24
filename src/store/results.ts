/**
 * The grab and identify repositories: observations (one per endpoint and module tried) and
 * identifications (per endpoint, and one host row per address). Every record is validated against
 * src/core/schemas.ts before anything is written, so a bad record costs nothing of its batch.
 *
 * Hostile text: PostgreSQL's text type refuses U+0000, so flat text columns (error, vendor,
 * product, ...) get NUL and lone surrogates replaced by U+FFFD on both back ends alike
 * (storableText). JSON columns (fields, body, cpe) keep them as JSON escapes and round-trip
 * exactly; an identification is read back from its body, so it round-trips whole.
 */
import { sql, type Kysely } from 'kysely';
import { IotcleanError } from '../core/errors.js';
import { checkIdentification, checkObservation, storableText } from '../core/schemas.js';
import { parseIpv4 } from '../core/ip.js';
import type { GrabStatus, Identification, Observation } from '../core/records.js';
import type { Database } from './schema.js';

export interface ObservationRepository {
  /** Validate and write a batch in one transaction; returns the new ids in order. */
  add(observations: readonly Observation[]): Promise<number[]>;
  /**
   * A survey's observations by address, port, then id, read page by page (keyset), so any size
   * streams. With `endpointId`, only that endpoint's.
   */
  list(surveyId: number, options?: { endpointId?: number; pageSize?: number }): AsyncIterable<Observation>;
  count(surveyId: number): Promise<number>;
  /** Ids of the endpoints of a survey that have at least one observation (what resume skips). */
  endpointIds(surveyId: number): Promise<Set<number>>;
}

export interface IdentificationRepository {
  /** Validate and write a batch in one transaction; returns the new ids in order. */
  add(rows: readonly Identification[]): Promise<number[]>;
  /**
   * Replace everything stored for one address of a survey (its endpoint rows and host row) with
   * `rows`, in one transaction: how the host merge rewrites the endpoint rows it enriched, and
   * why running identify again on a survey never duplicates.
   */
  replaceHost(surveyId: number, ip: string, rows: readonly Identification[]): Promise<void>;
  /** Endpoint rows (`level: 'endpoint'`, the default), host rows, or both, by address then id (keyset). */
  list(surveyId: number, options?: { level?: 'endpoint' | 'host' | 'all'; pageSize?: number }): AsyncIterable<Identification>;
  /** Host rows (one per address). */
  hosts(surveyId: number): AsyncIterable<Identification>;
  count(surveyId: number, options?: { level?: 'endpoint' | 'host' | 'all' }): Promise<number>;
  /** How many host rows per device type or vendor; null is "unknown". */
  countBy(surveyId: number, by: 'type' | 'vendor', options?: { level?: 'endpoint' | 'host' }): Promise<Map<string | null, number>>;
}

const defaultPageSize = 2000;
// SQLite allows 32766 bound parameters; 17 columns a row stays well under it.
const insertChunk = 500;

function ipNum(ip: string): number {
  // Validated by the schema already; never 0 for a bad address.
  return parseIpv4(ip)!;
}

function observationRow(o: Observation) {
  return {
    survey_id: o.surveyId,
    endpoint_id: o.endpointId,
    ip: o.ip,
    ip_num: ipNum(o.ip),
    port: o.port,
    module: o.module,
    status: o.status,
    recognised: o.recognised ? 1 : 0,
    fields: JSON.stringify(o.fields),
    raw: o.raw,
    bytes_received: o.bytesReceived,
    error: storableText(o.error ?? null),
    observed_at: o.observedAt,
    duration_ms: o.durationMs,
    source: o.source,
  };
}

function identificationRow(r: Identification) {
  const { id: _id, ...body } = r;
  return {
    survey_id: r.surveyId,
    endpoint_id: r.endpointId,
    ip: r.ip,
    ip_num: ipNum(r.ip),
    port: r.port,
    protocol: storableText(r.protocol),
    type: r.type,
    vendor: storableText(r.vendor),
    product: storableText(r.product),
    version: storableText(r.version),
    cpe: JSON.stringify(r.cpe),
    confidence: r.confidence,
    rule: storableText(r.rule),
    body: JSON.stringify(body),
    identified_at: r.identifiedAt,
  };
}

/** Insert rows in chunks and return their ids in order (both back ends support RETURNING). */
async function insertReturningIds<T extends 'observations' | 'identifications'>(db: Kysely<Database>, table: T, rows: readonly Record<string, unknown>[]): Promise<number[]> {
  const ids: number[] = [];
  for (let i = 0; i < rows.length; i += insertChunk) {
    const got = await db
      .insertInto(table)
      .values(rows.slice(i, i + insertChunk) as never)
      .returning('id')
      .execute();
    // Each engine returns a multi-row insert's ids in insertion order.
    for (const r of got) ids.push(Number((r as { id: unknown }).id));
  }
  return ids;
}

function inTransaction<T>(db: Kysely<Database>, fn: (tx: Kysely<Database>) => Promise<T>): Promise<T> {
  return db.isTransaction ? fn(db) : db.transaction().execute(fn);
}

export function createObservationRepository(db: Kysely<Database>): ObservationRepository {
  const repo: ObservationRepository = {
    async add(observations) {
      // Checked before the transaction opens, so a bad record costs nothing already stored.
      const rows = observations.map((o) => observationRow(checkObservation(o)));
      if (rows.length === 0) return [];
      return inTransaction(db, (tx) => insertReturningIds(tx, 'observations', rows));
    },
    async *list(surveyId, options = {}) {
      const pageSize = options.pageSize ?? defaultPageSize;
      let after: readonly [number, number, number] | undefined;
      for (;;) {
        const rows = await db
          .selectFrom('observations')
          .selectAll()
          .where('survey_id', '=', surveyId)
          .$if(options.endpointId !== undefined, (q) => q.where('endpoint_id', '=', options.endpointId!))
          .$if(after !== undefined, (q) => q.where(({ eb, refTuple, tuple }) => eb(refTuple('ip_num', 'port', 'id'), '>', tuple(after![0], after![1], after![2]))))
          .orderBy('ip_num')
          .orderBy('port')
          .orderBy('id')
          .limit(pageSize)
          .execute();
        for (const r of rows) {
          yield {
            kind: 'observation',
            id: Number(r.id),
            surveyId: r.survey_id === null ? null : Number(r.survey_id),
            endpointId: r.endpoint_id === null ? null : Number(r.endpoint_id),
            ip: r.ip,
            port: r.port,
            module: r.module,
            status: r.status as GrabStatus,
            recognised: Number(r.recognised) === 1,
            fields: JSON.parse(r.fields) as Record<string, unknown>,
            raw: r.raw,
            bytesReceived: Number(r.bytes_received),
            ...(r.error !== null ? { error: r.error } : {}),
            observedAt: r.observed_at,
            durationMs: Number(r.duration_ms),
            source: r.source as Observation['source'],
          };
        }
        const last = rows.at(-1);
        if (!last || rows.length < pageSize) return;
        after = [Number(last.ip_num), last.port, Number(last.id)];
      }
    },
    async count(surveyId) {
      const r = await db.selectFrom('observations').select((eb) => eb.fn.countAll().as('n')).where('survey_id', '=', surveyId).executeTakeFirst();
      return Number(r?.n ?? 0);
    },
    async endpointIds(surveyId) {
      const rows = await db.selectFrom('observations').select('endpoint_id').distinct().where('survey_id', '=', surveyId).where('endpoint_id', 'is not', null).execute();
      return new Set(rows.map((r) => Number(r.endpoint_id)));
    },
  };
  return repo;
}

const levelFilter = (level: 'endpoint' | 'host' | 'all') => (level === 'endpoint' ? sql<boolean>`port is not null` : level === 'host' ? sql<boolean>`port is null` : sql<boolean>`1 = 1`);

export function createIdentificationRepository(db: Kysely<Database>): IdentificationRepository {
  const repo: IdentificationRepository = {
    async add(rows) {
      const values = rows.map((r) => identificationRow(checkIdentification(r)));
      if (values.length === 0) return [];
      return inTransaction(db, (tx) => insertReturningIds(tx, 'identifications', values));
    },
    async replaceHost(surveyId, ip, rows) {
      const values = rows.map((r) => identificationRow(checkIdentification(r)));
      const num = parseIpv4(ip);
      if (num === undefined || values.some((v) => v.ip_num !== num || v.survey_id !== surveyId)) {
        throw new IotcleanError('E_STORE', `identifications for ${ip} in survey ${surveyId} refused: every row must belong to that survey and address; nothing was changed`, {
          hint: 'this is a bug in the identify stage',
        });
      }
      await inTransaction(db, async (tx) => {
        await tx.deleteFrom('identifications').where('survey_id', '=', surveyId).where('ip_num', '=', num).execute();
        await insertReturningIds(tx, 'identifications', values);
      });
    },
    async *list(surveyId, options = {}) {
      const pageSize = options.pageSize ?? defaultPageSize;
      const level = options.level ?? 'endpoint';
      let after: readonly [number, number] | undefined;
      for (;;) {
        const rows = await db
          .selectFrom('identifications')
          .select(['id', 'ip_num', 'body'])
          .where('survey_id', '=', surveyId)
          .where(levelFilter(level))
          .$if(after !== undefined, (q) => q.where(({ eb, refTuple, tuple }) => eb(refTuple('ip_num', 'id'), '>', tuple(after![0], after![1]))))
          .orderBy('ip_num')
          .orderBy('id')
          .limit(pageSize)
          .execute();
        for (const r of rows) yield { ...(JSON.parse(r.body) as Omit<Identification, 'id'>), id: Number(r.id) };
        const last = rows.at(-1);
        if (!last || rows.length < pageSize) return;
        after = [Number(last.ip_num), Number(last.id)];
      }
    },
    hosts(surveyId) {
      return repo.list(surveyId, { level: 'host' });
    },
    async count(surveyId, options = {}) {
      const r = await db
        .selectFrom('identifications')
        .select((eb) => eb.fn.countAll().as('n'))
        .where('survey_id', '=', surveyId)
        .where(levelFilter(options.level ?? 'endpoint'))
        .executeTakeFirst();
      return Number(r?.n ?? 0);
    },
    async countBy(surveyId, by, options = {}) {
      const rows = await db
        .selectFrom('identifications')
        .select([by, (eb) => eb.fn.countAll().as('n')])
        .where('survey_id', '=', surveyId)
        .where(levelFilter(options.level ?? 'host'))
        .groupBy(by)
        .execute();
      return new Map(rows.map((r) => [(r as Record<string, unknown>)[by] as string | null, Number(r.n)]));
    },
  };
  return repo;
}
