/**
 * Running grab or identify alone on what a survey stored (`iotclean grab --survey ID`, `iotclean
 * identify --survey ID`), and the per-ISP device counts the demo and the CLI print. The stages
 * are the same functions a survey chains; only their input comes from the store.
 */
import type { AccessResult, AccessVerdict, Identification, Observation } from '../core/records.js';
import type { SurveyPlan } from '../discover/plan.js';
import type { IspTable } from '../scope/isp.js';
import type { CompiledScope } from '../scope/scope.js';
import type { Store } from '../store/store.js';
import type { GrabRequest, Identifier } from './deps.js';
import { grabStage, type StageCounts, type StageFailure } from './grab-stage.js';
import { groupByEndpoint, identifyStage, type IdentifyOutcome } from './identify-stage.js';

export interface GrabStoredRequest {
  readonly store: Store;
  readonly surveyId: number;
  readonly scope: CompiledScope;
  readonly plan: SurveyPlan;
  /** Grab endpoints that have observations already too (default: skip them, so a rerun resumes). */
  readonly again?: boolean;
  readonly grab?: (req: GrabRequest) => Promise<Observation[]>;
  readonly signal?: AbortSignal;
  readonly onError?: (failure: StageFailure) => void;
  readonly counts?: StageCounts;
}

/** Grab a stored survey's endpoints; returns the counts and how many were skipped as grabbed. */
export async function grabStoredSurvey(req: GrabStoredRequest): Promise<{ readonly counts: StageCounts; readonly skipped: number }> {
  const { store, surveyId } = req;
  const grabbed = req.again ? new Set<number>() : await store.observations.endpointIds(surveyId);
  let skipped = 0;
  const source = (async function* () {
    for await (const e of store.endpoints.list(surveyId)) {
      if (grabbed.has(e.id!)) skipped++;
      else yield e;
    }
  })();
  const counts = req.counts ?? { in: 0, out: 0, failed: 0 };
  const stage = grabStage(source, {
    store,
    surveyId,
    scope: req.scope,
    plan: req.plan,
    counts,
    ...(req.grab ? { grab: req.grab } : {}),
    ...(req.signal ? { signal: req.signal } : {}),
    ...(req.onError ? { onError: req.onError } : {}),
  });
  for await (const _ of stage);
  return { counts: { ...counts }, skipped };
}

/** Identify a stored survey from its observations (by address: each host merged at once). */
export function identifyStoredSurvey(req: {
  readonly store: Store;
  readonly surveyId: number;
  readonly identifier: Identifier;
  readonly signal?: AbortSignal;
  readonly onError?: (failure: StageFailure) => void;
  readonly counts?: StageCounts;
}): Promise<IdentifyOutcome> {
  return identifyStage(groupByEndpoint(req.store.observations.list(req.surveyId)), { ...req, sortedByIp: true });
}

/** Identified hosts per ISP and device type ("unknown" when the type is not known). */
export interface DeviceCounts {
  readonly ispId: string;
  readonly name: string;
  readonly hosts: number;
  readonly byType: Readonly<Record<string, number>>;
}

/** Count host rows per ISP (longest prefix; "-" outside every prefix) and device type. */
export async function countDevicesByIsp(hosts: AsyncIterable<Identification>, isps: IspTable | undefined): Promise<DeviceCounts[]> {
  const rows = new Map<string, { hosts: number; byType: Map<string, number> }>();
  for await (const h of hosts) {
    const id = isps?.lookupText(h.ip)?.id ?? '-';
    let r = rows.get(id);
    if (!r) rows.set(id, (r = { hosts: 0, byType: new Map() }));
    r.hosts++;
    const type = h.type ?? 'unknown';
    r.byType.set(type, (r.byType.get(type) ?? 0) + 1);
  }
  const names = new Map((isps?.isps ?? []).map((i) => [i.id, i.name]));
  const order = [...(isps?.isps ?? []).map((i) => i.id), '-'];
  return order
    .filter((id) => rows.has(id))
    .map((id) => {
      const r = rows.get(id)!;
      // Most common type first; unknown last, so the known picture reads first.
      const byType = Object.fromEntries([...r.byType].sort((a, b) => (a[0] === 'unknown' ? 1 : b[0] === 'unknown' ? -1 : b[1] - a[1] || a[0].localeCompare(b[0]))));
      return { ispId: id, name: id === '-' ? "(in no ISP's prefix)" : (names.get(id) ?? id), hosts: r.hosts, byType };
    });
}

/** The device counts as text, one line per ISP. */
export function formatDeviceCounts(rows: readonly DeviceCounts[]): string {
  if (rows.length === 0) return 'identified devices: none';
  const lines = ['identified devices (hosts) per ISP and type:'];
  for (const r of rows) lines.push(`  ${r.name}${r.ispId === '-' ? '' : ` [${r.ispId}]`}: ${r.hosts} hosts — ${Object.entries(r.byType).map(([t, n]) => `${t} ${n}`).join(', ')}`);
  return lines.join('\n');
}

/** Access results of one ISP: services checked, and per verdict, how many (weak ones per protocol). */
export interface AccessCounts {
  readonly ispId: string;
  readonly name: string;
  readonly services: number;
  readonly byVerdict: Readonly<Partial<Record<AccessVerdict, number>>>;
  /** Weak-credential services per protocol (telnet, ssh, http-basic, ...). */
  readonly weakByProtocol: Readonly<Record<string, number>>;
}

/** Count access results per ISP (longest prefix; "-" outside every prefix). */
export async function countAccessByIsp(results: AsyncIterable<AccessResult>, isps: IspTable | undefined): Promise<AccessCounts[]> {
  const rows = new Map<string, { services: number; byVerdict: Partial<Record<AccessVerdict, number>>; weak: Record<string, number> }>();
  for await (const r of results) {
    const id = isps?.lookupText(r.ip)?.id ?? '-';
    let row = rows.get(id);
    if (!row) rows.set(id, (row = { services: 0, byVerdict: {}, weak: {} }));
    row.services++;
    row.byVerdict[r.verdict] = (row.byVerdict[r.verdict] ?? 0) + 1;
    if (r.verdict === 'weak-credential') row.weak[r.protocol] = (row.weak[r.protocol] ?? 0) + 1;
  }
  const names = new Map((isps?.isps ?? []).map((i) => [i.id, i.name]));
  const order = [...(isps?.isps ?? []).map((i) => i.id), '-'];
  return order
    .filter((id) => rows.has(id))
    .map((id) => {
      const r = rows.get(id)!;
      return { ispId: id, name: id === '-' ? "(in no ISP's prefix)" : (names.get(id) ?? id), services: r.services, byVerdict: r.byVerdict, weakByProtocol: r.weak };
    });
}

/** The access counts as text, one line per ISP. */
export function formatAccessCounts(rows: readonly AccessCounts[]): string {
  if (rows.length === 0) return 'weak ID/password check: no service asked for a login';
  const lines = ['weak ID/password check (services that ask for a login) per ISP:'];
  for (const r of rows) {
    const weak = r.byVerdict['weak-credential'] ?? 0;
    const protocols = Object.entries(r.weakByProtocol).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).map(([p, n]) => `${p} ${n}`).join(', ');
    const others = (['no-weak-credential', 'accepts-any', 'locked-out', 'unsupported', 'error'] as const).filter((v) => r.byVerdict[v]).map((v) => `${v} ${r.byVerdict[v]}`);
    lines.push(`  ${r.name}${r.ispId === '-' ? '' : ` [${r.ispId}]`}: ${r.services} services — weak-credential ${weak}${protocols ? ` (${protocols})` : ''}${others.length ? `; ${others.join(', ')}` : ''}`);
  }
  return lines.join('\n');
}
