/**
 * The ISP-side case repository: cases (src/notify/isp/cases.ts TrackedCase), their transitions
 * (append-only), every alert tried with the SMTP server's answer, and the re-scans applied. The
 * case functions are pure; this only keeps what they return. Subscriber data lives here, in the
 * ISP's own store, and nowhere else.
 */
import type { Kysely, Selectable } from 'kysely';
import { IotcleanError } from '../core/errors.js';
import type { FindingDevice, FindingKind } from '../core/records.js';
import { storableText } from '../core/schemas.js';
import type { TrackedCase } from '../notify/isp/cases.js';
import type { CaseState, CaseTransition, Measure, Verification } from '../notify/isp/types.js';
import type { Database, IspCaseTable } from './schema.js';

/** One alert, ISP task or SIer notice tried for a case. */
export interface AlertRecord {
  readonly reference: string;
  readonly at: string;
  readonly measure: Measure;
  /** `smtp`: mailed; `task-file`: an ISP task written to the operator's task folder. */
  readonly channel: 'smtp' | 'task-file';
  /** Mail address, or the task file's path. */
  readonly recipient: string;
  readonly language: 'ja' | 'en';
  /** Accepted by the SMTP server (or the file written): what counts toward escalation. */
  readonly delivered: boolean;
  /** The SMTP server's last reply ("250 2.0.0 Ok: queued as …") or the error. */
  readonly response: string | null;
  readonly messageId: string | null;
}

/** Which cases to list. */
export interface CaseFilter {
  readonly states?: readonly CaseState[];
  readonly subscriber?: string;
  readonly kind?: FindingKind;
}

export interface CaseRepository {
  /** The next free reference of a year (IOTC-YYYY-NNNNNN), one more than the highest stored. */
  nextReference(year: number): Promise<string>;
  /**
   * Store a case: insert when it has no id, else update it; transitions beyond those stored are
   * appended (never rewritten). Returns the case with its id. One transaction.
   */
  save(c: TrackedCase): Promise<TrackedCase>;
  get(reference: string): Promise<TrackedCase | undefined>;
  /** The case of a problem at a subscriber (kind, port), if any. */
  find(subscriber: string, kind: FindingKind, port: number | null): Promise<TrackedCase | undefined>;
  /** Cases by id (opening order), with their transitions. */
  list(filter?: CaseFilter): Promise<TrackedCase[]>;
  /** Cases whose problem was last seen at this address (the fallback matcher for re-scans). */
  byLastIp(ip: string): Promise<TrackedCase[]>;
  recordAlert(a: AlertRecord): Promise<void>;
  /** A case's alerts in the order tried. */
  alerts(reference: string): Promise<AlertRecord[]>;
  recordVerification(reference: string, v: Verification): Promise<void>;
  /** The re-scans applied to a case, in the order applied. */
  verifications(reference: string): Promise<Verification[]>;
}

const chunk = 500;

function notFound(reference: string): IotcleanError {
  return new IotcleanError('E_NOT_FOUND', `no case ${reference}`, { hint: 'see iotclean isp cases for the references stored' });
}

function caseRow(c: TrackedCase): Omit<IspCaseTable, 'id'> {
  return {
    reference: c.reference,
    subscriber: storableText(c.subscriber),
    finding_kind: c.findingKind,
    port: c.port,
    port_key: c.port ?? -1,
    measure: c.measure,
    state: c.state,
    alerts_delivered: c.alertsDelivered,
    // JSON escapes NUL and lone surrogates, so device text from banners is storable as is.
    device: JSON.stringify(c.device),
    tickets: JSON.stringify(c.tickets),
    opened_at: c.openedAt,
    updated_at: c.updatedAt,
    isp: c.isp,
    control: c.control ? 1 : 0,
    last_ip: c.lastIp,
    last_seen_at: c.lastSeenAt,
    contact: c.contact === null ? null : storableText(c.contact),
  };
}

function toCase(r: Selectable<IspCaseTable>, transitions: readonly CaseTransition[]): TrackedCase {
  return {
    id: Number(r.id),
    reference: r.reference,
    subscriber: r.subscriber,
    findingKind: r.finding_kind as FindingKind,
    port: r.port,
    measure: r.measure as Measure,
    state: r.state as CaseState,
    alertsDelivered: Number(r.alerts_delivered),
    device: JSON.parse(r.device) as FindingDevice,
    tickets: JSON.parse(r.tickets) as string[],
    openedAt: r.opened_at,
    updatedAt: r.updated_at,
    transitions,
    isp: r.isp,
    control: Number(r.control) === 1,
    lastIp: r.last_ip,
    lastSeenAt: r.last_seen_at,
    contact: r.contact,
  };
}

/** The repository over an open, migrated database. */
export function createCaseRepository(db: Kysely<Database>): CaseRepository {
  async function withTransitions(rows: readonly Selectable<IspCaseTable>[]): Promise<TrackedCase[]> {
    const byCase = new Map<number, CaseTransition[]>();
    const ids = rows.map((r) => Number(r.id));
    for (let i = 0; i < ids.length; i += chunk) {
      const ts = await db.selectFrom('isp_case_transitions').selectAll().where('case_id', 'in', ids.slice(i, i + chunk)).orderBy('case_id').orderBy('seq').execute();
      for (const t of ts) {
        const list = byCase.get(Number(t.case_id)) ?? [];
        list.push({ from: t.from_state as CaseState | null, to: t.to_state as CaseState, at: t.at, by: t.actor, note: t.note });
        byCase.set(Number(t.case_id), list);
      }
    }
    return rows.map((r) => toCase(r, byCase.get(Number(r.id)) ?? []));
  }

  async function caseId(reference: string): Promise<number> {
    const r = await db.selectFrom('isp_cases').select('id').where('reference', '=', reference).executeTakeFirst();
    if (!r) throw notFound(reference);
    return Number(r.id);
  }

  const repo: CaseRepository = {
    async nextReference(year) {
      const prefix = `IOTC-${year}-`;
      const r = await db.selectFrom('isp_cases').select((eb) => eb.fn.max('reference').as('top')).where('reference', 'like', `${prefix}%`).executeTakeFirst();
      const top = r?.top ? Number(String(r.top).slice(prefix.length)) : 0;
      if (top >= 999_999) throw new IotcleanError('E_STORE', `case references of ${year} are used up (${prefix}999999)`, { hint: 'a year holds 999999 cases; this is a bug if reached in practice' });
      return `${prefix}${String(top + 1).padStart(6, '0')}`;
    },
    async save(c) {
      return db.transaction().execute(async (tx) => {
        const row = caseRow(c);
        let id: number;
        if (c.id === undefined) {
          const ins = await tx.insertInto('isp_cases').values(row).returning('id').executeTakeFirstOrThrow();
          id = Number(ins.id);
        } else {
          id = c.id;
          const up = await tx.updateTable('isp_cases').set(row).where('id', '=', id).executeTakeFirst();
          if (Number(up.numUpdatedRows) !== 1) throw notFound(c.reference);
        }
        const stored = await tx.selectFrom('isp_case_transitions').select((eb) => eb.fn.countAll().as('n')).where('case_id', '=', id).executeTakeFirst();
        const have = Number(stored?.n ?? 0);
        if (have > c.transitions.length) {
          throw new IotcleanError('E_STORE', `case ${c.reference}: ${have} transitions stored, the record holds ${c.transitions.length}; nothing was written`, {
            hint: 'transitions are append-only: save the case as read from the store plus its new steps',
          });
        }
        const fresh = c.transitions.slice(have).map((t, i) => ({
          case_id: id,
          seq: have + i,
          from_state: t.from,
          to_state: t.to,
          at: t.at,
          actor: storableText(t.by),
          note: t.note === null ? null : storableText(t.note),
        }));
        for (let i = 0; i < fresh.length; i += chunk) await tx.insertInto('isp_case_transitions').values(fresh.slice(i, i + chunk)).execute();
        return { ...c, id };
      });
    },
    async get(reference) {
      const r = await db.selectFrom('isp_cases').selectAll().where('reference', '=', reference).executeTakeFirst();
      return r ? (await withTransitions([r]))[0] : undefined;
    },
    async find(subscriber, kind, port) {
      const r = await db
        .selectFrom('isp_cases')
        .selectAll()
        .where('subscriber', '=', storableText(subscriber))
        .where('finding_kind', '=', kind)
        .where('port_key', '=', port ?? -1)
        .executeTakeFirst();
      return r ? (await withTransitions([r]))[0] : undefined;
    },
    async list(filter = {}) {
      const rows = await db
        .selectFrom('isp_cases')
        .selectAll()
        .$if(filter.states !== undefined, (q) => q.where('state', 'in', filter.states!.length ? [...filter.states!] : ['-']))
        .$if(filter.subscriber !== undefined, (q) => q.where('subscriber', '=', storableText(filter.subscriber!)))
        .$if(filter.kind !== undefined, (q) => q.where('finding_kind', '=', filter.kind!))
        .orderBy('id')
        .execute();
      return withTransitions(rows);
    },
    async byLastIp(ip) {
      const rows = await db.selectFrom('isp_cases').selectAll().where('last_ip', '=', ip).orderBy('id').execute();
      return withTransitions(rows);
    },
    async recordAlert(a) {
      const id = await caseId(a.reference);
      await db
        .insertInto('isp_alerts')
        .values({
          case_id: id,
          at: a.at,
          measure: a.measure,
          channel: a.channel,
          recipient: storableText(a.recipient),
          language: a.language,
          delivered: a.delivered ? 1 : 0,
          response: a.response === null ? null : storableText(a.response).slice(0, 2000),
          message_id: a.messageId === null ? null : storableText(a.messageId),
        })
        .execute();
    },
    async alerts(reference) {
      const id = await caseId(reference);
      const rows = await db.selectFrom('isp_alerts').selectAll().where('case_id', '=', id).orderBy('id').execute();
      return rows.map((r) => ({
        reference,
        at: r.at,
        measure: r.measure as Measure,
        channel: r.channel as AlertRecord['channel'],
        recipient: r.recipient,
        language: r.language as AlertRecord['language'],
        delivered: Number(r.delivered) === 1,
        response: r.response,
        messageId: r.message_id,
      }));
    },
    async recordVerification(reference, v) {
      const id = await caseId(reference);
      await db
        .insertInto('isp_verifications')
        .values({ case_id: id, kind: v.kind, ip: v.ip, port: v.port, at: v.at, present: v.present ? 1 : 0, ticket: v.ticket === null ? null : storableText(v.ticket) })
        .execute();
    },
    async verifications(reference) {
      const id = await caseId(reference);
      const rows = await db.selectFrom('isp_verifications').selectAll().where('case_id', '=', id).orderBy('id').execute();
      return rows.map((r) => ({ kind: r.kind as FindingKind, ip: r.ip, port: r.port, at: r.at, present: Number(r.present) === 1, ticket: r.ticket }));
    },
  };
  return repo;
}
