/**
 * Log in and out. A failed login says only "wrong name or password" (which one is not told), and
 * takes as long for an unknown name as for a wrong password (a decoy hash is verified). Failures
 * are counted per name and per client address in the store, so every server process shares the
 * limit: 5 per name or 30 per address in 15 minutes lock further tries until the window has
 * passed (ASVS 2.2.1). Every login, failure and logout goes to the audit log.
 */
import type { Context } from 'hono';
import { z } from 'zod';
import { tr } from '../i18n.js';
import { csrfField, html, page } from '../html.js';
import { endSession, startSession } from '../security.js';
import type { WebContext, WebEnv, WebModule } from '../types.js';
import { decoyHash, defaultScryptLog2N, verifyPassword } from './passwords.js';

export const loginLimits = { windowMs: 15 * 60_000, perName: 5, perIp: 30 } as const;

const m = {
  title: { ja: 'ログイン', en: 'Log in' },
  name: { ja: 'アカウント名', en: 'Account name' },
  password: { ja: 'パスワード', en: 'Password' },
  submit: { ja: 'ログイン', en: 'Log in' },
  wrong: { ja: 'アカウント名またはパスワードが違います。', en: 'Wrong account name or password.' },
  locked: { ja: '失敗が続いたため一時的にログインできません。15分ほど待ってからお試しください。', en: 'Too many failed logins: wait about 15 minutes and try again.' },
  bad: { ja: 'アカウント名とパスワードを入力してください。', en: 'Enter an account name and a password.' },
} as const;

const loginForm = z.object({
  name: z.string().trim().toLowerCase().min(1).max(64),
  password: z.string().min(1).max(1024),
  next: z.string().max(512).optional(),
  _csrf: z.string().optional(),
});

/** Only a local path may be the target after login (no //host, no scheme). */
const safeNext = (next: string | undefined, fallback: string): string => (next !== undefined && /^\/(?![/\\])[\x21-\x7e]*$/.test(next) ? next : fallback);

export const loginModule: WebModule = {
  name: 'login',
  mount(app, ctx: WebContext) {
    let decoy: Promise<string> | undefined;
    const cost = ctx.options.scryptLog2N ?? defaultScryptLog2N;

    const form = (c: Context<WebEnv>, message?: string, status: 200 | 400 | 429 = 200) => {
      const t = tr(c, m);
      const next = c.req.query('next') ?? '';
      return page(c, {
        title: t('title'),
        status,
        body: html`${message ? html`<p class="problem" role="alert" id="login-error">${message}</p>` : ''}
<form method="post" action="/login" class="login">
${csrfField(c)}
<input type="hidden" name="next" value="${next}">
<label>${t('name')} <input name="name" id="name" autocomplete="username" required maxlength="64"></label>
<label>${t('password')} <input name="password" id="password" type="password" autocomplete="current-password" required maxlength="1024"></label>
<button type="submit" id="login-submit">${t('submit')}</button>
</form>`,
      });
    };

    app.get('/login', (c) => form(c));

    app.post('/login', async (c) => {
      const t = tr(c, m);
      const parsed = loginForm.safeParse(await c.req.parseBody());
      if (!parsed.success) return form(c, t('bad'), 400);
      const { name, password } = parsed.data;
      const ip = c.get('clientIp');
      const now = ctx.now();
      const recent = await ctx.store.web.loginFailures(name, ip, now - loginLimits.windowMs);
      if (recent.byName >= loginLimits.perName || recent.byIp >= loginLimits.perIp) {
        await ctx.audit(c, 'login.locked', name, { byName: recent.byName, byIp: recent.byIp });
        return form(c, t('locked'), 429);
      }
      const found = await ctx.store.web.accountByName(name);
      const ok = found ? await verifyPassword(password, found.passwordHash) : await verifyPassword(password, await (decoy ??= decoyHash(cost)));
      if (!found || !ok || found.account.disabled) {
        await ctx.store.web.recordLoginFailure(name, ip, now);
        await ctx.audit(c, 'login.failed', name);
        return form(c, t('wrong'), 400);
      }
      await ctx.store.web.clearLoginFailures(name);
      await startSession(c, ctx, found.account);
      await ctx.audit(c, 'login', name);
      return c.redirect(safeNext(parsed.data.next, found.account.role === 'isp' ? '/isp' : '/ops'), 303);
    });

    app.post('/logout', async (c) => {
      if (c.get('session')) await ctx.audit(c, 'logout', c.get('session')!.account.name);
      await endSession(c, ctx);
      return c.redirect('/', 303);
    });
  },
};
