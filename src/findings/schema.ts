/**
 * The finding schema, written once as data (IntelMQ's harmonization.conf idea): a table of named
 * value types, a table of the record's fields (key, type, description) and, per finding kind, a
 * table of its `details` keys. The zod validator and the documentation page (docs/findings.md,
 * kept up to date by a test) are both made from these tables, so they cannot drift.
 *
 * Validation is strict: an unknown key or a bad value is refused with the field named, and a key
 * that looks like a password (anywhere in the record, `details.extra` included) is refused
 * outright: findings cite the dictionary entry id, never the secret. Text from devices (vendor,
 * model, titles) is bounded but kept as written: NUL, lone surrogates, HTML or `=cmd|` are data,
 * never interpreted here (CSV and HTML outputs escape for their own medium).
 */
import * as z from 'zod';
import { IotcleanError } from '../core/errors.js';
import { parseIpv4 } from '../core/ip.js';
import { accessProtocols, deviceTypes, findingKinds, holdReasons, severities, vulnStatuses, type Finding, type FindingKind } from '../core/records.js';
import { maxTextChars } from '../core/schemas.js';

/** A named value type: what the docs call it, what it accepts, and the validator. */
export interface ValueType {
  readonly name: string;
  readonly description: string;
  readonly schema: z.ZodType;
}

/** One field of the record (or of one kind's `details`). */
export interface FieldSpec {
  readonly key: string;
  /** A key of `valueTypes`. */
  readonly type: ValueTypeName;
  readonly description: string;
  /** May be absent (only `id`, and `details.extra`). */
  readonly optional?: boolean;
}

/** Most evidence references one finding keeps; merging stops adding beyond this (first ones kept). */
export const maxEvidence = 256;
/** Most CVEs one firmware-vulnerability finding lists. */
export const maxCves = 1024;
/** Largest `details.extra` JSON, in characters. */
export const maxExtraChars = 8192;

const text = z.string().max(maxTextChars);
const count = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const port = z.number().int().min(1).max(65535);
const probability = z.number().min(0).max(1);
const utcTime = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$/, { error: 'must be an ISO 8601 UTC time ending in Z' })
  .refine((s) => !Number.isNaN(Date.parse(s)), { error: 'must be a real date and time' });
const day = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, { error: 'must be a date YYYY-MM-DD' })
  .refine((s) => !Number.isNaN(Date.parse(`${s}T00:00:00Z`)) && new Date(`${s}T00:00:00Z`).toISOString().startsWith(s), { error: 'must be a real date' });
const ispId = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, { error: 'must be an ISP id from the prefix table' });

/** Key names that would carry a secret; refused anywhere in a finding. */
const passwordLike = /pass(word|wd|phrase|code)?|pwd|secret|credential_?value|private_?key/i;

/** Deepest nesting `details.extra` may have. */
export const maxExtraDepth = 8;

function depthOf(v: unknown, depth = 0): number {
  if (v === null || typeof v !== 'object' || depth > maxExtraDepth) return depth;
  let deepest = depth;
  for (const x of Object.values(v as Record<string, unknown>)) deepest = Math.max(deepest, depthOf(x, depth + 1));
  return deepest;
}

/** JSON, bounded, no password-like key at any depth (checked separately, see checkPasswords). */
const extra = z.record(z.string().max(64), z.unknown()).superRefine((v, ctx) => {
  let json: string | undefined;
  try {
    json = JSON.stringify(v);
  } catch {
    json = undefined;
  }
  // Bounded depth, so the password-key walk (depth 32) always sees every key.
  if (depthOf(v) > maxExtraDepth) ctx.addIssue({ code: 'custom', message: `nests deeper than ${maxExtraDepth} levels` });
  else if (json === undefined) ctx.addIssue({ code: 'custom', message: 'must be JSON-serialisable' });
  else if (json.length > maxExtraChars) ctx.addIssue({ code: 'custom', message: `is ${json.length} characters of JSON, more than ${maxExtraChars}` });
});

const cve = z.strictObject({
  cve: z.string().regex(/^CVE-\d{4}-\d{4,7}$/, { error: 'must be a CVE id such as CVE-2023-1389' }),
  status: z.enum(vulnStatuses),
  kev: z.boolean(),
  epss: probability.nullable(),
  cvss: z.number().min(0).max(10).nullable(),
  level: z.enum(severities),
});

/** The value types, by name. Each field below names one. */
export const valueTypes = {
  FindingKind: { name: 'FindingKind', description: `one of ${findingKinds.join(', ')}`, schema: z.enum(findingKinds) },
  Id: { name: 'Id', description: 'a positive integer store id', schema: z.number().int().positive() },
  IPv4: { name: 'IPv4', description: 'a dotted-quad IPv4 address', schema: z.string().refine((s) => parseIpv4(s) !== undefined, { error: 'must be a dotted-quad IPv4 address' }) },
  Port: { name: 'Port', description: 'a TCP/UDP port 1..65535, or null for a host-level finding', schema: port.nullable() },
  Protocol: {
    name: 'Protocol',
    description: 'a lower-case protocol or auth type name (telnet, ssh, http-basic, ...) of at most 64 characters, or null',
    schema: z.string().min(1).max(64).regex(/^[a-z0-9][a-z0-9_.-]*$/, { error: 'must be a lower-case protocol name' }).nullable(),
  },
  UtcTime: { name: 'UtcTime', description: 'ISO 8601 UTC time ending in Z, e.g. 2026-12-01T03:04:05.000Z', schema: utcTime },
  Period: { name: 'Period', description: 'YYYY-MM (survey kinds: UTC month of observedAt) or YYYY-MM-DD (darknet and flow kinds: UTC day)', schema: z.string().regex(/^\d{4}-\d{2}(-\d{2})?$/, { error: 'must be YYYY-MM or YYYY-MM-DD' }) },
  Device: {
    name: 'Device',
    description: `{ type: one of ${deviceTypes.join(', ')} or null; vendor, model, firmware: Text or null } as identified`,
    schema: z.strictObject({ type: z.enum(deviceTypes).nullable(), vendor: text.nullable(), model: text.nullable(), firmware: text.nullable() }),
  },
  Severity: { name: 'Severity', description: `one of ${severities.join(', ')} (most urgent first)`, schema: z.enum(severities) },
  Details: { name: 'Details', description: "an object whose keys depend on the finding's kind (tables below)", schema: z.record(z.string(), z.unknown()) },
  Evidence: {
    name: 'Evidence',
    description: `1..${maxEvidence} references { record: observation | identification | access-result | vulnerability-match | infection | c2-candidate, id: store id or a stable key of at most 256 characters }`,
    schema: z
      .array(
        z.strictObject({
          record: z.enum(['observation', 'identification', 'access-result', 'vulnerability-match', 'infection', 'c2-candidate']),
          id: z.union([z.number().int().positive(), z.string().min(1).max(256)]),
        }),
      )
      .min(1, { error: 'must cite at least one record' })
      .max(maxEvidence),
  },
  Text: { name: 'Text', description: `a string of at most ${maxTextChars} UTF-16 units, kept as written (device text included)`, schema: text },
  NullableText: { name: 'NullableText', description: 'Text or null', schema: text.nullable() },
  NullableId: { name: 'NullableId', description: 'Id or null', schema: z.number().int().positive().nullable() },
  IspId: { name: 'IspId', description: 'an isp_id of the prefix table, or null', schema: ispId.nullable() },
  HoldReason: { name: 'HoldReason', description: `one of ${holdReasons.join(', ')}, or null when the finding is sent`, schema: z.enum(holdReasons).nullable() },
  DictionaryEntry: {
    name: 'DictionaryEntry',
    description: 'the id of the ID/password dictionary entry that logged in (never the password)',
    schema: z.string().min(1).max(128).regex(/^[A-Za-z0-9][A-Za-z0-9_.:-]*$/, { error: 'must be a dictionary entry id' }),
  },
  AuthType: { name: 'AuthType', description: `one of ${accessProtocols.join(', ')}`, schema: z.enum(accessProtocols) },
  CveList: {
    name: 'CveList',
    description: `1..${maxCves} of { cve: CVE id, status: ${vulnStatuses.join(' | ')}, kev: boolean (in CISA KEV), epss: 0..1 or null, cvss: 0..10 or null, level: Severity }`,
    schema: z.array(cve).min(1, { error: 'must list at least one CVE' }).max(maxCves),
  },
  ThreatSummary: {
    name: 'ThreatSummary',
    description: '{ level: worst Severity of the CVEs, cves: how many, kev: how many are in KEV, maxEpss: 0..1 or null, maxCvss: 0..10 or null }',
    schema: z.strictObject({ level: z.enum(severities), cves: count, kev: count, maxEpss: probability.nullable(), maxCvss: z.number().min(0).max(10).nullable() }),
  },
  Fingerprint: { name: 'Fingerprint', description: 'scanner fingerprint of src/darknet/fingerprints.ts (mirai, masscan, zmap, unknown)', schema: z.enum(['mirai', 'masscan', 'zmap', 'unknown']) },
  Count: { name: 'Count', description: 'a non-negative integer', schema: count },
  PortList: { name: 'PortList', description: 'at most 64 ports 1..65535', schema: z.array(port).max(64) },
  Probability: { name: 'Probability', description: 'a number 0..1', schema: probability },
  Day: { name: 'Day', description: 'a UTC date YYYY-MM-DD', schema: day },
  NullableDay: { name: 'NullableDay', description: 'a date YYYY-MM-DD, or null when unknown', schema: day.nullable() },
  NullableYear: { name: 'NullableYear', description: 'a year 1970..2100, or null when unknown', schema: z.number().int().min(1970).max(2100).nullable() },
  ServiceName: { name: 'ServiceName', description: 'a lower-case service name (telnet, upnp, mqtt, ...), at most 64 characters', schema: z.string().min(1).max(64).regex(/^[a-z0-9][a-z0-9_.-]*$/, { error: 'must be a lower-case service name' }) },
  Path: { name: 'Path', description: 'a URL path starting with /, at most 2048 characters', schema: z.string().min(1).max(2048).startsWith('/') },
  Score: { name: 'Score', description: 'a finite number 0..1', schema: probability },
  TextList: { name: 'TextList', description: 'at most 64 Text items', schema: z.array(text).max(64) },
  Extra: { name: 'Extra', description: `any JSON object of at most ${maxExtraChars} characters and ${maxExtraDepth} levels, the one escape hatch; no password-like key at any depth`, schema: extra },
} as const satisfies Record<string, ValueType>;

export type ValueTypeName = keyof typeof valueTypes;

/** The record's fields, in the order the docs and exports list them. */
export const findingFields: readonly FieldSpec[] = [
  { key: 'kind', type: 'FindingKind', description: "the kind of problem (IntelMQ's classification.type)" },
  { key: 'id', type: 'Id', description: 'the store id; absent before the finding is stored', optional: true },
  { key: 'ip', type: 'IPv4', description: 'the address the problem was seen at' },
  { key: 'port', type: 'Port', description: 'the port, for port-bound kinds (weak-credential, exposed-service, unauthenticated-admin, c2-server); null for host-level kinds' },
  { key: 'protocol', type: 'Protocol', description: 'protocol or auth type at the port (telnet, ssh, http-basic, ...); null when not port-bound' },
  { key: 'observedAt', type: 'UtcTime', description: 'when the problem was first observed in its period (deduplication keeps the first)' },
  { key: 'period', type: 'Period', description: 'the deduplication period: one finding per (kind, ip, port, period); see the period rule' },
  { key: 'device', type: 'Device', description: 'the device as identified; null parts are unknown, never guessed' },
  { key: 'severity', type: 'Severity', description: 'how urgent; see the severity rule' },
  { key: 'details', type: 'Details', description: 'kind-specific facts, validated per kind (tables below)' },
  { key: 'evidence', type: 'Evidence', description: 'the stored records the finding rests on (the raw evidence is kept there); merged on deduplication' },
  { key: 'surveyId', type: 'NullableId', description: 'the survey that found it; null for darknet and flow findings' },
  { key: 'planVersion', type: 'NullableText', description: 'the survey plan version it was found under, or null' },
  { key: 'isp', type: 'IspId', description: 'the ISP notified (longest-prefix match, resellers walked up to a participant); null when held' },
  { key: 'prefixOwner', type: 'IspId', description: 'the ISP whose prefix holds the address, participating or not; null when no prefix covers it' },
  { key: 'held', type: 'HoldReason', description: 'why the finding is held (stored and counted, never sent); null when sent to `isp`' },
];

/** Per kind: is it bound to a port, how its period is cut, and its `details` keys. */
export interface KindSpec {
  readonly kind: FindingKind;
  readonly description: string;
  readonly portBound: boolean;
  readonly period: 'month' | 'day';
  readonly details: readonly FieldSpec[];
}

const extraField: FieldSpec = { key: 'extra', type: 'Extra', description: 'anything else worth keeping (the only escape hatch)', optional: true };

/** The kinds, with their details tables. */
export const kindSpecs: Readonly<Record<FindingKind, KindSpec>> = {
  'weak-credential': {
    kind: 'weak-credential',
    description: 'a dictionary ID/password logged in (and a random pair did not)',
    portBound: true,
    period: 'month',
    details: [
      { key: 'entry', type: 'DictionaryEntry', description: 'the dictionary entry that logged in; the password stays in the dictionary' },
      { key: 'username', type: 'NullableText', description: 'the ID that worked, so the owner knows which account to change' },
      { key: 'authType', type: 'AuthType', description: 'how it logged in' },
      extraField,
    ],
  },
  'firmware-vulnerability': {
    kind: 'firmware-vulnerability',
    description: 'the identified firmware is affected by known CVEs (one finding per host listing them all)',
    portBound: false,
    period: 'month',
    details: [
      { key: 'cves', type: 'CveList', description: 'the CVEs the device is affected by, most urgent first' },
      { key: 'threat', type: 'ThreatSummary', description: 'the summary the severity comes from' },
      extraField,
    ],
  },
  infected: {
    kind: 'infected',
    description: 'the address scanned the darknet like a bot (Mirai-style)',
    portBound: false,
    period: 'day',
    details: [
      { key: 'fingerprint', type: 'Fingerprint', description: 'which scanner the packets matched' },
      { key: 'packets', type: 'Count', description: 'packets seen from the address that day' },
      { key: 'destinations', type: 'Count', description: 'distinct darknet addresses it reached (estimate past 4)' },
      { key: 'ports', type: 'PortList', description: 'its most probed destination ports' },
      { key: 'confidence', type: 'Probability', description: 'how sure the classification is' },
      { key: 'day', type: 'Day', description: 'the UTC day of the capture summary' },
      extraField,
    ],
  },
  'exposed-service': {
    kind: 'exposed-service',
    description: 'a service that should not face the Internet answers (telnet, UPnP, open MQTT, ...)',
    portBound: true,
    period: 'month',
    details: [
      { key: 'reason', type: 'Text', description: 'why it is a problem' },
      { key: 'service', type: 'ServiceName', description: 'the service exposed' },
      extraField,
    ],
  },
  'unauthenticated-admin': {
    kind: 'unauthenticated-admin',
    description: 'an administration page opens without any login',
    portBound: true,
    period: 'month',
    details: [
      { key: 'title', type: 'NullableText', description: "the page's title as the device sent it" },
      { key: 'path', type: 'Path', description: 'the path that opened' },
      extraField,
    ],
  },
  'end-of-life': {
    kind: 'end-of-life',
    description: 'the model is past its maker support (no more fixes)',
    portBound: false,
    period: 'month',
    details: [
      { key: 'endOfLife', type: 'NullableDay', description: 'when support ended (catalogue)' },
      { key: 'releaseYear', type: 'NullableYear', description: 'when the model came out (catalogue)' },
      extraField,
    ],
  },
  'c2-server': {
    kind: 'c2-server',
    description: 'the address:port behaves like a botnet command-and-control server (flow analysis)',
    portBound: true,
    period: 'day',
    details: [
      { key: 'score', type: 'Score', description: 'the detector score' },
      { key: 'evidence', type: 'TextList', description: 'what the score rests on, in words' },
      extraField,
    ],
  },
};

/**
 * The period rule: survey kinds are deduplicated per UTC month of observedAt ("2026-12"), as
 * NOTICE surveys monthly; darknet and flow kinds per UTC day ("2026-12-01"), as their summaries are.
 */
export function periodOf(kind: FindingKind, observedAt: string): string {
  // A UTC time as the schema requires it already starts with its UTC date: no Date needed.
  const iso = /^\d{4}-\d{2}-\d{2}T[^]*Z$/.test(observedAt) ? observedAt : new Date(observedAt).toISOString();
  return kindSpecs[kind].period === 'day' ? iso.slice(0, 10) : iso.slice(0, 7);
}

function objectOf(fields: readonly FieldSpec[], overrides: Record<string, z.ZodType> = {}): z.ZodObject {
  const shape: Record<string, z.ZodType> = {};
  for (const f of fields) {
    const base = overrides[f.key] ?? valueTypes[f.type].schema;
    shape[f.key] = f.optional ? base.optional() : base;
  }
  return z.strictObject(shape);
}

/** Keys already found not password-like (the schema's own, mostly): tested once. Bounded. */
const safeKeys = new Set<string>();

/** The first password-like key in a value (depth-bounded walk), as a path, or undefined. */
function passwordPath(v: unknown, depth = 0): (string | number)[] | undefined {
  if (depth > 32 || v === null || typeof v !== 'object') return undefined;
  // The path is built only on a hit: this runs on every finding written.
  const array = Array.isArray(v);
  for (const k in v as Record<string, unknown>) {
    if (!Object.hasOwn(v as object, k)) continue;
    const step = array ? Number(k) : k;
    if (!array && !safeKeys.has(k)) {
      if (passwordLike.test(k)) return [step];
      if (safeKeys.size < 4096) safeKeys.add(k);
    }
    const inner = passwordPath((v as Record<string, unknown>)[k], depth + 1);
    if (inner) return [step, ...inner];
  }
  return undefined;
}

const variants = findingKinds.map((k) =>
  objectOf(findingFields, { kind: z.literal(k), details: objectOf(kindSpecs[k].details) }),
) as unknown as [z.ZodObject, ...z.ZodObject[]];

/**
 * The zod validator of a Finding: password-like keys refused first, then the per-kind shape, then
 * the rules between fields (port for port-bound kinds, the period rule, attribution consistency).
 */
export const findingSchema = z
  .unknown()
  .superRefine((v, ctx) => {
    const at = passwordPath(v);
    if (at) ctx.addIssue({ code: 'custom', path: at, message: 'looks like a password field: findings never carry a secret (name the dictionary entry in details.entry)' });
  })
  .pipe(z.discriminatedUnion('kind', variants))
  .superRefine((value, ctx) => {
    const f = value as unknown as Finding;
    const spec = kindSpecs[f.kind];
    if (spec.portBound && f.port === null) ctx.addIssue({ code: 'custom', path: ['port'], message: `is required for a ${f.kind} finding` });
    if (!spec.portBound && f.port !== null) ctx.addIssue({ code: 'custom', path: ['port'], message: `must be null for a host-level ${f.kind} finding` });
    if (spec.portBound && f.protocol === null) ctx.addIssue({ code: 'custom', path: ['protocol'], message: `is required for a ${f.kind} finding` });
    // Zod runs this refinement even when a string check above failed, so nothing here may throw.
    const want = Number.isNaN(Date.parse(f.observedAt)) ? f.period : periodOf(f.kind, f.observedAt);
    if (f.period !== want) ctx.addIssue({ code: 'custom', path: ['period'], message: `must be ${want} for a ${f.kind} finding observed at ${f.observedAt} (UTC ${spec.period})` });
    if (f.kind === 'weak-credential' && f.details.authType !== f.protocol) ctx.addIssue({ code: 'custom', path: ['details', 'authType'], message: `must equal protocol (${String(f.protocol)})` });
    if (f.kind === 'infected' && f.details.day !== f.period) ctx.addIssue({ code: 'custom', path: ['details', 'day'], message: `must equal period (${f.period})` });
    // Attribution: sent to exactly one ISP, or held with a reason that fits the prefix owner.
    if ((f.isp === null) === (f.held === null)) {
      ctx.addIssue({ code: 'custom', path: ['held'], message: f.isp === null ? 'must give a reason when isp is null (the finding is held)' : 'must be null when the finding is sent to an isp' });
    }
    if (f.isp !== null && f.prefixOwner === null) ctx.addIssue({ code: 'custom', path: ['prefixOwner'], message: 'must be set when an isp is notified' });
    if (f.held === 'no-isp' && f.prefixOwner !== null) ctx.addIssue({ code: 'custom', path: ['prefixOwner'], message: 'must be null for a no-isp hold' });
    if ((f.held === 'not-participating' || f.held === 'resold-no-participant') && f.prefixOwner === null) {
      ctx.addIssue({ code: 'custom', path: ['prefixOwner'], message: `must name the prefix owner for a ${f.held} hold` });
    }
  });

/** What a finding is, in a few words, for error messages ("weak-credential 127.0.0.5:23"). */
function label(r: unknown): string {
  if (typeof r !== 'object' || r === null) return typeof r;
  const o = r as Record<string, unknown>;
  const kind = typeof o.kind === 'string' ? o.kind.slice(0, 40) : '?';
  const ip = typeof o.ip === 'string' ? o.ip.slice(0, 40) : '?';
  return `${kind} ${ip}${typeof o.port === 'number' ? `:${o.port}` : ''}`;
}

/**
 * The finding as validated, or an E_FINDING error naming the first bad field (`index` numbers it
 * within a batch). Nothing is transformed: a valid record comes back as given.
 */
export function checkFinding(r: unknown, index?: number): Finding {
  const result = findingSchema.safeParse(r);
  if (result.success) return r as Finding;
  const issue = result.error.issues[0];
  const at = issue?.path.length ? issue.path.map(String).join('.') : '(record)';
  const unknownKeys = issue?.code === 'unrecognized_keys' ? ` ${issue.keys.map((k) => JSON.stringify(k.slice(0, 64))).join(', ')}` : '';
  return fail(`finding${index === undefined ? '' : ` ${index}`} (${label(r)}) refused: ${at}${unknownKeys} ${issue?.message ?? 'is invalid'}`);
}

function fail(message: string): never {
  throw new IotcleanError('E_FINDING', message, { hint: 'the fields and their types are in docs/findings.md (src/findings/schema.ts)' });
}

const cell = (s: string): string => s.replace(/\|/g, '\\|');

/** The documentation page, made from the tables above (docs/findings.md is this text). */
export function renderFindingsDoc(): string {
  const out: string[] = [
    '# Findings',
    '',
    '<!-- Generated from src/findings/schema.ts by renderFindingsDoc(); a test checks this file is up to date.',
    '     Regenerate: npx tsx -e "import(\'./src/findings/schema.ts\').then(m => m.writeFindingsDoc())" -->',
    '',
    'A finding is one notifiable problem at one ip[:port] in one period. Every stage that finds a problem',
    'writes this one record; it is validated on write (unknown keys and bad values refused, the field named)',
    'and deduplicated per (kind, ip, port, period): the first observation is kept and later evidence merged in.',
    'No field ever holds a password: a weak credential names its dictionary entry, and any key that looks',
    'like a password is refused.',
    '',
    '## Fields',
    '',
    '| key | type | description |',
    '| --- | --- | --- |',
    ...findingFields.map((f) => `| \`${f.key}\`${f.optional ? ' (optional)' : ''} | ${f.type} | ${cell(f.description)} |`),
    '',
    '## Rules',
    '',
    '- **Period**: survey kinds (weak-credential, firmware-vulnerability, exposed-service, unauthenticated-admin,',
    '  end-of-life) use the UTC month of `observedAt` (`2026-12`); darknet and flow kinds (infected, c2-server)',
    '  the UTC day (`2026-12-01`).',
    '- **Severity**: weak-credential is critical on telnet and ssh (what Mirai-class bots log in to), high on web',
    '  logins; firmware-vulnerability takes the worst threat level of its affected CVEs (src/vuln/threat.ts);',
    '  infected and c2-server are critical (already harming others); unauthenticated-admin high; exposed-service',
    '  medium; end-of-life low unless its builder says otherwise.',
    '- **Port**: port-bound kinds need `port` and `protocol`; host-level kinds have `port` null.',
    '- **Attribution**: exactly one of `isp` and `held` is set. `no-isp`: no prefix covers the address;',
    '  `not-participating`: the prefix owner does not take part and has no wholesale parent;',
    '  `resold-no-participant`: the owner resells a parent\'s lines and no ISP up the chain takes part.',
    '  Held findings are stored and counted, never sent. A finding not yet attributed is held `no-isp`.',
    '- **Text**: device text is kept as written (NUL, lone surrogates, HTML, `=cmd|`); outputs escape it for',
    '  their own medium.',
    '',
    '## Kinds and their details',
    '',
  ];
  for (const k of findingKinds) {
    const s = kindSpecs[k];
    out.push(`### \`${k}\``, '', `${s.description}. ${s.portBound ? 'Port-bound' : 'Host-level'}; period: UTC ${s.period}.`, '', '| details key | type | description |', '| --- | --- | --- |');
    for (const f of s.details) out.push(`| \`${f.key}\`${f.optional ? ' (optional)' : ''} | ${f.type} | ${cell(f.description)} |`);
    out.push('');
  }
  out.push('## Types', '', '| type | accepts |', '| --- | --- |');
  for (const t of Object.values(valueTypes)) out.push(`| ${t.name} | ${cell(t.description)} |`);
  out.push('');
  return out.join('\n');
}

/** Write docs/findings.md (run from the repository root). */
export async function writeFindingsDoc(path = 'docs/findings.md'): Promise<void> {
  const { mkdir, writeFile } = await import('node:fs/promises');
  const { dirname } = await import('node:path');
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, renderFindingsDoc());
}
