/**
 * Exposure findings: what a surveyed host shows that should not face the Internet, from the
 * observations the grab made and the host's identification, with no further traffic.
 *   - exposed-service: an open port listed in the exposure plan (plans/exposure.yaml), with the
 *     entry's reason and severity;
 *   - unauthenticated-admin: a web page that opened straight into an admin dashboard (no login
 *     form, no password field, no 401, no login wording, and dashboard wording in its text);
 *   - end-of-life: the catalogue says the maker ended support before the device was observed.
 * Findings leave attribution (isp, prefixOwner, held) null: the findings module does it later.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { z } from 'zod';
import { IotcleanError } from '../core/errors.js';
import { deviceTypes, severities, type EvidenceRef, type Finding, type FindingDevice, type Identification, type Observation, type Severity } from '../core/records.js';
import { vendorKey } from '../identify/names.js';

const entrySchema = z.strictObject({
  id: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'a kebab-case id'),
  ports: z.array(z.int().min(1).max(65535)).min(1).max(64),
  /** Grab modules that must have recognised the protocol; absent: any open port. */
  modules: z.array(z.string().regex(/^[a-z0-9-]{1,32}$/)).min(1).optional(),
  /** Equalities on the observation's fields. */
  fields: z.record(z.string().min(1).max(64), z.union([z.string(), z.number(), z.boolean(), z.null()])).optional(),
  vendors: z.array(z.string().min(1).max(80)).min(1).optional(),
  types: z.array(z.enum(deviceTypes)).min(1).optional(),
  service: z.string().regex(/^[a-z0-9-]{1,32}$/),
  severity: z.enum(severities),
  reason: z.string().min(10).max(500),
});

const planSchema = z
  .strictObject({
    version: z.string().min(1).max(40),
    entries: z.array(entrySchema).min(1).max(500),
  })
  .superRefine((p, ctx) => {
    const seen = new Set<string>();
    p.entries.forEach((e, i) => {
      if (seen.has(e.id)) ctx.addIssue({ code: 'custom', path: ['entries', i, 'id'], message: `id "${e.id}" appears twice` });
      seen.add(e.id);
    });
  });

/** One entry of the exposure plan. */
export type ExposureEntry = z.infer<typeof entrySchema>;
/** The exposure plan: versioned data, one entry per kind of service that should not be exposed. */
export type ExposurePlan = z.infer<typeof planSchema>;

/** Validate an exposure plan document; `file` names it in errors (E_PLAN_FILE). */
export function parseExposurePlan(data: unknown, file = 'exposure plan'): ExposurePlan {
  const result = planSchema.safeParse(data);
  if (!result.success) {
    const issue = result.error.issues[0];
    const field = issue && issue.path.length > 0 ? issue.path.map(String).join('.') : '(root)';
    throw new IotcleanError('E_PLAN_FILE', `bad exposure plan: field ${field}: ${issue?.message ?? 'invalid'}`, {
      file,
      hint: 'fix the exposure plan; its fields are described at the top of plans/exposure.yaml',
    });
  }
  return result.data;
}

/** Where the default exposure plan is, from source (src/vuln) or compiled (dist/src/vuln). */
export function defaultExposurePlanPath(): string {
  const candidates = [fileURLToPath(new URL('../../plans/exposure.yaml', import.meta.url)), fileURLToPath(new URL('../../../plans/exposure.yaml', import.meta.url))];
  for (const path of candidates) if (existsSync(path)) return path;
  throw new IotcleanError('E_PLAN_FILE', 'default exposure plan not found', { hint: `looked in ${candidates.join(', ')}` });
}

/** Read and validate an exposure plan file (default plans/exposure.yaml). */
export function loadExposurePlan(path: string = defaultExposurePlanPath()): ExposurePlan {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new IotcleanError('E_PLAN_FILE', `cannot read the exposure plan (${(e as Error).message})`, { file: path, hint: 'give a readable YAML file' });
  }
  let data: unknown;
  try {
    data = parse(text);
  } catch (e) {
    throw new IotcleanError('E_PLAN_FILE', `exposure plan is not YAML (${(e as Error).message.split('\n')[0] ?? ''})`, { file: path, hint: 'fix the YAML syntax' });
  }
  return parseExposurePlan(data, path);
}

/** Options of {@link exposureFindings}. */
export interface ExposureOptions {
  /** The survey plan version the observations were made under (Finding.planVersion). */
  readonly planVersion?: string | null;
}

/** Statuses that say nothing answered: the port is not open. */
const notOpen: ReadonlySet<string> = new Set(['connection-refused', 'connection-timeout', 'blocklisted-target']);

function isOpen(o: Observation): boolean {
  return !notOpen.has(o.status);
}

/** Deduplication period of a finding: the survey month of its observation ("2026-12"). */
function periodOf(observedAt: string): string {
  return /^\d{4}-\d{2}/.exec(observedAt)?.[0] ?? observedAt.slice(0, 7);
}

function deviceOf(host: Identification): FindingDevice {
  return { type: host.type, vendor: host.device?.vendor ?? host.vendor, model: host.device?.product ?? host.product, firmware: host.version };
}

function evidenceOf(host: Identification, observations: readonly Observation[]): EvidenceRef[] {
  const out: EvidenceRef[] = [];
  for (const o of observations) if (o.id !== undefined && !out.some((e) => e.id === o.id)) out.push({ record: 'observation', id: o.id });
  if (host.id !== undefined) out.push({ record: 'identification', id: host.id });
  return out;
}

function base(host: Identification, o: Observation | null, observedAt: string, options: ExposureOptions): Pick<Finding, 'ip' | 'observedAt' | 'period' | 'device' | 'surveyId' | 'planVersion' | 'isp' | 'prefixOwner' | 'held'> {
  return {
    ip: host.ip,
    observedAt,
    period: periodOf(observedAt),
    device: deviceOf(host),
    surveyId: o?.surveyId ?? host.surveyId,
    planVersion: options.planVersion ?? null,
    isp: null,
    prefixOwner: null,
    // Held until the findings module attributes it (src/findings/attribute.ts), never sent unattributed.
    held: 'no-isp',
  };
}

function entryMatches(e: ExposureEntry, o: Observation, host: Identification): boolean {
  if (!e.ports.includes(o.port)) return false;
  if (e.modules && !(o.recognised && e.modules.includes(o.module))) return false;
  if (e.fields) for (const [k, v] of Object.entries(e.fields)) if (o.fields[k] !== v) return false;
  if (e.vendors) {
    const vendor = vendorKey(host.device?.vendor ?? host.vendor);
    if (!vendor || !e.vendors.some((x) => vendorKey(x) === vendor)) return false;
  }
  if (e.types && (host.type === null || !e.types.includes(host.type))) return false;
  return true;
}

/**
 * `exposed-service` findings of one host: for each open port, the first plan entry it matches (one
 * finding per port, from the observation that matched; the port's observations are its evidence).
 */
export function exposedServiceFindings(host: Identification, observations: readonly Observation[], plan: ExposurePlan, options: ExposureOptions = {}): Finding[] {
  const byPort = new Map<number, Observation[]>();
  for (const o of observations) {
    if (o.ip !== host.ip || !isOpen(o)) continue;
    const list = byPort.get(o.port);
    if (list) list.push(o);
    else byPort.set(o.port, [o]);
  }
  const out: Finding[] = [];
  for (const [port, list] of [...byPort].sort((a, b) => a[0] - b[0])) {
    let hit: { entry: ExposureEntry; o: Observation } | null = null;
    for (const entry of plan.entries) {
      // Recognised observations first, so a module's fields decide before a bare "open".
      const o = [...list].sort((a, b) => Number(b.recognised) - Number(a.recognised)).find((x) => entryMatches(entry, x, host));
      if (o) {
        hit = { entry, o };
        break;
      }
    }
    if (!hit) continue;
    const { entry, o } = hit;
    out.push({
      kind: 'exposed-service',
      port,
      protocol: o.recognised ? o.module : entry.service,
      severity: entry.severity,
      details: { service: entry.service, reason: entry.reason, extra: { entry: entry.id, exposurePlanVersion: plan.version } },
      evidence: evidenceOf(host, list),
      ...base(host, o, o.observedAt, options),
    });
  }
  return out;
}

/** Visible text of a page: scripts, styles, comments and tags removed, entities of note decoded, bounded. */
function visibleText(html: string): string {
  return html
    .slice(0, 65_536)
    .replace(/<!--[\s\S]*?(?:-->|$)/g, ' ')
    .replace(/<(script|style)\b[^>]*>[\s\S]*?(?:<\/\1\s*>|$)/gi, ' ')
    .replace(/<[^>]*>/g, ' ')
    .replace(/&nbsp;|&#160;/gi, ' ')
    .replace(/&amp;/gi, '&')
    .replace(/\s+/g, ' ')
    .trim();
}

/** Words of a login page, in the languages of the devices surveyed (English, Japanese, Chinese). */
const loginWords = /\b(?:log ?in|sign ?in|log ?on|password|passwd|username|user name|authenticat\w*|unauthori[sz]ed)\b|ログイン|パスワード|認証|登录|密码/i;
/**
 * Words of an admin dashboard: settings pages, status and maintenance. A page needs two different
 * ones: "Firmware" alone is also on login pages and open status banners.
 */
const adminWords: readonly RegExp[] = [
  /\bstatus\b/i,
  /\bwireless\b|\bwi-?fi\b|\bssid\b/i,
  /\bwan\b/i,
  /\blan\b|\bdhcp\b/i,
  /\bfirmware (?:upgrade|update)\b|\bupgrade\b/i,
  /\breboot\b|\brestart\b|\bfactory (?:reset|default)/i,
  /\bport forwarding\b|\bvirtual server\b|\bnat\b/i,
  /\b(?:system|network|basic|advanced) (?:settings|setup|tools)\b|\bsettings\b|\bconfiguration\b/i,
  /\blog ?out\b|\bsign ?out\b/i,
  /設定/,
  /管理/,
  /ステータス|状態/,
  /ファームウェア/,
  /再起動/,
];

/** Why a grabbed HTTP page is an admin dashboard that opened without credentials, or null. */
export function openAdminReason(fields: Readonly<Record<string, unknown>>): string | null {
  if (fields['status'] !== 200) return null;
  if (fields['loginForm'] !== null && fields['loginForm'] !== undefined) return null;
  const challenges = fields['wwwAuthenticate'];
  if (Array.isArray(challenges) && challenges.length > 0) return null;
  const body = typeof fields['body'] === 'string' ? fields['body'] : '';
  if (/<input\b[^>]*\btype\s*=\s*["']?password/i.test(body)) return null;
  const text = visibleText(body);
  const title = typeof fields['title'] === 'string' ? fields['title'] : '';
  // Logout is dashboard wording; "log in" anywhere else means a login page.
  const withoutLogout = `${title} ${text}`.replace(/\blog ?out\b|\bsign ?out\b/gi, ' ');
  if (loginWords.test(withoutLogout)) return null;
  const found = adminWords.filter((re) => re.test(text));
  if (found.length < 2) return null;
  const words = found.map((re) => re.exec(text)?.[0] ?? '').filter((w) => w !== '');
  return `the page opened without a login shows admin controls (${words.slice(0, 5).join(', ')}) and no login form`;
}

/** `unauthenticated-admin` findings: one per web port whose page is an open admin dashboard. */
export function unauthenticatedAdminFindings(host: Identification, observations: readonly Observation[], options: ExposureOptions = {}): Finding[] {
  const out: Finding[] = [];
  for (const o of observations) {
    if (o.ip !== host.ip || !o.recognised || (o.module !== 'http' && o.module !== 'https')) continue;
    if (out.some((f) => f.port === o.port)) continue;
    const reason = openAdminReason(o.fields);
    if (reason === null) continue;
    out.push({
      kind: 'unauthenticated-admin',
      port: o.port,
      protocol: o.module,
      severity: 'high',
      details: { path: typeof o.fields['path'] === 'string' ? o.fields['path'] : '/', title: typeof o.fields['title'] === 'string' ? o.fields['title'].slice(0, 200) : null, extra: { reason } },
      evidence: evidenceOf(host, [o]),
      ...base(host, o, o.observedAt, options),
    });
  }
  return out;
}

/**
 * The `end-of-life` finding of a host whose catalogue entry says support ended before it was
 * observed (the latest observation, else the identification time). None when the date is unknown.
 */
export function endOfLifeFindings(host: Identification, observations: readonly Observation[], options: ExposureOptions = {}): Finding[] {
  const eol = host.catalogue?.endOfLife ?? null;
  if (eol === null) return [];
  const own = observations.filter((o) => o.ip === host.ip);
  const observedAt = own.reduce<string | null>((latest, o) => (latest === null || o.observedAt > latest ? o.observedAt : latest), null) ?? host.identifiedAt;
  if (!(eol < observedAt.slice(0, 10))) return [];
  const catalogue = host.catalogue;
  return [
    {
      kind: 'end-of-life',
      port: null,
      protocol: null,
      severity: 'medium' satisfies Severity,
      details: {
        endOfLife: eol,
        releaseYear: catalogue?.releaseYear ?? null,
        extra: {
          model: catalogue?.model ?? null,
          vendor: catalogue?.vendor ?? null,
          supportUrl: catalogue?.supportUrl ?? null,
          reason: `the maker ended support for this model on ${eol}: it gets no more security fixes`,
        },
      },
      evidence: host.id !== undefined ? [{ record: 'identification', id: host.id }] : [],
      ...base(host, own[0] ?? null, observedAt, options),
    },
  ];
}

/**
 * Every exposure finding of one host: exposed services (plan entries), admin pages open without
 * credentials, and end of life. `host` is the host-level identification; `observations` are the
 * host's (others are ignored).
 */
export function exposureFindings(host: Identification, observations: readonly Observation[], plan: ExposurePlan, options: ExposureOptions = {}): Finding[] {
  return [...exposedServiceFindings(host, observations, plan, options), ...unauthenticatedAdminFindings(host, observations, options), ...endOfLifeFindings(host, observations, options)];
}
