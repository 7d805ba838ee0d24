import { IotcleanError } from '../../core/errors.js';
import { withPortMap } from '../../discover/plan.js';
import { labPortMap, runningLab } from '../../lab/state.js';
import { formatIspSummary, summariseByIsp } from '../../pipeline/summary.js';
import { loadIspTable } from '../../scope/isp.js';
import { countAddresses } from '../../scope/range-set.js';
import type { AccessDictionary, Identifier } from '../../pipeline/deps.js';
import type { SurveyPlan } from '../../discover/plan.js';
import type { StageName } from '../../pipeline/stages.js';
import { runSurvey, type SurveyOutcome, type SurveyStart } from '../../pipeline/survey.js';
import type { IspTable } from '../../scope/isp.js';
import type { Store } from '../../store/store.js';
import { defineCommand, type OptionSpec, type Output, type ParsedOptions } from '../command.js';
import { parseShard, resolvePlan, resolveScope, scopeOptions, storeOption, withStore } from '../context.js';
import { progressBar, type ProgressBar } from '../progress.js';
import { devicePorts, formatSurveyReport, sizeLine, surveyReport } from '../report.js';

/** A resumed survey runs on what it stored; these flags would silently change it, so they are refused. */
const fixedOnResume = ['targets', 'ports', 'plan', 'seed', 'shard', 'workers'] as const;

/** Options of `discover`, which `survey` shares. */
export const discoverOptions = {
    ...scopeOptions,
    plan: { type: 'string', value: 'FILE', description: 'survey plan (default: plans/default.yaml)' },
    ports: { type: 'string', value: 'LIST', list: true, description: 'comma-separated ports or names, instead of the plan\'s' },
    rate: { type: 'number', value: 'N', min: 0, description: 'probes per second across workers; 0 = unlimited (default: the plan\'s)' },
    seed: { type: 'number', value: 'N', integer: true, min: 0, max: 2 ** 32 - 1, description: 'permutation seed (default: derived from targets and ports, so shards agree; stored with the survey)' },
    shard: { type: 'string', value: 'I/N', description: 'run shard I of N (1-based); shards are disjoint and together complete' },
    workers: { type: 'number', value: 'N', integer: true, min: 1, max: 64, description: 'worker threads (default: CPU cores, at most 8)' },
    engine: { type: 'string', choices: ['auto', 'raw', 'net'], description: 'connect engine: raw = Node\'s TCP handle, net = node:net sockets', default: 'auto' },
    resume: { type: 'number', value: 'ID', integer: true, min: 1, description: 'resume an interrupted survey from its checkpoint (its targets, ports, plan, seed and shard)' },
    lab: { type: 'string', value: 'DIR', description: 'survey the lab running in DIR: its network by default, following its port map' },
    isps: { type: 'string', value: 'FILE', description: 'prefix→ISP table: add a per-ISP summary (default with --lab: the lab\'s table)' },
    ...storeOption,
} as const satisfies Record<string, OptionSpec>;

/** What `survey` adds to a discover run: the later stages, and how to print what they found. */
export interface LaterStages {
  readonly stages: readonly StageName[];
  readonly identifier?: Identifier;
  /** For the access stage: the plan with the check's options applied, and the list it tries. */
  readonly access?: (plan: SurveyPlan) => Promise<{ readonly plan: SurveyPlan; readonly dictionary: AccessDictionary }>;
  /** Sessions an access module may hold at once per host. */
  readonly accessSessions?: number;
  /** Extra text and JSON keys for the report (device counts), given the survey id and ISP table. */
  readonly report?: (store: Store, surveyId: number, isps: IspTable | undefined) => Promise<{ text: string; json: Record<string, unknown> }>;
}

/** The discover run, shared by `discover` (stages: discover) and `survey` (any). */
export async function runDiscoverCli(o: ParsedOptions<typeof discoverOptions>, out: Output, later: LaterStages = { stages: ['discover'] }): Promise<number> {
    if (o.resume !== undefined) {
      const given = fixedOnResume.filter((k) => o[k] !== undefined);
      if (given.length) {
        throw new IotcleanError('E_ARGS', `--resume continues survey ${o.resume} as it was stored; ${given.map((k) => `--${k}`).join(', ')} would change it`, {
          hint: `drop ${given.map((k) => `--${k}`).join(', ')}, or start a new survey without --resume`,
        });
      }
    }
    const lab = o.lab ? runningLab(o.lab) : undefined;
    // With --lab the default targets are the lab's network, not the whole (loopback) scope.
    const { scope, targets } = await resolveScope({ scope: o.scope, targets: o.targets ?? lab?.network });
    const portMap = lab ? labPortMap(lab) : new Map<number, number>();
    const planned = withPortMap(await resolvePlan(o), portMap);
    // Only a new survey takes the access options; a resumed one runs its stored plan's.
    const checking = later.access && later.stages.includes('access') ? await later.access(planned) : undefined;
    const plan = checking?.plan ?? planned;
    const ispFile = o.isps ?? lab?.ispTablePath;
    const isps = ispFile ? await loadIspTable(ispFile) : undefined;
    const shard = parseShard(o.shard);
    const controller = new AbortController();
    const onSigint = () => controller.abort();
    process.once('SIGINT', onSigint);
    process.once('SIGTERM', onSigint);
    let bar: ProgressBar | undefined;
    let started: SurveyStart | undefined;
    try {
      return await withStore(o.db, async (store) => {
        const outcome = await runSurvey({
          store,
          scope,
          targets,
          plan,
          seed: o.seed,
          shard,
          rate: o.rate,
          workers: o.workers,
          engine: o.engine,
          resume: o.resume,
          stages: later.stages,
          ...(later.identifier ? { identifier: later.identifier } : {}),
          ...(checking ? { dictionary: checking.dictionary } : {}),
          ...(later.accessSessions !== undefined ? { accessSessions: later.accessSessions } : {}),
          onStageError: (f) => out.info(`${f.stage} ${f.item}: ${f.error instanceof Error ? f.error.message : String(f.error)}`),
          signal: controller.signal,
          onStart: (id, resumed, start) => {
            started = start;
            const size = sizeLine(countAddresses(start.targets), start.ports.length, start.shard);
            const from = resumed ? `; continuing after ${start.doneBefore.toLocaleString('en')} done and ${start.probesBefore.toLocaleString('en')} probes sent` : '';
            out.info(`${resumed ? 'resuming' : 'starting'} survey ${id}: ${size}${from}`);
            bar = progressBar('discover', { enabled: !out.json && process.stderr.isTTY === true, doneBefore: start.doneBefore });
          },
          onProgress: (p) => bar?.update(p.done, p.total, `open ${p.open}`),
        });
        bar?.end();
        const endpoints = await store.endpoints.all(outcome.surveyId);
        const summary = isps && summariseByIsp(endpoints, isps, started!.targets, devicePorts(portMap));
        const r = surveyReport(outcome, started!, endpoints, portMap, summary);
        const extra = later.report ? await later.report(store, outcome.surveyId, isps) : undefined;
        const stagesLine = stageLine(outcome);
        const resumeAll = outcome.status === 'interrupted' && later.stages.length > 1 ? [`  (to run ${later.stages.join(', ')} again: iotclean survey --resume ${outcome.surveyId} --stages ${later.stages.join(',')})`] : [];
        const text = [formatSurveyReport(r), ...resumeAll, ...(stagesLine ? [stagesLine] : []), ...(summary ? ['', formatIspSummary(summary)] : []), ...(extra ? ['', extra.text] : [])].join('\n');
        out.result(text, { ...r, stages: outcome.stages, ...(outcome.grab ? { grab: outcome.grab } : {}), ...(outcome.identify ? { identify: outcome.identify } : {}), ...(extra?.json ?? {}) });
        return outcome.status === 'done' ? 0 : 130;
      });
    } finally {
      bar?.end();
      process.off('SIGINT', onSigint);
      process.off('SIGTERM', onSigint);
    }
}

/** "grab: 120 endpoints, 300 observations, 2 failed; identify: ..." for the stages after discover. */
export function stageLine(outcome: SurveyOutcome): string | undefined {
  const parts: string[] = [];
  if (outcome.grab) parts.push(`grab: ${outcome.grab.in} endpoints, ${outcome.grab.out} observations, ${outcome.grab.failed} failed`);
  if (outcome.identify) parts.push(`identify: ${outcome.identify.endpoints} endpoints, ${outcome.identify.hosts} hosts, ${outcome.identify.failed} failed`);
  return parts.length ? `  ${parts.join('; ')}` : undefined;
}

export const discoverCommand = defineCommand({
  name: 'discover',
  description: 'Connect-scan the scope (or --targets) on the plan\'s ports and store open endpoints.',
  options: discoverOptions,
  run: (o, _args, out) => runDiscoverCli(o, out),
});

