/**
 * Darknet per-day aggregates (src/darknet/daily.ts). A day's rows are replaced as a whole when it
 * is analysed again, so re-reading a capture never counts it twice: analyse all of a day's files
 * in one run (the analyser reads several files into one picture).
 */
import type { Kysely } from 'kysely';
import type { DarknetDay } from '../darknet/daily.js';
import type { Fingerprint } from '../darknet/fingerprints.js';
import type { SourceClass } from '../darknet/types.js';
import type { Database } from './schema.js';

export interface DarknetRepository {
  /** Replace the aggregates of every day present in `days` with these rows. */
  recordDays(days: readonly DarknetDay[]): Promise<void>;
  /** Aggregates between two UTC days (inclusive), by day then key. */
  days(filter?: { readonly from?: string; readonly to?: string }): Promise<DarknetDay[]>;
}

export function createDarknetRepository(db: Kysely<Database>): DarknetRepository {
  return {
    async recordDays(days) {
      const dates = [...new Set(days.map((d) => d.day))];
      if (!dates.length) return;
      await db.transaction().execute(async (tx) => {
        await tx.deleteFrom('darknet_days').where('day', 'in', dates).execute();
        for (let i = 0; i < days.length; i += 500) {
          await tx
            .insertInto('darknet_days')
            .values(days.slice(i, i + 500).map((d) => ({ day: d.day, class: d.class, fingerprint: d.fingerprint, isp: d.isp ?? '', sources: d.sources, infected: d.infected, packets: d.packets, top_ports: JSON.stringify(d.topPorts) })))
            .execute();
        }
      });
    },
    async days(filter = {}) {
      let q = db.selectFrom('darknet_days').selectAll().orderBy('day').orderBy('class').orderBy('fingerprint').orderBy('isp');
      if (filter.from !== undefined) q = q.where('day', '>=', filter.from);
      if (filter.to !== undefined) q = q.where('day', '<=', filter.to);
      return (await q.execute()).map((r) => ({
        day: r.day,
        class: r.class as SourceClass,
        fingerprint: r.fingerprint as Fingerprint,
        isp: r.isp === '' ? null : r.isp,
        sources: Number(r.sources),
        infected: Number(r.infected),
        packets: Number(r.packets),
        topPorts: JSON.parse(r.top_ports) as DarknetDay['topPorts'],
      }));
    },
  };
}
