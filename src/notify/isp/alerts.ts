/**
 * Subscriber alerts, ISP tasks and SIer notices from editable templates (./templates/, ja and en):
 * what was seen, when (JST in Japanese, UTC in English), on which device, why it matters to the
 * subscriber and to others, short steps for the kind of problem, the model's manual link and the
 * case reference. Operators may point at their own folder; every file is checked when loaded (an
 * unknown placeholder is E_TEMPLATE naming the file, line and placeholder).
 *
 * Values that came from devices (model, firmware) are inserted as plain text in one pass over the
 * template, so a device calling itself "{{reference}}" or "<script>" is printed as such and never
 * expanded; mail is text/plain. Controls and line breaks are removed from them (no header
 * injection through the subject).
 *
 * Measures: a subscriber alert goes to the subscriber; an ISP task (a rented device the ISP fixes
 * itself) goes to the ops contact as a mail or a task file, never to the subscriber; an SIer notice
 * goes to the SIer contact. A delivered message (the SMTP server accepted it, or the task file was
 * written) counts toward escalation; every attempt is kept with the server's answer.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import nodemailer from 'nodemailer';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { IotcleanError } from '../../core/errors.js';
import { findingKinds, type FindingDevice, type FindingKind } from '../../core/records.js';
import type { Store } from '../../store/store.js';
import { alertDue, recordAlert, type TrackedCase } from './cases.js';
import type { Measure, Subscriber } from './types.js';

export type Language = 'ja' | 'en';
export const languages: readonly Language[] = ['ja', 'en'];

/** The placeholders a template may use, with what they hold (documentation and validation). */
export const placeholders = {
  reference: 'the case reference for the support desk (IOTC-YYYY-NNNNNN)',
  name: 'the subscriber\'s name with honorific ("山田 様"), or a neutral form',
  subscriber: 'the subscriber id (customer number)',
  isp_name: 'the ISP\'s name (--isp-name)',
  problem: 'what was seen, for the finding kind (kinds.yaml)',
  seen_at: 'when it was last seen: JST for ja, UTC for en',
  device: 'vendor, model and firmware as identified (plain text)',
  ip: 'the address it was seen at',
  port: 'the port, or a dash for host-level problems',
  why_you: 'why it matters to the subscriber (kinds.yaml)',
  why_others: 'why it matters to others (kinds.yaml)',
  steps: 'numbered steps for the finding kind (kinds.yaml)',
  manual_url: 'the per-model manual link, or a note that there is none yet',
  support_url: 'the support desk page for this case and model (/support/new?ref=…&model=…)',
  desk: 'the support desk contact line (--desk)',
  contact: 'the SIer or ops contact of the case',
} as const;
export type Placeholder = keyof typeof placeholders;

/** One parsed template: its subject and body with placeholders still in. */
export interface AlertTemplate {
  readonly file: string;
  readonly subject: string;
  readonly body: string;
}

/** What a finding kind means and what to do, per language. */
export interface KindText {
  readonly problem: string;
  readonly why_you: string;
  readonly why_others: string;
  readonly steps: readonly string[];
}

export interface AlertTemplates {
  readonly templates: Readonly<Record<Measure, Readonly<Record<Language, AlertTemplate>>>>;
  readonly kinds: Readonly<Record<FindingKind, Readonly<Record<Language, KindText>>>>;
}

const templateFiles: Readonly<Record<Measure, string>> = { 'subscriber-alert': 'subscriber-alert', 'isp-task': 'isp-task', 'sier-notice': 'sier-notice' };

/** The shipped templates (src/notify/isp/templates/, also found from dist/). */
export function defaultTemplateDir(): string {
  const candidates = [fileURLToPath(new URL('./templates/', import.meta.url)), fileURLToPath(new URL('../../../../src/notify/isp/templates/', import.meta.url))];
  for (const dir of candidates) if (existsSync(join(dir, 'kinds.yaml'))) return dir;
  throw new IotcleanError('E_TEMPLATE', 'the shipped alert templates were not found', { hint: `looked in ${candidates.join(', ')}` });
}

function templateError(file: string, line: number | undefined, message: string, hint: string): IotcleanError {
  return new IotcleanError('E_TEMPLATE', message, { file, ...(line ? { line } : {}), hint });
}

/**
 * Parse one template file: "Subject: …", a blank line, the body. Every `{{name}}` must be a known
 * placeholder; a `{{` without its `}}` is refused too.
 */
export function parseTemplate(file: string, text: string): AlertTemplate {
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  lines.forEach((line, i) => {
    const rest = line.replace(/\{\{\s*([^{}]*?)\s*\}\}/g, (_, name: string) => {
      if (!Object.hasOwn(placeholders, name)) {
        throw templateError(file, i + 1, `unknown placeholder {{${name}}}`, `known placeholders: ${Object.keys(placeholders).join(', ')}`);
      }
      return '';
    });
    if (rest.includes('{{') || rest.includes('}}')) throw templateError(file, i + 1, 'unbalanced "{{" or "}}"', 'write placeholders as {{name}}');
  });
  const m = /^Subject:[ \t]*(.+)$/.exec(lines[0] ?? '');
  if (!m || (lines[1] ?? '') !== '') throw templateError(file, 1, 'a template starts with "Subject: …" and a blank line', 'see the shipped templates in src/notify/isp/templates/');
  const body = lines.slice(2).join('\n').trimEnd();
  if (!body) throw templateError(file, 3, 'the template has no body', 'write the message text after the blank line');
  return { file, subject: m[1]!.trim(), body: `${body}\n` };
}

const kindTextSchema = z.strictObject({
  problem: z.string().min(1),
  why_you: z.string().min(1),
  why_others: z.string().min(1),
  steps: z.array(z.string().min(1)).min(1).max(10),
});
const kindEntrySchema = z.strictObject({ ja: kindTextSchema, en: kindTextSchema });
const kindsSchema = z.strictObject(Object.fromEntries(findingKinds.map((k) => [k, kindEntrySchema])) as Record<FindingKind, typeof kindEntrySchema>);

function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    throw templateError(file, undefined, `cannot read: ${(e as Error).message}`, 'check the --templates folder');
  }
}

/** Parse and check kinds.yaml (every finding kind, both languages). */
export function parseKinds(file: string, text: string): AlertTemplates['kinds'] {
  let data: unknown;
  try {
    data = parseYaml(text);
  } catch (e) {
    throw templateError(file, undefined, `not valid YAML: ${(e as Error).message}`, 'see the shipped kinds.yaml');
  }
  const r = kindsSchema.safeParse(data);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    throw templateError(file, undefined, `${issue.path.join('.') || '(top)'}: ${issue.message}`, `kinds.yaml needs ${findingKinds.join(', ')}, each with ja and en: problem, why_you, why_others, steps`);
  }
  return r.data as AlertTemplates['kinds'];
}

/**
 * Load the templates: the shipped ones, each replaced by the operator's file of the same name when
 * `dir` holds one (subscriber-alert.ja.txt, …, kinds.yaml). Every file used is checked.
 */
export function loadAlertTemplates(dir?: string): AlertTemplates {
  const shipped = defaultTemplateDir();
  if (dir !== undefined && !existsSync(dir)) throw templateError(dir, undefined, 'template folder not found', 'give a folder holding any of subscriber-alert.ja.txt, …, kinds.yaml');
  const pick = (name: string) => (dir !== undefined && existsSync(join(dir, name)) ? join(dir, name) : join(shipped, name));
  const templates = {} as Record<Measure, Record<Language, AlertTemplate>>;
  for (const [measure, stem] of Object.entries(templateFiles) as [Measure, string][]) {
    const byLang = {} as Record<Language, AlertTemplate>;
    for (const lang of languages) {
      const file = pick(`${stem}.${lang}.txt`);
      byLang[lang] = parseTemplate(file, readText(file));
    }
    templates[measure] = byLang;
  }
  const kindsFile = pick('kinds.yaml');
  return { templates, kinds: parseKinds(kindsFile, readText(kindsFile)) };
}

/** Device text as plain one-line text: no controls, no bidi overrides, no lone surrogates, bounded. */
export function plainValue(s: string | null | undefined, max = 120): string {
  if (s === null || s === undefined) return '';
  const clean = s
    .replace(/[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]/g, ' ')
    .replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD')
    .replace(/\s+/g, ' ')
    .trim();
  const chars = [...clean];
  return chars.length > max ? `${chars.slice(0, max - 1).join('')}…` : clean;
}

const pad = (n: number) => String(n).padStart(2, '0');

/** A time as the reader expects it: Japan Standard Time (UTC+9, no DST) for ja, UTC for en. */
export function formatSeenAt(iso: string, lang: Language): string {
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) return plainValue(iso);
  if (lang === 'ja') {
    const d = new Date(ms + 9 * 3_600_000);
    return `${d.getUTCFullYear()}年${d.getUTCMonth() + 1}月${d.getUTCDate()}日 ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}（日本時間）`;
  }
  const d = new Date(ms);
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())} UTC`;
}

/** What every message of one ISP shares. */
export interface AlertContext {
  readonly ispName: string;
  /** The support desk line per language ("サポートデスク 0120-000-000（平日9時〜18時）"). */
  readonly desk: Readonly<Record<Language, string>>;
  /** The public site that serves /manuals/<key> (https://notice.example/); checked by manualBaseUrl. */
  readonly manualBase: string;
  /** The catalogue's manual key for a device, or null (see catalogueManuals). */
  readonly manualFor: (device: FindingDevice) => string | null;
}

/** A --manual-base value checked: an http(s) URL, without a trailing slash. */
export function manualBaseUrl(text: string): string {
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    throw new IotcleanError('E_ARGS', `--manual-base "${plainValue(text)}" is not a URL`, { hint: 'give the public site, e.g. https://notice.example.jp' });
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new IotcleanError('E_ARGS', `--manual-base must be http(s), not ${u.protocol}`, { hint: 'give the public site, e.g. https://notice.example.jp' });
  return u.href.replace(/\/+$/, '');
}

/** The manual lookup of a device-model catalogue (src/identify/catalogue.ts). */
export function catalogueManuals(catalogue: { lookup(vendor: string | null, model: string | null): { readonly manual: string | null } | null }): AlertContext['manualFor'] {
  return (d) => catalogue.lookup(d.vendor, d.model)?.manual ?? null;
}

/** Who a message goes to. */
export interface Recipient {
  readonly address: string;
  readonly language: Language;
  readonly name: string | null;
}

/** A rendered message. */
export interface AlertMessage {
  readonly reference: string;
  readonly measure: Measure;
  readonly language: Language;
  readonly to: string;
  readonly subject: string;
  readonly text: string;
}

/** Fill a template in one pass: inserted values are never scanned for placeholders again. */
export function fill(template: string, values: Readonly<Record<Placeholder, string>>): string {
  return template.replace(/\{\{\s*([^{}]*?)\s*\}\}/g, (_, name: string) => values[name as Placeholder] ?? '');
}

function deviceText(d: FindingDevice, lang: Language): string {
  const parts = [plainValue(d.vendor, 60), plainValue(d.model, 60)].filter(Boolean).join(' ');
  const fw = plainValue(d.firmware, 40);
  const name = parts || (lang === 'ja' ? '機種不明の機器' : 'unidentified device');
  return fw ? `${name} (firmware ${fw})` : name;
}

/** The message for one case and recipient. */
export function composeAlert(t: AlertTemplates, c: TrackedCase, to: Recipient, ctx: AlertContext): AlertMessage {
  const lang = to.language;
  const kind = t.kinds[c.findingKind][lang];
  const key = ctx.manualFor(c.device);
  // Only a kebab-case key becomes a path: a hostile catalogue value cannot reshape the URL.
  const manual = key && /^[a-z0-9][a-z0-9-]*$/.test(key) ? `${ctx.manualBase}/manuals/${key}` : lang === 'ja' ? '（この機種の個別の手順はまだありません。上記の手順で対策してください）' : '(no guide for this model yet; the steps above apply)';
  // The same rule for the support link: only a well-formed reference and key reach the query.
  const refOk = /^IOTC-\d{4}-\d{6}$/.test(c.reference);
  const keyOk = key !== null && /^[a-z0-9][a-z0-9-]*$/.test(key);
  const support = `${ctx.manualBase}/support/new${refOk || keyOk ? '?' : ''}${[refOk ? `ref=${c.reference}` : '', keyOk ? `model=${key}` : ''].filter(Boolean).join('&')}`;
  const name = plainValue(to.name, 60);
  const values: Record<Placeholder, string> = {
    reference: c.reference,
    name: lang === 'ja' ? (name ? `${name} 様` : 'お客様') : name || 'customer',
    subscriber: plainValue(c.subscriber, 60),
    isp_name: plainValue(ctx.ispName, 60),
    problem: kind.problem,
    seen_at: formatSeenAt(c.lastSeenAt, lang),
    device: deviceText(c.device, lang),
    ip: plainValue(c.lastIp, 45),
    port: c.port === null ? '—' : String(c.port),
    why_you: kind.why_you,
    why_others: kind.why_others,
    steps: kind.steps.map((s, i) => `${i + 1}. ${s}`).join('\n'),
    manual_url: manual,
    support_url: support,
    desk: ctx.desk[lang],
    contact: plainValue(c.contact, 120),
  };
  const tpl = t.templates[c.measure][lang];
  return { reference: c.reference, measure: c.measure, language: lang, to: to.address, subject: plainValue(fill(tpl.subject, values), 200), text: fill(tpl.body, values) };
}

/** The outcome of handing one message over. */
export interface Delivery {
  readonly delivered: boolean;
  /** The server's reply, or the error. */
  readonly response: string | null;
  readonly messageId: string | null;
}

/** Where messages go: SMTP, or task files for the ISP's own operations. */
export interface AlertTransport {
  readonly channel: 'smtp' | 'task-file';
  send(m: AlertMessage): Promise<Delivery>;
  close(): void;
}

/** A --smtp URL checked (smtp:// or smtps://, host required). */
export function smtpUrl(text: string): string {
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    throw new IotcleanError('E_ARGS', '--smtp is not a URL', { hint: 'give smtp://host:port or smtps://user:password@host:port' });
  }
  if ((u.protocol !== 'smtp:' && u.protocol !== 'smtps:') || !u.hostname) throw new IotcleanError('E_ARGS', `--smtp must be smtp:// or smtps:// with a host, not ${u.protocol}`, { hint: 'give smtp://host:port' });
  return text;
}

/**
 * Send through an SMTP server with nodemailer. A refusal or a connection failure is not thrown:
 * it is returned undelivered with the error, so it is recorded and the run goes on.
 */
export function smtpTransport(url: string, from: string): AlertTransport {
  // One pooled connection, reused for every alert of a run instead of a new SMTP session each.
  const transport = nodemailer.createTransport({ url: smtpUrl(url), pool: true, maxConnections: 1 } as Parameters<typeof nodemailer.createTransport>[0]);
  return {
    channel: 'smtp',
    async send(m) {
      try {
        const info = await transport.sendMail({ from, to: m.to, subject: m.subject, text: m.text, headers: { 'X-Iotclean-Reference': m.reference }, ...(m.language === 'ja' ? { textEncoding: 'base64' as const } : {}) });
        const accepted = info.accepted.length > 0 && info.rejected.length === 0;
        return { delivered: accepted, response: info.response ?? null, messageId: info.messageId ?? null };
      } catch (e) {
        const err = e as Error & { response?: string };
        return { delivered: false, response: err.response ?? err.message, messageId: null };
      }
    },
    close() {
      transport.close();
    },
  };
}

/** Write each ISP task as a file <dir>/<reference>.txt for the ISP's own ticketing. */
export function taskFileTransport(dir: string): AlertTransport {
  return {
    channel: 'task-file',
    async send(m) {
      const file = join(dir, `${m.reference}.txt`);
      try {
        mkdirSync(dir, { recursive: true });
        writeFileSync(file, `Subject: ${m.subject}\nTo: ${m.to}\n\n${m.text}`);
        return { delivered: true, response: `written ${file}`, messageId: null };
      } catch (e) {
        return { delivered: false, response: (e as Error).message, messageId: null };
      }
    },
    close() {},
  };
}

/** What an alert run needs. */
export interface AlertRunOptions {
  readonly now: string;
  readonly by: string;
  /** Wait after the last delivered alert before a persisting case is alerted again. */
  readonly reAlertAfterMs: number;
  /** How long control cases are held back before they are alerted too (default 30 days). */
  readonly controlHoldMs?: number;
  readonly templates: AlertTemplates;
  readonly context: AlertContext;
  /** The ISP's subscriber directory (subscriber alerts only). */
  readonly subscriber: (id: string) => Subscriber | undefined;
  /** Subscriber alerts and SIer notices (and ISP tasks when no task transport is given). */
  readonly mail: AlertTransport;
  /** ISP tasks as files; without it they are mailed to the case's contact or `opsContact`. */
  readonly tasks?: AlertTransport;
  readonly opsContact?: string | null;
  /** Language of ISP tasks and SIer notices. */
  readonly staffLanguage?: Language;
}

/** One message tried, or one case skipped with the reason. */
export interface AlertRunRow {
  readonly reference: string;
  readonly measure: Measure;
  readonly recipient: string | null;
  readonly language: Language | null;
  readonly delivered: boolean;
  readonly response: string | null;
  readonly skipped: string | null;
}

function recipientFor(c: TrackedCase, o: AlertRunOptions): Recipient | string {
  const staff = o.staffLanguage ?? 'ja';
  switch (c.measure) {
    case 'subscriber-alert': {
      const s = o.subscriber(c.subscriber);
      if (!s) return `subscriber ${c.subscriber} is not in the subscriber directory`;
      if (!s.email) return `subscriber ${c.subscriber} has no e-mail address`;
      return { address: s.email, language: s.language, name: s.name };
    }
    case 'isp-task': {
      // Never the subscriber: the ISP fixes its own rented device.
      if (o.tasks) return { address: c.contact ?? o.opsContact ?? 'operations', language: staff, name: null };
      const address = c.contact ?? o.opsContact ?? null;
      return address ? { address, language: staff, name: null } : 'ISP task without an ops contact (give --ops-contact or --tasks DIR)';
    }
    case 'sier-notice':
      return c.contact ? { address: c.contact, language: staff, name: null } : 'SIer notice without an SIer contact in the inventory';
  }
}

/**
 * Send what is due: every `new` case (control cases once their hold is over), and
 * persisting/escalated cases whose last delivered alert is older than the wait. Each attempt is recorded with the server's answer; a
 * delivered one moves the case (alerted / re-alerted) and counts toward escalation.
 */
export async function sendDueAlerts(store: Store, o: AlertRunOptions): Promise<AlertRunRow[]> {
  const rows: AlertRunRow[] = [];
  const due = (await store.cases.list({ states: ['new', 'persisting', 'escalated'] })).filter((c) => alertDue(c, o.now, o.reAlertAfterMs, o.controlHoldMs));
  for (const c of due) {
    const to = recipientFor(c, o);
    if (typeof to === 'string') {
      rows.push({ reference: c.reference, measure: c.measure, recipient: null, language: null, delivered: false, response: null, skipped: to });
      continue;
    }
    const message = composeAlert(o.templates, c, to, o.context);
    const transport = c.measure === 'isp-task' && o.tasks ? o.tasks : o.mail;
    const d = await transport.send(message);
    const recipient = transport.channel === 'task-file' ? (d.response?.replace(/^written /, '') ?? to.address) : to.address;
    await store.cases.recordAlert({ reference: c.reference, at: o.now, measure: c.measure, channel: transport.channel, recipient, language: to.language, delivered: d.delivered, response: d.response, messageId: d.messageId });
    if (d.delivered) await store.cases.save(recordAlert(c, { delivered: true, at: o.now, by: o.by, note: `${transport.channel} to ${recipient}: ${plainValue(d.response, 200)}` }));
    rows.push({ reference: c.reference, measure: c.measure, recipient, language: to.language, delivered: d.delivered, response: d.response, skipped: null });
  }
  return rows;
}
