/**
 * The telnet access module against hand-made hostile devices on loopback (127.71.2.x): prompt
 * characters in the middle of replies, a banner that already shows a shell prompt, failure-phrase
 * variants, a menu, "Press Enter", garbage, NUL bytes, an endless banner, silence, echoed
 * passwords, and three kinds of lock-out. Every server and socket is closed in afterEach.
 */
import * as net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createRng } from '../../core/rng.js';
import type { ConnectionLimits } from '../../scope/connection.js';
import type { Credential, ModuleVerdict } from '../module.js';
import { createTelnetAccess, telnetAccess } from './index.js';
import { loopbackContext, telnetTarget } from './test-context.js';

const IAC = 255;
const host = `127.71.2.${10 + Math.floor(Math.random() * 200)}`;
const limits: Partial<ConnectionLimits> = { connectTimeoutMs: 3000, firstByteTimeoutMs: 1500, idleTimeoutMs: 1000, deadlineMs: 15_000, maxBytes: 64 * 1024 };

const servers: net.Server[] = [];
const sockets = new Set<net.Socket>();
const timers: NodeJS.Timeout[] = [];

afterEach(async () => {
  for (const t of timers.splice(0)) clearInterval(t);
  for (const s of sockets) s.destroy();
  sockets.clear();
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

/** A device's side of one connection: send text, read the next typed line (IAC sequences skipped). */
class Io {
  private buf: number[] = [];
  private lines: string[] = [];
  private waiter: ((l: string | null) => void) | undefined;
  private skip = 0;
  private sb = false;
  ended = false;
  /** Every line typed, for assertions. */
  readonly typed: string[] = [];
  constructor(readonly socket: net.Socket) {
    socket.on('data', (d: Buffer) => this.onData(d));
    socket.on('close', () => {
      this.ended = true;
      this.waiter?.(null);
      this.waiter = undefined;
    });
    socket.on('error', () => socket.destroy());
  }
  private onData(d: Buffer): void {
    for (let i = 0; i < d.length; i++) {
      const b = d[i]!;
      if (this.skip > 0) {
        this.skip--;
        if (this.skip === 0 && b === 250) this.sb = true;
        continue;
      }
      if (this.sb) {
        if (b === 240) this.sb = false;
        continue;
      }
      if (b === IAC) {
        // IAC verb option (3 bytes) or IAC SB ... IAC SE; IAC cmd otherwise.
        const next = d[i + 1];
        this.skip = next !== undefined && next >= 251 ? 2 : 1;
        continue;
      }
      if (b === 0x0d || b === 0x0a) {
        if (b === 0x0a && d[i - 1] === 0x0d) continue;
        const line = Buffer.from(this.buf).toString('latin1');
        this.buf = [];
        this.typed.push(line);
        if (this.waiter) {
          const w = this.waiter;
          this.waiter = undefined;
          w(line);
        } else this.lines.push(line);
      } else if (b !== 0) this.buf.push(b);
    }
  }
  send(text: string | Buffer): void {
    if (!this.socket.destroyed) this.socket.write(typeof text === 'string' ? Buffer.from(text, 'latin1') : text);
  }
  line(): Promise<string | null> {
    const l = this.lines.shift();
    if (l !== undefined) return Promise.resolve(l);
    if (this.ended) return Promise.resolve(null);
    return new Promise((r) => (this.waiter = r));
  }
  close(): void {
    this.socket.end();
  }
}

/** Listen on host:0; each connection runs `script`. Returns the port and the connection count. */
async function device(script: (io: Io, n: number) => Promise<void>): Promise<{ port: number; server: net.Server; connections: () => number }> {
  let n = 0;
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    const io = new Io(socket);
    script(io, ++n).catch(() => socket.destroy());
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, host, r));
  const a = server.address() as net.AddressInfo;
  return { port: a.port, server, connections: () => n };
}

/** `size` entries e1..eN; the pair at `at` (1-based) when given. */
function list(size: number, at?: number, pair = { username: 'root', password: 'admin' }): Credential[] {
  return Array.from({ length: size }, (_, i) => (i + 1 === at ? { id: `e${i + 1}`, ...pair } : { id: `e${i + 1}`, username: i % 2 ? 'admin' : 'root', password: `1234#${i}` }));
}

async function run(port: number, creds: readonly Credential[], module = telnetAccess): Promise<ModuleVerdict> {
  return module.run(telnetTarget(host, port), creds, loopbackContext(host, port, limits));
}

const willEcho = Buffer.from([IAC, 251, 1, IAC, 251, 3]);

/** A busybox-like login: `tries` per connection, `fail` printed after a wrong pair, `ok` after the right one. */
function loginScript(opts: { banner?: string; fail?: string; ok?: string; tries?: number; pair?: [string, string]; loginPrompt?: string }) {
  const pair = opts.pair ?? ['root', 'admin'];
  return async (io: Io): Promise<void> => {
    io.send(willEcho);
    io.send(opts.banner ?? '');
    for (let t = 0; t < (opts.tries ?? 3); t++) {
      io.send(opts.loginPrompt ?? 'login: ');
      const user = await io.line();
      if (user === null) return;
      io.send('Password: ');
      const pass = await io.line();
      if (pass === null) return;
      if (user === pair[0] && pass === pair[1]) {
        io.send(opts.ok ?? '\r\n\r\nBusyBox v1.19.4 built-in shell (ash)\r\n\r\n~ # ');
        const cmd = await io.line();
        if (cmd === 'exit') io.close();
        return;
      }
      io.send(opts.fail ?? '\r\nLogin incorrect\r\n');
    }
    io.close();
  };
}

describe('telnet access against hostile devices', () => {
  it('ignores prompt characters in the middle of a reply, even when a reply arrives in pieces', async () => {
    const d = await device(async (io) => {
      io.send(willEcho);
      for (let t = 0; t < 3; t++) {
        io.send('login: ');
        const user = await io.line();
        io.send('Password: ');
        const pass = await io.line();
        if (user === null || pass === null) return;
        if (user === 'root' && pass === 'admin') {
          io.send('\r\nWelcome\r\n/ # ');
          if ((await io.line()) === 'exit') io.close();
          return;
        }
        // No failure phrase: a "#" mid reply, then a pause, then the login prompt again.
        io.send('\r\nroot@cam:~# ');
        await new Promise((r) => setTimeout(r, 150));
        io.send('\r\n$ > % # not a shell\r\n\r\n');
      }
      io.close();
    });
    const v = await run(d.port, list(8, 5), createTelnetAccess({ settleMs: 2000 }));
    expect(v.verdict, JSON.stringify(v)).toBe('weak-credential');
    expect(v.entry).toBe('e5');
    expect(v.attempts.filter((a) => a.outcome === 'success').map((a) => a.entry)).toEqual(['e5']);
  }, 60_000);

  it('does not take a shell prompt the banner already showed for a success', async () => {
    const d = await device(async (io) => {
      io.send('BusyBox v1.31\r\n/ # \r\nlogin: ');
      await io.line();
      io.send('Password: ');
      await io.line();
      io.send('\r\n/ # '); // the banner's own prompt, for any pair
      await io.line();
    });
    const v = await run(d.port, list(3));
    expect(v.verdict).not.toBe('weak-credential');
    expect(v.attempts.some((a) => a.outcome === 'success')).toBe(false);
    expect(v.attempts[0]?.detail).toMatch(/already in the banner/);
  }, 30_000);

  it('reads one prompt-like banner line as banner when the login prompt follows', async () => {
    const d = await device(async (io) => {
      io.send('BusyBox\r\n# ');
      await new Promise((r) => setTimeout(r, 100));
      io.send('\r\nlogin: ');
      await io.line();
      io.send('Password: ');
      await io.line();
      io.send('\r\nLogin incorrect\r\n');
      io.close();
    });
    const v = await run(d.port, list(2), createTelnetAccess({ settleMs: 2000 }));
    expect(v.verdict, JSON.stringify(v)).toBe('no-weak-credential');
  }, 30_000);

  it.each([
    ['Login incorrect', '\r\nLogin incorrect\r\n'],
    ['% Login invalid', '\r\n% Login invalid\r\n\r\n'],
    ['Authentication failed #', '\r\nAuthentication failed #\r\n'],
    ['Access denied >', '\r\nAccess denied >'],
    ['Wrong password!', '\r\nWrong password!\r\n'],
    ['Invalid username or password', '\r\nError: Invalid username or password\r\n'],
    ['login re-prompt only', '\r\n'],
  ])('reads "%s" as a failure, and finds the pair at #4', async (_name, fail) => {
    const d = await device(loginScript({ fail }));
    const v = await run(d.port, list(6, 4));
    expect(v.verdict, JSON.stringify(v)).toBe('weak-credential');
    expect(v.entry).toBe('e4');
    expect(v.attempts.map((a) => a.outcome)).toEqual(['failure', 'failure', 'failure', 'success']);
  }, 30_000);

  it('finds nothing on a strong device, with a failure phrase ending in a prompt character', async () => {
    const d = await device(loginScript({ fail: '\r\nBad password #\r\n', pair: ['root', 'S7r0ng!pw'] }));
    const v = await run(d.port, list(6));
    expect(v.verdict, JSON.stringify(v)).toBe('no-weak-credential');
    expect(v.attempts).toHaveLength(6);
    expect(d.connections()).toBe(2); // 3 tries per connection
  }, 30_000);

  it('picks the login entry of a menu', async () => {
    const d = await device(async (io) => {
      io.send('\r\nMain Menu\r\n  1. Status\r\n  2. Login\r\n  3. Exit\r\nEnter your choice: ');
      if ((await io.line()) !== '2') return io.close();
      await loginScript({ loginPrompt: 'Username: ' })(io);
    });
    const v = await run(d.port, list(4, 2));
    expect(v.verdict, JSON.stringify(v)).toBe('weak-credential');
    expect(v.entry).toBe('e2');
  }, 30_000);

  it('presses Enter on a "Press Enter to continue" screen', async () => {
    const d = await device(async (io) => {
      io.send('Welcome to the DVR\r\nPress Enter to continue...');
      if ((await io.line()) !== '') return io.close();
      await loginScript({})(io);
    });
    const v = await run(d.port, list(4, 4));
    expect(v.verdict, JSON.stringify(v)).toBe('weak-credential');
    expect(v.entry).toBe('e4');
  }, 30_000);

  it('handles a password-only console', async () => {
    const d = await device(async (io) => {
      for (let t = 0; t < 3; t++) {
        io.send('\r\nPassword: ');
        const pass = await io.line();
        if (pass === null) return;
        if (pass === 'admin') {
          io.send('\r\nRouter> ');
          await io.line();
          return io.close();
        }
        io.send('\r\n% Bad passwords\r\n');
      }
      io.close();
    });
    const v = await run(d.port, list(5, 3));
    expect(v.verdict, JSON.stringify(v)).toBe('weak-credential');
    expect(v.entry).toBe('e3');
  }, 30_000);

  it('never types one entry\'s password at another user\'s password re-prompt', async () => {
    const d = await device(async (io) => {
      io.send('login: ');
      const user = await io.line();
      for (let t = 0; t < 3; t++) {
        io.send('Password: ');
        const pass = await io.line();
        if (pass === null) return;
        if (user === 'alice' && pass === 's3cret') {
          io.send('\r\nalice@nas:~$ ');
          await io.line();
          return io.close();
        }
        io.send('\r\nSorry, try again.\r\n'); // and asks the password again, same user
      }
      io.close();
    });
    const creds: Credential[] = [
      { id: 'e1', username: 'alice', password: 'wrong' },
      { id: 'e2', username: 'bob', password: 's3cret' }, // alice's password, bob's entry
      { id: 'e3', username: 'alice', password: 's3cret' },
    ];
    const v = await run(d.port, creds);
    expect(v.verdict, JSON.stringify(v)).toBe('weak-credential');
    expect(v.entry).toBe('e3');
    expect(v.attempts.map((a) => [a.entry, a.outcome])).toEqual([
      ['e1', 'failure'],
      ['e2', 'failure'],
      ['e3', 'success'],
    ]);
  }, 30_000);

  it('shares the list between parallel sessions when the caller allows them', async () => {
    const d = await device(loginScript({}));
    // Count the module's open connections on its side: it opens and closes every one itself.
    let open = 0;
    let most = 0;
    const base = loopbackContext(host, d.port, limits);
    const ctx = {
      ...base,
      sessions: 3,
      open: async () => {
        const r = await base.open();
        if (r.status !== 'success') return r;
        most = Math.max(most, ++open);
        let closed = false;
        const close = r.connection.close.bind(r.connection);
        return { ...r, connection: { ...r.connection, read: r.connection.read, write: r.connection.write, close: () => { if (!closed) { closed = true; open--; } close(); } } };
      },
    };
    const creds = list(12, 10);
    const v = await telnetAccess.run(telnetTarget(host, d.port), creds, ctx);
    expect(v.verdict, JSON.stringify(v)).toBe('weak-credential');
    expect(v.entry).toBe('e10');
    // Every entry before the right one tried exactly once, none twice.
    const tried = v.attempts.map((a) => a.entry);
    expect(new Set(tried).size).toBe(tried.length);
    for (let n = 1; n < 10; n++) expect(tried).toContain(`e${n}`);
    expect(most).toBeGreaterThan(1);
    expect(most).toBeLessThanOrEqual(3);
  }, 30_000);

  it('survives NUL bytes in prompts and replies', async () => {
    const d = await device(loginScript({ banner: '\0\r\0Wel\0come\r\0', loginPrompt: 'lo\0gin\0: ', fail: '\r\0Login\0 incorrect\r\0' }));
    const v = await run(d.port, list(5, 5));
    expect(v.verdict, JSON.stringify(v)).toBe('weak-credential');
    expect(v.entry).toBe('e5');
  }, 30_000);

  it('does not read an echoed password ending in $ as a prompt', async () => {
    const d = await device(async (io) => {
      io.send('login: ');
      const user = await io.line();
      io.send(`${user ?? ''}\r\nPassword: `);
      const pass = await io.line();
      io.send(`${pass ?? ''}\r\n`); // echoes the password, then says nothing
      await io.line();
    });
    const v = await run(d.port, [{ id: 'p1', username: 'root', password: 'pa$$' }]);
    expect(v.verdict).toBe('error');
    expect(v.attempts.some((a) => a.outcome === 'success')).toBe(false);
  }, 30_000);

  it('ends cleanly on garbage', async () => {
    const rng = createRng('garbage');
    const d = await device(async (io) => {
      io.send(Buffer.from(Array.from({ length: 2048 }, () => rng.int(256))));
      await io.line();
    });
    const v = await run(d.port, list(3));
    expect(v.verdict).toBe('error');
    expect(v.attempts).toHaveLength(0);
  }, 30_000);

  it('ends cleanly on an endless banner (byte cap) and on silence', async () => {
    const endless = await device(async (io) => {
      const t = setInterval(() => io.send('Please wait while the system starts ... '.repeat(100)), 5);
      timers.push(t);
      await io.line();
    });
    const v1 = await run(endless.port, list(3));
    expect(v1.verdict).toBe('error');
    expect(v1.reason).toMatch(/byte-cap|deadline/);
    const silent = await device(async (io) => void (await io.line()));
    const v2 = await run(silent.port, list(3));
    expect(v2.verdict).toBe('error');
    expect(v2.reason).toMatch(/silence/);
  }, 60_000);

  it('reports a device that hangs up on every connection after failures as locked-out', async () => {
    let failures = 0;
    const d = await device(async (io) => {
      if (failures >= 2) return io.close(); // no prompt any more
      io.send('login: ');
      await io.line();
      io.send('Password: ');
      await io.line();
      failures++;
      io.send('\r\nLogin incorrect\r\n');
      io.close();
    });
    const v = await run(d.port, list(8, 8));
    expect(v.verdict, JSON.stringify(v)).toBe('locked-out');
    expect(v.attempts).toHaveLength(2);
  }, 30_000);

  it('reports refused reconnections after failures as locked-out', async () => {
    const d = await device(async (io) => {
      await loginScript({ tries: 2 })(io);
      d.server.close(); // the port closes: the next connect is refused
    });
    const v = await run(d.port, list(8, 8));
    expect(v.verdict, JSON.stringify(v)).toBe('locked-out');
    expect(v.reason).toMatch(/connection-refused/);
  }, 30_000);

  it('reports a device that is locked before the first try as locked-out', async () => {
    const d = await device(async (io) => {
      io.send('\r\nToo many failed login attempts; try again in 300 seconds.\r\n');
      io.close();
    });
    const v = await run(d.port, list(4, 4));
    expect(v.verdict, JSON.stringify(v)).toBe('locked-out');
    expect(v.attempts).toHaveLength(0);
  }, 30_000);

  it('reports a changed reply after failures as locked-out', async () => {
    const d = await device(async (io) => {
      for (let t = 0; ; t++) {
        io.send('login: ');
        if ((await io.line()) === null) return;
        io.send('Password: ');
        if ((await io.line()) === null) return;
        io.send(t < 2 ? '\r\nLogin incorrect\r\n' : '\r\nService unavailable.\r\n');
        if (t >= 2) return void (await io.line());
      }
    });
    const v = await run(d.port, list(8, 8));
    expect(v.verdict, JSON.stringify(v)).toBe('locked-out');
    expect(v.attempts.map((a) => a.outcome)).toEqual(['failure', 'failure', 'locked-out']);
  }, 30_000);

  it('stops when the run is aborted, and waits pauseMs between tries', async () => {
    const ios: Io[] = [];
    const d = await device(async (io) => {
      ios.push(io);
      await loginScript({})(io);
    });
    const controller = new AbortController();
    controller.abort();
    const ctx = { ...loopbackContext(host, d.port, limits), signal: controller.signal };
    const v = await telnetAccess.run(telnetTarget(host, d.port), list(4, 4), ctx);
    expect(v.verdict).toBe('error');
    expect(v.reason).toBe('aborted');
    expect(d.connections()).toBe(0);
    // A pause longer than the whole test would take cannot be skipped: abort it from outside.
    const slow = new AbortController();
    const paused = telnetAccess.run(telnetTarget(host, d.port), list(4, 4), { ...loopbackContext(host, d.port, limits, 600_000), signal: slow.signal });
    // Once the device has read the first password, the module judges it and then pauses.
    const typed = () => ios.reduce((n, io) => n + io.typed.length, 0);
    for (let i = 0; i < 400 && typed() < 2; i++) await new Promise((r) => setTimeout(r, 25));
    slow.abort();
    const v2 = await paused;
    expect(v2.reason).toBe('aborted');
    expect(v2.attempts).toHaveLength(1); // one try, then the pause (cut by the abort), no second
    expect(typed()).toBe(2);
  }, 30_000);

  it('logs out with exit and types nothing else after a success', async () => {
    const ios: Io[] = [];
    const d = await device(async (io) => {
      ios.push(io);
      await loginScript({})(io);
    });
    const v = await run(d.port, list(2, 2));
    expect(v.verdict).toBe('weak-credential');
    // The device ends the session when it reads exit (bounded wait for its side to see it).
    for (let i = 0; i < 200 && !ios.every((io) => io.ended); i++) await new Promise((r) => setTimeout(r, 25));
    expect(ios.flatMap((io) => io.typed)).toEqual(['root', '1234#0', 'root', 'admin', 'exit']);
  }, 30_000);
});
