/**
 * Sharing's tables (src/share/): the TAXII collections this ISP serves with every version of
 * their STIX objects, what other ISPs' collections gave us (deduplicated by STIX id, the newest
 * `modified` wins), and the pull cursors. Objects are stored as their JSON text; only the columns
 * TAXII filters on (id, type, version, date added) are lifted out.
 */
import type { Kysely } from 'kysely';
import type { StixObject } from '../share/types.js';
import type { Database } from './schema.js';

export interface ShareCollection {
  readonly id: string;
  readonly alias: string | null;
  readonly title: string;
  readonly description: string;
  /** 'export': this ISP's own list (filled by share serve/publish); 'inbox': others may write to it. */
  readonly kind: 'export' | 'inbox';
  readonly createdMs: number;
}

export interface StoredObject {
  readonly seq: number;
  readonly id: string;
  readonly version: string;
  readonly dateAddedMs: number;
  readonly object: StixObject;
  /** The object's JSON as stored (served as is, without a parse and re-serialise). */
  readonly body: string;
}

export interface ObjectQuery {
  /** Only versions added strictly after this time (TAXII added_after). */
  readonly addedAfterMs?: number;
  /** Continue after this seq (TAXII next). */
  readonly afterSeq?: number;
  readonly limit: number;
  readonly ids?: readonly string[];
  readonly types?: readonly string[];
  /** TAXII match[version]: last (default), first, all, or exact version timestamps. */
  readonly versions?: readonly string[];
}

export interface MergeResult {
  readonly added: number;
  readonly updated: number;
  /** Already held at this version or a newer one. */
  readonly unchanged: number;
}

export interface PullCursor {
  readonly source: string;
  readonly addedAfter: string | null;
  readonly pulledMs: number;
  readonly objects: number;
}

export interface ShareRepository {
  /** Create the collection, or update its title and description (id and kind stay). */
  ensureCollection(c: Omit<ShareCollection, 'createdMs'>, nowMs: number): Promise<ShareCollection>;
  collections(): Promise<ShareCollection[]>;
  /** By id or alias. */
  collection(idOrAlias: string): Promise<ShareCollection | undefined>;
  /**
   * Add object versions not held yet, all stamped with one date_added no earlier than the
   * collection's latest (so added_after never skips a later addition). Returns what was new.
   */
  addObjects(collectionId: string, objects: readonly StixObject[], nowMs: number): Promise<{ added: number; unchanged: number; dateAddedMs: number | null }>;
  /** One page in the order added, and whether more follow. */
  objects(collectionId: string, q: ObjectQuery): Promise<{ rows: StoredObject[]; more: boolean }>;
  /** Merge objects pulled from another ISP: new ids added, newer versions replace older ones. */
  mergeReceived(source: string, objects: readonly StixObject[], nowMs: number): Promise<MergeResult>;
  received(filter?: { readonly type?: string }): Promise<StixObject[]>;
  countReceived(): Promise<number>;
  cursor(source: string): Promise<PullCursor | undefined>;
  saveCursor(c: PullCursor): Promise<void>;
}

/** A version key that compares as text: modified, else created, in millisecond RFC 3339. */
export function versionOf(o: StixObject, fallbackMs: number): string {
  const t = typeof o.modified === 'string' ? o.modified : typeof o.created === 'string' ? o.created : undefined;
  const ms = t === undefined ? NaN : Date.parse(t);
  return new Date(Number.isFinite(ms) ? ms : fallbackMs).toISOString();
}

const chunk = <T>(xs: readonly T[], n: number): T[][] => Array.from({ length: Math.ceil(xs.length / n) }, (_, i) => xs.slice(i * n, i * n + n));

export function createShareRepository(db: Kysely<Database>): ShareRepository {
  const toCollection = (r: { id: string; alias: string | null; title: string; description: string; kind: string; created_ms: number | string }): ShareCollection => ({
    id: r.id,
    alias: r.alias,
    title: r.title,
    description: r.description,
    kind: r.kind === 'inbox' ? 'inbox' : 'export',
    createdMs: Number(r.created_ms),
  });
  const repo: ShareRepository = {
    async ensureCollection(c, nowMs) {
      await db
        .insertInto('share_collections')
        .values({ id: c.id, alias: c.alias, title: c.title, description: c.description, kind: c.kind, created_ms: nowMs })
        .onConflict((oc) => oc.column('id').doUpdateSet({ title: c.title, description: c.description }))
        .execute();
      return (await repo.collection(c.id))!;
    },
    async collections() {
      return (await db.selectFrom('share_collections').selectAll().orderBy('created_ms').orderBy('id').execute()).map(toCollection);
    },
    async collection(idOrAlias) {
      const r = await db.selectFrom('share_collections').selectAll().where((eb) => eb.or([eb('id', '=', idOrAlias), eb('alias', '=', idOrAlias)])).executeTakeFirst();
      return r ? toCollection(r) : undefined;
    },
    async addObjects(collectionId, objects, nowMs) {
      return db.transaction().execute(async (tx) => {
        const latest = await tx.selectFrom('share_objects').select((eb) => eb.fn.max('date_added_ms').as('m')).where('collection_id', '=', collectionId).executeTakeFirst();
        const dateAddedMs = Math.max(nowMs, latest?.m == null ? -Infinity : Number(latest.m) + 1);
        // An object without modified/created (an SCO) is versioned by its date added: it is new only
        // when its content differs from every version held.
        const untimed = objects.filter((o) => typeof o.modified !== 'string' && typeof o.created !== 'string');
        const heldBodies = new Set<string>();
        for (const part of chunk([...new Set(untimed.map((o) => o.id))], 200)) {
          for (const r of await tx.selectFrom('share_objects').select('body').where('collection_id', '=', collectionId).where('stix_id', 'in', part).execute()) heldBodies.add(r.body);
        }
        const fresh = objects.filter((o) => !(untimed.includes(o) && heldBodies.has(JSON.stringify(o))));
        // One row per (id, version) even when the batch repeats itself.
        const rows = [...new Map(fresh.map((o) => [`${o.id}@${versionOf(o, dateAddedMs)}`, o])).values()].map((o) => ({
          collection_id: collectionId,
          stix_id: o.id,
          type: o.type,
          version: versionOf(o, dateAddedMs),
          spec_version: typeof o.spec_version === 'string' ? o.spec_version : '2.1',
          date_added_ms: dateAddedMs,
          body: JSON.stringify(o),
        }));
        let added = 0;
        for (const part of chunk(rows, 200)) {
          const r = await tx
            .insertInto('share_objects')
            .values(part)
            .onConflict((oc) => oc.columns(['collection_id', 'stix_id', 'version']).doNothing())
            .executeTakeFirst();
          added += Number(r.numInsertedOrUpdatedRows ?? 0);
        }
        return { added, unchanged: objects.length - added, dateAddedMs: added ? dateAddedMs : null };
      });
    },
    async objects(collectionId, q) {
      const versions = q.versions ?? ['last'];
      const exact = versions.filter((v) => v !== 'last' && v !== 'first' && v !== 'all');
      let query = db
        .selectFrom('share_objects as o')
        .select(['o.seq', 'o.stix_id', 'o.version', 'o.date_added_ms', 'o.body'])
        .where('o.collection_id', '=', collectionId)
        .$if(q.addedAfterMs !== undefined, (w) => w.where('o.date_added_ms', '>', q.addedAfterMs!))
        .$if(q.afterSeq !== undefined, (w) => w.where('o.seq', '>', q.afterSeq!))
        .$if(q.ids !== undefined && q.ids.length > 0, (w) => w.where('o.stix_id', 'in', q.ids!))
        .$if(q.types !== undefined && q.types.length > 0, (w) => w.where('o.type', 'in', q.types!));
      if (!versions.includes('all')) {
        query = query.where((eb) => {
          const alts = [];
          const other = (op: '>' | '<') =>
            eb.not(
              eb.exists(
                eb
                  .selectFrom('share_objects as n')
                  .select('n.seq')
                  .whereRef('n.collection_id', '=', 'o.collection_id')
                  .whereRef('n.stix_id', '=', 'o.stix_id')
                  .whereRef('n.version', op, 'o.version'),
              ),
            );
          if (versions.includes('last')) alts.push(other('>'));
          if (versions.includes('first')) alts.push(other('<'));
          if (exact.length) alts.push(eb('o.version', 'in', exact.map((v) => new Date(Date.parse(v)).toISOString())));
          return eb.or(alts);
        });
      }
      const rows = await query.orderBy('o.seq').limit(q.limit + 1).execute();
      return {
        more: rows.length > q.limit,
        rows: rows.slice(0, q.limit).map((r) => ({
          seq: Number(r.seq),
          id: r.stix_id,
          version: r.version,
          dateAddedMs: Number(r.date_added_ms),
          body: r.body,
          // Parsed only when asked for: the TAXII server sends `body` as it is.
          get object() {
            return JSON.parse(r.body) as StixObject;
          },
        })),
      };
    },
    async mergeReceived(source, objects, nowMs) {
      return db.transaction().execute(async (tx) => {
        let added = 0;
        let updated = 0;
        let unchanged = 0;
        // Newest version per id within the batch first, then against what is held.
        const newest = new Map<string, { o: StixObject; v: string }>();
        for (const o of objects) {
          const v = versionOf(o, nowMs);
          const had = newest.get(o.id);
          if (!had || v > had.v) newest.set(o.id, { o, v });
        }
        unchanged += objects.length - newest.size;
        for (const part of chunk([...newest.values()], 200)) {
          const held = new Map(
            (await tx.selectFrom('share_received').select(['stix_id', 'modified']).where('stix_id', 'in', part.map((p) => p.o.id)).execute()).map((r) => [r.stix_id, r.modified]),
          );
          const fresh = [];
          for (const { o, v } of part) {
            const row = { type: o.type, modified: v, created_by_ref: typeof o.created_by_ref === 'string' ? o.created_by_ref : null, source, received_ms: nowMs, body: JSON.stringify(o) };
            const h = held.get(o.id);
            if (h === undefined) {
              fresh.push({ stix_id: o.id, ...row });
              added++;
            } else if (v > h) {
              await tx.updateTable('share_received').set(row).where('stix_id', '=', o.id).execute();
              updated++;
            } else unchanged++;
          }
          if (fresh.length) await tx.insertInto('share_received').values(fresh).execute();
        }
        return { added, updated, unchanged };
      });
    },
    async received(filter = {}) {
      const rows = await db
        .selectFrom('share_received')
        .select('body')
        .$if(filter.type !== undefined, (q) => q.where('type', '=', filter.type!))
        .orderBy('type')
        .orderBy('stix_id')
        .execute();
      return rows.map((r) => JSON.parse(r.body) as StixObject);
    },
    async countReceived() {
      const r = await db.selectFrom('share_received').select((eb) => eb.fn.countAll().as('n')).executeTakeFirst();
      return Number(r?.n ?? 0);
    },
    async cursor(source) {
      const r = await db.selectFrom('share_cursors').selectAll().where('source', '=', source).executeTakeFirst();
      return r ? { source: r.source, addedAfter: r.added_after, pulledMs: Number(r.pulled_ms), objects: Number(r.objects) } : undefined;
    },
    async saveCursor(c) {
      const row = { added_after: c.addedAfter, pulled_ms: c.pulledMs, objects: c.objects };
      await db
        .insertInto('share_cursors')
        .values({ source: c.source, ...row })
        .onConflict((oc) => oc.column('source').doUpdateSet(row))
        .execute();
    },
  };
  return repo;
}
