/**
 * The web server's accounts, sessions, failed logins and audit log (src/web/). Sessions are
 * stored by the SHA-256 of the cookie value, so a copy of the database opens no session. Times
 * are epoch ms from the caller's clock (the web server's, which tests move).
 */
import type { Kysely, Selectable } from 'kysely';
import { IotcleanError } from '../core/errors.js';
import { storableText } from '../core/schemas.js';
import type { Account, Role } from '../web/types.js';
import type { Database, WebAccountTable } from './schema.js';

export interface NewAccount {
  readonly name: string;
  readonly role: Role;
  readonly isp: string | null;
  readonly displayName: string;
  readonly passwordHash: string;
}

export interface StoredSession {
  readonly account: Account;
  readonly passwordHash: string;
  readonly csrf: string;
  readonly createdMs: number;
  readonly seenMs: number;
  readonly ip: string;
}

export interface AuditEntry {
  readonly id: number;
  readonly at: string;
  readonly accountId: number | null;
  readonly accountName: string | null;
  readonly ip: string;
  readonly action: string;
  readonly target: string;
  readonly detail: Record<string, unknown>;
}

export interface AuditFilter {
  readonly accountId?: number;
  readonly action?: string;
  readonly beforeId?: number;
  readonly limit?: number;
}

export interface WebRepository {
  createAccount(a: NewAccount, nowMs: number): Promise<Account>;
  /** The account and its password hash, by login name. */
  accountByName(name: string): Promise<{ account: Account; passwordHash: string } | undefined>;
  account(id: number): Promise<Account | undefined>;
  listAccounts(): Promise<Account[]>;
  setPassword(id: number, passwordHash: string, nowMs: number): Promise<void>;
  setDisabled(id: number, disabled: boolean): Promise<void>;

  createSession(s: { idHash: string; accountId: number; csrf: string; ip: string }, nowMs: number): Promise<void>;
  session(idHash: string): Promise<StoredSession | undefined>;
  touchSession(idHash: string, nowMs: number): Promise<void>;
  deleteSession(idHash: string): Promise<void>;
  /** End every session of an account (password change, disabling); returns how many. */
  deleteSessions(accountId: number): Promise<number>;
  /** Drop sessions idle since `idleBeforeMs` or created before `createdBeforeMs`. */
  expireSessions(idleBeforeMs: number, createdBeforeMs: number): Promise<number>;

  recordLoginFailure(name: string, ip: string, nowMs: number): Promise<void>;
  /** Failures since `sinceMs`, for the name and for the address, and the latest of each. */
  loginFailures(name: string, ip: string, sinceMs: number): Promise<{ byName: number; byIp: number; lastByName: number | null; lastByIp: number | null }>;
  clearLoginFailures(name: string): Promise<void>;

  audit(e: { accountId: number | null; accountName: string | null; ip: string; action: string; target: string; detail: Record<string, unknown> }, nowMs: number): Promise<void>;
  /** Newest first. */
  auditLog(filter?: AuditFilter): Promise<AuditEntry[]>;
}

const toAccount = (r: Selectable<WebAccountTable>): Account => ({
  id: Number(r.id),
  name: r.name,
  role: r.role as Role,
  isp: r.isp,
  displayName: r.display_name,
  disabled: Number(r.disabled) !== 0,
  createdAt: new Date(Number(r.created_ms)).toISOString(),
});

export function createWebRepository(db: Kysely<Database>): WebRepository {
  return {
    async createAccount(a, nowMs) {
      const taken = await db.selectFrom('web_accounts').select('id').where('name', '=', a.name).executeTakeFirst();
      if (taken) throw new IotcleanError('E_ARGS', `an account named ${a.name} exists already`, { hint: 'choose another name, or change that account instead' });
      const r = await db
        .insertInto('web_accounts')
        .values({ name: a.name, role: a.role, isp: a.isp, display_name: storableText(a.displayName), password_hash: a.passwordHash, created_ms: nowMs, password_changed_ms: nowMs })
        .returningAll()
        .executeTakeFirstOrThrow();
      return toAccount(r);
    },
    async accountByName(name) {
      const r = await db.selectFrom('web_accounts').selectAll().where('name', '=', name).executeTakeFirst();
      return r ? { account: toAccount(r), passwordHash: r.password_hash } : undefined;
    },
    async account(id) {
      const r = await db.selectFrom('web_accounts').selectAll().where('id', '=', id).executeTakeFirst();
      return r ? toAccount(r) : undefined;
    },
    async listAccounts() {
      return (await db.selectFrom('web_accounts').selectAll().orderBy('id').execute()).map(toAccount);
    },
    async setPassword(id, passwordHash, nowMs) {
      await db.updateTable('web_accounts').set({ password_hash: passwordHash, password_changed_ms: nowMs }).where('id', '=', id).execute();
    },
    async setDisabled(id, disabled) {
      await db.updateTable('web_accounts').set({ disabled: disabled ? 1 : 0 }).where('id', '=', id).execute();
    },

    async createSession(s, nowMs) {
      await db.insertInto('web_sessions').values({ id_hash: s.idHash, account_id: s.accountId, csrf: s.csrf, created_ms: nowMs, seen_ms: nowMs, ip: s.ip }).execute();
    },
    async session(idHash) {
      const r = await db
        .selectFrom('web_sessions')
        .innerJoin('web_accounts', 'web_accounts.id', 'web_sessions.account_id')
        .selectAll('web_accounts')
        .select(['web_sessions.csrf', 'web_sessions.created_ms as session_created_ms', 'web_sessions.seen_ms', 'web_sessions.ip'])
        .where('web_sessions.id_hash', '=', idHash)
        .executeTakeFirst();
      if (!r) return undefined;
      return { account: toAccount(r), passwordHash: r.password_hash, csrf: r.csrf, createdMs: Number(r.session_created_ms), seenMs: Number(r.seen_ms), ip: r.ip };
    },
    async touchSession(idHash, nowMs) {
      await db.updateTable('web_sessions').set({ seen_ms: nowMs }).where('id_hash', '=', idHash).execute();
    },
    async deleteSession(idHash) {
      await db.deleteFrom('web_sessions').where('id_hash', '=', idHash).execute();
    },
    async deleteSessions(accountId) {
      const r = await db.deleteFrom('web_sessions').where('account_id', '=', accountId).executeTakeFirst();
      return Number(r.numDeletedRows);
    },
    async expireSessions(idleBeforeMs, createdBeforeMs) {
      const r = await db
        .deleteFrom('web_sessions')
        .where((eb) => eb.or([eb('seen_ms', '<', idleBeforeMs), eb('created_ms', '<', createdBeforeMs)]))
        .executeTakeFirst();
      return Number(r.numDeletedRows);
    },

    async recordLoginFailure(name, ip, nowMs) {
      await db.insertInto('web_login_failures').values({ name: storableText(name.slice(0, 128)), ip, at_ms: nowMs }).execute();
    },
    async loginFailures(name, ip, sinceMs) {
      const one = async (column: 'name' | 'ip', value: string) => {
        const r = await db
          .selectFrom('web_login_failures')
          .select((eb) => [eb.fn.countAll<number>().as('n'), eb.fn.max('at_ms').as('last')])
          .where(column, '=', value)
          .where('at_ms', '>=', sinceMs)
          .executeTakeFirst();
        return { n: Number(r?.n ?? 0), last: r?.last === null || r?.last === undefined ? null : Number(r.last) };
      };
      const [n, i] = [await one('name', storableText(name.slice(0, 128))), await one('ip', ip)];
      return { byName: n.n, byIp: i.n, lastByName: n.last, lastByIp: i.last };
    },
    async clearLoginFailures(name) {
      await db.deleteFrom('web_login_failures').where('name', '=', name).execute();
    },

    async audit(e, nowMs) {
      await db
        .insertInto('web_audit')
        .values({ at_ms: nowMs, account_id: e.accountId, account_name: e.accountName, ip: e.ip, action: e.action, target: storableText(e.target.slice(0, 512)), detail: JSON.stringify(e.detail) })
        .execute();
    },
    async auditLog(filter = {}) {
      let q = db.selectFrom('web_audit').selectAll().orderBy('id', 'desc').limit(Math.min(10_000, Math.max(1, filter.limit ?? 200)));
      if (filter.accountId !== undefined) q = q.where('account_id', '=', filter.accountId);
      if (filter.action !== undefined) q = q.where('action', '=', filter.action);
      if (filter.beforeId !== undefined) q = q.where('id', '<', filter.beforeId);
      return (await q.execute()).map((r) => ({
        id: Number(r.id),
        at: new Date(Number(r.at_ms)).toISOString(),
        accountId: r.account_id === null ? null : Number(r.account_id),
        accountName: r.account_name,
        ip: r.ip,
        action: r.action,
        target: r.target,
        detail: JSON.parse(r.detail) as Record<string, unknown>,
      }));
    },
  };
}
