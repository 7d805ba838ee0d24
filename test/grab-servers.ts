/**
 * Loopback servers the grab tests talk to: hostile peers (garbage, NUL bytes, an endless stream,
 * a trickle, silence, an immediate close) and small real-protocol servers (telnet, FTP, MQTT on
 * mqtt-packet, SSH on ssh2's Server, HTTP on node:http). Every server listens on a 127.61/127.62
 * address only, and close() ends every socket it accepted.
 */
import { randomInt } from 'node:crypto';
import * as http from 'node:http';
import * as net from 'node:net';
import * as mqttPacket from 'mqtt-packet';
import ssh2 from 'ssh2';
import { createRng } from '../src/core/rng.js';

const { Server: SshServer, utils: sshUtils } = ssh2;

export interface TestServer {
  readonly ip: string;
  readonly port: number;
  /** Connections accepted so far. */
  readonly accepted: () => number;
  close(): Promise<void>;
}

/** A fresh address in 127.61.0.0/15, so parallel test files do not collide. */
export function grabTestIp(): string {
  return `127.${61 + randomInt(2)}.${randomInt(256)}.${1 + randomInt(254)}`;
}

/** Listen with a raw socket handler on ip:port (port 0 = any). */
export async function serveRaw(onSocket: (s: net.Socket) => void, port = 0, ip = grabTestIp()): Promise<TestServer> {
  const sockets = new Set<net.Socket>();
  let count = 0;
  const server = net.createServer((s) => {
    count++;
    sockets.add(s);
    s.on('error', () => {});
    s.on('close', () => sockets.delete(s));
    onSocket(s);
  });
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, ip, resolve));
  return {
    ip,
    port: (server.address() as net.AddressInfo).port,
    accepted: () => count,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** Write `total` bytes from `chunk` repeatedly, respecting back-pressure; stops when the peer goes. */
function stream(s: net.Socket, chunk: Buffer, total: number): void {
  let sent = 0;
  const more = (): void => {
    while (sent < total && !s.destroyed && s.writable) {
      sent += chunk.length;
      if (!s.write(chunk)) {
        s.once('drain', more);
        return;
      }
    }
    if (sent >= total) s.end();
  };
  more();
}

/** The hostile peers of the conformance suite, by name. */
export const hostile = {
  /** Seeded random bytes (4 KiB), then silence. */
  garbage: (s: net.Socket) => {
    const rnd = createRng('grab-garbage');
    s.write(Buffer.from(Array.from({ length: 4096 }, () => rnd.int(256))));
  },
  /** NUL bytes (8 KiB), then silence. */
  nul: (s: net.Socket) => void s.write(Buffer.alloc(8192)),
  /** 100 MB offered as fast as the reader takes it (a banner that never ends). */
  endless: (s: net.Socket) => stream(s, Buffer.alloc(64 * 1024, 'A'), 100 * 1024 * 1024),
  /** One byte every 100 ms, 600 bytes at most (a slowloris-style trickle). */
  trickle: (s: net.Socket) => {
    let n = 0;
    const t = setInterval(() => {
      if (s.destroyed || n++ >= 600) {
        clearInterval(t);
        if (!s.destroyed) s.end();
        return;
      }
      s.write('x');
    }, 100);
    s.on('close', () => clearInterval(t));
  },
  /** Accepts and never says anything (a tarpit). */
  silent: (_s: net.Socket) => {},
  /** Accepts and closes at once. */
  close: (s: net.Socket) => void s.destroy(),
} as const satisfies Record<string, (s: net.Socket) => void>;

export type HostileName = keyof typeof hostile;

/** A busybox-like telnetd: negotiates, prints a banner, then "login: "; it never reads a password here. */
export function telnetHandler(banner = 'BusyBox v1.19.4 (2014-03-12) built-in shell\r\n\r\nrouter login: ') {
  return (s: net.Socket): void => {
    // IAC DO TERMINAL-TYPE, IAC WILL ECHO, IAC WILL SGA, IAC DO NAWS
    s.write(Buffer.of(255, 253, 24, 255, 251, 1, 255, 251, 3, 255, 253, 31));
    s.once('data', () => s.write(banner));
    s.on('data', () => {});
  };
}

/** An FTP server greeting with a multi-line 220 (RFC 959 §4.2), answering QUIT with 221. */
export function ftpHandler(greeting = '220-Welcome to the NAS\r\n220-Second line\r\n220 ProFTPD 1.3.5 Server ready.\r\n') {
  return (s: net.Socket): void => {
    s.write(greeting);
    let buf = '';
    s.on('data', (d: Buffer) => {
      buf += d.toString('latin1');
      if (buf.includes('QUIT')) s.end('221 Goodbye.\r\n');
    });
  };
}

/** A small MQTT 3.1.1 broker: CONNACK with `returnCode`; when accepted, SUBACK and a retained $SYS/broker/version. */
export function mqttHandler(returnCode = 0, version: string | null = 'mosquitto version 2.0.11') {
  return (s: net.Socket): void => {
    const parser = mqttPacket.parser({ protocolVersion: 4 });
    parser.on('error', () => s.destroy());
    parser.on('packet', (p: mqttPacket.Packet) => {
      if (p.cmd === 'connect') {
        s.write(mqttPacket.generate({ cmd: 'connack', returnCode, sessionPresent: false }));
        if (returnCode !== 0) s.end();
      } else if (p.cmd === 'subscribe') {
        s.write(mqttPacket.generate({ cmd: 'suback', messageId: p.messageId ?? 1, granted: p.subscriptions.map(() => 0 as const) }));
        if (version !== null) {
          s.write(mqttPacket.generate({ cmd: 'publish', topic: '$SYS/broker/version', payload: Buffer.from(version), qos: 0, dup: false, retain: true }));
        }
      } else if (p.cmd === 'disconnect') {
        s.end();
      }
    });
    s.on('data', (d: Buffer) => parser.parse(d));
  };
}

export interface SshServerOptions {
  readonly ident?: string;
  /** Methods listed after "none"; none accepted when `acceptNone`. */
  readonly methods?: ('password' | 'publickey' | 'keyboard-interactive')[];
  readonly acceptNone?: boolean;
  /** Lines sent before the identification line (RFC 4253 §4.2). */
  readonly preLines?: string;
}

export interface SshTestServer extends TestServer {
  /** The host key's public blob, to compare fingerprints against. */
  readonly hostKeyBlob: Buffer;
  /** Every auth method a client tried, in order (to assert no password was ever tried). */
  readonly triedMethods: readonly string[];
}

/** An SSH server on ssh2's Server with a fresh ed25519 host key. */
export async function serveSsh(options: SshServerOptions = {}, port = 0, ip = grabTestIp()): Promise<SshTestServer> {
  const keys = sshUtils.generateKeyPairSync('ed25519');
  const parsed = sshUtils.parseKey(keys.public);
  if (parsed instanceof Error) throw parsed;
  const blob = (Array.isArray(parsed) ? parsed[0] : parsed).getPublicSSH();
  const tried: string[] = [];
  const methods = options.methods ?? ['password', 'publickey'];
  const server = new SshServer({ hostKeys: [keys.private], ident: options.ident ?? 'dropbear_2019.78' }, (client) => {
    client.on('error', () => {});
    client.on('authentication', (ctx) => {
      tried.push(ctx.method);
      if (ctx.method === 'none' && options.acceptNone) ctx.accept();
      else ctx.reject(methods);
    });
    client.on('ready', () => client.end());
  });
  const raw = await serveRaw((s) => {
    if (options.preLines) s.write(options.preLines);
    server.injectSocket(s);
  }, port, ip);
  return { ...raw, hostKeyBlob: blob, triedMethods: tried };
}

/** A node:http server answering every request with a small page. */
export async function serveHttp(port = 0, ip = grabTestIp()): Promise<TestServer> {
  const sockets = new Set<net.Socket>();
  let count = 0;
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html', server: 'lighttpd/1.4.59' });
    res.end('<html><head><title>Router</title></head><body>hi</body></html>');
  });
  server.on('connection', (s) => {
    count++;
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, ip, resolve));
  return {
    ip,
    port: (server.address() as net.AddressInfo).port,
    accepted: () => count,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** An address and port with nothing listening (bound, then closed). */
export async function closedPort(ip = grabTestIp()): Promise<{ ip: string; port: number }> {
  const probe = net.createServer();
  await new Promise<void>((resolve, reject) => probe.once('error', reject).listen(0, ip, resolve));
  const port = (probe.address() as net.AddressInfo).port;
  await new Promise((r) => probe.close(r));
  return { ip, port };
}
