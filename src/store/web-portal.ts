/**
 * The ISP portal's own data (src/web/portal/): API tokens and the ISPs' reports on how they
 * handled each notified finding, plus the ISP-scoped finding query the portal's list pages page
 * through. Tokens are kept only as their SHA-256 (a copy of the database opens no API). Reports are
 * append-only: a finding's current status is its latest report, the rest is its history. Times
 * are epoch ms from the caller's clock.
 */
import type { Kysely, Selectable } from 'kysely';
import type { Finding, FindingKind } from '../core/records.js';
import { storableText } from '../core/schemas.js';
import { toFinding } from './findings.js';
import type { Database, WebApiTokenTable, WebCaseReportTable } from './schema.js';

/** What an ISP may report about a notified finding (the centre reads it back on its pages). */
export const reportStatuses = ['open', 'contacted', 'fixed', 'not-reachable', 'not-ours', 'false-positive'] as const;
export type ReportStatus = (typeof reportStatuses)[number];

export interface ApiToken {
  readonly id: number;
  readonly isp: string;
  readonly label: string;
  readonly createdAt: string;
  /** Login name of the account that issued it. */
  readonly createdBy: string;
  readonly lastUsedAt: string | null;
  readonly revokedAt: string | null;
  readonly revokedBy: string | null;
}

export interface CaseReport {
  readonly id: number;
  readonly findingId: number;
  readonly isp: string;
  readonly status: ReportStatus;
  readonly note: string | null;
  readonly accountName: string;
  readonly at: string;
}

/** One page of an ISP's findings, newest first (keyset on id). */
export interface IspFindingQuery {
  readonly isp: string;
  readonly kind?: FindingKind;
  readonly period?: string;
  /** A port, or null for host-level findings (stored as port 0). */
  readonly port?: number | null;
  /** Only ids below this (the next page). */
  readonly beforeId?: number;
  /** Only ids up to this (the findings already notified in a batch). */
  readonly maxId?: number;
  /** Only findings whose latest report has this status ('unreported': none yet). */
  readonly status?: ReportStatus | 'unreported';
  readonly limit: number;
}

export interface PortalRepository {
  createToken(t: { isp: string; label: string; sha256: string; createdBy: string }, nowMs: number): Promise<ApiToken>;
  /** The ISP's tokens, newest first (revoked ones included). */
  tokens(isp: string): Promise<ApiToken[]>;
  /** Every ISP's tokens, newest first (the operators' view: none of them can be read back). */
  allTokens(): Promise<ApiToken[]>;
  /** Revoke one of the ISP's tokens; false when it has no such live token. */
  revokeToken(isp: string, id: number, by: string, nowMs: number): Promise<boolean>;
  /** The ISP of a live token by its SHA-256 (hex), recording the use (at most once a minute). */
  useToken(sha256: string, nowMs: number): Promise<string | undefined>;

  report(r: { findingId: number; isp: string; status: ReportStatus; note: string | null; accountId: number | null; accountName: string }, nowMs: number): Promise<CaseReport>;
  /** The latest report of each of these findings (findings without one are absent). */
  latestReports(findingIds: readonly number[]): Promise<Map<number, CaseReport>>;
  /** Every report of a finding, oldest first. */
  history(findingId: number): Promise<CaseReport[]>;
  /** Findings per latest reported status, of the ISP's findings up to `maxId`. */
  statusCounts(isp: string, maxId: number): Promise<Map<ReportStatus | 'unreported', number>>;

  /** Ids of one page of the ISP's findings, newest first. */
  findingIds(q: IspFindingQuery): Promise<number[]>;
  /** These findings in one query, in the order given (ids not stored are skipped). */
  findingsByIds(ids: readonly number[]): Promise<Finding[]>;
}

const iso = (ms: number | string | null): string | null => (ms === null ? null : new Date(Number(ms)).toISOString());

const toToken = (r: Selectable<WebApiTokenTable>): ApiToken => ({
  id: Number(r.id),
  isp: r.isp,
  label: r.label,
  createdAt: iso(r.created_ms)!,
  createdBy: r.created_by,
  lastUsedAt: iso(r.last_used_ms),
  revokedAt: iso(r.revoked_ms),
  revokedBy: r.revoked_by,
});

const toReport = (r: Selectable<WebCaseReportTable>): CaseReport => ({
  id: Number(r.id),
  findingId: Number(r.finding_id),
  isp: r.isp,
  status: r.status as ReportStatus,
  note: r.note,
  accountName: r.account_name,
  at: iso(r.at_ms)!,
});

const chunk = 500;

export function createPortalRepository(db: Kysely<Database>): PortalRepository {
  return {
    async createToken(t, nowMs) {
      const r = await db
        .insertInto('web_api_tokens')
        .values({ isp: t.isp, label: storableText(t.label), sha256: t.sha256, created_ms: nowMs, created_by: t.createdBy, last_used_ms: null, revoked_ms: null, revoked_by: null })
        .returningAll()
        .executeTakeFirstOrThrow();
      return toToken(r);
    },
    async tokens(isp) {
      return (await db.selectFrom('web_api_tokens').selectAll().where('isp', '=', isp).orderBy('id', 'desc').execute()).map(toToken);
    },
    async allTokens() {
      return (await db.selectFrom('web_api_tokens').selectAll().orderBy('id', 'desc').limit(1000).execute()).map(toToken);
    },
    async revokeToken(isp, id, by, nowMs) {
      const r = await db.updateTable('web_api_tokens').set({ revoked_ms: nowMs, revoked_by: by }).where('id', '=', id).where('isp', '=', isp).where('revoked_ms', 'is', null).executeTakeFirst();
      return Number(r.numUpdatedRows) === 1;
    },
    async useToken(sha256, nowMs) {
      // Looked up by the digest of a 256-bit random value: the index reveals nothing an attacker can steer.
      const r = await db.selectFrom('web_api_tokens').select(['id', 'isp', 'last_used_ms']).where('sha256', '=', sha256).where('revoked_ms', 'is', null).executeTakeFirst();
      if (!r) return undefined;
      if (r.last_used_ms === null || nowMs - Number(r.last_used_ms) > 60_000) await db.updateTable('web_api_tokens').set({ last_used_ms: nowMs }).where('id', '=', r.id).execute();
      return r.isp;
    },

    async report(r, nowMs) {
      const row = await db
        .insertInto('web_case_reports')
        .values({ finding_id: r.findingId, isp: r.isp, status: r.status, note: r.note === null ? null : storableText(r.note), account_id: r.accountId, account_name: r.accountName, at_ms: nowMs })
        .returningAll()
        .executeTakeFirstOrThrow();
      return toReport(row);
    },
    async latestReports(findingIds) {
      const out = new Map<number, CaseReport>();
      const ids = [...new Set(findingIds)];
      for (let i = 0; i < ids.length; i += chunk) {
        const rows = await db.selectFrom('web_case_reports').selectAll().where('finding_id', 'in', ids.slice(i, i + chunk)).orderBy('id').execute();
        for (const r of rows) out.set(Number(r.finding_id), toReport(r));
      }
      return out;
    },
    async history(findingId) {
      return (await db.selectFrom('web_case_reports').selectAll().where('finding_id', '=', findingId).orderBy('id').execute()).map(toReport);
    },
    async statusCounts(isp, maxId) {
      const latest = await db
        .selectFrom('web_case_reports as r')
        .select(['r.status', (eb) => eb.fn.countAll().as('n')])
        .where('r.isp', '=', isp)
        .where('r.finding_id', '<=', maxId)
        .where((eb) => eb('r.id', '=', eb.selectFrom('web_case_reports as r2').select((e2) => e2.fn.max('r2.id').as('m')).whereRef('r2.finding_id', '=', 'r.finding_id')))
        .groupBy('r.status')
        .execute();
      const out = new Map<ReportStatus | 'unreported', number>(latest.map((r) => [r.status as ReportStatus, Number(r.n)]));
      const all = await db.selectFrom('findings').select((eb) => eb.fn.countAll().as('n')).where('isp', '=', isp).where('id', '<=', maxId).executeTakeFirst();
      const reported = [...out.values()].reduce((a, b) => a + b, 0);
      out.set('unreported', Math.max(0, Number(all?.n ?? 0) - reported));
      return out;
    },

    async findingIds(q) {
      if (q.status !== undefined && q.status !== 'unreported') {
        // Driven from the reports (far fewer than findings): the ISP's findings whose latest report has the status.
        const status = q.status;
        let s = db
          .selectFrom('web_case_reports as r')
          .innerJoin('findings', 'findings.id', 'r.finding_id')
          .select('r.finding_id as id')
          .where('r.isp', '=', q.isp)
          .where('findings.isp', '=', q.isp)
          .where('r.status', '=', status)
          .where((eb) => eb('r.id', '=', eb.selectFrom('web_case_reports as r2').select((e2) => e2.fn.max('r2.id').as('m')).whereRef('r2.finding_id', '=', 'r.finding_id')));
        if (q.kind !== undefined) s = s.where('findings.kind', '=', q.kind);
        if (q.period !== undefined) s = s.where('findings.period', '=', q.period);
        if (q.port !== undefined) s = s.where('findings.port', '=', q.port ?? 0);
        if (q.beforeId !== undefined) s = s.where('r.finding_id', '<', q.beforeId);
        if (q.maxId !== undefined) s = s.where('r.finding_id', '<=', q.maxId);
        return (await s.orderBy('r.finding_id', 'desc').limit(q.limit).execute()).map((r) => Number(r.id));
      }
      let s = db.selectFrom('findings').select('id').where('isp', '=', q.isp);
      if (q.kind !== undefined) s = s.where('kind', '=', q.kind);
      if (q.period !== undefined) s = s.where('period', '=', q.period);
      if (q.port !== undefined) s = s.where('port', '=', q.port ?? 0);
      if (q.beforeId !== undefined) s = s.where('id', '<', q.beforeId);
      if (q.maxId !== undefined) s = s.where('id', '<=', q.maxId);
      if (q.status === 'unreported') {
        s = s.where(({ not, exists, selectFrom }) => not(exists(selectFrom('web_case_reports as r').select('r.id').whereRef('r.finding_id', '=', 'findings.id'))));
      }
      const rows = await s.orderBy('id', 'desc').limit(q.limit).execute();
      return rows.map((r) => Number(r.id));
    },
    async findingsByIds(ids) {
      const byId = new Map<number, Finding>();
      for (let i = 0; i < ids.length; i += chunk) {
        for (const r of await db.selectFrom('findings').selectAll().where('id', 'in', ids.slice(i, i + chunk)).execute()) byId.set(Number(r.id), toFinding(r));
      }
      return ids.map((id) => byId.get(id)).filter((f): f is Finding => f !== undefined);
    },
  };
}
