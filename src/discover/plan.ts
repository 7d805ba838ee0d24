/**
 * Survey plans: which TCP ports to survey, why, and at what pace. A plan is a versioned YAML file
 * (plans/default.yaml is the default); every result records the plan version and digest it ran
 * under, so a finding can always be traced back to the exact plan.
 *
 * Parsing is strict on purpose: unknown keys, duplicate ports and bad values are refused with the
 * file and line of the offending node, because a plan typo that silently drops a port would make a
 * survey miss devices without anyone noticing.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LineCounter, isAlias, isMap, parseDocument, visit } from 'yaml';
import type { Document, Node as YamlNode } from 'yaml';
import * as z from 'zod';
import { canonicalJson } from '../core/canonical-json.js';
import { IotcleanError } from '../core/errors.js';
import { readInputFile } from '../core/files.js';
import type { PlanPort } from '../core/records.js';
import { builtInDictionaries, isBuiltInDictionary } from '../access/dictionary/dictionary.js';
import { loadPlanDictionary } from '../access/dictionary/plan-dictionary.js';
import { isServiceName, serviceNames } from '../pipeline/services.js';
import { availableStages, isStageName, stageNames, stages, type StageName } from '../pipeline/stages.js';

/**
 * Well-known service names a plan may use instead of a port number (`port: telnet`). Names follow
 * IANA / nmap where one exists; the list is short on purpose so a name always means one port.
 */
export const wellKnownPorts: Readonly<Record<string, number>> = Object.freeze({
  ftp: 21,
  ssh: 22,
  telnet: 23,
  http: 80,
  https: 443,
  rtsp: 554,
  'telnet-alt': 2323,
  'ssh-alt': 2222,
  adb: 5555,
  cwmp: 7547,
  'http-alt': 8080,
  winbox: 8291,
  'https-alt': 8443,
  'xm-dvr': 34567,
  'dahua-dvr': 37777,
  upnp: 49152,
  mqtt: 1883,
});

/**
 * A stage name from the stage registry (src/pipeline/stages.ts). Unknown names and stages that
 * are not built yet are both refused: a plan asking for `grab` must not silently only discover.
 */
const stageName = z.string({ error: 'must be a stage name' }).transform((m, ctx): StageName => {
  if (!isStageName(m)) {
    ctx.addIssue({ code: 'custom', message: `unknown stage "${m}"`, params: { hint: `stages are: ${stageNames.join(', ')}` } });
    return z.NEVER;
  }
  if (!stages[m].available) {
    ctx.addIssue({
      code: 'custom',
      message: `stage "${m}" (${stages[m].description}) is not available yet in this version of iotclean`,
      params: { hint: `available now: ${availableStages().join(', ')}; remove "${m}" from modules` },
    });
    return z.NEVER;
  }
  return m;
});

/** A service name from the service registry (src/pipeline/services.ts): what the port speaks. */
const serviceName = z.string({ error: 'must be text' }).superRefine((name, ctx) => {
  if (!isServiceName(name)) {
    ctx.addIssue({ code: 'custom', message: `unknown service "${name}"`, params: { hint: `use one of: ${serviceNames.join(', ')} (add new ones in src/pipeline/services.ts)` } });
  }
});

/** The service a port named in the plan speaks: the name itself, or its base for the "-alt" names. */
function serviceOfPortName(name: string): string {
  return name.replace(/-alt$/, '');
}

/** The service a port is expected to speak when only its number is known (e.g. --ports 8080). */
export function serviceOfPort(port: number): string {
  const name = Object.keys(wellKnownPorts).find((n) => wellKnownPorts[n] === port);
  const service = name === undefined ? undefined : serviceOfPortName(name);
  return service !== undefined && isServiceName(service) ? service : 'unknown';
}

const portNumber = z
  .number()
  .int({ error: 'must be a whole number' })
  .min(1, { error: 'must be in 1..65535' })
  .max(65535, { error: 'must be in 1..65535' });

/** `port: 23` or `port: telnet`; names are resolved once the whole entry is known. */
const portSpec = z.union([z.number(), z.string()], { error: 'must be a port number or a service name' });

const oneLine = z
  .string({ error: 'must be text' })
  .trim()
  .min(1, { error: 'must not be empty' })
  .refine((s) => !/[\r\n]/.test(s), { error: 'must be one line' });

const planPortShape = {
  port: portSpec,
  // Optional only when the port is given by name: the name is then the service.
  service: oneLine.pipe(serviceName).optional(),
  reason: oneLine,
};

const planPort = z.strictObject(planPortShape, { error: 'must be a mapping {port, service, reason}' }).transform((p, ctx): PlanPort => {
  if (typeof p.port === 'number') {
    // Checked here rather than in the union, whose error would hide which rule the number broke.
    const n = portNumber.safeParse(p.port);
    if (!n.success) {
      ctx.addIssue({ code: 'custom', message: `${n.error.issues[0]?.message ?? 'is not a port'} (got ${p.port})`, path: ['port'] });
      return z.NEVER;
    }
    if (p.service !== undefined) return { port: n.data, service: p.service, reason: p.reason };
    ctx.addIssue({ code: 'custom', message: 'is required when port is a number', path: ['service'] });
    return z.NEVER;
  }
  const name = p.port;
  const port = Object.hasOwn(wellKnownPorts, name) ? wellKnownPorts[name] : undefined;
  if (port === undefined) {
    ctx.addIssue({
      code: 'custom',
      message: `unknown port name "${name}"`,
      path: ['port'],
      params: { hint: `use a number, or one of: ${Object.keys(wellKnownPorts).join(', ')}` },
    });
    return z.NEVER;
  }
  return { port, service: p.service ?? serviceOfPortName(name), reason: p.reason };
});

const positiveInt = z.number({ error: 'must be a number' }).int({ error: 'must be a whole number' }).positive({ error: 'must be > 0' });

/** How the grab stage runs: endpoints grabbed at once, and observations written per transaction. */
const grabShape = {
  concurrency: positiveInt.max(4096, { error: 'must be <= 4096' }).default(64),
  batchSize: positiveInt.max(10000, { error: 'must be <= 10000' }).default(200),
};
const grabOptions = z.strictObject(grabShape, { error: 'must be a mapping {concurrency, batchSize}' }).readonly();

const nonNegativeInt = z.number({ error: 'must be a number' }).int({ error: 'must be a whole number' }).min(0, { error: 'must be >= 0' });

/**
 * How the access stage (weak ID/password checks, issue 7) runs. One session at a time per host and
 * stop-at-first-success are not settings: they are what keeps the check polite.
 */
const accessShape = {
  // "default" names the built-in list; anything else is a .yaml file relative to the plan file.
  dictionary: oneLine
    .refine((d) => isBuiltInDictionary(d) || /\.ya?ml$/i.test(d), {
      error: `must be a built-in list (${builtInDictionaries.join(', ')}) or a path to a .yaml file`,
    })
    .default('default'),
  // Pins the list: loading refuses a list with another digest. loadPlan fills it in when absent,
  // so the plan digest (which every result records) covers the list's content.
  dictionaryDigest: z.string({ error: 'must be text' }).regex(/^[0-9a-f]{64}$/, { error: 'must be a sha256 in lower-case hex (64 characters)' }).optional(),
  pauseMs: nonNegativeInt.max(600_000, { error: 'must be <= 600000 (10 minutes)' }).default(200),
  maxAttemptsPerHost: positiveInt.max(10_000, { error: 'must be <= 10000' }).default(3000),
  concurrency: positiveInt.max(4096, { error: 'must be <= 4096' }).default(64),
  lockoutBackoffMs: nonNegativeInt.max(86_400_000, { error: 'must be <= 86400000 (a day)' }).default(300_000),
};
const accessOptions = z
  .strictObject(accessShape, { error: 'must be a mapping {dictionary, pauseMs, maxAttemptsPerHost, concurrency, lockoutBackoffMs}' })
  .readonly();

/** The access block of a plan (with defaults filled in). */
export type PlanAccess = z.output<typeof accessOptions>;

/** What a plan without an access block checks with: the built-in list and the defaults above. */
export const defaultPlanAccess: PlanAccess = Object.freeze(accessOptions.parse({}));

const planShape = {
  version: z
    .string({ error: 'must be text; quote it, e.g. version: "2026.11-1"' })
    .regex(/^[0-9A-Za-z][0-9A-Za-z._-]*$/, { error: 'may hold only letters, digits, ".", "_" and "-"' }),
  name: oneLine,
  description: z.string({ error: 'must be text' }).default(''),
  rate: z.number({ error: 'must be a number (probes per second)' }).positive({ error: 'must be > 0 probes per second' }).default(20000),
  concurrency: positiveInt.default(1024),
  timeoutMs: positiveInt.default(3000),
  retries: z
    .number({ error: 'must be a number' })
    .int({ error: 'must be a whole number' })
    .min(0, { error: 'must be >= 0' })
    .max(10, { error: 'must be <= 10' })
    .default(1),
  grab: grabOptions.default({ concurrency: 64, batchSize: 200 }),
  access: accessOptions.optional(),
  modules: z
    .array(stageName, { error: 'must be a list of stage names' })
    .min(1, { error: 'must not be empty' })
    .default(['discover'])
    .superRefine((mods, ctx) => {
      mods.forEach((m, i) => {
        if (mods.indexOf(m) !== i) ctx.addIssue({ code: 'custom', message: `module "${m}" is listed twice`, path: [i] });
      });
    })
    .readonly(),
  ports: z
    .array(planPort, { error: 'must be a list of {port, service, reason}' })
    .min(1, { error: 'must not be empty: a plan with no ports surveys nothing' })
    .superRefine((ports, ctx) => {
      const first = new Map<number, number>();
      ports.forEach((p, i) => {
        const prev = first.get(p.port);
        if (prev === undefined) first.set(p.port, i);
        else ctx.addIssue({ code: 'custom', message: `duplicate port ${p.port} (also ports[${prev}])`, path: [i, 'port'] });
      });
    })
    .readonly(),
};

/** The plan file schema. Unknown keys are refused at every level. */
export const surveyPlanSchema = z.strictObject(planShape).readonly();

/** A validated survey plan. */
export type SurveyPlan = z.output<typeof surveyPlanSchema>;

/** Parse and validate plan text; `fileName` is only used in error messages. */
export function parsePlan(text: string, fileName: string): SurveyPlan {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const lineAt = (offset: number): number => lineCounter.linePos(offset).line;
  const fail = (message: string, line: number, hint?: string): never => {
    throw new IotcleanError('E_PLAN_FILE', message, { file: fileName, line, ...(hint ? { hint } : {}) });
  };

  const syntax = doc.errors[0];
  if (syntax) fail(`YAML syntax: ${syntax.message.split('\n')[0]?.replace(/ at line \d+, column \d+:?$/, '')}`, lineAt(syntax.pos[0]));
  if (doc.contents === null) fail('plan file is empty', 1, 'start from plans/default.yaml');
  if (!isMap(doc.contents)) fail('a plan must be a mapping of keys (version, name, ports, ...)', nodeLine(doc.contents, lineAt) ?? 1);

  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: 100 });
  } catch (e) {
    // Unresolvable aliases and alias bombs surface only here.
    fail(`YAML: ${(e as Error).message}`, firstAliasLine(doc, lineAt) ?? 1);
  }

  const result = surveyPlanSchema.safeParse(raw);
  if (result.success) return result.data;

  // Report the problem nearest the top of the file: that is the one the user meets first.
  const located = result.error.issues.map((issue) => ({ issue, ...locateIssue(doc, issue, lineAt) }));
  located.sort((a, b) => a.line - b.line);
  const worst = located[0];
  if (!worst) return fail('plan is invalid', 1);
  const more = located.length > 1 ? `${located.length - 1} more problem(s) after this one` : undefined;
  const ownHint = (worst.issue as { params?: { hint?: string } }).params?.hint;
  return fail(worst.message, worst.line, [ownHint, more].filter(Boolean).join('; ') || undefined);
}

/**
 * Read and parse a plan file. A plan with an access block also has its dictionary loaded (paths
 * relative to the plan file), checked against a pinned digest, and its digest filled in.
 */
export async function loadPlan(path: string): Promise<SurveyPlan> {
  const text = await readInputFile(path, {
    code: 'E_PLAN_FILE',
    name: 'plan file',
    hint: 'check the path; the default plan is plans/default.yaml in the iotclean package',
  });
  return bindPlanDictionary(parsePlan(text, path), path);
}

/** The plan with access.dictionaryDigest set from its dictionary (checked when pinned). */
export async function bindPlanDictionary(plan: SurveyPlan, planFile?: string): Promise<SurveyPlan> {
  if (plan.access === undefined) return plan;
  const dict = await loadPlanDictionary(plan.access, planFile);
  return Object.freeze({ ...plan, access: Object.freeze({ ...plan.access, dictionaryDigest: dict.digest }) });
}

let packageRootCache: string | undefined;

/**
 * plans/default.yaml inside the iotclean package. Found by walking up from this module to the
 * folder holding package.json, so it works from src/ (tsx, vitest) and from dist/src/ (tsc).
 */
export function defaultPlanPath(): string {
  if (packageRootCache === undefined) {
    let dir = dirname(fileURLToPath(import.meta.url));
    for (;;) {
      if (existsSync(join(dir, 'package.json'))) break;
      const parent = dirname(dir);
      if (parent === dir) throw new IotcleanError('E_PLAN_FILE', 'cannot find the iotclean package root (no package.json above this module)');
      dir = parent;
    }
    packageRootCache = dir;
  }
  return join(packageRootCache, 'plans', 'default.yaml');
}

/** Load plans/default.yaml. */
export function loadDefaultPlan(): Promise<SurveyPlan> {
  return loadPlan(defaultPlanPath());
}

/**
 * A copy of the plan with ports renumbered through `map` (ports not in the map stay). The lab uses
 * this to run device ports on high ports without root; services and reasons are kept, so later
 * stages still know port 10023 speaks telnet.
 */
export function withPortMap(plan: SurveyPlan, map: ReadonlyMap<number, number>): SurveyPlan {
  const seen = new Map<number, number>();
  const ports = plan.ports.map((p): PlanPort => {
    const to = map.get(p.port) ?? p.port;
    if (!Number.isInteger(to) || to < 1 || to > 65535) {
      throw new IotcleanError('E_PLAN_FILE', `port map sends ${p.port} to ${to}, outside 1..65535`);
    }
    const clash = seen.get(to);
    if (clash !== undefined) {
      throw new IotcleanError('E_PLAN_FILE', `port map sends both ${clash} and ${p.port} to ${to}`, {
        hint: 'map each plan port to a different port',
      });
    }
    seen.set(to, p.port);
    return Object.freeze({ port: to, service: p.service, reason: p.reason });
  });
  return Object.freeze({ ...plan, ports: Object.freeze(ports) });
}

/**
 * sha256 (hex) of the plan's canonical JSON: keys sorted, no whitespace. Two plans with the same
 * content have the same digest however their YAML was written (order of keys, names vs numbers).
 */
export function planDigest(plan: SurveyPlan): string {
  return createHash('sha256').update(canonicalJson(plan)).digest('hex');
}

// --- locating zod issues in the YAML source ----------------------------------------------------

type LineAt = (offset: number) => number;

function nodeLine(node: unknown, lineAt: LineAt): number | undefined {
  const range = (node as { range?: readonly number[] } | null | undefined)?.range;
  return range?.[0] === undefined ? undefined : lineAt(range[0]);
}

/** The deepest node on `path` that exists, with how much of the path it covers. */
function deepestNode(doc: Document, path: readonly PropertyKey[]): { node: unknown; depth: number } {
  for (let depth = path.length; depth >= 0; depth--) {
    const node = depth === 0 ? doc.contents : doc.getIn(path.slice(0, depth) as (string | number)[], true);
    if (node !== undefined && node !== null) return { node, depth };
  }
  return { node: doc.contents, depth: 0 };
}

function keyNode(map: unknown, key: string): YamlNode | undefined {
  if (!isMap(map)) return undefined;
  for (const pair of map.items) {
    const k = pair.key as { value?: unknown } | null;
    if (k && String(k.value) === key) return pair.key as YamlNode;
  }
  return undefined;
}

function describePath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : `${out ? '.' : ''}${String(p)}`;
  return out;
}

function locateIssue(doc: Document, issue: z.core.$ZodIssue, lineAt: LineAt): { line: number; message: string } {
  const path = issue.path;
  const where = describePath(path);
  if (issue.code === 'unrecognized_keys') {
    const parent = deepestNode(doc, path).node;
    const key = issue.keys[0] ?? '';
    const line = nodeLine(keyNode(parent, key), lineAt) ?? nodeLine(parent, lineAt) ?? 1;
    const known = allowedKeys(path);
    const names = issue.keys.map((k) => `"${k}"`).join(', ');
    return {
      line,
      message: `unknown key${issue.keys.length > 1 ? 's' : ''} ${names}${where ? ` in ${where}` : ''}${known ? ` (allowed: ${known})` : ''}`,
    };
  }
  const { node, depth } = deepestNode(doc, path);
  if (depth < path.length) {
    // The value is missing: point at the mapping that should have held it.
    return { line: nodeLine(node, lineAt) ?? 1, message: `${where}: ${issue.code === 'invalid_type' ? 'is required' : issue.message}` };
  }
  // Custom messages already name the value they refuse.
  const got = issue.code === 'custom' ? '' : shownValue(node);
  return { line: nodeLine(node, lineAt) ?? 1, message: `${where}: ${issue.message}${got}` };
}

/** " (got 0)" for a scalar, so the user sees the value that was refused. */
function shownValue(node: unknown): string {
  const v = (node as { value?: unknown } | null)?.value;
  if (v === undefined || (typeof v === 'object' && v !== null)) return '';
  const s = JSON.stringify(v);
  return s.length > 40 ? '' : ` (got ${s})`;
}

function allowedKeys(path: readonly PropertyKey[]): string | undefined {
  if (path.length === 0) return Object.keys(planShape).join(', ');
  if (path[0] === 'ports' && path.length === 2) return Object.keys(planPortShape).join(', ');
  if (path[0] === 'grab' && path.length === 1) return Object.keys(grabShape).join(', ');
  if (path[0] === 'access' && path.length === 1) return Object.keys(accessShape).join(', ');
  return undefined;
}

function firstAliasLine(doc: Document, lineAt: LineAt): number | undefined {
  let line: number | undefined;
  visit(doc, {
    Alias(_key, node) {
      if (isAlias(node) && line === undefined) line = nodeLine(node, lineAt);
    },
  });
  return line;
}
