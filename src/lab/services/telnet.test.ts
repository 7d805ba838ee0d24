import * as net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { ServiceContext } from '../types.js';
import { ADMIN, closeServed, fakeContext, serve, track } from './test-support.js';
import { createTelnetHandler, telnetHandler } from './telnet.js';
import { createRng } from '../../core/rng.js';

const IAC = 255;
const DONT = 254;
const DO = 253;
const WONT = 252;
const WILL = 251;
const SB = 250;
const SE = 240;
const ECHO = 1;
const SGA = 3;
const TTYPE = 24;
const NAWS = 31;

/** The telnet service of a fake device (see test-support). */
function fakeTelnet(banner: Record<string, string> = {}, credentials = [ADMIN]) {
  return fakeContext({ port: 23, protocol: 'telnet', auth: 'telnet-login', banner }, credentials, { id: 'test-router' });
}

afterEach(closeServed);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A small telnet client written independently of the server's decoder. It refuses every option
 * (WONT/DONT) unless told to agree to server echo, strips commands from the text it collects and
 * records every negotiation it receives.
 */
class TestClient {
  readonly socket: net.Socket;
  readonly raw: number[] = [];
  readonly negotiations: [number, number][] = [];
  readonly subnegotiations: number[][] = [];
  text = '';
  private cursor = 0;
  private state: 'data' | 'iac' | 'verb' | 'sb' | 'sb-iac' = 'data';
  private verb = 0;
  private sb: number[] = [];
  private listeners: (() => void)[] = [];
  ended = false;
  readonly closed: Promise<void>;

  constructor(
    port: number,
    private readonly agreeEcho = false,
    /** Answer no negotiation at all, as a raw socket (or a lazy scanner) does. */
    private readonly silent = false,
  ) {
    this.socket = net.connect(port, '127.0.0.1');
    this.socket.setNoDelay(true);
    track(this.socket);
    this.socket.on('data', (chunk: Buffer) => this.onData(chunk));
    this.socket.on('error', () => undefined);
    this.closed = new Promise((resolve) =>
      this.socket.on('close', () => {
        this.ended = true;
        this.notify();
        resolve();
      }),
    );
  }

  private onData(chunk: Buffer): void {
    for (const b of chunk) {
      this.raw.push(b);
      switch (this.state) {
        case 'data':
          if (b === IAC) this.state = 'iac';
          else this.text += String.fromCharCode(b);
          break;
        case 'iac':
          if (b === IAC) {
            this.text += '\xff';
            this.state = 'data';
          } else if (b >= WILL && b <= DONT) {
            this.verb = b;
            this.state = 'verb';
          } else if (b === SB) {
            this.sb = [];
            this.state = 'sb';
          } else this.state = 'data';
          break;
        case 'verb':
          this.negotiations.push([this.verb, b]);
          this.answer(this.verb, b);
          this.state = 'data';
          break;
        case 'sb':
          if (b === IAC) this.state = 'sb-iac';
          else this.sb.push(b);
          break;
        case 'sb-iac':
          if (b === SE) {
            this.subnegotiations.push(this.sb);
            this.state = 'data';
          } else {
            this.sb.push(b);
            this.state = 'sb';
          }
          break;
      }
    }
    this.notify();
  }

  private answer(verb: number, option: number): void {
    if (this.silent) return;
    if (verb === DO) this.send([IAC, WONT, option]);
    else if (verb === WILL) this.send([IAC, this.agreeEcho && option === ECHO ? DO : DONT, option]);
  }

  private notify(): void {
    for (const l of this.listeners.slice()) l();
  }

  send(data: string | number[] | Buffer): void {
    if (this.socket.destroyed) return;
    this.socket.write(typeof data === 'string' ? Buffer.from(data, 'latin1') : Buffer.from(data));
  }

  /** Wait until the text after the cursor contains `needle`; return it and move past it. */
  expect(needle: string, timeoutMs = 5_000): Promise<string> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const at = this.text.indexOf(needle, this.cursor);
        if (at >= 0) {
          const seen = this.text.slice(this.cursor, at + needle.length);
          this.cursor = at + needle.length;
          resolve(seen);
          return true;
        }
        if (this.ended) {
          reject(new Error(`closed before ${JSON.stringify(needle)}; got ${JSON.stringify(this.text.slice(this.cursor))}`));
          return true;
        }
        return false;
      };
      if (check()) return;
      const timer = setTimeout(() => {
        this.listeners = this.listeners.filter((l) => l !== listener);
        reject(new Error(`timeout waiting for ${JSON.stringify(needle)}; got ${JSON.stringify(this.text.slice(this.cursor))}`));
      }, timeoutMs);
      const listener = (): void => {
        if (check()) {
          clearTimeout(timer);
          this.listeners = this.listeners.filter((l) => l !== listener);
        }
      };
      this.listeners.push(listener);
    });
  }

  /** Resolve when the server closes; fail after the timeout. */
  async expectClosed(timeoutMs = 5_000): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('connection still open')), timeoutMs);
    });
    try {
      await Promise.race([this.closed, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }
}


/** Random bytes biased towards telnet command bytes, so every decoder state is reached. */
function telnetNoise(rand: () => number, length: number): Buffer {
  const special = [IAC, IAC, IAC, SB, SE, WILL, WONT, DO, DONT, 0, 13, 10, 8, 127, 241, 244, 246, 247, 248];
  const out = Buffer.alloc(length);
  for (let i = 0; i < length; i++) {
    out[i] = rand() < 0.3 ? (special[Math.floor(rand() * special.length)] ?? 0) : Math.floor(rand() * 256);
  }
  return out;
}

describe('telnetHandler', () => {
  it('opens with the busybox telnetd negotiation, then banner and login prompt', async () => {
    const { ctx } = fakeTelnet({ preLogin: '\r\nBusyBox v1.19.4 (2014-03-12) built-in shell\r\n' });
    const client = new TestClient(await serve(telnetHandler, ctx));
    const seen = await client.expect('login: ');
    expect(client.raw.slice(0, 12)).toEqual([IAC, DO, ECHO, IAC, DO, NAWS, IAC, WILL, ECHO, IAC, WILL, SGA]);
    expect(seen).toBe('\r\nBusyBox v1.19.4 (2014-03-12) built-in shell\r\nlogin: ');
  });

  it('logs in with the right credentials, answers commands with "not found" and exits', async () => {
    const { ctx, attempts } = fakeTelnet({ shellPrompt: '$ ', motd: 'Welcome\r\n' });
    const client = new TestClient(await serve(telnetHandler, ctx));
    await client.expect('login: ');
    client.send('admin\r\n');
    await client.expect('Password: ');
    client.send('admin\r\n');
    await client.expect('Welcome\r\n$ ');
    client.send('cat /proc/cpuinfo\r\n');
    await client.expect('sh: cat: not found\r\n$ ');
    client.send('\r\n');
    await client.expect('$ ');
    client.send('exit\r\n');
    await client.expectClosed();
    expect(attempts).toEqual([['admin', 'admin']]);
  });

  it('says "Login incorrect", prompts again and closes after three failures', async () => {
    const { ctx, attempts } = fakeTelnet();
    const client = new TestClient(await serve(telnetHandler, ctx));
    for (let i = 0; i < 3; i++) {
      await client.expect('login: ');
      client.send(`root\r\n`);
      await client.expect('Password: ');
      client.send(`wrong${i}\r\n`);
      await client.expect('Login incorrect\r\n');
    }
    await client.expectClosed();
    expect(attempts).toEqual([
      ['root', 'wrong0'],
      ['root', 'wrong1'],
      ['root', 'wrong2'],
    ]);
    expect(client.text.endsWith('Login incorrect\r\n')).toBe(true);
  });

  it('succeeds after a failure on the same connection', async () => {
    const { ctx } = fakeTelnet();
    const client = new TestClient(await serve(telnetHandler, ctx));
    await client.expect('login: ');
    client.send('admin\r\nnope\r\n'); // typed ahead: both lines are queued
    await client.expect('Login incorrect\r\nlogin: ');
    client.send('admin\r\n');
    await client.expect('Password: ');
    client.send('admin\r\n');
    await client.expect('# ');
  });

  it('waits failDelayMs (from the banner) before "Login incorrect"', async () => {
    const { ctx } = fakeTelnet({ failDelayMs: '300' });
    const client = new TestClient(await serve(telnetHandler, ctx));
    await client.expect('login: ');
    client.send('admin\r\n');
    await client.expect('Password: ');
    const started = Date.now();
    client.send('bad\r\n');
    await client.expect('Login incorrect');
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
  });

  it.each([
    ['CR NUL', '\r\0'],
    ['bare LF', '\n'],
    ['bare CR', '\r'],
  ])('accepts %s line endings', async (_name, eol) => {
    const { ctx, attempts } = fakeTelnet();
    const client = new TestClient(await serve(telnetHandler, ctx));
    await client.expect('login: ');
    client.send(`admin${eol}`);
    await client.expect('Password: ');
    client.send(`admin${eol}`);
    await client.expect('# ');
    expect(attempts).toEqual([['admin', 'admin']]);
  });

  it('parses IAC sequences split across TCP segments', async () => {
    const { ctx, attempts } = fakeTelnet({ negotiation: 'ttype' });
    const client = new TestClient(await serve(telnetHandler, ctx));
    await client.expect('login: ');
    expect(client.negotiations).toContainEqual([DO, TTYPE]);
    const pieces: number[][] = [
      [IAC],
      [WILL],
      [TTYPE], // answers DO TTYPE; server should now ask SB TTYPE SEND
      [IAC, SB],
      [NAWS, 0],
      [80, 0, 24, IAC],
      [SE, 0x61],
      [0x64, IAC],
      [241], // IAC NOP inside the username
      [0x6d, 0x69, 0x6e, 13],
      [10],
    ];
    for (const piece of pieces) {
      client.send(piece);
      await sleep(5);
    }
    await client.expect('Password: ');
    client.send([IAC, SB, TTYPE, 0, ...Buffer.from('VT100'), IAC]);
    await sleep(5);
    client.send([SE, ...Buffer.from('admin\r\n')]);
    await client.expect('# ');
    expect(attempts).toEqual([['admin', 'admin']]);
    expect(client.subnegotiations).toContainEqual([TTYPE, 1]); // RFC 1091 SEND
  });

  it('reads IAC IAC as a data byte 255', async () => {
    const { ctx, attempts } = fakeTelnet({}, [{ username: 'admin', password: 'pa\u00ffss' }]);
    const client = new TestClient(await serve(telnetHandler, ctx));
    await client.expect('login: ');
    client.send('admin\r\n');
    await client.expect('Password: ');
    client.send([0x70, 0x61, IAC]);
    await sleep(5);
    client.send([IAC, 0x73, 0x73, 13, 10]);
    await client.expect('# ');
    expect(attempts).toEqual([['admin', 'pa\u00ffss']]);
  });

  it('echoes the user name but not the password when the client accepts server echo', async () => {
    const { ctx } = fakeTelnet();
    const client = new TestClient(await serve(telnetHandler, ctx), true);
    await client.expect('login: ');
    for (const ch of 'admin\r\n') {
      client.send(ch);
      await sleep(2);
    }
    expect(await client.expect('Password: ')).toBe('admin\r\nPassword: ');
    for (const ch of 's3cret\r\n') {
      client.send(ch);
      await sleep(2);
    }
    const after = await client.expect('Login incorrect');
    expect(after).not.toContain('s3cret');
  });

  it('to a client that never answers negotiation, echoes the name and sends no more options, as busybox telnetd does', async () => {
    // Real busybox telnetd + login (captured here in a namespace): "root\r\nPassword: ", then
    // "\r\nLogin incorrect\r\n" with no IAC in between: its pty echoes once WILL ECHO is offered.
    const { ctx } = fakeTelnet();
    const client = new TestClient(await serve(telnetHandler, ctx), false, true);
    await client.expect('login: ');
    const opening = client.negotiations.length;
    client.send('root\r\n');
    expect(await client.expect('Password: ')).toBe('root\r\nPassword: ');
    client.send('wrong\r\n');
    expect(await client.expect('login: ')).toBe('\r\nLogin incorrect\r\nlogin: ');
    expect(client.negotiations.length).toBe(opening);
  });

  it('without opening negotiation, turns echo off just for the password (WILL/WONT ECHO)', async () => {
    const { ctx } = fakeTelnet({ negotiation: 'none' });
    const client = new TestClient(await serve(telnetHandler, ctx), true);
    await client.expect('login: ');
    expect(client.raw.slice(0, 7)).toEqual([...Buffer.from('login: ')]);
    client.send('admin\r\n');
    await client.expect('Password: ');
    expect(client.negotiations).toEqual([[WILL, ECHO]]);
    client.send('admin\r\n');
    await client.expect('# ');
    expect(client.negotiations).toEqual([
      [WILL, ECHO],
      [WONT, ECHO],
    ]);
  });

  it('caps line length', async () => {
    const { ctx, attempts } = fakeTelnet();
    const client = new TestClient(await serve(telnetHandler, ctx));
    await client.expect('login: ');
    client.send(`${'a'.repeat(5000)}\r\n`);
    await client.expect('Password: ');
    client.send('x\r\n');
    await client.expect('Login incorrect');
    expect(attempts[0]?.[0]).toBe('a'.repeat(1024));
  });

  it('closes an idle connection', async () => {
    const { ctx } = fakeTelnet();
    const client = new TestClient(await serve(createTelnetHandler({ idleTimeoutMs: 200 }), ctx));
    await client.expect('login: ');
    await client.expect('Login timed out');
    await client.expectClosed();
  });

  it('survives seeded random garbage and still serves logins', async () => {
    const { ctx } = fakeTelnet();
    const port = await serve(createTelnetHandler({ failDelayMs: 0 }), ctx);
    const rand = createRng(0xbad5eed).next;
    for (let round = 0; round < 40; round++) {
      const client = new TestClient(port);
      const noise = telnetNoise(rand, 1 + Math.floor(rand() * 4096));
      for (let at = 0; at < noise.length; ) {
        const size = 1 + Math.floor(rand() * 512);
        client.send(noise.subarray(at, at + size));
        at += size;
      }
      await sleep(5);
      client.socket.destroy();
    }
    const client = new TestClient(port);
    await client.expect('login: ');
    client.send('admin\r\n');
    await client.expect('Password: ');
    client.send('admin\r\n');
    await client.expect('# ');
  });
});
