/**
 * The access repository: one result per service checked (survey, address, port, auth type) and
 * the audit of every try. Records are validated (src/core/schemas.ts) before anything is written.
 * Passwords are never stored here: results and attempts name the dictionary entry id.
 *
 * Runs outside any survey (surveyId null, e.g. `iotclean access --targets`) are kept the same
 * way: one result per (address, port, auth type) among them, the latest run's, and every attempt;
 * the readers take `null` for them.
 *
 * Hostile text (a device's reply in `detail` or `reason`): flat text columns hold it as
 * storableText (NUL and lone surrogates as U+FFFD, the same on both back ends, so exports and
 * queries see clean text), and the `exact` column keeps the JSON of just the fields that changed,
 * so a record reads back equal to what was written. It is null in the common case.
 */
import { sql, type Expression, type ExpressionBuilder, type Kysely, type Selectable, type SqlBool } from 'kysely';
import { IotcleanError } from '../core/errors.js';
import { parseIpv4 } from '../core/ip.js';
import type { AccessAttemptRecord, AccessProtocol, AccessResult, AccessVerdict, AttemptOutcome } from '../core/records.js';
import { checkAccessAttempt, checkAccessResult, storableText } from '../core/schemas.js';
import type { AccessAttemptTable, AccessResultTable, Database } from './schema.js';

export interface AccessRepository {
  /**
   * Write one service's result with the attempts that led to it, in one transaction. A result
   * already stored for the same (survey, ip, port, protocol) is replaced (a re-run decides
   * anew); attempts are only ever added, so the audit keeps every try. Returns the result's id.
   * Every attempt must be of the result's service (survey, ip, port, protocol); the result and
   * all attempts are checked before the transaction opens, so a bad record stores nothing.
   */
  record(result: AccessResult, attempts: readonly AccessAttemptRecord[]): Promise<number>;
  /** A survey's results by address, port, protocol (keyset pages), optionally one verdict only. */
  list(surveyId: number | null, options?: { readonly verdict?: AccessVerdict; readonly pageSize?: number }): AsyncIterable<AccessResult>;
  /** A survey's attempts in the order made (by id), optionally for one address (and port). */
  attempts(surveyId: number | null, options?: { readonly ip?: string; readonly port?: number; readonly pageSize?: number }): AsyncIterable<AccessAttemptRecord>;
  /** Results per verdict or per protocol. */
  countBy(surveyId: number | null, by: 'verdict' | 'protocol'): Promise<Map<string, number>>;
  /** Services of a survey with a stored result, as `ip:port:protocol` (what a resumed run skips). */
  checked(surveyId: number | null): Promise<Set<string>>;
}

const defaultPageSize = 2000;
// SQLite allows 32766 bound parameters; 14 columns a row stays well under it.
const insertChunk = 500;

type Fields = Readonly<Record<string, string | null>>;

/** The flat column values of some text fields, and the JSON of the exact ones storableText changed. */
function flatText<F extends Fields>(fields: F): { readonly flat: F; readonly exact: string | null } {
  const flat: Record<string, string | null> = {};
  const exact: Record<string, string> = {};
  for (const [key, value] of Object.entries(fields)) {
    const stored = storableText(value);
    flat[key] = stored;
    if (value !== null && stored !== value) exact[key] = value;
  }
  // JSON.stringify escapes NUL and lone surrogates (\u0000, \udXXX), so this text is storable as is.
  return { flat: flat as F, exact: Object.keys(exact).length ? JSON.stringify(exact) : null };
}

/** A text field as written: the exact value when the flat column could not hold it. */
function exactOf(exact: string | null): (key: string, column: string | null) => string | null {
  const saved = exact === null ? {} : (JSON.parse(exact) as Record<string, string>);
  return (key, column) => (Object.hasOwn(saved, key) ? saved[key]! : column);
}

const ipNum = (ip: string): number => parseIpv4(ip)!;
const optionalNumber = (v: number | string | null): number | null => (v === null ? null : Number(v));

function resultRow(r: AccessResult) {
  const { flat, exact } = flatText({ username: r.username, reason: r.reason, planVersion: r.planVersion });
  return {
    survey_id: r.surveyId,
    endpoint_id: r.endpointId,
    ip: r.ip,
    ip_num: ipNum(r.ip),
    port: r.port,
    protocol: r.protocol,
    verdict: r.verdict,
    entry: r.entry,
    username: flat.username,
    reason: flat.reason,
    attempts: r.attempts,
    plan_digest: r.planDigest,
    plan_version: flat.planVersion,
    dictionary: JSON.stringify(r.dictionary),
    started_at: r.startedAt,
    finished_at: r.finishedAt,
    exact,
  };
}

function attemptRow(a: AccessAttemptRecord) {
  const { flat, exact } = flatText({ username: a.username, detail: a.detail, planVersion: a.planVersion });
  return {
    survey_id: a.surveyId,
    ip: a.ip,
    ip_num: ipNum(a.ip),
    port: a.port,
    protocol: a.protocol,
    entry: a.entry,
    username: flat.username!,
    outcome: a.outcome,
    at: a.at,
    duration_ms: a.durationMs,
    detail: flat.detail,
    plan_version: flat.planVersion,
    exact,
  };
}

function toResult(r: Selectable<AccessResultTable>): AccessResult {
  const text = exactOf(r.exact);
  return {
    kind: 'access-result',
    id: Number(r.id),
    surveyId: optionalNumber(r.survey_id),
    endpointId: optionalNumber(r.endpoint_id),
    ip: r.ip,
    port: r.port,
    protocol: r.protocol as AccessProtocol,
    verdict: r.verdict as AccessVerdict,
    entry: r.entry,
    username: text('username', r.username),
    reason: text('reason', r.reason),
    attempts: Number(r.attempts),
    planDigest: r.plan_digest,
    planVersion: text('planVersion', r.plan_version),
    dictionary: JSON.parse(r.dictionary) as AccessResult['dictionary'],
    startedAt: r.started_at,
    finishedAt: r.finished_at,
  };
}

function toAttempt(r: Selectable<AccessAttemptTable>): AccessAttemptRecord {
  const text = exactOf(r.exact);
  return {
    kind: 'access-attempt',
    id: Number(r.id),
    surveyId: optionalNumber(r.survey_id),
    ip: r.ip,
    port: r.port,
    protocol: r.protocol as AccessProtocol,
    entry: r.entry,
    username: text('username', r.username)!,
    outcome: r.outcome as AttemptOutcome,
    at: r.at,
    durationMs: Number(r.duration_ms),
    detail: text('detail', r.detail),
    planVersion: text('planVersion', r.plan_version),
  };
}

/** `survey_id = n`, or `survey_id is null` for runs outside any survey. */
function ofSurvey(surveyId: number | null) {
  return (eb: ExpressionBuilder<Database, 'access_results' | 'access_attempts'>): Expression<SqlBool> =>
    surveyId === null ? eb('survey_id', 'is', null) : eb('survey_id', '=', surveyId);
}

function pageSizeOf(n: number | undefined): number {
  return n === undefined || !Number.isFinite(n) ? defaultPageSize : Math.max(1, Math.floor(n));
}

/** An attempt of another service than its result's is a bug in the stage: refused, naming the field. */
function checkSameService(result: AccessResult, attempts: readonly AccessAttemptRecord[]): void {
  attempts.forEach((a, i) => {
    for (const key of ['surveyId', 'ip', 'port', 'protocol'] as const) {
      if (a[key] !== result[key]) {
        throw new IotcleanError(
          'E_STORE',
          `access attempt ${i} for ${a.ip}:${a.port} refused: ${key} is ${String(a[key])}, but its result's is ${String(result[key])}; nothing of this batch was stored`,
          { hint: 'this is a bug in the access stage: a result is recorded with the attempts of its own service only' },
        );
      }
    }
  });
}

function inTransaction<T>(db: Kysely<Database>, fn: (tx: Kysely<Database>) => Promise<T>): Promise<T> {
  return db.isTransaction ? fn(db) : db.transaction().execute(fn);
}

/** The access repository over an open, migrated database. */
export function createAccessRepository(db: Kysely<Database>): AccessRepository {
  return {
    async record(result, attempts) {
      // Everything checked before the transaction opens: a bad record costs nothing.
      const checked = checkAccessResult(result);
      const tries = attempts.map((a) => checkAccessAttempt(a));
      checkSameService(checked, tries);
      const row = resultRow(checked);
      const attemptRows = tries.map(attemptRow);
      return inTransaction(db, async (tx) => {
        // An upsert rather than delete-and-insert: two runners racing on one service end with
        // one row either way, and the row keeps its first id. Runs outside a survey conflict on
        // the partial unique index (survey_id null); see migration 0004.
        const stored = await tx
          .insertInto('access_results')
          .values(row)
          .onConflict((oc) =>
            (row.survey_id === null ? oc.columns(['ip_num', 'port', 'protocol']).where(sql<boolean>`survey_id is null`) : oc.columns(['survey_id', 'ip_num', 'port', 'protocol'])).doUpdateSet(row),
          )
          .returning('id')
          .executeTakeFirstOrThrow();
        for (let i = 0; i < attemptRows.length; i += insertChunk) {
          await tx
            .insertInto('access_attempts')
            .values(attemptRows.slice(i, i + insertChunk))
            .execute();
        }
        return Number(stored.id);
      });
    },
    async *list(surveyId, options = {}) {
      const pageSize = pageSizeOf(options.pageSize);
      const { verdict } = options;
      let after: readonly [number, number, string] | undefined;
      for (;;) {
        const rows = await db
          .selectFrom('access_results')
          .selectAll()
          .where(ofSurvey(surveyId))
          .$if(verdict !== undefined, (q) => q.where('verdict', '=', verdict!))
          // Keyset: (address, port, protocol) is unique within a survey, so it alone orders pages.
          .$if(after !== undefined, (q) => q.where(({ eb, refTuple, tuple }) => eb(refTuple('ip_num', 'port', 'protocol'), '>', tuple(after![0], after![1], after![2]))))
          .orderBy('ip_num')
          .orderBy('port')
          .orderBy('protocol')
          .limit(pageSize)
          .execute();
        for (const r of rows) yield toResult(r);
        const last = rows.at(-1);
        if (!last || rows.length < pageSize) return;
        after = [Number(last.ip_num), last.port, last.protocol];
      }
    },
    async *attempts(surveyId, options = {}) {
      const pageSize = pageSizeOf(options.pageSize);
      const { ip, port } = options;
      const num = ip === undefined ? undefined : parseIpv4(ip);
      if (ip !== undefined && num === undefined) {
        throw new IotcleanError('E_ARGS', `"${ip}" is not an IPv4 address`, { hint: 'give a dotted-quad address such as 192.0.2.1' });
      }
      let after: number | undefined;
      for (;;) {
        const rows = await db
          .selectFrom('access_attempts')
          .selectAll()
          .where(ofSurvey(surveyId))
          .$if(num !== undefined, (q) => q.where('ip_num', '=', num!))
          .$if(port !== undefined, (q) => q.where('port', '=', port!))
          .$if(after !== undefined, (q) => q.where('id', '>', after!))
          .orderBy('id')
          .limit(pageSize)
          .execute();
        for (const r of rows) yield toAttempt(r);
        const last = rows.at(-1);
        if (!last || rows.length < pageSize) return;
        after = Number(last.id);
      }
    },
    async countBy(surveyId, by) {
      const rows = await db
        .selectFrom('access_results')
        .select([by, (eb) => eb.fn.countAll().as('n')])
        .where(ofSurvey(surveyId))
        .groupBy(by)
        .orderBy(by)
        .execute();
      return new Map(rows.map((r) => [String((r as Record<string, unknown>)[by]), Number(r.n)]));
    },
    async checked(surveyId) {
      const rows = await db.selectFrom('access_results').select(['ip', 'port', 'protocol']).where(ofSurvey(surveyId)).execute();
      return new Set(rows.map((r) => `${r.ip}:${r.port}:${r.protocol}`));
    },
  };
}
