/**
 * Stored C&C candidates → `c2-server` findings (one per endpoint and UTC day of its last contact in
 * the window), attributed by the ISP table like every finding; an outside C&C address usually has no
 * ISP of ours and is held no-isp: stored and counted, shared as an indicator rather than notified.
 */
import { passThrough } from '../../findings/build.js';
import { attribute } from '../../findings/attribute.js';
import { periodOf } from '../../findings/schema.js';
import type { Finding } from '../../core/records.js';
import type { IspTable } from '../../scope/isp.js';
import type { Store } from '../../store/store.js';
import type { C2Candidate } from '../types.js';

/** The finding of one candidate stored under `id` in store.flows. */
export function findingOf(c: C2Candidate, id: number): Finding {
  const observedAt = c.lastSeen;
  return passThrough({
    kind: 'c2-server',
    ip: c.ip,
    port: c.port,
    protocol: c.proto,
    observedAt,
    period: periodOf('c2-server', observedAt),
    device: { type: null, vendor: null, model: null, firmware: null },
    severity: 'critical',
    details: { score: Math.min(1, Math.max(0, c.score)), evidence: c.evidence.slice(0, 64).map((e) => `${e.feature}: ${e.note}`.slice(0, 1000)) },
    evidence: [{ record: 'c2-candidate', id }],
    surveyId: null,
    planVersion: null,
    isp: null,
    prefixOwner: null,
    held: 'no-isp',
  });
}

/** Record the candidates' findings; returns the finding ids in input order. */
export async function recordC2Findings(store: Store, candidates: readonly C2Candidate[], ids: readonly number[], isps: IspTable): Promise<number[]> {
  const findings = candidates.map((c, i) => attribute(findingOf(c, ids[i]!), isps));
  return findings.length ? store.findings.record(findings) : [];
}
