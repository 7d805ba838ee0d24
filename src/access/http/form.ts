/**
 * HTTP form-login access module: the page the grab saw with a password input. Each try starts
 * afresh as a browser would: a new cookie jar, a GET of the login page (so a CSRF token and its
 * cookie are fresh), the form submitted with its hidden fields, redirects followed within the host
 * (at most three). A login is believed only on a positive marker the random control pair did not
 * also produce: a redirect away from the login page, a session cookie the control did not get, or
 * the password input gone from the page reached. Logins that need JavaScript are `unsupported`.
 * After a success the page's logout link is followed, if it has one; nothing else is requested.
 */
import type { AccessContext, AccessModule, AccessTarget, Attempt, Credential, ModuleVerdict } from '../module.js';
import type { HttpFields } from '../../grab/fields.js';
import { headerValues } from '../../grab/http/response.js';
import { redirectStatuses, resolveLocation } from '../../grab/http/redirect.js';
import { createCookieJar, createHttpClient, randomPair, type HttpClient, type HttpReply, type Scheme } from './client.js';
import { attempt, clock, httpPages, isSuccessStatus, lockedBeforeTries, looksLockedOut, pause, refusalWords, signatureOf, type AnswerSignature } from './common.js';
import { formBody, parseLoginPage, type LoginPage } from './form-page.js';

/** Redirects followed after a submit. */
const maxHops = 3;

/** What one submit led to. */
interface Submitted {
  /** The login page as fetched before the submit. */
  readonly loginPage: HttpReply;
  readonly first: HttpReply;
  /** The last page reached (after redirects). */
  readonly final: HttpReply;
  readonly finalPath: string;
  /** The first redirect's target, resolved (path without query), or null. */
  readonly redirectTo: string | null;
  /** Cookie names set by the submit's answers (not by the login page GET). */
  readonly newCookies: readonly string[];
  readonly finalPage: LoginPage;
  readonly cookie: string | undefined;
}

type Step = { readonly kind: 'ok'; readonly value: Submitted } | { readonly kind: 'failed'; readonly error: string; readonly refused: boolean } | { readonly kind: 'unsupported'; readonly reason: string };

const pathOnly = (p: string): string => p.split('?')[0] ?? p;

/** The page with a login form, preferring the recognised observation. */
function formPage(target: AccessTarget): HttpFields | undefined {
  return httpPages(target).find((f) => f.loginForm?.fields.some((x) => x.type === 'password'));
}

async function submit(client: HttpClient, scheme: Scheme, target: AccessTarget, loginPath: string, pair: { readonly username: string; readonly password: string }): Promise<Step> {
  const jar = createCookieJar();
  const get = await client.request({ method: 'GET', path: loginPath });
  if (get.kind === 'failed') return { kind: 'failed', error: `GET ${loginPath}: ${get.status}: ${get.error}`, refused: get.status === 'connection-refused' || get.status === 'connection-closed' };
  jar.take(get.head);
  const page = parseLoginPage(get.text);
  if (page.needsScript) return { kind: 'unsupported', reason: `login needs JavaScript: ${page.needsScript}` };
  if (!page.form) return { kind: 'failed', error: `no login form at ${loginPath} (answered ${get.status})`, refused: false };
  const action = page.form.action === null || page.form.action === '' ? { sameHost: true as const, path: loginPath } : resolveLocation(page.form.action, scheme, target, loginPath);
  if (!action.sameHost) return { kind: 'unsupported', reason: `the form posts to another host: ${action.location.slice(0, 200)}` };
  const body = formBody(page.form, pair.username, pair.password);
  const referer = `${scheme}://${target.ip}:${target.port}${loginPath}`;
  const cookie = jar.header();
  const headers: Record<string, string> = { Referer: referer, Origin: `${scheme}://${target.ip}:${target.port}`, ...(cookie ? { Cookie: cookie } : {}) };
  const first =
    page.form.method === 'post'
      ? await client.request({ method: 'POST', path: action.path, headers: { ...headers, 'Content-Type': 'application/x-www-form-urlencoded' }, body })
      : await client.request({ method: 'GET', path: `${pathOnly(action.path)}?${body}`, headers });
  if (first.kind === 'failed') return { kind: 'failed', error: `submit to ${action.path}: ${first.status}: ${first.error}`, refused: first.status === 'connection-refused' || first.status === 'connection-closed' };
  const newCookies = new Set(jar.take(first.head));
  let final = first;
  let finalPath = action.path;
  let redirectTo: string | null = null;
  for (let hop = 0; hop < maxHops && redirectStatuses.has(final.status); hop++) {
    const location = headerValues(final.head, 'location')[0];
    if (location === undefined) break;
    const next = resolveLocation(location, scheme, target, finalPath);
    if (!next.sameHost) break;
    if (hop === 0) redirectTo = pathOnly(next.path);
    const c = jar.header();
    const r = await client.request({ method: 'GET', path: next.path, headers: c ? { Cookie: c } : {} });
    if (r.kind === 'failed') break;
    for (const n of jar.take(r.head)) newCookies.add(n);
    final = r;
    finalPath = next.path;
  }
  return { kind: 'ok', value: { loginPage: get, first, final, finalPath, redirectTo, newCookies: [...newCookies].sort(), finalPage: parseLoginPage(final.text), cookie: jar.header() } };
}

/** The positive markers of a submit. */
interface Markers {
  /** Where a redirect away from the login page led (null: none). */
  readonly away: string | null;
  readonly cookies: readonly string[];
  readonly passwordGone: boolean;
}

function markersOf(s: Submitted, loginPath: string): Markers {
  // Away: a redirect elsewhere than the login page that does not land on another login form
  // (devices redirect a failure to "/login.htm?err=1" while the grab found the form at "/").
  const away = s.redirectTo !== null && s.redirectTo !== pathOnly(loginPath) && !s.finalPage.passwordInput ? s.redirectTo : null;
  return { away, cookies: s.newCookies, passwordGone: isSuccessStatus(s.final.status) && !s.finalPage.passwordInput };
}

/** The markers of `m` that the control's `c` did not have, in words (empty: none). */
function newMarkers(m: Markers, c: Markers): string[] {
  const out: string[] = [];
  if (m.away !== null && m.away !== c.away) out.push(`redirect away to ${m.away}`);
  const fresh = m.cookies.filter((n) => !c.cookies.includes(n));
  if (fresh.length > 0) out.push(`new cookie ${fresh.slice(0, 3).join(', ')}`);
  if (m.passwordGone && !c.passwordGone) out.push('password field gone');
  return out;
}

/** A login as a browser sees one: led away from the login page, or onto a page without a password input (a cookie alone is not: devices set one on failure too). */
const loggedInLook = (m: Markers): boolean => m.away !== null || m.passwordGone;

/** Follow the logout link of the page reached after a login, if it has one (same host only). */
async function logout(client: HttpClient, scheme: Scheme, target: AccessTarget, s: Submitted): Promise<void> {
  if (s.finalPage.logout === null) return;
  const to = resolveLocation(s.finalPage.logout, scheme, target, s.finalPath);
  if (!to.sameHost) return;
  await client.request({ method: 'GET', path: to.path, headers: s.cookie ? { Cookie: s.cookie } : {} });
}

async function runForm(page: HttpFields, target: AccessTarget, credentials: readonly Credential[], ctx: AccessContext): Promise<ModuleVerdict> {
  const scheme = page.scheme;
  const loginPath = page.path;
  const client = createHttpClient(ctx, target, scheme);
  const attempts: Attempt[] = [];
  try {
    const control = { id: 'control:0', ...randomPair() };
    const controlStarted = clock();
    const c = await submit(client, scheme, target, loginPath, control);
    if (c.kind === 'unsupported') return { verdict: 'unsupported', entry: null, attempts, reason: c.reason };
    if (c.kind === 'failed') {
      attempts.push(attempt(control, 'error', controlStarted, c.error));
      return { verdict: 'error', entry: null, attempts, reason: `control submit: ${c.error}` };
    }
    // Locked before the list starts (an earlier run, another service): the control says so.
    if (lockedBeforeTries(c.value.final, signatureOf(c.value.loginPage))) {
      attempts.push(attempt(control, 'locked-out', controlStarted, 'random control pair: lock-out words'));
      return { verdict: 'locked-out', entry: null, attempts, reason: `the login page answered the control pair with lock-out words before any try` };
    }
    // The control is a try like any other on the device: it goes in the audit too.
    attempts.push(attempt(control, 'failure', controlStarted, `random control pair: ${c.value.first.status}`));
    const controlMarkers = markersOf(c.value, loginPath);
    const refusal: AnswerSignature = signatureOf(c.value.final, [control.username, control.password]);
    let answered = 1;
    for (const cred of credentials) {
      if (ctx.signal?.aborted) return { verdict: 'error', entry: null, attempts, reason: 'aborted' };
      await pause(ctx.pauseMs, ctx.signal);
      const started = clock();
      const r = await submit(client, scheme, target, loginPath, cred);
      if (r.kind === 'unsupported') {
        attempts.push(attempt(cred, 'error', started, r.reason));
        return { verdict: 'unsupported', entry: null, attempts, reason: r.reason };
      }
      if (r.kind === 'failed') {
        if (r.refused) {
          attempts.push(attempt(cred, 'locked-out', started, r.error));
          return { verdict: 'locked-out', entry: null, attempts, reason: `${r.error} after ${answered} answered tries` };
        }
        attempts.push(attempt(cred, 'error', started, r.error));
        return { verdict: 'error', entry: null, attempts, reason: r.error };
      }
      answered++;
      const markers = newMarkers(markersOf(r.value, loginPath), controlMarkers);
      if (markers.length > 0) {
        attempts.push(attempt(cred, 'success', started, markers.join('; ')));
        await logout(client, scheme, target, r.value);
        return { verdict: 'weak-credential', entry: cred.id, attempts };
      }
      if (looksLockedOut(r.value.final, refusal) || looksLockedOut(r.value.first, refusal)) {
        attempts.push(attempt(cred, 'locked-out', started, `answered ${r.value.final.status} with lock-out words or a refusing status`));
        return { verdict: 'locked-out', entry: null, attempts, reason: `the login page changed to a lock-out after ${answered - 1} tries` };
      }
      attempts.push(attempt(cred, 'failure', started, `${r.value.first.status}, no marker the control pair lacked`));
    }
    // A control that "got in" onto a page saying it failed only shows what a refusal looks like here.
    return loggedInLook(controlMarkers) && !refusalWords.test(c.value.final.text.slice(0, 64 * 1024))
      ? { verdict: 'no-weak-credential', entry: null, attempts, reason: 'the random control pair already got a login marker; no entry got another', controlAccepted: true }
      : { verdict: 'no-weak-credential', entry: null, attempts };
  } finally {
    client.close();
  }
}

/** HTTP form login: applies where the grab saw a page with a password input. */
export const httpFormAccess: AccessModule = {
  protocol: 'http-form',
  description: 'HTTP form login: fresh GET per try (CSRF tokens, cookies), submit with hidden fields, success only on a marker the control pair lacked; JavaScript logins unsupported; logout link followed',
  applies: (target) => formPage(target) !== undefined,
  async run(target, credentials, ctx) {
    const page = formPage(target);
    if (!page) return { verdict: 'unsupported', entry: null, attempts: [], reason: 'no login form in the observations' };
    return runForm(page, target, credentials, ctx);
  },
};
