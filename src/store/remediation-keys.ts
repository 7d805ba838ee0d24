/**
 * findings_remediation_keys (migration 0020): per finding key (ip_num, kind, port) its first
 * month, its findings in that month and a mask of the later months it was found again. record()
 * merges each chunk's new findings in with one upsert; the remediation chart then reads the
 * baseline month's keys grouped by mask (a few hundred groups) instead of probing every baseline
 * finding's later periods. Months are numbered year × 12 + month − 1 so SQL can subtract them.
 */
import { sql, type Kysely } from 'kysely';
import type { Database } from './schema.js';

/** Months tracked after a key's first one (bits of the mask; 2^52 stays an exact JS number). */
export const maskMonths = 52;
const maskAll = 2n ** BigInt(maskMonths) - 1n;

/** 'YYYY-MM' → year × 12 + month − 1. */
export const monthIndex = (month: string): number => Number(month.slice(0, 4)) * 12 + Number(month.slice(5, 7)) - 1;

interface KeyRow {
  ip_num: number;
  kind: string;
  port: number;
  first_month: number;
  first_n: number;
  months: bigint;
}

/** One (first month, count, mask) for each key of `rows` (new findings, each counted once). */
export function keyRowsOf(rows: Iterable<{ readonly ip_num: number; readonly kind: string; readonly port: number; readonly month: string }>): KeyRow[] {
  const byKey = new Map<string, { ip_num: number; kind: string; port: number; months: Map<number, number> }>();
  for (const r of rows) {
    const k = `${r.kind}|${r.ip_num}|${r.port}`;
    let e = byKey.get(k);
    if (!e) byKey.set(k, (e = { ip_num: r.ip_num, kind: r.kind, port: r.port, months: new Map() }));
    const m = monthIndex(r.month);
    e.months.set(m, (e.months.get(m) ?? 0) + 1);
  }
  return [...byKey.values()].map((e) => {
    const first = Math.min(...e.months.keys());
    let mask = 0n;
    for (const m of e.months.keys()) if (m - first < maskMonths) mask |= 1n << BigInt(m - first);
    return { ip_num: e.ip_num, kind: e.kind, port: e.port, first_month: first, first_n: e.months.get(first)!, months: mask };
  });
}

// Shift `x` left by `d` months within the mask (PostgreSQL takes shift counts mod 64, hence the guard).
const shifted = (x: string, d: string) => `case when ${d} >= ${maskMonths} then 0 else (${x} << (${d})) & ${maskAll} end`;
const t = 'findings_remediation_keys';

/** Merge a stored key with a new one: the earlier first month wins, masks realigned to it. */
const mergeSet = `first_month = case when excluded.first_month < ${t}.first_month then excluded.first_month else ${t}.first_month end,
  first_n = case when excluded.first_month < ${t}.first_month then excluded.first_n when excluded.first_month = ${t}.first_month then ${t}.first_n + excluded.first_n else ${t}.first_n end,
  months = (case when ${t}.first_month > excluded.first_month then ${shifted(`${t}.months`, `${t}.first_month - excluded.first_month`)} else ${t}.months end)
    | (case when excluded.first_month > ${t}.first_month then ${shifted('excluded.months', `excluded.first_month - ${t}.first_month`)} else excluded.months end)`;

/** Add newly inserted findings (never merged ones: those were counted when first stored). */
export async function addToRemediationKeys(tx: Kysely<Database>, rows: Iterable<{ readonly ip_num: number; readonly kind: string; readonly port: number; readonly month: string }>): Promise<void> {
  const keys = keyRowsOf(rows);
  for (let i = 0; i < keys.length; i += 1000) {
    const values = keys.slice(i, i + 1000).map((k) => sql`(${k.ip_num}, ${k.kind}, ${k.port}, ${k.first_month}, ${k.first_n}, ${Number(k.months)})`);
    await sql`insert into findings_remediation_keys (ip_num, kind, port, first_month, first_n, months) values ${sql.join(values)}
      on conflict (ip_num, kind, port) do update set ${sql.raw(mergeSet)}`.execute(tx);
  }
}

/** The table filled from the findings already stored (migration 0020), the same rules in SQL. */
export const remediationBackfill = `insert into findings_remediation_keys (ip_num, kind, port, first_month, first_n, months)
select ip_num, kind, port, min(mi), sum(case when mi = fm then c else 0 end), sum(case when mi - fm < ${maskMonths} then cast(1 as bigint) << (mi - fm) else 0 end)
from (
  select ip_num, kind, port, mi, c, min(mi) over (partition by ip_num, kind, port) as fm
  from (
    select ip_num, kind, port, mi, count(*) as c
    from (select ip_num, kind, port, cast(substr(month, 1, 4) as integer) * 12 + cast(substr(month, 6, 2) as integer) - 1 as mi from findings) m
    group by ip_num, kind, port, mi
  ) g
) w
group by ip_num, kind, port`;

/** The baseline month's keys grouped by mask: { mask, n findings in the baseline month }. */
export async function baselineGroups(db: Kysely<Database>, baseline: string): Promise<{ mask: bigint; n: number }[]> {
  const rows = await sql<{ months: number | string | bigint; n: number | string }>`select months, sum(first_n) as n from findings_remediation_keys where first_month = ${monthIndex(baseline)} group by months`.execute(db);
  return rows.rows.map((r) => ({ mask: BigInt(r.months), n: Number(r.n) }));
}
