/**
 * The vuln stage: host-level identifications in, one VulnerabilityMatch per CVE considered per
 * host out. All hosts are matched first, then `devicesAffected` (how many hosts of the survey each
 * CVE affects) is counted and every match's threat level computed with it, so prevalence can
 * raise the level (src/vuln/threat.ts). Endpoint-level identifications (endpointId set) are
 * skipped: the host-level row carries the merged CPEs.
 */
import type { Identification, VulnerabilityMatch, VulnStatus } from '../core/records.js';
import type { Store } from '../store/store.js';
import { matchEach, type CveVerdict, type VulnIndex } from '../vuln/match.js';
import { threatLevel } from '../vuln/threat.js';
import type { EpssScore, KevEntry } from '../vuln/types.js';

export interface VulnStageContext {
  readonly index: VulnIndex;
  readonly kev: ReadonlyMap<string, KevEntry>;
  readonly epss: ReadonlyMap<string, EpssScore>;
  readonly surveyId: number | null;
  /** When given, the matches are stored (store.vuln.recordMatches). */
  readonly store?: Store;
  /** Affected devices from which prevalence raises the level (default 100). */
  readonly prevalent?: number;
  /** Time stamp of the matches (default now). */
  readonly now?: string;
}

export interface VulnStageOutcome {
  readonly matches: readonly VulnerabilityMatch[];
  readonly counts: { readonly hosts: number; readonly cvesConsidered: number; readonly byStatus: Readonly<Record<VulnStatus, number>> };
}

/** Match every host; see the file header. */
export async function vulnStage(hosts: AsyncIterable<Identification>, ctx: VulnStageContext): Promise<VulnStageOutcome> {
  const judged: { host: Identification; verdict: CveVerdict }[] = [];
  const affected = new Map<string, number>();
  const hostRows: Identification[] = [];
  for await (const host of hosts) if (host.endpointId === null) hostRows.push(host);
  const n = hostRows.length;
  // Judged in CPE-list order (matchEach), stored in the order the hosts came.
  const perHost: CveVerdict[][] = new Array<CveVerdict[]>(n);
  matchEach(ctx.index, hostRows.map((h) => h.cpe), (i, verdicts) => (perHost[i] = verdicts));
  for (let i = 0; i < n; i++) {
    const host = hostRows[i]!;
    for (const verdict of perHost[i]!) {
      judged.push({ host, verdict });
      if (verdict.status === 'affected') affected.set(verdict.cve, (affected.get(verdict.cve) ?? 0) + 1);
    }
  }
  const at = ctx.now ?? new Date().toISOString();
  const byStatus: Record<VulnStatus, number> = { affected: 0, 'not-affected': 0, unknown: 0 };
  const cves = new Set<string>();
  const matches = judged.map(({ host, verdict }): VulnerabilityMatch => {
    byStatus[verdict.status]++;
    cves.add(verdict.cve);
    return {
      kind: 'vulnerability-match',
      surveyId: ctx.surveyId,
      identificationId: host.id ?? null,
      ip: host.ip,
      cve: verdict.cve,
      status: verdict.status,
      cpe: verdict.cpe,
      reason: verdict.reason,
      threat: threatLevel(verdict.record, {
        kev: ctx.kev.get(verdict.cve),
        epss: ctx.epss.get(verdict.cve),
        devicesAffected: affected.get(verdict.cve) ?? 0,
        ...(ctx.prevalent !== undefined ? { prevalent: ctx.prevalent } : {}),
      }),
      matchedAt: at,
    };
  });
  if (ctx.store) for (let i = 0; i < matches.length; i += 500) await ctx.store.vuln.recordMatches(matches.slice(i, i + 500));
  return { matches, counts: { hosts: n, cvesConsidered: cves.size, byStatus } };
}
