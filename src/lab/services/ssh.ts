/**
 * Lab SSH service: looks like dropbear/OpenSSH on an IoT device, built on ssh2's Server.
 *
 * Default port 22. Sends the profile's identification string (RFC 4253 §4.2), offers the
 * "password" and "keyboard-interactive" methods (RFC 4252 §8, RFC 4256) and checks both with
 * ctx.checkLogin. After login it accepts one kind of request: an interactive shell that prints a
 * MOTD and a prompt and only knows `exit`/`logout`. exec, subsystems (sftp), port forwarding,
 * agent and X11 forwarding are refused: the lab never runs commands.
 *
 * One ed25519 host key per device profile (devices of one model share it, as real firmware
 * images often do). Banner keys (all optional): serverIdent ("SSH-2.0-dropbear_2019.78"),
 * preAuth (SSH_MSG_USERAUTH_BANNER text), passwordPrompt, motd, shellPrompt, failDelayMs,
 * idleTimeoutMs.
 */
import ssh2 from 'ssh2';
import type { AuthContext, Connection, ParsedKey, ServerChannel, Session } from 'ssh2';
import type { Socket } from 'node:net';
import { isLockedOut, refuseIfLocked } from '../context.js';
import type { ConnectionHandler, ServiceContext } from '../types.js';

const { Server, utils } = ssh2;

/** Tunables of the SSH service; banner keys override the timing ones per profile. */
export interface SshOptions {
  /** Failed password/keyboard-interactive attempts per connection before disconnecting. */
  readonly maxAuthFailures: number;
  /** Authentication requests of any method per connection before disconnecting. */
  readonly maxAuthRequests: number;
  /** Pause before answering a failed attempt (OpenSSH and dropbear both delay failures). */
  readonly failDelayMs: number;
  /** Close after this long without traffic. */
  readonly idleTimeoutMs: number;
  /** Close after this long whatever happens. */
  readonly sessionTimeoutMs: number;
  /** Bytes kept per shell input line. */
  readonly maxLineBytes: number;
}

const DEFAULT_OPTIONS: SshOptions = {
  maxAuthFailures: 6, // OpenSSH MaxAuthTries default
  maxAuthRequests: 20,
  failDelayMs: 100,
  idleTimeoutMs: 30_000,
  sessionTimeoutMs: 300_000,
  maxLineBytes: 1024,
};

const DEFAULT_IDENT = 'dropbear_2019.78';
const AUTH_METHODS: ('password' | 'keyboard-interactive')[] = ['password', 'keyboard-interactive'];
const DEFAULT_MOTD =
  '\r\n\r\nBusyBox v1.19.4 (2014-03-12 10:34:27 CST) built-in shell (ash)\r\n' +
  "Enter 'help' for a list of built-in commands.\r\n\r\n";
const MAX_SHOWN_COMMAND = 64;

/** Host keys by profile id, generated on first use and kept for the life of the process. */
const hostKeys = new Map<string, ParsedKey>();

/** The ed25519 host key of a device profile (generated once per process). */
export function hostKeyFor(profileId: string): ParsedKey {
  let key = hostKeys.get(profileId);
  if (key === undefined) {
    const parsed = utils.parseKey(utils.generateKeyPairSync('ed25519').private);
    if (parsed instanceof Error) throw parsed;
    key = parsed;
    hostKeys.set(profileId, key);
  }
  return key;
}

/**
 * The software-version part of an identification string: ssh2 prepends "SSH-2.0-" itself.
 * RFC 4253 §4.2 allows printable US-ASCII only and 255 bytes in all; anything else falls back.
 */
export function identSoftware(serverIdent: string | undefined): string {
  if (serverIdent === undefined) return DEFAULT_IDENT;
  const software = serverIdent.replace(/^SSH-\d+\.\d+-/, '');
  return /^[\x21-\x7e][\x20-\x7e]{0,200}$/.test(software) ? software : DEFAULT_IDENT;
}

function bannerInt(value: string | undefined, fallback: number, max: number): number {
  if (value === undefined || !/^\d{1,9}$/.test(value)) return fallback;
  const n = Number(value);
  return n <= max ? n : fallback;
}

function printable(text: string): string {
  const clean = text.replace(/[^\x20-\x7e]/g, '?');
  return clean.length > MAX_SHOWN_COMMAND ? `${clean.slice(0, MAX_SHOWN_COMMAND)}...` : clean;
}

/** One SSH connection: authentication policy and the do-nothing shell. */
class SshSession {
  private failures = 0;
  private requests = 0;
  private closed = false;

  constructor(
    private readonly socket: Socket,
    private readonly ctx: ServiceContext,
    private readonly opts: SshOptions,
    private readonly banner: Readonly<Record<string, string>>,
  ) {}

  start(): void {
    const { socket, opts, banner } = this;
    socket.on('error', () => socket.destroy());
    // A locked-out device drops the connection at once, as sshd with a per-source penalty does.
    if (refuseIfLocked(this.ctx)) {
      socket.destroy();
      return;
    }
    socket.on('close', () => {
      this.closed = true;
      clearTimeout(sessionTimer);
    });
    socket.setTimeout(opts.idleTimeoutMs, () => socket.destroy());
    const sessionTimer = setTimeout(() => socket.destroy(), opts.sessionTimeoutMs);
    sessionTimer.unref();

    // A Server per connection (sharing the profile's parsed key, ~10 µs to build): ssh2's
    // 'connection' event carries no link back to the injected socket, so a Server shared by
    // several devices could not tell which device's credentials a client is trying.
    const preAuth = banner['preAuth'];
    const server = new Server(
      {
        hostKeys: [{ key: hostKeyFor(this.ctx.device.profile.id) }],
        ident: identSoftware(banner['serverIdent']),
        ...(preAuth !== undefined ? { banner: preAuth } : {}),
      },
      (client) => this.onClient(client),
    );
    server.on('error', () => socket.destroy());
    server.injectSocket(socket);
  }

  private onClient(client: Connection): void {
    client.on('error', () => this.socket.destroy());
    client.on('authentication', (auth) => this.onAuth(client, auth));
    // No 'tcpip', 'openssh.streamlocal' or 'request' listeners: ssh2 then refuses forwarding.
    client.on('session', (accept) => this.onSession(accept()));
  }

  private onAuth(client: Connection, auth: AuthContext): void {
    if (++this.requests > this.opts.maxAuthRequests) {
      client.end();
      return;
    }
    switch (auth.method) {
      case 'password':
        this.decide(client, auth, auth.username, auth.password);
        return;
      case 'keyboard-interactive': {
        const prompt = this.banner['passwordPrompt'] ?? 'Password: ';
        auth.prompt([{ prompt, echo: false }], (answers: unknown) => {
          // ssh2 calls back with an Error when the client abandons the exchange.
          if (!Array.isArray(answers)) return;
          const answer: unknown = answers[0];
          this.decide(client, auth, auth.username, typeof answer === 'string' ? answer : '');
        });
        return;
      }
      default:
        // "none" (RFC 4252 §5.2) and key methods: refuse, listing what we take.
        auth.reject(AUTH_METHODS);
    }
  }

  private decide(client: Connection, auth: AuthContext, username: string, password: string): void {
    let ok = false;
    try {
      ok = this.ctx.checkLogin(username, password);
    } catch {
      ok = false;
    }
    if (ok) {
      auth.accept();
      return;
    }
    // The failure that locks the device ends the connection too.
    const exhausted = ++this.failures >= this.opts.maxAuthFailures || isLockedOut(this.ctx);
    setTimeout(() => {
      if (this.closed) return;
      try {
        // Like OpenSSH after MaxAuthTries: no further USERAUTH_FAILURE, just disconnect.
        if (exhausted) client.end();
        else auth.reject(AUTH_METHODS);
      } catch {
        this.socket.destroy();
      }
    }, this.opts.failDelayMs).unref();
  }

  private onSession(session: Session | undefined): void {
    if (session === undefined) return;
    session.on('error', () => undefined);
    let pty = false;
    session.on('pty', (accept) => {
      pty = true;
      accept?.();
    });
    session.on('window-change', (accept) => accept?.());
    session.on('env', (_accept, reject) => reject?.()); // OpenSSH refuses env without AcceptEnv
    session.on('shell', (accept) => {
      const channel = accept();
      if (channel !== undefined) this.shell(channel, pty);
    });
    session.on('exec', (_accept, reject) => reject?.());
    session.on('subsystem', (_accept, reject) => reject?.());
    session.on('sftp', (_accept, reject) => reject?.());
  }

  /** The shell: MOTD, prompt, `sh: x: not found` for everything but exit/logout. */
  private shell(channel: ServerChannel, pty: boolean): void {
    const nl = pty ? '\r\n' : '\n'; // a pty expects CR LF; a pipe gets plain LF
    const prompt = this.banner['shellPrompt'] ?? '# ';
    const motd = this.banner['motd'] ?? DEFAULT_MOTD;
    const line = Buffer.alloc(this.opts.maxLineBytes);
    let length = 0;
    let afterCr = false;
    let done = false;

    const write = (data: string | Buffer): void => {
      if (!done && channel.writable && data.length > 0) channel.write(data);
    };
    const finish = (): void => {
      done = true;
      channel.exit(0);
      channel.end();
    };
    const run = (command: string): void => {
      if (command === '') {
        write(prompt);
      } else if (command === 'exit' || command === 'logout') {
        finish();
      } else {
        write(`sh: ${printable(command)}: not found${nl}${prompt}`);
      }
    };

    channel.on('error', () => undefined);
    write((pty ? motd : motd.replace(/\r\n/g, '\n')) + prompt);
    channel.on('data', (chunk: Buffer) => {
      let echo: number[] = []; // a pty echoes what is typed
      for (const b of chunk) {
        if (done) return;
        if (afterCr) {
          afterCr = false;
          if (b === 0x0a || b === 0x00) continue;
        }
        if (b === 0x0d || b === 0x0a) {
          afterCr = b === 0x0d;
          if (pty) echo.push(0x0d, 0x0a);
          write(Buffer.from(echo));
          echo = [];
          const text = line.subarray(0, length).toString('utf8').trim();
          length = 0;
          run(text.split(/\s+/)[0] ?? '');
        } else if (b === 0x08 || b === 0x7f) {
          if (length > 0) {
            length--;
            if (pty) echo.push(0x08, 0x20, 0x08);
          }
        } else if (b >= 0x20 && length < line.length) {
          line[length++] = b;
          if (pty) echo.push(b);
        }
      }
      write(Buffer.from(echo));
    });
  }
}

/**
 * Build an SSH handler. Options set the defaults; a profile's banner keys `failDelayMs` and
 * `idleTimeoutMs` override them per service.
 */
export function createSshHandler(options: Partial<SshOptions> = {}): ConnectionHandler {
  const base: SshOptions = { ...DEFAULT_OPTIONS, ...options };
  return (socket, ctx) => {
    const banner = ctx.service.banner ?? {};
    const opts: SshOptions = {
      ...base,
      failDelayMs: bannerInt(banner['failDelayMs'], base.failDelayMs, 60_000),
      idleTimeoutMs: bannerInt(banner['idleTimeoutMs'], base.idleTimeoutMs, 600_000) || base.idleTimeoutMs,
    };
    try {
      new SshSession(socket, ctx, opts, banner).start();
    } catch {
      socket.destroy(); // e.g. a host key that failed to generate: drop this client, not the lab
    }
  };
}

/** SSH service with password and keyboard-interactive login and default timings (auth 'ssh'). */
export const sshHandler: ConnectionHandler = createSshHandler();
