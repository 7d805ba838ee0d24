import * as net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createRng } from '../../core/rng.js';
import { ADMIN, closeServed, fakeContext, serve, track } from './test-support.js';
import { createFtpHandler, greetingReply } from './ftp.js';
import type { ServiceProfile } from '../types.js';

const host = '127.65.1.1';
const handler = createFtpHandler({ failDelayMs: 1, idleTimeoutMs: 5000 });

function service(banner: Record<string, string> = {}): ServiceProfile {
  return { port: 21, protocol: 'ftp', auth: 'ftp-login', banner };
}

/** A control connection that collects everything the server sends until it closes. */
class Client {
  text = '';
  closed: Promise<void>;
  private readonly socket: net.Socket;
  constructor(port: number) {
    this.socket = track(net.connect(port, host));
    this.socket.setTimeout(10_000, () => this.socket.destroy());
    this.socket.on('data', (b: Buffer) => (this.text += b.toString('latin1')));
    this.socket.on('error', () => undefined);
    this.closed = new Promise((r) => this.socket.on('close', () => r()));
  }
  /** Wait until the text received matches. */
  async until(re: RegExp): Promise<string> {
    for (let i = 0; i < 400 && !re.test(this.text); i++) await new Promise((r) => setTimeout(r, 10));
    expect(this.text).toMatch(re);
    return this.text;
  }
  send(line: string | Buffer): void {
    this.socket.write(line);
  }
}

afterEach(closeServed);

describe('lab FTP (RFC 959)', () => {
  it('formats a one-line and a multi-line 220 greeting, indenting inner lines that look like replies', () => {
    expect(greetingReply('LANDISK FTP server ready.')).toBe('220 LANDISK FTP server ready.\r\n');
    expect(greetingReply('Welcome\n230 not a reply\nready.')).toBe('220-Welcome\r\n 230 not a reply\r\n220 ready.\r\n');
  });

  it('greets, refuses a bad password, accepts the right one and says goodbye', async () => {
    const { ctx, attempts } = fakeContext(service({ greeting: 'ProFTPD 1.3.5 Server ready.\nUse your NAS account.', system: 'UNIX Type: L8' }));
    const c = new Client(await serve(handler, ctx, host));
    await c.until(/^220-ProFTPD 1\.3\.5 Server ready\.\r\n220 Use your NAS account\.\r\n$/);
    c.send('SYST\r\nLIST\r\n');
    await c.until(/215 UNIX Type: L8\r\n530 Please login/);
    c.send('USER admin\r\nPASS wrong\r\n');
    await c.until(/331 Password required for admin\.\r\n530 Login incorrect\.\r\n$/);
    c.send(`USER ${ADMIN.username}\r\nPASS ${ADMIN.password}\r\nLIST\r\nQUIT\r\n`);
    await c.until(/230 Login successful\.\r\n502 Command not implemented\.\r\n221 Goodbye\.\r\n$/);
    await c.closed;
    expect(attempts).toEqual([
      ['admin', 'wrong'],
      ['admin', 'admin'],
    ]);
  });

  it('closes after three failed logins, and PASS before USER is refused', async () => {
    const { ctx } = fakeContext(service());
    const c = new Client(await serve(handler, ctx, host));
    await c.until(/^220 /);
    c.send('PASS x\r\n');
    await c.until(/503 /);
    for (let i = 0; i < 3; i++) c.send(`USER root\r\nPASS bad${i}\r\n`);
    await c.closed;
    expect(c.text.match(/530 Login incorrect/g)).toHaveLength(3);
  });

  it('ends a 1 MB command line with 500 and closes, without reading it all into memory', async () => {
    const { ctx, attempts } = fakeContext(service());
    const c = new Client(await serve(handler, ctx, host));
    await c.until(/^220 /);
    c.send(Buffer.alloc(1024 * 1024, 0x41));
    await c.closed;
    expect(c.text).toMatch(/500 Command line too long\.\r\n$/);
    expect(attempts).toEqual([]);
  });

  it('survives seeded random garbage, NUL bytes and bare LFs with a reply or a close', async () => {
    const rng = createRng('ftp-fuzz');
    for (let round = 0; round < 20; round++) {
      const { ctx } = fakeContext(service());
      const c = new Client(await serve(handler, ctx, host));
      await c.until(/^220 /);
      const bytes = Buffer.alloc(1 + rng.int(3000));
      for (let i = 0; i < bytes.length; i++) bytes[i] = rng.int(8) === 0 ? 0x0a : rng.int(256);
      c.send(bytes);
      c.send('\r\nQUIT\r\n');
      await c.closed;
      // Every reply line the server wrote is a well-formed reply (three digits, space or dash).
      for (const line of c.text.split('\r\n').filter((l) => l !== '')) expect(line).toMatch(/^(\d{3}[ -]| )/);
    }
  }, 60_000);
});
