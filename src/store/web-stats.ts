/**
 * The dashboard's read queries: filtered finding lists (keyset, newest first), bounded counts,
 * everything known about one address, and the aggregates the charts draw. Lists walk one index
 * of the facet columns (migration 0012); aggregates read findings_rollup, a few thousand rows
 * however many findings there are; remediation against the first month reads
 * findings_remediation_keys (src/store/remediation-keys.ts), against another month it joins
 * findings to itself. Results are cached per store until a finding is added (max(id) changes).
 */
import { sql, type Kysely } from 'kysely';
import { parseIpv4 } from '../core/ip.js';
import type { AccessResult, FindingKind, Identification, Observation, VulnerabilityMatch } from '../core/records.js';
import type { TrackedCase } from '../notify/isp/cases.js';
import { rollupFor, type RollupKey } from './finding-facets.js';
import { baselineGroups, maskMonths, monthIndex } from './remediation-keys.js';
import type { Database } from './schema.js';
import type { Store } from './store.js';

/** What the findings list can be narrowed by (all optional; `isp: null` means held). */
export interface FindingListFilter {
  readonly kind?: FindingKind;
  readonly isp?: string | null;
  readonly deviceType?: string;
  readonly vendor?: string;
  readonly model?: string;
  readonly port?: number;
  /** observedAt ≥ from (ISO date or time) and < to. */
  readonly from?: string;
  readonly to?: string;
  /** Keyset: only ids below this (the next page of a newest-first list). */
  readonly before?: number;
}

/** One row of the findings list (flat columns only: no JSON parsed per row). */
export interface FindingListRow {
  readonly id: number;
  readonly kind: string;
  readonly ip: string;
  /** null for host-level findings. */
  readonly port: number | null;
  readonly protocol: string | null;
  readonly observedAt: string;
  readonly severity: string;
  readonly isp: string | null;
  readonly held: string | null;
  readonly deviceType: string | null;
  readonly vendor: string | null;
  readonly model: string | null;
}

export interface SurveySummary {
  readonly id: number;
  readonly status: string;
  readonly planDigest: string;
  readonly planName: string | null;
  readonly planVersion: string | null;
  readonly startedAt: string;
  readonly finishedAt: string | null;
  readonly probesSent: number;
  /** Probes per second: over elapsed time when finished, since the start while running. */
  readonly rate: number | null;
  readonly endpoints: number;
  readonly ports: readonly number[];
  readonly targets: number;
}

/** Everything the store knows of one address. */
export interface DeviceReport {
  readonly ip: string;
  readonly endpoints: readonly { surveyId: number; port: number; seenAt: string; source: string }[];
  readonly observations: readonly Observation[];
  /** True when there were more observations than shown. */
  readonly observationsCut: boolean;
  readonly identifications: readonly Identification[];
  readonly access: readonly AccessResult[];
  readonly vulns: readonly VulnerabilityMatch[];
  readonly findings: readonly (FindingListRow & { period: string; details: Record<string, unknown>; batches: readonly string[] })[];
  readonly cases: readonly TrackedCase[];
}

export interface RollupRow extends Partial<RollupKey> {
  readonly n: number;
}

export interface RemediationPoint {
  readonly month: string;
  /** Baseline keys (kind, ip, port) found again in this month. */
  readonly present: number;
  /** present / baseline size. */
  readonly share: number;
}

export interface Remediation {
  readonly baseline: string | null;
  readonly baselineSize: number;
  readonly points: readonly RemediationPoint[];
}

/** Sudden-change rule: ≥ ratio × the mean of the trailing `window` months, and ≥ minIncrease more. */
export const changeRule = { window: 3, ratio: 3, minIncrease: 10 } as const;

export interface ChangeAlert {
  readonly scope: 'isp' | 'model';
  /** The ISP, or "vendor model". */
  readonly subject: string;
  /** For a model alert, its vendor and model as stored (for a link to its findings). */
  readonly vendor?: string;
  readonly model?: string;
  readonly kind: string;
  readonly month: string;
  readonly count: number;
  readonly baseline: number;
  readonly ratio: number | null;
}

const listColumns = ['id', 'kind', 'ip', 'port', 'protocol', 'observed_at', 'severity', 'isp', 'held', 'device_type', 'vendor', 'model'] as const;

function applyFilter(db: Kysely<Database>, f: FindingListFilter & { readonly minId?: number }) {
  let q = db.selectFrom('findings');
  if (f.kind !== undefined) q = q.where('kind', '=', f.kind);
  if (f.isp === null) q = q.where('isp', 'is', null);
  else if (f.isp !== undefined) q = q.where('isp', '=', f.isp);
  if (f.deviceType !== undefined) q = q.where('device_type', '=', f.deviceType);
  if (f.vendor !== undefined) q = q.where('vendor', '=', f.vendor);
  if (f.model !== undefined) q = q.where('model', '=', f.model);
  if (f.port !== undefined) q = q.where('port', '=', f.port);
  if (f.from !== undefined) q = q.where('observed_at', '>=', f.from);
  if (f.to !== undefined) q = q.where('observed_at', '<', f.to);
  // A range within one month also names the month facet, so the (month, id) index can serve it
  // in id order (observed_at's month is the period's month: a merge keeps the period).
  if (f.from !== undefined && f.to !== undefined) {
    const last = new Date(Date.parse(f.to) - 1);
    const month = f.from.slice(0, 7);
    if (!Number.isNaN(last.getTime()) && last.toISOString().slice(0, 7) === month) q = q.where('month', '=', month);
  }
  if (f.before !== undefined) q = q.where('id', '<', f.before);
  if (f.minId !== undefined) q = q.where('id', '>=', f.minId);
  return q;
}

type ListRowDb = { id: number | string; kind: string; ip: string; port: number; protocol: string | null; observed_at: string; severity: string; isp: string | null; held: string | null; device_type: string | null; vendor: string | null; model: string | null };

const toListRow = (r: ListRowDb): FindingListRow => ({
  id: Number(r.id),
  kind: r.kind,
  ip: r.ip,
  port: r.port === 0 ? null : r.port,
  protocol: r.protocol,
  observedAt: r.observed_at,
  severity: r.severity,
  isp: r.isp,
  held: r.held,
  deviceType: r.device_type,
  vendor: r.vendor,
  model: r.model,
});

const caches = new WeakMap<object, Map<string, { version: number; value: unknown }>>();

/** The dashboard's queries over one store. */
export interface WebStats {
  surveys(): Promise<SurveySummary[]>;
  survey(id: number): Promise<SurveySummary | undefined>;
  /** Newest first; `next` is the `before` of the following page, or null at the end. */
  listFindings(filter: FindingListFilter, pageSize: number): Promise<{ rows: FindingListRow[]; next: number | null }>;
  /**
   * The exact number of findings matching, read from a rollup table, when the filter is one the
   * rollups can answer (kind with ISP or held, or kind with device type / vendor / model, dates
   * on whole months, no port); else null.
   */
  exactCount(filter: FindingListFilter): Promise<number | null>;
  /** How many match, counting at most `cap` (+1 to know there are more). */
  countFindings(filter: FindingListFilter, cap: number): Promise<{ n: number; more: boolean }>;
  device(ip: string, options?: { maxObservations?: number }): Promise<DeviceReport>;
  /** Rollup counts grouped by the given columns (restricted by `where`), ordered by them. */
  rollup(by: readonly (keyof RollupKey)[], where?: Partial<RollupKey>): Promise<RollupRow[]>;
  /** Distinct values of a facet (for the filter menus), most common first. */
  facetValues(column: 'isp' | 'device_type' | 'vendor' | 'model' | 'protocol', limit: number): Promise<{ value: string; n: number }[]>;
  remediation(baseline?: string, months?: number): Promise<Remediation>;
  changes(): Promise<ChangeAlert[]>;
  /**
   * `make()`'s value, kept per store until a finding is added (max(id) changes): for what is
   * derived from findings only (chart data, rendered charts). Bounded to a few hundred keys.
   */
  memo<T>(key: string, make: () => Promise<T>): Promise<T>;
}

export function createWebStats(store: Store): WebStats {
  const db = store.db;
  let cache = caches.get(store);
  if (!cache) caches.set(store, (cache = new Map()));
  const memo = cache;

  async function version(): Promise<number> {
    const r = await db.selectFrom('findings').select((eb) => eb.fn.max('id').as('m')).executeTakeFirst();
    return Number(r?.m ?? 0);
  }

  async function cached<T>(key: string, make: () => Promise<T>): Promise<T> {
    const v = await version();
    const hit = memo.get(key);
    if (hit && hit.version === v) return hit.value as T;
    const value = await make();
    if (memo.size > 500) memo.clear();
    memo.set(key, { version: v, value });
    return value;
  }

  async function summaries(id?: number): Promise<SurveySummary[]> {
    const rows = id === undefined ? await store.surveys.list() : [await store.surveys.get(id)].filter((s) => s !== undefined);
    if (rows.length === 0) return [];
    const plans = await db.selectFrom('plan_versions').select(['digest', 'name', 'version']).where('digest', 'in', [...new Set(rows.map((r) => r.planDigest))]).execute();
    const byDigest = new Map(plans.map((p) => [p.digest, p]));
    const counts =
      id === undefined
        ? await store.endpoints.countBySurvey()
        : new Map([[id, await store.endpoints.count(id)]]);
    const now = Date.now();
    return rows.map((s) => {
      const secs = s.status === 'running' ? (now - Date.parse(s.startedAt)) / 1000 : s.elapsedMs / 1000;
      const plan = byDigest.get(s.planDigest);
      return {
        id: s.id,
        status: s.status,
        planDigest: s.planDigest,
        planName: plan?.name ?? null,
        planVersion: plan?.version ?? null,
        startedAt: s.startedAt,
        finishedAt: s.finishedAt,
        probesSent: s.probesSent,
        rate: secs > 0 && s.probesSent > 0 ? s.probesSent / secs : null,
        endpoints: counts.get(s.id) ?? 0,
        ports: s.ports,
        targets: s.targets.reduce((n, r) => n + (r.end - r.start + 1), 0),
      };
    });
  }

  /**
   * A date range also bounds the ids: the lowest and highest id of the months it covers, read
   * from the (month, id) index (two probes a month). Exact whatever order findings arrived in,
   * and it lets a filtered newest-first walk start at the range instead of at the newest finding
   * (ids follow survey time in practice). Null when those months hold no finding at all.
   */
  async function withIdBounds(f: FindingListFilter): Promise<(FindingListFilter & { minId?: number }) | null> {
    if (f.from === undefined && f.to === undefined) return f;
    const first = f.from?.slice(0, 7) ?? (await db.selectFrom('findings_rollup_isp').select((eb) => eb.fn.min('month').as('m')).executeTakeFirst())?.m;
    const lastInstant = f.to !== undefined ? new Date(Date.parse(f.to) - 1) : undefined;
    const last = lastInstant && !Number.isNaN(lastInstant.getTime()) ? lastInstant.toISOString().slice(0, 7) : (await db.selectFrom('findings_rollup_isp').select((eb) => eb.fn.max('month').as('m')).executeTakeFirst())?.m;
    if (!first || !last || !/^\d{4}-\d{2}$/.test(first) || !/^\d{4}-\d{2}$/.test(last)) return f;
    const list: string[] = [];
    for (let y = Number(first.slice(0, 4)), m = Number(first.slice(5, 7)); `${y}-${String(m).padStart(2, '0')}` <= last && list.length <= 48; m === 12 ? ((m = 1), y++) : m++) list.push(`${y}-${String(m).padStart(2, '0')}`);
    if (list.length === 0 || list.length > 48) return f;
    let lo: number | null = null;
    let hi: number | null = null;
    for (const month of list) {
      const a = await db.selectFrom('findings').select('id').where('month', '=', month).orderBy('id').limit(1).executeTakeFirst();
      if (!a) continue;
      const b = await db.selectFrom('findings').select('id').where('month', '=', month).orderBy('id', 'desc').limit(1).executeTakeFirst();
      lo = lo === null ? Number(a.id) : Math.min(lo, Number(a.id));
      hi = hi === null ? Number(b!.id) : Math.max(hi, Number(b!.id));
    }
    if (lo === null || hi === null) return null;
    const before = Math.min(f.before ?? Number.POSITIVE_INFINITY, hi + 1);
    return { ...f, before, minId: lo };
  }

  const stats: WebStats = {
    memo: cached,
    surveys: () => summaries(),
    async survey(id) {
      return (await summaries(id))[0];
    },
    async listFindings(given, pageSize) {
      const filter = await withIdBounds(given);
      if (filter === null) return { rows: [], next: null };
      const rows = await applyFilter(db, filter)
        .select([...listColumns])
        .orderBy('id', 'desc')
        .limit(pageSize + 1)
        .execute();
      const page = rows.slice(0, pageSize).map((r) => toListRow(r as ListRowDb));
      return { rows: page, next: rows.length > pageSize ? page.at(-1)!.id : null };
    },
    async exactCount(f) {
      if (f.port !== undefined || f.before !== undefined) return null;
      const monthOf = (iso: string | undefined, edge: 'from' | 'to'): string | null | undefined => {
        if (iso === undefined) return undefined;
        const d = new Date(iso);
        if (Number.isNaN(d.getTime()) || d.getUTCDate() !== 1 || d.getUTCHours() + d.getUTCMinutes() + d.getUTCSeconds() + d.getUTCMilliseconds() !== 0) return null;
        // `to` is exclusive: the first instant of the month after the last one counted.
        return edge === 'from' ? iso.slice(0, 7) : new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() - 1, 1)).toISOString().slice(0, 7);
      };
      const fromMonth = monthOf(f.from, 'from');
      const toMonth = monthOf(f.to, 'to');
      if (fromMonth === null || toMonth === null) return null;
      const byModel = f.deviceType !== undefined || f.vendor !== undefined || f.model !== undefined;
      if (byModel && f.isp !== undefined) return null;
      const tdb = db as unknown as Kysely<Record<string, Record<string, string | number>>>;
      let q = tdb.selectFrom(byModel ? 'findings_rollup_model' : 'findings_rollup_isp').select((eb) => eb.fn.sum<number | string>('n').as('n'));
      if (f.kind !== undefined) q = q.where('kind', '=', f.kind);
      if (f.isp !== undefined) q = q.where('isp', '=', f.isp ?? '');
      if (f.deviceType !== undefined) q = q.where('device_type', '=', f.deviceType);
      if (f.vendor !== undefined) q = q.where('vendor', '=', f.vendor);
      if (f.model !== undefined) q = q.where('model', '=', f.model);
      if (fromMonth !== undefined) q = q.where('month', '>=', fromMonth);
      if (toMonth !== undefined) q = q.where('month', '<=', toMonth);
      const r = await q.executeTakeFirst();
      return Number(r?.n ?? 0);
    },
    async countFindings(given, cap) {
      const filter = await withIdBounds(given);
      if (filter === null) return { n: 0, more: false };
      const inner = applyFilter(db, filter).select(sql<number>`1`.as('one')).limit(cap + 1);
      const r = await db.selectFrom(inner.as('t')).select((eb) => eb.fn.countAll().as('n')).executeTakeFirst();
      const n = Number(r?.n ?? 0);
      return { n: Math.min(n, cap), more: n > cap };
    },
    async device(ip, options = {}) {
      const num = parseIpv4(ip);
      if (num === undefined) throw new Error(`not an IPv4 address: ${ip}`);
      const maxObs = options.maxObservations ?? 50;
      const [endpoints, obs, ids, acc, vulns, finds, cases] = await Promise.all([
        db.selectFrom('endpoints').select(['survey_id', 'port', 'seen_at', 'source']).where('ip_num', '=', num).orderBy('survey_id').orderBy('port').limit(500).execute(),
        db.selectFrom('observations').selectAll().where('ip_num', '=', num).orderBy('id', 'desc').limit(maxObs + 1).execute(),
        db.selectFrom('identifications').select(['id', 'body']).where('ip_num', '=', num).orderBy('id', 'desc').limit(200).execute(),
        db.selectFrom('access_results').selectAll().where('ip_num', '=', num).orderBy('id', 'desc').limit(200).execute(),
        db.selectFrom('vuln_matches').selectAll().where('ip_num', '=', num).orderBy('id', 'desc').limit(500).execute(),
        db.selectFrom('findings').select([...listColumns, 'period', 'body']).where('ip_num', '=', num).orderBy('id', 'desc').limit(500).execute(),
        store.cases.byLastIp(ip),
      ]);
      const isps = [...new Set(finds.map((f) => f.isp).filter((i): i is string => i !== null))];
      const batches = isps.length
        ? await db.selectFrom('notification_batches').select(['ticket', 'isp', 'after_finding_id', 'max_finding_id']).where('isp', 'in', isps).orderBy('created_at').execute()
        : [];
      return {
        ip,
        endpoints: endpoints.map((e) => ({ surveyId: Number(e.survey_id), port: e.port, seenAt: e.seen_at, source: e.source })),
        observations: obs.slice(0, maxObs).map(
          (o): Observation => ({
            kind: 'observation',
            id: Number(o.id),
            surveyId: o.survey_id === null ? null : Number(o.survey_id),
            endpointId: o.endpoint_id === null ? null : Number(o.endpoint_id),
            ip: o.ip,
            port: o.port,
            module: o.module,
            status: o.status as Observation['status'],
            recognised: Number(o.recognised) === 1,
            fields: JSON.parse(o.fields) as Record<string, unknown>,
            raw: o.raw,
            bytesReceived: Number(o.bytes_received),
            ...(o.error !== null ? { error: o.error } : {}),
            observedAt: o.observed_at,
            durationMs: Number(o.duration_ms),
            source: o.source as Observation['source'],
          }),
        ),
        observationsCut: obs.length > maxObs,
        identifications: ids.map((r) => ({ ...(JSON.parse(r.body) as Identification), id: Number(r.id) })),
        access: acc.map(
          (r): AccessResult => ({
            kind: 'access-result',
            id: Number(r.id),
            surveyId: r.survey_id === null ? null : Number(r.survey_id),
            endpointId: r.endpoint_id === null ? null : Number(r.endpoint_id),
            ip: r.ip,
            port: r.port,
            protocol: r.protocol as AccessResult['protocol'],
            verdict: r.verdict as AccessResult['verdict'],
            entry: r.entry,
            username: r.username,
            reason: r.reason,
            attempts: Number(r.attempts),
            planDigest: r.plan_digest,
            planVersion: r.plan_version,
            dictionary: JSON.parse(r.dictionary) as AccessResult['dictionary'],
            startedAt: r.started_at,
            finishedAt: r.finished_at,
          }),
        ),
        vulns: vulns.map(
          (v): VulnerabilityMatch => ({
            kind: 'vulnerability-match',
            id: Number(v.id),
            surveyId: v.survey_id === null ? null : Number(v.survey_id),
            identificationId: v.identification_id === null ? null : Number(v.identification_id),
            ip: v.ip,
            cve: v.cve,
            status: v.status as VulnerabilityMatch['status'],
            cpe: JSON.parse(v.cpe) as string[],
            reason: v.reason,
            threat: JSON.parse(v.threat) as VulnerabilityMatch['threat'],
            matchedAt: v.matched_at,
          }),
        ),
        findings: finds.map((f) => {
          const id = Number(f.id);
          const body = JSON.parse(f.body) as { details?: Record<string, unknown> };
          return {
            ...toListRow(f as ListRowDb),
            period: f.period,
            details: body.details ?? {},
            batches: batches.filter((b) => b.isp === f.isp && Number(b.after_finding_id) < id && id <= Number(b.max_finding_id)).map((b) => b.ticket),
          };
        }),
        cases,
      };
    },
    async rollup(by, where = {}) {
      const wanted = Object.keys(where).filter((c) => where[c as keyof RollupKey] !== undefined) as (keyof RollupKey)[];
      const table = rollupFor([...by, ...wanted]);
      // The table is chosen at run time, so the builder is given plain column names.
      const tdb = db as unknown as Kysely<Record<string, Record<string, string | number>>>;
      let q = tdb.selectFrom(table);
      for (const c of wanted) q = q.where(c, '=', where[c]!);
      let s = q.select([...by, (eb) => eb.fn.sum<number | string>('n').as('n')]);
      for (const c of by) s = s.groupBy(c).orderBy(c);
      const rows = await s.execute();
      return rows.map((r) => ({ ...(r as unknown as Partial<RollupKey>), n: Number((r as { n: unknown }).n) }));
    },
    async facetValues(column, limit) {
      const tdb = db as unknown as Kysely<Record<string, Record<string, string | number>>>;
      const rows = await tdb
        .selectFrom(rollupFor([column]))
        .select([column, (eb) => eb.fn.sum<number | string>('n').as('n')])
        .where(column, '<>', '')
        .groupBy(column)
        .orderBy('n', 'desc')
        .orderBy(column)
        .limit(limit)
        .execute();
      return rows.map((r) => ({ value: String((r as Record<string, unknown>)[column]), n: Number(r.n) }));
    },
    remediation(baseline, months = 12) {
      return cached(`remediation:${baseline ?? ''}:${months}`, async () => {
        const first = baseline ?? (await db.selectFrom('findings_rollup_isp').select((eb) => eb.fn.min('month').as('m')).executeTakeFirst())?.m ?? null;
        if (first === null || first === undefined) return { baseline: null, baselineSize: 0, points: [] };
        const all = (await db.selectFrom('findings_rollup_isp').select('month').distinct().where('month', '>=', first).orderBy('month').execute()).map((r) => r.month).slice(0, months + 1);
        const last = all.at(-1) ?? first;
        // The first month's keys are exactly those whose first month it is: read them from the
        // table record() keeps (grouped by mask), as long as every month shown fits the mask.
        if (baseline === undefined && monthIndex(last) - monthIndex(first) < maskMonths) {
          const groups = await baselineGroups(db, first);
          const baselineSize = groups.reduce((s, g) => s + g.n, 0);
          return {
            baseline: first,
            baselineSize,
            points: all.map((m) => {
              const bit = 1n << BigInt(monthIndex(m) - monthIndex(first));
              const present = groups.reduce((s, g) => (g.mask & bit ? s + g.n : s), 0);
              return { month: m, present, share: baselineSize ? present / baselineSize : 0 };
            }),
          };
        }
        const size = await db.selectFrom('findings').select((eb) => eb.fn.countAll().as('n')).where('month', '=', first).executeTakeFirst();
        const baselineSize = Number(size?.n ?? 0);
        // Each baseline row looks its own key up in the unique (ip_num, kind, port, period) index:
        // the later periods of the same key, so the join reads the index only.
        const rows = await sql<{ month: string; n: number | string }>`
          select substr(f.period, 1, 7) as month, count(distinct b.id) as n
          from findings b join findings f
            on f.ip_num = b.ip_num and f.kind = b.kind and f.port = b.port and f.period >= ${first} and f.period <= ${`${last}~`}
          where b.month = ${first}
          group by substr(f.period, 1, 7)`.execute(db);
        const byMonth = new Map(rows.rows.map((r) => [r.month, Number(r.n)]));
        return {
          baseline: first,
          baselineSize,
          points: all.map((m) => {
            const present = byMonth.get(m) ?? 0;
            return { month: m, present, share: baselineSize ? present / baselineSize : 0 };
          }),
        };
      });
    },
    changes() {
      return cached('changes', () => changes());
    },
  };

  async function changes(): Promise<ChangeAlert[]> {
    const months = (await db.selectFrom('findings_rollup_isp').select('month').distinct().orderBy('month').execute()).map((r) => r.month);
    const [byIsp, byModel] = await Promise.all([stats.rollup(['isp', 'kind', 'month']), stats.rollup(['vendor', 'model', 'kind', 'month'])]);
    const out: ChangeAlert[] = [];
    const scan = (scope: ChangeAlert['scope'], rows: readonly RollupRow[], subjectOf: (r: RollupRow) => string | null) => {
      const series = new Map<string, { subject: string; kind: string; row: RollupRow; counts: Map<string, number> }>();
      for (const r of rows) {
        const subject = subjectOf(r);
        if (subject === null) continue;
        const k = `${subject}\u0001${r.kind}`;
        let s = series.get(k);
        if (!s) series.set(k, (s = { subject, kind: r.kind!, row: r, counts: new Map() }));
        s.counts.set(r.month!, (s.counts.get(r.month!) ?? 0) + r.n);
      }
      for (const s of series.values()) {
        for (let i = changeRule.window; i < months.length; i++) {
          const count = s.counts.get(months[i]!) ?? 0;
          let sum = 0;
          for (let j = i - changeRule.window; j < i; j++) sum += s.counts.get(months[j]!) ?? 0;
          const mean = sum / changeRule.window;
          if (count >= changeRule.ratio * mean && count - mean >= changeRule.minIncrease) {
            out.push({ scope, subject: s.subject, ...(scope === 'model' ? { vendor: s.row.vendor ?? '', model: s.row.model ?? '' } : {}), kind: s.kind, month: months[i]!, count, baseline: Math.round(mean * 10) / 10, ratio: mean > 0 ? Math.round((count / mean) * 10) / 10 : null });
          }
        }
      }
    };
    scan('isp', byIsp, (r) => (r.isp ? r.isp : null));
    scan('model', byModel, (r) => (r.model ? `${r.vendor ? `${r.vendor} ` : ''}${r.model}` : null));
    return out.sort((a, b) => b.month.localeCompare(a.month) || (b.count - b.baseline) - (a.count - a.baseline));
  }
  return stats;
}
