/**
 * The ISP portal (/isp…, /api/v1) and the operators' account and audit pages (/ops/accounts,
 * /ops/audit), as one web module. An ISP user sees only its own ISP's findings, batches, cases and
 * tokens: the ISP comes from the session (ispScope), never from the request, and another ISP's
 * record answers exactly as a missing one.
 */
import { reportStatuses, type ReportStatus } from '../../store/web-portal.js';
import { mountAdmin } from '../admin/index.js';
import { html, page } from '../html.js';
import { formatNumber, tr } from '../i18n.js';
import type { WebModule } from '../types.js';
import { mountBatches } from './batches.js';
import { mountCases } from './cases.js';
import { ispOnly, ownIsp, statusLabel, when } from './common.js';
import { mountFindings } from './findings.js';
import { portalMessages } from './messages.js';
import { mountApi, mountTokens } from './tokens.js';

export { reportedStatus } from './cases.js';

/** Reported statuses that close a finding's handling; the others (and none) count as open. */
export const closedStatuses: readonly ReportStatus[] = ['fixed', 'not-ours', 'false-positive'];

export const portalModule: WebModule = {
  name: 'portal',
  mount(app, ctx) {
    app.get('/isp', ispOnly, async (c) => {
      const isp = ownIsp(c);
      if (typeof isp !== 'string') return isp;
      const t = tr(c, portalMessages);
      const lang = c.get('lang');
      const byKind = await ctx.store.findings.countBy('kind', { isp });
      const total = [...byKind.values()].reduce((a, b) => a + b, 0);
      const latest = (await ctx.store.notifications.list({ isp })).find((b) => b.isp === isp);
      const maxId = await ctx.store.notifications.lastFindingId(isp);
      const counts = maxId === 0 ? new Map<ReportStatus | 'unreported', number>() : await ctx.store.portal.statusCounts(isp, maxId);
      const open = [...counts].filter(([s]) => !closedStatuses.includes(s as ReportStatus)).reduce((a, [, n]) => a + n, 0);
      await ctx.audit(c, 'view', '/isp');
      return page(c, {
        title: t('portalTitle', { isp }),
        body: html`<div class="cards">
<div class="card"><div>${t('total')}</div><div class="figure" id="total-findings">${formatNumber(lang, total)}</div><a href="/isp/findings">${t('findingsTitle')}</a></div>
<div class="card"><div>${t('latestBatch')}</div>${
          latest
            ? html`<div class="figure">${formatNumber(lang, latest.findingCount)}</div><div id="latest-batch">${latest.ticket}</div><div class="muted">${when(c, latest.createdAt)}</div>`
            : html`<p>${t('noBatch')}</p>`
        }<a href="/isp/batches">${t('batchesTitle')}</a></div>
<div class="card"><div>${t('openCases')}</div><div class="figure" id="open-cases">${formatNumber(lang, open)}</div><a href="/isp/cases">${t('casesTitle')}</a></div>
</div>
<h2>${t('byKind')}</h2>
<table id="by-kind"><thead><tr><th>${t('kind')}</th><th class="num">${t('count')}</th></tr></thead>
<tbody>${[...byKind].map(([k, n]) => html`<tr><td><a href="/isp/findings?kind=${k ?? ''}">${k ?? '—'}</a></td><td class="num">${formatNumber(lang, n)}</td></tr>`)}</tbody></table>
${
  counts.size
    ? html`<h2>${t('reportedStatus')}</h2><table id="by-status"><thead><tr><th>${t('status')}</th><th class="num">${t('count')}</th></tr></thead>
<tbody>${[...reportStatuses, 'unreported' as const].map((s) => html`<tr><td><a href="/isp/cases?status=${s}">${statusLabel(c, s)}</a></td><td class="num">${formatNumber(lang, counts.get(s) ?? 0)}</td></tr>`)}</tbody></table>`
    : ''
}`,
      });
    });
    mountFindings(app, ctx);
    mountBatches(app, ctx);
    mountCases(app, ctx);
    mountTokens(app, ctx);
    mountApi(app, ctx);
    mountAdmin(app, ctx);
  },
};
