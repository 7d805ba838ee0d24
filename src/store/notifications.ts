/**
 * The notifications repository: centre → ISP batches and their delivery per channel. A batch is
 * stored as the range of the ISP's finding ids it holds (after, max], with its counts and the
 * files written, so the API re-reads its findings from the findings repository and the next batch
 * of the ISP starts above the last max. A delivery row holds the latest attempt: a batch whose
 * email was not accepted stays pending and the next run tries again.
 */
import type { Kysely, Selectable } from 'kysely';
import { IotcleanError } from '../core/errors.js';
import type { Database, NotificationBatchTable, NotificationDeliveryTable } from './schema.js';

/** A file written for a batch. */
export interface BatchFile {
  readonly format: string;
  /** File name (no folder: the folder is the operator's choice per run). */
  readonly name: string;
  readonly bytes: number;
  readonly sha256: string;
}

export const deliveryStatuses = ['accepted', 'rejected', 'failed'] as const;
export type DeliveryStatus = (typeof deliveryStatuses)[number];

/** The latest delivery attempt of a batch on one channel. */
export interface Delivery {
  readonly channel: string;
  readonly target: string;
  readonly status: DeliveryStatus;
  readonly response: string | null;
  readonly attempts: number;
  readonly firstAttemptAt: string;
  readonly lastAttemptAt: string;
  readonly deliveredAt: string | null;
}

/** A stored batch (without its findings: those are the ISP's findings with ids in (after, max]). */
export interface BatchRow {
  readonly ticket: string;
  readonly isp: string;
  readonly createdAt: string;
  readonly findingCount: number;
  readonly afterFindingId: number;
  readonly maxFindingId: number;
  readonly counts: Readonly<Record<string, number>>;
  readonly files: readonly BatchFile[];
  readonly deliveries: readonly Delivery[];
}

export type NewBatchRow = Omit<BatchRow, 'deliveries'>;

export interface NotificationRepository {
  /** The highest finding id already batched for the ISP (0 when none): the next batch starts above it. */
  lastFindingId(isp: string): Promise<number>;
  /** The same for every ISP with a batch. */
  lastFindingIds(): Promise<Map<string, number>>;
  /** The next free sequence number of the ISP's tickets on a UTC day (YYYYMMDD). */
  nextSequence(isp: string, day: string): Promise<number>;
  /** Store a new batch; E_STORE when the ticket exists (another run made it). */
  create(batch: NewBatchRow): Promise<void>;
  get(ticket: string): Promise<BatchRow | undefined>;
  /** Batches, newest first, optionally of one ISP. */
  list(filter?: { readonly isp?: string }): Promise<BatchRow[]>;
  /** Record one delivery attempt (replacing the channel's previous one, attempts counted). */
  recordDelivery(ticket: string, attempt: { readonly channel: string; readonly target: string; readonly status: DeliveryStatus; readonly response: string | null; readonly at: string }): Promise<void>;
  /** Batches whose delivery on `channel` has not been accepted yet (never tried, rejected or failed). */
  pending(channel: string, filter?: { readonly isp?: string }): Promise<BatchRow[]>;
}

/** Ticket parts: IOTC-YYYYMMDD-<isp>-NNNN. */
export function ticketParts(ticket: string): { day: string; seq: number } {
  const m = /^IOTC-(\d{8})-.+-(\d{4,})$/.exec(ticket);
  if (!m) throw new IotcleanError('E_STORE', `"${ticket}" is not a ticket id`, { hint: 'tickets read IOTC-YYYYMMDD-<isp>-NNNN' });
  return { day: m[1]!, seq: Number(m[2]) };
}

function toDelivery(r: Selectable<NotificationDeliveryTable>): Delivery {
  return {
    channel: r.channel,
    target: r.target,
    status: r.status as DeliveryStatus,
    response: r.response,
    attempts: Number(r.attempts),
    firstAttemptAt: r.first_attempt_at,
    lastAttemptAt: r.last_attempt_at,
    deliveredAt: r.delivered_at,
  };
}

/** The notifications repository over an open, migrated database. */
export function createNotificationRepository(db: Kysely<Database>): NotificationRepository {
  const withDeliveries = async (rows: Selectable<NotificationBatchTable>[]): Promise<BatchRow[]> => {
    if (rows.length === 0) return [];
    const tickets = rows.map((r) => r.ticket);
    const byTicket = new Map<string, Delivery[]>();
    // Chunks keep the bound parameters far below SQLite's limit.
    for (let i = 0; i < tickets.length; i += 500) {
      const ds = await db.selectFrom('notification_deliveries').selectAll().where('ticket', 'in', tickets.slice(i, i + 500)).orderBy('channel').execute();
      for (const d of ds) byTicket.set(d.ticket, [...(byTicket.get(d.ticket) ?? []), toDelivery(d)]);
    }
    return rows.map((r) => ({
      ticket: r.ticket,
      isp: r.isp,
      createdAt: r.created_at,
      findingCount: Number(r.finding_count),
      afterFindingId: Number(r.after_finding_id),
      maxFindingId: Number(r.max_finding_id),
      counts: JSON.parse(r.counts) as Record<string, number>,
      files: JSON.parse(r.files) as BatchFile[],
      deliveries: byTicket.get(r.ticket) ?? [],
    }));
  };

  return {
    async lastFindingId(isp) {
      const r = await db.selectFrom('notification_batches').select((eb) => eb.fn.max('max_finding_id').as('m')).where('isp', '=', isp).executeTakeFirst();
      return r?.m === null || r?.m === undefined ? 0 : Number(r.m);
    },
    async lastFindingIds() {
      const rows = await db.selectFrom('notification_batches').select(['isp', (eb) => eb.fn.max('max_finding_id').as('m')]).groupBy('isp').execute();
      return new Map(rows.map((r) => [r.isp, Number(r.m)]));
    },
    async nextSequence(isp, day) {
      const r = await db.selectFrom('notification_batches').select((eb) => eb.fn.max('seq').as('m')).where('isp', '=', isp).where('day', '=', day).executeTakeFirst();
      return r?.m === null || r?.m === undefined ? 1 : Number(r.m) + 1;
    },
    async create(b) {
      const { day, seq } = ticketParts(b.ticket);
      try {
        await db
          .insertInto('notification_batches')
          .values({
            ticket: b.ticket,
            isp: b.isp,
            day,
            seq,
            created_at: b.createdAt,
            finding_count: b.findingCount,
            after_finding_id: b.afterFindingId,
            max_finding_id: b.maxFindingId,
            counts: JSON.stringify(b.counts),
            files: JSON.stringify(b.files),
          })
          .execute();
      } catch (e) {
        if (/unique|duplicate/i.test((e as Error).message)) {
          throw new IotcleanError('E_STORE', `batch ${b.ticket} exists already: another notify run made it at the same time`, { hint: 'run one iotclean notify at a time; run it again to batch what is left' });
        }
        throw e;
      }
    },
    async get(ticket) {
      const rows = await db.selectFrom('notification_batches').selectAll().where('ticket', '=', ticket).execute();
      return (await withDeliveries(rows))[0];
    },
    async list(filter = {}) {
      const rows = await db
        .selectFrom('notification_batches')
        .selectAll()
        .$if(filter.isp !== undefined, (q) => q.where('isp', '=', filter.isp!))
        .orderBy('created_at', 'desc')
        .orderBy('ticket', 'desc')
        .execute();
      return withDeliveries(rows);
    },
    async recordDelivery(ticket, a) {
      await db.transaction().execute(async (tx) => {
        const old = await tx.selectFrom('notification_deliveries').selectAll().where('ticket', '=', ticket).where('channel', '=', a.channel).executeTakeFirst();
        const deliveredAt = a.status === 'accepted' ? a.at : (old?.delivered_at ?? null);
        if (old) {
          await tx
            .updateTable('notification_deliveries')
            .set({ target: a.target, status: a.status, response: a.response, attempts: Number(old.attempts) + 1, last_attempt_at: a.at, delivered_at: deliveredAt })
            .where('ticket', '=', ticket)
            .where('channel', '=', a.channel)
            .execute();
        } else {
          await tx
            .insertInto('notification_deliveries')
            .values({ ticket, channel: a.channel, target: a.target, status: a.status, response: a.response, attempts: 1, first_attempt_at: a.at, last_attempt_at: a.at, delivered_at: deliveredAt })
            .execute();
        }
      });
    },
    async pending(channel, filter = {}) {
      const rows = await db
        .selectFrom('notification_batches as b')
        .selectAll('b')
        .where(({ not, exists, selectFrom }) =>
          not(exists(selectFrom('notification_deliveries as d').select('d.ticket').whereRef('d.ticket', '=', 'b.ticket').where('d.channel', '=', channel).where('d.status', '=', 'accepted'))),
        )
        .$if(filter.isp !== undefined, (q) => q.where('b.isp', '=', filter.isp!))
        .orderBy('b.created_at')
        .orderBy('b.ticket')
        .execute();
      return withDeliveries(rows);
    },
  };
}
