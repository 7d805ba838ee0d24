/**
 * Running a survey in-process: discovery over the plan's ports, endpoints written to the store as
 * batches arrive (never only at the end), with a checkpoint in the same transaction so a killed
 * run resumes exactly. Later stages (grab, identify, access) plug in after discovery.
 */
import { randomInt } from 'node:crypto';
import { IotcleanError } from '../core/errors.js';
import { formatIpv4, type Ipv4Range } from '../core/ip.js';
import type { Endpoint } from '../core/records.js';
import { defaultWorkers, runDiscovery, type DiscoveryProgress, type DiscoveryStats, type Shard } from '../discover/engine.js';
import { planDigest, surveyPlanSchema, type SurveyPlan } from '../discover/plan.js';
import { intersectRanges, countAddresses } from '../scope/range-set.js';
import type { CompiledScope } from '../scope/scope.js';
import type { Store } from '../store/store.js';

export interface SurveyRequest {
  readonly store: Store;
  /** The authorised scope: the guard checks every probe against it. */
  readonly scope: CompiledScope;
  /** What to probe (the scope itself, or targets narrowed inside it). Ignored on resume. */
  readonly targets: CompiledScope;
  readonly plan: SurveyPlan;
  readonly seed?: number;
  readonly shard?: Shard;
  /** Overrides the plan's rate (probes/s; 0 = unlimited). */
  readonly rate?: number;
  readonly workers?: number;
  readonly engine?: 'auto' | 'raw' | 'net';
  /** Resume this survey id from its checkpoint instead of starting a new one. */
  readonly resume?: number;
  readonly signal?: AbortSignal;
  readonly onProgress?: (p: DiscoveryProgress) => void;
  /** Called once the survey row exists (so callers can print its id before the long part). */
  readonly onStart?: (surveyId: number, resumed: boolean) => void;
}

export interface SurveyOutcome {
  readonly surveyId: number;
  readonly resumed: boolean;
  readonly stats: DiscoveryStats;
  readonly status: 'done' | 'interrupted';
}

function inside(scope: CompiledScope, ranges: readonly Ipv4Range[]): boolean {
  return countAddresses(intersectRanges(scope.ranges, ranges)) === countAddresses(ranges);
}

/** Run (or resume) a discovery survey and store what it finds as it finds it. */
export async function runSurvey(req: SurveyRequest): Promise<SurveyOutcome> {
  const { store } = req;
  let surveyId: number;
  let plan = req.plan;
  let targets: readonly Ipv4Range[];
  let ports: readonly number[];
  let seed: number;
  let shard: Shard;
  let workers: number;
  let resumeFrom: readonly number[] | undefined;

  if (req.resume !== undefined) {
    const row = await store.getSurvey(req.resume);
    if (!row) throw new IotcleanError('E_NOT_FOUND', `no survey with id ${req.resume}`, { hint: 'list them with: iotclean surveys' });
    if (row.status === 'done') throw new IotcleanError('E_ARGS', `survey ${row.id} is already complete`, { hint: 'start a new survey instead of --resume' });
    if (!inside(req.scope, row.targets)) {
      throw new IotcleanError('E_SCOPE_DENIED', `survey ${row.id} covers addresses outside the current scope`, {
        hint: 'resume it with the scope file it was started with',
      });
    }
    const stored = surveyPlanSchema.safeParse(await store.getPlan(row.planDigest));
    if (stored.success) plan = stored.data;
    surveyId = row.id;
    targets = row.targets;
    ports = row.ports;
    seed = row.seed;
    shard = row.shard;
    workers = row.workers;
    resumeFrom = row.checkpoint;
  } else {
    const digest = planDigest(plan);
    await store.savePlan({ digest, version: plan.version, name: plan.name, body: plan });
    targets = req.targets.ranges;
    ports = plan.ports.map((p) => p.port);
    seed = req.seed ?? randomInt(0, 2 ** 31);
    shard = req.shard ?? { index: 0, count: 1 };
    workers = req.workers ?? defaultWorkers();
    surveyId = await store.createSurvey({
      planDigest: digest,
      scope: { source: req.scope.source, ranges: req.scope.ranges },
      targets,
      ports,
      seed,
      shard,
      workers,
      startedAt: new Date().toISOString(),
    });
  }
  req.onStart?.(surveyId, resumeFrom !== undefined);

  // A resumed survey adds to what its earlier runs sent and spent.
  const before = resumeFrom ? await store.getSurvey(surveyId) : undefined;
  const sentBefore = before?.probesSent ?? 0;
  const elapsedBefore = before?.elapsedMs ?? 0;
  let stats: DiscoveryStats;
  try {
    stats = await runDiscovery({
      scope: req.scope,
      targetRanges: targets,
      ports,
      seed,
      shard,
      rate: req.rate ?? plan.rate,
      concurrency: plan.concurrency,
      timeoutMs: plan.timeoutMs,
      retries: plan.retries,
      workers,
      engine: req.engine,
      resumeFrom,
      signal: req.signal,
      onProgress: req.onProgress,
      onBatch: async (batch) => {
        const seenAt = new Date().toISOString();
        const endpoints: Endpoint[] = batch.opens.map(([ip, port]) => ({ kind: 'endpoint', ip: formatIpv4(ip), port, seenAt, source: 'connect' }));
        await store.recordProgress(surveyId, endpoints, batch.checkpoint);
      },
    });
  } catch (e) {
    await store.finishSurvey(surveyId, 'failed').catch(() => {});
    throw e;
  }
  const status = stats.interrupted ? 'interrupted' : 'done';
  await store.finishSurvey(surveyId, status, { probesSent: sentBefore + stats.sent, elapsedMs: elapsedBefore + stats.elapsedMs, checkpoint: stats.checkpoint });
  return { surveyId, resumed: resumeFrom !== undefined, stats, status };
}
