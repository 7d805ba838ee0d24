/**
 * Headers, client address, sessions and CSRF, as hono middleware.
 *
 * - Every answer carries a strict Content-Security-Policy (no inline script or style, nothing
 *   from elsewhere, no framing) and the usual hardening headers; pages that show a session's data
 *   are never cached.
 * - Sessions: a 256-bit random cookie value, stored only as its SHA-256; HttpOnly, SameSite=Strict,
 *   Secure over https. Idle timeout 30 min, absolute 12 h (ASVS 3.3); a new value at every login.
 * - CSRF: every unsafe request of a logged-in browser must send the session's token back (form
 *   field `_csrf` or header X-CSRF-Token). Every unsafe request, logged in or not, must show it
 *   came from this site: an Origin of this server, or failing that Sec-Fetch-Site same-origin or
 *   none; one with neither header is refused, since browsers send Origin on every cross-origin
 *   POST and Sec-Fetch-Site on every request. Requests with a bearer token (the ISP API) carry
 *   no cookie and are not subject to it.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Context, MiddlewareHandler } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { getConnInfo } from '@hono/node-server/conninfo';
import { pickLang } from './i18n.js';
import { problemPage } from './html.js';
import type { Account, Role, WebContext, WebEnv } from './types.js';

export const sessionCookie = 'iotclean_session';
export const sessionLimits = { idleMs: 30 * 60_000, absoluteMs: 12 * 3600_000 } as const;

export const contentSecurityPolicy = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join('; ');

const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');

/** Is the request over https (itself, or as a trusted proxy says)? */
export function isHttps(c: Context<WebEnv>, ctx: WebContext): boolean {
  if (new URL(c.req.url).protocol === 'https:') return true;
  return trustedProxy(c, ctx) && c.req.header('x-forwarded-proto') === 'https';
}

const socketIp = (c: Context<WebEnv>): string => {
  try {
    return (getConnInfo(c).remote.address ?? '').replace(/^::ffff:/, '') || '0.0.0.0';
  } catch {
    return '0.0.0.0'; // app.request() in tests has no socket
  }
};

const trustedProxy = (c: Context<WebEnv>, ctx: WebContext): boolean => (ctx.options.trustProxy ?? []).includes(socketIp(c));

/** The client's address: the socket's, or the last X-Forwarded-For hop a trusted proxy added. */
export function clientIpOf(c: Context<WebEnv>, ctx: WebContext): string {
  const ip = socketIp(c);
  if (!trustedProxy(c, ctx)) return ip;
  const hops = (c.req.header('x-forwarded-for') ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  const last = hops.at(-1);
  return last !== undefined && /^[0-9a-fA-F:.]{2,45}$/.test(last) ? last.replace(/^::ffff:/, '') : ip;
}

const secureCookies = (c: Context<WebEnv>, ctx: WebContext): boolean => ctx.options.secureCookies ?? isHttps(c, ctx);

/** Headers, language, client address and the session, for every request. */
export function baseMiddleware(ctx: WebContext): MiddlewareHandler<WebEnv> {
  return async (c, next) => {
    c.set('clientIp', clientIpOf(c, ctx));
    c.set('lang', pickLang(c, secureCookies(c, ctx)));
    c.set('session', null);
    const value = getCookie(c, sessionCookie);
    if (value !== undefined && /^[A-Za-z0-9_-]{43}$/.test(value)) {
      const idHash = sha256(value);
      const s = await ctx.store.web.session(idHash);
      const now = ctx.now();
      if (s && !s.account.disabled && now - s.seenMs < sessionLimits.idleMs && now - s.createdMs < sessionLimits.absoluteMs) {
        c.set('session', { account: s.account, csrf: s.csrf });
        // Touch at most once a minute: a page of many requests writes once.
        if (now - s.seenMs > 60_000) await ctx.store.web.touchSession(idHash, now);
      } else {
        if (s) await ctx.store.web.deleteSession(idHash);
        deleteCookie(c, sessionCookie, { path: '/' });
      }
    }
    await next();
    const h = c.res.headers;
    h.set('Content-Security-Policy', contentSecurityPolicy);
    h.set('X-Content-Type-Options', 'nosniff');
    h.set('X-Frame-Options', 'DENY');
    // same-origin, not no-referrer: with no-referrer Chromium sends `Origin: null` on form posts.
    h.set('Referrer-Policy', 'same-origin');
    h.set('Cross-Origin-Opener-Policy', 'same-origin');
    h.set('Cross-Origin-Resource-Policy', 'same-origin');
    h.set('Permissions-Policy', 'camera=(), microphone=(), geolocation=(), interest-cohort=()');
    if (isHttps(c, ctx)) h.set('Strict-Transport-Security', 'max-age=31536000; includeSubDomains');
    if (c.get('session') && !h.has('Cache-Control')) h.set('Cache-Control', 'no-store');
  };
}

/** Start a session for `account` (after a good login): a new cookie value, never a reused one. */
export async function startSession(c: Context<WebEnv>, ctx: WebContext, account: Account): Promise<void> {
  const value = randomBytes(32).toString('base64url');
  const csrf = randomBytes(32).toString('base64url');
  await ctx.store.web.createSession({ idHash: sha256(value), accountId: account.id, csrf, ip: c.get('clientIp') }, ctx.now());
  setCookie(c, sessionCookie, value, { path: '/', httpOnly: true, sameSite: 'Strict', secure: secureCookies(c, ctx) });
  c.set('session', { account, csrf });
}

export async function endSession(c: Context<WebEnv>, ctx: WebContext): Promise<void> {
  const value = getCookie(c, sessionCookie);
  if (value !== undefined) await ctx.store.web.deleteSession(sha256(value));
  deleteCookie(c, sessionCookie, { path: '/' });
  c.set('session', null);
}

/**
 * This server's origins: the request URL's, and the configured public URL's (behind a
 * TLS-terminating proxy the browser's Origin is the public one).
 */
export function ownOrigins(c: Context<WebEnv>, publicUrl?: string): string[] {
  const own = [new URL(c.req.url).origin];
  if (publicUrl !== undefined && URL.canParse(publicUrl)) own.push(new URL(publicUrl).origin);
  return own;
}

/**
 * Why this unsafe request is not known to come from this site, or null when it is: a foreign
 * Origin, Sec-Fetch-Site cross-site or same-site, or neither header at all (no browser sends a
 * POST so; a client that strips both gets no benefit of the doubt).
 */
export function crossSite(c: Context<WebEnv>, publicUrl?: string): 'origin' | 'fetch-site' | 'no-origin' | null {
  const origin = c.req.header('origin');
  if (origin !== undefined && !ownOrigins(c, publicUrl).includes(origin)) return 'origin';
  const site = c.req.header('sec-fetch-site');
  if (site === 'cross-site' || site === 'same-site') return 'fetch-site';
  return origin === undefined && site === undefined ? 'no-origin' : null;
}

const crossSiteText = {
  ja: { cross: 'ほかのサイトからの送信は受け付けません。このサイトのフォームから送信してください。', none: '送信元を示すヘッダ(Origin、Sec-Fetch-Site)のない送信は受け付けません。このサイトのフォームからブラウザで送信してください。' },
  en: { cross: 'Cross-site request refused: use the form on this site.', none: 'Request refused: it carries neither an Origin nor a Sec-Fetch-Site header, so it cannot be told from a cross-site one. Use the form on this site in a browser.' },
} as const;

const sameToken = (a: string, b: string): boolean => a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));

/** The CSRF check for unsafe methods of logged-in browsers (see the module comment). */
export function csrfMiddleware(ctx: WebContext): MiddlewareHandler<WebEnv> {
  return async (c, next) => {
    const method = c.req.method;
    const session = c.get('session');
    if (method === 'GET' || method === 'HEAD' || method === 'OPTIONS') return next();
    // Bearer-token API calls carry no cookie: a browser cannot be tricked into sending them.
    if (session === null && /^Bearer /i.test(c.req.header('authorization') ?? '')) return next();
    // One rule for every unsafe request, anonymous forms included (/login, /check, /optout, /support).
    const why = crossSite(c, ctx.options.publicUrl);
    if (why !== null) {
      const text = crossSiteText[c.get('lang') === 'ja' ? 'ja' : 'en'];
      return problemPage(c, 403, why === 'no-origin' ? text.none : text.cross);
    }
    if (session === null) return next();
    let token = c.req.header('x-csrf-token');
    if (token === undefined && /^(application\/x-www-form-urlencoded|multipart\/form-data)/.test(c.req.header('content-type') ?? '')) {
      const form = await c.req.parseBody();
      token = typeof form['_csrf'] === 'string' ? form['_csrf'] : undefined;
    }
    if (token === undefined || !sameToken(token, session.csrf)) return problemPage(c, 403, 'the form has expired or did not come from this site: reload the page and try again');
    return next();
  };
}

/** Only these roles pass; anyone else is sent to log in (no session) or refused (403). */
export function requireRole(...allowed: Role[]): MiddlewareHandler<WebEnv> {
  return async (c, next) => {
    const s = c.get('session');
    if (s === null) {
      if (c.req.method === 'GET' && !c.req.path.startsWith('/api/')) return c.redirect(`/login?next=${encodeURIComponent(c.req.path)}`, 303);
      return c.json({ error: 'log in first' }, 401);
    }
    if (!allowed.includes(s.account.role)) return c.req.path.startsWith('/api/') ? c.json({ error: 'forbidden' }, 403) : problemPage(c, 403, 'this page is not for your account');
    return next();
  };
}

/**
 * The ISP a request may see: an `isp` account's own, never another (an `isp` query or path
 * parameter for another ISP is ignored by callers that use this); operators see every ISP (null).
 */
export function ispScope(c: Context<WebEnv>): string | null {
  const a = c.get('session')?.account;
  if (!a) throw new Error('ispScope without a session: mount requireRole first');
  return a.role === 'isp' ? a.isp : null;
}
