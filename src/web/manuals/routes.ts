/**
 * Remediation manuals. Public: /manuals (the catalogue's models by maker, each with its manual)
 * and /manuals/:key (the current version in the request's language, else the other one, said so).
 * Operators (admin, analyst): /ops/manuals lists them; an edit saves a new version (never an
 * overwrite, and refused when someone saved a newer one meanwhile); history, any old version and
 * a line diff between two versions. Bodies are plain text shown escaped (pre-wrap): no HTML from
 * the store ever reaches a page.
 */
import type { Context } from 'hono';
import { z } from 'zod';
import { IotcleanError } from '../../core/errors.js';
import type { CatalogueEntry } from '../../core/records.js';
import type { ManualText, ManualVersion, SupportLang } from '../../store/web-support.js';
import { csrfField, html, page, problemPage, raw, type Html } from '../html.js';
import { formatDate, tr } from '../i18n.js';
import { requireRole } from '../security.js';
import type { WebApp, WebContext, WebEnv } from '../types.js';
import { langOf, pickText, safeUrl, type DeskDeps } from './deps.js';
import { diffLines } from './diff.js';
import { manualMessages as m } from './messages.js';
import { manualKeyPattern, manualLimits } from './seeds.js';

const keyParam = z.string().regex(manualKeyPattern);

/**
 * A manual body (plain text) as escaped markup: blocks split by blank lines; a block that starts
 * with "1. " is a list of numbered steps (the step's first line its heading, the lines below its
 * text); any other block a paragraph keeping its line breaks. Every piece of text is escaped.
 */
export function manualBody(body: string): Html {
  const blocks = body.replace(/\r\n?/g, '\n').split(/\n[ \t]*\n/).map((b) => b.replace(/^\n+|\s+$/g, '')).filter(Boolean);
  return html`<div class="manual">${blocks.map((block) => {
    const lines = block.split('\n');
    if (!/^\d{1,3}\.\s/.test(lines[0]!)) return html`<p class="manual-body">${block}</p>`;
    const steps: { head: string; rest: string[] }[] = [];
    for (const line of lines) {
      if (/^\d{1,3}\.\s/.test(line)) steps.push({ head: line, rest: [] });
      else steps.at(-1)!.rest.push(line.trim());
    }
    return html`<ol class="manual-steps">${steps.map((x) => html`<li><strong>${x.head}</strong>${x.rest.length ? html`<span class="manual-body">${x.rest.join('\n')}</span>` : ''}</li>`)}</ol>`;
  })}</div>`;
}

const typeLabel = (c: Context<WebEnv>, type: string): string => {
  const t = tr(c, m);
  return type in m ? t(type as keyof typeof m) : type;
};

/** The catalogue's models of a manual, with their makers' support pages. */
export function modelList(c: Context<WebEnv>, entries: readonly CatalogueEntry[]): Html {
  const t = tr(c, m);
  if (!entries.length) return html``;
  return html`<h2>${t('models')}</h2>
<ul class="manual-models">
${entries.map((e) => {
  const url = safeUrl(e.supportUrl);
  return html`<li>${e.vendor} ${e.model}${url ? html` — <a href="${url}" rel="noopener noreferrer">${t('support')}</a>` : ''}</li>`;
})}
</ul>`;
}

const editForm = z.object({
  based_on: z.coerce.number().int().min(0),
  title_ja: z.string().trim().max(manualLimits.title),
  body_ja: z.string().max(manualLimits.body),
  title_en: z.string().trim().max(manualLimits.title),
  body_en: z.string().max(manualLimits.body),
  note: z.string().trim().max(manualLimits.note).default(''),
  _csrf: z.string().optional(),
});

/** Bodies as typed in a browser: CRLF to LF, trailing blanks off, one final newline. */
const normaliseBody = (s: string): string => {
  const t = s.replace(/\r\n?/g, '\n').replace(/[ \t]+$/gm, '').trimEnd();
  return t ? `${t}\n` : '';
};

export function mountManuals(app: WebApp, ctx: WebContext, deps: DeskDeps): void {
  const ops = requireRole('admin', 'analyst');

  app.get('/manuals', async (c) => {
    const t = tr(c, m);
    const lang = langOf(c);
    await deps.ready();
    const manuals = new Map((await ctx.store.support.manuals()).map((v) => [v.key, v]));
    const vendors = new Map<string, CatalogueEntry[]>();
    for (const e of deps.catalogue.entries) vendors.set(e.vendor, [...(vendors.get(e.vendor) ?? []), e]);
    const sorted = [...vendors.entries()].sort(([a], [b]) => a.localeCompare(b, 'en', { sensitivity: 'base' }));
    return page(c, {
      title: t('listTitle'),
      body: html`<p>${t('listIntro')}</p>
${sorted.map(
  ([vendor, entries]) => html`<section class="manual-vendor">
<h2>${vendor}</h2>
<table>
<thead><tr><th scope="col">${t('model')}</th><th scope="col">${t('type')}</th><th scope="col">${t('manual')}</th></tr></thead>
<tbody>
${entries.map((e) => {
  const v = e.manual ? manuals.get(e.manual) : undefined;
  const picked = v ? pickText(v, lang) : null;
  return html`<tr><td>${e.model}</td><td>${typeLabel(c, e.type)}</td><td>${picked ? html`<a href="/manuals/${v!.key}">${picked.text.title}</a>` : html`<span class="muted">${t('noManual')}</span>`}</td></tr>`;
})}
</tbody>
</table>
</section>`,
)}
<h2>${t('allManuals')}</h2>
<ul id="manual-list">
${[...manuals.values()].map((v) => {
  const p = pickText(v, lang);
  return p ? html`<li><a href="/manuals/${v.key}">${p.text.title}</a></li>` : '';
})}
</ul>`,
    });
  });

  app.get('/manuals/:key', async (c) => {
    const t = tr(c, m);
    const key = keyParam.safeParse(c.req.param('key'));
    if (!key.success) return problemPage(c, 404, t('notFound'));
    await deps.ready();
    const v = await ctx.store.support.manual(key.data);
    const picked = v ? pickText(v, langOf(c)) : null;
    if (!v || !picked) return problemPage(c, 404, t('notFound'));
    const faq = (await ctx.store.support.faq({ modelKey: v.key })).filter((f) => f.lang === picked.lang || f.lang === langOf(c)).slice(0, 10);
    const role = c.get('session')?.account.role;
    return page(c, {
      title: picked.text.title,
      body: html`${picked.fallback ? html`<p class="notice" id="lang-fallback">${t('fallback')}</p>` : ''}
<p class="muted">${t('version', { version: v.version, date: formatDate(langOf(c), v.editedAt) })}${role === 'admin' || role === 'analyst' ? html` · <a href="/ops/manuals/${v.key}/edit">${t('edit')}</a> · <a href="/ops/manuals/${v.key}/history">${t('history')}</a>` : ''}</p>
<article lang="${picked.lang}">${manualBody(picked.text.body)}</article>
${modelList(c, deps.modelsOf(v.key))}
${faq.length ? html`<h2>${t('faq')}</h2><dl class="faq">${faq.map((f) => html`<dt>${f.question}</dt><dd class="manual-body">${f.answer}</dd>`)}</dl>` : ''}
<p><a class="button" href="/support/new?model=${v.key}" id="ask-link">${t('ask')}</a> · <a href="/manuals">${t('allManuals')}</a></p>`,
    });
  });

  app.get('/ops/manuals', ops, async (c) => {
    const t = tr(c, m);
    await deps.ready();
    const list = await ctx.store.support.manuals();
    return page(c, {
      title: t('opsTitle'),
      body: html`<table id="ops-manuals">
<thead><tr><th scope="col">${t('key')}</th><th scope="col">${t('title')}</th><th scope="col" class="num">${t('current')}</th><th scope="col">${t('editedBy')}</th><th scope="col">${t('editedAt')}</th><th scope="col"></th></tr></thead>
<tbody>
${list.map((v) => {
  const p = pickText(v, langOf(c));
  return html`<tr><td><a href="/manuals/${v.key}">${v.key}</a></td><td>${p?.text.title ?? ''}</td><td class="num">${v.version}</td><td>${v.editedBy}</td><td>${formatDate(langOf(c), v.editedAt)}</td><td><a href="/ops/manuals/${v.key}/edit">${t('edit')}</a> · <a href="/ops/manuals/${v.key}/history">${t('history')}</a></td></tr>`;
})}
</tbody>
</table>
${(() => {
  const have = new Set(list.map((v) => v.key));
  const missing = [...new Set(deps.catalogue.entries.map((e) => e.manual).filter((k): k is string => k !== null && !have.has(k)))].sort();
  return missing.length
    ? html`<h2>${t('missingTitle')}</h2><p>${t('missingIntro')}</p><ul id="manuals-missing">${missing.map((k) => html`<li><a href="/ops/manuals/${k}/edit">${k}</a> (${deps.modelsOf(k).map((e) => `${e.vendor} ${e.model}`).join(', ')})</li>`)}</ul>`
    : '';
})()}`,
    });
  });

  const editPage = (c: Context<WebEnv>, v: ManualVersion, values: { ja: ManualText; en: ManualText; note: string }, message?: string, status: 200 | 400 | 409 = 200) => {
    const t = tr(c, m);
    return page(c, {
      title: t('editTitle', { key: v.key }),
      status,
      body: html`${message ? html`<p class="problem" role="alert" id="manual-error">${message}</p>` : ''}
<p>${t('editIntro')}</p>
${v.version ? html`<p class="muted">${t('version', { version: v.version, date: formatDate(langOf(c), v.editedAt) })}</p>` : html`<p class="muted" id="manual-new">${t('newManual')}</p>`}
<form method="post" action="/ops/manuals/${v.key}" class="manual-edit">
${csrfField(c)}
<input type="hidden" name="based_on" value="${v.version}">
<label>${t('titleJa')} <input name="title_ja" id="title_ja" maxlength="${manualLimits.title}" value="${values.ja.title}" lang="ja"></label>
<label>${t('bodyJa')} <textarea name="body_ja" id="body_ja" rows="18" maxlength="${manualLimits.body}" lang="ja">${values.ja.body}</textarea></label>
<label>${t('titleEn')} <input name="title_en" id="title_en" maxlength="${manualLimits.title}" value="${values.en.title}" lang="en"></label>
<label>${t('bodyEn')} <textarea name="body_en" id="body_en" rows="18" maxlength="${manualLimits.body}" lang="en">${values.en.body}</textarea></label>
<label>${t('note')} <input name="note" id="note" maxlength="${manualLimits.note}" value="${values.note}"></label>
<button type="submit" id="manual-save">${t('save')}</button>
</form>
<p><a href="/ops/manuals/${v.key}/history">${t('history')}</a></p>`,
    });
  };

  const current = async (c: Context<WebEnv>): Promise<ManualVersion | undefined> => {
    const key = keyParam.safeParse(c.req.param('key'));
    if (!key.success) return undefined;
    await deps.ready();
    return ctx.store.support.manual(key.data);
  };

  /** The current version, or "version 0" of a catalogue key that has no manual yet (so it can be written). */
  const editable = async (c: Context<WebEnv>): Promise<ManualVersion | undefined> => {
    const v = await current(c);
    if (v) return v;
    const key = c.req.param('key') ?? '';
    return deps.modelsOf(key).length ? { key, version: 0, editedBy: '', editedAt: new Date(0).toISOString(), note: '', texts: {} } : undefined;
  };

  app.get('/ops/manuals/:key/edit', ops, async (c) => {
    const v = await editable(c);
    if (!v) return problemPage(c, 404, tr(c, m)('notFound'));
    const empty = { title: '', body: '' };
    return editPage(c, v, { ja: v.texts.ja ?? empty, en: v.texts.en ?? empty, note: '' });
  });

  app.post('/ops/manuals/:key', ops, async (c) => {
    const t = tr(c, m);
    const v = await editable(c);
    if (!v) return problemPage(c, 404, t('notFound'));
    const form = await c.req.parseBody();
    const parsed = editForm.safeParse(form);
    const str = (k: string) => (typeof form[k] === 'string' ? (form[k] as string) : '');
    const typed = { ja: { title: str('title_ja'), body: str('body_ja') }, en: { title: str('title_en'), body: str('body_en') }, note: str('note') };
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      const field = String(issue.path[0] ?? '');
      const max = field.startsWith('title') ? manualLimits.title : field.startsWith('body') ? manualLimits.body : manualLimits.note;
      return editPage(c, v, typed, issue.code === 'too_big' ? t('tooLong', { field, max }) : `${field}: ${issue.message}`, 400);
    }
    const d = parsed.data;
    const texts: Partial<Record<SupportLang, ManualText>> = {};
    for (const lang of ['ja', 'en'] as const) {
      const title = d[`title_${lang}`];
      const body = normaliseBody(d[`body_${lang}`]);
      if (!title && !body) continue;
      if (!title || !body) return editPage(c, v, typed, t('half', { lang: t(lang) }), 400);
      texts[lang] = { title, body };
    }
    if (!texts.ja && !texts.en) return editPage(c, v, typed, t('needOne'), 400);
    const same = (['ja', 'en'] as const).every((l) => (texts[l]?.title ?? null) === (v.texts[l]?.title ?? null) && (texts[l]?.body ?? null) === (v.texts[l]?.body ?? null));
    if (same) return editPage(c, v, typed, t('noChange'), 400);
    let saved: ManualVersion;
    try {
      saved = await ctx.store.support.saveManual(v.key, texts, c.get('session')!.account.name, d.note, d.based_on, ctx.now());
    } catch (e) {
      if (e instanceof IotcleanError && e.code === 'E_BUSY') {
        const newer = (await ctx.store.support.manual(v.key))!;
        return editPage(c, newer, typed, t('conflict', { version: newer.version }), 409);
      }
      throw e;
    }
    await ctx.audit(c, 'manual.edit', `manual:${v.key}`, { version: saved.version, from: d.based_on, langs: Object.keys(texts), note: d.note });
    return c.redirect(`/ops/manuals/${v.key}/history?saved=${saved.version}`, 303);
  });

  app.get('/ops/manuals/:key/history', ops, async (c) => {
    const t = tr(c, m);
    const v = await current(c);
    if (!v) return problemPage(c, 404, t('notFound'));
    const versions = await ctx.store.support.manualHistory(v.key);
    const saved = Number(c.req.query('saved'));
    const lang = langOf(c);
    return page(c, {
      title: t('historyTitle', { key: v.key }),
      body: html`${Number.isInteger(saved) && saved > 0 ? html`<p class="ok" role="status" id="manual-saved">${t('saved', { version: saved })}</p>` : ''}
<form method="get" action="/ops/manuals/${v.key}/diff" class="filters">
<table id="manual-history">
<thead><tr><th scope="col">${t('from')}</th><th scope="col">${t('to')}</th><th scope="col" class="num">#</th><th scope="col">${t('editedBy')}</th><th scope="col">${t('editedAt')}</th><th scope="col">${t('langs')}</th><th scope="col">${t('note')}</th><th scope="col"></th></tr></thead>
<tbody>
${versions.map(
  (x, i) => html`<tr>
<td><input type="radio" name="from" value="${x.version}" aria-label="${t('from')} ${x.version}"${i === 1 ? raw(' checked') : ''}></td>
<td><input type="radio" name="to" value="${x.version}" aria-label="${t('to')} ${x.version}"${i === 0 ? raw(' checked') : ''}></td>
<td class="num">${x.version}</td><td>${x.editedBy}</td><td>${formatDate(lang, x.editedAt)}</td><td>${Object.keys(x.texts).join(', ')}</td><td>${x.note}</td>
<td><a href="/ops/manuals/${v.key}/v/${x.version}">${t('view')}</a></td></tr>`,
)}
</tbody>
</table>
<label>${t('langs')} <select name="lang"><option value="ja"${lang === 'ja' ? raw(' selected') : ''}>${t('ja')}</option><option value="en"${lang === 'en' ? raw(' selected') : ''}>${t('en')}</option></select></label>
<button type="submit" id="compare">${t('compare')}</button>
</form>
<p><a href="/ops/manuals/${v.key}/edit">${t('edit')}</a> · <a href="/manuals/${v.key}">${v.key}</a></p>`,
    });
  });

  app.get('/ops/manuals/:key/v/:version', ops, async (c) => {
    const t = tr(c, m);
    const key = keyParam.safeParse(c.req.param('key'));
    const version = z.coerce.number().int().min(1).safeParse(c.req.param('version'));
    if (!key.success || !version.success) return problemPage(c, 404, t('notFound'));
    const v = await ctx.store.support.manual(key.data, version.data);
    if (!v) return problemPage(c, 404, t('notFound'));
    return page(c, {
      title: t('versionTitle', { version: v.version, key: v.key }),
      body: html`<p class="muted">${v.editedBy} · ${formatDate(langOf(c), v.editedAt)} · ${v.note}</p>
${(['ja', 'en'] as const).map((l) => {
  const x = v.texts[l];
  return html`<section lang="${l}"><h2>${t(l)}</h2>${x ? html`<h3>${x.title}</h3>${manualBody(x.body)}` : html`<p class="muted">${t('noText')}</p>`}</section>`;
})}
<p><a href="/ops/manuals/${v.key}/history">${t('history')}</a></p>`,
    });
  });

  app.get('/ops/manuals/:key/diff', ops, async (c) => {
    const t = tr(c, m);
    const key = keyParam.safeParse(c.req.param('key'));
    const q = z.object({ from: z.coerce.number().int().min(1), to: z.coerce.number().int().min(1), lang: z.enum(['ja', 'en']).default(langOf(c)) }).safeParse(c.req.query());
    if (!key.success) return problemPage(c, 404, t('notFound'));
    if (!q.success) return problemPage(c, 400, t('badVersions'));
    const [a, b] = [await ctx.store.support.manual(key.data, q.data.from), await ctx.store.support.manual(key.data, q.data.to)];
    if (!a || !b) return problemPage(c, 404, t('notFound'));
    const l = q.data.lang;
    const older = a.texts[l];
    const newer = b.texts[l];
    // The final newline is not a line of its own.
    const text = (x: ManualText | undefined) => (x ? `${x.title}\n\n${x.body.replace(/\n$/, '')}` : '');
    const lines = diffLines(text(older), text(newer));
    const changed = lines.some((x) => x.op !== 'same');
    return page(c, {
      title: t('diffTitle', { from: a.version, to: b.version, key: a.key }),
      body: html`<p>${t('diffLegend')} (${t(l)})</p>
${
  changed
    ? html`<table class="diff" id="manual-diff" lang="${l}">
<tbody>
${lines.map(
  (x) => html`<tr class="diff-${x.op}"><td class="num muted">${x.oldNo ?? ''}</td><td class="num muted">${x.newNo ?? ''}</td><td class="diff-mark" aria-label="${x.op}">${x.op === 'add' ? '+' : x.op === 'del' ? '−' : ''}</td><td class="diff-text">${x.op === 'add' ? html`<ins>${x.text}</ins>` : x.op === 'del' ? html`<del>${x.text}</del>` : x.text}</td></tr>`,
)}
</tbody>
</table>`
    : html`<p id="manual-diff-none">${t('noDiff')}</p>`
}
<p><a href="/ops/manuals/${a.key}/history">${t('history')}</a></p>`,
    });
  });
}
