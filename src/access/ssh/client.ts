/**
 * One SSH connection's worth of login tries, with ssh2's Client over the guarded Connection (the
 * Duplex of src/grab/ssh/ssh2-session.ts: ssh2 never dials). Asks "none" first for the offered
 * methods (RFC 4252 §5.2; neither OpenSSH nor dropbear counts it as a failure), then tries the
 * given passwords of ONE user name (OpenSSH disconnects when the user name changes, RFC 4252 §5
 * lets it), by "password" (§8) when offered, else by "keyboard-interactive" (RFC 4256) answering
 * only a single hidden password prompt. A partial success (§5.1: the password was right but more
 * is required) ends the connection and is not a success. On success it disconnects at once: no
 * channel is ever opened, so no shell or command can run.
 */
import ssh2 from 'ssh2';
import type { Connection } from '../../scope/connection.js';
import { connectionDuplex, legacyAlgorithms } from '../../grab/ssh/ssh2-session.js';
import { errorText } from '../../grab/text.js';
import type { Credential } from '../module.js';

const { Client } = ssh2;

/** How one try on the connection ended. */
export type TryOutcome =
  /** USERAUTH_SUCCESS. */
  | 'success'
  /** USERAUTH_FAILURE without partial success. */
  | 'failure'
  /** USERAUTH_FAILURE with partial success: a further factor is required. */
  | 'partial'
  /** No answer: the server disconnected or went silent (the try must be repeated). */
  | 'unanswered'
  /** keyboard-interactive asked something other than a password; not answered. */
  | 'prompt-refused';

export interface TryResult {
  readonly credential: Credential;
  readonly method: 'password' | 'keyboard-interactive';
  readonly outcome: TryOutcome;
  readonly startedAt: string;
  readonly durationMs: number;
  readonly detail: string;
}

/** Why the connection ended. */
export type ConnectionEnd =
  | 'success'
  | 'partial'
  | 'prompt-refused'
  /** Every given password was answered. */
  | 'done'
  /** Neither password nor keyboard-interactive is offered. */
  | 'no-method'
  /** "none" itself was accepted: no password at all. */
  | 'none-accepted'
  /** The server closed (or the guard ended) the connection. */
  | 'closed'
  /** No answer within the reply timeout. */
  | 'timeout';

export interface ConnectionReport {
  /** The server answered "none": key exchange done, the auth service running. */
  readonly reachedAuth: boolean;
  /** Methods listed in answer to "none" (null when not reached). */
  readonly methods: readonly string[] | null;
  /** SSH_MSG_USERAUTH_BANNER text (bounded), when sent. */
  readonly banner: string | null;
  readonly tries: readonly TryResult[];
  readonly end: ConnectionEnd;
  /** Disconnect message or error, bounded. */
  readonly error: string | null;
  /** What keyboard-interactive asked when refused, bounded. */
  readonly prompts: readonly string[];
}

export interface ConnectionOptions {
  /** Longest wait for any one server answer (identification, KEX, an auth reply), ms. */
  readonly replyTimeoutMs: number;
  /** Stop after this many answered tries (learned per-connection limit); Infinity for none. */
  readonly maxTries: number;
  /** Methods that may be used, in preference order. */
  readonly methods?: readonly ('password' | 'keyboard-interactive')[];
  /** Pause before each try after the first (politeness), ms. */
  readonly pauseMs?: number;
}

const maxBannerChars = 512;
const maxShown = 120;

/** A prompt that asks for the account's password, not a one-time code or second factor. */
export function isPasswordPrompt(prompt: string, echo: boolean | undefined): boolean {
  if (echo === true) return false;
  const p = prompt.slice(0, 200);
  if (/one[- ]?time|\botp\b|token|verification|passcode|\bcode\b|2fa|two[- ]factor|authenticator|\bpin\b|new password|retype|again|old password|current password/i.test(p)) return false;
  return /pass ?word|passwd|パスワード/i.test(p);
}

function printable(s: string, max = maxShown): string {
  const clean = s.replace(/[^\x20-\x7e\u3000-\u9fff]/g, '?');
  return clean.length > max ? `${clean.slice(0, max)}...` : clean;
}

/**
 * Run one connection: "none" as `username`, then `passwords` (all with that user name) in order
 * until one works, a limit is hit or the server ends it. Never throws.
 */
export function tryOnConnection(conn: Connection, username: string, passwords: readonly Credential[], options: ConnectionOptions): Promise<ConnectionReport> {
  const allowed = options.methods ?? ['password', 'keyboard-interactive'];
  return new Promise<ConnectionReport>((resolve) => {
    const tries: TryResult[] = [];
    const prompts: string[] = [];
    let methods: string[] | null = null;
    let banner: string | null = null;
    let error: string | null = null;
    let reachedAuth = false;
    let done = false;
    let next = 0;
    /** The try in flight, if any. */
    let current: { credential: Credential; method: 'password' | 'keyboard-interactive'; t0: number; startedAt: string } | null = null;
    let pendingNone = true;

    const wire = connectionDuplex(conn, {
      continueOnReadTimeout: true,
      onEnd: (why) => {
        if (!done) error ??= printable(why);
      },
    });
    const client = new Client();

    let timer: NodeJS.Timeout | undefined;
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        error ??= `no answer within ${options.replyTimeoutMs} ms`;
        finish('timeout');
      }, options.replyTimeoutMs);
    };

    const record = (outcome: TryOutcome, detail: string): void => {
      if (!current) return;
      tries.push({
        credential: current.credential,
        method: current.method,
        outcome,
        startedAt: current.startedAt,
        durationMs: Math.round(performance.now() - current.t0),
        detail,
      });
      current = null;
    };

    const finish = (end: ConnectionEnd): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (current) record('unanswered', error ? `no answer: ${error}` : 'no answer before the connection ended');
      client.removeAllListeners();
      client.on('error', () => {});
      try {
        client.end();
      } catch {
        // ending a half-open client can throw inside ssh2; the connection is closed below anyway
      }
      wire.stop();
      conn.close();
      resolve({ reachedAuth, methods, banner, tries, end, error, prompts });
    };

    /** The method for the next try, from what the server lists now. */
    const pick = (left: readonly string[]): 'password' | 'keyboard-interactive' | null => allowed.find((m) => left.includes(m)) ?? null;

    client.on('banner', (message: string) => {
      banner = printable(String(message), maxBannerChars);
    });
    client.on('ready', () => {
      if (pendingNone) return finish('none-accepted');
      record('success', current?.method === 'keyboard-interactive' ? 'keyboard-interactive accepted' : 'password accepted');
      // Log out at once: no channel, no shell, no command (RFC 4254 channels are never opened).
      finish('success');
    });
    client.on('error', (e: unknown) => {
      error ??= printable(errorText(e));
    });
    // ssh2 emits 'end' (not 'close') when our Duplex ends because the guarded connection did.
    client.on('end', () => finish('closed'));
    client.on('close', () => finish('closed'));

    try {
      client.connect({
        sock: wire.sock,
        username,
        readyTimeout: 0, // our reply timer bounds each step instead (ssh2's bounds the whole login)
        keepaliveInterval: 0,
        algorithms: legacyAlgorithms,
        hostVerifier: () => true, // a survey records host keys at grab time; it trusts none
        authHandler: (methodsLeft, partialSuccess, nextAuth) => {
          if (done) return;
          arm();
          if (methodsLeft === null || methodsLeft === undefined) return nextAuth({ type: 'none', username });
          const left = methodsLeft.slice(0, 16).map((m) => String(m).slice(0, 64));
          if (pendingNone) {
            pendingNone = false;
            reachedAuth = true;
            methods = left;
          } else if (current) {
            if (partialSuccess) {
              record('partial', `partial success: the server wants more (${left.join(',') || 'nothing listed'})`);
              return finish('partial');
            }
            record('failure', `${current.method} refused`);
          }
          const answered = tries.filter((t) => t.outcome === 'failure').length;
          const credential = passwords[next];
          if (!credential || answered >= options.maxTries) return finish('done');
          const method = pick(left);
          if (!method) return finish(tries.length === 0 ? 'no-method' : 'done');
          next++;
          const send = (): void => {
            if (done) return;
            arm();
            current = { credential, method, t0: performance.now(), startedAt: new Date().toISOString() };
            if (method === 'password') nextAuth({ type: 'password', username, password: credential.password });
            else nextAuth(keyboard(credential));
          };
          if (next > 1 && (options.pauseMs ?? 0) > 0) setTimeout(send, options.pauseMs);
          else send();
          return undefined;
        },
      });
      arm();
    } catch (e) {
      error ??= printable(errorText(e));
      finish('closed');
    }

    function keyboard(credential: Credential): ssh2.KeyboardInteractiveAuthMethod {
      let answeredPrompt = false;
      return {
        type: 'keyboard-interactive',
        username,
        prompt: (_name, _instructions, _lang, asked, reply) => {
          arm();
          const list = Array.isArray(asked) ? asked : [];
          // An empty INFO_REQUEST (OpenSSH's PAM sends one after the password) wants an empty answer.
          if (list.length === 0) return reply([]);
          const first = list[0];
          if (!answeredPrompt && list.length === 1 && first && isPasswordPrompt(String(first.prompt ?? ''), first.echo)) {
            answeredPrompt = true;
            return reply([credential.password]);
          }
          for (const p of list.slice(0, 4)) prompts.push(printable(String(p.prompt ?? '')));
          record('prompt-refused', `keyboard-interactive asked ${list.map((p) => JSON.stringify(printable(String(p.prompt ?? ''), 40))).join(', ')}: not a password prompt`);
          finish('prompt-refused');
        },
      };
    }
  });
}
