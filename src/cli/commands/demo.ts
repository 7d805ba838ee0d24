import { setMaxListeners } from 'node:events';
import { join, dirname } from 'node:path';
import { defaultPlanAccess, planDigest, withPortMap, loadDefaultPlan } from '../../discover/plan.js';
import { deriveSurveyFindings } from '../../findings/survey.js';
import { analyseToFindings } from '../../darknet/findings.js';
import { darknetFindingsForLab, labScannerList } from '../../lab/darknet/lab-capture.js';
import { findingsText } from './darknet.js';
import { findVulnDataDirs, storedSurveyFindingSources } from '../../pipeline/vuln-data.js';
import { importVulnFile } from './vuln.js';
import { expandVulnPaths } from '../../vuln/import/read.js';
import { runNoticeLoop, type NoticeLoopResult } from '../../lab/notice-loop.js';
import { buildLab } from '../../lab/population.js';
import { demoFlows } from '../../lab/flows/demo.js';
import { effectText } from '../../notify/isp/effect.js';
import { loadAccessDictionary } from '../../pipeline/deps.js';
import { labApplyOwnerActions, labDown, labStatus, labUp } from '../../lab/runtime.js';
import { labPortMap } from '../../lab/state.js';
import { runSurvey, type SurveyStart } from '../../pipeline/survey.js';
import { countAccessByIsp, countDevicesByIsp, formatAccessCounts, formatDeviceCounts, type AccessCounts, type DeviceCounts } from '../../pipeline/stored.js';
import { formatIspSummary, summariseByIsp } from '../../pipeline/summary.js';
import { loadIspTable } from '../../scope/isp.js';
import { compileScope, defaultScope, restrictScope } from '../../scope/scope.js';
import type { Isp } from '../../scope/isp.js';
import type { Store } from '../../store/store.js';
import { ensureDemoAccounts } from '../../web/demo-accounts.js';
import { createWebApp, serveWeb, webContext } from '../../web/server.js';
import { defineCommand, type Output } from '../command.js';
import { storeOption, withStore } from '../context.js';
import { progressBar, type ProgressBar } from '../progress.js';
import { devicePorts, formatSurveyReport, surveyReport } from '../report.js';
import { stageLine } from './discover.js';
import { identifierFor } from './survey.js';
import { accessSummary } from '../access-report.js';

export const demoCommand = defineCommand({
  name: 'demo',
  description: 'The main job on the embedded default: start the lab, survey it with the default plan (discover, grab, identify, firmware vulnerabilities, weak ID/password check), derive findings (with a day of lab darknet), notify each ISP by SMTP, run the ISP side (subscriber matching, cases, alerts) over simulated weeks of owners and real re-scans, and print the remediation curve.',
  options: {
    dir: { type: 'string', value: 'DIR', description: 'lab folder', default: '.lab' },
    devices: { type: 'number', value: 'N', integer: true, min: 1, description: 'lab devices (when the demo starts the lab)', default: 1000 },
    network: { type: 'string', value: 'CIDR', description: 'lab network (when the demo starts the lab)', default: '127.77.0.0/16' },
    rate: { type: 'number', value: 'N', min: 0, description: 'probes/s; 0 = as fast as loopback allows (the lab is local)', default: 0 },
    seed: { type: 'number', value: 'N', integer: true, min: 0, max: 2 ** 32 - 1, description: 'permutation seed', default: 1 },
    'keep-lab': { type: 'boolean', description: 'leave the lab running afterwards', default: false },
    'access-tries': { type: 'number', value: 'N', integer: true, min: 1, max: 10_000, description: 'weak ID/password tries per host (the plan tries the whole list; the demo keeps to N)', default: 60 },
    'rescan-tries': { type: 'number', value: 'N', integer: true, min: 1, max: 10_000, description: 'tries per device when the centre re-checks a notified login', default: 12 },
    weeks: { type: 'number', value: 'N', integer: true, min: 0, max: 12, description: 'simulated weeks of owners and re-scans after the alerts (0: stop after the findings)', default: 5 },
    serve: { type: 'string', value: 'WHEN', choices: ['auto', 'yes', 'no'], description: 'then serve the dashboard on 127.0.0.1 until Ctrl-C (auto: when the output is a terminal)', default: 'auto' },
    port: { type: 'number', value: 'N', integer: true, min: 0, max: 65535, description: 'the dashboard\'s port (taken: any free one)', default: 8780 },
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
    // Every concurrent check listens on it (the survey's and the re-scans' hosts).
    setMaxListeners(4096, controller.signal);
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
        // The reference CVE data (NVD, CVE 5, KEV, EPSS) when a copy is nearby; importing is idempotent.
        const vulnFiles = await expandVulnPaths(findVulnDataDirs());
        for (const f of vulnFiles) await importVulnFile(store, f);
        if (!vulnFiles.length) out.info('vuln: no CVE data found nearby (set IOTCLEAN_VULN_DATA); firmware is not matched');
        const outcome = await runSurvey({
          store,
          scope,
          targets,
          plan,
          rate: o.rate,
          seed: o.seed,
          stages: ['discover', 'grab', 'identify', 'vuln', 'access'],
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
        // Findings, then the notification loop: batches, ISP matching, alerts, simulated weeks of
        // owners and real re-scans, the remediation curve (src/lab/notice-loop.ts).
        const findings = await deriveSurveyFindings(store, outcome.surveyId, isps, { extra: storedSurveyFindingSources(store, outcome.surveyId, undefined, plan.version) });
        // The lab's darknet: a day of captured scanning (some weak devices now scan like Mirai),
        // research scanners and backscatter; infected findings join the same batches.
        // The lab's population again (deterministic from its seed), for the darknet and the ISPs' subscribers.
        const labPlan = buildLab({ seed: state.seed, devices: state.devices, network: state.network });
        const capture = darknetFindingsForLab(labPlan, {
          dir: join(dirname(o.db), 'demo-darknet'),
          start: `${new Date(Date.now() - 86_400_000).toISOString().slice(0, 10)}T00:00:00Z`,
        });
        const darknet = await analyseToFindings(store, [capture.capture], isps, labScannerList(), { surveyId: outcome.surveyId });
        // Three days of lab flow records: C&C detection from headers only (src/lab/flows/demo.ts).
        // Seed 1 trained the built-in model: the demo's flows come from the next seed on.
        const flows = await demoFlows(store, { dir: join(dirname(o.db), 'demo-flows'), seed: o.seed + 1 });
        let notice: NoticeLoopResult | undefined;
        if (outcome.status === 'done' && o.weeks > 0) {
          out.info(`findings: ${findings.stored} stored; notifying the ISPs and simulating ${o.weeks} weeks of owners and re-scans (${((performance.now() - t0) / 1000).toFixed(0)} s so far) ...`);
          notice = await runNoticeLoop({
            centre: store,
            surveyId: outcome.surveyId,
            plan: labPlan,
            portMap: state.portMap,
            scope,
            dictionary,
            access: plan.access,
            planDigest: planDigest(plan),
            planVersion: plan.version,
            dir: join(dirname(o.db), 'demo-notice'),
            applyOwnerActions: (actions) => labApplyOwnerActions(o.dir, actions),
            weeks: o.weeks,
            rescanTries: o['rescan-tries'],
            signal: controller.signal,
          });
        }
        return {
          findings,
          darknet,
          flows,
          notice, outcome, devices, access, accessJson: (await accessSummary(store, outcome.surveyId)).json, endpoints: await store.endpoints.all(outcome.surveyId) };
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
          '',
          ...(result.outcome.vuln ? [`vuln: ${result.outcome.vuln.hosts} hosts matched against ${result.outcome.vuln.records} CVE records: ${result.outcome.vuln.byStatus.affected} affected, ${result.outcome.vuln.byStatus.unknown} unknown, ${result.outcome.vuln.byStatus['not-affected']} not affected (iotclean vuln makers --survey ${result.outcome.surveyId} --db ${o.db})`, ''] : []),
          formatFindings(result.findings),
          findingsText(result.darknet),
          `flows: ${result.flows.flows.toLocaleString('en-US')} lab flow records (3 days, headers only) in ${result.flows.dir}: ${result.flows.candidates} suspected C&C endpoints in ${(result.flows.elapsedMs / 1000).toFixed(1)} s; against the lab's truth precision ${result.flows.precision.toFixed(3)}, recall ${result.flows.recall.toFixed(3)} of ${result.flows.c2} C&C endpoints (iotclean flows live --list --db ${o.db}; iotclean share export --format stix --db ${o.db})`,
          ...(result.notice ? ['', formatNotice(result.notice)] : []),
        ].join('\n'),
        { ...report, stages: result.outcome.stages, grab: result.outcome.grab, identify: result.outcome.identify, devices: result.devices, ...result.accessJson, accessByIsp: result.access, vuln: result.outcome.vuln, findings: result.findings, darknet: { stored: result.darknet.stored, byIsp: result.darknet.byIsp, held: result.darknet.held }, flows: result.flows, notice: result.notice, totalMs },
      );
      const serving = o.serve === 'yes' || (o.serve === 'auto' && process.stdout.isTTY === true && !out.json);
      if (serving && result.outcome.status === 'done' && !controller.signal.aborted) {
        await withStore(o.db, (store) => serveDemo(store, isps.isps.filter((i) => i.participating), o.port, controller.signal, out));
      }
      return result.outcome.status === 'done' ? 0 : 130;
    } finally {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      if (startedLab && !o['keep-lab']) await labDown(o.dir);
    }
  },
});

/** Serve the dashboard of the demo's store with fresh demo accounts until `signal` (Ctrl-C). */
async function serveDemo(store: Store, isps: readonly Isp[], port: number, signal: AbortSignal, out: Output): Promise<void> {
  const accounts = await ensureDemoAccounts(store, isps);
  const app = createWebApp(webContext(store));
  const web = await serveWeb(app, { port }).catch((e: NodeJS.ErrnoException) => (e.code === 'EADDRINUSE' ? serveWeb(app, { port: 0 }) : Promise.reject(e)));
  out.info(
    [
      '',
      `dashboard: ${web.url}/ops   ISP portal: ${web.url}/isp   public site: ${web.url}/`,
      'demo accounts (new passwords every run):',
      ...accounts.map((a) => `  ${a.name.padEnd(18)} ${a.password}  ${a.role}${a.isp ? ` (${a.isp})` : ''}`),
      'Ctrl-C stops the server and the lab.',
    ].join('\n'),
  );
  await new Promise<void>((resolve) => (signal.aborted ? resolve() : signal.addEventListener('abort', () => resolve(), { once: true })));
  await web.close();
}

function formatFindings(f: Awaited<ReturnType<typeof deriveSurveyFindings>>): string {
  const kinds = Object.entries(f.byKind).map(([k, n]) => `${k} ${n}`).join(', ');
  const isps = Object.entries(f.byIsp).map(([k, n]) => `${k} ${n}`).join(', ');
  const held = Object.entries(f.held).map(([k, n]) => `${k} ${n}`).join(', ');
  return [`findings: ${f.stored} (${kinds || 'none'})`, `  to notify per ISP: ${isps || 'none'}`, `  held, not sent: ${held || 'none'}  (iotclean findings --db …)`].join('\n');
}

function formatNotice(n: NoticeLoopResult): string {
  const lines = [
    `notifications: ${n.batches.length} batches to ${new Set(n.batches.map((b) => b.isp)).size} ISPs by SMTP (${n.batches.filter((b) => b.delivered).length} accepted), ${n.held} findings held`,
    ...n.batches.map((b) => `  ${b.ticket}  ${b.isp.padEnd(8)} ${String(b.findings).padStart(5)} findings  ${b.delivered ? 'mailed' : 'NOT mailed'}`),
    `ISP side: ${n.matches.matched} findings matched to subscribers, ${n.matches.unmatched} unmatched, ${n.matches.ambiguous} ambiguous; ${n.cases.opened} cases (${n.cases.control} held back as baseline): ${Object.entries(n.cases.byMeasure).map(([k, v]) => `${k} ${v}`).join(', ')}`,
    `  first alerts: ${n.mails.toSubscribers} subscriber mails, ${n.mails.tasksAndNotices} ISP tasks / SIer notices (mail kept in ${n.mailDir})`,
    'weeks (owners act on the lab devices; the centre re-checks the notified logins for real):',
    ...n.weeks.map((w) => `  week ${w.week}: ${w.ownerActions} owner actions, ${w.rescanned} logins re-checked, ${w.stillWeak} still weak, ${w.fixed} cases fixed, ${w.realerted} re-alerts (${(w.elapsedMs / 1000).toFixed(1)} s)`),
    `  escalation list: ${n.escalated} subscribers; ${n.openOtherKinds} cases of other kinds wait for a firmware re-check (the lab re-checks logins only)`,
    effectText(n.effect),
  ];
  return lines.join('\n');
}
