/**
 * /isp/cases: the ISP reports back how it handled each notified finding (a status from
 * reportStatuses and a note), kept with who and when; the latest report is the finding's status
 * on the centre's pages too (reportedStatus). When this store also holds ISP-side cases (an ISP
 * running iotclean itself), they are listed below.
 */
import type { Context } from 'hono';
import { z } from 'zod';
import { reportStatuses, type CaseReport, type ReportStatus } from '../../store/web-portal.js';
import type { Store } from '../../store/store.js';
import { csrfField, html, page, problemPage, type Html } from '../html.js';
import { formatNumber, tr } from '../i18n.js';
import type { WebApp, WebContext, WebEnv } from '../types.js';
import { blank, deviceCell, firstIssue, idParam, ispOnly, ownIsp, queryOf, statusLabel, when } from './common.js';
import { findingsByIds, ownFinding } from './findings.js';
import { portalMessages } from './messages.js';

/** Cases per page. */
export const casesPageSize = 50;

/**
 * The status each finding's ISP last reported, for the operators' pages: finding id → the latest
 * report (status, note, who, when); findings never reported are absent.
 */
export function reportedStatus(store: Store, findingIds: readonly number[]): Promise<Map<number, CaseReport>> {
  return store.portal.latestReports(findingIds);
}

const reportForm_ = z.object({
  status: z.enum(reportStatuses, { message: `one of ${reportStatuses.join(', ')}` }),
  note: blank(z.string().max(1000, 'at most 1000 characters')),
  back: blank(z.enum(['finding', 'cases'])),
  _csrf: z.string().optional(),
});

const casesQuery = z.object({
  status: blank(z.enum([...reportStatuses, 'unreported'])),
  before: blank(idParam),
});

/** The form that reports a finding's status (carries the CSRF token). */
export function reportForm(c: Context<WebEnv>, findingId: number, current: ReportStatus | undefined, back: 'finding' | 'cases'): Html {
  const t = tr(c, portalMessages);
  return html`<form method="post" action="/isp/cases/${findingId}" class="report" id="report-${findingId}">
${csrfField(c)}<input type="hidden" name="back" value="${back}">
<label>${t('status')} <select name="status" id="status-${findingId}">${reportStatuses.map((s) => html`<option value="${s}"${current === s ? html` selected` : ''}>${statusLabel(c, s)}</option>`)}</select></label>
<label>${t('note')} <input name="note" id="note-${findingId}" maxlength="1000"></label>
<button type="submit" id="report-submit-${findingId}">${t('update')}</button>
</form>`;
}

async function ispSideCases(c: Context<WebEnv>, store: Store, isp: string): Promise<Html> {
  const t = tr(c, portalMessages);
  const cases = (await store.cases.list()).filter((x) => x.isp === isp);
  if (cases.length === 0) return html``;
  return html`<h2>${t('ispCases')}</h2>
<table id="isp-cases"><thead><tr><th>${t('reference')}</th><th>${t('kind')}</th><th class="num">${t('port')}</th><th>${t('device')}</th><th>${t('state')}</th><th>${t('updated')}</th><th class="num">${t('steps')}</th></tr></thead>
<tbody>${cases.slice(-200).reverse().map(
    (x) => html`<tr><td>${x.reference}</td><td>${x.findingKind}</td><td class="num">${x.port ?? '—'}</td><td class="device-text">${[x.device.vendor, x.device.model].filter(Boolean).join(' ') || '—'}</td><td>${x.state}</td><td>${when(c, x.updatedAt)}</td><td class="num">${x.transitions.length}</td></tr>`,
  )}</tbody></table>`;
}

export function mountCases(app: WebApp, ctx: WebContext): void {
  app.get('/isp/cases', ispOnly, async (c) => {
    const isp = ownIsp(c);
    if (typeof isp !== 'string') return isp;
    const t = tr(c, portalMessages);
    const parsed = casesQuery.safeParse(c.req.query());
    if (!parsed.success) return problemPage(c, 400, t('badQuery', { what: firstIssue(parsed.error) }));
    const q = parsed.data;
    const maxId = await ctx.store.notifications.lastFindingId(isp);
    const ids =
      maxId === 0
        ? []
        : await ctx.store.portal.findingIds({ isp, maxId, limit: casesPageSize + 1, ...(q.status !== undefined ? { status: q.status } : {}), ...(q.before !== undefined ? { beforeId: q.before } : {}) });
    const more = ids.length > casesPageSize;
    const list = await findingsByIds(ctx, ids.slice(0, casesPageSize));
    const reports = await ctx.store.portal.latestReports(list.map((f) => f.id!));
    const counts = maxId === 0 ? new Map<string, number>() : await ctx.store.portal.statusCounts(isp, maxId);
    await ctx.audit(c, 'view', '/isp/cases', { status: q.status ?? null, shown: list.length });
    const lang = c.get('lang');
    const last = list.at(-1)?.id;
    return page(c, {
      title: t('casesTitle'),
      body: html`<p>${t('casesIntro')}</p>
${c.req.query('reported') === '1' ? html`<p class="ok" role="status" id="report-done">${t('reported')}</p>` : ''}
<form method="get" action="/isp/cases" class="filters"><label>${t('status')} <select name="status" id="filter-status"><option value="">${t('any')}</option>${[...reportStatuses, 'unreported' as const].map(
        (s) => html`<option value="${s}"${q.status === s ? html` selected` : ''}>${statusLabel(c, s)} (${formatNumber(lang, counts.get(s) ?? 0)})</option>`,
      )}</select></label><button type="submit">${t('filter')}</button></form>
${
  list.length === 0
    ? html`<p id="no-cases">${t('noCases')}</p>`
    : html`<table id="cases"><thead><tr><th class="num">ID</th><th>${t('kind')}</th><th>${t('ip')}</th><th class="num">${t('port')}</th><th>${t('device')}</th><th>${t('status')}</th><th>${t('updated')}</th><th>${t('update')}</th></tr></thead>
<tbody>${list.map((f) => {
        const r = reports.get(f.id!);
        return html`<tr data-finding="${f.id!}"><td class="num"><a href="/isp/findings/${f.id!}">${f.id!}</a></td><td>${f.kind}</td><td>${f.ip}</td><td class="num">${f.port ?? '—'}</td><td>${deviceCell(f)}</td><td class="case-status">${statusLabel(c, r?.status ?? 'unreported')}${r?.note ? html`<br><span class="muted">${r.note}</span>` : ''}</td><td>${r ? html`${when(c, r.at)} <span class="muted">${r.accountName}</span>` : '—'}</td><td>${reportForm(c, f.id!, r?.status, 'cases')}</td></tr>`;
      })}</tbody></table>`
}
<p class="paging">${more && last !== undefined ? html`<a href="/isp/cases${queryOf({ status: q.status, before: last })}" id="next-page">${t('next')}</a>` : ''}</p>
${await ispSideCases(c, ctx.store, isp)}`,
    });
  });

  app.post('/isp/cases/:id', ispOnly, async (c) => {
    const isp = ownIsp(c);
    if (typeof isp !== 'string') return isp;
    const t = tr(c, portalMessages);
    const id = idParam.safeParse(c.req.param('id'));
    const f = id.success ? await ownFinding(ctx, isp, id.data) : undefined;
    if (!f) {
      await ctx.audit(c, 'case.refused', `finding:${c.req.param('id').slice(0, 32)}`);
      return problemPage(c, 404, t('notFound'));
    }
    const form = reportForm_.safeParse(await c.req.parseBody());
    if (!form.success) return problemPage(c, 400, t('badReport', { what: firstIssue(form.error) }));
    if (f.id! > (await ctx.store.notifications.lastFindingId(isp))) return problemPage(c, 409, t('notNotified'));
    const account = c.get('session')!.account;
    const r = await ctx.store.portal.report({ findingId: f.id!, isp, status: form.data.status, note: form.data.note ?? null, accountId: account.id, accountName: account.name }, ctx.now());
    await ctx.audit(c, 'case.report', `finding:${f.id!}`, { status: r.status, ...(r.note !== null ? { note: r.note } : {}) });
    return c.redirect(form.data.back === 'finding' ? `/isp/findings/${f.id!}?reported=1` : `/isp/cases?reported=1`, 303);
  });
}
