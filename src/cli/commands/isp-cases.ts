/**
 * `iotclean isp alert | verify | cases | escalations | effect`: the case side of the ISP commands.
 * Each handler is exported on its own so `iotclean isp` (./isp.ts) can list it in its subcommand
 * table; `ispCaseSubcommands` is that list.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { IotcleanError } from '../../core/errors.js';
import { deviceTypes, findingKinds, holdReasons, severities } from '../../core/records.js';
import { catalogueManuals, loadAlertTemplates, manualBaseUrl, sendDueAlerts, smtpTransport, taskFileTransport, type AlertTransport } from '../../notify/isp/alerts.js';
import { parseReference, reinfections, transition, type TrackedCase } from '../../notify/isp/cases.js';
import { computeEffect, effectText } from '../../notify/isp/effect.js';
import { escalationsText, listEscalations } from '../../notify/isp/escalations.js';
import { intakeMatches, type RoutedMatch } from '../../notify/isp/intake.js';
import { caseStates, matchStatuses, measures, type Subscriber, type Verification } from '../../notify/isp/types.js';
import { applyVerifications, lastSeenResolver } from '../../notify/isp/verify.js';
import type { SessionLogProblem } from '../../notify/isp/logs/index.js';
import { parseSubscribers } from '../../notify/isp/subscriber-files.js';
import { loadCatalogue } from '../../identify/catalogue.js';
import { defineCommand } from '../command.js';
import { storeOption, withStore } from '../context.js';

// Times are compared as text inside, so every one is normalised to the one ISO 8601 UTC form.
const iso = z
  .string()
  .refine((s) => !Number.isNaN(Date.parse(s)), 'an ISO 8601 time')
  .transform((s) => new Date(s).toISOString());
const port = z.number().int().min(1).max(65535).nullable();
const findingSchema = z.looseObject({
  kind: z.enum(findingKinds),
  ip: z.string().min(1).max(45),
  port,
  protocol: z.string().max(64).nullable().default(null),
  observedAt: iso,
  period: z.string().max(32).default(''),
  device: z.strictObject({ type: z.enum(deviceTypes).nullable(), vendor: z.string().max(200).nullable(), model: z.string().max(200).nullable(), firmware: z.string().max(200).nullable() }),
  severity: z.enum(severities).default('medium'),
  details: z.record(z.string(), z.unknown()).default({}),
  evidence: z.array(z.strictObject({ record: z.enum(['observation', 'identification', 'access-result', 'vulnerability-match', 'infection', 'c2-candidate']), id: z.union([z.number(), z.string().max(200)]) })).default([]),
  surveyId: z.number().nullable().default(null),
  planVersion: z.string().nullable().default(null),
  isp: z.string().max(200).nullable().default(null),
  prefixOwner: z.string().max(200).nullable().default(null),
  held: z.enum(holdReasons).nullable().default(null),
});
const matchSchema = z.strictObject({
  finding: findingSchema,
  status: z.enum(matchStatuses),
  subscriber: z.string().min(1).max(200).nullable(),
  candidates: z.array(z.string()).default([]),
  reason: z.string().nullable().default(null),
});
/**
 * One row of `isp match --json` (./isp.ts matchJson): the match's fields flat beside the whole
 * finding, with the measure routing chose (null when unmatched: nothing is opened for it anyway).
 */
const matchRowSchema = z
  .looseObject({
    finding: findingSchema,
    status: z.enum(matchStatuses),
    subscriber: z.string().min(1).max(200).nullable(),
    candidates: z.array(z.string()).default([]),
    reason: z.string().nullable().default(null),
    measure: z.enum(measures).nullable().default(null),
    contact: z.string().max(320).nullable().default(null),
    ticket: z.string().max(200).nullable().default(null),
  })
  .transform((r) => ({
    match: { finding: r.finding, status: r.status, subscriber: r.subscriber, candidates: r.candidates, reason: r.reason },
    measure: r.measure ?? ('subscriber-alert' as const),
    contact: r.contact,
    ticket: r.ticket,
  }));
/** A routed match (match + measure), a bare SubscriberMatch (a subscriber alert), or a row of `isp match --json`. */
const routedSchema = z.union([
  z.strictObject({ match: matchSchema, measure: z.enum(measures).default('subscriber-alert'), contact: z.string().max(320).nullable().default(null), ticket: z.string().max(200).nullable().default(null) }),
  matchSchema.transform((match) => ({ match, measure: 'subscriber-alert' as const, contact: null, ticket: null })),
  matchRowSchema,
]);
const subscriberSchema = z.strictObject({ id: z.string().min(1).max(200), email: z.string().max(320).nullable(), language: z.enum(['ja', 'en']), name: z.string().max(200).nullable() });
const verificationSchema = z.strictObject({ kind: z.enum(findingKinds), ip: z.string().min(1).max(45), port, at: iso, present: z.boolean(), ticket: z.string().max(200).nullable().default(null) });

/** The text of an input file; "-" is standard input (`isp match … --json | isp alert --matches -`). */
function readInput(file: string, what: string, hint: string): string {
  try {
    return readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (e) {
    throw new IotcleanError('E_ARGS', `${what}: cannot read ${file}: ${(e as Error).message}`, { file, hint });
  }
}

/** Parse a JSON array, or JSON Lines (one value per line, as `--json` commands stream them). */
function parseJsonItems(text: string, file: string, what: string): unknown[] {
  const hint = `give a JSON array of ${what}, or JSON Lines (one per line)`;
  const body = text.replace(/^\uFEFF/, '').trim();
  if (body === '') return [];
  if (body.startsWith('[')) {
    let data: unknown;
    try {
      data = JSON.parse(body);
    } catch (e) {
      throw new IotcleanError('E_ARGS', `${what}: ${file} is not JSON: ${(e as Error).message}`, { file, hint });
    }
    if (!Array.isArray(data)) throw new IotcleanError('E_ARGS', `${what}: ${file} is not a JSON array`, { file, hint });
    return data;
  }
  const items: unknown[] = [];
  body.split(/\r?\n/).forEach((line, i) => {
    if (line.trim() === '') return;
    try {
      items.push(JSON.parse(line));
    } catch (e) {
      throw new IotcleanError('E_ARGS', `${what}: ${file} line ${i + 1} is not JSON: ${(e as Error).message}`, { file, line: i + 1, hint });
    }
  });
  return items;
}

/** Read a JSON array (or JSON Lines) file and validate every item; errors name the file and the item. */
function readJsonArray<T>(file: string, schema: z.ZodType<T>, what: string, text?: string): T[] {
  const data = parseJsonItems(text ?? readInput(file, what, `give a JSON array of ${what}`), file, what);
  return data.map((item, i) => {
    const r = schema.safeParse(item);
    if (!r.success) {
      const issue = r.error.issues[0]!;
      throw new IotcleanError('E_ARGS', `${what} #${i + 1}: ${issue.path.join('.') || '(item)'}: ${issue.message}; nothing was changed`, { file, hint: `see the ${what} record in src/notify/isp/types.ts` });
    }
    return r.data;
  });
}

const dayMs = 86_400_000;

function caseLine(c: TrackedCase): string {
  const dev = [c.device.vendor, c.device.model].filter(Boolean).join(' ') || 'unidentified';
  return `${c.reference}  ${c.state.padEnd(12)} ${c.measure.padEnd(16)} ${c.subscriber}  ${c.findingKind}:${c.port ?? '-'}  ${dev}  alerts ${c.alertsDelivered}${c.control ? '  (control)' : ''}${reinfections(c) ? `  reinfected ×${reinfections(c)}` : ''}`;
}

/** Subscribers from a JSON array, or from the subscriber CSV `isp import` reads (bad rows reported and skipped). */
function readSubscribers(file: string, onProblem: (p: SessionLogProblem) => void): Subscriber[] {
  const text = readInput(file, 'subscribers', 'give the subscriber CSV or a JSON array of subscribers');
  if (/^\uFEFF?\s*\[/.test(text)) return readJsonArray(file, subscriberSchema, 'subscribers', text);
  return [...parseSubscribers(text, file, onProblem).subscribers];
}

export const ispAlertCommand = defineCommand({
  name: 'alert',
  description: 'Open cases from matched findings (--matches: `isp match BATCH.json --json > matches.jsonl` as is) and send what is due: subscriber alerts, ISP tasks, SIer notices, re-alerts of persisting cases. Exit code 3: some message was not delivered (it stays due; a re-run retries it).',
  options: {
    ...storeOption,
    matches: { type: 'string', value: 'FILE', description: 'the output of `iotclean isp match BATCH.json --json` as is ("-": standard input), or a JSON array of matches / routed matches {match, measure, contact, ticket}' },
    subscribers: { type: 'string', value: 'FILE', description: 'subscribers: the CSV `isp import --subscribers` reads, or a JSON array {id, email, language, name}; default: those isp import stored (stays at the ISP)' },
    smtp: { type: 'string', value: 'URL', description: 'SMTP server to hand mail to: smtp://host:port (required)' },
    from: { type: 'string', value: 'ADDR', description: 'sender address', default: 'abuse@isp.invalid' },
    'isp-name': { type: 'string', value: 'NAME', description: 'the ISP name printed in the mail', default: 'ISP' },
    'desk-ja': { type: 'string', value: 'TEXT', description: 'support desk line in Japanese mail', default: 'サポートデスクまでお問い合わせください。' },
    'desk-en': { type: 'string', value: 'TEXT', description: 'support desk line in English mail', default: 'Please contact our support desk.' },
    'manual-base': { type: 'string', value: 'URL', description: 'public site serving /manuals/<key>', default: 'https://notice.example.invalid' },
    templates: { type: 'string', value: 'DIR', description: 'your own templates (any of subscriber-alert.ja.txt … kinds.yaml; the rest shipped)' },
    catalogue: { type: 'string', value: 'DIR', description: 'device-model catalogue for manual keys (default: the shipped one)' },
    tasks: { type: 'string', value: 'DIR', description: 'write ISP tasks as files here instead of mailing the ops contact' },
    'ops-contact': { type: 'string', value: 'ADDR', description: 'ops address for ISP tasks without their own contact' },
    'staff-language': { type: 'string', choices: ['ja', 'en'], description: 'language of ISP tasks and SIer notices', default: 'ja' },
    'control-share': { type: 'number', value: 'X', min: 0, max: 0.5, description: 'share of new subscriber cases held back as the effect baseline', default: 0.1 },
    'control-hold-days': { type: 'number', value: 'N', min: 0, description: 'control cases are alerted too once held back this long', default: 30 },
    're-alert-days': { type: 'number', value: 'N', min: 0, description: 're-alert a persisting case this long after its last delivered alert', default: 7 },
    by: { type: 'string', value: 'WHO', description: 'who runs this, recorded on every transition', default: 'iotclean isp alert' },
    now: { type: 'string', value: 'TIME', description: 'the time to record (default: now; the lab simulates weeks with it)' },
  },
  async run(o, _args, out): Promise<number> {
    if (!o.smtp) throw new IotcleanError('E_ARGS', '--smtp is required', { hint: 'give the SMTP server, e.g. --smtp smtp://127.0.0.1:25' });
    if (o.now !== undefined && Number.isNaN(Date.parse(o.now))) throw new IotcleanError('E_ARGS', `--now "${o.now}" is not an ISO 8601 time`, { hint: 'e.g. 2026-12-01T09:00:00Z' });
    const now = new Date(o.now ?? Date.now()).toISOString();
    if (o.matches === '-' && o.subscribers === '-') throw new IotcleanError('E_ARGS', 'only one of --matches and --subscribers can be standard input', { hint: 'give the other as a file' });
    const routed: RoutedMatch[] = o.matches ? readJsonArray(o.matches, routedSchema, 'matches') : [];
    const given = o.subscribers !== undefined ? readSubscribers(o.subscribers, (p) => out.info(`${p.file}:${p.line}: ${p.message} (skipped)`)) : undefined;
    const templates = loadAlertTemplates(o.templates);
    const context = {
      ispName: o['isp-name'],
      desk: { ja: o['desk-ja'], en: o['desk-en'] },
      manualBase: manualBaseUrl(o['manual-base']),
      manualFor: catalogueManuals(loadCatalogue(o.catalogue)),
    };
    const mail = smtpTransport(o.smtp, o.from);
    const tasks: AlertTransport | undefined = o.tasks ? taskFileTransport(o.tasks) : undefined;
    try {
      return await withStore(o.db, async (store) => {
        // Without --subscribers, those `isp import --subscribers` stored.
        const subs = new Map<string, Subscriber>((given ?? (await store.sessions.subscribers())).map((s) => [s.id, s]));
        const intake = await intakeMatches(store, routed, { step: { at: now, by: o.by }, controlShare: o['control-share'] });
        const rows = await sendDueAlerts(store, {
          now,
          by: o.by,
          reAlertAfterMs: o['re-alert-days'] * dayMs,
          controlHoldMs: o['control-hold-days'] * dayMs,
          templates,
          context,
          subscriber: (id) => subs.get(id),
          mail,
          ...(tasks ? { tasks } : {}),
          opsContact: o['ops-contact'] ?? null,
          staffLanguage: o['staff-language'],
        });
        const delivered = rows.filter((r) => r.delivered).length;
        const lines = [
          `cases: ${intake.opened.length} opened (${intake.control.length} held back as control), ${intake.updated.length} updated, ${intake.reopened.length} reopened, ${intake.skipped.length} matches skipped`,
          ...intake.skipped.map((s) => `  skipped ${s.kind} ${s.ip}:${s.port ?? '-'}: ${s.reason}`),
          `sent: ${delivered} delivered, ${rows.filter((r) => !r.delivered && !r.skipped).length} not delivered, ${rows.filter((r) => r.skipped).length} skipped`,
          ...rows.map((r) => `  ${r.reference}  ${r.measure}  ${r.skipped ? `skipped: ${r.skipped}` : `${r.delivered ? 'delivered' : 'NOT delivered'} to ${r.recipient} (${r.language}): ${r.response ?? ''}`}`),
        ];
        out.result(lines.join('\n'), { intake, sent: rows });
        // 3 (as notify): done, but some message was not delivered; it stays due, so a re-run retries it.
        return rows.some((r) => !r.delivered && !r.skipped) ? 3 : 0;
      });
    } finally {
      mail.close();
    }
  },
});

export const ispVerifyCommand = defineCommand({
  name: 'verify',
  description: "Apply the centre's re-scan results: close fixed cases, mark persisting ones (re-alerted by the next `alert`), escalate after N delivered alerts.",
  options: {
    ...storeOption,
    verifications: { type: 'string', value: 'FILE', description: 'JSON array of verifications {kind, ip, port, at, present, ticket} (required)' },
    'escalate-after': { type: 'number', value: 'N', integer: true, min: 1, description: 'delivered alerts after which a persisting case is escalated', default: 3 },
    by: { type: 'string', value: 'WHO', description: 'recorded on every transition', default: 'iotclean isp verify' },
  },
  async run(o, _args, out) {
    if (!o.verifications) throw new IotcleanError('E_ARGS', '--verifications is required', { hint: 'give the re-scan results the centre sent, as JSON' });
    const vs: Verification[] = readJsonArray(o.verifications, verificationSchema, 'verifications');
    await withStore(o.db, async (store) => {
      // Without the session matcher wired in, a re-scan resolves to the case last seen at that
      // address (right for static addresses; `iotclean isp` passes the session matcher).
      const r = await applyVerifications(store, vs, { resolve: lastSeenResolver(store), escalateAfter: o['escalate-after'], by: o.by });
      const count = (to: string) => r.applied.filter((a) => a.to === to && a.from !== to).length;
      const lines = [
        `applied ${r.applied.length}: ${count('fixed')} fixed, ${count('persisting')} persisting, ${count('escalated')} escalated, ${r.applied.filter((a) => a.from === 'fixed' && a.to === 'new').length} reinfected; ${r.unmatched.length} unmatched`,
        ...r.unmatched.map((u) => `  unmatched ${u.verification.kind} ${u.verification.ip}:${u.verification.port ?? '-'} at ${u.verification.at}: ${u.reason}`),
      ];
      out.result(lines.join('\n'), r);
    });
  },
});

export const ispCasesCommand = defineCommand({
  name: 'cases',
  description: 'List cases, or show one (REFERENCE) with its transitions, alerts and re-scans; --acknowledge records that the subscriber answered.',
  positionals: [{ name: 'reference', description: 'a case reference, IOTC-YYYY-NNNNNN', optional: true }],
  options: {
    ...storeOption,
    state: { type: 'string', choices: caseStates, description: 'only cases in this state' },
    subscriber: { type: 'string', value: 'ID', description: 'only this subscriber' },
    acknowledge: { type: 'boolean', description: 'record that the subscriber acknowledged the case (needs REFERENCE)', default: false },
    by: { type: 'string', value: 'WHO', description: 'who acknowledges (desk staff)', default: 'support desk' },
    note: { type: 'string', value: 'TEXT', description: 'note recorded with the acknowledgement' },
  },
  async run(o, [reference], out) {
    if (reference !== undefined && !parseReference(reference)) throw new IotcleanError('E_ARGS', `"${reference}" is not a case reference`, { hint: 'references look like IOTC-2026-000123' });
    if (o.acknowledge && reference === undefined) throw new IotcleanError('E_ARGS', '--acknowledge needs the case reference', { hint: 'iotclean isp cases IOTC-2026-000123 --acknowledge --by desk:sato' });
    await withStore(
      o.db,
      async (store) => {
        if (reference === undefined) {
          const cases = await store.cases.list({ ...(o.state ? { states: [o.state] } : {}), ...(o.subscriber ? { subscriber: o.subscriber } : {}) });
          out.result(cases.length ? cases.map(caseLine).join('\n') : 'no cases', cases);
          return;
        }
        const ref = reference.trim();
        let c = await store.cases.get(ref);
        if (!c) throw new IotcleanError('E_NOT_FOUND', `no case ${ref}`, { hint: 'list them with: iotclean isp cases' });
        if (o.acknowledge) c = await store.cases.save(transition(c, 'acknowledged', { at: new Date().toISOString(), by: o.by, note: o.note ?? null }));
        const alerts = await store.cases.alerts(ref);
        const verifications = await store.cases.verifications(ref);
        const lines = [
          caseLine(c),
          `  opened ${c.openedAt}, last seen ${c.lastIp} at ${c.lastSeenAt}; tickets ${c.tickets.join(', ')}`,
          ...c.transitions.map((t) => `  ${t.at}  ${t.from ?? '-'} → ${t.to}  by ${t.by}${t.note ? `  (${t.note})` : ''}`),
          ...alerts.map((a) => `  alert ${a.at}  ${a.channel} ${a.recipient}  ${a.delivered ? 'delivered' : 'NOT delivered'}  ${JSON.stringify(a.response ?? '')}`),
          ...verifications.map((v) => `  re-scan ${v.at}  ${v.ip}:${v.port ?? '-'}  ${v.present ? 'still present' : 'gone'}`),
        ];
        out.result(lines.join('\n'), { case: c, alerts, verifications });
      },
      o.acknowledge ? {} : { readOnly: true },
    );
  },
});

export const ispEscalationsCommand = defineCommand({
  name: 'escalations',
  description: 'Subscribers still at risk after N delivered alerts, with the evidence (alert dates, SMTP answers, re-scans). Lists only; never disconnects.',
  options: {
    ...storeOption,
    after: { type: 'number', value: 'N', integer: true, min: 1, description: 'delivered alerts that did not help', default: 3 },
  },
  async run(o, _args, out) {
    await withStore(
      o.db,
      async (store) => {
        const rows = await listEscalations(store, o.after);
        out.result(escalationsText(rows, o.after), rows);
      },
      { readOnly: true },
    );
  },
});

export const ispEffectCommand = defineCommand({
  name: 'effect',
  description: 'Remediation curve: share of notified cases verified fixed within 7, 14, 30 days per ISP, model, kind and measure, against the held-back baseline; reinfection rate.',
  options: {
    ...storeOption,
    'as-of': { type: 'string', value: 'TIME', description: 'compute as of this time (default: now)' },
    days: { type: 'string', value: 'N,N,…', list: true, description: 'curve points in days', default: '7,14,30' },
  },
  async run(o, _args, out) {
    const asOf = o['as-of'] ?? new Date().toISOString();
    if (Number.isNaN(Date.parse(asOf))) throw new IotcleanError('E_ARGS', `--as-of "${asOf}" is not an ISO 8601 time`, { hint: 'e.g. 2027-01-01T00:00:00Z' });
    const days = o.days.split(',').map((d) => Number(d.trim()));
    if (days.some((d) => !Number.isInteger(d) || d < 1 || d > 3650)) throw new IotcleanError('E_ARGS', `--days "${o.days}" must be whole days 1..3650`, { hint: 'e.g. --days 7,14,30' });
    await withStore(
      o.db,
      async (store) => {
        const report = computeEffect(await store.cases.list(), { asOf, days });
        out.result(effectText(report), report);
      },
      { readOnly: true },
    );
  },
});

/** The case-side subcommands, for the `iotclean isp` table. */
export const ispCaseSubcommands = [ispAlertCommand, ispVerifyCommand, ispCasesCommand, ispEscalationsCommand, ispEffectCommand] as const;
