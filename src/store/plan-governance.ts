/**
 * Survey governance: a plan version is proposed by one operator and approved (or rejected) by a
 * second operator with the admin role, never the proposer (two-person rule). An approved version
 * is immutable: its body is content-addressed (plan_versions, by digest) and its decision is never
 * changed again.
 *
 * Enforcement switch: governance is ON for a store as soon as one approval is recorded in it. From
 * then on a survey (src/pipeline/survey.ts) refuses any plan whose digest is not approved. A fresh
 * store, or one where nobody ever approved a plan (the demo), runs every plan as before. There is
 * no off switch once on: turning governance off would itself need a governed change.
 */
import type { Kysely, Selectable } from 'kysely';
import { IotcleanError } from '../core/errors.js';
import { storableText } from '../core/schemas.js';
import { operatorRoles, type Role } from '../web/types.js';
import type { Database, PlanApprovalTable } from './schema.js';

export const planStates = ['proposed', 'approved', 'rejected'] as const;
export type PlanState = (typeof planStates)[number];

/** One stored plan version and its governance; `unreviewed` = saved by a survey, never proposed. */
export interface PlanVersionInfo {
  readonly digest: string;
  readonly version: string;
  readonly name: string;
  readonly createdAt: string;
  readonly state: PlanState | 'unreviewed';
  readonly proposedBy: string | null;
  readonly proposedAt: string | null;
  readonly proposalNote: string | null;
  readonly decidedBy: string | null;
  readonly decidedAt: string | null;
  readonly decisionNote: string | null;
}

export interface StoredPlanVersion extends PlanVersionInfo {
  readonly body: unknown;
  /** The YAML as proposed, when proposed as text. */
  readonly source: string | null;
}

/** Who proposes or decides: an operator account (web session, or `--by NAME` on the CLI). */
export interface GovernanceActor {
  readonly id: number | null;
  readonly name: string;
  readonly role: Role;
}

export type GovernanceRefusal = 'not-found' | 'not-operator' | 'not-admin' | 'own-proposal' | 'not-proposed' | 'already-proposed' | 'already-approved';

export type GovernanceResult = { readonly ok: true; readonly plan: PlanVersionInfo } | { readonly ok: false; readonly reason: GovernanceRefusal; readonly message: string };

/** The refusal as the one error type (CLI). */
export function refusalError(r: Extract<GovernanceResult, { ok: false }>): IotcleanError {
  return new IotcleanError(r.reason === 'not-found' ? 'E_NOT_FOUND' : 'E_PLAN_APPROVAL', r.message, {
    hint:
      r.reason === 'not-found'
        ? 'list plan versions with: iotclean plan list'
        : r.reason === 'own-proposal' || r.reason === 'not-admin'
          ? 'a second operator with the admin role decides: iotclean plan approve DIGEST --by ADMIN'
          : 'see the plan\'s state with: iotclean plan list',
  });
}

export interface NewProposal {
  readonly digest: string;
  readonly version: string;
  readonly name: string;
  readonly body: unknown;
  readonly source: string;
  readonly note: string;
}

export interface PlanGovernanceRepository {
  /** Every stored plan version, newest first, with its governance state. */
  list(): Promise<PlanVersionInfo[]>;
  get(digest: string): Promise<StoredPlanVersion | undefined>;
  /** Store the plan version (if new) and put it up for approval; a rejected one may be proposed again. */
  propose(p: NewProposal, by: GovernanceActor, nowMs: number): Promise<GovernanceResult>;
  /** Approve or reject a proposed version: admin only, never its proposer; one decision only. */
  decide(digest: string, decision: 'approved' | 'rejected', by: GovernanceActor, note: string, nowMs: number): Promise<GovernanceResult>;
  /** Whether governance is on (at least one approval recorded). */
  enforced(): Promise<boolean>;
  /** Throw E_PLAN_APPROVAL unless governance is off or this digest is approved. */
  assertApproved(plan: { readonly digest: string; readonly version: string; readonly name: string }): Promise<void>;
  /** A full digest from a digest, a unique digest prefix (8+ hex) or a unique version; E_NOT_FOUND / E_ARGS otherwise. */
  resolve(ref: string): Promise<string>;
}

const iso = (ms: number | string | null): string | null => (ms === null ? null : new Date(Number(ms)).toISOString());

type Joined = { digest: string; version: string; name: string; created_at: string } & { [K in keyof Omit<Selectable<PlanApprovalTable>, 'digest'>]: Selectable<PlanApprovalTable>[K] | null };

function toInfo(r: Joined): PlanVersionInfo {
  return {
    digest: r.digest,
    version: r.version,
    name: r.name,
    createdAt: r.created_at,
    state: r.state === null ? 'unreviewed' : (r.state as PlanState),
    proposedBy: r.proposed_by,
    proposedAt: iso(r.proposed_ms),
    proposalNote: r.proposal_note,
    decidedBy: r.decided_by,
    decidedAt: iso(r.decided_ms),
    decisionNote: r.decision_note,
  };
}

/** Notes are one paragraph of plain text; bounded so the page and the log stay readable. */
export const maxNoteLength = 2000;
const cleanNote = (s: string): string => storableText(s.trim()).slice(0, maxNoteLength);

export function createPlanGovernanceRepository(db: Kysely<Database>): PlanGovernanceRepository {
  const joined = () =>
    db
      .selectFrom('plan_versions as v')
      .leftJoin('plan_approvals as a', 'a.digest', 'v.digest')
      .select([
        'v.digest',
        'v.version',
        'v.name',
        'v.created_at',
        'v.body',
        'a.state',
        'a.source',
        'a.proposed_by_id',
        'a.proposed_by',
        'a.proposed_ms',
        'a.proposal_note',
        'a.decided_by_id',
        'a.decided_by',
        'a.decided_ms',
        'a.decision_note',
      ]);
  const info = async (digest: string): Promise<PlanVersionInfo | undefined> => {
    const r = await joined().where('v.digest', '=', digest).executeTakeFirst();
    return r ? toInfo(r) : undefined;
  };
  const repo: PlanGovernanceRepository = {
    async list() {
      const rows = await joined().orderBy('v.created_at', 'desc').orderBy('v.digest').execute();
      return rows.map(toInfo);
    },
    async get(digest) {
      const r = await joined().where('v.digest', '=', digest).executeTakeFirst();
      return r ? { ...toInfo(r), body: JSON.parse(r.body) as unknown, source: r.source || null } : undefined;
    },
    async propose(p, by, nowMs) {
      if (!operatorRoles.includes(by.role)) return { ok: false, reason: 'not-operator', message: `${by.name} is not an operator account (admin or analyst): only operators propose plans` };
      const note = cleanNote(p.note);
      return db.transaction().execute(async (tx) => {
        await tx
          .insertInto('plan_versions')
          .values({ digest: p.digest, version: p.version, name: p.name, body: JSON.stringify(p.body), created_at: new Date(nowMs).toISOString() })
          .onConflict((oc) => oc.column('digest').doNothing())
          .execute();
        const row = { state: 'proposed', source: storableText(p.source), proposed_by_id: by.id, proposed_by: by.name, proposed_ms: nowMs, proposal_note: note, decided_by_id: null, decided_by: null, decided_ms: null, decision_note: null };
        const inserted = await tx
          .insertInto('plan_approvals')
          .values({ digest: p.digest, ...row })
          .onConflict((oc) => oc.column('digest').doNothing())
          .executeTakeFirst();
        if (Number(inserted.numInsertedOrUpdatedRows ?? 0) !== 1) {
          // Only a rejected version goes round again; the old decision stays in the audit log.
          const again = await tx.updateTable('plan_approvals').set(row).where('digest', '=', p.digest).where('state', '=', 'rejected').executeTakeFirst();
          if (Number(again.numUpdatedRows) !== 1) {
            const now = (await createPlanGovernanceRepository(tx).get(p.digest))!;
            return now.state === 'approved'
              ? { ok: false as const, reason: 'already-approved' as const, message: `plan ${p.name} ${p.version} (${p.digest.slice(0, 16)}…) is already approved (by ${now.decidedBy} at ${now.decidedAt})` }
              : { ok: false as const, reason: 'already-proposed' as const, message: `plan ${p.name} ${p.version} (${p.digest.slice(0, 16)}…) is already proposed (by ${now.proposedBy} at ${now.proposedAt}), awaiting a decision` };
          }
        }
        return { ok: true as const, plan: (await createPlanGovernanceRepository(tx).get(p.digest))! };
      });
    },
    async decide(digest, decision, by, note, nowMs) {
      const current = await info(digest);
      const what = current ? `plan ${current.name} ${current.version} (${digest.slice(0, 16)}…)` : `plan ${digest}`;
      if (!current) return { ok: false, reason: 'not-found', message: `no stored plan version with digest ${digest}` };
      if (by.role !== 'admin') return { ok: false, reason: 'not-admin', message: `${by.name} is not an admin: only an operator with the admin role approves or rejects plans` };
      if (current.state === 'unreviewed') return { ok: false, reason: 'not-proposed', message: `${what} was never proposed: propose it first (iotclean plan propose FILE --by NAME, or /ops/plans)` };
      if (current.state !== 'proposed') return { ok: false, reason: 'not-proposed', message: `${what} is already ${current.state} (by ${current.decidedBy} at ${current.decidedAt}); a decision is final` };
      const own = current.proposedBy === by.name;
      if (own) return { ok: false, reason: 'own-proposal', message: `${by.name} proposed ${what} and cannot also approve or reject it (two-person rule)` };
      // Conditional on the state: two admins deciding at once, exactly one wins.
      const updated = await db
        .updateTable('plan_approvals')
        .set({ state: decision, decided_by_id: by.id, decided_by: by.name, decided_ms: nowMs, decision_note: cleanNote(note) })
        .where('digest', '=', digest)
        .where('state', '=', 'proposed')
        .where('proposed_by', '<>', by.name)
        .executeTakeFirst();
      if (Number(updated.numUpdatedRows) !== 1) return { ok: false, reason: 'not-proposed', message: `${what} was decided by someone else meanwhile` };
      return { ok: true, plan: (await info(digest))! };
    },
    async enforced() {
      const r = await db.selectFrom('plan_approvals').select('digest').where('state', '=', 'approved').limit(1).executeTakeFirst();
      return r !== undefined;
    },
    async assertApproved(plan) {
      if (!(await repo.enforced())) return;
      const current = await info(plan.digest);
      if (current?.state === 'approved') return;
      const why =
        current?.state === 'proposed'
          ? `it was proposed by ${current.proposedBy} at ${current.proposedAt} and awaits a second operator's approval`
          : current?.state === 'rejected'
            ? `it was rejected by ${current.decidedBy} at ${current.decidedAt}${current.decisionNote ? ` ("${current.decisionNote}")` : ''}`
            : 'it has never been proposed for approval';
      throw new IotcleanError('E_PLAN_APPROVAL', `plan ${plan.name} version ${plan.version} (sha256 ${plan.digest}) is not approved: ${why}; this store runs approved plans only, so nothing was probed`, {
        hint:
          current?.state === 'proposed'
            ? `an admin other than ${current.proposedBy} approves it: iotclean plan approve ${plan.digest.slice(0, 16)} --by ADMIN (or on /ops/plans/${plan.digest})`
            : `propose it: iotclean plan propose FILE --by OPERATOR (or paste it on /ops/plans), then a second operator with the admin role approves it`,
      });
    },
    async resolve(ref) {
      const r = ref.trim().toLowerCase();
      if (/^[0-9a-f]{64}$/.test(r)) {
        if (await info(r)) return r;
        throw new IotcleanError('E_NOT_FOUND', `no stored plan version with digest ${r}`, { hint: 'list them with: iotclean plan list' });
      }
      const byPrefix = /^[0-9a-f]{8,63}$/.test(r) ? await db.selectFrom('plan_versions').select('digest').where('digest', 'like', `${r}%`).limit(3).execute() : [];
      const byVersion = await db.selectFrom('plan_versions').select('digest').where('version', '=', ref.trim()).limit(3).execute();
      const found = [...new Set([...byPrefix, ...byVersion].map((x) => x.digest))];
      if (found.length === 1) return found[0]!;
      if (found.length === 0) throw new IotcleanError('E_NOT_FOUND', `no stored plan version is "${ref}" (digest, digest prefix of 8+ hex digits, or version)`, { hint: 'list them with: iotclean plan list' });
      throw new IotcleanError('E_ARGS', `"${ref}" names more than one plan version (${found.map((d) => d.slice(0, 16)).join(', ')}…)`, { hint: 'give a longer digest prefix' });
    },
  };
  return repo;
}
