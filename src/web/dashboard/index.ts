/**
 * The operators' dashboard: surveys with live progress (/ops), findings with filters and keyset
 * paging (/ops/findings), everything known about one address (/ops/devices/:ip), sudden-change
 * alerts (/ops/changes), and the statistics pages (../stats). Operators only, except /stats.
 * Every device-supplied value is interpolated through `html` (escaped), never `raw`.
 */
import type { Context } from 'hono';
import { z } from 'zod';
import { deviceTypes, findingKinds } from '../../core/records.js';
import { parseIpv4 } from '../../core/ip.js';
import { changeRule, createWebStats, type FindingListFilter, type SurveySummary } from '../../store/web-stats.js';
import { html, page, problemPage, raw, type Html } from '../html.js';
import { formatDate, formatNumber, tr, type Translate } from '../i18n.js';
import { requireRole } from '../security.js';
import { kindName, typeName } from '../stats/labels.js';
import { mountStats } from '../stats/index.js';
import type { Lang, WebContext, WebEnv, WebModule } from '../types.js';
import { messages } from './messages.js';

type T = Translate<typeof messages>;

/** Rows per findings page. */
export const findingsPageSize = 50;
/**
 * When the rollups cannot count a filter exactly, the list counts at most this many matches
 * ("more than 1,000"): never an exact count over a million rows on a page.
 */
export const countCap = 1_000;
/** The value of the ISP filter that lists held findings. */
export const heldValue = '(held)';

const blankIsAbsent = (v: unknown) => (v === '' ? undefined : v);
const opt = <S extends z.ZodType>(s: S) => z.preprocess(blankIsAbsent, s.optional());
const text = z.string().max(120);

/** The findings list's query string (unknown parameters, lang included, are ignored). */
export const findingsQuery = z.object({
  kind: opt(z.enum(findingKinds)),
  isp: opt(z.string().max(64)),
  type: opt(z.enum(deviceTypes)),
  vendor: opt(text),
  model: opt(text),
  port: opt(z.coerce.number().int().min(1).max(65535)),
  from: opt(z.iso.date()),
  to: opt(z.iso.date()),
  before: opt(z.coerce.number().int().positive()),
});
export type FindingsQuery = z.infer<typeof findingsQuery>;

const nextDay = (d: string): string => new Date(Date.parse(`${d}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);

export function filterOf(q: FindingsQuery): FindingListFilter {
  return {
    ...(q.kind !== undefined ? { kind: q.kind } : {}),
    ...(q.isp !== undefined ? { isp: q.isp === heldValue ? null : q.isp } : {}),
    ...(q.type !== undefined ? { deviceType: q.type } : {}),
    ...(q.vendor !== undefined ? { vendor: q.vendor } : {}),
    ...(q.model !== undefined ? { model: q.model } : {}),
    ...(q.port !== undefined ? { port: q.port } : {}),
    ...(q.from !== undefined ? { from: `${q.from}T00:00:00.000Z` } : {}),
    ...(q.to !== undefined ? { to: `${nextDay(q.to)}T00:00:00.000Z` } : {}),
    ...(q.before !== undefined ? { before: q.before } : {}),
  };
}

/** The first problem of a failed parse as "name: why". */
function badQuery(c: Context<WebEnv>, t: T, error: z.ZodError): Response | Promise<Response> {
  const issue = error.issues[0]!;
  return problemPage(c, 400, t('badParam', { name: String(issue.path[0] ?? '?'), why: issue.message }));
}

const statusName = (t: T, s: string): string => (['running', 'done', 'interrupted', 'failed'].includes(s) ? t(`status-${s}` as 'status-done') : s);
const fmtRate = (lang: Lang, r: number | null): string => (r === null ? '-' : formatNumber(lang, Math.round(r * 10) / 10));

function surveyRow(t: T, lang: Lang, s: SurveySummary): Html {
  const running = s.status === 'running';
  return html`<tr${running ? raw(` data-progress-url="/ops/surveys/${s.id}/progress.json"`) : ''} id="survey-${s.id}">
<td class="num">${s.id}</td>
<td>${s.planName ?? s.planDigest.slice(0, 12)}${s.planVersion ? html` <span class="muted">(${s.planVersion})</span>` : ''}</td>
<td data-field="status">${statusName(t, s.status)}</td>
<td>${formatDate(lang, s.startedAt)}</td>
<td data-field="finished">${s.finishedAt ? formatDate(lang, s.finishedAt) : '-'}</td>
<td class="num">${formatNumber(lang, s.targets)}</td>
<td class="num" data-field="probes">${formatNumber(lang, s.probesSent)}</td>
<td class="num" data-field="rate">${fmtRate(lang, s.rate)}</td>
<td class="num" data-field="endpoints">${formatNumber(lang, s.endpoints)}</td>
</tr>`;
}

/** Options of a <select>, the current one selected. */
function options(current: string | undefined, values: readonly { value: string; label: string }[], anyLabel: string): Html {
  return html`<option value="">${anyLabel}</option>${values.map((v) => html`<option value="${v.value}"${v.value === current ? raw(' selected') : ''}>${v.label}</option>`)}`;
}

function queryString(q: FindingsQuery, over: Partial<Record<keyof FindingsQuery, string | number | undefined>>): string {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries({ ...q, ...over })) if (v !== undefined && v !== '') p.set(k, String(v));
  const s = p.toString();
  return s ? `?${s}` : '';
}

const fieldsText = (v: unknown, max = 2000): string => {
  const s = JSON.stringify(v, null, 1) ?? '';
  return s.length > max ? `${s.slice(0, max)}…` : s;
};

export const dashboardModule: WebModule = {
  name: 'dashboard',
  mount(app, ctx: WebContext) {
    const operators = requireRole('admin', 'analyst');

    app.get('/ops', operators, async (c) => {
      const t = tr(c, messages);
      const lang = c.get('lang');
      const stats = createWebStats(ctx.store);
      const [surveys, byKind] = await Promise.all([stats.surveys(), stats.rollup(['kind'])]);
      const body = html`<section><h2>${t('totals')}</h2>
<div class="cards">${byKind.map((k) => html`<a class="card" href="/ops/findings?kind=${k.kind}"><div class="figure">${formatNumber(lang, k.n)}</div><div>${kindName(lang, k.kind!)}</div></a>`)}</div>
</section>
<section><h2>${t('surveys')}</h2>
${
  surveys.length === 0
    ? html`<p>${t('noSurveys')}</p>`
    : html`<p class="muted">${t('liveNote')}</p>
<div class="table-scroll"><table id="surveys"><thead><tr><th class="num">${t('survey')}</th><th>${t('plan')}</th><th>${t('status')}</th><th>${t('started')}</th><th>${t('finished')}</th><th class="num">${t('targets')}</th><th class="num">${t('probes')}</th><th class="num">${t('rate')}</th><th class="num">${t('endpoints')}</th></tr></thead>
<tbody>${[...surveys].reverse().map((s) => surveyRow(t, lang, s))}</tbody></table></div>`
}
</section>`;
      return page(c, { title: t('dashboard'), body, scripts: ['dashboard-progress.js'] });
    });

    app.get('/ops/surveys/:id{[0-9]+}/progress.json', operators, async (c) => {
      const lang = c.get('lang');
      const t = tr(c, messages);
      const s = await createWebStats(ctx.store).survey(Number(c.req.param('id')));
      if (!s) return c.json({ error: 'no such survey' }, 404);
      return c.json({
        id: s.id,
        status: s.status,
        statusText: statusName(t, s.status),
        done: s.status !== 'running',
        probesSent: s.probesSent,
        endpoints: s.endpoints,
        rate: s.rate,
        finishedAt: s.finishedAt,
        text: { probes: formatNumber(lang, s.probesSent), endpoints: formatNumber(lang, s.endpoints), rate: fmtRate(lang, s.rate), finished: s.finishedAt ? formatDate(lang, s.finishedAt) : '-' },
      });
    });

    app.get('/ops/findings', operators, async (c) => {
      const t = tr(c, messages);
      const lang = c.get('lang');
      const parsed = findingsQuery.safeParse(c.req.query());
      if (!parsed.success) return badQuery(c, t, parsed.error);
      const q = parsed.data;
      const stats = createWebStats(ctx.store);
      const filter = filterOf(q);
      const { before: _before, ...unpaged } = filter;
      const [list, count, isps, vendors, models] = await Promise.all([
        stats.listFindings(filter, findingsPageSize),
        stats.exactCount(unpaged).then(async (n) => (n !== null ? { n, more: false } : stats.countFindings(unpaged, countCap))),
        stats.facetValues('isp', 100),
        stats.facetValues('vendor', 200),
        stats.facetValues('model', 200),
      ]);
      const form = html`<form method="get" action="/ops/findings" class="filters" id="filters">
<label>${t('kind')}<select name="kind">${options(q.kind, findingKinds.map((k) => ({ value: k, label: kindName(lang, k) })), t('any'))}</select></label>
<label>${t('isp')}<select name="isp">${options(q.isp, [...isps.map((i) => ({ value: i.value, label: i.value })), { value: heldValue, label: t('held') }], t('any'))}</select></label>
<label>${t('deviceType')}<select name="type">${options(q.type, deviceTypes.map((d) => ({ value: d, label: typeName(lang, d) })), t('any'))}</select></label>
<label>${t('vendor')}<input name="vendor" list="vendors" value="${q.vendor ?? ''}" maxlength="120"></label>
<label>${t('model')}<input name="model" list="models" value="${q.model ?? ''}" maxlength="120"></label>
<label>${t('port')}<input name="port" type="number" min="1" max="65535" value="${q.port ?? ''}"></label>
<label>${t('from')}<input name="from" type="date" value="${q.from ?? ''}"></label>
<label>${t('to')}<input name="to" type="date" value="${q.to ?? ''}"></label>
<button type="submit">${t('filter')}</button> <a href="/ops/findings">${t('clear')}</a>
<datalist id="vendors">${vendors.map((v) => html`<option value="${v.value}"></option>`)}</datalist>
<datalist id="models">${models.map((v) => html`<option value="${v.value}"></option>`)}</datalist>
</form>`;
      const rows = list.rows.map(
        (f) => html`<tr>
<td><a href="/ops/devices/${f.ip}">${f.ip}</a></td>
<td class="num">${f.port ?? '-'}</td>
<td>${kindName(lang, f.kind)}</td>
<td>${f.protocol ?? '-'}</td>
<td>${typeName(lang, f.deviceType)}</td>
<td class="device-text">${[f.vendor, f.model].filter((x) => x !== null).join(' ') || '-'}</td>
<td>${f.isp ?? html`<span class="muted">${t('held')}</span>`}</td>
<td>${f.severity}</td>
<td>${formatDate(lang, f.observedAt)}</td>
</tr>`,
      );
      const body = html`${form}
<p id="match-count">${count.more ? t('matchingMore', { n: formatNumber(lang, countCap) }) : t('matching', { n: formatNumber(lang, count.n) })}</p>
${
  list.rows.length === 0
    ? html`<p>${t('none')}</p>`
    : html`<div class="table-scroll"><table id="findings"><thead><tr><th>${t('ip')}</th><th class="num">${t('port')}</th><th>${t('kind')}</th><th>${t('protocol')}</th><th>${t('deviceType')}</th><th>${t('device')}</th><th>${t('isp')}</th><th>${t('severity')}</th><th>${t('observed')}</th></tr></thead>
<tbody>${rows}</tbody></table></div>`
}
<nav class="pager">${q.before !== undefined ? html`<a href="/ops/findings${queryString(q, { before: undefined })}" id="first-page">${t('first')}</a> ` : ''}${list.next !== null ? html`<a href="/ops/findings${queryString(q, { before: list.next })}" id="next-page" rel="next">${t('next')}</a>` : ''}</nav>`;
      return page(c, { title: t('findings'), body });
    });

    app.get('/ops/devices/:ip', operators, async (c) => {
      const t = tr(c, messages);
      const lang = c.get('lang');
      const ip = c.req.param('ip');
      if (parseIpv4(ip) === undefined) return problemPage(c, 400, t('badIp', { value: ip.slice(0, 64) }));
      const d = await createWebStats(ctx.store).device(ip);
      await ctx.audit(c, 'view-device', ip);
      const nothing = d.endpoints.length + d.observations.length + d.identifications.length + d.access.length + d.vulns.length + d.findings.length + d.cases.length === 0;
      const infections = d.findings.filter((f) => f.kind === 'infected');
      const section = (id: string, title: string, count: number, content: () => Html) => (count === 0 ? html`` : html`<section id="${id}"><h2>${title}</h2>${content()}</section>`);
      const body = html`${nothing ? html`<p>${t('nothingKnown')}</p>` : ''}
${section('endpoints', t('endpointsHead'), d.endpoints.length, () => html`<table><thead><tr><th class="num">${t('survey')}</th><th class="num">${t('port')}</th><th>${t('observed')}</th></tr></thead><tbody>${d.endpoints.map((e) => html`<tr><td class="num">${e.surveyId}</td><td class="num">${e.port}</td><td>${formatDate(lang, e.seenAt)}</td></tr>`)}</tbody></table>`)}
${section('identifications', t('identificationsHead'), d.identifications.length, () => html`<table><thead><tr><th class="num">${t('port')}</th><th>${t('deviceType')}</th><th>${t('vendor')}</th><th>${t('model')}</th><th>${t('releaseYear')}</th><th>${t('endOfLife')}</th><th>${t('rule')}</th><th class="num">${t('confidence')}</th></tr></thead><tbody>${d.identifications.map(
        (i) => html`<tr><td class="num">${i.port ?? '-'}</td><td>${typeName(lang, i.type)}</td><td class="device-text">${i.vendor ?? '-'}</td><td class="device-text">${[i.product, i.version].filter((x) => x !== null).join(' ') || '-'}</td><td>${i.catalogue?.releaseYear ?? '-'}</td><td>${i.catalogue?.endOfLife ?? '-'}</td><td class="device-text">${i.rule ?? '-'}</td><td class="num">${Math.round(i.confidence * 100)}%</td></tr>`,
      )}</tbody></table>`)}
${section('observations', t('observationsHead'), d.observations.length, () => html`${d.observationsCut ? html`<p class="muted">${t('observationsCut', { n: d.observations.length })}</p>` : ''}<table><thead><tr><th class="num">${t('port')}</th><th>${t('module')}</th><th>${t('status')}</th><th>${t('observed')}</th><th>${t('fields')}</th></tr></thead><tbody>${d.observations.map(
        (o) => html`<tr><td class="num">${o.port}</td><td>${o.module}</td><td>${o.status}</td><td>${formatDate(lang, o.observedAt)}</td><td><pre class="device-text">${fieldsText(o.fields)}</pre></td></tr>`,
      )}</tbody></table>`)}
${section('access', t('accessHead'), d.access.length, () => html`<p class="muted">${t('noPassword')}</p><table><thead><tr><th class="num">${t('port')}</th><th>${t('protocol')}</th><th>${t('verdict')}</th><th>${t('entry')}</th><th>${t('username')}</th><th class="num">${t('attempts')}</th><th>${t('dictionary')}</th><th>${t('reason')}</th></tr></thead><tbody>${d.access.map(
        (a) => html`<tr><td class="num">${a.port}</td><td>${a.protocol}</td><td>${a.verdict}</td><td>${a.entry ?? '-'}</td><td class="device-text">${a.username ?? '-'}</td><td class="num">${a.attempts}</td><td>${a.dictionary.name} ${a.dictionary.version}</td><td class="device-text">${a.reason ?? ''}</td></tr>`,
      )}</tbody></table>`)}
${section('vulns', t('vulnsHead'), d.vulns.length, () => html`<table><thead><tr><th>CVE</th><th>${t('status')}</th><th>${t('level')}</th><th>KEV</th><th>${t('reason')}</th></tr></thead><tbody>${d.vulns.map(
        (v) => html`<tr><td>${v.cve}</td><td>${v.status}</td><td>${v.threat.level}</td><td>${v.threat.kev ? 'KEV' : '-'}</td><td class="device-text">${v.reason}</td></tr>`,
      )}</tbody></table>`)}
${section('infections', t('infectionsHead'), infections.length, () => html`<table><thead><tr><th>${t('period')}</th><th>${t('observed')}</th><th>${t('fields')}</th></tr></thead><tbody>${infections.map(
        (f) => html`<tr><td>${f.period}</td><td>${formatDate(lang, f.observedAt)}</td><td><pre class="device-text">${fieldsText(f.details, 600)}</pre></td></tr>`,
      )}</tbody></table>`)}
${section('findings', t('findingsHead'), d.findings.length, () => html`<table><thead><tr><th>${t('kind')}</th><th class="num">${t('port')}</th><th>${t('period')}</th><th>${t('observed')}</th><th>${t('severity')}</th><th>${t('device')}</th><th>${t('isp')}</th><th>${t('batches')}</th></tr></thead><tbody>${d.findings.map(
        (f) => html`<tr><td>${kindName(lang, f.kind)}</td><td class="num">${f.port ?? '-'}</td><td>${f.period}</td><td>${formatDate(lang, f.observedAt)}</td><td>${f.severity}</td><td class="device-text">${[f.vendor, f.model].filter((x) => x !== null).join(' ') || '-'}</td><td>${f.isp ?? t('held')}</td><td>${f.batches.join(', ') || '-'}</td></tr>`,
      )}</tbody></table>`)}
${section('cases', t('casesHead'), d.cases.length, () => html`<table><thead><tr><th>${t('reference')}</th><th>${t('kind')}</th><th class="num">${t('port')}</th><th>${t('state')}</th><th>${t('transitions')}</th></tr></thead><tbody>${d.cases.map(
        (k) => html`<tr><td>${k.reference}</td><td>${kindName(lang, k.findingKind)}</td><td class="num">${k.port ?? '-'}</td><td>${k.state}</td><td><ol>${k.transitions.map((s) => html`<li>${formatDate(lang, s.at)}: ${s.from ?? '-'} → ${s.to} (${s.by})${s.note ? html` <span class="device-text">${s.note}</span>` : ''}</li>`)}</ol></td></tr>`,
      )}</tbody></table>`)}`;
      return page(c, { title: t('deviceTitle', { ip }), body, status: nothing ? 404 : 200 });
    });

    app.get('/ops/changes', operators, async (c) => {
      const t = tr(c, messages);
      const lang = c.get('lang');
      const alerts = await createWebStats(ctx.store).changes();
      const link = (a: (typeof alerts)[number]) => {
        const q = new URLSearchParams({ kind: a.kind, from: `${a.month}-01`, to: new Date(Date.UTC(Number(a.month.slice(0, 4)), Number(a.month.slice(5, 7)), 0)).toISOString().slice(0, 10) });
        if (a.scope === 'isp') q.set('isp', a.subject);
        else {
          if (a.vendor) q.set('vendor', a.vendor);
          if (a.model) q.set('model', a.model);
        }
        return `/ops/findings?${q.toString()}`;
      };
      const body = html`<p class="definition" id="change-rule">${t('changesRule', { window: changeRule.window, ratio: changeRule.ratio, min: changeRule.minIncrease })}</p>
${
  alerts.length === 0
    ? html`<p>${t('noChanges')}</p>`
    : html`<table id="changes"><thead><tr><th>${t('month')}</th><th>${t('scope')}</th><th>${t('subject')}</th><th>${t('kind')}</th><th class="num">${t('count')}</th><th class="num">${t('baseline')}</th><th class="num">${t('ratio')}</th><th></th></tr></thead><tbody>${alerts.slice(0, 200).map(
        (a) => html`<tr><td>${a.month}</td><td>${a.scope === 'isp' ? t('scopeIsp') : t('scopeModel')}</td><td class="device-text">${a.subject}</td><td>${kindName(lang, a.kind)}</td><td class="num">${formatNumber(lang, a.count)}</td><td class="num">${formatNumber(lang, a.baseline)}</td><td class="num">${a.ratio === null ? t('newSeries') : `${a.ratio}×`}</td><td><a href="${link(a)}">${t('showFindings')}</a></td></tr>`,
      )}</tbody></table>`
}`;
      return page(c, { title: t('changesTitle'), body });
    });

    mountStats(app, ctx);
  },
};
