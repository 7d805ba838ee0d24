/**
 * Statistics pages: /ops/stats for operators (every chart) and /stats for the public (aggregates
 * only: no address, nothing per host or per ISP). Each chart is an SVG image drawn on the server
 * (/ops/stats/chart/NAME.svg, /stats/chart/NAME.svg) with the same numbers in a table beside it.
 */
import type { Context } from 'hono';
import { createWebStats } from '../../store/web-stats.js';
import { html, page, problemPage, type Html } from '../html.js';
import { tr, type Messages } from '../i18n.js';
import { requireRole } from '../security.js';
import type { WebApp, WebContext, WebEnv } from '../types.js';
import { chartTable, renderChartSvg } from './charts.js';
import { charts, chartMessages } from './data.js';

const messages = {
  opsTitle: { ja: '統計(オペレータ)', en: 'Statistics (operators)' },
  publicTitle: { ja: '統計', en: 'Statistics' },
  publicIntro: {
    ja: 'iotcleanの調査で見つかった問題の件数です。集計値のみを公開し、IPアドレスや個々の機器の情報は含みません。',
    en: 'How many problems iotclean’s surveys found. Only totals are published: no IP address and nothing about any single device.',
  },
  opsIntro: { ja: 'グラフの数値は各グラフの下の表にも示します。色だけでなく模様でも系列を区別できます。', en: 'Each chart’s numbers are also in the table below it; series differ by pattern as well as by colour.' },
  remediationRule: {
    ja: '対策の進み具合の定義: 基準月(データのある最初の月)に見つかった検出(種類・IPアドレス・ポートの組)のうち、各月の調査で再び同じ組が見つかったものの割合です。基準月は100%で、下がるほど対策が進んだことを示します。',
    en: 'Remediation, as defined here: of the findings (kind, address, port) of the baseline month (the first month with data), the share whose same kind, address and port was found again in each later month. The baseline month is 100%; lower means more were fixed.',
  },
  protocolNote: { ja: 'プロトコル別のグラフはポートを持つ検出(ID・パスワード、公開サービスなど)のみを数えます。', en: 'The protocol chart counts port-bound findings only (weak passwords, exposed services, ...).' },
  noData: { ja: 'まだデータがありません。', en: 'No data yet.' },
  noChart: { ja: 'そのグラフはありません。', en: 'There is no such chart.' },
} as const satisfies Messages;

const width = 760;
const height = 340;

async function chartSection(c: Context<WebEnv>, ctx: WebContext, name: string, base: string): Promise<Html> {
  const lang = c.get('lang');
  const spec = charts[name]!;
  const stats = createWebStats(ctx.store);
  const { title, alt, data } = await stats.memo(`chart-data:${name}:${lang}`, () => spec.build(stats, lang));
  const t = tr(c, chartMessages);
  const corner = data.type === 'line' || name.startsWith('monthly') ? t('month') : name === 'isp' ? t('ispName') : name === 'release-year' ? t('year') : t('type');
  return html`<section class="chart" id="chart-${name}">
<h2>${title}</h2>
<figure>
<img class="chart-img" src="${base}/chart/${name}.svg?lang=${lang}" width="${width}" height="${height}" alt="${alt}">
<figcaption>${alt}</figcaption>
</figure>
<div class="table-scroll">${chartTable(data, { lang, caption: title, corner, id: `table-${name}` })}</div>
</section>`;
}

async function chartSvg(c: Context<WebEnv>, ctx: WebContext, isPublic: boolean): Promise<Response> {
  const file = c.req.param('file') ?? '';
  const name = file.replace(/\.svg$/, '');
  const spec = charts[name];
  if (!spec || (isPublic && !spec.public)) return c.text(tr(c, messages)('noChart'), 404);
  const lang = c.get('lang');
  const stats = createWebStats(ctx.store);
  // Drawing is the costly part (tens of ms): the SVG is kept until the findings change.
  const svg = await stats.memo(`chart-svg:${name}:${lang}`, async () => {
    const { title, data } = await stats.memo(`chart-data:${name}:${lang}`, () => spec.build(stats, lang));
    return renderChartSvg(data, { width, height, lang, label: title });
  });
  return c.body(svg, 200, { 'Content-Type': 'image/svg+xml; charset=utf-8', 'Cache-Control': isPublic ? 'public, max-age=300' : 'private, no-store', Vary: 'Cookie' });
}

/** Mount the statistics pages and chart images. */
export function mountStats(app: WebApp, ctx: WebContext): void {
  const operators = requireRole('admin', 'analyst');
  app.get('/ops/stats', operators, async (c) => {
    const t = tr(c, messages);
    const sections = [];
    for (const name of Object.keys(charts)) sections.push(await chartSection(c, ctx, name, '/ops/stats'));
    return page(c, {
      title: t('opsTitle'),
      body: html`<p>${t('opsIntro')}</p><p>${t('protocolNote')}</p><p class="definition" id="remediation-rule">${t('remediationRule')}</p>${sections}`,
    });
  });
  app.get('/ops/stats/chart/:file{[a-z0-9-]+\\.svg}', operators, (c) => chartSvg(c, ctx, false));
  app.get('/stats', async (c) => {
    const t = tr(c, messages);
    const sections = [];
    for (const [name, spec] of Object.entries(charts)) if (spec.public) sections.push(await chartSection(c, ctx, name, '/stats'));
    return page(c, {
      title: t('publicTitle'),
      body: html`<p>${t('publicIntro')}</p><p>${t('protocolNote')}</p><p class="definition" id="remediation-rule">${t('remediationRule')}</p>${sections}`,
    });
  });
  app.get('/stats/chart/:file{[a-z0-9-]+\\.svg}', (c) => chartSvg(c, ctx, true));
  app.get('/stats/chart/*', (c) => problemPage(c, 404, tr(c, messages)('noChart')));
}
