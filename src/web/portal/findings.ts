/**
 * /isp/findings: the ISP's own findings, newest first, with filters (kind, period, port) and
 * keyset paging (?before=ID, no OFFSET); /isp/findings/download?format=csv|json streams the same
 * selection in the notification formats; /isp/findings/:id is one finding. Another ISP's finding
 * answers exactly as an unknown id (404), and every view and download goes to the audit log.
 */
import type { Context } from 'hono';
import { z } from 'zod';
import { findingKinds, type Finding } from '../../core/records.js';
import { textStream } from '../../notify/api.js';
import { csvFormat } from '../../notify/formats/csv.js';
import { jsonFormat } from '../../notify/formats/json.js';
import type { BatchMeta } from '../../notify/formats/types.js';
import { publicFinding } from '../../notify/public.js';
import type { IspFindingQuery } from '../../store/web-portal.js';
import { html, page, problemPage } from '../html.js';
import { formatNumber, tr } from '../i18n.js';
import type { WebApp, WebContext, WebEnv } from '../types.js';
import { reportForm } from './cases.js';
import { blank, deviceCell, firstIssue, idParam, ispOnly, ownIsp, periodSchema, queryOf, statusLabel, when } from './common.js';
import { portalMessages } from './messages.js';

/** Findings per list page. */
export const findingsPageSize = 50;

export const findingFilters = z.object({
  kind: blank(z.enum(findingKinds)),
  period: blank(periodSchema),
  port: blank(z.coerce.number().int().min(0).max(65535)),
  before: blank(idParam),
});
export type FindingFilters = z.infer<typeof findingFilters>;

/** `bom=1`: CSV starting with a UTF-8 byte order mark (spreadsheet programs on Windows need it for Japanese text). */
const downloadQuery = findingFilters.extend({ format: z.enum(['csv', 'json']).default('csv'), bom: blank(z.enum(['0', '1'])) });

/** The store query of the filters, for one ISP. */
export function ispQuery(isp: string, f: FindingFilters, limit: number): IspFindingQuery {
  return {
    isp,
    limit,
    ...(f.kind !== undefined ? { kind: f.kind } : {}),
    ...(f.period !== undefined ? { period: f.period } : {}),
    ...(f.port !== undefined ? { port: f.port === 0 ? null : f.port } : {}),
    ...(f.before !== undefined ? { beforeId: f.before } : {}),
  };
}

/** Findings by id, in the order given; ids that vanished are skipped. */
export function findingsByIds(ctx: WebContext, ids: readonly number[]): Promise<Finding[]> {
  return ctx.store.portal.findingsByIds(ids);
}

/** The ISP's finding, or undefined when it is unknown or another ISP's (the caller answers 404 for both). */
export async function ownFinding(ctx: WebContext, isp: string, id: number): Promise<Finding | undefined> {
  const f = await ctx.store.findings.get(id);
  return f && f.isp === isp ? f : undefined;
}

function filterForm(c: Context<WebEnv>, f: FindingFilters) {
  const t = tr(c, portalMessages);
  return html`<form method="get" action="/isp/findings" class="filters" id="finding-filters">
<label>${t('kind')} <select name="kind" id="filter-kind"><option value="">${t('any')}</option>${findingKinds.map((k) => html`<option value="${k}"${f.kind === k ? html` selected` : ''}>${k}</option>`)}</select></label>
<label>${t('period')} <input name="period" id="filter-period" value="${f.period ?? ''}" placeholder="${t('periodHint')}" maxlength="10"></label>
<label>${t('port')} <input name="port" id="filter-port" type="number" min="0" max="65535" value="${f.port ?? ''}" title="${t('portHint')}"></label>
<button type="submit" id="filter-submit">${t('filter')}</button>
</form>`;
}

export function mountFindings(app: WebApp, ctx: WebContext): void {
  app.get('/isp/findings', ispOnly, async (c) => {
    const isp = ownIsp(c);
    if (typeof isp !== 'string') return isp;
    const t = tr(c, portalMessages);
    const parsed = findingFilters.safeParse(c.req.query());
    if (!parsed.success) return problemPage(c, 400, t('badQuery', { what: firstIssue(parsed.error) }));
    const f = parsed.data;
    const ids = await ctx.store.portal.findingIds(ispQuery(isp, f, findingsPageSize + 1));
    const more = ids.length > findingsPageSize;
    const list = await findingsByIds(ctx, ids.slice(0, findingsPageSize));
    const reports = await ctx.store.portal.latestReports(list.map((x) => x.id!));
    await ctx.audit(c, 'view', '/isp/findings', { filters: { ...f }, shown: list.length });
    const lang = c.get('lang');
    const keep = { kind: f.kind, period: f.period, port: f.port };
    const last = list.at(-1)?.id;
    return page(c, {
      title: t('findingsTitle'),
      body: html`${filterForm(c, f)}
<p class="downloads"><a href="/isp/findings/download${queryOf({ ...keep, format: 'csv' })}" id="download-csv" download>${t('downloadCsv')}</a> (<a href="/isp/findings/download${queryOf({ ...keep, format: 'csv', bom: 1 })}" id="download-csv-bom" download>${t('excel')}</a>) · <a href="/isp/findings/download${queryOf({ ...keep, format: 'json' })}" id="download-json" download>${t('downloadJson')}</a></p>
${
  list.length === 0
    ? html`<p id="no-findings">${t('none')}</p>`
    : html`<table id="findings">
<thead><tr><th class="num">ID</th><th>${t('kind')}</th><th>${t('ip')}</th><th class="num">${t('port')}</th><th>${t('protocol')}</th><th>${t('device')}</th><th>${t('severity')}</th><th>${t('observed')}</th><th>${t('status')}</th></tr></thead>
<tbody>${list.map(
        (x) => html`<tr data-finding="${x.id!}"><td class="num"><a href="/isp/findings/${x.id!}">${x.id!}</a></td><td>${x.kind}</td><td>${x.ip}</td><td class="num">${x.port ?? '—'}</td><td>${x.protocol ?? '—'}</td><td>${deviceCell(x)}</td><td>${x.severity}</td><td>${when(c, x.observedAt)}</td><td>${statusLabel(c, reports.get(x.id!)?.status ?? 'unreported')}</td></tr>`,
      )}</tbody>
</table>`
}
<p class="paging">${f.before !== undefined ? html`<a href="/isp/findings${queryOf(keep)}" id="first-page">${t('first')}</a> ` : ''}${more && last !== undefined ? html`<a href="/isp/findings${queryOf({ ...keep, before: last })}" id="next-page">${t('next')}</a>` : ''} <span class="muted">${t('shown', { n: formatNumber(lang, list.length) })}</span></p>`,
    });
  });

  app.get('/isp/findings/download', ispOnly, async (c) => {
    const own = ownIsp(c);
    if (typeof own !== 'string') return own;
    const isp: string = own;
    const parsed = downloadQuery.safeParse(c.req.query());
    if (!parsed.success) return problemPage(c, 400, tr(c, portalMessages)('badQuery', { what: firstIssue(parsed.error) }));
    const { format: name, before: _before, bom, ...f } = parsed.data;
    const format = name === 'csv' ? csvFormat : jsonFormat;
    const now = new Date(ctx.now());
    const meta: BatchMeta = { ticket: `export-${isp}-${now.toISOString().slice(0, 10).replace(/-/g, '')}`, isp, createdAt: now.toISOString() };
    await ctx.audit(c, 'download', 'findings', { format: name, filters: f });
    const store = ctx.store;
    const port = f.port === undefined ? undefined : f.port === 0 ? null : f.port;
    async function* body(): AsyncGenerator<string> {
      yield format.head(meta, { bom: bom === '1' });
      let i = 0;
      // The repository filters by ISP, kind and period on indexed columns; the port here.
      for await (const x of store.findings.list({ isp, ...(f.kind !== undefined ? { kind: f.kind } : {}), ...(f.period !== undefined ? { period: f.period } : {}) })) {
        if (x.isp !== isp || (port !== undefined && x.port !== port)) continue;
        yield format.row(x, meta, i++);
      }
      yield format.tail(meta, i);
    }
    return new Response(textStream(body()), {
      status: 200,
      headers: { 'Content-Type': format.mediaType, 'Cache-Control': 'no-store', 'Content-Disposition': `attachment; filename="${meta.ticket}.${format.extension}"` },
    });
  });

  app.get('/isp/findings/:id', ispOnly, async (c) => {
    const isp = ownIsp(c);
    if (typeof isp !== 'string') return isp;
    const t = tr(c, portalMessages);
    const id = idParam.safeParse(c.req.param('id'));
    const f = id.success ? await ownFinding(ctx, isp, id.data) : undefined;
    if (!f) {
      // Unknown and another ISP's read the same; the attempt is kept.
      await ctx.audit(c, 'view.refused', `finding:${c.req.param('id').slice(0, 32)}`);
      return problemPage(c, 404, t('notFound'));
    }
    await ctx.audit(c, 'view', `finding:${f.id!}`);
    const history = await ctx.store.portal.history(f.id!);
    const notified = f.id! <= (await ctx.store.notifications.lastFindingId(isp));
    const shown = publicFinding(f);
    const reported = c.req.query('reported') === '1';
    return page(c, {
      title: t('findingTitle', { id: f.id! }),
      body: html`${reported ? html`<p class="ok" role="status" id="report-done">${t('reported')}</p>` : ''}
<table class="facts" id="finding">
<tr><th>${t('kind')}</th><td>${f.kind}</td></tr>
<tr><th>${t('ip')}</th><td>${f.ip}</td></tr>
<tr><th>${t('port')}</th><td>${f.port ?? '—'}</td></tr>
<tr><th>${t('protocol')}</th><td>${f.protocol ?? '—'}</td></tr>
<tr><th>${t('severity')}</th><td>${f.severity}</td></tr>
<tr><th>${t('type')}</th><td>${f.device.type ?? '—'}</td></tr>
<tr><th>${t('device')}</th><td>${deviceCell(f)}</td></tr>
<tr><th>${t('firmware')}</th><td class="device-text">${f.device.firmware ?? '—'}</td></tr>
<tr><th>${t('observed')}</th><td>${when(c, f.observedAt)}</td></tr>
<tr><th>${t('period')}</th><td>${f.period}</td></tr>
<tr><th>${t('survey')}</th><td>${f.surveyId ?? '—'} / ${f.planVersion ?? '—'}</td></tr>
<tr><th>${t('details')}</th><td><pre class="device-text">${JSON.stringify(shown.details, null, 2)}</pre></td></tr>
<tr><th>${t('evidence')}</th><td>${f.evidence.map((e) => `${e.record}:${e.id}`).join(', ')}</td></tr>
<tr><th>${t('status')}</th><td id="current-status">${statusLabel(c, history.at(-1)?.status ?? 'unreported')}</td></tr>
</table>
${notified ? html`<h2>${t('casesTitle')}</h2>${reportForm(c, f.id!, history.at(-1)?.status, 'finding')}` : html`<p class="muted">${t('notNotified')}</p>`}
<h2>${t('history')}</h2>
${
  history.length === 0
    ? html`<p id="no-history">${t('noHistory')}</p>`
    : html`<table id="history"><thead><tr><th>${t('when')}</th><th>${t('status')}</th><th>${t('who')}</th><th>${t('note')}</th></tr></thead>
<tbody>${history.map((h) => html`<tr><td>${when(c, h.at)}</td><td>${statusLabel(c, h.status)}</td><td>${h.accountName}</td><td>${h.note ?? ''}</td></tr>`)}</tbody></table>`
}`,
    });
  });
}
