/**
 * Running a survey in-process: discovery over the plan's ports, endpoints written to the store as
 * batches arrive (never only at the end), with a checkpoint in the same transaction so a killed
 * run resumes exactly. Later stages (grab, identify, access) plug in after discovery.
 */
import { createHash } from 'node:crypto';
import { IotcleanError } from '../core/errors.js';
import { formatIpv4, type Ipv4Range } from '../core/ip.js';
import type { Endpoint } from '../core/records.js';
import { defaultWorkers, runDiscovery, type DiscoveryProgress, type DiscoveryStats, type Shard } from '../discover/engine.js';
import { planDigest, surveyPlanSchema, type SurveyPlan } from '../discover/plan.js';
import { firstUncovered } from '../scope/range-set.js';
import type { CompiledScope } from '../scope/scope.js';
import { keepLease, leaseMsFromEnv, newLeaseOwner, takeLease, type HeldLease } from '../store/lease.js';
import type { Store } from '../store/store.js';
import { availableStages, stages } from './stages.js';

export interface SurveyRequest {
  readonly store: Store;
  /** The authorised scope: the guard checks every probe against it. */
  readonly scope: CompiledScope;
  /** What to probe (the scope itself, or targets narrowed inside it). Ignored on resume. */
  readonly targets: CompiledScope;
  readonly plan: SurveyPlan;
  /** Permutation seed, 0…2^32−1; by default derived from targets and ports (see defaultSeed). */
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
  readonly onStart?: (surveyId: number, resumed: boolean, start: SurveyStart) => void;
  /** How long this runner's lease on the survey lasts between heartbeats (default: IOTCLEAN_LEASE_MS or 15 s). */
  readonly leaseMs?: number;
}

/** What a run covers, as stored: on resume, the survey's own targets and what earlier runs did. */
export interface SurveyStart {
  readonly targets: readonly Ipv4Range[];
  readonly ports: readonly number[];
  readonly shard: Shard;
  /** Targets (address × port) earlier runs completed: where the progress continues from. */
  readonly doneBefore: number;
  readonly probesBefore: number;
  readonly elapsedMsBefore: number;
}

export interface SurveyOutcome {
  readonly surveyId: number;
  readonly resumed: boolean;
  readonly stats: DiscoveryStats;
  readonly status: 'done' | 'interrupted';
}

/**
 * The seed a survey gets without --seed: the first 32 bits of sha256 over its target ranges and
 * ports, the two things that define the permutation's index space. Shards of one survey started
 * separately (`--shard 1/2`, `--shard 2/2`, on different machines) thus walk the same permutation
 * and are disjoint and together complete, with no flag to forget.
 */
export function defaultSeed(targets: readonly Ipv4Range[], ports: readonly number[]): number {
  const text = `iotclean-seed-v1|${targets.map((r) => `${r.start}-${r.end}`).join(',')}|${ports.join(',')}`;
  return createHash('sha256').update(text).digest().readUInt32BE(0);
}

/** First address of `ranges` that the scope's includes do not cover (exclusions aside). */
function firstOutside(scope: CompiledScope, ranges: readonly Ipv4Range[]): number | undefined {
  for (const r of ranges) {
    const at = firstUncovered(scope.included, r);
    if (at !== undefined) return at;
  }
  return undefined;
}

/** Refuse a plan (built in code, or stored earlier) asking for stages this runner cannot run. */
function checkModules(plan: SurveyPlan): void {
  const missing = plan.modules.filter((m) => !stages[m]?.available);
  if (missing.length > 0) {
    throw new IotcleanError('E_PLAN_FILE', `plan ${plan.name} ${plan.version} asks for stage(s) not available yet: ${missing.join(', ')}`, {
      hint: `available now: ${availableStages().join(', ')}`,
    });
  }
  if (!plan.modules.includes('discover')) {
    throw new IotcleanError('E_PLAN_FILE', `plan ${plan.name} ${plan.version} does not list the discover stage, which this survey runs`, {
      hint: 'add discover to the plan\'s modules',
    });
  }
}

/** Run (or resume) a discovery survey and store what it finds as it finds it. */
export async function runSurvey(req: SurveyRequest): Promise<SurveyOutcome> {
  const { store } = req;
  checkModules(req.plan);
  let surveyId: number;
  let plan = req.plan;
  let targets: readonly Ipv4Range[];
  let ports: readonly number[];
  let seed: number;
  let shard: Shard;
  let workers: number;
  let resumeFrom: readonly number[] | undefined;
  // One runner per survey: held from creation (or resume) to the end, renewed on a heartbeat.
  const leaseRequest = { owner: newLeaseOwner(), ttlMs: req.leaseMs ?? leaseMsFromEnv() };
  let lease: HeldLease;

  if (req.resume !== undefined) {
    const row = await store.surveys.get(req.resume);
    if (!row) throw new IotcleanError('E_NOT_FOUND', `no survey with id ${req.resume}`, { hint: 'list them with: iotclean surveys' });
    if (row.status === 'done') throw new IotcleanError('E_ARGS', `survey ${row.id} is already complete`, { hint: 'start a new survey instead of --resume' });
    // Only widening is refused. Exclusions (opt-outs) and reserved space added since the start
    // are applied: the permutation keeps the stored targets, so the checkpoint stays valid, and
    // the guard, given the current scope, refuses the addresses now excluded.
    const outside = firstOutside(req.scope, row.targets);
    if (outside !== undefined) {
      throw new IotcleanError(
        'E_SCOPE_DENIED',
        `survey ${row.id} covers ${formatIpv4(outside)}, which the current scope (${req.scope.source}) does not include`,
        { hint: 'resume with a scope whose include lines cover the survey\'s targets; added exclude lines are fine and are applied' },
      );
    }
    const stored = surveyPlanSchema.safeParse(await store.plans.get(row.planDigest));
    if (stored.success) plan = stored.data;
    checkModules(plan);
    surveyId = row.id;
    targets = row.targets;
    ports = row.ports;
    seed = row.seed;
    shard = row.shard;
    workers = row.workers;
    resumeFrom = row.checkpoint;
    lease = await takeLease(store, row.id, leaseRequest);
  } else {
    if (req.seed !== undefined && !(Number.isInteger(req.seed) && req.seed >= 0 && req.seed <= 0xffffffff)) {
      throw new IotcleanError('E_ARGS', `seed must be an integer in 0…4294967295, got ${req.seed}`, { hint: 'leave it out to derive one from the targets and ports' });
    }
    const digest = planDigest(plan);
    await store.plans.save({ digest, version: plan.version, name: plan.name, body: plan });
    targets = req.targets.ranges;
    ports = plan.ports.map((p) => p.port);
    seed = req.seed ?? defaultSeed(targets, ports);
    shard = req.shard ?? { index: 0, count: 1 };
    workers = req.workers ?? defaultWorkers();
    surveyId = await store.surveys.create(
      { planDigest: digest, scope: { source: req.scope.source, ranges: req.scope.ranges }, targets, ports, seed, shard, workers, startedAt: new Date().toISOString() },
      leaseRequest,
    );
    lease = keepLease(store, surveyId, leaseRequest);
  }
  // A resumed survey adds to what its earlier runs sent and spent.
  const before = resumeFrom ? await store.surveys.get(surveyId) : undefined;
  const sentBefore = before?.probesSent ?? 0;
  const elapsedBefore = before?.elapsedMs ?? 0;
  const doneBefore = (resumeFrom ?? []).reduce((n, steps) => n + steps, 0);
  req.onStart?.(surveyId, resumeFrom !== undefined, { targets, ports, shard, doneBefore, probesBefore: sentBefore, elapsedMsBefore: elapsedBefore });
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
      signal: req.signal ? AbortSignal.any([req.signal, lease.lost]) : lease.lost,
      onProgress: req.onProgress,
      onBatch: async (batch) => {
        const seenAt = new Date().toISOString();
        const endpoints: Endpoint[] = batch.opens.map(([ip, port]) => ({ kind: 'endpoint', ip: formatIpv4(ip), port, seenAt, source: 'connect' }));
        await store.surveys.recordProgress(surveyId, endpoints, batch.checkpoint, { owner: lease.owner });
      },
    });
  } catch (e) {
    await lease.stop();
    await store.surveys.finish(surveyId, 'failed', undefined, lease.owner).catch(() => {});
    throw e;
  }
  await lease.stop();
  // A run that lost its lease leaves the survey to the runner that took it over.
  if (lease.lost.aborted) throw lease.lost.reason;
  const status = stats.interrupted ? 'interrupted' : 'done';
  await store.surveys.finish(surveyId, status, { probesSent: sentBefore + stats.sent, elapsedMs: elapsedBefore + stats.elapsedMs, checkpoint: stats.checkpoint }, lease.owner);
  return { surveyId, resumed: resumeFrom !== undefined, stats, status };
}
