/**
 * The ISP side's store (issue 9, at the ISP only): session rows from RADIUS, DHCP and CGNAT logs,
 * the subscriber table with the MACs and client ids that tie leases to subscribers, and the
 * inventory of rented and SIer-managed lines. Imports are bulk, in chunked transactions: a log
 * that fails half way keeps the chunks already committed (each row stands alone), and re-importing
 * a grown log updates rows instead of duplicating them.
 */
import type { Kysely, Selectable } from 'kysely';
import { IotcleanError } from '../core/errors.js';
import { parseIpv4 } from '../core/ip.js';
import { storableText } from '../core/schemas.js';
import type { SubscriberKeys } from '../notify/isp/logs/index.js';
import { createSessionIndexBuilder, type SessionIndex } from '../notify/isp/match.js';
import type { InventoryEntry, SessionRecord, SessionSource, Subscriber } from '../notify/isp/types.js';
import type { Database, IspSessionTable } from './schema.js';

/** A stored session: the record plus its id and when it was imported. */
export type StoredSession = SessionRecord & { readonly id: number; readonly importedAt: string };

export interface SessionRepository {
  /**
   * Store sessions in transactions of `chunk` rows (default 5000). Returns how many were written.
   * `importedAt` (epoch ms, default now) is when open sessions are known to be alive until.
   */
  import(rows: AsyncIterable<SessionRecord> | Iterable<SessionRecord>, options?: { readonly importedAt?: number; readonly chunk?: number; readonly onChunk?: (count: number) => void }): Promise<{ readonly count: number }>;
  /** Sessions of an address, by start; with `at` (ISO), only those covering that instant. */
  lookup(ip: string, at?: string): Promise<StoredSession[]>;
  /** Every session, page by page (keyset on id). */
  scan(options?: { readonly pageSize?: number }): AsyncIterable<StoredSession>;
  count(): Promise<number>;
  /** Upsert subscribers and their lease keys (MACs, client ids). */
  putSubscribers(subscribers: readonly Subscriber[], keys?: SubscriberKeys): Promise<number>;
  subscribers(): Promise<Subscriber[]>;
  subscriberKeys(): Promise<SubscriberKeys>;
  /** Replace the inventory with these entries. */
  putInventory(entries: readonly InventoryEntry[]): Promise<number>;
  inventory(): Promise<InventoryEntry[]>;
  /** The in-memory matching index over every stored session (open ones end at their import). */
  index(): Promise<SessionIndex>;
}

const insertChunk = 400;

const text = (s: string): string => storableText(s);
const textOrNull = (s: string | null): string | null => storableText(s);

function sessionRow(s: SessionRecord, importedAt: number) {
  const ipNum = parseIpv4(s.ip);
  const start = Date.parse(s.start);
  const end = s.end === null ? null : Date.parse(s.end);
  if (ipNum === undefined || !Number.isFinite(start) || (end !== null && !Number.isFinite(end))) {
    throw new IotcleanError('E_STORE', `session of ${s.file}:${s.line} has address "${s.ip}" or times ${s.start}..${s.end} that cannot be stored; nothing of this chunk was stored`, {
      hint: 'this is a bug in the parser that made the record',
    });
  }
  return {
    subscriber: text(s.subscriber),
    ip: s.ip,
    ip_num: ipNum,
    port_first: s.portFirst,
    port_last: s.portLast,
    start_ms: start,
    end_ms: end,
    mac: textOrNull(s.mac),
    source: s.source,
    file: text(s.file),
    line: s.line,
    imported_at: importedAt,
  };
}

const iso = (ms: number | string): string => new Date(Number(ms)).toISOString();

function toSession(r: Selectable<IspSessionTable>): StoredSession {
  return {
    id: Number(r.id),
    subscriber: r.subscriber,
    ip: r.ip,
    portFirst: r.port_first,
    portLast: r.port_last,
    start: iso(r.start_ms),
    end: r.end_ms === null ? null : iso(r.end_ms),
    mac: r.mac,
    source: r.source as SessionSource,
    file: r.file,
    line: r.line,
    importedAt: iso(r.imported_at),
  };
}

/** The session repository over an open database. */
export function createSessionRepository(db: Kysely<Database>): SessionRepository {
  const writeChunk = async (rows: ReturnType<typeof sessionRow>[]) => {
    if (rows.length === 0) return;
    await db.transaction().execute(async (tx) => {
      for (let i = 0; i < rows.length; i += insertChunk) {
        await tx
          .insertInto('isp_sessions')
          .values(rows.slice(i, i + insertChunk))
          .onConflict((oc) =>
            oc.columns(['source', 'file', 'line', 'ip_num', 'start_ms']).doUpdateSet((eb) => ({
              end_ms: eb.ref('excluded.end_ms'),
              subscriber: eb.ref('excluded.subscriber'),
              mac: eb.ref('excluded.mac'),
              port_first: eb.ref('excluded.port_first'),
              port_last: eb.ref('excluded.port_last'),
              imported_at: eb.ref('excluded.imported_at'),
            })),
          )
          .execute();
      }
    });
  };
  const repo: SessionRepository = {
    async import(rows, options = {}) {
      const importedAt = options.importedAt ?? Date.now();
      const chunk = options.chunk ?? 5000;
      let batch: ReturnType<typeof sessionRow>[] = [];
      let count = 0;
      for await (const s of rows) {
        batch.push(sessionRow(s, importedAt));
        if (batch.length >= chunk) {
          await writeChunk(batch);
          count += batch.length;
          options.onChunk?.(count);
          batch = [];
        }
      }
      await writeChunk(batch);
      count += batch.length;
      return { count };
    },
    async lookup(ip, at) {
      const ipNum = parseIpv4(ip);
      if (ipNum === undefined) return [];
      const t = at === undefined ? undefined : Date.parse(at);
      const rows = await db
        .selectFrom('isp_sessions')
        .selectAll()
        .where('ip_num', '=', ipNum)
        .$if(t !== undefined && Number.isFinite(t), (q) =>
          q.where('start_ms', '<=', t!).where((eb) => eb.or([eb('end_ms', '>', t!), eb.and([eb('end_ms', 'is', null), eb('imported_at', '>', t!)])])),
        )
        .orderBy('start_ms')
        .orderBy('id')
        .execute();
      return rows.map(toSession);
    },
    async *scan(options = {}) {
      const pageSize = options.pageSize ?? 20_000;
      let after = 0;
      for (;;) {
        const rows = await db.selectFrom('isp_sessions').selectAll().where('id', '>', after).orderBy('id').limit(pageSize).execute();
        for (const r of rows) yield toSession(r);
        const last = rows.at(-1);
        if (!last || rows.length < pageSize) return;
        after = Number(last.id);
      }
    },
    async count() {
      const r = await db.selectFrom('isp_sessions').select((eb) => eb.fn.countAll().as('n')).executeTakeFirst();
      return Number(r?.n ?? 0);
    },
    async putSubscribers(subscribers, keys) {
      const rows = subscribers.map((s) => ({ id: text(s.id), email: textOrNull(s.email), language: s.language, name: textOrNull(s.name) }));
      const keyRows = keys ? [...[...keys.byMac].map(([k, v]) => ({ key: `mac:${k}`, subscriber: text(v) })), ...[...keys.byClientId].map(([k, v]) => ({ key: `cid:${k}`, subscriber: text(v) }))] : [];
      await db.transaction().execute(async (tx) => {
        for (let i = 0; i < rows.length; i += insertChunk) {
          await tx
            .insertInto('isp_subscribers')
            .values(rows.slice(i, i + insertChunk))
            .onConflict((oc) => oc.column('id').doUpdateSet((eb) => ({ email: eb.ref('excluded.email'), language: eb.ref('excluded.language'), name: eb.ref('excluded.name') })))
            .execute();
        }
        for (let i = 0; i < keyRows.length; i += insertChunk) {
          await tx
            .insertInto('isp_subscriber_keys')
            .values(keyRows.slice(i, i + insertChunk))
            .onConflict((oc) => oc.column('key').doUpdateSet((eb) => ({ subscriber: eb.ref('excluded.subscriber') })))
            .execute();
        }
      });
      return rows.length;
    },
    async subscribers() {
      const rows = await db.selectFrom('isp_subscribers').selectAll().orderBy('id').execute();
      return rows.map((r) => ({ id: r.id, email: r.email, language: r.language === 'en' ? 'en' : 'ja', name: r.name }));
    },
    async subscriberKeys() {
      const rows = await db.selectFrom('isp_subscriber_keys').selectAll().execute();
      const byMac = new Map<string, string>();
      const byClientId = new Map<string, string>();
      for (const r of rows) {
        if (r.key.startsWith('mac:')) byMac.set(r.key.slice(4), r.subscriber);
        else if (r.key.startsWith('cid:')) byClientId.set(r.key.slice(4), r.subscriber);
      }
      return { byMac, byClientId };
    },
    async putInventory(entries) {
      const rows = entries.map((e) => ({ subscriber: textOrNull(e.subscriber), mac: textOrNull(e.mac), measure: e.measure, contact: textOrNull(e.contact), model: textOrNull(e.model) }));
      await db.transaction().execute(async (tx) => {
        await tx.deleteFrom('isp_inventory').execute();
        for (let i = 0; i < rows.length; i += insertChunk) await tx.insertInto('isp_inventory').values(rows.slice(i, i + insertChunk)).execute();
      });
      return rows.length;
    },
    async inventory() {
      const rows = await db.selectFrom('isp_inventory').selectAll().orderBy('id').execute();
      return rows.map((r) => ({ subscriber: r.subscriber, mac: r.mac, measure: r.measure === 'sier-notice' ? 'sier-notice' : 'isp-task', contact: r.contact, model: r.model }));
    },
    async index() {
      const builder = createSessionIndexBuilder(Date.now());
      // Numbers straight from the rows: no ISO round trip for millions of sessions.
      let after = 0;
      for (;;) {
        const rows = await db
          .selectFrom('isp_sessions')
          .select(['id', 'ip_num', 'start_ms', 'end_ms', 'port_first', 'port_last', 'subscriber', 'mac', 'imported_at'])
          .where('id', '>', after)
          .orderBy('id')
          .limit(50_000)
          .execute();
        for (const r of rows) builder.addRaw(Number(r.ip_num), Number(r.start_ms), r.end_ms === null ? null : Number(r.end_ms), r.port_first, r.port_last, r.subscriber, r.mac, Number(r.imported_at));
        const last = rows.at(-1);
        if (!last || rows.length < 50_000) break;
        after = Number(last.id);
      }
      return builder.build();
    },
  };
  return repo;
}
