import { defaultPlanAccess, withPortMap, loadDefaultPlan } from '../../discover/plan.js';
import { loadAccessDictionary } from '../../pipeline/deps.js';
import { labDown, labStatus, labUp } from '../../lab/runtime.js';
import { labPortMap } from '../../lab/state.js';
import { runSurvey, type SurveyStart } from '../../pipeline/survey.js';
import { countAccessByIsp, countDevicesByIsp, formatAccessCounts, formatDeviceCounts, type AccessCounts, type DeviceCounts } from '../../pipeline/stored.js';
import { formatIspSummary, summariseByIsp } from '../../pipeline/summary.js';
import { loadIspTable } from '../../scope/isp.js';
import { compileScope, defaultScope, restrictScope } from '../../scope/scope.js';
import { defineCommand } from '../command.js';
import { storeOption, withStore } from '../context.js';
import { progressBar, type ProgressBar } from '../progress.js';
import { devicePorts, formatSurveyReport, surveyReport } from '../report.js';
import { stageLine } from './discover.js';
import { identifierFor } from './survey.js';
import { accessSummary } from '../access-report.js';

export const demoCommand = defineCommand({
  name: 'demo',
  description: 'The main job on the embedded default: start the lab, survey it with the default plan (discover, grab, identify, weak ID/password check), summarise per ISP, device type and weak login.',
  options: {
    dir: { type: 'string', value: 'DIR', description: 'lab folder', default: '.lab' },
    devices: { type: 'number', value: 'N', integer: true, min: 1, description: 'lab devices (when the demo starts the lab)', default: 1000 },
    network: { type: 'string', value: 'CIDR', description: 'lab network (when the demo starts the lab)', default: '127.77.0.0/16' },
    rate: { type: 'number', value: 'N', min: 0, description: 'probes/s; 0 = as fast as loopback allows (the lab is local)', default: 0 },
    seed: { type: 'number', value: 'N', integer: true, min: 0, max: 2 ** 32 - 1, description: 'permutation seed', default: 1 },
    'keep-lab': { type: 'boolean', description: 'leave the lab running afterwards', default: false },
    'access-tries': { type: 'number', value: 'N', integer: true, min: 1, max: 10_000, description: 'weak ID/password tries per host (the plan tries the whole list; the demo keeps to N)', default: 60 },
    ...storeOption,
  },
  async run(o, _args, out) {
    const t0 = performance.now();
    const already = labStatus(o.dir);
    const state = already.running && already.state ? already.state : await (async () => {
      out.info(`starting the lab (${o.devices} devices) ...`);
      return labUp({ dir: o.dir, devices: o.devices, network: o.network });
    })();
    const startedLab = !already.running;
    const controller = new AbortController();
    const stop = () => controller.abort();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    try {
      out.info(`lab: ${state.devices} devices in ${state.network}; surveying with the default plan ...`);
      const portMap = labPortMap(state);
      const base = withPortMap(await loadDefaultPlan(), portMap);
      // The lab is ours: no pause, many hosts at once, and a lock-out is reported at once (the
      // lab's lock lasts minutes). Each host gets a share of demoTries; a survey tries the whole list.
      const plan = { ...base, access: { ...(base.access ?? defaultPlanAccess), pauseMs: 0, concurrency: 256, lockoutBackoffMs: 0, maxAttemptsPerHost: o['access-tries'] } };
      const dictionary = await loadAccessDictionary(plan.access);
      const scope = compileScope(defaultScope());
      const targets = restrictScope(scope, [state.network]);
      const isps = await loadIspTable(state.ispTablePath);
      const identifier = await identifierFor(undefined, out);
      let bar: ProgressBar | undefined;
      let started: SurveyStart | undefined;
      const result = await withStore(o.db, async (store) => {
        const outcome = await runSurvey({
          store,
          scope,
          targets,
          plan,
          rate: o.rate,
          seed: o.seed,
          stages: ['discover', 'grab', 'identify', 'access'],
          identifier,
          dictionary,
          signal: controller.signal,
          onStart: (_id, _resumed, start) => {
            started = start;
            bar = progressBar('survey', { enabled: !out.json && process.stderr.isTTY === true });
          },
          onProgress: (p) => bar?.update(p.done, p.total, `open ${p.open}`),
        });
        bar?.end();
        const devices: DeviceCounts[] = await countDevicesByIsp(store.identifications.hosts(outcome.surveyId), isps);
        const access: AccessCounts[] = await countAccessByIsp(store.access.list(outcome.surveyId), isps);
        return { outcome, devices, access, accessJson: (await accessSummary(store, outcome.surveyId)).json, endpoints: await store.endpoints.all(outcome.surveyId) };
      });
      const rows = summariseByIsp(result.endpoints, isps, targets.ranges, devicePorts(portMap));
      const report = surveyReport(result.outcome, started!, result.endpoints, portMap, rows);
      const totalMs = Math.round(performance.now() - t0);
      out.result(
        [
          formatSurveyReport(report),
          ...(stageLine(result.outcome) ? [stageLine(result.outcome)!] : []),
          `  stored in ${o.db}`,
          '',
          `time taken: ${(totalMs / 1000).toFixed(1)} s, lab start included (all ISPs are surveyed together, in one permutation)`,
          '',
          formatIspSummary(rows),
          '',
          formatDeviceCounts(result.devices),
          '',
          formatAccessCounts(result.access),
          `  (demo: at most ${o['access-tries']} tries per host from ${dictionary.name} ${dictionary.version}, ${dictionary.entries.length} pairs, maker's pairs first; results name entry ids, never passwords: iotclean access --survey ${result.outcome.surveyId} --db ${o.db})`,
        ].join('\n'),
        { ...report, stages: result.outcome.stages, grab: result.outcome.grab, identify: result.outcome.identify, devices: result.devices, ...result.accessJson, accessByIsp: result.access, totalMs },
      );
      return result.outcome.status === 'done' ? 0 : 130;
    } finally {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      if (startedLab && !o['keep-lab']) await labDown(o.dir);
    }
  },
});
