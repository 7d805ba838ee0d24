/**
 * The findings repository (src/findings/types.ts FindingRepository): one row per (kind, ip, port,
 * period). Every finding of a batch is validated (src/findings/schema.ts) before the transaction
 * opens, so a bad record stores nothing of its batch.
 *
 * Deduplication: a finding whose key is already stored (or appears earlier in the same batch) is
 * not stored again; the stored one is kept with its id, device, details and attribution, its
 * evidence extended with the new references (up to maxEvidence, first ones kept) and its
 * observedAt the earlier of the two (records may arrive out of order, the first observation wins).
 *
 * Bulk writes: chunked multi-row inserts in one transaction; the keys already stored are read per
 * chunk with one query, and rows are updated only when the merge changed something. A concurrent
 * writer inserting the same key is absorbed (insert … on conflict do nothing, then merged).
 *
 * Hostile text lives only in the JSON `body` (JSON.stringify escapes NUL and lone surrogates), so
 * it reads back exactly on both back ends; the flat columns hold validated plain values only.
 */
import { CompiledQuery, sql, type Kysely, type Selectable } from 'kysely';
import { parseIpv4 } from '../core/ip.js';
import type { EvidenceRef, Finding, HoldReason } from '../core/records.js';
import { checkFinding, maxEvidence } from '../findings/schema.js';
import type { FindingFilter, FindingRepository } from '../findings/types.js';
import type { Dialect } from './migrations.js';
import { addToRemediationKeys } from './remediation-keys.js';
import { facetsOf, rollupKeyOf, rollupRows, rollups, type RollupRowOut, type RollupTableName } from './finding-facets.js';
import type { Database, FindingTable } from './schema.js';

const defaultPageSize = 2000;
// 18 columns a row: 1,000 rows bind 18,000 parameters, under SQLite's 32,766 and PostgreSQL's 65,535.
const insertChunk = 1000;

type Row = Omit<Selectable<FindingTable>, 'id'> & { month: string };

const keyOf = (kind: string, ipNum: number, port: number, period: string): string => `${kind}|${ipNum}|${port}|${period}`;

function rowOf(f: Finding): Row {
  const { id: _id, observedAt, evidence, isp, prefixOwner, held, ...rest } = f;
  return {
    kind: f.kind,
    ip: f.ip,
    ip_num: parseIpv4(f.ip)!,
    port: f.port ?? 0,
    period: f.period,
    severity: f.severity,
    survey_id: f.surveyId,
    isp,
    prefix_owner: prefixOwner,
    held,
    observed_at: observedAt,
    evidence: JSON.stringify(evidence),
    body: JSON.stringify(rest),
    ...facetsOf(f),
  };
}

/** A stored row as the Finding record (also read by ./web-portal.ts). */
export function toFinding(r: Selectable<FindingTable>): Finding {
  const rest = JSON.parse(r.body) as Omit<Finding, 'id' | 'observedAt' | 'evidence' | 'isp' | 'prefixOwner' | 'held'>;
  return {
    ...rest,
    id: Number(r.id),
    observedAt: r.observed_at,
    evidence: JSON.parse(r.evidence) as EvidenceRef[],
    isp: r.isp,
    prefixOwner: r.prefix_owner,
    held: r.held as HoldReason | null,
  };
}

const refKey = (e: EvidenceRef): string => `${e.record}|${typeof e.id}|${e.id}`;

/** `into` extended with the references of `more` it lacks (bounded); the same array when none is new. */
function mergeEvidence(into: readonly EvidenceRef[], more: readonly EvidenceRef[]): readonly EvidenceRef[] {
  if (into.length >= maxEvidence) return into;
  const have = new Set(into.map(refKey));
  const added = more.filter((e) => !have.has(refKey(e)) && (have.add(refKey(e)), true));
  return added.length ? [...into, ...added].slice(0, maxEvidence) : into;
}

/** Two ISO 8601 UTC times compared as instants. */
const earlier = (a: string, b: string): string => (Date.parse(b) < Date.parse(a) ? b : a);

function inTransaction<T>(db: Kysely<Database>, fn: (tx: Kysely<Database>) => Promise<T>): Promise<T> {
  return db.isTransaction ? fn(db) : db.transaction().execute(fn);
}

function pageSizeOf(n: number | undefined): number {
  return n === undefined || !Number.isFinite(n) ? defaultPageSize : Math.max(1, Math.floor(n));
}

interface Stored {
  readonly id: number;
  evidence: readonly EvidenceRef[];
  observedAt: string;
  changed: boolean;
}

const insertColumns = ['kind', 'ip', 'ip_num', 'port', 'period', 'severity', 'survey_id', 'isp', 'prefix_owner', 'held', 'observed_at', 'evidence', 'body', 'device_type', 'vendor', 'model', 'protocol', 'month'] as const satisfies readonly (keyof Row)[];
const insertTexts = new Map<string, string>();

/**
 * Insert rows (new keys; a key another writer stored meanwhile is skipped) and return the keys and
 * ids of those inserted. The statement text is made by hand and cached per dialect and row count:
 * the query builder's cost for 13,000 bound values per chunk was most of record()'s time.
 */
async function insertRows(tx: Kysely<Database>, dialect: Dialect, rows: readonly Row[]): Promise<{ id: number | string; kind: string; ip_num: number | string; port: number; period: string }[]> {
  const cacheKey = `${dialect}:${rows.length}`;
  let text = insertTexts.get(cacheKey);
  if (text === undefined) {
    let n = 0;
    const tuple = () => `(${insertColumns.map(() => (dialect === 'postgres' ? `$${++n}` : '?')).join(', ')})`;
    text = `insert into findings (${insertColumns.join(', ')}) values ${rows.map(tuple).join(', ')} on conflict (ip_num, kind, port, period) do nothing returning id, kind, ip_num, port, period`;
    if (insertTexts.size > 64) insertTexts.clear();
    insertTexts.set(cacheKey, text);
  }
  const params: unknown[] = [];
  for (const r of rows) for (const c of insertColumns) params.push(r[c]);
  const result = await tx.executeQuery<{ id: number | string; kind: string; ip_num: number | string; port: number; period: string }>(CompiledQuery.raw(text, params));
  return result.rows;
}

/**
 * Write merged evidence and first observations back, one UPDATE … FROM (VALUES …) per chunk
 * rather than one statement per row (PostgreSQL and SQLite ≥ 3.33 both take it; VALUES columns
 * are column1.. on both, and the id arrives as text on PostgreSQL, hence the cast).
 */
async function updateMerged(tx: Kysely<Database>, rows: readonly Stored[]): Promise<void> {
  for (let i = 0; i < rows.length; i += insertChunk) {
    const values = rows.slice(i, i + insertChunk).map((s) => sql`(${s.id}, ${JSON.stringify(s.evidence)}, ${s.observedAt})`);
    await sql`update findings set evidence = v.column2, observed_at = v.column3 from (values ${sql.join(values)}) as v where findings.id = cast(v.column1 as bigint)`.execute(tx);
  }
}

/**
 * Add the rows inserted to the rollup tables (migration 0012), one upsert per chunk of keys. Only
 * new rows count: a merge changes evidence and observedAt, never the facets or the period.
 */
async function addToRollup(tx: Kysely<Database>, rows: readonly Row[]): Promise<void> {
  const tables = rollupRows(rows.map((r) => rollupKeyOf(r.kind, r.isp, r)));
  for (const [table, all] of Object.entries(tables) as [RollupTableName, RollupRowOut[]][]) {
    const cols = rollups[table];
    for (let i = 0; i < all.length; i += 1000) {
      await tx
        .insertInto(table)
        .values(all.slice(i, i + 1000) as never)
        .onConflict((oc) => oc.columns([...cols] as never).doUpdateSet({ n: sql<number>`${sql.ref(`${table}.n`)} + excluded.n` }))
        .execute();
    }
  }
}

/** The findings repository over an open, migrated database. */
export function createFindingRepository(db: Kysely<Database>, dialect: Dialect): FindingRepository {
  /** A query over findings with the filter applied. */
  const filtered = (filter: FindingFilter) => {
    let q = db.selectFrom('findings');
    if (filter.kind !== undefined) q = q.where('kind', '=', filter.kind);
    // Held is exactly isp null (validated on write); isp is the indexed column.
    if (filter.isp === null) q = q.where('isp', 'is', null);
    else if (filter.isp !== undefined) q = q.where('isp', '=', filter.isp);
    if (filter.surveyId !== undefined) q = q.where('survey_id', '=', filter.surveyId);
    if (filter.period !== undefined) q = q.where('period', '=', filter.period);
    if (filter.afterId !== undefined) q = q.where('id', '>', filter.afterId);
    return q;
  };

  /** Stored rows of these keys, read with one query per chunk (by address and period, then keyed). */
  async function storedOf(tx: Kysely<Database>, rows: readonly Row[]): Promise<Map<string, Stored>> {
    const out = new Map<string, Stored>();
    const nums = [...new Set(rows.map((r) => r.ip_num))];
    const periods = [...new Set(rows.map((r) => r.period))];
    const want = new Set(rows.map((r) => keyOf(r.kind, r.ip_num, r.port, r.period)));
    for (let i = 0; i < nums.length; i += insertChunk) {
      // Hand-made text, as for the insert: the builder's cost for 1,000-value lists is not worth it.
      const slice = nums.slice(i, i + insertChunk);
      const mark = (k: number) => (dialect === 'postgres' ? `$${k}` : '?');
      const text = `select id, kind, ip_num, port, period, evidence, observed_at from findings where ip_num in (${slice.map((_, k) => mark(k + 1)).join(', ')}) and period in (${periods.map((_, k) => mark(slice.length + k + 1)).join(', ')})`;
      const found = (await tx.executeQuery<{ id: number | string; kind: string; ip_num: number | string; port: number; period: string; evidence: string; observed_at: string }>(CompiledQuery.raw(text, [...slice, ...periods]))).rows;
      for (const f of found) {
        const key = keyOf(f.kind, Number(f.ip_num), f.port, f.period);
        if (want.has(key)) out.set(key, { id: Number(f.id), evidence: JSON.parse(f.evidence) as EvidenceRef[], observedAt: f.observed_at, changed: false });
      }
    }
    return out;
  }

  return {
    async record(findings) {
      // Everything checked before the transaction opens: a bad record costs nothing.
      const checked = findings.map((f, i) => checkFinding(f, i));
      const rows = checked.map(rowOf);
      if (rows.length === 0) return [];
      const keys = rows.map((r) => keyOf(r.kind, r.ip_num, r.port, r.period));
      return inTransaction(db, async (tx) => {
        const ids = new Map<string, number>();
        for (let start = 0; start < rows.length; start += insertChunk) {
          const chunk = rows.slice(start, start + insertChunk);
          const chunkKeys = keys.slice(start, start + insertChunk);
          const stored = await storedOf(tx, chunk);
          // New keys, first of the batch kept, later ones of the same key merged into it.
          const fresh = new Map<string, { row: Row; evidence: readonly EvidenceRef[]; observedAt: string }>();
          chunk.forEach((row, j) => {
            const key = chunkKeys[j]!;
            const evidence = checked[start + j]!.evidence;
            const old = stored.get(key);
            if (old) {
              const merged = mergeEvidence(old.evidence, evidence);
              const first = earlier(old.observedAt, row.observed_at);
              if (merged !== old.evidence || first !== old.observedAt) Object.assign(old, { evidence: merged, observedAt: first, changed: true });
              return;
            }
            const pending = fresh.get(key);
            if (pending) {
              pending.evidence = mergeEvidence(pending.evidence, evidence);
              pending.observedAt = earlier(pending.observedAt, row.observed_at);
            } else fresh.set(key, { row, evidence, observedAt: row.observed_at });
          });
          if (fresh.size) {
            const values = [...fresh.values()].map((p) => ({ ...p.row, evidence: JSON.stringify(p.evidence), observed_at: p.observedAt }));
            const got = await insertRows(tx, dialect, values);
            for (const g of got) ids.set(keyOf(g.kind, Number(g.ip_num), g.port, g.period), Number(g.id));
            const inserted = values.filter((v) => ids.has(keyOf(v.kind, v.ip_num, v.port, v.period)));
            await addToRollup(tx, inserted);
            await addToRemediationKeys(tx, inserted);
            // Keys another writer stored meanwhile: merge into theirs.
            const lost = values.filter((v) => !ids.has(keyOf(v.kind, v.ip_num, v.port, v.period)));
            if (lost.length) {
              const theirs = await storedOf(tx, lost);
              for (const v of lost) {
                const key = keyOf(v.kind, v.ip_num, v.port, v.period);
                const old = theirs.get(key)!;
                Object.assign(old, { evidence: mergeEvidence(old.evidence, JSON.parse(v.evidence) as EvidenceRef[]), observedAt: earlier(old.observedAt, v.observed_at), changed: true });
                stored.set(key, old);
              }
            }
          }
          const changed: Stored[] = [];
          for (const [key, s] of stored) {
            ids.set(key, s.id);
            if (s.changed) changed.push(s);
          }
          await updateMerged(tx, changed);
        }
        return keys.map((k) => ids.get(k)!);
      });
    },
    async *list(filter = {}, options = {}) {
      const pageSize = pageSizeOf(options.pageSize);
      let after = filter.afterId;
      for (;;) {
        const rows = await filtered({ ...filter, ...(after !== undefined ? { afterId: after } : {}) })
          .selectAll()
          .orderBy('id')
          .limit(pageSize)
          .execute();
        for (const r of rows) yield toFinding(r);
        const last = rows.at(-1);
        if (!last || rows.length < pageSize) return;
        after = Number(last.id);
      }
    },
    async get(id) {
      const r = await db.selectFrom('findings').selectAll().where('id', '=', id).executeTakeFirst();
      return r ? toFinding(r) : undefined;
    },
    async countBy(by, filter = {}) {
      const column = by === 'kind' ? 'kind' : by === 'isp' ? 'isp' : 'held';
      const rows = await filtered(filter)
        .select([column, (eb) => eb.fn.countAll().as('n')])
        .groupBy(column)
        .orderBy(column)
        .execute();
      return new Map(rows.map((r) => [(r as Record<string, unknown>)[column] as string | null, Number(r.n)]));
    },
  };
}
