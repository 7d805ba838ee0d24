/**
 * The grab stage: endpoints in (stored, with ids), observations out. Endpoints are grabbed with
 * at most the plan's `grab.concurrency` in flight, each through the grab runner (which owns the
 * connection, the guard and the deadlines); observations are validated per endpoint and written
 * in batches as they come. An endpoint whose grab throws, or whose records do not validate, goes
 * to the error sink and the count of failures; the others go on (IntelMQ's per-item routing).
 */
import { setMaxListeners } from 'node:events';
import { IotcleanError } from '../core/errors.js';
import type { Endpoint, Observation } from '../core/records.js';
import { checkObservation } from '../core/schemas.js';
import type { SurveyPlan } from '../discover/plan.js';
import type { CompiledScope } from '../scope/scope.js';
import type { Store } from '../store/store.js';
import { grabEndpoint, type GrabRequest } from './deps.js';
import { mapConcurrent } from './flow.js';
import { isServiceName, type ServiceName } from './services.js';

/** What a stage did, live while it runs. */
export interface StageCounts {
  /** Items taken in. */
  in: number;
  /** Records written. */
  out: number;
  /** Items that failed (sent to the error sink). */
  failed: number;
}

/** One failed item, as the error sink gets it. */
export interface StageFailure {
  readonly stage: 'grab' | 'identify' | 'access';
  /** "ip:port" (or "ip" for a host). */
  readonly item: string;
  readonly error: unknown;
}

/** One endpoint's observations, every module tried, as the identify stage takes them. */
export interface GrabResult {
  readonly endpoint: Endpoint;
  readonly observations: readonly Observation[];
}

export interface GrabStageContext {
  readonly store: Store;
  readonly surveyId: number;
  readonly scope: CompiledScope;
  /** Gives each port's expected service and the stage's options (`grab:` in the plan). */
  readonly plan: SurveyPlan;
  /** The grab runner (default: src/grab/runner.ts). Tests pass a recording one. */
  readonly grab?: (req: GrabRequest) => Promise<Observation[]>;
  readonly signal?: AbortSignal;
  readonly onError?: (failure: StageFailure) => void;
  /** Live counts, updated before each result is yielded. */
  readonly counts?: StageCounts;
}

/** Flush buffered observations at least this often while results trickle in. */
const flushMs = 1000;

/** The service the plan expects on a port (as mapped for the lab), or undefined when not named. */
export function serviceForPort(plan: SurveyPlan, port: number): ServiceName | undefined {
  const s = plan.ports.find((p) => p.port === port)?.service;
  return s !== undefined && isServiceName(s) && s !== 'unknown' ? s : undefined;
}

/** Grab every endpoint; yields each endpoint's observations once they are stored. */
export async function* grabStage(endpoints: AsyncIterable<Endpoint>, ctx: GrabStageContext): AsyncGenerator<GrabResult> {
  const { store, surveyId, plan } = ctx;
  const grab = ctx.grab ?? grabEndpoint;
  // Every grab in flight listens on the stage's signal (and its connections too): not a leak.
  if (ctx.signal) setMaxListeners(plan.grab.concurrency * 4 + 16, ctx.signal);
  const counts = ctx.counts ?? { in: 0, out: 0, failed: 0 };
  let buffer: Observation[] = [];
  let ready: GrabResult[] = [];
  let lastFlush = Date.now();
  const flush = async () => {
    if (buffer.length > 0) {
      const batch = buffer;
      buffer = [];
      await store.observations.add(batch);
      counts.out += batch.length;
    }
    lastFlush = Date.now();
    const out = ready;
    ready = [];
    return out;
  };
  const one = async (e: Endpoint): Promise<readonly Observation[]> => {
    if (e.id === undefined) throw new IotcleanError('E_INTERNAL', `endpoint ${e.ip}:${e.port} reached the grab stage without a store id`);
    const service = serviceForPort(plan, e.port);
    const got = await grab({
      scope: ctx.scope,
      ip: e.ip,
      port: e.port,
      ...(service ? { service } : {}),
      endpointId: e.id,
      surveyId,
      ...(ctx.signal ? { signal: ctx.signal } : {}),
    });
    // Validated here, one endpoint at a time, so a bad record fails its endpoint and not the batch.
    return got.map((o) => checkObservation({ ...o, surveyId, endpointId: e.id! }));
  };
  const counted = (async function* () {
    for await (const e of endpoints) {
      if (ctx.signal?.aborted) return;
      counts.in++;
      yield e;
    }
  })();
  for await (const r of mapConcurrent(counted, plan.grab.concurrency, one)) {
    if (!r.ok) {
      counts.failed++;
      ctx.onError?.({ stage: 'grab', item: `${r.item.ip}:${r.item.port}`, error: r.error });
      continue;
    }
    buffer.push(...r.value);
    ready.push({ endpoint: r.item, observations: r.value });
    if (buffer.length >= plan.grab.batchSize || Date.now() - lastFlush >= flushMs) yield* await flush();
  }
  yield* await flush();
}
