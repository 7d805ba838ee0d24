/**
 * Lab FTP service (RFC 959): the control connection of a NAS, camera or router FTP server, enough
 * for a banner grab and a login check. Default port 21.
 *
 * Sends the 220 greeting (one line, or an RFC 959 §4.2 multi-line reply "220-..." ... "220 ..."
 * when the profile's greeting has several lines), then answers USER / PASS (331, 230 or 530,
 * checked through the device's login rules), QUIT (221), SYST, NOOP, FEAT (211) and refuses
 * the rest (530 before login, 502 after: the lab serves no files and opens no data connections).
 * An idle timeout, a command-line cap and a failure limit keep a hostile client bounded.
 *
 * Banner keys: greeting, system, failDelayMs, idleTimeoutMs.
 */
import type { Socket } from 'node:net';
import type { ConnectionHandler, ServiceContext } from '../types.js';
import { isLockedOut } from '../context.js';

/** Tunables of the FTP service; banner keys override the timing ones per profile. */
export interface FtpOptions {
  readonly idleTimeoutMs: number;
  /** Pause before "530 Login incorrect" (vsftpd sleeps 1 s; short here so tests are fast). */
  readonly failDelayMs: number;
  /** Failed logins per connection before closing (vsftpd's max_login_fails default is 3). */
  readonly maxFailures: number;
  /** Longest command line; a longer one ends the connection with 500 (RFC 959 sets no limit). */
  readonly maxLineBytes: number;
}

const defaultOptions: FtpOptions = { idleTimeoutMs: 30_000, failDelayMs: 100, maxFailures: 3, maxLineBytes: 1024 };

/** Commands answered per connection; a client looping NOOP forever is dropped. */
const maxCommands = 256;

function bannerInt(value: string | undefined, fallback: number, max: number): number {
  if (value === undefined || !/^\d{1,9}$/.test(value)) return fallback;
  const n = Number(value);
  return n <= max ? n : fallback;
}

/**
 * The greeting as reply lines. RFC 959 §4.2: a multi-line reply starts "220-" and ends with
 * "220 "; an inner line that itself starts with three digits and a space is indented so a client
 * cannot take it for the end.
 */
export function greetingReply(greeting: string): string {
  const lines = greeting.split('\n').filter((l, i, all) => l !== '' || i < all.length - 1);
  if (lines.length <= 1) return `220 ${lines[0] ?? 'FTP server ready.'}\r\n`;
  const first = lines[0] ?? '';
  const last = lines[lines.length - 1] ?? '';
  const inner = lines.slice(1, -1).map((l) => (/^\d{3}[ -]/.test(l) ? ` ${l}` : l));
  return [`220-${first}`, ...inner, `220 ${last}`].map((l) => `${l}\r\n`).join('');
}

class FtpSession {
  private buffer = '';
  private closing = false;
  private user: string | undefined;
  private loggedIn = false;
  private failures = 0;
  private commands = 0;
  private busy = false;
  private readonly queue: string[] = [];

  constructor(
    private readonly socket: Socket,
    private readonly ctx: ServiceContext,
    private readonly opts: FtpOptions,
  ) {}

  start(): void {
    const { socket } = this;
    socket.setTimeout(this.opts.idleTimeoutMs, () => this.close('421 Timeout.'));
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', () => socket.destroy());
    this.reply(greetingReply(this.ctx.service.banner?.['greeting'] ?? 'FTP server ready.'));
  }

  private reply(text: string): void {
    if (!this.closing && !this.socket.destroyed && this.socket.writable) this.socket.write(text);
  }

  private close(last?: string): void {
    if (this.closing || this.socket.destroyed) return;
    this.closing = true;
    this.queue.length = 0;
    if (last) this.socket.end(`${last}\r\n`);
    else this.socket.end();
    // A peer that never reads must not keep the socket half-open.
    setTimeout(() => this.socket.destroy(), 2000).unref();
  }

  private onData(chunk: Buffer): void {
    if (this.closing || this.socket.destroyed) return;
    // Latin-1 keeps one character per byte, so the length check counts bytes.
    let text = chunk.toString('latin1');
    while (text.length > 0) {
      const nl = text.indexOf('\n');
      const part = nl < 0 ? text : text.slice(0, nl);
      text = nl < 0 ? '' : text.slice(nl + 1);
      this.buffer += part;
      if (this.buffer.length > this.opts.maxLineBytes) {
        this.buffer = '';
        return this.close('500 Command line too long.');
      }
      if (nl >= 0) {
        const line = this.buffer.replace(/\r$/, '');
        this.buffer = '';
        this.enqueue(line);
      }
    }
  }

  private enqueue(line: string): void {
    if (this.queue.length >= 16) return this.close('421 Too many commands.');
    this.queue.push(line);
    void this.drain();
  }

  private async drain(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      while (this.queue.length > 0 && !this.closing && !this.socket.destroyed) {
        const line = this.queue.shift() ?? '';
        if (++this.commands > maxCommands) return this.close('421 Too many commands.');
        await this.command(line);
      }
    } finally {
      this.busy = false;
    }
  }

  private async command(line: string): Promise<void> {
    const m = /^([A-Za-z]{3,4})(?: (.*))?$/.exec(line);
    if (!m) return this.reply('500 Syntax error, command unrecognized.\r\n');
    const verb = (m[1] ?? '').toUpperCase();
    const arg = m[2] ?? '';
    switch (verb) {
      case 'USER':
        if (this.loggedIn) return this.reply('530 Already logged in.\r\n');
        this.user = arg;
        return this.reply(`331 Password required for ${arg.slice(0, 64).replace(/[^\x20-\x7e]/g, '?')}.\r\n`);
      case 'PASS':
        return this.pass(arg);
      case 'QUIT':
        return this.close('221 Goodbye.');
      case 'NOOP':
        return this.reply('200 NOOP ok.\r\n');
      case 'SYST':
        return this.reply(`215 ${this.ctx.service.banner?.['system'] ?? 'UNIX Type: L8'}\r\n`);
      case 'FEAT':
        return this.reply('211-Features:\r\n PASV\r\n SIZE\r\n UTF8\r\n211 End\r\n');
      default:
        return this.reply(this.loggedIn ? '502 Command not implemented.\r\n' : '530 Please login with USER and PASS.\r\n');
    }
  }

  private async pass(password: string): Promise<void> {
    if (this.loggedIn) return this.reply('230 Already logged in.\r\n');
    if (this.user === undefined) return this.reply('503 Login with USER first.\r\n');
    const user = this.user;
    this.user = undefined;
    if (this.ctx.checkLogin(user, password)) {
      this.loggedIn = true;
      return this.reply('230 Login successful.\r\n');
    }
    await new Promise((r) => setTimeout(r, this.opts.failDelayMs));
    if (this.socket.destroyed) return;
    if (isLockedOut(this.ctx)) return this.close('421 Too many failed logins; try again later.');
    if (++this.failures >= this.opts.maxFailures) return this.close('530 Login incorrect.');
    this.reply('530 Login incorrect.\r\n');
  }
}

/** Build an FTP handler; a profile's banner keys `failDelayMs` and `idleTimeoutMs` override `options`. */
export function createFtpHandler(options: Partial<FtpOptions> = {}): ConnectionHandler {
  const base = { ...defaultOptions, ...options };
  return (socket, ctx) => {
    const banner = ctx.service.banner ?? {};
    const opts: FtpOptions = {
      ...base,
      failDelayMs: bannerInt(banner['failDelayMs'], base.failDelayMs, 60_000),
      idleTimeoutMs: bannerInt(banner['idleTimeoutMs'], base.idleTimeoutMs, 600_000) || base.idleTimeoutMs,
    };
    new FtpSession(socket, ctx, opts).start();
  };
}

/** The lab's FTP handler with default options. */
export const ftpHandler: ConnectionHandler = createFtpHandler();
