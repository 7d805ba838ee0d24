/**
 * Operators' account administration (/ops/accounts, admin only: list, create, disable/enable,
 * reset password; disabling or resetting ends the account's sessions) and the audit log viewer
 * (/ops/audit, admin and analyst: filters by account and action, newest first, keyset paged).
 * Every change is audited.
 */
import type { Context } from 'hono';
import { z } from 'zod';
import { isIotcleanError } from '../../core/errors.js';
import { ispIdSchema } from '../../notify/table-file.js';
import { defaultScryptLog2N, hashPassword, passwordProblem } from '../auth/passwords.js';
import { csrfField, html, page, problemPage } from '../html.js';
import { formatDate, tr } from '../i18n.js';
import { requireRole } from '../security.js';
import { roles, type Account, type WebApp, type WebContext, type WebEnv } from '../types.js';
import { adminMessages } from './messages.js';

/** Audit entries per page. */
export const auditPageSize = 100;

const blank = (v: unknown) => (typeof v === 'string' && v.trim() === '' ? undefined : typeof v === 'string' ? v.trim() : v);

export const accountNameSchema = z.string().regex(/^[a-z0-9._-]{3,64}$/, '3–64 of a-z 0-9 . _ -');
const passwordSchema = z.string().superRefine((p, c) => {
  const problem = passwordProblem(p);
  if (problem) c.addIssue({ code: 'custom', message: problem });
});

/** A new account as the form or the CLI gives it: an ISP for the isp role and only for it. */
export const newAccountSchema = z
  .object({
    name: z.preprocess((v) => (typeof v === 'string' ? v.trim().toLowerCase() : v), accountNameSchema),
    role: z.enum(roles),
    isp: z.preprocess(blank, ispIdSchema.optional()),
    displayName: z.preprocess(blank, z.string().max(100, 'at most 100 characters').optional()),
    password: passwordSchema,
  })
  .superRefine((a, c) => {
    if (a.role === 'isp' && a.isp === undefined) c.addIssue({ code: 'custom', path: ['isp'], message: 'an isp account needs its ISP id' });
    if (a.role !== 'isp' && a.isp !== undefined) c.addIssue({ code: 'custom', path: ['isp'], message: 'only an isp account has an ISP' });
  });

const auditQuery = z.object({
  account: z.preprocess(blank, accountNameSchema.optional()),
  action: z.preprocess(blank, z.string().regex(/^[a-z.-]{1,64}$/, 'an action such as login, view, case.report').optional()),
  before: z.preprocess(blank, z.coerce.number().int().min(1).optional()),
});

const doneKeys = ['created', 'disabled', 'enabled', 'password', 'revoked'] as const;

const firstIssue = (e: z.ZodError): string => {
  const i = e.issues[0];
  return i ? `${i.path.join('.') || 'input'}: ${i.message}` : 'invalid input';
};

const admin = requireRole('admin');
const operators = requireRole('admin', 'analyst');

async function accountsPage(c: Context<WebEnv>, ctx: WebContext, message?: { text: string; ok: boolean }, status: 200 | 400 | 409 = 200) {
  const t = tr(c, adminMessages);
  const list = await ctx.store.web.listAccounts();
  const tokens = await ctx.store.portal.allTokens();
  const lang = c.get('lang');
  const self = c.get('session')!.account.id;
  const row = (a: Account) => html`<tr data-account="${a.name}"><td>${a.name}</td><td>${a.role}</td><td>${a.isp ?? '—'}</td><td>${a.displayName}</td><td>${a.disabled ? t('disabled') : t('active')}</td><td>${formatDate(lang, a.createdAt)}</td><td>
${
  a.id === self
    ? ''
    : html`<form method="post" action="/ops/accounts/${a.id}/${a.disabled ? 'enable' : 'disable'}" class="inline">${csrfField(c)}<button type="submit" id="${a.disabled ? 'enable' : 'disable'}-${a.name}"${a.disabled ? '' : html` data-confirm="${t('disableConfirm')}"`}>${a.disabled ? t('enable') : t('disable')}</button></form>`
}
<form method="post" action="/ops/accounts/${a.id}/password" class="inline">${csrfField(c)}<input type="password" name="password" autocomplete="new-password" minlength="12" maxlength="128" required aria-label="${t('newPassword')}" placeholder="${t('newPassword')}" id="password-${a.name}"><button type="submit" id="reset-${a.name}">${t('reset')}</button></form>
</td></tr>`;
  return page(c, {
    title: t('accountsTitle'),
    status,
    body: html`${message ? html`<p class="${message.ok ? 'ok' : 'problem'}" role="status" id="account-message">${message.text}</p>` : ''}
<table id="accounts"><thead><tr><th>${t('name')}</th><th>${t('role')}</th><th>${t('isp')}</th><th>${t('displayName')}</th><th>${t('state')}</th><th>${t('created')}</th><th>${t('actions')}</th></tr></thead>
<tbody>${list.map(row)}</tbody></table>
<h2>${t('tokens')}</h2>
${
  tokens.length === 0
    ? html`<p id="no-tokens">${t('noTokens')}</p>`
    : html`<table id="isp-tokens"><thead><tr><th>${t('isp')}</th><th>${t('label')}</th><th>${t('created')}</th><th>${t('issuedBy')}</th><th>${t('lastUsed')}</th><th>${t('state')}</th><th></th></tr></thead>
<tbody>${tokens.map(
        (k) => html`<tr data-token="${k.id}"><td>${k.isp}</td><td>${k.label}</td><td>${formatDate(lang, k.createdAt)}</td><td>${k.createdBy}</td><td>${k.lastUsedAt === null ? '—' : formatDate(lang, k.lastUsedAt)}</td><td>${k.revokedAt === null ? t('active') : html`${t('revoked')} ${formatDate(lang, k.revokedAt)} (${k.revokedBy ?? ''})`}</td><td>${
          k.revokedAt === null
            ? html`<form method="post" action="/ops/accounts/tokens/${k.id}/revoke" class="inline">${csrfField(c)}<input type="hidden" name="isp" value="${k.isp}"><button type="submit" data-confirm="${t('revokeConfirm')}" id="ops-revoke-${k.id}">${t('revoke')}</button></form>`
            : ''
        }</td></tr>`,
      )}</tbody></table>`
}
<h2>${t('create')}</h2>
<form method="post" action="/ops/accounts" class="login" id="create-account">${csrfField(c)}
<label>${t('name')} <input name="name" id="new-name" required maxlength="64" pattern="[a-z0-9._\\-]{3,64}" title="${t('nameHint')}"></label>
<label>${t('role')} <select name="role" id="new-role">${roles.map((r) => html`<option value="${r}">${r}</option>`)}</select></label>
<label>${t('isp')} <input name="isp" id="new-isp" maxlength="64" title="${t('ispHint')}"></label>
<label>${t('displayName')} <input name="displayName" id="new-display-name" maxlength="100"></label>
<label>${t('password')} <input name="password" id="new-password" type="password" autocomplete="new-password" required minlength="12" maxlength="128"></label>
<button type="submit" id="create-submit">${t('create')}</button>
</form>`,
  });
}

export function mountAdmin(app: WebApp, ctx: WebContext): void {
  const cost = ctx.options.scryptLog2N ?? defaultScryptLog2N;

  app.get('/ops/accounts', admin, async (c) => {
    const t = tr(c, adminMessages);
    const done = c.req.query('done');
    await ctx.audit(c, 'view', '/ops/accounts');
    return accountsPage(c, ctx, done !== undefined && (doneKeys as readonly string[]).includes(done) ? { text: t(`done.${done as (typeof doneKeys)[number]}`), ok: true } : undefined);
  });

  app.post('/ops/accounts', admin, async (c) => {
    const t = tr(c, adminMessages);
    const form = newAccountSchema.safeParse(await c.req.parseBody());
    if (!form.success) return accountsPage(c, ctx, { text: t('bad', { what: firstIssue(form.error) }), ok: false }, 400);
    const a = form.data;
    try {
      const account = await ctx.store.web.createAccount({ name: a.name, role: a.role, isp: a.isp ?? null, displayName: a.displayName ?? a.name, passwordHash: await hashPassword(a.password, cost) }, ctx.now());
      await ctx.audit(c, 'account.create', account.name, { role: account.role, isp: account.isp });
    } catch (e) {
      if (isIotcleanError(e)) return accountsPage(c, ctx, { text: t('bad', { what: e.message }), ok: false }, 409);
      throw e;
    }
    return c.redirect('/ops/accounts?done=created', 303);
  });

  const target = async (c: Context<WebEnv>): Promise<Account | undefined> => {
    const id = z.coerce.number().int().min(1).max(2 ** 31).safeParse(c.req.param('id'));
    return id.success ? ctx.store.web.account(id.data) : undefined;
  };

  for (const disabled of [true, false]) {
    app.post(`/ops/accounts/:id/${disabled ? 'disable' : 'enable'}`, admin, async (c) => {
      const t = tr(c, adminMessages);
      const a = await target(c);
      if (!a) return problemPage(c, 404, t('notFound'));
      if (disabled && a.id === c.get('session')!.account.id) return accountsPage(c, ctx, { text: t('self'), ok: false }, 409);
      await ctx.store.web.setDisabled(a.id, disabled);
      const ended = disabled ? await ctx.store.web.deleteSessions(a.id) : 0;
      await ctx.audit(c, disabled ? 'account.disable' : 'account.enable', a.name, disabled ? { sessionsEnded: ended } : {});
      return c.redirect(`/ops/accounts?done=${disabled ? 'disabled' : 'enabled'}`, 303);
    });
  }

  app.post('/ops/accounts/:id/password', admin, async (c) => {
    const t = tr(c, adminMessages);
    const a = await target(c);
    if (!a) return problemPage(c, 404, t('notFound'));
    const form = z.object({ password: passwordSchema }).safeParse(await c.req.parseBody());
    if (!form.success) return accountsPage(c, ctx, { text: t('bad', { what: firstIssue(form.error) }), ok: false }, 400);
    await ctx.store.web.setPassword(a.id, await hashPassword(form.data.password, cost), ctx.now());
    // A reset password ends every session the old one opened (the admin's own included, if it is theirs).
    const ended = await ctx.store.web.deleteSessions(a.id);
    await ctx.audit(c, 'account.password', a.name, { sessionsEnded: ended });
    return c.redirect('/ops/accounts?done=password', 303);
  });

  // An operator can revoke any ISP's token (a leaked one), by id and the ISP it belongs to.
  app.post('/ops/accounts/tokens/:id/revoke', admin, async (c) => {
    const t = tr(c, adminMessages);
    const id = z.coerce.number().int().min(1).max(2 ** 31).safeParse(c.req.param('id'));
    const form = z.object({ isp: ispIdSchema }).safeParse(await c.req.parseBody());
    if (!id.success || !form.success || !(await ctx.store.portal.revokeToken(form.data.isp, id.data, c.get('session')!.account.name, ctx.now()))) return problemPage(c, 404, t('notFound'));
    await ctx.audit(c, 'token.revoke', `token:${id.data}`, { isp: form.data.isp });
    return c.redirect('/ops/accounts?done=revoked', 303);
  });

  app.get('/ops/audit', operators, async (c) => {
    const t = tr(c, adminMessages);
    const parsed = auditQuery.safeParse(c.req.query());
    if (!parsed.success) return problemPage(c, 400, t('bad', { what: firstIssue(parsed.error) }));
    const q = parsed.data;
    const who = q.account !== undefined ? await ctx.store.web.accountByName(q.account) : undefined;
    const unknown = q.account !== undefined && who === undefined;
    const entries = unknown
      ? []
      : await ctx.store.web.auditLog({ limit: auditPageSize + 1, ...(who ? { accountId: who.account.id } : {}), ...(q.action !== undefined ? { action: q.action } : {}), ...(q.before !== undefined ? { beforeId: q.before } : {}) });
    const more = entries.length > auditPageSize;
    const shown = entries.slice(0, auditPageSize);
    await ctx.audit(c, 'view', '/ops/audit', { account: q.account ?? null, action: q.action ?? null });
    const lang = c.get('lang');
    const keep = new URLSearchParams();
    if (q.account !== undefined) keep.set('account', q.account);
    if (q.action !== undefined) keep.set('action', q.action);
    const last = shown.at(-1)?.id;
    const nextQuery = new URLSearchParams(keep);
    if (last !== undefined) nextQuery.set('before', String(last));
    return page(c, {
      title: t('auditTitle'),
      body: html`<form method="get" action="/ops/audit" class="filters" id="audit-filters">
<label>${t('account')} <input name="account" id="audit-account" value="${q.account ?? ''}" maxlength="64"></label>
<label>${t('action')} <input name="action" id="audit-action" value="${q.action ?? ''}" maxlength="64" list="audit-actions"></label>
<datalist id="audit-actions">${['login', 'login.failed', 'logout', 'view', 'view.refused', 'download', 'case.report', 'token.create', 'token.revoke', 'account.create', 'account.disable', 'account.enable', 'account.password'].map((a) => html`<option value="${a}">`)}</datalist>
<button type="submit">${t('filter')}</button></form>
${unknown ? html`<p class="problem" id="audit-unknown">${t('unknownAccount', { name: q.account! })}</p>` : ''}
${
  shown.length === 0
    ? html`<p id="audit-none">${t('none')}</p>`
    : html`<table id="audit"><thead><tr><th class="num">#</th><th>${t('at')}</th><th>${t('account')}</th><th>${t('ip')}</th><th>${t('action')}</th><th>${t('target')}</th><th>${t('detail')}</th></tr></thead>
<tbody>${shown.map(
        (e) => html`<tr><td class="num">${e.id}</td><td>${formatDate(lang, e.at)}</td><td>${e.accountName ?? t('anonymous')}</td><td>${e.ip}</td><td>${e.action}</td><td class="device-text">${e.target}</td><td class="device-text">${Object.keys(e.detail).length ? JSON.stringify(e.detail) : ''}</td></tr>`,
      )}</tbody></table>`
}
<p class="paging">${q.before !== undefined ? html`<a href="/ops/audit${keep.size ? `?${keep}` : ''}">${t('first')}</a> ` : ''}${more ? html`<a href="/ops/audit?${nextQuery}" id="audit-next">${t('next')}</a>` : ''}</p>`,
    });
  });
}
