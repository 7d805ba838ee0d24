/**
 * The try loop shared by HTTP Basic (RFC 7617) and Digest (RFC 7616): both answer a 401
 * challenge with an Authorization header on the same request. The loop insists on seeing the 401
 * first, sends a random control pair to learn what a refusal looks like on this device, then tries
 * the list in order on kept-alive connections. Only a 2xx that the control pair did not also get
 * is a success (devices that answer 200 with an error page exist); a refusal that turns into 403 /
 * 429 / 503 or lock-out words, or connections refused after tries worked, is a lock-out and ends
 * the run at once (stop trying, so the lock-out lasts no longer than the device's window).
 */
import type { AccessContext, AccessTarget, Attempt, Credential, ModuleVerdict } from '../module.js';
import type { HttpFields } from '../../grab/fields.js';
import { createHttpClient, randomPair, type HttpClient, type HttpOutcome, type HttpReply } from './client.js';
import { attempt, clock, isSuccessStatus, lockedBeforeTries, looksLockedOut, pause, refusalWords, sameAnswer, signatureOf, type AnswerSignature } from './common.js';

/** One auth scheme's part of the loop. */
export interface ChallengeScheme {
  /** Lower-case scheme name as in WWW-Authenticate ("basic", "digest"). */
  readonly name: string;
  /** Read the challenge of a 401; false when it holds none this scheme can answer. */
  accept(reply: HttpReply): boolean;
  /** The Authorization value for a GET of `uri` with this pair. */
  authorization(pair: { readonly username: string; readonly password: string }, uri: string): string;
  /** After a refused try: true when the refusal only said the nonce was stale (retry, not a failure). */
  stale?(reply: HttpReply): boolean;
}

/** Stale answers followed for one pair at most, so a server always saying stale cannot loop us. */
const maxStaleRetries = 2;

type TryResult = { readonly kind: 'reply'; readonly reply: HttpReply } | { readonly kind: 'failed'; readonly error: string; readonly refused: boolean };

async function tryPair(client: HttpClient, scheme: ChallengeScheme, pair: { readonly username: string; readonly password: string }, path: string, ctx: AccessContext): Promise<TryResult> {
  for (let round = 0; ; round++) {
    let outcome: HttpOutcome = await client.request({ method: 'GET', path, headers: { Authorization: scheme.authorization(pair, path) } });
    // One connection failure is retried after a pause (a device's server restarting a worker);
    // a second is the answer.
    if (outcome.kind === 'failed') {
      await pause(Math.max(ctx.pauseMs, 200), ctx.signal);
      outcome = await client.request({ method: 'GET', path, headers: { Authorization: scheme.authorization(pair, path) } });
    }
    if (outcome.kind === 'failed') return { kind: 'failed', error: `${outcome.status}: ${outcome.error}`, refused: outcome.status === 'connection-refused' || outcome.status === 'connection-closed' };
    if (outcome.status === 401) scheme.accept(outcome);
    if (outcome.status === 401 && round < maxStaleRetries && scheme.stale?.(outcome)) continue;
    return { kind: 'reply', reply: outcome };
  }
}

/** Run the loop for `scheme` against the page the grab saw. */
export async function runChallenge(scheme: ChallengeScheme, page: HttpFields, target: AccessTarget, credentials: readonly Credential[], ctx: AccessContext): Promise<ModuleVerdict> {
  const client = createHttpClient(ctx, target, page.scheme);
  const attempts: Attempt[] = [];
  const path = page.path;
  try {
    // A 401 with this scheme's challenge must be seen first (else there is nothing to log in to).
    const first = await client.request({ method: 'GET', path });
    if (first.kind === 'failed') return { verdict: 'error', entry: null, attempts, reason: `GET ${path}: ${first.status}: ${first.error}` };
    if (first.status !== 401) return { verdict: 'unsupported', entry: null, attempts, reason: `GET ${path} answered ${first.status}, not a 401 challenge` };
    if (!scheme.accept(first)) return { verdict: 'unsupported', entry: null, attempts, reason: `the 401 at ${path} offers no ${scheme.name} challenge this client can answer` };

    // The control pair: what a refusal looks like here.
    const control = { id: 'control:0', ...randomPair() };
    const controlStarted = clock();
    const c = await tryPair(client, scheme, control, path, ctx);
    if (c.kind === 'failed') {
      attempts.push(attempt(control, 'error', controlStarted, c.error));
      return { verdict: 'error', entry: null, attempts, reason: `control request: ${c.error}` };
    }
    // Locked before the list starts (an earlier run, another service): the control says so.
    if (lockedBeforeTries(c.reply, signatureOf(first))) {
      attempts.push(attempt(control, 'locked-out', controlStarted, `random control pair: ${c.reply.status} with lock-out words`));
      return { verdict: 'locked-out', entry: null, attempts, reason: `the device answered the control pair ${c.reply.status} with lock-out words before any try` };
    }
    const refusal: AnswerSignature = signatureOf(c.reply, [control.username, control.password]);
    // A 2xx for a random pair is a login unless the page says it is an error (devices that answer
    // 200 with "authentication failed"): then it is only what a refusal looks like here.
    const controlAccepted = isSuccessStatus(c.reply.status) && !refusalWords.test(c.reply.text.slice(0, 64 * 1024));
    const control2xx = isSuccessStatus(c.reply.status);
    // The control is a try like any other on the device: it goes in the audit too.
    attempts.push(attempt(control, controlAccepted ? 'success' : 'failure', controlStarted, `random control pair: ${c.reply.status}`));
    let worked = 1;

    for (const cred of credentials) {
      if (ctx.signal?.aborted) return { verdict: 'error', entry: null, attempts, reason: 'aborted' };
      await pause(ctx.pauseMs, ctx.signal);
      const started = clock();
      const r = await tryPair(client, scheme, cred, path, ctx);
      if (r.kind === 'failed') {
        // Refusals or silent closes after tries that were answered: the device stopped talking to us.
        if (r.refused && worked > 0) {
          attempts.push(attempt(cred, 'locked-out', started, `connection ${r.error} after ${worked} answered tries`));
          return { verdict: 'locked-out', entry: null, attempts, reason: `connections refused after ${worked} answered tries` };
        }
        attempts.push(attempt(cred, 'error', started, r.error));
        return { verdict: 'error', entry: null, attempts, reason: r.error };
      }
      worked++;
      const { reply } = r;
      const sig = signatureOf(reply, [cred.username, cred.password]);
      if (isSuccessStatus(reply.status)) {
        if (control2xx && sameAnswer(sig, refusal)) {
          attempts.push(attempt(cred, 'failure', started, `${reply.status}, the same page the control pair got`));
          continue;
        }
        attempts.push(attempt(cred, 'success', started, control2xx ? `${reply.status}, a page unlike the control pair's` : `${reply.status} where the control pair got ${refusal.status}`));
        return { verdict: 'weak-credential', entry: cred.id, attempts };
      }
      if (looksLockedOut(reply, refusal)) {
        attempts.push(attempt(cred, 'locked-out', started, `${reply.status} where a refusal was ${refusal.status}, or lock-out words`));
        return { verdict: 'locked-out', entry: null, attempts, reason: `the device answered ${reply.status} with a changed page after ${worked - 1} tries` };
      }
      attempts.push(attempt(cred, 'failure', started, `${reply.status}`));
    }
    return controlAccepted
      ? { verdict: 'no-weak-credential', entry: null, attempts, reason: `the random control pair got ${refusal.status} and no entry's answer differed from it`, controlAccepted: true }
      : { verdict: 'no-weak-credential', entry: null, attempts };
  } finally {
    client.close();
  }
}
