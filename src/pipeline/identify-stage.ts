/**
 * The identify stage: observations in (grouped per endpoint), identifications out, written as
 * they are made. A host is merged (evidence across its ports) once all its endpoints are known:
 * when the input comes sorted by address (from the store), as soon as the address changes; when
 * it streams in discovery order (a survey), at the stage's end, from the endpoint rows stored.
 * A failing endpoint or host goes to the error sink and the failure count; the rest go on.
 */
import type { Identification, Observation } from '../core/records.js';
import { checkIdentification } from '../core/schemas.js';
import type { Store } from '../store/store.js';
import type { Identifier } from './deps.js';
import type { StageCounts, StageFailure } from './grab-stage.js';

export interface IdentifyStageContext {
  readonly store: Store;
  readonly surveyId: number;
  readonly identifier: Identifier;
  /** True when groups arrive ordered by address (hosts contiguous): merge each host at once. */
  readonly sortedByIp?: boolean;
  readonly signal?: AbortSignal;
  readonly onError?: (failure: StageFailure) => void;
  /** Live counts: in = endpoints, out = identification rows written (host rows included). */
  readonly counts?: StageCounts;
}

export interface IdentifyOutcome {
  readonly endpoints: number;
  readonly hosts: number;
  readonly failed: number;
}

/** Consecutive observations of one endpoint (same address and port) as one group. */
export async function* groupByEndpoint(observations: AsyncIterable<Observation>): AsyncGenerator<Observation[]> {
  let group: Observation[] = [];
  for await (const o of observations) {
    const head = group[0];
    if (head && (head.ip !== o.ip || head.port !== o.port)) {
      yield group;
      group = [];
    }
    group.push(o);
  }
  if (group.length > 0) yield group;
}

/** Run identification over endpoint groups; see the file header for when hosts are merged. */
export async function identifyStage(groups: AsyncIterable<readonly Observation[]>, ctx: IdentifyStageContext): Promise<IdentifyOutcome> {
  const { store, surveyId, identifier } = ctx;
  const counts = ctx.counts ?? { in: 0, out: 0, failed: 0 };
  let hosts = 0;
  const fail = (item: string, error: unknown) => {
    counts.failed++;
    ctx.onError?.({ stage: 'identify', item, error });
  };
  const identify = (obs: readonly Observation[]): Identification | undefined => {
    const head = obs[0]!;
    try {
      return checkIdentification({ ...identifier.identifyEndpoint(obs), surveyId, endpointId: head.endpointId, ip: head.ip, port: head.port });
    } catch (e) {
      fail(`${head.ip}:${head.port}`, e);
      return undefined;
    }
  };
  /** Merge one host's endpoint rows and replace what is stored for it. */
  const merge = async (ip: string, rows: readonly Identification[]) => {
    if (rows.length === 0) return;
    let merged: { readonly host: Identification; readonly endpoints: readonly Identification[] };
    try {
      const plain = rows.map(({ id: _id, ...r }) => r as Identification);
      merged = identifier.mergeHost(plain);
      merged = { host: checkIdentification({ ...merged.host, surveyId, endpointId: null, port: null, ip }), endpoints: merged.endpoints.map((e) => checkIdentification({ ...e, surveyId, ip })) };
    } catch (e) {
      fail(ip, e);
      return;
    }
    await store.identifications.replaceHost(surveyId, ip, [...merged.endpoints, merged.host]);
    hosts++;
    counts.out += 1;
  };

  if (ctx.sortedByIp) {
    let ip: string | undefined;
    let pending: Identification[] = [];
    for await (const obs of groups) {
      if (ctx.signal?.aborted) break;
      if (obs.length === 0) continue;
      counts.in++;
      if (ip !== undefined && obs[0]!.ip !== ip) {
        await merge(ip, pending);
        pending = [];
      }
      ip = obs[0]!.ip;
      const row = identify(obs);
      if (row) {
        pending.push(row);
        counts.out++;
      }
    }
    if (ip !== undefined) await merge(ip, pending);
    return { endpoints: counts.in - counts.failed, hosts, failed: counts.failed };
  }

  // Discovery order: endpoint rows are written as they come (others can read them at once) ...
  let batch: Identification[] = [];
  for await (const obs of groups) {
    if (ctx.signal?.aborted) break;
    if (obs.length === 0) continue;
    counts.in++;
    const row = identify(obs);
    if (row) batch.push(row);
    if (batch.length >= 200) {
      await store.identifications.add(batch);
      counts.out += batch.length;
      batch = [];
    }
  }
  await store.identifications.add(batch);
  counts.out += batch.length;
  // ... and hosts are merged once every endpoint is in: read back by address, and replace a host
  // only after a row of the next one is seen, so the keyset read never meets the rows it rewrote.
  let ip: string | undefined;
  let pending: Identification[] = [];
  for await (const row of store.identifications.list(surveyId, { level: 'endpoint' })) {
    if (ip !== undefined && row.ip !== ip) {
      await merge(ip, pending);
      pending = [];
    }
    ip = row.ip;
    pending.push(row);
  }
  if (ip !== undefined) await merge(ip, pending);
  return { endpoints: counts.in - counts.failed, hosts, failed: counts.failed };
}
