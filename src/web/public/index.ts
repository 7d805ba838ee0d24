/**
 * The public site's own pages (no login): the home page for device owners (/), the self-check of
 * the visitor's own address (/check), the page about the survey that the HTTP User-Agent points to
 * (/about-survey), opt-out requests (/optout, /optout/confirm/:token), and the operators' list
 * of opt-outs (/ops/optouts), where a verified request becomes a stored survey exclusion.
 *
 * Anonymous POSTs carry no session, so csrfMiddleware does not cover them: they are refused here
 * when the browser says they come from another site (Origin, Sec-Fetch-Site).
 */
import type { Context } from 'hono';
import { z } from 'zod';
import { formatIpv4, parseIpv4, rangePrefixLength } from '../../core/ip.js';
import { userAgent } from '../../grab/http/client.js';
import { withStoredExclusions } from '../../pipeline/survey.js';
import type { FindingOnRecord, OptoutRequest } from '../../store/web-public.js';
import { parseTarget } from '../../scope/target.js';
import { csrfField, html, page, problemPage, type Html } from '../html.js';
import { formatDate, tr } from '../i18n.js';
import { requireRole } from '../security.js';
import type { WebContext, WebEnv, WebModule } from '../types.js';
import { checkText, homeText, kindText, optoutText, opsText, portServices, portText, surveyText } from './messages.js';
import { abuseContactFor, confirmationMs, newToken, sendConfirmation, sha256 } from './optout.js';
import { defaultSelfCheckScope, lightCheck, selfCheckPorts, type LiveCheck } from './self-check.js';

/** Self-checks per address per hour (WebOptions.selfCheck.perHour overrides). */
export const selfCheckLimit = { perHour: 3, windowMs: 3600_000 } as const;
/** Opt-out requests per address a day, and confirmation mails per abuse contact a day (no mail bombing through the form). */
export const optoutLimits = { perIpPerDay: 5, mailsPerContactPerDay: 20, windowMs: 86400_000 } as const;

/** A 429 page saying when to retry (and the Retry-After header). */
function limitedPage(c: Context<WebEnv>, retryAtMs: number, nowMs: number, title: string, message: string) {
  c.header('Retry-After', String(Math.max(1, Math.ceil((retryAtMs - nowMs) / 1000))));
  return page(c, { title, status: 429, body: html`<p class="problem" role="alert" id="limited">${message}</p>` });
}

const homePage = (c: Context<WebEnv>) => {
  const t = tr(c, homeText);
  return page(c, {
    title: t('title'),
    body: html`<p class="lead">${t('lead')}</p>
<section class="public-harm" id="harm-you"><h2>${t('harmYouTitle')}</h2><ul><li>${t('harmYou1')}</li><li>${t('harmYou2')}</li><li>${t('harmYou3')}</li></ul></section>
<section class="public-harm" id="harm-others"><h2>${t('harmOthersTitle')}</h2><p>${t('harmOthers1')}</p><p>${t('harmOthers2')}</p></section>
<section id="what-to-do"><h2>${t('whatTitle')}</h2><ol><li>${t('what1')}</li><li>${t('what2')}</li><li>${t('what3')}</li><li>${t('what4')}</li></ol></section>
<section id="more"><h2>${t('moreTitle')}</h2><ul class="public-links">
<li><a href="/manuals">${t('linkManuals')}</a></li>
<li><a href="/check" id="home-check">${t('linkCheck')}</a></li>
<li><a href="/stats">${t('linkStats')}</a></li>
<li><a href="/support">${t('linkSupport')}</a></li>
<li><a href="/about-survey">${t('linkSurvey')}</a></li>
</ul></section>`,
  });
};

function checkForm(c: Context<WebEnv>, perHour: number, ports: readonly number[], label: 'submit' | 'again' = 'submit'): Html {
  const t = tr(c, checkText);
  return html`<form method="post" action="/check" id="check-form" class="public-check" data-checking="${t('checking')}">
${csrfField(c)}
<p class="muted">${t('what')} ${ports.map((p) => `${p}`).join(', ')}</p>
<p class="muted">${t('limit', { n: perHour })}</p>
<button type="submit" id="check-submit">${t(label)}</button>
</form>`;
}

function liveTable(c: Context<WebEnv>, live: LiveCheck): Html {
  const t = tr(c, checkText);
  const lang = c.get('lang');
  if (!live.possible) return html`<p id="no-live">${t('noLive')}</p>`;
  const open = live.ports.filter((p) => p.state === 'open');
  return html`<p id="live-summary" class="${open.length ? 'problem' : 'ok'}">${open.length ? t('someOpen', { n: open.length }) : t('allClosed')}</p>
<table id="live-ports"><thead><tr><th class="num">${t('port')}</th><th>${t('service')}</th><th>${t('state')}</th><th>${t('meaning')}</th></tr></thead><tbody>
${live.ports.map((p) => {
  const meaning = (portText as Record<number, { ja: string; en: string } | undefined>)[p.port];
  return html`<tr class="port-${p.state}" data-port="${p.port}"><td class="num">${p.port}</td><td>${portServices[p.port] ?? '-'}</td><td>${p.state === 'open' ? html`<strong class="problem">${t('open')}</strong>` : p.state === 'closed' ? t('closed') : t('silent')}</td><td>${p.state === 'open' && meaning ? meaning[lang] : ''}</td></tr>`;
})}
</tbody></table>`;
}

function recordTable(c: Context<WebEnv>, found: readonly FindingOnRecord[]): Html {
  const t = tr(c, checkText);
  const lang = c.get('lang');
  if (found.length === 0) return html`<p id="no-record">${t('noRecord')}</p>`;
  const device = (f: FindingOnRecord): string => [f.device.vendor, f.device.model, f.device.type].filter((x): x is string => !!x).join(' ') || t('unknown');
  return html`<table id="record"><thead><tr><th>${t('kind')}</th><th class="num">${t('port')}</th><th>${t('period')}</th><th>${t('observed')}</th><th>${t('device')}</th></tr></thead><tbody>
${found.map((f) => html`<tr data-kind="${f.kind}"><td>${kindText[f.kind]?.[lang] ?? f.kind}</td><td class="num">${f.port === null ? t('hostLevel') : `${f.port}${f.protocol ? ` (${f.protocol})` : ''}`}</td><td>${f.period}</td><td>${formatDate(lang, f.observedAt)}</td><td class="device-text">${device(f)}</td></tr>`)}
</tbody></table>
<p class="muted">${t('recordNote')}</p>
<p><a href="/manuals">${t('manuals')}</a></p>`;
}

function optoutForm(c: Context<WebEnv>, values: { cidr?: string; email?: string; reason?: string } = {}, problem?: string): Html {
  const t = tr(c, optoutText);
  return html`${problem ? html`<p class="problem" role="alert" id="optout-error">${problem}</p>` : ''}
<p>${t('intro')}</p>
<p class="muted" id="optout-ip">${t('yourIp', { ip: c.get('clientIp') })}</p>
<form method="post" action="/optout" id="optout-form" class="public-form">
${csrfField(c)}
<label>${t('cidr')} <input name="cidr" id="optout-cidr" required maxlength="18" value="${values.cidr ?? ''}" inputmode="decimal"></label>
<label>${t('email')} <input name="email" id="optout-email" type="email" required maxlength="254" value="${values.email ?? ''}" autocomplete="email"></label>
<label>${t('reason')} <textarea name="reason" id="optout-reason" maxlength="2000" rows="4">${values.reason ?? ''}</textarea></label>
<button type="submit" id="optout-submit">${t('submit')}</button>
</form>`;
}

const emailPattern = /^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

const optoutSchema = z.object({
  cidr: z.string().trim().max(18),
  email: z.string().trim().max(254),
  reason: z.string().max(2000).default(''),
  _csrf: z.string().optional(),
});

const stateLabel = (c: Context<WebEnv>, r: OptoutRequest): string => {
  const t = tr(c, opsText);
  return t(r.state) + (r.verification ? ` (${t(r.verification)})` : '');
};

export const publicModule: WebModule = {
  name: 'public',
  mount(app, ctx: WebContext) {
    const perHour = ctx.options.selfCheck?.perHour ?? selfCheckLimit.perHour;
    const ports = ctx.options.selfCheck?.ports ?? selfCheckPorts;

    app.get('/', homePage);

    app.get('/check', (c) => {
      const t = tr(c, checkText);
      return page(c, { title: t('title'), scripts: ['public-check.js'], body: html`<p id="check-intro">${t('intro', { ip: c.get('clientIp') })}</p>${checkForm(c, perHour, ports)}` });
    });

    app.post('/check', async (c) => {
      const t = tr(c, checkText);
      // Only the address the request comes from: the form names none, and none would be read.
      const ip = c.get('clientIp');
      const now = ctx.now();
      const seen = await ctx.store.optouts.take('selfcheck', ip, now, selfCheckLimit.windowMs, perHour);
      if (!seen.allowed) {
        await ctx.audit(c, 'selfcheck.limited', ip, { count: seen.count });
        return limitedPage(c, seen.retryAtMs ?? now, now, t('title'), t('limited', { at: formatDate(c.get('lang'), new Date(seen.retryAtMs ?? now).toISOString()) }));
      }
      // Networks that opted out are not contacted, not even at their own users' request.
      const scope = await withStoredExclusions(ctx.store, ctx.options.selfCheck?.scope ?? defaultSelfCheckScope());
      const live = await lightCheck(ip, { scope, ports, ...(ctx.options.selfCheck?.timeoutMs ? { timeoutMs: ctx.options.selfCheck.timeoutMs } : {}) });
      const n = parseIpv4(ip);
      const found = n === undefined ? [] : await ctx.store.optouts.findingsAt(ip, n);
      await ctx.audit(c, 'selfcheck', ip, { live: live.possible, open: live.ports.filter((p) => p.state === 'open').map((p) => p.port), findings: found.length });
      return page(c, {
        title: t('resultTitle', { ip }),
        scripts: ['public-check.js'],
        body: html`<p class="muted">${t('checkedAt', { at: formatDate(c.get('lang'), new Date(now).toISOString()) })}</p>
<section id="live"><h2>${t('liveTitle')}</h2>${liveTable(c, live)}</section>
<section id="on-record"><h2>${t('recordTitle')}</h2>${recordTable(c, found)}</section>
${seen.count < perHour ? checkForm(c, perHour, ports, 'again') : ''}`,
      });
    });

    app.get('/about-survey', (c) => {
      const t = tr(c, surveyText);
      const s = ctx.options.survey;
      return page(c, {
        title: t('title'),
        body: html`<section id="purpose"><h2>${t('purposeTitle')}</h2><p>${t('purpose')}</p></section>
<section id="done"><h2>${t('doneTitle')}</h2><ul><li>${t('done1')}</li><li>${t('done2')}</li><li>${t('done3')}</li></ul></section>
<section id="not-done"><h2>${t('notDoneTitle')}</h2><ul><li>${t('notDone1')}</li><li>${t('notDone2')}</li><li>${t('notDone3')}</li></ul></section>
<section id="sources"><h2>${t('sourcesTitle')}</h2>${s && s.sourceAddresses.length ? html`<ul id="source-addresses">${s.sourceAddresses.map((a) => html`<li><code>${a}</code></li>`)}</ul>` : html`<p class="muted">${t('sourcesNone')}</p>`}
<h3>${t('uaTitle')}</h3><p>${t('ua')}</p><p><code id="user-agent">${userAgent}</code></p></section>
<section id="contact"><h2>${t('contactTitle')}</h2>${s?.operator ? html`<p>${t('operator', { name: s.operator })}</p>` : ''}${s?.contact ? html`<p id="survey-contact">${s.contact}</p>` : html`<p class="muted">${t('contactNone')}</p>`}</section>
<section id="opt-out"><h2>${t('optoutTitle')}</h2><p>${t('optout')}</p><p><a href="/optout" id="optout-link">${t('optoutLink')}</a></p></section>`,
      });
    });

    app.get('/optout', (c) => page(c, { title: tr(c, optoutText)('title'), body: optoutForm(c) }));

    app.post('/optout', async (c) => {
      const t = tr(c, optoutText);
      const parsed = optoutSchema.safeParse(await c.req.parseBody());
      const bad = (what: string, values = {}) => page(c, { title: t('title'), status: 400, body: optoutForm(c, values, t('bad', { what })) });
      if (!parsed.success) return bad(parsed.error.issues.map((i) => i.path.join('.')).join(', '));
      const { cidr, email, reason } = parsed.data;
      const values = { cidr, email, reason };
      const target = parseTarget(cidr);
      const len = target.ok ? rangePrefixLength(target.range) : undefined;
      if (!target.ok || target.form === 'range' || len === undefined || len < 8) return bad(t('badCidr'), values);
      if (!emailPattern.test(email)) return bad(t('badEmail'), values);
      const range = target.range;
      const normal = `${formatIpv4(range.start)}/${len}`;
      const ip = c.get('clientIp');
      const ipNum = parseIpv4(ip);
      const inside = ipNum !== undefined && range.start <= ipNum && ipNum <= range.end;
      const now = ctx.now();
      const allowed = await ctx.store.optouts.take('optout', ip, now, optoutLimits.windowMs, optoutLimits.perIpPerDay);
      if (!allowed.allowed) {
        await ctx.audit(c, 'optout.limited', normal, { count: allowed.count });
        return limitedPage(c, allowed.retryAtMs ?? now, now, t('title'), t('limited', { at: formatDate(c.get('lang'), new Date(allowed.retryAtMs ?? now).toISOString()) }));
      }
      const request = await ctx.store.optouts.createOptout({ cidr: normal, range, email, reason, lang: c.get('lang'), clientIp: ip, verification: inside ? 'from-network' : null }, now);
      let outcome: Html;
      let mail: string | undefined;
      if (inside) {
        outcome = html`<p id="optout-verified" class="ok">${t('fromNetwork')}</p>`;
      } else {
        const { isp, contact } = abuseContactFor(range, ctx.options.ispTable, ctx.options.contacts);
        if (!contact || !ctx.options.smtp) {
          await ctx.store.optouts.setConfirmation(request.id, { tokenHash: null, expiresMs: null, contactIsp: isp?.id ?? null, mailStatus: contact ? 'no SMTP relay configured' : 'no abuse contact known' });
          mail = 'none';
          outcome = html`<p id="optout-pending">${t('noContact')}</p>`;
        } else if (!(await ctx.store.optouts.take('optout-mail', contact.email, now, optoutLimits.windowMs, optoutLimits.mailsPerContactPerDay)).allowed) {
          await ctx.store.optouts.setConfirmation(request.id, { tokenHash: null, expiresMs: null, contactIsp: contact.isp, mailStatus: 'not sent: the daily limit of mails to this contact was reached' });
          mail = 'limited';
          outcome = html`<p id="optout-pending" class="problem">${t('mailFailed')}</p>`;
        } else {
          const { token, hash } = newToken();
          const base = (ctx.options.publicUrl ?? new URL(c.req.url).origin).replace(/\/+$/, '');
          const sent = await sendConfirmation({ smtp: ctx.options.smtp, ...(ctx.options.mailFrom ? { from: ctx.options.mailFrom } : {}), contact, ispName: isp?.name ?? contact.isp, cidr: normal, email, reason, link: `${base}/optout/confirm/${token}` });
          await ctx.store.optouts.setConfirmation(request.id, { tokenHash: sent.ok ? hash : null, expiresMs: sent.ok ? now + confirmationMs : null, contactIsp: contact.isp, mailStatus: sent.status });
          mail = sent.ok ? 'sent' : 'failed';
          outcome = sent.ok ? html`<p id="optout-mailed">${t('mailed', { isp: isp?.name ?? contact.isp })}</p>` : html`<p id="optout-pending" class="problem">${t('mailFailed')}</p>`;
        }
      }
      await ctx.audit(c, 'optout.request', normal, { id: request.id, verification: request.verification, ...(mail ? { mail } : {}) });
      return page(c, { title: t('doneTitle'), body: html`<p id="optout-ref">${t('ref', { id: request.id })}</p>${outcome}` });
    });

    const tokenOk = (s: string): boolean => /^[A-Za-z0-9_-]{43}$/.test(s);
    // GET only shows the request: mail scanners open links, and opening must not confirm.
    app.get('/optout/confirm/:token', async (c) => {
      const t = tr(c, optoutText);
      const token = c.req.param('token');
      const r = tokenOk(token) ? await ctx.store.optouts.optoutByToken(sha256(token), ctx.now()) : undefined;
      if (!r) return problemPage(c, 404, t('badToken'));
      return page(c, {
        title: t('confirmTitle'),
        body: html`<p id="confirm-text">${t('confirmText', { cidr: r.cidr, email: r.email })}</p>
<form method="post" action="/optout/confirm/${token}">${csrfField(c)}<button type="submit" id="confirm-submit">${t('confirmButton')}</button></form>`,
      });
    });

    app.post('/optout/confirm/:token', async (c) => {
      const t = tr(c, optoutText);
      const token = c.req.param('token');
      const r = tokenOk(token) ? await ctx.store.optouts.optoutByToken(sha256(token), ctx.now()) : undefined;
      if (!r || !(await ctx.store.optouts.verifyOptout(r.id, 'abuse-contact', ctx.now()))) return problemPage(c, 404, t('badToken'));
      await ctx.audit(c, 'optout.verify', r.cidr, { id: r.id, verification: 'abuse-contact', isp: r.contactIsp });
      return page(c, { title: t('confirmTitle'), body: html`<p id="confirmed" class="ok">${t('confirmed')}</p>` });
    });

    const operators = requireRole('admin', 'analyst');
    app.get('/ops/optouts', operators, async (c) => {
      const t = tr(c, opsText);
      const lang = c.get('lang');
      const [requests, exclusions] = [await ctx.store.optouts.listOptouts(), await ctx.store.optouts.exclusions()];
      await ctx.audit(c, 'optouts.view', '/ops/optouts', { requests: requests.length });
      const done = Number(c.req.query('done'));
      const doneRow = Number.isInteger(done) ? requests.find((r) => r.id === done) : undefined;
      return page(c, {
        title: t('title'),
        body: html`${doneRow ? html`<p class="ok" role="status" id="optout-done">${t('done', { id: doneRow.id, what: t(doneRow.state) })}</p>` : ''}
${requests.length === 0 ? html`<p>${t('none')}</p>` : html`<table id="optouts"><thead><tr><th class="num">${t('id')}</th><th>${t('network')}</th><th>${t('requester')}</th><th>${t('from')}</th><th>${t('reason')}</th><th>${t('state')}</th><th>${t('mail')}</th><th>${t('actions')}</th></tr></thead><tbody>
${requests.map(
  (r) => html`<tr id="optout-${r.id}" data-state="${r.state}"><td class="num">${r.id}</td><td><code>${r.cidr}</code></td><td class="device-text">${r.email}</td><td><code>${r.clientIp}</code><br><span class="muted">${formatDate(lang, r.createdAt)}</span></td><td class="device-text">${r.reason}</td><td>${stateLabel(c, r)}</td><td class="muted">${r.contactIsp ?? ''} ${r.mailStatus ?? ''}</td><td>
${r.state === 'verified' ? html`<form method="post" action="/ops/optouts/${r.id}/approve" class="inline">${csrfField(c)}<button type="submit" data-confirm="${t('approveConfirm')}" id="approve-${r.id}">${t('approve')}</button></form>` : ''}
${r.state === 'verified' || r.state === 'pending' ? html`<form method="post" action="/ops/optouts/${r.id}/reject" class="inline">${csrfField(c)}<button type="submit" id="reject-${r.id}">${t('reject')}</button></form>` : ''}
${r.decidedBy ? html`<span class="muted">${r.decidedBy}</span>` : ''}</td></tr>`,
)}
</tbody></table>`}
<h2>${t('exclusionsTitle')}</h2>
${exclusions.length === 0 ? html`<p>${t('noExclusions')}</p>` : html`<table id="exclusions"><thead><tr><th>${t('network')}</th><th class="num">${t('request')}</th><th>${t('addedBy')}</th><th>${t('added')}</th></tr></thead><tbody>
${exclusions.map((e) => html`<tr><td><code>${e.cidr}</code></td><td class="num">${e.optoutId ?? ''}</td><td>${e.createdBy}</td><td>${formatDate(lang, e.createdAt)}</td></tr>`)}
</tbody></table>`}`,
      });
    });

    app.post('/ops/optouts/:id/:decision{approve|reject}', operators, async (c) => {
      const id = Number(c.req.param('id'));
      if (!Number.isInteger(id) || id < 1) return problemPage(c, 400, 'the request id must be a positive integer');
      const decision = c.req.param('decision') === 'approve' ? 'approved' : 'rejected';
      const who = c.get('session')!.account.name;
      try {
        const { request, exclusion } = await ctx.store.optouts.decideOptout(id, decision, who, ctx.now());
        await ctx.audit(c, decision === 'approved' ? 'optout.approve' : 'optout.reject', request.cidr, { id, ...(exclusion ? { exclusion: exclusion.id } : {}) });
      } catch (e) {
        const code = (e as { code?: string }).code;
        if (code === 'E_NOT_FOUND') return problemPage(c, 404, (e as Error).message);
        if (code === 'E_ARGS') return problemPage(c, 409, (e as Error).message);
        throw e;
      }
      return c.redirect(`/ops/optouts?done=${id}`, 303);
    });
  },
};

