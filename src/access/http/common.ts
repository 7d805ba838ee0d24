/**
 * What the three HTTP access modules share: finding the page the grab stage saw (scheme, path,
 * challenges, login form), recording attempts, pausing politely, and telling answers apart. A
 * login is only believed when its answer differs from the answer a random control pair got, so
 * answers are compared by a signature that ignores what changes on every request (numbers,
 * tokens, the name that was typed in).
 */
import type { HttpFields } from '../../grab/fields.js';
import { headerValues } from '../../grab/http/response.js';
import { pageFacts } from '../../grab/http/html.js';
import type { AccessTarget, Attempt, AttemptOutcome, Credential } from '../module.js';
import type { HttpReply } from './client.js';

/** The fields of an http/https observation that spoke HTTP. */
export function httpPages(target: AccessTarget): HttpFields[] {
  const out: HttpFields[] = [];
  for (const o of target.observations) {
    if ((o.module !== 'http' && o.module !== 'https') || !o.recognised) continue;
    const f = o.fields as Partial<HttpFields>;
    if ((f.scheme === 'http' || f.scheme === 'https') && typeof f.path === 'string' && Array.isArray(f.wwwAuthenticate)) out.push(f as HttpFields);
  }
  // The recognised observation is last (AccessTarget's order): prefer it.
  return out.reverse();
}

/** The page whose 401 offered `scheme` (lower-case auth scheme), if any. */
export function challengedPage(target: AccessTarget, scheme: string): HttpFields | undefined {
  return httpPages(target).find((f) => f.wwwAuthenticate.some((c) => c.scheme.toLowerCase() === scheme));
}

/** Now as an ISO time and a monotonic start, for an attempt's startedAt and durationMs. */
export function clock(): { readonly iso: string; readonly t0: number } {
  return { iso: new Date().toISOString(), t0: performance.now() };
}

/** One audit row (the entry id and username, never the password). */
export function attempt(c: Credential, outcome: AttemptOutcome, started: { readonly iso: string; readonly t0: number }, detail: string): Attempt {
  return { entry: c.id, username: c.username, outcome, startedAt: started.iso, durationMs: Math.round(performance.now() - started.t0), detail };
}

/** Wait `ms` (the politeness pause), or less when the signal aborts. */
export function pause(ms: number, signal?: AbortSignal): Promise<void> {
  if (ms <= 0 || signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** An answer reduced to what stays the same between two requests that got "the same" answer. */
export interface AnswerSignature {
  readonly status: number;
  /** Location of a redirect, as written, with numbers and tokens blanked. */
  readonly location: string | null;
  readonly title: string | null;
  /** Whether the page holds a password input (a login page). */
  readonly passwordField: boolean;
  /** The body with numbers, long tokens and the typed-in pair blanked, whitespace collapsed. */
  readonly text: string;
}

const maxSignatureText = 16 * 1024;

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Numbers, and long runs that look like tokens (nonces, session ids, CSRF), blanked; `typed` strings removed. */
export function normalise(text: string, typed: readonly string[] = []): string {
  let s = text.slice(0, maxSignatureText * 2);
  for (const t of typed) if (t.length >= 1) s = s.replace(new RegExp(escapeRegExp(t), 'g'), '\u0000');
  return s
    .replace(/[A-Za-z0-9+/=_-]*\d[A-Za-z0-9+/=_-]*/g, '#')
    .replace(/[A-Za-z0-9+/=_-]{20,}/g, '*')
    .replace(/\s+/g, ' ')
    .trim()
    .slice(0, maxSignatureText);
}

/** The signature of a reply to a try with `typed` (the username and password sent). */
export function signatureOf(reply: HttpReply, typed: readonly string[] = []): AnswerSignature {
  const facts = pageFacts(reply.text.slice(0, 64 * 1024));
  const location = headerValues(reply.head, 'location')[0];
  return {
    status: reply.status,
    location: location === undefined ? null : normalise(location, typed),
    title: facts.title,
    passwordField: facts.loginForm?.fields.some((f) => f.type === 'password') ?? false,
    text: normalise(reply.text, typed),
  };
}

/** Whether two answers are alike (the same kind of refusal, or the same page). */
export function sameAnswer(a: AnswerSignature, b: AnswerSignature): boolean {
  return a.status === b.status && a.location === b.location && a.title === b.title && a.passwordField === b.passwordField && a.text === b.text;
}

/** Words of an error page served with 200 ("Authentication failed", "Invalid password", 認証エラー). */
export const refusalWords = /invalid|incorrect|fail|denied|unauthori[sz]ed|forbidden|wrong|error|not allowed|認証|失敗/i;

const lockoutWords = /too many|locked|lock-?out|try again later|temporarily (?:blocked|disabled|unavailable)|please wait|login after|blocked/i;

/**
 * Whether `reply` looks like a lock-out where a plain refusal looked like `refusal`: a status that
 * refuses access (403 Forbidden, 429 Too Many Requests, 503) where the refusal had another one, or
 * lock-out words that the refusal did not have.
 */
export function looksLockedOut(reply: HttpReply, refusal: AnswerSignature): boolean {
  if ([403, 429, 503].includes(reply.status) && reply.status !== refusal.status) return true;
  const text = reply.text.slice(0, 64 * 1024);
  return lockoutWords.test(text) && !lockoutWords.test(refusal.text);
}

/** Words that say the device is locked now (not "will be locked after 3 tries"). */
const lockedNowWords = /too many (?:failed|failures|login|logon|attempts|tries)|try again (?:later|in \d)|(?:login|retry) after \d|(?:is|are|has been|have been) (?:temporarily )?(?:locked|blocked|disabled)|locked (?:out|for \d)/i;

/**
 * Whether the answer to the random control pair, the first login of a run, already says the device
 * is locked (locked by an earlier run or another service of the device): lock-out words the page
 * without a login (`baseline`) did not have. Every entry would then get the same lock-out page,
 * which must not be mistaken for a plain refusal of the whole list.
 */
export function lockedBeforeTries(control: HttpReply, baseline: AnswerSignature): boolean {
  return lockedNowWords.test(control.text.slice(0, 64 * 1024)) && !lockedNowWords.test(baseline.text);
}

/** 2xx (RFC 9110 §15.3). */
export function isSuccessStatus(status: number): boolean {
  return status >= 200 && status < 300;
}
