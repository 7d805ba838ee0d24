/**
 * ssh access module (port 22, 2222, 2323 ...): tries the dictionary with "password", else
 * "keyboard-interactive" (RFC 4252 §8, RFC 4256), several passwords per connection until the
 * server's per-connection limit (OpenSSH MaxAuthTries 6, dropbear 10), one connection at a time,
 * user name by user name (servers may disconnect when it changes, RFC 4252 §5). Success is
 * USERAUTH_SUCCESS and nothing else: a partial success (a second factor wanted) is not, a prompt
 * other than a password prompt is never answered. It disconnects right after a success, opening
 * no channel. A host that starts refusing connections after failures (a lock-out, dropbear's limit
 * of unauthenticated connections per source) gets growing pauses, then `locked-out`.
 */
import type { SshFields } from '../../grab/fields.js';
import type { AccessContext, AccessModule, AccessTarget, Attempt, AttemptOutcome, Credential, ModuleVerdict } from '../module.js';
import { tryOnConnection, type ConnectionReport, type TryResult } from './client.js';

/** Tunables; `sshAccess` uses the defaults. */
export interface SshAccessOptions {
  /** Pauses after connections that got no answer, one per consecutive failure; then locked-out. */
  readonly backoffMs: readonly number[];
  /** Longest wait for one server answer, ms (failure delays of embedded servers reach seconds). */
  readonly replyTimeoutMs: number;
  /** Tries per connection before the server's own limit is known. */
  readonly maxTriesPerConnection: number;
}

/**
 * Defaults: 10 s of back-off over three unanswered connections before locked-out (a device that
 * locks is then refused at most three times: it stays locked no longer than its window); embedded
 * servers answer within seconds.
 */
export const defaultSshAccessOptions: SshAccessOptions = Object.freeze({
  backoffMs: [2_000, 8_000],
  replyTimeoutMs: 15_000,
  maxTriesPerConnection: 10,
});

const loginMethods = ['password', 'keyboard-interactive'];

/** The ssh observation's fields, when the grab recognised SSH here. */
export function sshFieldsOf(target: AccessTarget): SshFields | null {
  for (let i = target.observations.length - 1; i >= 0; i--) {
    const o = target.observations[i];
    if (o && o.module === 'ssh' && o.recognised) return o.fields as unknown as SshFields;
  }
  return null;
}

const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    if (ms <= 0 || signal?.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done(): void {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });

function attemptOf(t: TryResult, outcome: AttemptOutcome, detail: string): Attempt {
  return { entry: t.credential.id, username: t.credential.username, outcome, startedAt: t.startedAt, durationMs: t.durationMs, detail };
}

/** Words a server's banner or disconnect message uses when it has locked us out. */
const lockWords = /lock|too many (failed|login|attempts)|blocked|banned|try again later|temporarily/i;

/** Run the dictionary against one SSH service (the body of sshAccess.run). */
export async function runSsh(target: AccessTarget, credentials: readonly Credential[], ctx: AccessContext, options: SshAccessOptions = defaultSshAccessOptions): Promise<ModuleVerdict> {
  const attempts: Attempt[] = [];
  /** Entries still to try, in dictionary order. */
  let remaining = [...credentials];
  /** Tries the server answers per connection, once learned from a disconnect. */
  let budget = options.maxTriesPerConnection;
  let budgetLearned = false;
  let strikes = 0;
  let everAnswered = false;
  let firstBanner: string | null | undefined;
  let partial: string | null = null;
  const unanswered = new Map<string, number>();
  /** Entries answered (or not worth trying any more). */
  const settled = new Set<Credential>();
  let lastWhy = '';

  const verdict = (v: ModuleVerdict['verdict'], entry: string | null, reason?: string): ModuleVerdict => ({
    verdict: v,
    entry,
    attempts,
    ...(reason ? { reason } : {}),
  });

  // Each connection settles an entry or counts a strike, so this bound is never reached in practice.
  const maxConnections = credentials.length * 2 + options.backoffMs.length + 4;
  for (let connections = 0; remaining.length > 0; connections++) {
    if (ctx.signal?.aborted) return verdict('error', null, 'aborted');
    if (connections >= maxConnections) return verdict('error', null, `gave up after ${connections} connections`);
    if (connections > 0) await sleep(ctx.pauseMs, ctx.signal);
    const head = remaining[0]!;
    const batch = remaining.filter((c) => c.username === head.username).slice(0, budget);

    const opened = await ctx.open();
    let report: ConnectionReport | null = null;
    if (opened.status === 'success') {
      report = await tryOnConnection(opened.connection, head.username, batch, { replyTimeoutMs: options.replyTimeoutMs, maxTries: budget, pauseMs: ctx.pauseMs });
    } else if (connections === 0) {
      return verdict('error', null, `cannot connect: ${opened.status} (${opened.error})`);
    }
    if (report?.end === 'timeout' && !report.reachedAuth && !everAnswered) return verdict('error', null, `no SSH exchange: ${report.error ?? 'timeout'}`);

    // What this connection teaches.
    let progress = false;
    if (report) {
      if (report.reachedAuth && report.methods && !report.methods.some((m) => loginMethods.includes(m)) && report.end === 'no-method') {
        return verdict(everAnswered ? 'locked-out' : 'unsupported', null, `the server offers only ${report.methods.join(', ') || 'no method'}${everAnswered ? ' after failures' : ''}`);
      }
      if (firstBanner === undefined && report.reachedAuth) firstBanner = report.banner;
      const bannerChanged = report.reachedAuth && firstBanner !== undefined && report.banner !== firstBanner && report.banner !== null && lockWords.test(report.banner);
      for (const t of report.tries) {
        switch (t.outcome) {
          case 'success':
            attempts.push(attemptOf(t, 'success', t.detail));
            return verdict('weak-credential', t.credential.id);
          case 'failure':
            attempts.push(attemptOf(t, 'failure', t.detail));
            settled.add(t.credential);
            progress = true;
            break;
          case 'partial':
            attempts.push(attemptOf(t, 'failure', t.detail));
            partial ??= `entry ${t.credential.id} passed the password step but the server wanted a second factor (partial success, not counted)`;
            // The password of this user is known right: its other entries cannot work alone.
            for (const c of remaining) if (c.username === t.credential.username) settled.add(c);
            progress = true;
            break;
          case 'prompt-refused':
            attempts.push(attemptOf(t, 'error', t.detail));
            if (!report.methods?.includes('password')) {
              return verdict(partial ? 'no-weak-credential' : 'unsupported', null, partial ?? `keyboard-interactive asks for something other than a password (${report.prompts.join(' | ')}); not answered`);
            }
            break;
          case 'unanswered': {
            const n = (unanswered.get(t.credential.id) ?? 0) + 1;
            unanswered.set(t.credential.id, n);
            const answeredHere = report.tries.some((x) => x.outcome === 'failure');
            if (answeredHere && !budgetLearned) {
              // The server cut us off at its per-connection limit: stay under it from now on.
              budget = Math.max(1, report.tries.filter((x) => x.outcome === 'failure').length);
              budgetLearned = true;
            }
            if (!answeredHere && report.reachedAuth && !everAnswered && n >= 2) {
              // Never an answer, the connection closed right after this password twice: a server
              // that allows one try per connection (dropbear -T 1) says no this way.
              attempts.push(attemptOf(t, 'failure', 'the server disconnected after the password twice (one try per connection)'));
              settled.add(t.credential);
              budget = 1;
              budgetLearned = true;
              progress = true;
              break;
            }
            attempts.push(attemptOf(t, 'error', `${t.detail}; tried again`));
            break;
          }
        }
      }
      remaining = remaining.filter((c) => !settled.has(c));
      if (report.end === 'none-accepted') {
        attempts.push({ entry: head.id, username: head.username, outcome: 'success', startedAt: new Date().toISOString(), durationMs: 0, detail: 'the "none" method was accepted: no password needed' });
        return verdict('weak-credential', head.id, 'no password at all for this user name');
      }
      if (bannerChanged) return verdict('locked-out', null, `the login banner changed after failures: ${report.banner}`);
      lastWhy = report.error ?? report.end;
      if (progress) everAnswered = true;
    } else {
      lastWhy = opened.status === 'success' ? 'closed' : `${opened.status} (${opened.error})`;
    }

    if (progress) {
      strikes = 0;
      continue;
    }
    // No answer at all on this connection: the server limits or locks us, or is gone.
    // Never answered at all: one more look after a pause (dropbear's per-source limit may still
    // count the grab's connection), then it is no login service we can use.
    if (!everAnswered && strikes >= 1) return verdict('error', null, `no login exchange: ${lastWhy}`);
    if (report && lockWords.test(report.error ?? '') && !/too many authentication failures/i.test(report.error ?? '')) {
      return verdict('locked-out', null, `the server says: ${report.error}`);
    }
    if (strikes >= options.backoffMs.length) {
      return verdict(everAnswered ? 'locked-out' : 'error', null, `${strikes + 1} connections in a row without an answer (last: ${lastWhy})`);
    }
    await sleep(options.backoffMs[strikes] ?? 0, ctx.signal);
    strikes++;
  }
  return verdict('no-weak-credential', null, partial ?? undefined);
}

/** Build the module with other tunables (tests shorten the back-off). */
export function createSshAccess(options: SshAccessOptions = defaultSshAccessOptions): AccessModule {
  return {
    protocol: 'ssh',
    description: 'password, else keyboard-interactive (password prompt only) over SSH; several tries per connection, one connection at a time; partial success is not success',
    applies(target) {
      const f = sshFieldsOf(target);
      return f !== null && Array.isArray(f.authMethods) && f.authMethods.some((m) => loginMethods.includes(m));
    },
    run: (target, credentials, ctx) => runSsh(target, credentials, ctx, options),
  };
}

/** The ssh access module. */
export const sshAccess: AccessModule = createSshAccess();
