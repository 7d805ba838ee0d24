/**
 * The vulnerability repository: CVE records per source and merged, the KEV catalogue, EPSS scores,
 * and the matches of surveys. Imports are idempotent: a source's record is replaced only by one
 * with a newer lastModified (or, both undated, a different body); the merged record is rebuilt
 * from the source rows, so the order sources are imported in does not matter.
 */
import { sql, type Kysely, type Selectable } from 'kysely';
import { IotcleanError } from '../core/errors.js';
import { parseIpv4 } from '../core/ip.js';
import type { ThreatLevel, VulnerabilityMatch, VulnStatus } from '../core/records.js';
import { vulnStatuses } from '../core/records.js';
import { mergeRecords } from '../vuln/import/cve5.js';
import type { CveRecord, EpssScore, KevEntry } from '../vuln/types.js';
import type { Database, VulnMatchTable } from './schema.js';

/** What an import batch did. */
export interface UpsertCounts {
  readonly inserted: number;
  readonly updated: number;
  readonly unchanged: number;
}

export interface VulnRepository {
  /** Upsert CVE records (each of one source); returns what changed. */
  upsertCves(records: readonly CveRecord[]): Promise<UpsertCounts>;
  upsertKev(entries: readonly KevEntry[]): Promise<UpsertCounts>;
  upsertEpss(scores: readonly EpssScore[]): Promise<UpsertCounts>;
  /** Every merged CVE record, by id (keyset pages: constant memory per page). */
  cves(options?: { readonly pageSize?: number }): AsyncIterable<CveRecord>;
  cve(id: string): Promise<CveRecord | undefined>;
  kev(cve: string): Promise<KevEntry | undefined>;
  epss(cve: string): Promise<EpssScore | undefined>;
  /** The whole KEV catalogue / all EPSS scores (a few MB at most), for matching in bulk. */
  kevMap(): Promise<Map<string, KevEntry>>;
  epssMap(): Promise<Map<string, EpssScore>>;
  /** Rows held: CVEs, KEV entries, EPSS scores. */
  counts(): Promise<{ cves: number; kev: number; epss: number }>;
  /** Store matches; one per (survey, ip, cve), a re-run replacing it. */
  recordMatches(matches: readonly VulnerabilityMatch[]): Promise<void>;
  /** A survey's matches by address and CVE, optionally of one status. */
  matches(surveyId: number | null, options?: { readonly status?: VulnStatus; readonly pageSize?: number }): AsyncIterable<VulnerabilityMatch>;
  /** A survey's matches per status, per CVE or per threat level. */
  countBy(surveyId: number | null, by: 'status' | 'cve' | 'level'): Promise<Map<string, number>>;
}

const chunk = 200;

function inTransaction<T>(db: Kysely<Database>, fn: (tx: Kysely<Database>) => Promise<T>): Promise<T> {
  return db.isTransaction ? fn(db) : db.transaction().execute(fn);
}

function pageSizeOf(n: number | undefined): number {
  return n === undefined ? 1000 : Math.max(1, Math.min(10_000, Math.floor(n)));
}

/** JSON a text column of both back ends holds (no NUL: PostgreSQL text refuses it). */
function storable(v: unknown): string {
  return JSON.stringify(v).replace(/\\u0000/g, '\\ufffd');
}

function sourceOf(r: CveRecord): string {
  if (r.sources.length !== 1) {
    throw new IotcleanError('E_VULN_DATA', `${r.id}: a record to import must come from one source, got [${r.sources.join(', ')}]`, { hint: 'import the NVD and CVE 5 files themselves; the store merges them' });
  }
  return r.sources[0]!;
}

/** The merged record of a CVE from its source records. */
function mergeAll(records: readonly CveRecord[]): CveRecord {
  const sorted = [...records].sort((a, b) => (a.sources[0]! < b.sources[0]! ? -1 : 1));
  return sorted.slice(1).reduce((acc, r) => mergeRecords(acc, r), sorted[0]!);
}

function isNewer(incoming: CveRecord, stored: { last_modified: string | null; body: string }, body: string): boolean {
  if (incoming.lastModified !== null && stored.last_modified !== null) return incoming.lastModified > stored.last_modified;
  if (incoming.lastModified !== null) return true;
  return stored.last_modified === null && body !== stored.body;
}

function toMatch(r: Selectable<VulnMatchTable>): VulnerabilityMatch {
  return {
    kind: 'vulnerability-match',
    id: Number(r.id),
    surveyId: r.survey_id === null ? null : Number(r.survey_id),
    identificationId: r.identification_id === null ? null : Number(r.identification_id),
    ip: r.ip,
    cve: r.cve,
    status: r.status as VulnStatus,
    cpe: JSON.parse(r.cpe) as string[],
    reason: r.reason,
    threat: JSON.parse(r.threat) as ThreatLevel,
    matchedAt: r.matched_at,
  };
}

/** The vulnerability repository over an open, migrated database. */
export function createVulnRepository(db: Kysely<Database>): VulnRepository {
  return {
    async upsertCves(records) {
      let inserted = 0;
      let updated = 0;
      let unchanged = 0;
      for (const r of records) sourceOf(r); // checked before anything is written
      // The last record of an id in a batch wins the same way a later batch would.
      for (let i = 0; i < records.length; i += chunk) {
        const part = records.slice(i, i + chunk);
        await inTransaction(db, async (tx) => {
          const ids = [...new Set(part.map((r) => r.id))];
          const stored = await tx.selectFrom('vuln_cve_sources').selectAll().where('cve', 'in', ids).execute();
          const bySource = new Map<string, { last_modified: string | null; body: string }>(stored.map((s) => [`${s.cve}|${s.source}`, s]));
          const touched = new Set<string>();
          for (const r of part) {
            const source = sourceOf(r);
            const key = `${r.id}|${source}`;
            const body = storable(r);
            const old = bySource.get(key);
            if (old && !isNewer(r, old, body)) {
              unchanged++;
              continue;
            }
            const row = { cve: r.id, source, last_modified: r.lastModified, body };
            await tx
              .insertInto('vuln_cve_sources')
              .values(row)
              .onConflict((oc) => oc.columns(['cve', 'source']).doUpdateSet({ last_modified: row.last_modified, body: row.body }))
              .execute();
            bySource.set(key, row);
            if (old) updated++;
            else inserted++;
            touched.add(r.id);
          }
          for (const id of touched) {
            const rows = [...bySource.entries()].filter(([k]) => k.startsWith(`${id}|`)).map(([, v]) => JSON.parse(v.body) as CveRecord);
            const merged = mergeAll(rows);
            const row = { id, last_modified: merged.lastModified, sources: JSON.stringify(merged.sources), body: storable(merged) };
            await tx
              .insertInto('vuln_cves')
              .values(row)
              .onConflict((oc) => oc.column('id').doUpdateSet({ last_modified: row.last_modified, sources: row.sources, body: row.body }))
              .execute();
          }
        });
      }
      return { inserted, updated, unchanged };
    },
    async upsertKev(entries) {
      let inserted = 0;
      let updated = 0;
      let unchanged = 0;
      for (let i = 0; i < entries.length; i += chunk) {
        const part = entries.slice(i, i + chunk);
        await inTransaction(db, async (tx) => {
          const stored = new Map((await tx.selectFrom('vuln_kev').selectAll().where('cve', 'in', part.map((e) => e.cve)).execute()).map((r) => [r.cve, r]));
          for (const e of part) {
            const row = { cve: e.cve, date_added: e.dateAdded, ransomware: e.ransomware, vendor: e.vendor, product: e.product, due_date: e.dueDate };
            const old = stored.get(e.cve);
            if (old && old.date_added === row.date_added && old.ransomware === row.ransomware && old.vendor === row.vendor && old.product === row.product && old.due_date === row.due_date) {
              unchanged++;
              continue;
            }
            const { cve: _c, ...set } = row;
            await tx.insertInto('vuln_kev').values(row).onConflict((oc) => oc.column('cve').doUpdateSet(set)).execute();
            stored.set(e.cve, row);
            if (old) updated++;
            else inserted++;
          }
        });
      }
      return { inserted, updated, unchanged };
    },
    async upsertEpss(scores) {
      let inserted = 0;
      let updated = 0;
      let unchanged = 0;
      for (let i = 0; i < scores.length; i += chunk) {
        const part = scores.slice(i, i + chunk);
        await inTransaction(db, async (tx) => {
          const stored = new Map((await tx.selectFrom('vuln_epss').selectAll().where('cve', 'in', part.map((e) => e.cve)).execute()).map((r) => [r.cve, r]));
          for (const s of part) {
            const old = stored.get(s.cve);
            // An older day's scores never replace a newer day's.
            if (old && (old.score_date ?? '') > (s.date ?? '')) {
              unchanged++;
              continue;
            }
            if (old && Number(old.epss) === s.epss && Number(old.percentile) === s.percentile && old.score_date === s.date) {
              unchanged++;
              continue;
            }
            const row = { cve: s.cve, epss: s.epss, percentile: s.percentile, score_date: s.date };
            await tx.insertInto('vuln_epss').values(row).onConflict((oc) => oc.column('cve').doUpdateSet({ epss: s.epss, percentile: s.percentile, score_date: s.date })).execute();
            stored.set(s.cve, row);
            if (old) updated++;
            else inserted++;
          }
        });
      }
      return { inserted, updated, unchanged };
    },
    async *cves(options = {}) {
      const pageSize = pageSizeOf(options.pageSize);
      let after: string | undefined;
      for (;;) {
        const rows = await db
          .selectFrom('vuln_cves')
          .select(['id', 'body'])
          .$if(after !== undefined, (q) => q.where('id', '>', after!))
          .orderBy('id')
          .limit(pageSize)
          .execute();
        for (const r of rows) yield JSON.parse(r.body) as CveRecord;
        const last = rows.at(-1);
        if (!last || rows.length < pageSize) return;
        after = last.id;
      }
    },
    async cve(id) {
      const r = await db.selectFrom('vuln_cves').select('body').where('id', '=', id).executeTakeFirst();
      return r ? (JSON.parse(r.body) as CveRecord) : undefined;
    },
    async kev(cve) {
      const r = await db.selectFrom('vuln_kev').selectAll().where('cve', '=', cve).executeTakeFirst();
      return r ? { cve: r.cve, dateAdded: r.date_added, ransomware: r.ransomware === 'Known' ? 'Known' : 'Unknown', vendor: r.vendor, product: r.product, dueDate: r.due_date } : undefined;
    },
    async epss(cve) {
      const r = await db.selectFrom('vuln_epss').selectAll().where('cve', '=', cve).executeTakeFirst();
      return r ? { cve: r.cve, epss: Number(r.epss), percentile: Number(r.percentile), date: r.score_date } : undefined;
    },
    async kevMap() {
      const rows = await db.selectFrom('vuln_kev').selectAll().execute();
      return new Map(rows.map((r) => [r.cve, { cve: r.cve, dateAdded: r.date_added, ransomware: r.ransomware === 'Known' ? ('Known' as const) : ('Unknown' as const), vendor: r.vendor, product: r.product, dueDate: r.due_date }]));
    },
    async epssMap() {
      const rows = await db.selectFrom('vuln_epss').selectAll().execute();
      return new Map(rows.map((r) => [r.cve, { cve: r.cve, epss: Number(r.epss), percentile: Number(r.percentile), date: r.score_date }]));
    },
    async counts() {
      const n = async (t: 'vuln_cves' | 'vuln_kev' | 'vuln_epss') => Number((await db.selectFrom(t).select(db.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);
      return { cves: await n('vuln_cves'), kev: await n('vuln_kev'), epss: await n('vuln_epss') };
    },
    async recordMatches(matches) {
      const rows = matches.map((m) => {
        const ipNum = parseIpv4(m.ip);
        if (ipNum === undefined) throw new IotcleanError('E_STORE', `vulnerability match for "${m.ip}": not an IPv4 address`, { hint: 'matches are made from stored identifications' });
        if (!(vulnStatuses as readonly string[]).includes(m.status)) throw new IotcleanError('E_STORE', `vulnerability match ${m.cve}: status "${m.status}" unknown`, { hint: vulnStatuses.join(', ') });
        return {
          survey_id: m.surveyId,
          identification_id: m.identificationId,
          ip: m.ip,
          ip_num: ipNum,
          cve: m.cve,
          status: m.status,
          level: m.threat.level,
          kev: m.threat.kev ? 1 : 0,
          reason: m.reason.replace(/\u0000/g, '\ufffd'),
          cpe: storable(m.cpe),
          threat: storable(m.threat),
          matched_at: m.matchedAt,
        };
      });
      await inTransaction(db, async (tx) => {
        for (const row of rows) {
          const { survey_id: _s, ip_num: _i, cve: _c, ...set } = row;
          await tx
            .insertInto('vuln_matches')
            .values(row)
            .onConflict((oc) => (row.survey_id === null ? oc.columns(['ip_num', 'cve']).where(sql<boolean>`survey_id is null`) : oc.columns(['survey_id', 'ip_num', 'cve'])).doUpdateSet(set))
            .execute();
        }
      });
    },
    async *matches(surveyId, options = {}) {
      const pageSize = pageSizeOf(options.pageSize);
      const { status } = options;
      let after: readonly [number, string] | undefined;
      for (;;) {
        const rows = await db
          .selectFrom('vuln_matches')
          .selectAll()
          .where((eb) => (surveyId === null ? eb('survey_id', 'is', null) : eb('survey_id', '=', surveyId)))
          .$if(status !== undefined, (q) => q.where('status', '=', status!))
          .$if(after !== undefined, (q) => q.where(({ eb, refTuple, tuple }) => eb(refTuple('ip_num', 'cve'), '>', tuple(after![0], after![1]))))
          .orderBy('ip_num')
          .orderBy('cve')
          .limit(pageSize)
          .execute();
        for (const r of rows) yield toMatch(r);
        const last = rows.at(-1);
        if (!last || rows.length < pageSize) return;
        after = [Number(last.ip_num), last.cve];
      }
    },
    async countBy(surveyId, by) {
      const rows = await db
        .selectFrom('vuln_matches')
        .select([by, db.fn.countAll().as('n')])
        .where((eb) => (surveyId === null ? eb('survey_id', 'is', null) : eb('survey_id', '=', surveyId)))
        .groupBy(by)
        .execute();
      return new Map(rows.map((r) => [String(r[by]), Number(r.n)]));
    },
  };
}
