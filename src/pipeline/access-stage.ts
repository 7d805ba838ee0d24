/**
 * The access stage: hosts in (each with its endpoints' observations and its identification),
 * one result per service that asks for a login out, written with its attempts as each host ends.
 * Hosts are checked with at most the plan's `access.concurrency` at once, each through the access
 * runner (one session at a time per host, pauses, stop at first success, accepts-any re-check).
 * A host whose check throws goes to the error sink; the others go on.
 */
import type { AccessResult, AccessVerdict, Identification, Observation } from '../core/records.js';
import { parseIpv4 } from '../core/ip.js';
import type { PlanAccess } from '../discover/plan.js';
import type { CompiledScope } from '../scope/scope.js';
import type { Store } from '../store/store.js';
import { checkAccessHost, type AccessDictionary, type AccessHost } from './deps.js';
import { mapConcurrent } from './flow.js';
import type { StageCounts, StageFailure } from './grab-stage.js';
import { groupByEndpoint } from './identify-stage.js';

export interface AccessStageContext {
  readonly store: Store;
  readonly surveyId: number;
  readonly scope: CompiledScope;
  readonly access: PlanAccess;
  readonly dictionary: AccessDictionary;
  readonly planDigest: string;
  readonly planVersion: string;
  /** Sessions a module may hold at once per host (default 1). */
  readonly sessions?: number;
  /** Check services that have a stored result again (default: skip them, so a rerun resumes). */
  readonly again?: boolean;
  readonly signal?: AbortSignal;
  readonly onError?: (failure: StageFailure) => void;
  /** Live counts: in = hosts, out = results written, failed = hosts. */
  readonly counts?: StageCounts;
  /** Each service's result as it is stored (the CLI prints them). */
  readonly onResult?: (result: AccessResult) => void;
}

export interface AccessOutcome {
  readonly hosts: number;
  readonly services: number;
  readonly byVerdict: Readonly<Partial<Record<AccessVerdict, number>>>;
  readonly failed: number;
}

/** Check every host; see the file header. */
export async function accessStage(hosts: AsyncIterable<AccessHost>, ctx: AccessStageContext): Promise<AccessOutcome> {
  const counts = ctx.counts ?? { in: 0, out: 0, failed: 0 };
  const byVerdict: Partial<Record<AccessVerdict, number>> = {};
  const skip = ctx.again ? undefined : await ctx.store.access.checked(ctx.surveyId);
  const options = {
    scope: ctx.scope,
    dictionary: ctx.dictionary,
    surveyId: ctx.surveyId,
    planDigest: ctx.planDigest,
    planVersion: ctx.planVersion,
    pauseMs: ctx.access.pauseMs,
    maxAttemptsPerHost: ctx.access.maxAttemptsPerHost,
    lockoutBackoffMs: ctx.access.lockoutBackoffMs,
    ...(ctx.sessions !== undefined ? { sessions: ctx.sessions } : {}),
    ...(ctx.signal ? { signal: ctx.signal } : {}),
    ...(skip ? { skip } : {}),
  };
  let hostCount = 0;
  for await (const settled of mapConcurrent(hosts, ctx.access.concurrency, async (host) => {
    counts.in++;
    const outcomes = await checkAccessHost(host, options);
    // Written per service: a host's later failure keeps what its earlier services found.
    for (const o of outcomes) {
      await ctx.store.access.record(o.result, o.attempts);
      counts.out++;
      byVerdict[o.result.verdict] = (byVerdict[o.result.verdict] ?? 0) + 1;
      ctx.onResult?.(o.result);
    }
    return outcomes.length;
  })) {
    if (settled.ok) hostCount++;
    else {
      counts.failed++;
      ctx.onError?.({ stage: 'access', item: settled.item.ip, error: settled.error });
    }
    if (ctx.signal?.aborted) break;
  }
  return { hosts: hostCount, services: counts.out, byVerdict, failed: counts.failed };
}

/** Grab modules whose observations a login module reads; other endpoints are not carried. */
const loginGrabs = new Set(['telnet', 'ssh', 'http', 'https']);

function asksForLogin(observations: readonly Observation[]): boolean {
  return observations.some((o) => loginGrabs.has(o.module));
}

function hintOf(row: Identification | undefined): AccessHost['hint'] {
  if (!row) return null;
  const vendor = row.device?.vendor ?? row.vendor;
  const product = row.device?.product ?? row.product;
  if (vendor === null && product === null && row.type === null) return null;
  return { vendor, product, type: row.type };
}

/**
 * A stored survey's hosts for the access stage: observations (by address, port) joined with the
 * host identification rows (by address), one pass over each, so any size streams.
 */
export async function* storedAccessHosts(store: Store, surveyId: number): AsyncGenerator<AccessHost> {
  const ids = store.identifications.hosts(surveyId)[Symbol.asyncIterator]();
  let next = await ids.next();
  const num = (ip: string) => parseIpv4(ip)!;
  let current: { ip: string; endpoints: AccessHost['endpoints'][number][] } | undefined;
  const flush = async (): Promise<AccessHost | undefined> => {
    if (!current || current.endpoints.length === 0) return undefined;
    const at = num(current.ip);
    while (!next.done && num(next.value.ip) < at) next = await ids.next();
    const row = !next.done && num(next.value.ip) === at ? next.value : undefined;
    return { ip: current.ip, endpoints: current.endpoints, hint: hintOf(row) };
  };
  for await (const group of groupByEndpoint(store.observations.list(surveyId))) {
    const head = group[0]!;
    if (current?.ip !== head.ip) {
      const host = await flush();
      if (host) yield host;
      current = { ip: head.ip, endpoints: [] };
    }
    if (asksForLogin(group)) current.endpoints.push({ endpointId: head.endpointId, port: head.port, observations: group });
  }
  const host = await flush();
  if (host) yield host;
}
