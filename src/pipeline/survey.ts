/**
 * Running a survey in-process: discovery over the plan's ports, endpoints written to the store as
 * batches arrive (never only at the end), with a checkpoint in the same transaction so a killed
 * run resumes exactly. The stages after it stream: each stored batch of endpoints goes through a
 * bounded channel to the grab stage while discovery goes on, and each endpoint's observations go
 * on to the identify stage; hosts are merged once discovery and grabbing are complete.
 */
import { createHash } from 'node:crypto';
import { IotcleanError } from '../core/errors.js';
import { formatIpv4, type Ipv4Range } from '../core/ip.js';
import type { Endpoint, Observation } from '../core/records.js';
import { defaultWorkers, runDiscovery, type DiscoveryProgress, type DiscoveryStats, type Shard } from '../discover/engine.js';
import { defaultPlanAccess, planDigest, surveyPlanSchema, type SurveyPlan } from '../discover/plan.js';
import { firstUncovered } from '../scope/range-set.js';
import { compileScope, type CompiledScope } from '../scope/scope.js';
import { keepLease, leaseMsFromEnv, newLeaseOwner, takeLease, type HeldLease } from '../store/lease.js';
import type { Store } from '../store/store.js';
import { accessStage, storedAccessHosts, type AccessOutcome } from './access-stage.js';
import type { AccessDictionary, GrabRequest, Identifier } from './deps.js';
import { Channel } from './flow.js';
import { grabStage, type StageCounts, type StageFailure } from './grab-stage.js';
import { identifyStage, type IdentifyOutcome } from './identify-stage.js';
import { availableStages, stageNames, stages, type StageName } from './stages.js';
import { storedVulnContext, type VulnContext } from './vuln-data.js';
import { vulnStage, type VulnStageOutcome } from './vuln-stage.js';

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
  /** Stages to run (default: the plan's modules); discover first, pipeline order. */
  readonly stages?: readonly StageName[];
  /** The identify engine, loaded by the caller (needed when identify runs). */
  readonly identifier?: Identifier;
  /** The ID/password list the access stage tries (the plan's, loaded by the caller; needed when access runs). */
  readonly dictionary?: AccessDictionary;
  /** Sessions an access module may hold at once per host (default 1). */
  readonly accessSessions?: number;
  /** The grab runner (default: src/grab/runner.ts); tests pass their own. */
  readonly grab?: (req: GrabRequest) => Promise<Observation[]>;
  /** The error sink: each endpoint or host a stage failed on. */
  readonly onStageError?: (failure: StageFailure) => void;
  /** Live counts of the later stages, for progress. */
  readonly counts?: { readonly grab: StageCounts; readonly identify: StageCounts; readonly access?: StageCounts };
  /** The vulnerability data the vuln stage matches against (default: the store's imported data). */
  readonly vuln?: VulnContext;
  /** Each access result as it is stored. */
  readonly onAccessResult?: Parameters<typeof accessStage>[1]['onResult'];
}

/** Endpoints between discovery and grab: enough to keep grab busy, small enough to bound memory. */
const channelCapacity = 4096;

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
  /** The stages run, in order. */
  readonly stages?: readonly StageName[];
  /** Grab counts (in = endpoints, out = observations written, failed = endpoints), when grab ran. */
  readonly grab?: StageCounts;
  readonly identify?: IdentifyOutcome;
  readonly access?: AccessOutcome;
  /** The vuln stage's counts and how many CVE records it matched against. */
  readonly vuln?: VulnStageOutcome['counts'] & { readonly records: number };
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

/** Refuse a plan (built in code, or stored earlier) or a stage list this runner cannot run. */
function checkModules(plan: SurveyPlan, wanted: readonly StageName[] = plan.modules): StageName[] {
  const what = wanted === plan.modules ? `plan ${plan.name} ${plan.version}` : 'the stages asked for';
  const missing = wanted.filter((m) => !stages[m]?.available);
  if (missing.length > 0) {
    throw new IotcleanError('E_PLAN_FILE', `${what} asks for stage(s) not available yet: ${missing.join(', ')}`, {
      hint: `available now: ${availableStages().join(', ')}`,
    });
  }
  if (!wanted.includes('discover')) {
    throw new IotcleanError('E_PLAN_FILE', `${what} does not list the discover stage, which this survey runs`, {
      hint: 'add discover to the plan\'s modules; a stored survey is grabbed with iotclean grab --survey ID',
    });
  }
  // Each later stage reads what the one before it makes in the same run.
  if (wanted.includes('identify') && !wanted.includes('grab')) {
    throw new IotcleanError('E_PLAN_FILE', `${what} asks for identify without grab, which makes its input`, { hint: 'add grab, or run iotclean identify --survey ID on a grabbed survey' });
  }
  if (wanted.includes('vuln') && !wanted.includes('identify')) {
    throw new IotcleanError('E_PLAN_FILE', `${what} asks for vuln without identify, which names the devices it matches`, { hint: 'add grab and identify, or run iotclean vuln match on CPE names' });
  }
  if (wanted.includes('access') && !wanted.includes('grab')) {
    throw new IotcleanError('E_PLAN_FILE', `${what} asks for access without grab, which finds the logins it checks`, { hint: 'add grab (and identify, which orders the list by maker), or run iotclean access --survey ID on a grabbed survey' });
  }
  return stageNames.filter((n) => wanted.includes(n));
}

/**
 * The scope minus the exclusions stored from approved opt-outs (store.optouts): exclusions win,
 * whatever the scope file says, so every probe, grab and login of the run is refused there.
 */
export async function withStoredExclusions(store: Store, scope: CompiledScope): Promise<CompiledScope> {
  const excluded = await store.optouts.excludedRanges();
  if (excluded.length === 0) return scope;
  return compileScope({ ...scope.spec, excludes: [...scope.spec.excludes, ...excluded], source: `${scope.source} minus ${excluded.length} stored exclusion(s)` });
}

/** Run (or resume) a discovery survey and store what it finds as it finds it. */
export async function runSurvey(request: SurveyRequest): Promise<SurveyOutcome> {
  const req: SurveyRequest = { ...request, scope: await withStoredExclusions(request.store, request.scope), targets: await withStoredExclusions(request.store, request.targets) };
  const { store } = req;
  const needs = (w: readonly StageName[]) => {
    if (w.includes('identify') && !req.identifier) throw new IotcleanError('E_INTERNAL', 'runSurvey: the identify stage needs an identifier (loadIdentifier)');
    if (w.includes('access') && !req.dictionary) throw new IotcleanError('E_INTERNAL', 'runSurvey: the access stage needs the plan\'s dictionary (loadPlanDictionary)');
    return w;
  };
  let wanted = needs(checkModules(req.plan, req.stages));
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
    // Governance (src/store/plan-governance.ts): a resumed run probes too, so its plan must be approved.
    await store.planApprovals.assertApproved({ digest: row.planDigest, version: plan.version, name: plan.name });
    wanted = needs(checkModules(plan, req.stages));
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
    // Before anything is stored or probed: with governance on, only an approved plan runs.
    await store.planApprovals.assertApproved({ digest, version: plan.version, name: plan.name });
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
  const grabs = wanted.includes('grab');
  const identifies = wanted.includes('identify');
  const counts = req.counts ?? { grab: { in: 0, out: 0, failed: 0 }, identify: { in: 0, out: 0, failed: 0 } };
  const channel = grabs ? new Channel<Endpoint>(channelCapacity) : undefined;
  // A later stage that fails stops discovery too: nothing would take what it finds.
  const downstreamFailed = new AbortController();
  let downstreamError: { error: unknown } | undefined;
  let identified: IdentifyOutcome | undefined;
  let accessed: AccessOutcome | undefined;
  const accesses = wanted.includes('access');
  const vulns = wanted.includes('vuln');
  let vulned: (VulnStageOutcome['counts'] & { readonly records: number }) | undefined;
  const downstream = channel
    ? (async () => {
        // A resumed run first grabs what earlier runs stored but did not grab.
        const grabbed = resumeFrom ? await store.observations.endpointIds(surveyId) : new Set<number>();
        const source = (async function* () {
          if (resumeFrom) for await (const e of store.endpoints.list(surveyId)) if (!grabbed.has(e.id!)) yield e;
          yield* channel;
        })();
        const stageSignal = req.signal ? AbortSignal.any([req.signal, downstreamFailed.signal]) : downstreamFailed.signal;
        const grabbing = grabStage(source, {
          store,
          surveyId,
          scope: req.scope,
          plan,
          ...(req.grab ? { grab: req.grab } : {}),
          signal: stageSignal,
          counts: counts.grab,
          ...(req.onStageError ? { onError: req.onStageError } : {}),
        });
        const groups = (async function* () {
          for await (const r of grabbing) if (r.observations.length > 0) yield r.observations;
        })();
        if (identifies) {
          identified = await identifyStage(groups, {
            store,
            surveyId,
            identifier: req.identifier!,
            signal: stageSignal,
            counts: counts.identify,
            ...(req.onStageError ? { onError: req.onStageError } : {}),
          });
        } else {
          for await (const _ of groups);
        }
        // Vuln matches each host's merged identification against the CVE data (all hosts first:
        // prevalence in the survey feeds the threat level), before the slower access stage.
        if (vulns && !stageSignal.aborted) {
          const data = req.vuln ?? (await storedVulnContext(store));
          const v = await vulnStage(store.identifications.hosts(surveyId), { index: data.index, kev: data.kev, epss: data.epss, surveyId, store });
          vulned = { ...v.counts, records: data.records };
        }
        // Access reads what grab and identify stored: it needs each host's merged identification
        // (the maker orders the list), which exists once identify has seen every endpoint.
        if (accesses && !stageSignal.aborted) {
          const pinned = plan.access?.dictionaryDigest;
          if (pinned !== undefined && pinned !== req.dictionary!.digest) {
            throw new IotcleanError('E_PLAN_FILE', `survey ${surveyId}'s plan pins the ID/password list ${pinned.slice(0, 12)}…, not the one given (${req.dictionary!.name} ${req.dictionary!.version}, ${req.dictionary!.digest.slice(0, 12)}…)`, {
              hint: 'resume with the list the survey started with (drop --dictionary), or start a new survey',
            });
          }
          accessed = await accessStage(storedAccessHosts(store, surveyId), {
            store,
            surveyId,
            scope: req.scope,
            access: plan.access ?? defaultPlanAccess,
            dictionary: req.dictionary!,
            planDigest: planDigest(plan),
            planVersion: plan.version,
            ...(req.accessSessions !== undefined ? { sessions: req.accessSessions } : {}),
            signal: stageSignal,
            ...(counts.access ? { counts: counts.access } : {}),
            ...(req.onStageError ? { onError: req.onStageError } : {}),
            ...(req.onAccessResult ? { onResult: req.onAccessResult } : {}),
          });
        }
      })().catch((error: unknown) => {
        downstreamError = { error };
        channel.stop();
        downstreamFailed.abort(error);
      })
    : undefined;
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
      signal: AbortSignal.any([...(req.signal ? [req.signal] : []), lease.lost, downstreamFailed.signal]),
      onProgress: req.onProgress,
      onBatch: async (batch) => {
        const seenAt = new Date().toISOString();
        const endpoints: Endpoint[] = batch.opens.map(([ip, port]) => ({ kind: 'endpoint', ip: formatIpv4(ip), port, seenAt, source: 'connect' }));
        const stored = await store.surveys.recordProgress(surveyId, endpoints, batch.checkpoint, { owner: lease.owner });
        // Waits while grab is behind: discovery slows rather than memory growing.
        if (channel && stored.length > 0) await channel.push(...stored);
      },
    });
    channel?.close();
    await downstream;
    if (downstreamError) throw downstreamError.error;
  } catch (e) {
    channel?.stop();
    await downstream;
    await lease.stop();
    await store.surveys.finish(surveyId, 'failed', undefined, lease.owner).catch(() => {});
    throw e;
  }
  await lease.stop();
  // A run that lost its lease leaves the survey to the runner that took it over.
  if (lease.lost.aborted) throw lease.lost.reason;
  const status = stats.interrupted || req.signal?.aborted ? 'interrupted' : 'done';
  await store.surveys.finish(surveyId, status, { probesSent: sentBefore + stats.sent, elapsedMs: elapsedBefore + stats.elapsedMs, checkpoint: stats.checkpoint }, lease.owner);
  return {
    surveyId,
    resumed: resumeFrom !== undefined,
    stats,
    status,
    stages: wanted,
    ...(grabs ? { grab: { ...counts.grab } } : {}),
    ...(identified ? { identify: identified } : {}),
    ...(accessed ? { access: accessed } : {}),
    ...(vulned ? { vuln: vulned } : {}),
  };
}
