import { IotcleanError } from '../../core/errors.js';
import type { Endpoint } from '../../core/records.js';
import { withPortMap } from '../../discover/plan.js';
import { labPortMap, runningLab } from '../../lab/state.js';
import { formatIspSummary, summariseByIsp, type IspSummary } from '../../pipeline/summary.js';
import { loadIspTable } from '../../scope/isp.js';
import { runSurvey, type SurveyOutcome } from '../../pipeline/survey.js';
import { defineCommand, type Output } from '../command.js';
import { parseShard, resolvePlan, resolveScope, scopeOptions, storeOption, withStore } from '../context.js';
import { progressBar } from '../progress.js';

/** Endpoints per port, for summaries. */
export function countByPort(endpoints: readonly Endpoint[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const e of [...endpoints].sort((a, b) => a.port - b.port)) counts[e.port] = (counts[e.port] ?? 0) + 1;
  return counts;
}

function report(out: Output, o: SurveyOutcome, endpoints: readonly Endpoint[], isps?: readonly IspSummary[]): void {
  const s = o.stats;
  const byPort = countByPort(endpoints);
  const lines = [
    `survey ${o.surveyId} ${o.status}${o.resumed ? ' (resumed)' : ''}`,
    `  probes sent ${s.sent.toLocaleString('en')} in ${(s.elapsedMs / 1000).toFixed(1)} s: ${Math.round(s.rate).toLocaleString('en')} probes/s (${s.engine} engine; ${s.engineReason})`,
    `  open endpoints ${endpoints.length.toLocaleString('en')}${s.timeouts ? `, timeouts ${s.timeouts}` : ''}${s.denied ? `, refused by scope ${s.denied}` : ''}${s.unreachable ? `, unreachable ${s.unreachable}` : ''}${s.localErrors ? `, given up after local errors ${s.localErrors}` : ''}`,
    ...Object.entries(byPort).map(([port, n]) => `    ${port.padStart(5)}/tcp  ${n}`),
  ];
  if (isps) lines.push('', formatIspSummary(isps));
  if (o.status === 'interrupted') lines.push(`  interrupted: resume with  iotclean discover --resume ${o.surveyId}`);
  out.result(lines.join('\n'), {
    surveyId: o.surveyId,
    status: o.status,
    resumed: o.resumed,
    probesSent: s.sent,
    elapsedMs: Math.round(s.elapsedMs),
    rate: Math.round(s.rate),
    engine: s.engine,
    engineReason: s.engineReason,
    open: endpoints.length,
    timeouts: s.timeouts,
    unreachable: s.unreachable,
    localErrors: s.localErrors,
    byPort,
    ...(isps ? { isps } : {}),
    peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
  });
}

export const discoverCommand = defineCommand({
  name: 'discover',
  description: 'Connect-scan the scope (or --targets) on the plan\'s ports and store open endpoints.',
  options: {
    ...scopeOptions,
    plan: { type: 'string', value: 'FILE', description: 'survey plan (default: plans/default.yaml)' },
    ports: { type: 'string', value: 'LIST', description: 'comma-separated ports or names, instead of the plan\'s' },
    rate: { type: 'number', value: 'N', description: 'probes per second across workers; 0 = unlimited (default: the plan\'s)' },
    seed: { type: 'number', value: 'N', description: 'permutation seed (default: random, stored with the survey)' },
    shard: { type: 'string', value: 'I/N', description: 'run shard I of N (1-based); shards are disjoint and together complete' },
    workers: { type: 'number', value: 'N', description: 'worker threads (default: CPU cores, at most 8)' },
    engine: { type: 'string', value: 'auto|raw|net', description: 'connect engine', default: 'auto' },
    resume: { type: 'number', value: 'ID', description: 'resume an interrupted survey from its checkpoint' },
    lab: { type: 'string', value: 'DIR', description: 'follow the port map of the lab running in DIR (when it uses high ports)' },
    isps: { type: 'string', value: 'FILE', description: 'prefix→ISP table: add a per-ISP summary (default with --lab: the lab\'s table)' },
    ...storeOption,
  },
  async run(o, _args, out) {
    if (!['auto', 'raw', 'net'].includes(o.engine)) throw new IotcleanError('E_ARGS', `--engine must be auto, raw or net, got "${o.engine}"`);
    if (o.rate !== undefined && o.rate < 0) throw new IotcleanError('E_ARGS', '--rate must be ≥ 0');
    if (o.workers !== undefined && (!Number.isInteger(o.workers) || o.workers < 1 || o.workers > 64)) throw new IotcleanError('E_ARGS', '--workers must be 1..64');
    const { scope, targets } = await resolveScope(o);
    let plan = await resolvePlan(o);
    const lab = o.lab ? runningLab(o.lab) : undefined;
    const portMap = lab ? labPortMap(lab) : new Map<number, number>();
    plan = withPortMap(plan, portMap);
    const ispFile = o.isps ?? lab?.ispTablePath;
    const isps = ispFile ? await loadIspTable(ispFile) : undefined;
    const shard = parseShard(o.shard);
    const controller = new AbortController();
    const onSigint = () => controller.abort();
    process.once('SIGINT', onSigint);
    process.once('SIGTERM', onSigint);
    const bar = progressBar('discover', !out.json && process.stderr.isTTY === true);
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
          engine: o.engine as 'auto' | 'raw' | 'net',
          resume: o.resume,
          signal: controller.signal,
          onStart: (id, resumed) => out.info(`${resumed ? 'resuming' : 'starting'} survey ${id}: ${targets.size.toLocaleString('en')} addresses × ${plan.ports.length} ports`),
          onProgress: (p) => bar.update(p.done, p.total, `open ${p.open}`),
        });
        bar.end();
        const endpoints = await store.endpoints(outcome.surveyId);
        const back = new Map([...portMap].map(([device, bound]) => [bound, device]));
        report(out, outcome, endpoints, isps && summariseByIsp(endpoints, isps, targets.ranges, (p) => back.get(p) ?? p));
        return outcome.status === 'done' ? 0 : 130;
      });
    } finally {
      bar.end();
      process.off('SIGINT', onSigint);
      process.off('SIGTERM', onSigint);
    }
  },
});
