/**
 * telnet access (port 23, 2323, vendor consoles): drives the login conversation of BusyBox and
 * other embedded telnetds (RFC 854 NVT, options answered per RFC 1143), through "press enter"
 * screens and login menus, then types one user name and password per try, as many tries per
 * connection as the device allows, reconnecting when it hangs up (busybox login: 3 tries, 3 s
 * after each wrong password). A reply is judged in classify.ts's fixed order; a success is a shell
 * prompt at the very end of the reply that the banner did not show, after the reply has settled.
 * On success it types `exit` and closes: it runs no command. Lock-out (a phrase, a refused or
 * promptless reconnect, a changed reply after failures) ends the run as `locked-out`. One session
 * at a time per host unless AccessContext.sessions allows more; sessions then share the list.
 */
import type { AccessContext, AccessModule, AccessTarget, Attempt, AttemptOutcome, Credential, ModuleVerdict } from '../module.js';
import {
  bannerPrompts,
  classifyReply,
  classifyScreen,
  endsWithLoginPrompt,
  endsWithPasswordPrompt,
  maxReplyChars,
  shellPromptOf,
  withoutEcho,
  type ReplyVerdict,
} from './classify.js';
import { TelnetClient, type WaitResult } from './session.js';

/** Tunables (exported for tests and the bench). */
export interface TelnetAccessOptions {
  /** How long a shell-looking end of a reply must stay quiet before it counts (ms). */
  readonly settleMs: number;
  /** Idle-timeout reads in a row tolerated while waiting for the reply to a password. */
  readonly replyQuietReads: number;
  /** Enter presses / menu choices sent before a login prompt, at most. */
  readonly maxKeys: number;
  /** Reconnects to redo one try cut short by the connection's limits, at most. */
  readonly maxRetries: number;
}

export const defaultTelnetAccessOptions: TelnetAccessOptions = Object.freeze({
  settleMs: 400,
  replyQuietReads: 2,
  maxKeys: 3,
  maxRetries: 2,
});


type Step = 'login' | 'password';

interface LoginScreen {
  readonly kind: Step | 'shell' | 'none';
  /** Everything shown before the first credential (for bannerPrompts). */
  readonly banner: string;
  readonly why: string;
}

interface TryResult {
  readonly outcome: AttemptOutcome | 'retry';
  readonly detail: string;
  /** What the device asks for next on this connection, when it still asks. */
  readonly next?: Step;
}

const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  ms <= 0 || signal?.aborted
    ? Promise.resolve()
    : new Promise((resolve) => {
        const t = setTimeout(done, ms);
        function done(): void {
          clearTimeout(t);
          signal?.removeEventListener('abort', done);
          resolve();
        }
        signal?.addEventListener('abort', done, { once: true });
      });

const join = (a: string, b: string): string => {
  const s = a + b;
  return s.length > maxReplyChars ? s.slice(-maxReplyChars) : s;
};

/** Read up to the login or password prompt, pressing Enter or picking a menu's login entry on the way. */
async function toLogin(client: TelnetClient, opts: TelnetAccessOptions): Promise<LoginScreen> {
  let text = '';
  let keys = 0;
  let poked = false;
  for (let round = 0; round < opts.maxKeys + 4; round++) {
    const w = await client.waitFor((tail) => classifyScreen(tail).kind !== 'none', 1);
    text = join(text, w.text);
    let screen = classifyScreen(text);
    if (screen.kind === 'shell' && w.end === 'matched') {
      // "# " may be a line of the banner with the login prompt still to come.
      const more = await settle(client, opts);
      text = join(text, more);
      if (more !== '') continue;
      screen = classifyScreen(text);
    }
    if (screen.kind === 'login' || screen.kind === 'password') return { kind: screen.kind, banner: client.seen, why: screen.prompt ?? '' };
    if (screen.kind === 'shell') return { kind: 'shell', banner: client.seen, why: `shell prompt '${screen.prompt ?? ''}'` };
    if (w.end !== 'matched' && w.end !== 'quiet') return { kind: 'none', banner: client.seen, why: endWords(w, text) };
    if ((screen.kind === 'press-enter' || screen.kind === 'menu') && keys < opts.maxKeys) {
      keys++;
      text = '';
      if (!(await client.sendLine(screen.kind === 'menu' ? (screen.choice ?? '1') : ''))) return { kind: 'none', banner: client.seen, why: 'write failed' };
      continue;
    }
    if (w.end === 'quiet' && !poked) {
      // Some consoles print their prompt only after a key press; an empty line runs nothing.
      poked = true;
      if (!(await client.sendLine(''))) return { kind: 'none', banner: client.seen, why: 'write failed' };
      continue;
    }
    return { kind: 'none', banner: client.seen, why: endWords(w, text) };
  }
  return { kind: 'none', banner: client.seen, why: 'no login prompt after key presses' };
}

function endWords(w: WaitResult, text: string): string {
  const what = text.trim() === '' ? 'silence' : 'no prompt';
  if (w.end === 'quiet') return `${what}, then quiet`;
  return `${what}, then ${w.limit ?? w.status ?? w.end}`;
}

/** Wait briefly for more data; returns what arrived ("" when the device stayed quiet). */
async function settle(client: TelnetClient, opts: TelnetAccessOptions): Promise<string> {
  const w = await client.waitFor(() => false, 1, opts.settleMs);
  return w.text;
}

const promptAtEnd = (banner: ReadonlySet<string>) => (tail: string): boolean => {
  if (endsWithLoginPrompt(tail) || endsWithPasswordPrompt(tail)) return true;
  const shell = shellPromptOf(tail);
  return shell !== null && !banner.has(shell);
};

/** One try: type the user name (when asked) and the password, and judge the reply. */
async function tryOne(client: TelnetClient, step: Step, cred: Credential, banner: ReadonlySet<string>, failures: number, opts: TelnetAccessOptions): Promise<TryResult> {
  if (step === 'login') {
    if (!(await client.sendLine(cred.username))) return { outcome: 'retry', detail: 'write failed' };
    const w = await client.waitFor(promptAtEnd(banner), opts.replyQuietReads);
    const text = withoutEcho(w.text, cred.username);
    if (!endsWithPasswordPrompt(text)) {
      if (w.end === 'limit' || w.end === 'error') return { outcome: 'retry', detail: endWords(w, text) };
      const judged = await judge(client, text, w, banner, failures, opts);
      // No password asked: a shell right after the name means the account has none.
      return judged.outcome === 'success' ? { ...judged, detail: `${judged.detail} after the user name alone` } : judged;
    }
  }
  if (!(await client.sendLine(cred.password))) return { outcome: 'retry', detail: 'write failed' };
  const w = await client.waitFor(promptAtEnd(banner), opts.replyQuietReads);
  return judge(client, withoutEcho(w.text, cred.password), w, banner, failures, opts);
}

/** Judge a reply in the fixed order; a shell end must survive a settle period. */
async function judge(client: TelnetClient, reply: string, w: WaitResult, banner: ReadonlySet<string>, failures: number, opts: TelnetAccessOptions): Promise<TryResult> {
  let text = reply;
  let v: ReplyVerdict = classifyReply(text, banner);
  let end = w;
  for (let round = 0; v.kind === 'shell' && end.end === 'matched' && round < 16; round++) {
    const more = await client.waitFor(() => false, 1, opts.settleMs);
    if (more.text === '') break;
    text = join(text, more.text);
    v = classifyReply(text, banner);
    end = more.end === 'quiet' ? { ...more, end: 'matched' } : more;
  }
  const nextOf = (t: string): Step | undefined => (client.closed ? undefined : endsWithLoginPrompt(t) ? 'login' : endsWithPasswordPrompt(t) ? 'password' : undefined);
  let next = nextOf(text);
  if ((v.kind === 'failure' || v.kind === 'locked') && next === undefined && !client.closed) {
    // "Login incorrect" first, the login prompt a moment later: wait for it to reuse the connection.
    const more = await client.waitFor(promptAtEnd(banner), 1);
    text = join(text, more.text);
    next = nextOf(text);
  }
  switch (v.kind) {
    case 'locked':
      return { outcome: 'locked-out', detail: v.detail };
    case 'failure':
    case 'login-prompt':
    case 'password-prompt':
      return { outcome: 'failure', detail: v.detail, ...(next ? { next } : {}) };
    case 'shell':
      // A prompt cut off by a limit proves nothing: the bytes after it were never seen.
      if (end.end === 'limit' || end.end === 'error') return { outcome: 'retry', detail: endWords(end, text) };
      // Nor does one the device hangs up right after: a shell waits for its user.
      if (client.closed) return { outcome: 'failure', detail: `${v.detail}, then the device closed` };
      return { outcome: 'success', detail: v.detail };
    case 'none':
      if (end.end === 'closed') return { outcome: 'failure', detail: text.trim() === '' ? 'closed without a reply' : 'closed after an unrecognised reply' };
      if (end.end === 'limit' && end.limit === 'deadline') return { outcome: 'retry', detail: 'connection deadline during the try' };
      if (end.end === 'limit' || end.end === 'error') return { outcome: 'error', detail: `${v.detail}; ${endWords(end, text)}` };
      // A device that answered failures one way and now answers another has changed its mind.
      if (failures > 0) return { outcome: 'locked-out', detail: `reply changed after ${failures} failures (${v.detail})` };
      return { outcome: 'error', detail: v.detail };
  }
}

/** What the sessions on one host share: the list cursor, the failure count, the first ending. */
interface Shared {
  next: number;
  failures: number;
  prompted: boolean;
  ended?: { readonly verdict: ModuleVerdict['verdict']; readonly entry: string | null; readonly reason?: string };
}

async function run(target: AccessTarget, credentials: readonly Credential[], ctx: AccessContext, opts: TelnetAccessOptions = defaultTelnetAccessOptions): Promise<ModuleVerdict> {
  const attempts: Attempt[] = [];
  const shared: Shared = { next: 0, failures: 0, prompted: false };
  // One session at a time unless the caller allows more (politeness); never more than entries.
  const sessions = Math.max(1, Math.min(ctx.sessions ?? 1, 16, credentials.length));
  await Promise.all(Array.from({ length: sessions }, () => session(target, credentials, ctx, opts, shared, attempts)));
  const e = shared.ended ?? { verdict: 'no-weak-credential' as const, entry: null };
  return { verdict: e.verdict, entry: e.entry, attempts, ...(e.reason ? { reason: e.reason } : {}) };
}

/** One session's loop: connect, reach the prompt, take entries in list order until the host is done. */
async function session(target: AccessTarget, credentials: readonly Credential[], ctx: AccessContext, opts: TelnetAccessOptions, sh: Shared, attempts: Attempt[]): Promise<void> {
  const finish = (verdict: ModuleVerdict['verdict'], entry: string | null, reason?: string): void => {
    sh.ended ??= reason ? { verdict, entry, reason } : { verdict, entry };
  };
  /** The entry this session holds (a try cut short is redone by the same session). */
  let mine: number | undefined;
  const take = (): number | undefined => {
    if (mine === undefined && !sh.ended && sh.next < credentials.length) mine = sh.next++;
    return sh.ended ? undefined : mine;
  };
  let retries = 0;
  while (take() !== undefined) {
    if (ctx.signal?.aborted) return finish('error', null, 'aborted');
    const opened = await ctx.open();
    if (sh.ended) {
      if (opened.status === 'success') opened.connection.close();
      return;
    }
    if (opened.status !== 'success') {
      if (sh.prompted && sh.failures > 0) return finish('locked-out', null, `${opened.status} on reconnecting after ${sh.failures} failures`);
      return finish('error', null, `cannot connect to ${target.ip}:${target.port}: ${opened.status} (${opened.error})`);
    }
    const client = new TelnetClient(opened.connection);
    try {
      const screen = await toLogin(client, opts);
      if (screen.kind === 'shell' && !sh.prompted) return finish('unsupported', null, `no login asked: ${screen.why}`);
      if (screen.kind !== 'login' && screen.kind !== 'password') {
        // Locked before we came (an earlier survey, another service of the device): it says so.
        const said = classifyReply(screen.banner, new Set());
        if (said.kind === 'locked') return finish('locked-out', null, `before any try: ${said.detail}`);
        if (sh.prompted && sh.failures > 0) return finish('locked-out', null, `no login prompt on reconnecting after ${sh.failures} failures (${screen.why})`);
        return finish('error', null, `no login prompt: ${screen.why}`);
      }
      const firstStep = screen.kind;
      sh.prompted = true;
      const banner = bannerPrompts(screen.banner);
      let step: Step = firstStep;
      let lastUser: string | undefined;
      for (let index = take(); index !== undefined; index = take()) {
        if (ctx.signal?.aborted) return finish('error', null, 'aborted');
        const cred = credentials[index]!;
        // A password re-prompt keeps the last user name: another entry's password must not be
        // typed for it (that would credit the wrong pair); it gets a fresh connection instead.
        if (step === 'password' && firstStep === 'login' && cred.username !== lastUser) break;
        lastUser = cred.username;
        const startedAt = new Date();
        const t0 = performance.now();
        const r = await tryOne(client, step, cred, banner, sh.failures, opts);
        if (r.outcome === 'retry') {
          if (++retries > opts.maxRetries) {
            attempts.push(attempt(cred, 'error', startedAt, t0, r.detail));
            return finish('error', null, `try cut short ${retries} times: ${r.detail}`);
          }
          break; // redo this entry on a new connection
        }
        attempts.push(attempt(cred, r.outcome, startedAt, t0, r.detail));
        retries = 0;
        mine = undefined;
        if (r.outcome === 'success') {
          // Log out: `exit` ends the shell; nothing else is typed.
          await client.sendLine('exit');
          return finish('weak-credential', cred.id);
        }
        if (r.outcome === 'locked-out') return finish('locked-out', null, r.detail);
        if (r.outcome === 'error') return finish('error', null, r.detail);
        sh.failures++;
        if (!r.next) break;
        step = r.next;
        if (sh.next < credentials.length) await sleep(ctx.pauseMs, ctx.signal);
      }
    } finally {
      client.close();
    }
    if (take() !== undefined) await sleep(ctx.pauseMs, ctx.signal);
  }
}

function attempt(cred: Credential, outcome: AttemptOutcome, startedAt: Date, t0: number, detail: string): Attempt {
  return { entry: cred.id, username: cred.username, outcome, startedAt: startedAt.toISOString(), durationMs: Math.round(performance.now() - t0), detail };
}

/** Whether the telnet grab saw a login or password prompt at this endpoint. */
function applies(target: AccessTarget): boolean {
  return target.observations.some((o) => o.module === 'telnet' && (o.fields['loginPrompt'] === true || o.fields['passwordPrompt'] === true));
}

/** Build the module with other tunables (tests, the bench). */
export function createTelnetAccess(options: Partial<TelnetAccessOptions> = {}): AccessModule {
  const opts: TelnetAccessOptions = { ...defaultTelnetAccessOptions, ...options };
  return {
    protocol: 'telnet',
    description: 'drives telnet login prompts (menus, press-enter screens), several tries per connection; success only from a new shell prompt at the end of a settled reply; types exit, runs nothing',
    applies,
    run: (target, credentials, ctx) => run(target, credentials, ctx, opts),
  };
}

/** The telnet access module. */
export const telnetAccess: AccessModule = createTelnetAccess();
