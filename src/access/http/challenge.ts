/**
 * The try loop shared by HTTP Basic (RFC 7617) and Digest (RFC 7616): both answer a 401
 * challenge with an Authorization header on the same request. The loop insists on seeing the 401
 * first, sends a random control pair to learn what a refusal looks like on this device, then tries
 * the list in order on kept-alive connections. Only a 2xx that the control pair did not also get
 * is a success (devices that answer 200 with an error page exist); a refusal that turns into 403 /
 * 429 / 503 or lock-out words, or connections refused after tries worked, is a lock-out and ends
 * the run at once (stop trying, so the lock-out lasts no longer than the device's window).
 *
 * AccessContext.sessions (default 1) lets up to that many sessions, each on its own connections,
 * share the list in order once the challenge and the control pair are done; the first success,
 * lock-out or error seen ends every session (after a success the tries in flight are read to the
 * end; after a lock-out, an error or an abort they are cut off). A
 * session whose connection is refused or cut while others still get answers retires, handing its
 * entry back, so a device that limits connections per source is tried with fewer sessions instead
 * of being called locked-out; the last session left applies the rules above.
 */
import type { AccessContext, AccessTarget, Attempt, Credential, ModuleVerdict } from '../module.js';
import type { HttpFields } from '../../grab/fields.js';
import { createHttpClient, randomPair, type HttpClient, type HttpOutcome, type HttpReply } from './client.js';
import { attempt, clock, isSuccessStatus, lockedBeforeTries, looksLockedOut, pause, refusalWords, sameAnswer, signatureOf, type AnswerSignature } from './common.js';

/** One auth scheme's part of the loop, for one session (its challenge state). */
export interface ChallengeScheme {
  /** Lower-case scheme name as in WWW-Authenticate ("basic", "digest"). */
  readonly name: string;
  /** Read the challenge of a 401; false when it holds none this scheme can answer. */
  accept(reply: HttpReply): boolean;
  /** The Authorization value for a GET of `uri` with this pair. */
  authorization(pair: { readonly username: string; readonly password: string }, uri: string): string;
  /** After a refused try: true when the refusal only said the nonce was stale (retry, not a failure). */
  stale?(reply: HttpReply): boolean;
  /**
   * The state for another session on the same host, and whether it needs a 401 of its own before
   * its first try (Digest: its own nonce, so two sessions never send one nonce count twice).
   */
  fork(): { readonly scheme: ChallengeScheme; readonly needsChallenge: boolean };
  /** Whether this session may answer its current challenge (false: another session holds its nonce). */
  usable?(): boolean;
  /** The session is over: let go of what it holds. */
  done?(): void;
}

/** Stale answers followed for one pair at most, so a server always saying stale cannot loop us. */
const maxStaleRetries = 2;
/** Sessions on one host at most, whatever the context asks. */
const maxSessions = 16;

type TryResult =
  | { readonly kind: 'reply'; readonly reply: HttpReply }
  | { readonly kind: 'failed'; readonly error: string; readonly refused: boolean; readonly handBack?: boolean };

async function tryPair(
  client: HttpClient,
  scheme: ChallengeScheme,
  pair: { readonly username: string; readonly password: string },
  path: string,
  ctx: AccessContext,
  over: () => boolean = () => false,
): Promise<TryResult> {
  const halted = (): boolean => over() || ctx.signal?.aborted === true;
  for (let round = 0; ; round++) {
    let outcome: HttpOutcome = await client.request({ method: 'GET', path, headers: { Authorization: scheme.authorization(pair, path) } });
    // One connection failure is retried after a pause (a device's server restarting a worker);
    // a second is the answer. Not once the run is over: its end closed the connection.
    if (outcome.kind === 'failed' && !halted()) {
      await pause(Math.max(ctx.pauseMs, 200), ctx.signal);
      if (!halted()) outcome = await client.request({ method: 'GET', path, headers: { Authorization: scheme.authorization(pair, path) } });
    }
    if (outcome.kind === 'failed') return { kind: 'failed', error: `${outcome.status}: ${outcome.error}`, refused: outcome.status === 'connection-refused' || outcome.status === 'connection-closed' };
    if (outcome.status !== 401) return { kind: 'reply', reply: outcome };
    scheme.accept(outcome);
    if (round < maxStaleRetries && scheme.stale?.(outcome)) {
      // The new nonce is another session's: this pair is not judged here (the caller hands it back).
      if (scheme.usable?.() === false) return { kind: 'failed', error: 'stale nonce, the new one held by another session', refused: false, handBack: true };
      continue;
    }
    return { kind: 'reply', reply: outcome };
  }
}

/** How a run ended (the first ending seen wins). */
interface Ending {
  readonly verdict: ModuleVerdict['verdict'];
  readonly entry: string | null;
  readonly reason?: string;
}

/** What the sessions of one run share. */
interface Shared {
  /** Next list index to hand out. */
  next: number;
  /** Entries handed back by a session that retired, tried first. */
  readonly redo: number[];
  /** Sessions still trying. */
  active: number;
  /** Answered tries so far, the control's included. */
  worked: number;
  ended?: Ending;
  /** Close every session's connection (the run has ended: tries in flight are cut off). */
  readonly stop: () => void;
  /** Attempts with the list index they belong to (-1: control), sorted at the end. */
  readonly attempts: { readonly index: number; readonly attempt: Attempt }[];
}

/** What a refusal looks like here, from the control pair's answer. */
interface Refusal {
  readonly signature: AnswerSignature;
  /** The control reply's raw text and status: an identical reply needs no further reading. */
  readonly status: number;
  readonly text: string;
  readonly control2xx: boolean;
}

/** Run the loop for `scheme` against the page the grab saw. */
export async function runChallenge(scheme: ChallengeScheme, page: HttpFields, target: AccessTarget, credentials: readonly Credential[], ctx: AccessContext): Promise<ModuleVerdict> {
  const clients: HttpClient[] = [];
  const newClient = (): HttpClient => {
    const c = createHttpClient(ctx, target, page.scheme);
    clients.push(c);
    return c;
  };
  // An abort closes every connection, so tries in flight end now rather than at a timeout.
  const closeAll = (): void => {
    for (const c of clients) c.close();
  };
  ctx.signal?.addEventListener('abort', closeAll, { once: true });
  const client = newClient();
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
    const refusal: Refusal = {
      signature: signatureOf(c.reply, [control.username, control.password]),
      status: c.reply.status,
      text: c.reply.text,
      control2xx: isSuccessStatus(c.reply.status),
    };
    // A 2xx for a random pair is a login unless the page says it is an error (devices that answer
    // 200 with "authentication failed"): then it is only what a refusal looks like here.
    const controlAccepted = refusal.control2xx && !refusalWords.test(c.reply.text.slice(0, 64 * 1024));
    // The control is a try like any other on the device: it goes in the audit too.
    const sh: Shared = { next: 0, redo: [], active: 0, worked: 1, stop: closeAll, attempts: [{ index: -1, attempt: attempt(control, controlAccepted ? 'success' : 'failure', controlStarted, `random control pair: ${c.reply.status}`) }] };

    const sessions = Math.max(1, Math.min(ctx.sessions ?? 1, maxSessions, credentials.length));
    const runs: Promise<void>[] = [];
    for (let s = 0; s < sessions; s++) {
      sh.active++;
      if (s === 0) runs.push(session(client, scheme, false, credentials, ctx, path, refusal, sh));
      else {
        const f = scheme.fork();
        runs.push(session(newClient(), f.scheme, f.needsChallenge, credentials, ctx, path, refusal, sh));
      }
    }
    await Promise.all(runs);
    // Entries handed back after the other sessions had found the list empty: one session finishes them.
    for (let round = 0; !sh.ended && sh.redo.length > 0 && round <= credentials.length; round++) {
      const f = scheme.fork();
      sh.active = 1;
      await session(newClient(), f.scheme, f.needsChallenge, credentials, ctx, path, refusal, sh);
    }
    // An entry handed back and never tried again before a lock-out ended the run met the lock-out.
    const untried = new Set(sh.ended?.verdict === 'locked-out' ? sh.redo : []);
    attempts.push(
      ...sh.attempts
        .sort((a, b) => a.index - b.index)
        .map((a) => (untried.has(a.index) && a.attempt.outcome === 'error' ? { ...a.attempt, outcome: 'locked-out' as const } : a.attempt)),
    );
    if (sh.ended) return { verdict: sh.ended.verdict, entry: sh.ended.entry, attempts, ...(sh.ended.reason ? { reason: sh.ended.reason } : {}) };
    return controlAccepted
      ? { verdict: 'no-weak-credential', entry: null, attempts, reason: `the random control pair got ${refusal.status} and no entry's answer differed from it`, controlAccepted: true }
      : { verdict: 'no-weak-credential', entry: null, attempts };
  } finally {
    ctx.signal?.removeEventListener('abort', closeAll);
    for (const cl of clients) cl.close();
  }
}

/** One session: take entries in list order until the list is done or the run has ended. */
async function session(
  client: HttpClient,
  scheme: ChallengeScheme,
  needsChallenge: boolean,
  credentials: readonly Credential[],
  ctx: AccessContext,
  path: string,
  refusal: Refusal,
  sh: Shared,
): Promise<void> {
  const end = (e: Ending): void => {
    if (sh.ended) return;
    sh.ended = e;
    // A lock-out or an error stops at once: the other sessions' tries in flight are cut off (and
    // audited as such), so a lock-out lasts no longer than it must. After a success they are only
    // read to the end: already sent, their answers complete the audit and cost the device nothing.
    if (e.verdict !== 'weak-credential') sh.stop();
  };
  const record = (index: number, a: Attempt): void => {
    sh.attempts.push({ index, attempt: a });
  };
  try {
    if (needsChallenge) {
      // Its own challenge, not a try: a session that cannot get one leaves the list to the others.
      const got = await client.request({ method: 'GET', path });
      if (!(got.kind === 'reply' && got.status === 401 && scheme.accept(got))) {
        // Others carry on without it; the last session left must say why the list stops here.
        if (sh.active > 1 || sh.ended) return;
        if (got.kind === 'failed' && (got.status === 'connection-refused' || got.status === 'connection-closed')) {
          return end({ verdict: 'locked-out', entry: null, reason: `connections refused after ${sh.worked} answered tries` });
        }
        return end({ verdict: 'error', entry: null, reason: `a session's challenge: ${got.kind === 'failed' ? `${got.status}: ${got.error}` : `${got.status}, not a 401 challenge`}` });
      }
    }
    for (;;) {
      if (sh.ended) return;
      if (ctx.signal?.aborted) return end({ verdict: 'error', entry: null, reason: 'aborted' });
      // A challenge another session answers (one server-wide nonce): one session is enough there.
      if (sh.active > 1 && scheme.usable?.() === false) return;
      const index = sh.redo.length > 0 ? sh.redo.shift()! : sh.next < credentials.length ? sh.next++ : undefined;
      if (index === undefined) return;
      const cred = credentials[index]!;
      await pause(ctx.pauseMs, ctx.signal);
      if (sh.ended || ctx.signal?.aborted) {
        sh.redo.unshift(index);
        continue;
      }
      const started = clock();
      const r = await tryPair(client, scheme, cred, path, ctx, () => sh.ended !== undefined);
      if (r.kind === 'failed') {
        if (ctx.signal?.aborted) {
          record(index, attempt(cred, 'error', started, `aborted: ${r.error}`));
          return end({ verdict: 'error', entry: null, reason: 'aborted' });
        }
        // Another session ended the run while this try was out and cut it off: after a lock-out it
        // met the lock-out (so a runner that backs off tries the entry again), else it is an error.
        const ended = sh.ended as Ending | undefined;
        if (ended) return record(index, attempt(cred, ended.verdict === 'locked-out' ? 'locked-out' : 'error', started, `cut off: ${r.error}`));
        // Others still get answers: this session alone was turned away (a per-source connection
        // limit); the try is audited and its entry goes back to the list for another session.
        if (sh.active > 1) {
          record(index, attempt(cred, 'error', started, `${r.error}; handed to another session`));
          sh.redo.unshift(index);
          return;
        }
        // Refusals or silent closes after tries that were answered: the device stopped talking to us.
        if (r.refused && sh.worked > 0) {
          record(index, attempt(cred, 'locked-out', started, `connection ${r.error} after ${sh.worked} answered tries`));
          return end({ verdict: 'locked-out', entry: null, reason: `connections refused after ${sh.worked} answered tries` });
        }
        record(index, attempt(cred, 'error', started, r.error));
        return end({ verdict: 'error', entry: null, reason: r.error });
      }
      sh.worked++;
      const { reply } = r;
      if (isSuccessStatus(reply.status)) {
        // The full signature only where it decides something: a 2xx, compared with the control's.
        if (refusal.control2xx && sameAnswer(signatureOf(reply, [cred.username, cred.password]), refusal.signature)) {
          record(index, attempt(cred, 'failure', started, `${reply.status}, the same page the control pair got`));
          continue;
        }
        record(index, attempt(cred, 'success', started, refusal.control2xx ? `${reply.status}, a page unlike the control pair's` : `${reply.status} where the control pair got ${refusal.status}`));
        return end({ verdict: 'weak-credential', entry: cred.id });
      }
      // A refusal byte for byte like the control's is no lock-out; anything else is read.
      if (!(reply.status === refusal.status && reply.text === refusal.text) && looksLockedOut(reply, refusal.signature)) {
        record(index, attempt(cred, 'locked-out', started, `${reply.status} where a refusal was ${refusal.status}, or lock-out words`));
        return end({ verdict: 'locked-out', entry: null, reason: `the device answered ${reply.status} with a changed page after ${sh.worked - 1} tries` });
      }
      record(index, attempt(cred, 'failure', started, `${reply.status}`));
    }
  } finally {
    // A session done is closed at once: no idle connection waits on the device for the others.
    sh.active--;
    scheme.done?.();
    client.close();
  }
}
