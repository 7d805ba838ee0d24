/**
 * The public site's records (src/web/public/): rate-limited anonymous actions (self-checks and
 * opt-out requests per address, mails per abuse contact; kept here so every server process shares
 * them), opt-out requests with their verification, and the survey
 * exclusions approved requests become. runSurvey subtracts excludedRanges() from every survey's
 * scope (exclusions win). Confirmation tokens are stored as their SHA-256 only. Times are epoch ms.
 */
import type { Kysely, Selectable } from 'kysely';
import { IotcleanError } from '../core/errors.js';
import type { Ipv4Range } from '../core/ip.js';
import { storableText } from '../core/schemas.js';
import type { FindingDevice, FindingKind, Severity } from '../core/records.js';
import type { Database, OptoutRequestTable, SurveyExclusionTable } from './schema.js';

/** The public site's rate-limited anonymous actions. */
export const publicActions = ['selfcheck', 'optout', 'optout-mail'] as const;
export type PublicAction = (typeof publicActions)[number];

export const optoutStates = ['pending', 'verified', 'approved', 'rejected'] as const;
export type OptoutState = (typeof optoutStates)[number];

/** How a request was shown to come from the network's holder. */
export const optoutVerifications = ['from-network', 'abuse-contact'] as const;
export type OptoutVerification = (typeof optoutVerifications)[number];

export interface OptoutRequest {
  readonly id: number;
  /** The network as asked for, normalised (a.b.c.d/n). */
  readonly cidr: string;
  readonly range: Ipv4Range;
  readonly email: string;
  readonly reason: string;
  readonly lang: 'ja' | 'en';
  /** The address the request came from. */
  readonly clientIp: string;
  readonly createdAt: string;
  readonly state: OptoutState;
  readonly verification: OptoutVerification | null;
  /** The ISP whose abuse contact was (or could not be) asked, and the mail's outcome. */
  readonly contactIsp: string | null;
  readonly mailStatus: string | null;
  readonly verifiedAt: string | null;
  readonly decidedAt: string | null;
  readonly decidedBy: string | null;
}

export interface NewOptout {
  readonly cidr: string;
  readonly range: Ipv4Range;
  readonly email: string;
  readonly reason: string;
  readonly lang: 'ja' | 'en';
  readonly clientIp: string;
  /** Set when the request came from inside the network. */
  readonly verification: OptoutVerification | null;
}

export interface Exclusion {
  readonly id: number;
  readonly cidr: string;
  readonly range: Ipv4Range;
  readonly optoutId: number | null;
  readonly createdAt: string;
  readonly createdBy: string;
}

/** What the self-check shows of a finding: no evidence internals. */
export interface FindingOnRecord {
  readonly kind: FindingKind;
  readonly port: number | null;
  readonly protocol: string | null;
  readonly period: string;
  readonly observedAt: string;
  readonly severity: Severity;
  readonly device: FindingDevice;
}

export interface OptoutRepository {
  /**
   * Take one of `limit` uses of `action` for `key` in the window ending now: recorded and allowed,
   * or refused with when the oldest use leaves the window. Insert-then-count, so concurrent
   * requests from several processes never let more than `limit` through.
   */
  take(action: PublicAction, key: string, nowMs: number, windowMs: number, limit: number): Promise<{ allowed: boolean; count: number; retryAtMs: number | null }>;
  /** Uses of `action` for `key` since `sinceMs`. */
  uses(action: PublicAction, key: string, sinceMs: number): Promise<number>;
  /** Findings stored for one address, newest first (at most `limit`). */
  findingsAt(ip: string, ipNum: number, limit?: number): Promise<FindingOnRecord[]>;

  createOptout(o: NewOptout, nowMs: number): Promise<OptoutRequest>;
  optout(id: number): Promise<OptoutRequest | undefined>;
  listOptouts(filter?: { readonly state?: OptoutState; readonly limit?: number }): Promise<OptoutRequest[]>;
  /** Remember the confirmation mail: the token's hash (unguessable link), its expiry, whom and how it went. */
  setConfirmation(id: number, c: { tokenHash: string | null; expiresMs: number | null; contactIsp: string | null; mailStatus: string }): Promise<void>;
  /** The pending request a confirmation token (by hash) opens, while it has not expired. */
  optoutByToken(tokenHash: string, nowMs: number): Promise<OptoutRequest | undefined>;
  /** pending → verified (the token, if any, is spent). Returns false when it was not pending. */
  verifyOptout(id: number, how: OptoutVerification, nowMs: number): Promise<boolean>;
  /**
   * An operator's decision. Approving a verified request stores its exclusion in the same
   * transaction; approving anything else is E_ARGS. Rejecting works on pending and verified.
   */
  decideOptout(id: number, decision: 'approved' | 'rejected', by: string, nowMs: number): Promise<{ request: OptoutRequest; exclusion?: Exclusion }>;

  exclusions(): Promise<Exclusion[]>;
  /** Every stored exclusion's range, for the survey's scope. */
  excludedRanges(): Promise<Ipv4Range[]>;
}

const iso = (ms: number | string | null): string | null => (ms === null ? null : new Date(Number(ms)).toISOString());

const toOptout = (r: Selectable<OptoutRequestTable>): OptoutRequest => ({
  id: Number(r.id),
  cidr: r.cidr,
  range: { start: Number(r.range_start), end: Number(r.range_end) },
  email: r.email,
  reason: r.reason,
  lang: r.lang === 'en' ? 'en' : 'ja',
  clientIp: r.client_ip,
  createdAt: iso(r.created_ms)!,
  state: r.state as OptoutState,
  verification: r.verification as OptoutVerification | null,
  contactIsp: r.contact_isp,
  mailStatus: r.mail_status,
  verifiedAt: iso(r.verified_ms),
  decidedAt: iso(r.decided_ms),
  decidedBy: r.decided_by,
});

const toExclusion = (r: Selectable<SurveyExclusionTable>): Exclusion => ({
  id: Number(r.id),
  cidr: r.cidr,
  range: { start: Number(r.range_start), end: Number(r.range_end) },
  optoutId: r.optout_id === null ? null : Number(r.optout_id),
  createdAt: iso(r.created_ms)!,
  createdBy: r.created_by,
});

export function createOptoutRepository(db: Kysely<Database>): OptoutRepository {
  const get = async (id: number, q: Kysely<Database> = db) => {
    const r = await q.selectFrom('optout_requests').selectAll().where('id', '=', id).executeTakeFirst();
    return r ? toOptout(r) : undefined;
  };
  return {
    async take(action, key, nowMs, windowMs, limit) {
      const since = nowMs - windowMs;
      // Uses that left the window are of no further use: dropped (by the same index).
      await db.deleteFrom('web_public_actions').where('action', '=', action).where('key', '=', key).where('at_ms', '<', since).execute();
      const mine = await db.insertInto('web_public_actions').values({ action, key, at_ms: nowMs }).returning('id').executeTakeFirstOrThrow();
      const earlier = await db
        .selectFrom('web_public_actions')
        .select(['id', 'at_ms'])
        .where('action', '=', action)
        .where('key', '=', key)
        .where('at_ms', '>=', since)
        .orderBy('id')
        .limit(limit + 1)
        .execute();
      // Allowed when this use is among the first `limit` of the window (by id: the order of insertion).
      const rank = earlier.findIndex((r) => Number(r.id) === Number(mine.id));
      if (rank >= 0 && rank < limit) return { allowed: true, count: rank + 1, retryAtMs: null };
      await db.deleteFrom('web_public_actions').where('id', '=', mine.id).execute();
      const oldest = earlier[0] ? Number(earlier[0].at_ms) : nowMs;
      return { allowed: false, count: earlier.length - 1, retryAtMs: oldest + windowMs };
    },
    async uses(action, key, sinceMs) {
      const r = await db
        .selectFrom('web_public_actions')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('action', '=', action)
        .where('key', '=', key)
        .where('at_ms', '>=', sinceMs)
        .executeTakeFirst();
      return Number(r?.n ?? 0);
    },
    async findingsAt(ip, ipNum, limit = 200) {
      const rows = await db
        .selectFrom('findings')
        .select(['kind', 'port', 'period', 'observed_at', 'severity', 'body'])
        .where('ip_num', '=', ipNum)
        .where('ip', '=', ip)
        .orderBy('observed_at', 'desc')
        .limit(limit)
        .execute();
      return rows.map((r) => {
        const body = JSON.parse(r.body) as { protocol?: string | null; device?: Partial<FindingDevice> };
        const d = body.device ?? {};
        return {
          kind: r.kind as FindingKind,
          port: Number(r.port) === 0 ? null : Number(r.port),
          protocol: body.protocol ?? null,
          period: r.period,
          observedAt: r.observed_at,
          severity: r.severity as Severity,
          device: { type: d.type ?? null, vendor: d.vendor ?? null, model: d.model ?? null, firmware: d.firmware ?? null },
        };
      });
    },

    async createOptout(o, nowMs) {
      const r = await db
        .insertInto('optout_requests')
        .values({
          cidr: o.cidr,
          range_start: o.range.start,
          range_end: o.range.end,
          email: storableText(o.email),
          reason: storableText(o.reason),
          lang: o.lang,
          client_ip: o.clientIp,
          created_ms: nowMs,
          state: o.verification ? 'verified' : 'pending',
          verification: o.verification,
          verified_ms: o.verification ? nowMs : null,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      return toOptout(r);
    },
    optout: (id) => get(id),
    async listOptouts(filter = {}) {
      let q = db.selectFrom('optout_requests').selectAll().orderBy('id', 'desc').limit(Math.min(5000, Math.max(1, filter.limit ?? 500)));
      if (filter.state !== undefined) q = q.where('state', '=', filter.state);
      return (await q.execute()).map(toOptout);
    },
    async setConfirmation(id, c) {
      await db
        .updateTable('optout_requests')
        .set({ token_hash: c.tokenHash, token_expires_ms: c.expiresMs, contact_isp: c.contactIsp, mail_status: storableText(c.mailStatus.slice(0, 500)) })
        .where('id', '=', id)
        .execute();
    },
    async optoutByToken(tokenHash, nowMs) {
      const r = await db
        .selectFrom('optout_requests')
        .selectAll()
        .where('token_hash', '=', tokenHash)
        .where('state', '=', 'pending')
        .where('token_expires_ms', '>', nowMs)
        .executeTakeFirst();
      return r ? toOptout(r) : undefined;
    },
    async verifyOptout(id, how, nowMs) {
      const r = await db
        .updateTable('optout_requests')
        .set({ state: 'verified', verification: how, verified_ms: nowMs, token_hash: null, token_expires_ms: null })
        .where('id', '=', id)
        .where('state', '=', 'pending')
        .executeTakeFirst();
      return Number(r.numUpdatedRows) === 1;
    },
    async decideOptout(id, decision, by, nowMs) {
      return db.transaction().execute(async (tx) => {
        const before = await get(id, tx);
        if (!before) throw new IotcleanError('E_NOT_FOUND', `no opt-out request ${id}`);
        const allowed: OptoutState[] = decision === 'approved' ? ['verified'] : ['pending', 'verified'];
        if (!allowed.includes(before.state)) {
          throw new IotcleanError('E_ARGS', `opt-out request ${id} is ${before.state}: it cannot be ${decision}`, {
            hint: decision === 'approved' ? 'only a verified request (from the network, or confirmed by its abuse contact) can be approved' : 'it was decided already',
          });
        }
        await tx
          .updateTable('optout_requests')
          .set({ state: decision, decided_ms: nowMs, decided_by: by, token_hash: null, token_expires_ms: null })
          .where('id', '=', id)
          .execute();
        let exclusion: Exclusion | undefined;
        if (decision === 'approved') {
          const row = await tx
            .insertInto('survey_exclusions')
            .values({ cidr: before.cidr, range_start: before.range.start, range_end: before.range.end, optout_id: id, created_ms: nowMs, created_by: by })
            .returningAll()
            .executeTakeFirstOrThrow();
          exclusion = toExclusion(row);
        }
        return { request: (await get(id, tx))!, ...(exclusion ? { exclusion } : {}) };
      });
    },

    async exclusions() {
      return (await db.selectFrom('survey_exclusions').selectAll().orderBy('id').execute()).map(toExclusion);
    },
    async excludedRanges() {
      const rows = await db.selectFrom('survey_exclusions').select(['range_start', 'range_end']).execute();
      return rows.map((r) => ({ start: Number(r.range_start), end: Number(r.range_end) }));
    },
  };
}
