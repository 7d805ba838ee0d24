/**
 * Lab telnet service: looks like BusyBox telnetd + login on an IoT router, camera or DVR.
 *
 * Default port 23. Sends RFC 854/855 option negotiation first (the four requests busybox
 * telnetd sends), then the pre-login banner, "login: " and "Password: ", and on success a MOTD
 * and a shell prompt. The shell runs nothing: it only knows `exit`/`logout`, so a survey can
 * recognise a successful login and leave. Idle and session timeouts, a line-length cap and an
 * output-buffer cap keep a hostile client from holding the socket or growing memory.
 *
 * Banner keys (ServiceProfile.banner, all optional): preLogin, loginPrompt, passwordPrompt,
 * motd, shellPrompt, negotiation ('busybox' | 'ttype' | 'none'), failDelayMs, idleTimeoutMs.
 */
import type { Socket } from 'node:net';
import {
  OptionNegotiator,
  TelnetCommand,
  TelnetDecoder,
  TelnetOption,
  TTYPE_SEND,
  encodeSubnegotiation,
  escapeIac,
  type TelnetVerb,
} from '../../protocols/telnet.js';
import { isLockedOut, refuseIfLocked } from '../context.js';
import type { ConnectionHandler, ServiceContext } from '../types.js';

const { EC, EL } = TelnetCommand;
const { ECHO: OPT_ECHO, SGA: OPT_SGA, TTYPE: OPT_TTYPE, NAWS: OPT_NAWS } = TelnetOption;

const CR = 0x0d;
const LF = 0x0a;
const NUL = 0x00;
const BS = 0x08;
const DEL = 0x7f;

/** Tunables of the telnet service; banner keys override the timing ones per profile. */
export interface TelnetOptions {
  /** Close after this long without input (busybox login has a 60 s alarm). */
  readonly idleTimeoutMs: number;
  /** Close after this long whatever happens. */
  readonly sessionTimeoutMs: number;
  /** Pause before "Login incorrect" (busybox sleeps 3 s; small here so tests are fast). */
  readonly failDelayMs: number;
  /** Failed logins per connection before closing (busybox login gives up after 3). */
  readonly maxFailures: number;
  /** Bytes kept per input line; the rest of a longer line is dropped. */
  readonly maxLineBytes: number;
}

const DEFAULT_OPTIONS: TelnetOptions = {
  idleTimeoutMs: 30_000,
  sessionTimeoutMs: 300_000,
  failDelayMs: 100,
  maxFailures: 3,
  maxLineBytes: 1024,
};

/** Opening negotiations; 'busybox' is exactly what busybox telnetd.c sends (iacs_to_send). */
const NEGOTIATIONS: Readonly<Record<string, readonly (readonly ['will' | 'do', number])[]>> = {
  busybox: [
    ['do', OPT_ECHO],
    ['do', OPT_NAWS],
    ['will', OPT_ECHO],
    ['will', OPT_SGA],
  ],
  // Also ask for the terminal type, as inetutils and vendor telnetds do.
  ttype: [
    ['do', OPT_TTYPE],
    ['do', OPT_ECHO],
    ['do', OPT_NAWS],
    ['will', OPT_ECHO],
    ['will', OPT_SGA],
  ],
  none: [],
};

const DEFAULT_MOTD =
  '\r\n\r\nBusyBox v1.19.4 (2014-03-12 10:34:27 CST) built-in shell (ash)\r\n' +
  "Enter 'help' for a list of built-in commands.\r\n\r\n";

/** Options we agree to perform (DO from client) and to let the client perform (WILL). */
const POLICY = { local: new Set([OPT_ECHO, OPT_SGA]), remote: new Set([OPT_SGA, OPT_NAWS, OPT_TTYPE]) };

const MAX_NEGOTIATION_REPLIES = 256; // a client toggling options forever gets silence
const MAX_QUEUED_LINES = 16; // typed-ahead lines kept while we are busy
const MAX_EMPTY_LOGINS = 10; // busybox re-prompts on an empty name, but not forever
const MAX_BUFFERED_OUTPUT = 64 * 1024; // a client that never reads is dropped
const MAX_SHOWN_COMMAND = 64;
const CLOSE_GRACE_MS = 2_000;

type InputMode = 'line' | 'secret';

/** Parse a non-negative integer banner value; anything else keeps the default. */
function bannerInt(value: string | undefined, fallback: number, max: number): number {
  if (value === undefined || !/^\d{1,9}$/.test(value)) return fallback;
  const n = Number(value);
  return n <= max ? n : fallback;
}

/** Decode a line as UTF-8, or byte-for-byte (Latin-1) when it is not valid UTF-8. */
function decodeLine(bytes: Buffer): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return bytes.toString('latin1');
  }
}

/** One telnet connection: negotiation, line discipline and the login conversation. */
class TelnetSession {
  private readonly decoder = new TelnetDecoder();
  private readonly options = new OptionNegotiator(POLICY);
  private readonly line: Buffer;
  private lineLength = 0;
  private afterCr = false;
  private mode: InputMode = 'line';
  private phase: 'login' | 'shell' = 'login';
  private replies = 0;
  private readonly lines: string[] = [];
  private waiter: ((line: string | null) => void) | undefined;
  private closed = false;
  private sessionTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly socket: Socket,
    private readonly ctx: ServiceContext,
    private readonly opts: TelnetOptions,
    private readonly banner: Readonly<Record<string, string>>,
  ) {
    this.line = Buffer.alloc(opts.maxLineBytes);
  }

  start(): void {
    const { socket } = this;
    socket.on('error', () => socket.destroy());
    socket.on('close', () => this.onClosed());
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.setTimeout(this.opts.idleTimeoutMs);
    socket.on('timeout', () => this.onIdle());
    this.sessionTimer = setTimeout(() => socket.destroy(), this.opts.sessionTimeoutMs);
    this.sessionTimer.unref();

    const name = this.banner['negotiation'] ?? 'busybox';
    const negotiation = Object.hasOwn(NEGOTIATIONS, name) ? NEGOTIATIONS[name] : NEGOTIATIONS['busybox'];
    for (const [verb, option] of negotiation ?? []) {
      const request = this.options.request(verb === 'will' ? 'local' : 'remote', option, true);
      if (request) this.sendRaw(request);
    }

    this.converse().catch(() => socket.destroy());
  }

  // ---- the conversation ----------------------------------------------------------------

  private async converse(): Promise<void> {
    const b = this.banner;
    this.sendText(b['preLogin'] ?? '');
    // A locked device says so and hangs up, before and after the failure that locked it.
    if (refuseIfLocked(this.ctx)) return this.lockedOut();
    let failures = 0;
    let empty = 0;
    while (failures < this.opts.maxFailures) {
      this.sendText(b['loginPrompt'] ?? 'login: ');
      const raw = await this.readLine();
      if (raw === null) return;
      const username = raw.trim();
      if (username === '') {
        if (++empty > MAX_EMPTY_LOGINS) break;
        continue;
      }
      const password = await this.readSecret(b['passwordPrompt'] ?? 'Password: ');
      if (password === null) return;
      if (this.checkLogin(username, password)) {
        await this.shell();
        return;
      }
      failures++;
      await this.sleep(this.opts.failDelayMs);
      if (this.closed) return;
      this.sendText('Login incorrect\r\n');
      if (isLockedOut(this.ctx)) return this.lockedOut();
    }
    this.end();
  }

  private lockedOut(): void {
    const seconds = Math.max(1, Math.ceil((this.ctx.state.lockedUntil - Date.now()) / 1000));
    this.sendText(`Too many failed login attempts; try again in ${seconds} seconds.\r\n`);
    this.end();
  }

  /** Ask for the password with echo off: WILL ECHO makes the client stop echoing (RFC 857). */
  private async readSecret(prompt: string): Promise<string | null> {
    const echoWasOn = this.serverEchoes();
    if (!echoWasOn) this.requestLocal(OPT_ECHO, true);
    this.mode = 'secret';
    this.sendText(prompt);
    const password = await this.readLine();
    this.mode = 'line';
    if (password === null) return null;
    this.sendText('\r\n'); // login prints the newline the suppressed echo swallowed
    if (!echoWasOn) this.requestLocal(OPT_ECHO, false);
    return password;
  }

  private checkLogin(username: string, password: string): boolean {
    try {
      return this.ctx.checkLogin(username, password);
    } catch {
      return false;
    }
  }

  private async shell(): Promise<void> {
    this.phase = 'shell';
    const b = this.banner;
    this.sendText(b['motd'] ?? DEFAULT_MOTD);
    for (;;) {
      this.sendText(b['shellPrompt'] ?? '# ');
      const raw = await this.readLine();
      if (raw === null) return;
      const command = raw.trim().split(/\s+/)[0] ?? '';
      if (command === '') continue;
      if (command === 'exit' || command === 'logout') {
        this.end();
        return;
      }
      // We never run anything; a busybox without the applet answers the same way.
      this.sendText(`sh: ${printable(command)}: not found\r\n`);
    }
  }

  // ---- input -----------------------------------------------------------------------------

  private onData(chunk: Buffer): void {
    for (const event of this.decoder.push(chunk)) {
      switch (event.kind) {
        case 'data':
          this.onBytes(event.bytes);
          break;
        case 'command':
          if (event.command === EC) this.lineLength = Math.max(0, this.lineLength - 1);
          else if (event.command === EL) this.lineLength = 0;
          break; // NOP, DM, BRK, IP, AO, AYT, GA: nothing to do for a login prompt
        case 'negotiate':
          this.onNegotiate(event.verb, event.option);
          break;
        case 'subnegotiation':
          break; // NAWS sizes and TTYPE IS names are accepted and not needed
      }
    }
  }

  /**
   * Line discipline: CR LF, CR NUL (RFC 854 NVT), bare LF and bare CR all end a line. While we
   * perform ECHO we echo what is typed at a waiting prompt, but never a password and never
   * typed-ahead lines (we cannot know yet whether they are passwords).
   */
  private onBytes(bytes: Buffer): void {
    const echo: number[] = [];
    for (const b of bytes) {
      const echoing = this.mode === 'line' && this.waiter !== undefined && this.serverEchoes();
      if (this.afterCr) {
        this.afterCr = false;
        if (b === LF || b === NUL) continue;
      }
      if (b === CR || b === LF) {
        this.afterCr = b === CR;
        if (echoing) echo.push(CR, LF);
        this.completeLine();
      } else if (b === BS || b === DEL) {
        if (this.lineLength > 0) {
          this.lineLength--;
          if (echoing) echo.push(BS, 0x20, BS);
        }
      } else if (b < 0x20 && b !== 0x09) {
        // other controls (NUL, ^C, escape sequences' ESC) are not part of a name or password
      } else if (this.lineLength < this.line.length) {
        this.line[this.lineLength++] = b;
        if (echoing) echo.push(b);
      }
    }
    if (echo.length > 0) this.sendRaw(escapeIac(Buffer.from(echo)));
  }

  private completeLine(): void {
    const text = decodeLine(Buffer.from(this.line.subarray(0, this.lineLength)));
    this.lineLength = 0;
    const waiter = this.waiter;
    if (waiter !== undefined) {
      this.waiter = undefined;
      waiter(text);
    } else if (this.lines.length < MAX_QUEUED_LINES) {
      this.lines.push(text);
    }
  }

  private readLine(): Promise<string | null> {
    if (this.closed) return Promise.resolve(null);
    const queued = this.lines.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    return new Promise((resolve) => {
      this.waiter = resolve;
    });
  }

  // ---- option negotiation (src/protocols/telnet.ts keeps the RFC 1143 states) ----------

  private onNegotiate(verb: TelnetVerb, option: number): void {
    const outcome = this.options.receive(verb, option);
    if (outcome.reply) this.reply(outcome.reply);
    // RFC 1091: once the client will send its terminal type, ask for it.
    if (outcome.side === 'remote' && outcome.option === OPT_TTYPE && outcome.before !== 'yes' && outcome.after === 'yes') {
      this.reply(encodeSubnegotiation(OPT_TTYPE, Buffer.of(TTYPE_SEND)));
    }
  }

  private requestLocal(option: number, enable: boolean): void {
    const request = this.options.request('local', option, enable);
    if (request) this.reply(request);
  }

  /**
   * Whether we echo the client's typing. Real busybox telnetd echoes through its pty as soon as it
   * has offered WILL ECHO, whether or not the client answered (a raw socket never does); only a
   * refusal (DONT ECHO) stops it. Matching that keeps the byte stream what scanners see on devices.
   */
  private serverEchoes(): boolean {
    const state = this.options.state('local', OPT_ECHO);
    return state === 'yes' || state === 'wantyes';
  }

  /** Send a negotiation reply; a client toggling options forever gets silence after a while. */
  private reply(bytes: Buffer): void {
    if (++this.replies > MAX_NEGOTIATION_REPLIES) return;
    this.sendRaw(bytes);
  }

  // ---- output and lifetime ---------------------------------------------------------------

  private sendText(text: string): void {
    if (text !== '') this.sendRaw(escapeIac(Buffer.from(text, 'utf8')));
  }

  private sendRaw(bytes: Buffer): void {
    const { socket } = this;
    if (this.closed || !socket.writable) return;
    if (socket.writableLength > MAX_BUFFERED_OUTPUT) {
      socket.destroy();
      return;
    }
    socket.write(bytes);
  }

  private onIdle(): void {
    if (this.phase === 'login') {
      this.sendText(`\r\nLogin timed out after ${Math.round(this.opts.idleTimeoutMs / 1000)} seconds\r\n`);
    }
    this.end();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, ms).unref());
  }

  /** Half-close politely, and make sure the socket goes even if the client never reads. */
  private end(): void {
    if (this.closed) return;
    const { socket } = this;
    socket.end();
    setTimeout(() => socket.destroy(), CLOSE_GRACE_MS).unref();
    this.onClosed();
  }

  private onClosed(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.sessionTimer);
    const waiter = this.waiter;
    this.waiter = undefined;
    this.lines.length = 0;
    waiter?.(null);
  }
}

/** Keep a command name printable and short before echoing it in an error line. */
function printable(text: string): string {
  const clean = text.replace(/[^\x20-\x7e]/g, '?');
  return clean.length > MAX_SHOWN_COMMAND ? `${clean.slice(0, MAX_SHOWN_COMMAND)}...` : clean;
}

/**
 * Build a telnet handler. Options set the defaults; a profile's banner keys `failDelayMs` and
 * `idleTimeoutMs` override them per service.
 */
export function createTelnetHandler(options: Partial<TelnetOptions> = {}): ConnectionHandler {
  const base: TelnetOptions = { ...DEFAULT_OPTIONS, ...options };
  return (socket, ctx) => {
    const banner = ctx.service.banner ?? {};
    const opts: TelnetOptions = {
      ...base,
      failDelayMs: bannerInt(banner['failDelayMs'], base.failDelayMs, 60_000),
      idleTimeoutMs: bannerInt(banner['idleTimeoutMs'], base.idleTimeoutMs, 600_000) || base.idleTimeoutMs,
    };
    new TelnetSession(socket, ctx, opts, banner).start();
  };
}

/** BusyBox-telnetd-like login service with default timings (auth 'telnet-login'). */
export const telnetHandler: ConnectionHandler = createTelnetHandler();
