/**
 * The demo's notification loop on the lab, end to end: the survey's findings go to each ISP as a
 * batch by real SMTP (the lab mailbox, ./mailbox.ts); each participating ISP, in its own store,
 * imports its session logs (./subscribers.ts), matches the findings to subscribers, opens cases and
 * alerts them by SMTP; then simulated weeks pass. Each week the owners act on their devices in the
 * running lab (./owners.ts decides who fixes, ignores, or fixes and resets; ./owner-actions.ts
 * applies it), the centre re-checks the notified logins for real (the access runner, every try
 * audited in the centre's store), and each ISP applies the re-scan: fixed cases close, persisting
 * ones are re-alerted and escalated. At the end the remediation curve against the held-back
 * baseline (../notify/isp/effect.ts). The devices the owners changed are put back at the end, so a
 * lab the operator keeps running is as it was.
 *
 * The owners' fate is lab truth and is used only to act on the lab's devices; what the ISPs see
 * comes from the re-scan. Only logins are re-checked: the lab cannot update a device's firmware,
 * so other kinds of case stay open and are reported as such.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Finding, FindingKind } from '../core/records.js';
import { loadCatalogue } from '../identify/catalogue.js';
import { storedAccessHosts } from '../pipeline/access-stage.js';
import { checkAccessHost, type AccessDictionary } from '../pipeline/deps.js';
import { mapConcurrent } from '../pipeline/flow.js';
import type { PlanAccess } from '../discover/plan.js';
import { createMailer, deliverBatches } from '../notify/mail.js';
import { batchAttachments, batchFindings, makeBatches } from '../notify/run.js';
import type { Contact } from '../notify/contacts.js';
import { catalogueManuals, loadAlertTemplates, sendDueAlerts, smtpTransport, type AlertContext, type AlertRunRow } from '../notify/isp/alerts.js';
import type { TrackedCase } from '../notify/isp/cases.js';
import { computeEffect, type EffectReport } from '../notify/isp/effect.js';
import { listEscalations } from '../notify/isp/escalations.js';
import { intakeMatches, type RoutedMatch } from '../notify/isp/intake.js';
import { matchAndRoute } from '../notify/isp/match-store.js';
import { matchFinding } from '../notify/isp/match.js';
import type { Subscriber, Verification } from '../notify/isp/types.js';
import { applyVerifications, lastSeenResolver, type Resolve } from '../notify/isp/verify.js';
import type { CompiledScope } from '../scope/scope.js';
import { openStore } from '../store/open.js';
import type { Store } from '../store/store.js';
import { startLabMailbox } from './mailbox.js';
import { simulateOwners, type OwnerModel } from './owners.js';
import type { OwnerAction } from './owner-actions.js';
import type { LabPlan } from './population.js';
import { buildLabSubscribers, importLabIsp, writeLabSubscribers } from './subscribers.js';

const dayMs = 86_400_000;
const weekMs = 7 * dayMs;

export interface NoticeLoopOptions {
  /** The centre's store, holding the survey and its findings. */
  readonly centre: Store;
  readonly surveyId: number;
  readonly plan: LabPlan;
  readonly portMap: Readonly<Record<string, number>>;
  readonly scope: CompiledScope;
  readonly dictionary: AccessDictionary;
  readonly access: PlanAccess;
  readonly planDigest: string;
  readonly planVersion: string;
  /** Folder for the run's files: batches, mail, ISP stores and session logs (made afresh). */
  readonly dir: string;
  /** Apply owners' actions to the running lab (labApplyOwnerActions or LabHandle's). */
  readonly applyOwnerActions: (actions: readonly OwnerAction[]) => Promise<number>;
  /** Tries per device in a re-scan (default: the survey's); the pair that worked comes first in the maker's order. */
  readonly rescanTries?: number;
  /** Simulated weeks of re-scans after the first alerts (default 5: the 30-day point is covered). */
  readonly weeks?: number;
  readonly seed?: string | number;
  readonly model?: OwnerModel;
  /** Share of subscriber cases held back as the baseline (default 0.2: the lab is small). */
  readonly controlShare?: number;
  readonly escalateAfter?: number;
  /** Start of the loop (the survey's time); default now. */
  readonly now?: Date;
  readonly signal?: AbortSignal;
}

export interface WeekSummary {
  readonly week: number;
  readonly at: string;
  readonly ownerActions: number;
  readonly rescanned: number;
  readonly stillWeak: number;
  readonly fixed: number;
  readonly realerted: number;
  readonly elapsedMs: number;
}

export interface NoticeLoopResult {
  readonly batches: readonly { readonly ticket: string; readonly isp: string; readonly findings: number; readonly delivered: boolean }[];
  readonly held: number;
  readonly mails: { readonly toIsps: number; readonly toSubscribers: number; readonly tasksAndNotices: number };
  readonly matches: { readonly matched: number; readonly unmatched: number; readonly ambiguous: number };
  readonly cases: { readonly opened: number; readonly control: number; readonly byMeasure: Readonly<Record<string, number>> };
  readonly weeks: readonly WeekSummary[];
  readonly escalated: number;
  readonly openOtherKinds: number;
  readonly effect: EffectReport;
  readonly mailDir: string;
}

interface IspSide {
  readonly id: string;
  readonly store: Store;
  readonly subscribers: ReadonlyMap<string, Subscriber>;
  readonly context: AlertContext;
  readonly resolve: Resolve;
  readonly findings: Finding[];
}

/** Run the loop; see the file header. Every store it opens is closed, the mailbox stopped. */
export async function runNoticeLoop(o: NoticeLoopOptions): Promise<NoticeLoopResult> {
  const weeks = o.weeks ?? 5;
  const t0 = (o.now ?? new Date()).getTime();
  const iso = (ms: number) => new Date(ms).toISOString();
  rmSync(o.dir, { recursive: true, force: true });
  mkdirSync(join(o.dir, 'batches'), { recursive: true });
  const mailDir = join(o.dir, 'mail');
  const mailbox = await startLabMailbox({ dir: mailDir });
  const sides: IspSide[] = [];
  const centreMailer = createMailer({ smtp: mailbox.url, from: 'notice@centre.lab.invalid' });
  const alerts = smtpTransport(mailbox.url, 'abuse-desk@isp.lab.invalid');
  // Devices the owners changed, put back as the lab started them when the loop ends.
  const touched = new Set<string>();
  try {
    // Centre → ISP: batches of each ISP's own findings, mailed to its abuse desk.
    const contacts = new Map<string, Contact>(o.plan.isps.map((i) => [i.id, { isp: i.id, email: `abuse@${i.id}.lab.invalid`, language: 'ja' }]));
    const made = await makeBatches({ findings: o.centre.findings, notifications: o.centre.notifications }, { out: join(o.dir, 'batches'), now: new Date(t0) });
    const delivery = await deliverBatches(made.rows, {
      mailer: centreMailer,
      contacts,
      notifications: o.centre.notifications,
      attachments: (row) => batchAttachments(o.centre.findings, row),
    });
    const accepted = new Set(delivery.outcomes.filter((d) => d.status === 'accepted').map((d) => d.ticket));
    const toIsps = mailbox.messages.length;

    // The ISP side, at each ISP, in its own store: session logs in, findings matched and routed.
    const collectedAt = t0 + (weeks + 1) * weekMs;
    const world = buildLabSubscribers(o.plan, { periodEnd: t0 - 3_600_000, portMap: o.portMap });
    // The ISPs' files as they would have them (session logs, subscribers, inventory), and the
    // lab's truth of who held which address, for tests only (detection never reads it).
    writeLabSubscribers(world, join(o.dir, 'isp-files'));
    writeFileSync(join(o.dir, 'subscriber-truth.json'), `${JSON.stringify(world.truth.holdings)}\n`);
    const manuals = catalogueManuals(loadCatalogue());
    const templates = loadAlertTemplates();
    const matches = { matched: 0, unmatched: 0, ambiguous: 0 };
    let opened = 0;
    let control = 0;
    for (const row of made.rows) {
      if (!accepted.has(row.ticket)) continue;
      const files = world.isps.find((i) => i.ispId === row.isp);
      const isp = o.plan.isps.find((i) => i.id === row.isp);
      if (!files || !isp) continue;
      let side = sides.find((s) => s.id === row.isp);
      if (!side) {
        const store = await openStore(join(o.dir, `isp-${row.isp}.db`));
        await importLabIsp(store, files, collectedAt);
        const index = await store.sessions.index();
        const lastSeen = lastSeenResolver(store);
        const keys = await store.sessions.subscriberKeys();
        side = {
          id: row.isp,
          store,
          subscribers: new Map((await store.sessions.subscribers()).map((s) => [s.id, s])),
          context: { ispName: isp.name, desk: { ja: `${isp.nameJa} サポートデスク`, en: `${isp.name} support desk` }, manualBase: 'https://notice.lab.invalid', manualFor: manuals },
          // The ISP's own matcher answers who held the address when the centre re-scanned it; the
          // logs were collected before the simulated weeks, so past their end (a DHCP lease that
          // ran out) the case that last saw the problem at that address answers.
          resolve: (ip, at, port) => {
            const m = matchFinding(index, { kind: 'weak-credential', ip, port, observedAt: at, details: {} } as unknown as Finding, keys);
            return m.status === 'matched' ? m.subscriber : m.status === 'ambiguous' ? null : lastSeen(ip, at, port);
          },
          findings: [],
        };
        sides.push(side);
      }
      const findings: Finding[] = [];
      for await (const f of batchFindings(o.centre.findings, row)) findings.push(f);
      side.findings.push(...findings);
      const routed = await matchAndRoute(side.store, findings.map((finding) => ({ finding, ticket: row.ticket })));
      for (const m of routed) matches[m.status]++;
      const intake = await intakeMatches(
        side.store,
        routed.filter((m) => m.route).map((m): RoutedMatch => ({ match: m, measure: m.route!.measure, contact: m.route!.contact, ticket: m.ticket })),
        { step: { at: iso(t0), by: 'iotclean isp (lab demo)' }, controlShare: o.controlShare ?? 0.2 },
      );
      opened += intake.opened.length;
      control += intake.control.length;
    }
    const sendDue = async (at: number): Promise<AlertRunRow[]> => {
      const sent: AlertRunRow[] = [];
      for (const s of sides) {
        const rows = await sendDueAlerts(s.store, {
          now: iso(at),
          by: 'iotclean isp alert (lab demo)',
          reAlertAfterMs: weekMs - 3_600_000,
          templates,
          context: s.context,
          subscriber: (id) => s.subscribers.get(id),
          mail: alerts,
          opsContact: `ops@${s.id}.lab.invalid`,
        });
        sent.push(...rows.filter((r) => r.delivered));
      }
      return sent;
    };
    const first = await sendDue(t0 + 3_600_000);

    // The owners of the problem devices, one per device; notified unless all its cases are control.
    const allCases = async (): Promise<TrackedCase[]> => (await Promise.all(sides.map((s) => s.store.cases.list()))).flat();
    const start = await allCases();
    const byIp = new Map<string, { notified: boolean }>();
    for (const c of start) {
      const d = byIp.get(c.lastIp) ?? { notified: false };
      d.notified ||= !c.control;
      byIp.set(c.lastIp, d);
    }
    const sim = simulateOwners(
      [...byIp].map(([ip, d]) => ({ ip, port: null, kind: 'weak-credential' as FindingKind, since: iso(t0), notified: d.notified })),
      { seed: o.seed ?? 'notice-loop', weeks, ...(o.model ? { model: o.model } : {}) },
    );
    const events = sim.truth
      .flatMap((t) => [
        ...(t.fixedAt ? [{ at: Date.parse(t.fixedAt), action: { ip: t.ip, action: 'change-password' } as OwnerAction }] : []),
        ...(t.reinfectedAt ? [{ at: Date.parse(t.reinfectedAt), action: { ip: t.ip, action: 'factory-reset' } as OwnerAction }] : []),
      ])
      .sort((a, b) => a.at - b.at);

    // The logins the centre re-checks: every weak-credential finding it sent.
    const weak = new Map<string, Set<number>>();
    for (const s of sides) for (const f of s.findings) if (f.kind === 'weak-credential' && f.port !== null) weak.set(f.ip, (weak.get(f.ip) ?? new Set()).add(f.port));
    const summaries: WeekSummary[] = [];
    for (let w = 1; w <= weeks && !o.signal?.aborted; w++) {
      const at = t0 + w * weekMs;
      const began = performance.now();
      const due = events.filter((e) => e.at > at - weekMs && e.at <= at).map((e) => e.action);
      if (due.length) await o.applyOwnerActions(due);
      for (const a of due) touched.add(a.ip);
      const present = await rescan(o, weak, at);
      let fixed = 0;
      for (const s of sides) {
        const mine = present.filter((v) => s.findings.some((f) => f.kind === v.kind && f.ip === v.ip && f.port === v.port));
        const r = await applyVerifications(s.store, mine, { resolve: s.resolve, escalateAfter: o.escalateAfter ?? 2, by: 'centre re-scan (lab)' });
        fixed += r.applied.filter((a) => a.from !== 'fixed' && a.to === 'fixed').length;
      }
      const realerted = (await sendDue(at + 3_600_000)).length;
      summaries.push({ week: w, at: iso(at), ownerActions: due.length, rescanned: present.length, stillWeak: present.filter((v) => v.present).length, fixed, realerted, elapsedMs: Math.round(performance.now() - began) });
    }
    const end = await allCases();
    const effect = computeEffect(end, { asOf: iso(t0 + weeks * weekMs + dayMs) });
    let escalated = 0;
    for (const s of sides) escalated += (await listEscalations(s.store, o.escalateAfter ?? 2)).length;
    const byMeasure: Record<string, number> = {};
    for (const c of start) byMeasure[c.measure] = (byMeasure[c.measure] ?? 0) + 1;
    return {
      batches: made.rows.map((r) => ({ ticket: r.ticket, isp: r.isp, findings: r.findingCount, delivered: accepted.has(r.ticket) })),
      held: made.group.held,
      mails: { toIsps, toSubscribers: first.filter((r) => r.measure === 'subscriber-alert').length, tasksAndNotices: first.filter((r) => r.measure !== 'subscriber-alert').length },
      matches,
      cases: { opened, control, byMeasure },
      weeks: summaries,
      escalated,
      openOtherKinds: end.filter((c) => c.findingKind !== 'weak-credential' && c.state !== 'fixed').length,
      effect,
      mailDir,
    };
  } finally {
    if (touched.size) await o.applyOwnerActions([...touched].map((ip) => ({ ip, action: 'factory-reset' as const }))).catch(() => 0);
    centreMailer.close();
    alerts.close();
    for (const s of sides) await s.store.close();
    await mailbox.close();
  }
}

/**
 * The centre's re-scan of the notified logins at simulated time `at`: the access runner on each
 * device's weak ports (observations from the survey tell it which login each port asks for),
 * every try stored as an audit row outside the survey. A check that ends in error or lock-out
 * says nothing, so it gives no verification.
 */
async function rescan(o: NoticeLoopOptions, weak: ReadonlyMap<string, ReadonlySet<number>>, at: number): Promise<Verification[]> {
  const out: Verification[] = [];
  async function* hosts() {
    for await (const h of storedAccessHosts(o.centre, o.surveyId)) {
      const ports = weak.get(h.ip);
      if (ports) yield { ...h, endpoints: h.endpoints.filter((e) => ports.has(e.port)) };
    }
  }
  const options = {
    scope: o.scope,
    dictionary: o.dictionary,
    surveyId: null,
    planDigest: o.planDigest,
    planVersion: o.planVersion,
    pauseMs: o.access.pauseMs,
    maxAttemptsPerHost: o.rescanTries ?? o.access.maxAttemptsPerHost,
    lockoutBackoffMs: o.access.lockoutBackoffMs,
    ...(o.signal ? { signal: o.signal } : {}),
  };
  for await (const settled of mapConcurrent(hosts(), o.access.concurrency, async (host) => {
    const outcomes = await checkAccessHost(host, options);
    for (const r of outcomes) await o.centre.access.record(r.result, r.attempts);
    return outcomes;
  })) {
    if (!settled.ok) continue;
    const byPort = new Map<number, boolean | undefined>();
    for (const { result } of settled.value) {
      const verdict = result.verdict;
      const seen = verdict === 'weak-credential' ? true : verdict === 'no-weak-credential' ? false : undefined;
      const before = byPort.get(result.port);
      byPort.set(result.port, before === true || seen === true ? true : before === false || seen === false ? false : undefined);
    }
    for (const [port, present] of byPort) if (present !== undefined) out.push({ kind: 'weak-credential', ip: settled.item.ip, port, at: new Date(at).toISOString(), present, ticket: null });
  }
  return out;
}
