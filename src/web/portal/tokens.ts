/**
 * /isp/tokens: an ISP issues API tokens (256 random bits, shown once, kept only as SHA-256 with
 * its ISP, label, issuer, last use and revocation), lists and revokes them. The ISP API of
 * src/notify/api.ts is mounted at /api/v1 and accepts these tokens (a revoked one answers 401);
 * bearer requests carry no cookie, so the CSRF check does not apply to them. Every successful API
 * read is audited under the pseudo-account "api:<isp>".
 */
import { randomBytes } from 'node:crypto';
import type { Context } from 'hono';
import { z } from 'zod';
import { createNotifyApi } from '../../notify/api.js';
import { tokenDigest } from '../../notify/tokens.js';
import { csrfField, html, page, problemPage } from '../html.js';
import { tr } from '../i18n.js';
import type { WebApp, WebContext, WebEnv } from '../types.js';
import { blank, firstIssue, idParam, ispOnly, ownIsp, when } from './common.js';
import { portalMessages } from './messages.js';

/** A new token: a prefix that tells what it is (secret scanners know such prefixes) and 256 random bits. */
export const newToken = (): string => `iotc_${randomBytes(32).toString('base64url')}`;

const issueForm = z.object({ label: blank(z.string().max(80, 'at most 80 characters')), _csrf: z.string().optional() });

async function tokensPage(c: Context<WebEnv>, ctx: WebContext, isp: string, extra: { issued?: string; message?: string; status?: 200 | 400 } = {}) {
  const t = tr(c, portalMessages);
  const list = await ctx.store.portal.tokens(isp);
  const base = `${ctx.options.publicUrl ?? new URL(c.req.url).origin}/api/v1`;
  return page(c, {
    title: t('tokensTitle'),
    status: extra.status ?? 200,
    body: html`<p>${t('tokensIntro', { base })}</p>
${extra.message ? html`<p class="${extra.status === 400 ? 'problem' : 'ok'}" role="status" id="token-message">${extra.message}</p>` : ''}
${extra.issued ? html`<p>${t('issued')}</p><p><code class="device-text" id="new-token">${extra.issued}</code></p>` : ''}
<form method="post" action="/isp/tokens" class="filters" id="issue-token">${csrfField(c)}
<label>${t('label')} <input name="label" id="token-label" required maxlength="80"></label>
<button type="submit" id="issue-submit">${t('issue')}</button></form>
${
  list.length === 0
    ? html`<p id="no-tokens">${t('noTokens')}</p>`
    : html`<table id="tokens"><thead><tr><th>${t('label')}</th><th>${t('created')}</th><th>${t('who')}</th><th>${t('lastUsed')}</th><th>${t('status')}</th><th></th></tr></thead>
<tbody>${list.map(
        (k) => html`<tr data-token="${k.id}"><td>${k.label}</td><td>${when(c, k.createdAt)}</td><td>${k.createdBy}</td><td>${k.lastUsedAt === null ? t('never') : when(c, k.lastUsedAt)}</td><td>${k.revokedAt === null ? t('active') : html`${t('revoked')} ${when(c, k.revokedAt)} (${k.revokedBy ?? ''})`}</td><td>${
          k.revokedAt === null
            ? html`<form method="post" action="/isp/tokens/${k.id}/revoke" class="inline">${csrfField(c)}<button type="submit" data-confirm="${t('revokeConfirm')}" id="revoke-${k.id}">${t('revoke')}</button></form>`
            : ''
        }</td></tr>`,
      )}</tbody></table>`
}`,
  });
}

export function mountTokens(app: WebApp, ctx: WebContext): void {
  app.get('/isp/tokens', ispOnly, async (c) => {
    const isp = ownIsp(c);
    if (typeof isp !== 'string') return isp;
    return tokensPage(c, ctx, isp, c.req.query('revoked') === '1' ? { message: tr(c, portalMessages)('revokedDone') } : {});
  });

  app.post('/isp/tokens', ispOnly, async (c) => {
    const isp = ownIsp(c);
    if (typeof isp !== 'string') return isp;
    const t = tr(c, portalMessages);
    const form = issueForm.safeParse(await c.req.parseBody());
    if (!form.success || form.data.label === undefined) return tokensPage(c, ctx, isp, { message: form.success ? t('badLabel') : `${t('badLabel')} (${firstIssue(form.error)})`, status: 400 });
    const token = newToken();
    const account = c.get('session')!.account;
    const stored = await ctx.store.portal.createToken({ isp, label: form.data.label, sha256: tokenDigest(token), createdBy: account.name }, ctx.now());
    await ctx.audit(c, 'token.create', `token:${stored.id}`, { label: stored.label });
    // Shown in this answer only (no redirect: the token is never in a URL or stored in clear).
    return tokensPage(c, ctx, isp, { issued: token });
  });

  app.post('/isp/tokens/:id/revoke', ispOnly, async (c) => {
    const isp = ownIsp(c);
    if (typeof isp !== 'string') return isp;
    const id = idParam.safeParse(c.req.param('id'));
    const account = c.get('session')!.account;
    if (!id.success || !(await ctx.store.portal.revokeToken(isp, id.data, account.name, ctx.now()))) return problemPage(c, 404, tr(c, portalMessages)('tokenNotFound'));
    await ctx.audit(c, 'token.revoke', `token:${id.data}`);
    return c.redirect('/isp/tokens?revoked=1', 303);
  });
}

/** The ISP API at /api/v1, on the stored tokens (see src/notify/api.ts for its routes). */
export function mountApi(app: WebApp, ctx: WebContext): void {
  const store = ctx.store;
  const api = createNotifyApi({
    source: (isp, filter) => store.findings.list({ ...filter, isp }),
    batches: store.notifications,
    lookup: (token) => store.portal.useToken(tokenDigest(token), ctx.now()),
  });
  app.use('/api/v1/*', async (c, next) => {
    await next();
    // The API sets the ISP it authenticated on the shared context.
    const isp = (c.get as (key: string) => unknown)('isp');
    if (typeof isp === 'string' && c.res.status < 400) {
      await store.web.audit({ accountId: null, accountName: `api:${isp}`, ip: c.get('clientIp'), action: c.req.path.startsWith('/api/v1/batches/') ? 'download' : 'view', target: c.req.path.slice(0, 200), detail: c.req.query() }, ctx.now());
    }
  });
  app.route('/', api as unknown as WebApp);
}
