/**
 * /isp/batches: the ISP's notification batches (store.notifications), and each one's download in
 * csv, json or intelmq (/isp/batches/:ticket/download?format=…), read from the findings as the API
 * does. Another ISP's ticket answers 404 exactly as an unknown one.
 */
import { z } from 'zod';
import type { Finding } from '../../core/records.js';
import { textStream } from '../../notify/api.js';
import { formatNames, formats, type BatchMeta } from '../../notify/formats/index.js';
import type { BatchRow } from '../../store/notifications.js';
import type { Store } from '../../store/store.js';
import { html, page, problemPage } from '../html.js';
import { formatNumber, tr } from '../i18n.js';
import type { WebApp, WebContext } from '../types.js';
import { firstIssue, ispOnly, ownIsp, when } from './common.js';
import { portalMessages } from './messages.js';

const downloadQuery = z.object({ format: z.enum(formatNames as [keyof typeof formats, ...(keyof typeof formats)[]]).default('csv'), bom: z.enum(['0', '1']).optional() });

/** The batch's findings: its id range of its ISP's findings, and only the ISP's. */
export async function* batchFindings(store: Store, b: BatchRow): AsyncGenerator<Finding> {
  for await (const f of store.findings.list({ isp: b.isp, afterId: b.afterFindingId })) {
    if (f.id === undefined || f.id > b.maxFindingId) return;
    if (f.isp === b.isp) yield f;
  }
}

export function mountBatches(app: WebApp, ctx: WebContext): void {
  app.get('/isp/batches', ispOnly, async (c) => {
    const isp = ownIsp(c);
    if (typeof isp !== 'string') return isp;
    const t = tr(c, portalMessages);
    const rows = (await ctx.store.notifications.list({ isp })).filter((b) => b.isp === isp);
    await ctx.audit(c, 'view', '/isp/batches', { shown: rows.length });
    const lang = c.get('lang');
    return page(c, {
      title: t('batchesTitle'),
      body:
        rows.length === 0
          ? html`<p id="no-batches">${t('noBatches')}</p>`
          : html`<table id="batches"><thead><tr><th>${t('ticket')}</th><th>${t('created')}</th><th class="num">${t('findings')}</th><th>${t('counts')}</th><th>${t('deliveries')}</th><th>${t('download')}</th></tr></thead>
<tbody>${rows.map(
              (b) => html`<tr data-ticket="${b.ticket}"><td>${b.ticket}</td><td>${when(c, b.createdAt)}</td><td class="num">${formatNumber(lang, b.findingCount)}</td><td>${Object.entries(b.counts)
                .map(([k, n]) => `${k} ${formatNumber(lang, n)}`)
                .join(', ')}</td><td>${b.deliveries.map((d) => `${d.channel}: ${d.status}`).join(', ') || '—'}</td><td>${formatNames.map(
                (f, i) => html`${i ? ' · ' : ''}<a href="/isp/batches/${encodeURIComponent(b.ticket)}/download?format=${f}" download>${f}</a>`,
              )}</td></tr>`,
            )}</tbody></table>`,
    });
  });

  app.get('/isp/batches/:ticket/download', ispOnly, async (c) => {
    const isp = ownIsp(c);
    if (typeof isp !== 'string') return isp;
    const t = tr(c, portalMessages);
    const q = downloadQuery.safeParse(c.req.query());
    if (!q.success) return problemPage(c, 400, t('badQuery', { what: firstIssue(q.error) }));
    const ticket = c.req.param('ticket').slice(0, 128);
    const b = await ctx.store.notifications.get(ticket);
    if (!b || b.isp !== isp) {
      await ctx.audit(c, 'download.refused', `batch:${ticket}`);
      return problemPage(c, 404, t('batchNotFound'));
    }
    await ctx.audit(c, 'download', `batch:${b.ticket}`, { format: q.data.format });
    const format = formats[q.data.format];
    const meta: BatchMeta = { ticket: b.ticket, isp: b.isp, createdAt: b.createdAt };
    const store = ctx.store;
    async function* body(): AsyncGenerator<string> {
      yield format.head(meta, { bom: q.data!.bom === '1' });
      let i = 0;
      for await (const f of batchFindings(store, b!)) yield format.row(f, meta, i++);
      yield format.tail(meta, i);
    }
    return new Response(textStream(body()), {
      status: 200,
      headers: { 'Content-Type': format.mediaType, 'Cache-Control': 'no-store', 'Content-Disposition': `attachment; filename="${b.ticket}.${format.extension}"` },
    });
  });
}
