/**
 * `iotclean survey`: discovery and the stages after it in one streaming run, and the commands
 * that run one later stage alone on a stored survey (`grab`, `identify`) or show what it found
 * (`devices`).
 */
import { IotcleanError } from '../../core/errors.js';
import { parseIpv4 } from '../../core/ip.js';
import type { Endpoint, Identification } from '../../core/records.js';
import { planDigest, surveyPlanSchema, type SurveyPlan } from '../../discover/plan.js';
import { accessOptions, accessPlan, accessSummary } from '../access-report.js';
import { findRecogDir, loadIdentifier, type Identifier } from '../../pipeline/deps.js';
import { availableStages, isStageName, stageNames, stages, type StageName } from '../../pipeline/stages.js';
import { countDevicesByIsp, formatDeviceCounts, grabStoredSurvey, identifyStoredSurvey } from '../../pipeline/stored.js';
import { importZgrab2File } from '../../pipeline/zgrab2.js';
import { withStoredExclusions } from '../../pipeline/survey.js';
import type { Store } from '../../store/store.js';
import { defineCommand, type OptionSpec, type Output } from '../command.js';
import { resolvePlan, resolveScope, scopeOptions, stopOnSignal, storeOption, surveyIdOf, withStore } from '../context.js';
import { discoverOptions, runDiscoverCli } from './discover.js';

export const recogOption = {
  recog: { type: 'string', value: 'DIR', description: "Recog's xml/ folder to add its fingerprints (default: a copy found next to iotclean, if any)" },
} as const satisfies Record<string, OptionSpec>;

/** Parse --stages against the stage registry: known, built, in pipeline order, discover first. */
export function parseStages(text: string): StageName[] {
  const names = text.split(',').map((s) => s.trim()).filter((s) => s !== '');
  const hint = `stages are: ${stageNames.join(', ')}; available now: ${availableStages().join(', ')}`;
  for (const n of names) {
    if (!isStageName(n)) throw new IotcleanError('E_ARGS', `--stages: unknown stage "${n}"`, { hint });
    if (!stages[n].available) throw new IotcleanError('E_ARGS', `--stages: stage "${n}" (${stages[n].description}) is not available yet`, { hint });
  }
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup) throw new IotcleanError('E_ARGS', `--stages lists "${dup}" twice`, { hint });
  if (!names.includes('discover')) throw new IotcleanError('E_ARGS', `--stages must include discover (survey runs it first)`, { hint: 'to grab or identify a stored survey, use iotclean grab --survey ID or iotclean identify --survey ID' });
  if (names.includes('identify') && !names.includes('grab')) throw new IotcleanError('E_ARGS', '--stages: identify needs grab in the same run (it identifies what grab saw)', { hint: 'use --stages discover,grab,identify' });
  if (names.includes('access') && !names.includes('grab')) throw new IotcleanError('E_ARGS', '--stages: access needs grab in the same run (it checks the logins grab found)', { hint: 'use --stages discover,grab,identify,access, or iotclean access --survey ID on a grabbed survey' });
  if (names.includes('vuln') && !names.includes('identify')) throw new IotcleanError('E_ARGS', '--stages: vuln without identify: it matches the devices identify names', { hint: 'use --stages discover,grab,identify,vuln' });
  return stageNames.filter((n) => names.includes(n as StageName)) as StageName[];
}

/** The identify engine with iotclean's rules, plus Recog's from --recog or a copy found nearby. */
export async function identifierFor(recog: string | undefined, out: Output): Promise<Identifier> {
  const recogDir = recog ?? findRecogDir();
  const { identifier, report } = loadIdentifier(recogDir ? { recogDir } : {});
  const rules = report.sources.map((s) => `${s.rules} ${s.name}`).join(', ');
  out.info(`identify: ${rules} rules, ${report.catalogueEntries} catalogue models${recogDir ? ` (Recog from ${recogDir})` : ' (no Recog copy found; add one with --recog DIR)'}${report.warnings.length ? `; ${report.warnings.length} warnings (Recog patterns not converted)` : ''}`);
  return identifier;
}

/** Device counts per ISP and type for the report of a survey or an identify run. */
async function deviceReport(store: Store, surveyId: number, isps: Parameters<typeof countDevicesByIsp>[1]) {
  const rows = await countDevicesByIsp(store.identifications.hosts(surveyId), isps);
  return { text: formatDeviceCounts(rows), json: { devices: rows } };
}

export const surveyCommand = defineCommand({
  name: 'survey',
  description: 'Run a survey: discover, then grab and identify what it finds, each stage streaming into the next.',
  options: {
    ...discoverOptions,
    stages: { type: 'string', value: 'LIST', list: true, description: `comma-separated stages to run, in pipeline order (default: the plan's modules; available: ${availableStages().join(', ')})` },
    ...recogOption,
    ...accessOptions,
  },
  async run(o, _args, out) {
    const plan = await resolvePlan(o);
    const wanted = o.stages !== undefined ? parseStages(o.stages) : parseStages(plan.modules.join(','));
    const identifier = wanted.includes('identify') ? await identifierFor(o.recog, out) : undefined;
    const { stages: _s, recog: _r, dictionary: _d, sessions, pause: _p, ...discover } = o;
    const checks = wanted.includes('access');
    const report = async (store: Store, surveyId: number, isps: Parameters<typeof countDevicesByIsp>[1]) => {
      const devices = wanted.includes('identify') ? await deviceReport(store, surveyId, isps) : undefined;
      const access = checks ? await accessSummary(store, surveyId) : undefined;
      return { text: [devices?.text, access?.text].filter(Boolean).join('\n'), json: { ...devices?.json, ...access?.json } };
    };
    return runDiscoverCli(discover, out, {
      stages: wanted,
      ...(identifier ? { identifier } : {}),
      ...(checks ? { access: (p: SurveyPlan) => accessPlan(p, o) } : {}),
      ...(sessions !== undefined ? { accessSessions: sessions } : {}),
      ...(wanted.includes('identify') || checks ? { report } : {}),
    });
  },
});

export const grabCommand = defineCommand({
  name: 'grab',
  description: "Grab banners from a stored survey's endpoints (--survey ID), or import zgrab2 JSON lines as a new survey's observations (FILE --format zgrab2).",
  positionals: [{ name: 'file', description: 'zgrab2 output to import (with --format zgrab2)', optional: true }],
  options: {
    survey: { type: 'number', value: 'ID', integer: true, min: 1, description: 'grab this stored survey\'s endpoints' },
    format: { type: 'string', choices: ['zgrab2'], description: 'format of FILE' },
    port: { type: 'number', value: 'N', integer: true, min: 1, max: 65535, description: 'the port zgrab2 scanned (its output does not say; default: the protocol\'s port)' },
    again: { type: 'boolean', description: 'grab endpoints that already have observations too (default: skip them, so a rerun continues)', default: false },
    ...scopeOptions,
    plan: { type: 'string', value: 'FILE', description: 'plan giving each port\'s service and grab options (default: plans/default.yaml)' },
    ...storeOption,
  },
  async run(o, [file], out) {
    if ((file === undefined) === (o.survey === undefined)) {
      throw new IotcleanError('E_ARGS', file === undefined ? 'grab needs --survey ID or a FILE to import' : 'give either --survey ID or a FILE, not both', { hint: 'iotclean grab --survey 3, or iotclean grab scan.json --format zgrab2' });
    }
    const { scope, targets } = await resolveScope(o);
    const plan = await resolvePlan({ plan: o.plan });
    if (file !== undefined) {
      if (o.format === undefined) throw new IotcleanError('E_ARGS', `grab ${file}: say what it holds with --format zgrab2`, { hint: 'only zgrab2 JSON lines can be imported as observations' });
      const digest = planDigest(plan);
      const r = await withStore(o.db, async (store) => {
        await store.plans.save({ digest, version: plan.version, name: plan.name, body: plan });
        return importZgrab2File({ store, file, scope, targets, planDigest: digest, surveyTargets: o.targets !== undefined ? targets.ranges : [], ...(o.port !== undefined ? { port: o.port } : {}), onError: (e) => out.info(`skipped: ${e.format()}`) });
      });
      out.result(
        `imported ${r.observations} observations of ${r.endpoints} endpoints from ${file} (zgrab2) as survey ${r.surveyId}; ${r.errors} bad lines skipped, ${r.outsideScope} outside the scope${o.targets !== undefined ? `, ${r.outsideTargets} outside --targets` : ''}`,
        r,
      );
      return 0;
    }
    if (o.port !== undefined || o.format !== undefined) throw new IotcleanError('E_ARGS', '--format and --port are for importing a FILE', { hint: 'leave them out with --survey' });
    const stop = stopOnSignal();
    try {
      return await withStore(o.db, async (store) => {
        const surveyId = await surveyIdOf(store, o.survey);
        // The stored plan gives the ports' services (a lab survey's ports are mapped); --plan overrides.
        const stored = o.plan ? undefined : surveyPlanSchema.safeParse(await store.plans.get((await store.surveys.get(surveyId))!.planDigest));
        const used = stored?.success ? stored.data : plan;
        // Grabbing probes too: with governance on, under an approved plan only.
        await store.planApprovals.assertApproved({ digest: stored?.success ? (await store.surveys.get(surveyId))!.planDigest : planDigest(used), version: used.version, name: used.name });
        out.info(`grabbing survey ${surveyId} (${await store.endpoints.count(surveyId)} endpoints, ${used.grab.concurrency} at once) ...`);
        const r = await grabStoredSurvey({ store, surveyId, scope: await withStoredExclusions(store, scope), plan: used, again: o.again, signal: stop.signal, onError: (f) => out.info(`grab ${f.item}: ${f.error instanceof Error ? f.error.message : String(f.error)}`) });
        const result = { surveyId, endpoints: r.counts.in, observations: r.counts.out, failed: r.counts.failed, skipped: r.skipped, interrupted: stop.signal.aborted };
        out.result(`survey ${surveyId}: grabbed ${result.endpoints} endpoints, ${result.observations} observations, ${result.failed} failed, ${result.skipped} already grabbed${result.interrupted ? ' (interrupted)' : ''}`, result);
        return stop.signal.aborted ? 130 : 0;
      });
    } finally {
      stop.done();
    }
  },
});

export const identifyCommand = defineCommand({
  name: 'identify',
  description: "Identify the devices behind a stored survey's observations (again, replacing earlier results).",
  options: {
    survey: { type: 'number', value: 'ID', integer: true, min: 1, description: 'survey id (default: the latest)' },
    ...recogOption,
    ...storeOption,
  },
  async run(o, _args, out) {
    const identifier = await identifierFor(o.recog, out);
    return withStore(o.db, async (store) => {
      const surveyId = await surveyIdOf(store, o.survey);
      const r = await identifyStoredSurvey({ store, surveyId, identifier, onError: (f) => out.info(`identify ${f.item}: ${f.error instanceof Error ? f.error.message : String(f.error)}`) });
      const report = await deviceReport(store, surveyId, undefined);
      out.result(`survey ${surveyId}: identified ${r.endpoints} endpoints on ${r.hosts} hosts, ${r.failed} failed\n${report.text}`, { surveyId, ...r, ...report.json });
      return 0;
    });
  },
});

/** One line of `devices`: the endpoint and who is behind it; null where unknown. */
export interface DeviceRow {
  readonly ip: string;
  readonly port: number;
  readonly protocol: string | null;
  readonly type: string | null;
  readonly vendor: string | null;
  readonly product: string | null;
  readonly version: string | null;
  readonly cpe: readonly string[];
  readonly confidence: number;
  readonly rule: string | null;
  readonly releaseYear: number | null;
  readonly endOfLife: string | null;
  readonly surveyId: number | null;
  readonly endpointId: number | null;
}

export function deviceRow(r: Identification): DeviceRow {
  return {
    ip: r.ip,
    port: r.port!,
    protocol: r.protocol,
    type: r.type,
    vendor: r.vendor,
    product: r.product,
    version: r.version,
    cpe: r.cpe,
    confidence: r.confidence,
    rule: r.rule,
    releaseYear: r.catalogue?.releaseYear ?? null,
    endOfLife: r.catalogue?.endOfLife ?? null,
    surveyId: r.surveyId,
    endpointId: r.endpointId,
  };
}

/** The row of an endpoint nothing identified (not grabbed yet, or its grab failed). */
function unknownRow(e: Endpoint, surveyId: number): DeviceRow {
  return { ip: e.ip, port: e.port, protocol: null, type: null, vendor: null, product: null, version: null, cpe: [], confidence: 0, rule: null, releaseYear: null, endOfLife: null, surveyId, endpointId: e.id ?? null };
}

/**
 * Every endpoint of a survey with its identification, streamed: endpoints and endpoint-level
 * identifications are both read by address, so one pass over each joins them host by host.
 */
export async function* devicesOf(store: Store, surveyId: number): AsyncGenerator<DeviceRow> {
  const ids = store.identifications.list(surveyId)[Symbol.asyncIterator]();
  let next = await ids.next();
  const num = (ip: string) => parseIpv4(ip)!;
  let hostAt = -1;
  let hostRows = new Map<number, Identification>();
  for await (const e of store.endpoints.list(surveyId)) {
    const at = num(e.ip);
    if (at !== hostAt) {
      // A new address: skip rows of addresses before it, then take this address's rows.
      while (!next.done && num(next.value.ip) < at) next = await ids.next();
      hostRows = new Map();
      while (!next.done && num(next.value.ip) === at) {
        if (next.value.port !== null) hostRows.set(next.value.port, next.value);
        next = await ids.next();
      }
      hostAt = at;
    }
    const found = hostRows.get(e.port);
    yield found ? deviceRow(found) : unknownRow(e, surveyId);
  }
}

/** A table cell: device text is shown escaped, never as terminal control characters. */
const cell = (v: string | null, width: number) => JSON.stringify(v ?? '-').slice(1, -1).slice(0, width).padEnd(width);

export const devicesCommand = defineCommand({
  name: 'devices',
  description: 'Print who is behind each endpoint of a survey (default: the latest), one row per endpoint.',
  options: {
    survey: { type: 'number', value: 'ID', integer: true, min: 1, description: 'survey id' },
    ...storeOption,
  },
  async run(o, _args, out) {
    await withStore(o.db, async (store) => {
      const surveyId = await surveyIdOf(store, o.survey);
      const rows = devicesOf(store, surveyId);
      // Streamed page by page, like endpoints.
      await out.stream(rows, (d) => `${`${d.ip}:${d.port}`.padEnd(21)} ${cell(d.protocol, 7)} ${cell(d.type, 12)} ${cell(d.vendor, 14)} ${cell(d.product, 24)} ${cell(d.version, 12)} ${d.confidence.toFixed(2)}  ${d.rule ?? '-'}`);
    }, { readOnly: true });
  },
});
