import { sql } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import type { Finding, FindingKind } from '../core/records.js';
import { createRng } from '../core/rng.js';
import { periodOf } from '../findings/schema.js';
import { sampleFinding } from '../findings/test-support.js';
import { openStore } from './open.js';
import { keyRowsOf, remediationBackfill } from './remediation-keys.js';
import { storeBackends } from './test-support.js';
import { createWebStats } from './web-stats.js';

const { backends, cleanup } = storeBackends('remediation-keys', { fresh: true });
afterAll(cleanup);

const months = ['2025-11', '2025-12', '2026-01', '2026-02', '2026-03'];

/** Seeded findings over a few devices: monthly kinds, a day-period kind, host-level ones (port 0). */
function findingsOf(seed: string): Finding[] {
  const rng = createRng(seed);
  const kinds: FindingKind[] = ['weak-credential', 'exposed-service', 'infected', 'end-of-life'];
  const out: Finding[] = [];
  for (let d = 0; d < 40; d++) {
    const kind = kinds[d % kinds.length]!;
    for (const month of months) {
      if (rng.next() < 0.35) continue;
      // Infected findings are per day: several in one month for the same key.
      const days = kind === 'infected' ? 1 + rng.int(3) : 1;
      for (let day = 1; day <= days; day++) {
        const observedAt = `${month}-${String(day * 3).padStart(2, '0')}T01:00:00.000Z`;
        const base = sampleFinding(kind);
        out.push(sampleFinding(kind, { ip: `127.5.${d >> 4}.${d & 15}`, observedAt, period: periodOf(kind, observedAt), ...(kind === 'infected' ? { details: { ...base.details, day: periodOf(kind, observedAt) } } : {}), surveyId: null, evidence: [{ record: 'access-result', id: out.length + 1 }] } as Partial<Finding>));
      }
    }
  }
  return out;
}

describe('keyRowsOf', () => {
  it('gives each key its first month, that month’s findings and a mask of the months found', () => {
    const rows = keyRowsOf([
      { ip_num: 1, kind: 'infected', port: 0, month: '2026-02' },
      { ip_num: 1, kind: 'infected', port: 0, month: '2025-12' },
      { ip_num: 1, kind: 'infected', port: 0, month: '2025-12' },
      { ip_num: 1, kind: 'infected', port: 0, month: '2026-03' },
      { ip_num: 2, kind: 'infected', port: 0, month: '2026-03' },
    ]);
    expect(rows).toEqual([
      { ip_num: 1, kind: 'infected', port: 0, first_month: 2025 * 12 + 11, first_n: 2, months: 0b1101n },
      { ip_num: 2, kind: 'infected', port: 0, first_month: 2026 * 12 + 2, first_n: 1, months: 1n },
    ]);
  });
});

describe.each(backends)('remediation from the maintained keys (%s)', (_name, locate) => {
  it('matches the self-join whatever order the findings are recorded in, and after a backfill', async () => {
    const store = await openStore(await locate());
    try {
      const all = findingsOf('remediation-keys');
      // Out of order: later months first, then the rest in small chunks, some findings twice (merged).
      const late = all.filter((f) => f.period >= '2026-01');
      const early = all.filter((f) => f.period < '2026-01');
      await store.findings.record(late);
      const stats = createWebStats(store);
      const partial = await stats.remediation();
      expect(partial.baseline).toBe('2026-01');
      expect(partial).toEqual(await stats.remediation('2026-01'));
      for (let i = 0; i < early.length; i += 7) await store.findings.record(early.slice(i, i + 7));
      await store.findings.record(all.slice(0, 30));
      const fast = await stats.remediation();
      expect(fast.baseline).toBe('2025-11');
      expect(fast.baselineSize).toBeGreaterThan(10);
      expect(fast.points.map((p) => p.month)).toEqual(months);
      // Some baseline findings are gone later, some come back: the curve is not flat.
      expect(new Set(fast.points.map((p) => p.present)).size).toBeGreaterThan(2);
      // An explicit baseline takes the self-join: the two must agree.
      expect(fast).toEqual(await stats.remediation('2025-11'));

      // The migration's backfill in SQL gives the same table as record() kept.
      const kept = await sql<{ ip_num: unknown; kind: string; port: number; first_month: number; first_n: number; months: unknown }>`select * from findings_remediation_keys order by ip_num, kind, port`.execute(store.db);
      await sql`delete from findings_remediation_keys`.execute(store.db);
      await sql.raw(remediationBackfill).execute(store.db);
      const filled = await sql<typeof kept.rows[number]>`select * from findings_remediation_keys order by ip_num, kind, port`.execute(store.db);
      const norm = (rows: typeof kept.rows) => rows.map((r) => [Number(r.ip_num), r.kind, Number(r.port), Number(r.first_month), Number(r.first_n), Number(r.months)]);
      expect(norm(filled.rows)).toEqual(norm(kept.rows));
      expect(kept.rows.length).toBeGreaterThan(20);
    } finally {
      await store.close();
    }
  });
});
