/**
 * The query layer, as one small repository per stage (plans, surveys, endpoints, leases): callers
 * use these and never write SQL, and a later stage adds its own repository without growing the
 * others. The same queries serve SQLite and PostgreSQL; ./open.ts opens and migrates either.
 */
import { Kysely, sql, type Selectable } from 'kysely';
import { IotcleanError } from '../core/errors.js';
import type { Ipv4Range } from '../core/ip.js';
import type { Endpoint, EndpointSource } from '../core/records.js';
import { parseIpv4 } from '../core/ip.js';
import { createAccessRepository, type AccessRepository } from './access.js';
import { createCaseRepository, type CaseRepository } from './cases.js';
import { createSessionRepository, type SessionRepository } from './sessions.js';
import type { FindingRepository } from '../findings/types.js';
import { createFindingRepository } from './findings.js';
import { createFlowRepository, type FlowRepository } from './flows.js';
import type { Dialect } from './migrations.js';
import { createNotificationRepository, type NotificationRepository } from './notifications.js';
import { createVulnRepository, type VulnRepository } from './vuln.js';
import { createWebRepository, type WebRepository } from './web.js';
import { createDarknetRepository, type DarknetRepository } from './darknet.js';
import { createPlanGovernanceRepository, type PlanGovernanceRepository } from './plan-governance.js';
import { createWebSupportRepository, type WebSupportRepository } from './web-support.js';
import { createOptoutRepository, type OptoutRepository } from './web-public.js';
import { createPortalRepository, type PortalRepository } from './web-portal.js';
import { createShareRepository, type ShareRepository } from './share.js';
import { createIdentificationRepository, createObservationRepository, type IdentificationRepository, type ObservationRepository } from './results.js';
import type { Database, SurveyStatus, SurveyTable } from './schema.js';

/** The runner holding a survey, as stored. Times are ISO 8601. */
export interface LeaseInfo {
  readonly owner: string;
  readonly takenAt: string;
  readonly expiresAt: string;
}

export interface SurveyRow {
  readonly id: number;
  readonly planDigest: string;
  readonly scope: { readonly source: string; readonly ranges: readonly Ipv4Range[] };
  readonly targets: readonly Ipv4Range[];
  readonly ports: readonly number[];
  readonly seed: number;
  readonly shard: { readonly index: number; readonly count: number };
  readonly workers: number;
  /** `running` only while a runner holds an unexpired lease; a dead runner's survey reads `interrupted`. */
  readonly status: SurveyStatus;
  readonly checkpoint: readonly number[];
  readonly startedAt: string;
  readonly finishedAt: string | null;
  readonly probesSent: number;
  readonly elapsedMs: number;
  /** The current (possibly lapsed) lease, or null when no runner holds the survey. */
  readonly lease: LeaseInfo | null;
}

export type NewSurvey = Omit<SurveyRow, 'id' | 'status' | 'checkpoint' | 'finishedAt' | 'probesSent' | 'elapsedMs' | 'lease'>;

/** An imported survey records the ports its rows hold, so it is created without them. */
export type NewImport = Omit<NewSurvey, 'ports'>;

/** Who asks for a lease and for how long. */
export interface LeaseRequest {
  readonly owner: string;
  readonly ttlMs: number;
}

export interface PlanRepository {
  /** Save a plan version (idempotent by digest). */
  save(plan: { digest: string; version: string; name: string; body: unknown }): Promise<void>;
  get(digest: string): Promise<unknown>;
}

export interface SurveyRepository {
  /** Create a running survey; with a lease, the creator holds it from the first moment. */
  create(s: NewSurvey, lease?: LeaseRequest): Promise<number>;
  get(id: number): Promise<SurveyRow | undefined>;
  list(): Promise<SurveyRow[]>;
  /**
   * Write found endpoints and the new checkpoint in one transaction (resume depends on it). With
   * `owner`, only while that runner holds the lease: otherwise nothing is written and E_BUSY is
   * thrown, so a runner that lost its survey cannot move the new holder's checkpoint. Returns the
   * batch's endpoints with their stored ids (a re-found endpoint keeps its first id), so the next
   * stage can start on them at once.
   */
  recordProgress(surveyId: number, endpoints: readonly Endpoint[], checkpoint: readonly number[], options?: { probesSent?: number; owner?: string }): Promise<Endpoint[]>;
  /**
   * Mark a survey ended and drop its lease; without stats only the status changes (the
   * checkpoint is kept for resume). With `owner`, only while that runner holds the lease
   * (false otherwise: another runner took over and its status stands).
   */
  finish(id: number, status: SurveyStatus, stats?: { probesSent: number; elapsedMs: number; checkpoint: readonly number[] }, owner?: string): Promise<boolean>;
  /**
   * Store imported scanner output as a finished survey, all or nothing: if the stream throws,
   * the transaction rolls back and what was stored before is untouched. The survey's ports are
   * the distinct ports of the rows stored.
   */
  import(s: NewImport, endpoints: AsyncIterable<Endpoint>): Promise<{ surveyId: number; count: number; ports: number[] }>;
}

export interface EndpointRepository {
  /** A survey's endpoints by address then port, read page by page (keyset), so any size streams. */
  list(surveyId: number, options?: { pageSize?: number }): AsyncIterable<Endpoint>;
  /** All of them in memory, for summaries of one survey. */
  all(surveyId: number): Promise<Endpoint[]>;
  count(surveyId: number): Promise<number>;
  /** Endpoint counts of every survey in one grouped query (surveys without any are absent). */
  countBySurvey(): Promise<Map<number, number>>;
}

export type AcquireResult = { readonly ok: true } | { readonly ok: false; readonly survey: SurveyRow | undefined };

export interface LeaseRepository {
  /**
   * Take the lease of an unfinished survey, atomically: it succeeds only when no one holds it,
   * the holder's lease has lapsed, the holder is `owner` already, or the holder is `replacing`
   * (a runner known to be dead). Taking it marks the survey running again.
   */
  acquire(surveyId: number, lease: LeaseRequest, options?: { replacing?: string }): Promise<AcquireResult>;
  /** Push the expiry on; false when `owner` no longer holds the lease. */
  renew(surveyId: number, lease: LeaseRequest): Promise<boolean>;
  /** Give the lease up (the survey's status is left as it is). */
  release(surveyId: number, owner: string): Promise<void>;
}

export interface Store {
  readonly dialect: Dialect;
  readonly db: Kysely<Database>;
  readonly plans: PlanRepository;
  readonly surveys: SurveyRepository;
  readonly endpoints: EndpointRepository;
  readonly leases: LeaseRepository;
  readonly observations: ObservationRepository;
  readonly identifications: IdentificationRepository;
  /** Weak-credential results per service and the audit of every try (./access.ts). */
  readonly access: AccessRepository;
  /** Centre → ISP batches and their deliveries (./notifications.ts). */
  readonly notifications: NotificationRepository;
  /** ISP-side cases, their transitions, alerts and re-scans (./cases.ts). */
  readonly cases: CaseRepository;
  /** ISP side: session logs, subscribers, inventory (./sessions.ts). */
  readonly sessions: SessionRepository;
  /** Findings, one per (kind, ip, port, period), validated and deduplicated (./findings.ts). */
  readonly findings: FindingRepository;
  /** CVE records, KEV, EPSS and the vulnerability matches of surveys (./vuln.ts). */
  readonly vuln: VulnRepository;
  /** The web server's accounts, sessions, failed logins and audit log (./web.ts). */
  readonly web: WebRepository;
  /** Darknet per-day aggregates (./darknet.ts). */
  readonly darknet: DarknetRepository;
  /** Plan proposals and two-person approvals; surveys run approved plans only once one is approved (./plan-governance.ts). */
  readonly planApprovals: PlanGovernanceRepository;
  /** Remediation manuals (versioned), the support desk's questions, canned answers and FAQ (./web-support.ts). */
  readonly support: WebSupportRepository;
  /** The public site's rate limits, opt-out requests and the survey exclusions they become (./web-public.ts). */
  readonly optouts: OptoutRepository;
  /** The ISP portal's API tokens and case reports, and its ISP-scoped finding pages (./web-portal.ts). */
  readonly portal: PortalRepository;
  /** Served TAXII collections, STIX objects received from other ISPs, pull cursors (./share.ts). */
  readonly share: ShareRepository;
  /** C&C candidates from flow detection and their liveness history (./flows.ts). */
  readonly flows: FlowRepository;
  close(): Promise<void>;
}

const iso = (ms: number | string | null): string => new Date(Number(ms)).toISOString();

function toSurvey(r: Selectable<SurveyTable>, now: number): SurveyRow {
  const expires = r.lease_expires_at === null ? null : Number(r.lease_expires_at);
  // A running survey whose runner stopped renewing (killed, machine lost) is interrupted: derived
  // here, on every read, so no one has to be alive to mark it.
  const status = r.status === 'running' && (expires === null || expires <= now) ? 'interrupted' : r.status;
  return {
    id: Number(r.id),
    planDigest: r.plan_digest,
    scope: JSON.parse(r.scope) as SurveyRow['scope'],
    targets: JSON.parse(r.targets) as Ipv4Range[],
    ports: JSON.parse(r.ports) as number[],
    seed: Number(r.seed),
    shard: { index: r.shard_index, count: r.shard_count },
    workers: r.workers,
    status,
    checkpoint: JSON.parse(r.checkpoint) as number[],
    startedAt: r.started_at,
    finishedAt: r.finished_at,
    probesSent: Number(r.probes_sent),
    elapsedMs: Number(r.elapsed_ms),
    lease: r.lease_owner === null || expires === null ? null : { owner: r.lease_owner, takenAt: iso(r.lease_taken_at), expiresAt: iso(expires) },
  };
}

/** The stored form of an endpoint; an address that is not a dotted quad is refused, never stored as 0. */
function endpointRow(surveyId: number, e: Endpoint) {
  const ipNum = parseIpv4(e.ip);
  if (ipNum === undefined) {
    throw new IotcleanError('E_STORE', `endpoint address "${e.ip}" is not an IPv4 address; nothing of this batch was stored`, {
      hint: 'this is a bug in the stage that made the record',
    });
  }
  if (!Number.isInteger(e.port) || e.port < 1 || e.port > 65535) {
    throw new IotcleanError('E_STORE', `endpoint ${e.ip} has port ${e.port}, not 1..65535; nothing of this batch was stored`, {
      hint: 'this is a bug in the stage that made the record',
    });
  }
  return { survey_id: surveyId, ip: e.ip, ip_num: ipNum, port: e.port, seen_at: e.seenAt, source: e.source };
}

const defaultPageSize = 5000;

/** The stored ids of a batch's rows, keyed "ip_num:port" (one query per chunk of addresses). */
async function storedIds(db: Kysely<Database>, surveyId: number, rows: readonly { ip_num: number; port: number }[]): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  const nums = [...new Set(rows.map((r) => r.ip_num))];
  for (let i = 0; i < nums.length; i += 500) {
    const found = await db
      .selectFrom('endpoints')
      .select(['id', 'ip_num', 'port'])
      .where('survey_id', '=', surveyId)
      .where('ip_num', 'in', nums.slice(i, i + 500))
      .execute();
    for (const f of found) out.set(`${Number(f.ip_num)}:${f.port}`, Number(f.id));
  }
  return out;
}

/**
 * The database's clock in epoch ms. Leases are stamped and judged by the one clock every runner
 * shares, so runners on hosts whose clocks disagree still agree on who holds a survey.
 */
function dbNow(dialect: Dialect) {
  return dialect === 'postgres'
    ? sql<number>`(extract(epoch from statement_timestamp()) * 1000)::bigint`
    : sql<number>`cast((julianday('now') - 2440587.5) * 86400000.0 as integer)`;
}

/** The repositories over an open, migrated database (opening it is ./open.ts). */
export function createStore(db: Kysely<Database>, dialect: Dialect): Store {
  const now = dbNow(dialect);
  const later = (ms: number) => sql<number>`${now} + ${ms}`;
  const plans: PlanRepository = {
    async save(plan) {
      await db
        .insertInto('plan_versions')
        .values({
          digest: plan.digest,
          version: plan.version,
          name: plan.name,
          body: JSON.stringify(plan.body),
          created_at: new Date().toISOString(),
        })
        .onConflict((oc) => oc.column('digest').doNothing())
        .execute();
    },
    async get(digest) {
      const r = await db.selectFrom('plan_versions').select('body').where('digest', '=', digest).executeTakeFirst();
      return r ? (JSON.parse(r.body) as unknown) : undefined;
    },
  };

  const surveys: SurveyRepository = {
    async create(s, lease) {
      const row = await db
        .insertInto('surveys')
        .values({
          plan_digest: s.planDigest,
          scope: JSON.stringify(s.scope),
          targets: JSON.stringify(s.targets),
          ports: JSON.stringify(s.ports),
          seed: s.seed,
          shard_index: s.shard.index,
          shard_count: s.shard.count,
          workers: s.workers,
          status: 'running',
          checkpoint: JSON.stringify(new Array(s.workers).fill(0)),
          started_at: s.startedAt,
          finished_at: null,
          ...(lease ? { lease_owner: lease.owner, lease_taken_at: now, lease_expires_at: later(lease.ttlMs) } : {}),
        })
        .returning('id')
        .executeTakeFirstOrThrow();
      return Number(row.id);
    },
    async get(id) {
      const r = await db.selectFrom('surveys').selectAll().select(now.as('db_now')).where('id', '=', id).executeTakeFirst();
      return r ? toSurvey(r, Number(r.db_now)) : undefined;
    },
    async list() {
      const rows = await db.selectFrom('surveys').selectAll().select(now.as('db_now')).orderBy('id').execute();
      return rows.map((r) => toSurvey(r, Number(r.db_now)));
    },
    async recordProgress(surveyId, endpoints, checkpoint, options = {}) {
      const { probesSent, owner } = options;
      // Checked before the transaction opens, so a bad record costs nothing already stored.
      const rows = endpoints.map((e) => endpointRow(surveyId, e));
      const write = async (tx: Kysely<Database>) => {
        // The checkpoint first: it is the fence that tells whether this runner may write at all.
        const updated = await tx
          .updateTable('surveys')
          .set({ checkpoint: JSON.stringify(checkpoint) })
          .$if(probesSent !== undefined, (q) => q.set({ probes_sent: probesSent! }))
          .where('id', '=', surveyId)
          .$if(owner !== undefined, (q) => q.where('lease_owner', '=', owner!))
          .executeTakeFirst();
        if (owner !== undefined && Number(updated.numUpdatedRows) !== 1) {
          throw new IotcleanError('E_BUSY', `survey ${surveyId}: this runner no longer holds its lease; nothing of this batch was stored`, {
            hint: 'another runner took the survey over; see iotclean surveys',
          });
        }
        // Chunked to stay under SQLite's bound-parameter limit.
        for (let i = 0; i < rows.length; i += 500) {
          await tx
            .insertInto('endpoints')
            .values(rows.slice(i, i + 500))
            .onConflict((oc) => oc.columns(['survey_id', 'ip_num', 'port']).doNothing())
            .execute();
        }
        return storedIds(tx, surveyId, rows);
      };
      // Inside an import the caller's transaction already holds it together.
      const ids = await (db.isTransaction ? write(db) : db.transaction().execute(write));
      return endpoints.map((e, i) => ({ ...e, id: ids.get(`${rows[i]!.ip_num}:${e.port}`)! }));
    },
    async finish(id, status, stats, owner) {
      const result = await db
        .updateTable('surveys')
        .set({ status, finished_at: new Date().toISOString(), lease_owner: null, lease_taken_at: null, lease_expires_at: null })
        .$if(stats !== undefined, (q) =>
          q.set({
            probes_sent: stats!.probesSent,
            elapsed_ms: Math.round(stats!.elapsedMs),
            checkpoint: JSON.stringify(stats!.checkpoint),
          }),
        )
        .where('id', '=', id)
        .$if(owner !== undefined, (q) => q.where('lease_owner', '=', owner!))
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },
    async import(s, endpoints) {
      return db.transaction().execute(async (tx) => {
        const inner = createStore(tx, dialect).surveys;
        const surveyId = await inner.create({ ...s, ports: [] });
        const ports = new Set<number>();
        let batch: Endpoint[] = [];
        let count = 0;
        for await (const e of endpoints) {
          batch.push(e);
          ports.add(e.port);
          count++;
          if (batch.length >= 2000) {
            await inner.recordProgress(surveyId, batch, []);
            batch = [];
          }
        }
        await inner.recordProgress(surveyId, batch, []);
        const held = [...ports].sort((a, b) => a - b);
        await tx.updateTable('surveys').set({ ports: JSON.stringify(held) }).where('id', '=', surveyId).execute();
        await inner.finish(surveyId, 'done', { probesSent: 0, elapsedMs: 0, checkpoint: [] });
        return { surveyId, count, ports: held };
      });
    },
  };

  const endpoints: EndpointRepository = {
    async *list(surveyId, options = {}) {
      const pageSize = options.pageSize ?? defaultPageSize;
      let after: readonly [number, number] | undefined;
      for (;;) {
        const rows = await db
          .selectFrom('endpoints')
          .select(['id', 'ip', 'ip_num', 'port', 'seen_at', 'source'])
          .where('survey_id', '=', surveyId)
          // Keyset: continue after the last (address, port) seen; the unique index serves it.
          .$if(after !== undefined, (q) => q.where(({ eb, refTuple, tuple }) => eb(refTuple('ip_num', 'port'), '>', tuple(after![0], after![1]))))
          .orderBy('ip_num')
          .orderBy('port')
          .limit(pageSize)
          .execute();
        for (const r of rows) {
          yield { kind: 'endpoint', id: Number(r.id), ip: r.ip, port: r.port, seenAt: r.seen_at, source: r.source as EndpointSource };
        }
        const last = rows.at(-1);
        if (!last || rows.length < pageSize) return;
        after = [Number(last.ip_num), last.port];
      }
    },
    async all(surveyId) {
      const out: Endpoint[] = [];
      for await (const e of endpoints.list(surveyId)) out.push(e);
      return out;
    },
    async count(surveyId) {
      const r = await db.selectFrom('endpoints').select((eb) => eb.fn.countAll().as('n')).where('survey_id', '=', surveyId).executeTakeFirst();
      return Number(r?.n ?? 0);
    },
    async countBySurvey() {
      const rows = await db.selectFrom('endpoints').select(['survey_id', (eb) => eb.fn.countAll().as('n')]).groupBy('survey_id').execute();
      return new Map(rows.map((r) => [Number(r.survey_id), Number(r.n)]));
    },
  };

  const leases: LeaseRepository = {
    async acquire(surveyId, lease, options = {}) {
      // One conditional UPDATE: the database decides between racing runners, and exactly one
      // sees a row changed.
      const result = await db
        .updateTable('surveys')
        .set({ status: 'running', lease_owner: lease.owner, lease_taken_at: now, lease_expires_at: later(lease.ttlMs) })
        .where('id', '=', surveyId)
        .where('status', '<>', 'done')
        .where((eb) =>
          eb.or([
            eb('lease_owner', 'is', null),
            eb('lease_expires_at', 'is', null),
            eb('lease_expires_at', '<=', now),
            eb('lease_owner', '=', lease.owner),
            ...(options.replacing !== undefined ? [eb('lease_owner', '=', options.replacing)] : []),
          ]),
        )
        .executeTakeFirst();
      if (Number(result.numUpdatedRows) === 1) return { ok: true };
      return { ok: false, survey: await surveys.get(surveyId) };
    },
    async renew(surveyId, lease) {
      const result = await db
        .updateTable('surveys')
        .set({ lease_expires_at: later(lease.ttlMs) })
        .where('id', '=', surveyId)
        .where('lease_owner', '=', lease.owner)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },
    async release(surveyId, owner) {
      await db
        .updateTable('surveys')
        .set({ lease_owner: null, lease_taken_at: null, lease_expires_at: null })
        .where('id', '=', surveyId)
        .where('lease_owner', '=', owner)
        .execute();
    },
  };

  return {
    dialect,
    db,
    plans,
    surveys,
    endpoints,
    leases,
    observations: createObservationRepository(db),
    identifications: createIdentificationRepository(db),
    access: createAccessRepository(db),
    notifications: createNotificationRepository(db),
    cases: createCaseRepository(db),
    sessions: createSessionRepository(db),
    findings: createFindingRepository(db, dialect),
    vuln: createVulnRepository(db),
    web: createWebRepository(db),
    darknet: createDarknetRepository(db),
    planApprovals: createPlanGovernanceRepository(db),
    support: createWebSupportRepository(db),
    optouts: createOptoutRepository(db),
    portal: createPortalRepository(db),
    share: createShareRepository(db),
    flows: createFlowRepository(db),
    async close() {
      await db.destroy();
    },
  };
}
