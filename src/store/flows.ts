/**
 * The flows repository: C&C candidates (one row per endpoint ip:port/proto, the latest detection's
 * score and evidence) with their liveness state, and the history of every liveness check. The
 * schedule and the expiry rule live in src/flows/liveness.ts; this only stores what it decides.
 */
import type { Kysely, Selectable } from 'kysely';
import { IotcleanError } from '../core/errors.js';
import { parseIpv4 } from '../core/ip.js';
import type { C2Candidate, CandidateEvidence, LivenessCheck } from '../flows/types.js';
import type { Database, FlowCandidateTable } from './schema.js';

export type CandidateStatus = 'active' | 'expired';

/** A stored candidate: the detection's view plus its liveness state. */
export interface StoredCandidate extends Omit<C2Candidate, 'kind'> {
  readonly id: number;
  /** When it was first detected (the liveness schedule counts from here). */
  readonly detectedAt: string;
  readonly updatedAt: string;
  readonly status: CandidateStatus;
  readonly deadStreak: number;
  readonly checks: number;
  readonly lastCheckAt: string | null;
  readonly lastAliveAt: string | null;
  readonly nextCheckAt: string;
}

/** The liveness state a check leaves behind. */
export interface LivenessState {
  readonly status: CandidateStatus;
  readonly deadStreak: number;
  readonly nextCheckAt: string;
}

export interface FlowRepository {
  /**
   * Store a detection's candidates: a new endpoint is added (active, first check due at
   * `detectedAt`); a known one gets the new score, evidence, counts and window, keeps its first
   * detection time and liveness state, and its first seen only moves earlier. Ids in input order.
   */
  upsert(candidates: readonly C2Candidate[], detectedAt: string): Promise<number[]>;
  get(id: number): Promise<StoredCandidate | undefined>;
  list(filter?: { readonly status?: CandidateStatus }): Promise<StoredCandidate[]>;
  /** Candidates whose next check is due at `now` (expired ones too: they may revive), oldest due first. */
  due(now: string, limit?: number): Promise<StoredCandidate[]>;
  /** Record one check and the state it leads to, in one transaction. */
  recordCheck(id: number, check: LivenessCheck, state: LivenessState): Promise<void>;
  /** Every check of a candidate, oldest first. */
  history(id: number): Promise<LivenessCheck[]>;
}

function toStored(r: Selectable<FlowCandidateTable>): StoredCandidate {
  return {
    id: Number(r.id),
    ip: r.ip,
    port: r.port,
    proto: r.proto === 'udp' ? 'udp' : 'tcp',
    score: Number(r.score),
    firstSeen: r.first_seen,
    lastSeen: r.last_seen,
    clients: r.clients,
    knownBadClients: r.known_bad_clients,
    evidence: JSON.parse(r.evidence) as CandidateEvidence[],
    window: { from: r.window_from, to: r.window_to },
    detectedAt: r.detected_at,
    updatedAt: r.updated_at,
    status: r.status === 'expired' ? 'expired' : 'active',
    deadStreak: r.dead_streak,
    checks: r.checks,
    lastCheckAt: r.last_check_at,
    lastAliveAt: r.last_alive_at,
    nextCheckAt: r.next_check_at,
  };
}

export function createFlowRepository(db: Kysely<Database>): FlowRepository {
  return {
    async upsert(candidates, detectedAt) {
      const rows = candidates.map((c) => {
        const ipNum = parseIpv4(c.ip);
        if (ipNum === undefined || !Number.isInteger(c.port) || c.port < 0 || c.port > 65535) {
          throw new IotcleanError('E_STORE', `candidate ${c.ip}:${c.port} is not an IPv4 address and port; nothing of this batch was stored`, { hint: 'this is a bug in the stage that made the record' });
        }
        return { c, ipNum };
      });
      const write = async (tx: Kysely<Database>) => {
        const ids: number[] = [];
        for (const { c, ipNum } of rows) {
          const values = {
            score: c.score,
            last_seen: c.lastSeen,
            clients: c.clients,
            known_bad_clients: c.knownBadClients,
            evidence: JSON.stringify(c.evidence),
            window_from: c.window.from,
            window_to: c.window.to,
            updated_at: detectedAt,
          };
          const found = await tx.selectFrom('flow_candidates').select(['id', 'first_seen', 'last_seen']).where('ip_num', '=', ipNum).where('port', '=', c.port).where('proto', '=', c.proto).executeTakeFirst();
          if (found) {
            await tx
              .updateTable('flow_candidates')
              .set({ ...values, first_seen: c.firstSeen < found.first_seen ? c.firstSeen : found.first_seen, last_seen: c.lastSeen > found.last_seen ? c.lastSeen : found.last_seen })
              .where('id', '=', found.id)
              .execute();
            ids.push(Number(found.id));
          } else {
            const r = await tx
              .insertInto('flow_candidates')
              .values({ ...values, ip: c.ip, ip_num: ipNum, port: c.port, proto: c.proto, first_seen: c.firstSeen, detected_at: detectedAt, status: 'active', dead_streak: 0, checks: 0, last_check_at: null, last_alive_at: null, next_check_at: detectedAt })
              .returning('id')
              .executeTakeFirstOrThrow();
            ids.push(Number(r.id));
          }
        }
        return ids;
      };
      return db.isTransaction ? write(db) : db.transaction().execute(write);
    },
    async get(id) {
      const r = await db.selectFrom('flow_candidates').selectAll().where('id', '=', id).executeTakeFirst();
      return r ? toStored(r) : undefined;
    },
    async list(filter = {}) {
      const rows = await db
        .selectFrom('flow_candidates')
        .selectAll()
        .$if(filter.status !== undefined, (q) => q.where('status', '=', filter.status!))
        .orderBy('score', 'desc')
        .orderBy('id')
        .execute();
      return rows.map(toStored);
    },
    async due(now, limit = 10_000) {
      const rows = await db.selectFrom('flow_candidates').selectAll().where('next_check_at', '<=', now).orderBy('next_check_at').orderBy('id').limit(limit).execute();
      return rows.map(toStored);
    },
    async recordCheck(id, check, state) {
      await db.transaction().execute(async (tx) => {
        const cur = await tx.selectFrom('flow_candidates').select(['checks', 'last_alive_at']).where('id', '=', id).executeTakeFirst();
        if (!cur) throw new IotcleanError('E_NOT_FOUND', `no C&C candidate ${id}`, { hint: 'see iotclean flows live --list' });
        await tx.insertInto('flow_liveness').values({ candidate_id: id, at: check.at, alive: check.alive ? 1 : 0, outcome: check.outcome, ms: check.ms }).execute();
        await tx
          .updateTable('flow_candidates')
          .set({ status: state.status, dead_streak: state.deadStreak, next_check_at: state.nextCheckAt, checks: cur.checks + 1, last_check_at: check.at, last_alive_at: check.alive ? check.at : cur.last_alive_at })
          .where('id', '=', id)
          .execute();
      });
    },
    async history(id) {
      const c = await db.selectFrom('flow_candidates').select(['ip', 'port']).where('id', '=', id).executeTakeFirst();
      if (!c) return [];
      const rows = await db.selectFrom('flow_liveness').selectAll().where('candidate_id', '=', id).orderBy('id').execute();
      return rows.map((r) => ({ ip: c.ip, port: c.port, at: r.at, alive: r.alive === 1, outcome: r.outcome, ms: r.ms === null ? null : Number(r.ms) }));
    },
  };
}
