/**
 * The support desk (NOTICE's support centre). Public: /support (the reference from the alert and
 * the model), /support/new?ref=&model= (the model's manual, then a question), /support/q/:token
 * (the asker's private page with the answers; the token is 256 random bits, stored as its
 * SHA-256), /support/faq. New questions are limited per client address. Operators: /ops/support
 * (open first, filter by model and status), one question (answer with a canned answer, status,
 * publish to the FAQ with personal data removed), canned answers per model, the FAQ's entries.
 * Every answer, status change, publication and edit goes to the audit log.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Context } from 'hono';
import { z } from 'zod';
import { IotcleanError } from '../../core/errors.js';
import { parseReference } from '../../notify/isp/cases.js';
import { questionStatuses, type ManualVersion, type QuestionStatus, type SupportLang, type SupportQuestion } from '../../store/web-support.js';
import { csrfField, html, page, problemPage, raw, type Html } from '../html.js';
import { formatDate, tr } from '../i18n.js';
import { langOf, pickText, type DeskDeps } from '../manuals/deps.js';
import { manualBody, modelList } from '../manuals/routes.js';
import { manualKeyPattern } from '../manuals/seeds.js';
import { requireRole } from '../security.js';
import type { WebApp, WebContext, WebEnv } from '../types.js';
import { supportMessages as m } from './messages.js';
import { personalData, scrub } from './scrub.js';

/** New questions per client address per hour. */
export const supportLimits = { windowMs: 3600_000, perIp: 5, question: 4000, answer: 8000, cannedTitle: 200 } as const;

const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');
const tokenPattern = /^[A-Za-z0-9_-]{43}$/;

const refField = z
  .string()
  .trim()
  .toUpperCase()
  .optional()
  .transform((s) => (s ? s : undefined))
  .refine((s) => s === undefined || parseReference(s) !== null, 'reference');
const modelField = z
  .string()
  .trim()
  .optional()
  .transform((s) => (s ? s : undefined))
  .refine((s) => s === undefined || manualKeyPattern.test(s), 'model');

const questionForm = z.object({
  ref: refField,
  model: modelField,
  question: z.string().trim().min(1, 'question').max(supportLimits.question, 'question-long'),
  email: z
    .string()
    .trim()
    .max(254, 'email')
    .optional()
    .transform((s) => (s ? s : undefined))
    .refine((s) => s === undefined || z.email().safeParse(s).success, 'email'),
  _csrf: z.string().optional(),
});

const statusLabel = (c: Context<WebEnv>, s: QuestionStatus): string => tr(c, m)(s);

export function mountSupport(app: WebApp, ctx: WebContext, deps: DeskDeps): void {
  const ops = requireRole('admin', 'analyst');

  /** Manual keys with a label (makers and models), for the model pickers. */
  const modelChoices = async (lang: SupportLang): Promise<{ key: string; label: string; title: string }[]> => {
    await deps.ready();
    const manuals = await ctx.store.support.manuals();
    return manuals
      .map((v) => {
        const models = deps.modelsOf(v.key);
        const title = pickText(v, lang)?.text.title ?? v.key;
        const vendors = [...new Set(models.map((e) => e.vendor))].join(', ');
        const label = models.length ? `${vendors}: ${models.map((e) => e.model).join(', ')}` : title;
        return { key: v.key, label, title };
      })
      .sort((a, b) => a.label.localeCompare(b.label, 'en', { sensitivity: 'base' }));
  };

  const modelSelect = (c: Context<WebEnv>, choices: { key: string; label: string }[], selected: string | undefined, name = 'model', id = 'model', empty: 'modelUnknown' | 'allModels' | 'anyModel' = 'modelUnknown'): Html => {
    const t = tr(c, m);
    return html`<select name="${name}" id="${id}">
<option value="">${t(empty)}</option>
${choices.map((x) => html`<option value="${x.key}"${x.key === selected ? raw(' selected') : ''}>${x.label}</option>`)}
</select>`;
  };

  /** The device of a case this store knows (vendor and model only: the page is public). */
  const caseDevice = async (ref: string | undefined): Promise<{ text: string; manual: string | null } | null> => {
    if (!ref) return null;
    const found = await ctx.store.cases.get(ref);
    if (!found) return null;
    const d = found.device;
    const text = [d.vendor, d.model].filter((s): s is string => typeof s === 'string' && s.length > 0).join(' ');
    return { text, manual: deps.catalogue.lookup(d.vendor, d.model)?.manual ?? null };
  };

  const knownModel = async (key: string | undefined): Promise<ManualVersion | undefined | null> => {
    if (key === undefined) return null;
    await deps.ready();
    return ctx.store.support.manual(key);
  };

  app.get('/support', async (c) => {
    const t = tr(c, m);
    const q = z.object({ ref: refField, model: modelField }).safeParse(c.req.query());
    const refText = c.req.query('ref') ?? '';
    const bad = q.success ? null : q.error.issues[0]!.message === 'reference' ? t('badReference') : t('badModel');
    const ref = q.success ? q.data.ref : undefined;
    const device = await caseDevice(ref);
    const choices = await modelChoices(langOf(c));
    const selected = (q.success ? q.data.model : undefined) ?? device?.manual ?? undefined;
    return page(c, {
      title: t('title'),
      status: bad ? 400 : 200,
      body: html`<p>${t('intro')}</p>
${bad ? html`<p class="problem" role="alert" id="support-error">${bad}</p>` : ''}
${ref ? (device ? html`<p id="case-device">${t('yourDevice', { device: device.text || t('unknownDevice') })}</p>` : html`<p class="muted" id="case-unknown">${t('noCase')}</p>`) : ''}
<form method="get" action="/support/new" class="support-start">
<label>${t('reference')} <input name="ref" id="ref" value="${refText}" maxlength="20" autocomplete="off" pattern="\\s*[Ii][Oo][Tt][Cc]-\\d{4}-\\d{6}\\s*" aria-describedby="ref-hint"></label>
<p class="muted" id="ref-hint">${t('referenceHint')}</p>
<label>${t('model')} ${modelSelect(c, choices, selected)}</label>
<button type="submit" id="support-next">${t('next')}</button>
</form>
<p><a href="/support/faq">${t('faqLink')}</a></p>`,
    });
  });

  const newPage = async (c: Context<WebEnv>, values: { ref?: string; model?: string; question?: string; email?: string }, message?: string, status: 200 | 400 | 429 = 200) => {
    const t = tr(c, m);
    const lang = langOf(c);
    const manual = await knownModel(values.model);
    const picked = manual ? pickText(manual, lang) : null;
    const device = await caseDevice(values.ref);
    const faq = values.model ? (await ctx.store.support.faq({ modelKey: values.model })).filter((f) => f.lang === lang).slice(0, 5) : [];
    return page(c, {
      title: t('newTitle'),
      status,
      body: html`${message ? html`<p class="problem" role="alert" id="support-error">${message}</p>` : ''}
${values.ref ? html`<p>${t('reference')}: <strong id="ref-shown">${values.ref}</strong></p>` : ''}
${device ? html`<p id="case-device">${t('yourDevice', { device: device.text || t('unknownDevice') })}</p>` : ''}
<h2>${t('readFirst')}</h2>
${
  manual && picked
    ? html`<section class="support-manual" id="support-manual" lang="${picked.lang}"><h3>${picked.text.title}</h3>${manualBody(picked.text.body)}${modelList(c, deps.modelsOf(manual.key))}<p><a href="/manuals/${manual.key}">${t('fullManual')}</a></p></section>`
    : html`<p>${t('noManual')} <a href="/manuals">${t('manualsLink')}</a></p>`
}
${faq.length ? html`<h2>${t('faqLink')}</h2><dl class="faq">${faq.map((f) => html`<dt>${f.question}</dt><dd class="manual-body">${f.answer}</dd>`)}</dl>` : ''}
<h2>${t('askHeading')}</h2>
<form method="post" action="/support/new" class="support-ask">
${csrfField(c)}
<input type="hidden" name="ref" value="${values.ref ?? ''}">
<input type="hidden" name="model" value="${values.model ?? ''}">
<label>${t('question')} <textarea name="question" id="question" rows="8" maxlength="${supportLimits.question}" required aria-describedby="question-hint">${values.question ?? ''}</textarea></label>
<p class="muted" id="question-hint">${t('questionHint')}</p>
<label>${t('email')} <input type="email" name="email" id="email" maxlength="254" autocomplete="email" value="${values.email ?? ''}"></label>
<button type="submit" id="support-send">${t('send')}</button>
</form>`,
    });
  };

  app.get('/support/new', async (c) => {
    const t = tr(c, m);
    const q = z.object({ ref: refField, model: modelField }).safeParse(c.req.query());
    if (!q.success) return problemPage(c, 400, q.error.issues[0]!.message === 'reference' ? t('badReference') : t('badModel'));
    const manual = await knownModel(q.data.model);
    if (manual === undefined) return problemPage(c, 400, t('badModel'));
    let model = q.data.model;
    if (model === undefined) model = (await caseDevice(q.data.ref))?.manual ?? undefined;
    return newPage(c, { ...(q.data.ref ? { ref: q.data.ref } : {}), ...(model ? { model } : {}) });
  });

  app.post('/support/new', async (c) => {
    const t = tr(c, m);
    const form = await c.req.parseBody();
    const str = (k: string) => (typeof form[k] === 'string' ? (form[k] as string) : undefined);
    const parsed = questionForm.safeParse(form);
    const typed = { ...(str('question') ? { question: str('question')! } : {}), ...(str('email') ? { email: str('email')! } : {}) };
    if (!parsed.success) {
      const code = parsed.error.issues[0]!.message;
      const ref = refField.safeParse(str('ref'));
      const model = modelField.safeParse(str('model'));
      const keep = { ...typed, ...(ref.success && ref.data ? { ref: ref.data } : {}), ...(model.success && model.data ? { model: model.data } : {}) };
      const message = { reference: t('badReference'), model: t('badModel'), question: t('noQuestion'), 'question-long': t('tooLong'), email: t('badEmail') }[code] ?? `${String(parsed.error.issues[0]!.path[0])}: ${code}`;
      return newPage(c, code === 'reference' || code === 'model' ? typed : keep, message, 400);
    }
    const d = parsed.data;
    const keep = { ...typed, ...(d.ref ? { ref: d.ref } : {}), ...(d.model ? { model: d.model } : {}) };
    if ((await knownModel(d.model)) === undefined) return newPage(c, { ...typed, ...(d.ref ? { ref: d.ref } : {}) }, t('badModel'), 400);
    const now = ctx.now();
    const n = await ctx.store.support.countQuestionFrom(c.get('clientIp'), now - supportLimits.windowMs, now);
    if (n > supportLimits.perIp) {
      await ctx.audit(c, 'support.limited', c.get('clientIp'), { count: n });
      return newPage(c, keep, t('limited'), 429);
    }
    const token = randomBytes(32).toString('base64url');
    const id = await ctx.store.support.createQuestion({ tokenHash: sha256(token), reference: d.ref ?? null, modelKey: d.model ?? null, lang: langOf(c), question: d.question.replace(/\r\n?/g, '\n'), email: d.email ?? null }, now);
    await ctx.audit(c, 'support.question', `question:${id}`, { reference: d.ref ?? null, model: d.model ?? null });
    return c.redirect(`/support/q/${token}`, 303);
  });

  app.get('/support/q/:token', async (c) => {
    const t = tr(c, m);
    const token = c.req.param('token');
    const q = tokenPattern.test(token) ? await ctx.store.support.questionByToken(sha256(token)) : undefined;
    c.header('Cache-Control', 'no-store');
    c.header('X-Robots-Tag', 'noindex');
    if (!q) return problemPage(c, 404, t('notFound'));
    const lang = langOf(c);
    return page(c, {
      title: t('sentTitle'),
      body: html`<p class="notice" id="keep-link">${t('keepLink')}</p>
<dl class="facts">
<dt>${t('status')}</dt><dd id="q-status">${statusLabel(c, q.status)}</dd>
<dt>${t('receivedAt')}</dt><dd>${formatDate(lang, q.createdAt)}</dd>
${q.reference ? html`<dt>${t('reference')}</dt><dd>${q.reference}</dd>` : ''}
</dl>
<h2>${t('yourQuestion')}</h2>
<div class="manual-body" id="q-text">${q.question}</div>
<h2>${t('answers')}</h2>
${q.answers.length ? html`<ol class="answers" id="answers">${q.answers.map((a) => html`<li class="${a.fromAsker ? 'from-asker' : 'from-desk'}"><p class="muted">${a.fromAsker ? t('fromYou') : t('fromDesk')} · ${formatDate(lang, a.at)}</p><div class="manual-body">${a.body}</div></li>`)}</ol>` : html`<p id="no-answer">${t('noAnswer')}</p>`}
${q.modelKey ? html`<p><a href="/manuals/${q.modelKey}">${t('fullManual')}</a></p>` : ''}
${
  q.status === 'closed'
    ? html`<p class="muted" id="q-closed">${t('closedNote')}</p>`
    : html`<h2>${t('followUp')}</h2>
<form method="post" action="/support/q/${token}" class="support-ask">
${csrfField(c)}
<label>${t('followUpText')} <textarea name="text" id="follow-up" rows="5" maxlength="${supportLimits.question}" required></textarea></label>
<button type="submit" id="follow-up-send">${t('send')}</button>
</form>`
}`,
    });
  });

  app.post('/support/q/:token', async (c) => {
    const t = tr(c, m);
    const token = c.req.param('token');
    const q = tokenPattern.test(token) ? await ctx.store.support.questionByToken(sha256(token)) : undefined;
    c.header('Cache-Control', 'no-store');
    if (!q) return problemPage(c, 404, t('notFound'));
    if (q.status === 'closed') return problemPage(c, 409, t('closedNote'));
    const parsed = z.object({ text: z.string().trim().min(1).max(supportLimits.question), _csrf: z.string().optional() }).safeParse(await c.req.parseBody());
    if (!parsed.success) return problemPage(c, 400, parsed.error.issues[0]!.code === 'too_big' ? t('tooLong') : t('noQuestion'));
    const now = ctx.now();
    // A follow-up counts against the same per-address allowance as a new question.
    const n = await ctx.store.support.countQuestionFrom(c.get('clientIp'), now - supportLimits.windowMs, now);
    if (n > supportLimits.perIp) return problemPage(c, 429, t('limited'));
    await ctx.store.support.addAnswer(q.id, { body: parsed.data.text.replace(/\r\n?/g, '\n'), cannedId: null, by: 'asker', fromAsker: true }, now);
    await ctx.audit(c, 'support.follow-up', `question:${q.id}`);
    return c.redirect(`/support/q/${token}`, 303);
  });

  app.get('/support/faq', async (c) => {
    const t = tr(c, m);
    const lang = langOf(c);
    const model = modelField.safeParse(c.req.query('model'));
    const key = model.success ? model.data : undefined;
    const choices = await modelChoices(lang);
    const titles = new Map(choices.map((x) => [x.key, x.title]));
    const entries = await ctx.store.support.faq(key ? { modelKey: key } : {});
    const mine = entries.filter((f) => f.lang === lang);
    const other = entries.filter((f) => f.lang !== lang);
    const groups = new Map<string, typeof entries>();
    for (const f of mine) groups.set(f.modelKey ?? '', [...(groups.get(f.modelKey ?? '') ?? []), f]);
    return page(c, {
      title: t('faqTitle'),
      body: html`<p>${t('faqIntro')}</p>
<form method="get" action="/support/faq" class="filters">
<label>${t('model')} ${modelSelect(c, choices, key, 'model', 'faq-model', 'allModels')}</label>
<button type="submit">${t('filter')}</button>
</form>
${mine.length === 0 ? html`<p id="faq-empty">${t('faqEmpty')}</p>` : ''}
${[...groups.entries()].map(
  ([k, list]) => html`<section class="faq-group">
<h2>${k ? html`<a href="/manuals/${k}">${titles.get(k) ?? k}</a>` : t('faqGeneral')}</h2>
<dl class="faq" id="faq-${k || 'general'}">${list.map((f) => html`<dt>${f.question}</dt><dd class="manual-body">${f.answer}</dd>`)}</dl>
</section>`,
)}
${other.length ? html`<h2>${t('faqOther')}</h2><dl class="faq">${other.map((f) => html`<dt lang="${f.lang}">${f.question}</dt><dd class="manual-body" lang="${f.lang}">${f.answer}</dd>`)}</dl>` : ''}`,
    });
  });

  // --- operators ---

  app.get('/ops/support', ops, async (c) => {
    const t = tr(c, m);
    const lang = langOf(c);
    const q = z.object({ status: z.enum(questionStatuses).optional().catch(undefined), model: modelField.catch(undefined) }).parse(c.req.query());
    const list = await ctx.store.support.questions({ ...(q.status ? { status: q.status } : {}), ...(q.model ? { modelKey: q.model } : {}) });
    const choices = await modelChoices(lang);
    return page(c, {
      title: t('queueTitle'),
      body: html`<p><a href="/ops/support/canned">${t('canned')}</a> · <a href="/ops/support/faq">${t('manageFaq')}</a> · <a href="/ops/manuals">${t('manageManuals')}</a> · <a href="/support/faq">${t('faqLink')}</a></p>
<form method="get" action="/ops/support" class="filters">
<label>${t('status')} <select name="status" id="status-filter"><option value="">${t('anyStatus')}</option>${questionStatuses.map((s) => html`<option value="${s}"${q.status === s ? raw(' selected') : ''}>${statusLabel(c, s)}</option>`)}</select></label>
<label>${t('model')} ${modelSelect(c, choices, q.model, 'model', 'model-filter', 'allModels')}</label>
<button type="submit">${t('filter')}</button>
</form>
${
  list.length
    ? html`<table id="queue">
<thead><tr><th scope="col" class="num">${t('id')}</th><th scope="col">${t('status')}</th><th scope="col">${t('model')}</th><th scope="col">${t('reference')}</th><th scope="col">${t('received')}</th><th scope="col">${t('questionCol')}</th><th scope="col" class="num">${t('answers')}</th></tr></thead>
<tbody>
${list.map(
  (x) => html`<tr class="status-${x.status}"><td class="num"><a href="/ops/support/${x.id}">${x.id}</a></td><td>${statusLabel(c, x.status)}</td><td>${x.modelKey ?? ''}</td><td>${x.reference ?? ''}</td><td>${formatDate(lang, x.createdAt)}</td><td><a href="/ops/support/${x.id}">${[...x.question].slice(0, 80).join('')}${[...x.question].length > 80 ? '…' : ''}</a></td><td class="num">${x.answers.length}</td></tr>`,
)}
</tbody>
</table>`
    : html`<p>${t('noneQueued')}</p>`
}`,
    });
  });

  const questionPage = async (c: Context<WebEnv>, q: SupportQuestion, message?: { text: string; ok: boolean }, status: 200 | 400 | 409 = 200, draft?: { question: string; answer: string; body?: string }) => {
    const t = tr(c, m);
    const lang = langOf(c);
    await deps.ready();
    const canned = await ctx.store.support.canned(q.modelKey);
    const device = await caseDevice(q.reference ?? undefined);
    const last = q.answers.filter((a) => !a.fromAsker).at(-1);
    const choices = await modelChoices(lang);
    return page(c, {
      title: t('qTitle', { id: q.id }),
      status,
      scripts: ['support-ops.js'],
      body: html`${message ? html`<p class="${message.ok ? 'ok' : 'problem'}" role="${message.ok ? 'status' : 'alert'}" id="ops-message">${message.text}</p>` : ''}
<dl class="facts">
<dt>${t('status')}</dt><dd id="q-status">${statusLabel(c, q.status)}</dd>
<dt>${t('reference')}</dt><dd>${q.reference ?? t('none')}</dd>
<dt>${t('model')}</dt><dd>${q.modelKey ? html`<a href="/manuals/${q.modelKey}">${q.modelKey}</a>` : t('none')}</dd>
${device ? html`<dt>${t('device')}</dt><dd>${device.text || t('unknownDevice')}</dd>` : ''}
<dt>${t('lang')}</dt><dd>${t(q.lang)}</dd>
<dt>${t('emailShort')}</dt><dd>${q.email ?? t('none')}</dd>
<dt>${t('receivedAt')}</dt><dd>${formatDate(lang, q.createdAt)}</dd>
</dl>
<h2>${t('questionCol')}</h2>
<div class="manual-body" id="q-text">${q.question}</div>
<h2>${t('answers')}</h2>
${q.answers.length ? html`<ol class="answers" id="answers">${q.answers.map((a) => html`<li class="${a.fromAsker ? 'from-asker' : 'from-desk'}"><p class="muted">${a.fromAsker ? t('fromAsker') : a.by} · ${formatDate(lang, a.at)}</p><div class="manual-body">${a.body}</div></li>`)}</ol>` : html`<p>${t('none')}</p>`}
<h2>${t('answerHeading')}</h2>
<form method="post" action="/ops/support/${q.id}/answer" class="support-answer">
${csrfField(c)}
<label>${t('useCanned')} <select name="canned" id="canned" data-canned-target="answer-body">
<option value="">${t('noCanned')}</option>
${canned.map((a) => html`<option value="${a.id}" data-body="${a.body}">${a.modelKey ?? t('anyModel')} · ${t(a.lang)} · ${a.title}</option>`)}
</select></label>
<p class="muted">${t('cannedHint')}</p>
<label>${t('answerBody')} <textarea name="body" id="answer-body" rows="8" maxlength="${supportLimits.answer}">${draft?.body ?? ''}</textarea></label>
<label class="check"><input type="checkbox" name="mark" value="answered" id="mark-answered" checked> ${t('markAnswered')}</label>
<button type="submit" id="answer-send">${t('sendAnswer')}</button>
</form>
<form method="post" action="/ops/support/${q.id}/status" class="filters">
${csrfField(c)}
<label>${t('setStatus')} <select name="status" id="set-status">${questionStatuses.map((s) => html`<option value="${s}"${q.status === s ? raw(' selected') : ''}>${statusLabel(c, s)}</option>`)}</select></label>
<button type="submit" id="status-save">${t('save')}</button>
</form>
${
  last
    ? html`<h2>${t('publishHeading')}</h2>
<p class="muted">${t('publishHint')}</p>
<form method="post" action="/ops/support/${q.id}/publish" class="support-publish">
${csrfField(c)}
<label>${t('model')} ${modelSelect(c, choices, q.modelKey ?? undefined, 'model', 'faq-model', 'anyModel')}</label>
<label>${t('lang')} <select name="lang" id="faq-lang"><option value="ja"${q.lang === 'ja' ? raw(' selected') : ''}>${t('ja')}</option><option value="en"${q.lang === 'en' ? raw(' selected') : ''}>${t('en')}</option></select></label>
<label>${t('faqQuestion')} <textarea name="question" id="faq-question" rows="4" maxlength="${supportLimits.question}">${draft?.question ?? scrub(q.question)}</textarea></label>
<label>${t('faqAnswer')} <textarea name="answer" id="faq-answer" rows="6" maxlength="${supportLimits.question}">${draft?.answer ?? scrub(last.body)}</textarea></label>
<button type="submit" id="faq-publish">${t('publish')}</button>
</form>`
    : ''
}
<p><a href="/ops/support">${t('queueTitle')}</a></p>`,
    });
  };

  const loadQuestion = async (c: Context<WebEnv>): Promise<SupportQuestion | undefined> => {
    const id = z.coerce.number().int().min(1).max(2 ** 31 - 1).safeParse(c.req.param('id'));
    return id.success ? ctx.store.support.question(id.data) : undefined;
  };

  app.get('/ops/support/canned', ops, async (c) => {
    const t = tr(c, m);
    await deps.ready();
    const list = await ctx.store.support.canned();
    const choices = await modelChoices(langOf(c));
    const fields = (a: { modelKey: string | null; lang: SupportLang; title: string; body: string } | null, idp: string) => html`<label>${t('model')} <select name="model" id="${idp}-model"><option value="">${t('anyModel')}</option>${choices.map((x) => html`<option value="${x.key}"${a?.modelKey === x.key ? raw(' selected') : ''}>${x.label}</option>`)}</select></label>
<label>${t('lang')} <select name="lang" id="${idp}-lang"><option value="ja"${a?.lang !== 'en' ? raw(' selected') : ''}>${t('ja')}</option><option value="en"${a?.lang === 'en' ? raw(' selected') : ''}>${t('en')}</option></select></label>
<label>${t('cannedName')} <input name="title" id="${idp}-title" maxlength="${supportLimits.cannedTitle}" value="${a?.title ?? ''}" required></label>
<label>${t('cannedBody')} <textarea name="body" id="${idp}-body" rows="5" maxlength="${supportLimits.answer}" required>${a?.body ?? ''}</textarea></label>`;
    return page(c, {
      title: t('cannedTitle'),
      body: html`<p>${t('cannedIntro')}</p>
${list.map(
  (a) => html`<section class="card canned" id="canned-${a.id}">
<form method="post" action="/ops/support/canned/${a.id}" class="canned-form">
${csrfField(c)}
${fields(a, `c${a.id}`)}
<p class="muted">${a.updatedBy} · ${formatDate(langOf(c), a.updatedAt)}</p>
<button type="submit">${t('save')}</button>
</form>
<form method="post" action="/ops/support/canned/${a.id}/delete" class="inline">${csrfField(c)}<button type="submit" data-confirm="${t('removeConfirm')}">${t('remove')}</button></form>
</section>`,
)}
<h2>${t('addCanned')}</h2>
<form method="post" action="/ops/support/canned" class="canned-form" id="canned-new">
${csrfField(c)}
${fields(null, 'new')}
<button type="submit" id="canned-add">${t('addCanned')}</button>
</form>
<p><a href="/ops/support">${t('queueTitle')}</a></p>`,
    });
  });

  const cannedForm = z.object({
    model: modelField,
    lang: z.enum(['ja', 'en']),
    title: z.string().trim().min(1).max(supportLimits.cannedTitle),
    body: z.string().trim().min(1).max(supportLimits.answer),
    _csrf: z.string().optional(),
  });

  const saveCanned = async (c: Context<WebEnv>, id: number | undefined) => {
    const t = tr(c, m);
    const parsed = cannedForm.safeParse(await c.req.parseBody());
    if (!parsed.success) return problemPage(c, 400, `${t('cannedFields')} (${parsed.error.issues.map((i) => String(i.path[0])).join(', ')})`);
    const d = parsed.data;
    if (d.model !== undefined && (await knownModel(d.model)) === undefined) return problemPage(c, 400, t('badModel'));
    let saved: number;
    try {
      saved = await ctx.store.support.saveCanned({ ...(id !== undefined ? { id } : {}), modelKey: d.model ?? null, lang: d.lang, title: d.title, body: d.body.replace(/\r\n?/g, '\n'), by: c.get('session')!.account.name }, ctx.now());
    } catch (e) {
      if (e instanceof IotcleanError && e.code === 'E_NOT_FOUND') return problemPage(c, 404, t('cannedMissing'));
      throw e;
    }
    await ctx.audit(c, 'support.canned.save', `canned:${saved}`, { model: d.model ?? null, lang: d.lang, title: d.title, created: id === undefined });
    return c.redirect(`/ops/support/canned#canned-${saved}`, 303);
  };

  app.post('/ops/support/canned', ops, (c) => saveCanned(c, undefined));
  app.post('/ops/support/canned/:id', ops, async (c) => {
    const id = z.coerce.number().int().min(1).max(2 ** 31 - 1).safeParse(c.req.param('id'));
    return id.success ? saveCanned(c, id.data) : problemPage(c, 404, tr(c, m)('cannedMissing'));
  });
  app.post('/ops/support/canned/:id/delete', ops, async (c) => {
    const id = z.coerce.number().int().min(1).max(2 ** 31 - 1).safeParse(c.req.param('id'));
    if (!id.success || !(await ctx.store.support.cannedAnswer(id.data))) return problemPage(c, 404, tr(c, m)('cannedMissing'));
    await ctx.store.support.deleteCanned(id.data);
    await ctx.audit(c, 'support.canned.delete', `canned:${id.data}`);
    return c.redirect('/ops/support/canned', 303);
  });

  app.get('/ops/support/faq', ops, async (c) => {
    const t = tr(c, m);
    const lang = langOf(c);
    const list = await ctx.store.support.faq({ includeHidden: true });
    return page(c, {
      title: t('faqAdminTitle'),
      body: html`<table id="faq-admin">
<thead><tr><th scope="col" class="num">${t('id')}</th><th scope="col">${t('model')}</th><th scope="col">${t('lang')}</th><th scope="col">${t('faqQuestion')}</th><th scope="col">${t('by')}</th><th scope="col">${t('status')}</th><th scope="col"></th></tr></thead>
<tbody>
${list.map(
  (f) => html`<tr><td class="num">${f.id}</td><td>${f.modelKey ?? t('anyModel')}</td><td>${t(f.lang)}</td><td>${f.question}</td><td>${f.publishedBy} · ${formatDate(lang, f.publishedAt)}</td><td>${f.hidden ? t('hidden') : t('shown')}</td>
<td><form method="post" action="/ops/support/faq/${f.id}/hidden" class="inline">${csrfField(c)}<input type="hidden" name="hidden" value="${f.hidden ? '0' : '1'}"><button type="submit">${f.hidden ? t('show') : t('hide')}</button></form></td></tr>`,
)}
</tbody>
</table>
<p><a href="/ops/support">${t('queueTitle')}</a></p>`,
    });
  });

  app.post('/ops/support/faq/:id/hidden', ops, async (c) => {
    const id = z.coerce.number().int().min(1).max(2 ** 31 - 1).safeParse(c.req.param('id'));
    const form = z.object({ hidden: z.enum(['0', '1']) }).safeParse(await c.req.parseBody());
    if (!id.success || !form.success) return problemPage(c, 400, tr(c, m)('badStatus'));
    await ctx.store.support.setFaqHidden(id.data, form.data.hidden === '1');
    await ctx.audit(c, form.data.hidden === '1' ? 'support.faq.hide' : 'support.faq.show', `faq:${id.data}`);
    return c.redirect('/ops/support/faq', 303);
  });

  app.get('/ops/support/:id', ops, async (c) => {
    const q = await loadQuestion(c);
    if (!q) return problemPage(c, 404, tr(c, m)('noQ'));
    // The page shows the asker's mail address: who looked is on record.
    await ctx.audit(c, 'support.view', `question:${q.id}`);
    const done = c.req.query('done');
    const t = tr(c, m);
    return questionPage(c, q, done === 'answer' ? { text: t('answeredMsg'), ok: true } : done === 'publish' ? { text: t('published'), ok: true } : undefined);
  });

  app.post('/ops/support/:id/answer', ops, async (c) => {
    const t = tr(c, m);
    const q = await loadQuestion(c);
    if (!q) return problemPage(c, 404, t('noQ'));
    const parsed = z
      .object({ body: z.string().max(supportLimits.answer).default(''), canned: z.string().regex(/^\d{0,10}$/).default(''), mark: z.literal('answered').optional(), _csrf: z.string().optional() })
      .safeParse(await c.req.parseBody());
    if (!parsed.success) return questionPage(c, q, { text: t('answerTooLong'), ok: false }, 400);
    const d = parsed.data;
    const canned = d.canned ? await ctx.store.support.cannedAnswer(Number(d.canned)) : undefined;
    if (d.canned && !canned) return questionPage(c, q, { text: t('cannedMissing'), ok: false }, 400, { question: scrub(q.question), answer: '', body: d.body });
    const body = d.body.replace(/\r\n?/g, '\n').trim() || canned?.body || '';
    if (!body) return questionPage(c, q, { text: t('noAnswerBody'), ok: false }, 400);
    const now = ctx.now();
    await ctx.store.support.addAnswer(q.id, { body, cannedId: canned?.id ?? null, by: c.get('session')!.account.name }, now);
    if (d.mark) await ctx.store.support.setStatus(q.id, 'answered', now);
    await ctx.audit(c, 'support.answer', `question:${q.id}`, { canned: canned?.id ?? null, marked: d.mark === 'answered', chars: body.length });
    return c.redirect(`/ops/support/${q.id}?done=answer`, 303);
  });

  app.post('/ops/support/:id/status', ops, async (c) => {
    const t = tr(c, m);
    const q = await loadQuestion(c);
    if (!q) return problemPage(c, 404, t('noQ'));
    const parsed = z.object({ status: z.enum(questionStatuses) }).safeParse(await c.req.parseBody());
    if (!parsed.success) return questionPage(c, q, { text: t('badStatus'), ok: false }, 400);
    await ctx.store.support.setStatus(q.id, parsed.data.status, ctx.now());
    await ctx.audit(c, 'support.status', `question:${q.id}`, { from: q.status, to: parsed.data.status });
    return c.redirect(`/ops/support/${q.id}`, 303);
  });

  app.post('/ops/support/:id/publish', ops, async (c) => {
    const t = tr(c, m);
    const q = await loadQuestion(c);
    if (!q) return problemPage(c, 404, t('noQ'));
    if (!q.answers.some((a) => !a.fromAsker)) return questionPage(c, q, { text: t('needAnswer'), ok: false }, 409);
    const form = await c.req.parseBody();
    const parsed = z
      .object({ model: modelField, lang: z.enum(['ja', 'en']), question: z.string().trim().min(1).max(supportLimits.question), answer: z.string().trim().min(1).max(supportLimits.question), _csrf: z.string().optional() })
      .safeParse(form);
    const str = (k: string) => (typeof form[k] === 'string' ? (form[k] as string) : '');
    const draft = { question: str('question'), answer: str('answer') };
    if (!parsed.success) return questionPage(c, q, { text: t('faqFields'), ok: false }, 400, draft);
    const d = parsed.data;
    if (d.model !== undefined && (await knownModel(d.model)) === undefined) return questionPage(c, q, { text: t('badModel'), ok: false }, 400, draft);
    const found = personalData(`${d.question}\n${d.answer}`) ?? (q.email && `${d.question}\n${d.answer}`.includes(q.email) ? 'mail address' : null);
    if (found) return questionPage(c, q, { text: t('personal', { what: found }), ok: false }, 400, draft);
    const id = await ctx.store.support.publishFaq({ modelKey: d.model ?? null, lang: d.lang, question: d.question.replace(/\r\n?/g, '\n'), answer: d.answer.replace(/\r\n?/g, '\n'), questionId: q.id, by: c.get('session')!.account.name }, ctx.now());
    await ctx.audit(c, 'support.publish', `faq:${id}`, { question: q.id, model: d.model ?? null, lang: d.lang });
    return c.redirect(`/ops/support/${q.id}?done=publish`, 303);
  });
}
