/**
 * `iotclean access`: the weak ID/password check alone, on a stored survey (`--survey ID`: what
 * its grab and identify stages stored) or on fresh targets (`--targets R --ports P`: a survey
 * with discover, grab, identify and access). With --json, one JSON object per line per service
 * (ip, port, protocol, verdict, entry, username, ...): the dictionary entry id, never a password.
 */
import { IotcleanError } from '../../core/errors.js';
import { planDigest, surveyPlanSchema } from '../../discover/plan.js';
import { accessStage, storedAccessHosts } from '../../pipeline/access-stage.js';
import { withStoredExclusions } from '../../pipeline/survey.js';
import { accessLine, accessOptions, accessPlan, accessSummary, rowsOf } from '../access-report.js';
import { defineCommand, type OptionSpec, type Output, type ParsedOptions } from '../command.js';
import { resolvePlan, resolveScope, stopOnSignal, surveyIdOf, withStore } from '../context.js';
import { discoverOptions, runDiscoverCli } from './discover.js';
import { identifierFor, recogOption } from './survey.js';

const accessCommandOptions = {
  survey: { type: 'number', value: 'ID', integer: true, min: 1, description: 'check this stored survey (grab must have run on it)' },
  again: { type: 'boolean', description: 'check services that already have a result too (default: skip them, so a rerun continues)', default: false },
  ...accessOptions,
  ...recogOption,
  ...discoverOptions,
} as const satisfies Record<string, OptionSpec>;

type AccessCommandOptions = ParsedOptions<typeof accessCommandOptions>;

export const accessCommand = defineCommand({
  name: 'access',
  description: 'Check for weak ID/passwords: on a stored survey (--survey ID, default the latest), or on --targets and --ports (discovered, grabbed and identified first).',
  options: accessCommandOptions,
  async run(o, _args, out): Promise<number> {
    if (o.survey !== undefined && (o.targets !== undefined || o.ports !== undefined || o.lab !== undefined)) {
      throw new IotcleanError('E_ARGS', 'give either --survey ID or --targets/--ports/--lab, not both', { hint: 'iotclean access --survey 3, or iotclean access --targets 127.0.0.5 --ports 23,80' });
    }
    if (o.survey === undefined && (o.targets !== undefined || o.lab !== undefined)) return accessNew(o, out);
    const { scope } = await resolveScope(o);
    const stop = stopOnSignal();
    try {
      return await withStore(o.db, async (store) => {
        const surveyId = await surveyIdOf(store, o.survey);
        const stored = surveyPlanSchema.safeParse(await store.plans.get((await store.surveys.get(surveyId))!.planDigest));
        const base = o.plan || !stored.success ? await resolvePlan({ plan: o.plan }) : stored.data;
        const { plan, dictionary } = await accessPlan(base, o);
        const digest = planDigest(plan);
        await store.planApprovals.assertApproved({ digest, version: plan.version, name: plan.name });
        await store.plans.save({ digest, version: plan.version, name: plan.name, body: plan });
        out.info(`checking survey ${surveyId} with ${dictionary.name} ${dictionary.version} (${dictionary.entries.length} pairs), ${plan.access!.concurrency} hosts at once ...`);
        const outcome = await accessStage(storedAccessHosts(store, surveyId), {
          store,
          surveyId,
          scope: await withStoredExclusions(store, scope),
          access: plan.access!,
          dictionary,
          planDigest: digest,
          planVersion: plan.version,
          again: o.again,
          ...(o.sessions !== undefined ? { sessions: o.sessions } : {}),
          signal: stop.signal,
          onError: (f) => out.info(`access ${f.item}: ${f.error instanceof Error ? f.error.message : String(f.error)}`),
        });
        out.info(`survey ${surveyId}: ${outcome.services} services on ${outcome.hosts} hosts checked now, ${outcome.failed} hosts failed${stop.signal.aborted ? ' (interrupted)' : ''}; ${(await accessSummary(store, surveyId)).text}`);
        // Every result of the survey, those of earlier runs included: what a script reads.
        await out.stream(rowsOf(store.access.list(surveyId)), accessLine, { jsonLines: true });
        return stop.signal.aborted ? 130 : 0;
      });
    } finally {
      stop.done();
    }
  },
});

/** --targets/--lab: a new survey running discover, grab, identify and access, then its results. */
async function accessNew(o: AccessCommandOptions, out: Output): Promise<number> {
  const { survey: _s, again: _a, dictionary: _d, sessions, pause: _p, recog, ...discover } = o;
  const identifier = await identifierFor(recog, out);
  let surveyId: number | undefined;
  // The survey's own report goes to stderr as notes; stdout carries only the access results.
  const quiet: Output = { json: out.json, info: (t) => out.info(t), result: (t) => out.info(t), stream: (rows, line, opts) => out.stream(rows, line, opts) };
  const code = await runDiscoverCli(discover, quiet, {
    stages: ['discover', 'grab', 'identify', 'access'],
    identifier,
    access: (plan) => accessPlan(plan, o),
    ...(sessions !== undefined ? { accessSessions: sessions } : {}),
    report: async (store, id) => {
      surveyId = id;
      return accessSummary(store, id);
    },
  });
  if (surveyId !== undefined) await withStore(o.db, (store) => out.stream(rowsOf(store.access.list(surveyId!)), accessLine, { jsonLines: true }), { readOnly: true });
  return code;
}
