/**
 * The http and https modules against real loopback peers: node:http / node:https servers for
 * well-formed pages (Content-Length, chunked, close-delimited, Shift_JIS, auth challenges, login
 * forms, redirects, favicons, a self-signed certificate made here with @peculiar/x509), and raw
 * node:net servers for hostile ones (garbage, NUL, no line ends, a 100 MB body, 10,000 headers,
 * endless chunks, a trickle, silence). Every server is bounded in what it sends and is closed
 * after each test.
 */
import { createHash, webcrypto, X509Certificate } from 'node:crypto';
import * as http from 'node:http';
import * as https from 'node:https';
import * as net from 'node:net';
import { gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { openConnection, type ConnectionLimits } from '../../scope/connection.js';
import { compileScope, defaultScope } from '../../scope/scope.js';
import type { HttpFields } from '../fields.js';
import type { GrabContext, GrabModule, ModuleOutcome } from '../module.js';
import { httpModule, httpsModule } from './index.js';
import { shodanFaviconHash } from './mmh3.js';
import { httpFieldsSchema } from './schema.js';

const scope = compileScope(defaultScope());
const hostA = '127.63.17.1';
const hostB = '127.63.17.2';
const limits: ConnectionLimits = { connectTimeoutMs: 3000, firstByteTimeoutMs: 3000, idleTimeoutMs: 1500, deadlineMs: 6000, maxBytes: 1024 * 1024 };

const servers: net.Server[] = [];
const sockets = new Set<net.Socket>();
const stops: (() => void)[] = [];

afterEach(async () => {
  for (const stop of stops.splice(0)) stop();
  for (const s of sockets) s.destroy();
  await Promise.all(servers.splice(0).map((s) => new Promise<void>((r) => s.close(() => r()))));
});

async function listen(server: net.Server, ip = hostA): Promise<number> {
  server.on('connection', (s: net.Socket) => {
    sockets.add(s);
    s.on('error', () => {});
    s.on('close', () => sockets.delete(s));
  });
  servers.push(server);
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, ip, resolve));
  return (server.address() as net.AddressInfo).port;
}

/** A node:http server; `seen` lists the paths requested. */
async function web(handler: http.RequestListener, ip = hostA): Promise<{ port: number; seen: string[] }> {
  const seen: string[] = [];
  const port = await listen(
    http.createServer((req, res) => {
      seen.push(req.url ?? '');
      handler(req, res);
    }),
    ip,
  );
  return { port, seen };
}

/** A raw TCP server that writes whatever `onSocket` does. */
function raw(onSocket: (s: net.Socket) => void, ip = hostA): Promise<number> {
  return listen(net.createServer(onSocket), ip);
}

/** Grab as the runner will: a guarded connection, and reconnect = another guarded connection. */
async function grab(module: GrabModule, port: number, ip = hostA, lim: ConnectionLimits = limits): Promise<ModuleOutcome> {
  const ctx: GrabContext = { target: { ip, port }, limits: lim, reconnect: (o) => openConnection(scope, ip, port, lim, { tls: o?.tls ?? module.tls }) };
  const opened = await openConnection(scope, ip, port, lim, { tls: module.tls });
  if (opened.status !== 'success') throw new Error(`could not connect: ${opened.error}`);
  const outcome = await module.grab(opened.connection, ctx);
  // Every successful outcome holds to the module's declared schema (bounds, no NUL, no extra keys).
  if (outcome.status === 'success') httpFieldsSchema.parse(outcome.fields);
  return outcome;
}

const fieldsOf = (o: ModuleOutcome) => o.fields as unknown as HttpFields;

describe('http: well-formed pages', () => {
  it('reads a Content-Length page: status, headers, server, title, body excerpt', async () => {
    const { port, seen } = await web((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/html', Server: 'lighttpd/1.4.59', 'Content-Length': '64' });
      res.end('<html><head><title>WebCam  Login</title></head><body>hi</body>'.padEnd(64));
    });
    const o = await grab(httpModule, port);
    expect(o).toMatchObject({ status: 'success', recognised: true });
    const f = fieldsOf(o);
    expect(f).toMatchObject({ scheme: 'http', status: 200, statusLine: 'HTTP/1.1 200 OK', server: 'lighttpd/1.4.59', title: 'WebCam Login', bodyBytes: 64, bodyComplete: true, path: '/', redirects: [] });
    expect(f.headers['content-type']).toBe('text/html');
    expect(f.body).toContain('<body>hi</body>');
    expect(seen[0]).toBe('/');
  });

  it('sends Host with the port, the User-Agent and Connection: close', async () => {
    let headers: http.IncomingHttpHeaders = {};
    const { port } = await web((req, res) => {
      headers = req.headers;
      res.end('ok');
    });
    await grab(httpModule, port);
    expect(headers).toMatchObject({ host: `${hostA}:${port}`, connection: 'close' });
    expect(headers['user-agent']).toMatch(/iotclean/);
  });

  it('decodes a chunked body whose title spans chunks', async () => {
    const { port } = await web((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/html' });
      res.write('<html><head><ti');
      res.write('tle>Chunked Rou');
      setTimeout(() => res.end('ter</title></head></html>'), 20);
    });
    const f = fieldsOf(await grab(httpModule, port));
    expect(f.headers['transfer-encoding']).toBe('chunked');
    expect(f).toMatchObject({ title: 'Chunked Router', bodyComplete: true });
    expect(f.body).toBe('<html><head><title>Chunked Router</title></head></html>');
  });

  it('reads a close-delimited HTTP/1.0 body', async () => {
    const port = await raw((s) => s.once('data', () => s.end('HTTP/1.0 200 OK\r\nServer: Boa/0.94.13\r\n\r\n<title>Boa page</title>')));
    const f = fieldsOf(await grab(httpModule, port));
    expect(f).toMatchObject({ status: 200, server: 'Boa/0.94.13', title: 'Boa page', bodyComplete: true });
  });

  it('decodes a Shift_JIS title, from the header charset and from <meta> alone', async () => {
    const sjisTitle = Buffer.from([0x83, 0x8d, 0x83, 0x4f, 0x83, 0x43, 0x83, 0x93]); // ログイン
    const page = (meta: string) => Buffer.concat([Buffer.from(`<html><head>${meta}<title>Aterm `), sjisTitle, Buffer.from('</title></head></html>')]);
    const { port } = await web((req, res) => {
      if (req.url === '/') {
        res.writeHead(302, { Location: '/meta.htm' });
        return res.end();
      }
      res.writeHead(200, { 'Content-Type': 'text/html' });
      res.end(page('<meta http-equiv="Content-Type" content="text/html; charset=Shift_JIS">'));
    });
    expect(fieldsOf(await grab(httpModule, port)).title).toBe('Aterm ログイン');
    const second = await web((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/html; charset=Shift_JIS' });
      res.end(page(''));
    });
    expect(fieldsOf(await grab(httpModule, second.port)).title).toBe('Aterm ログイン');
  });

  it('undoes a gzip coding sent although identity was asked for, and bounds a gzip bomb', async () => {
    const { port } = await web((req, res) => {
      expect(req.headers['accept-encoding']).toBe('identity');
      res.writeHead(200, { 'Content-Type': 'text/html', 'Content-Encoding': 'gzip' });
      res.end(gzipSync('<title>Zipped UI</title>'));
    });
    expect(fieldsOf(await grab(httpModule, port))).toMatchObject({ title: 'Zipped UI', body: '<title>Zipped UI</title>' });
    const bomb = gzipSync(Buffer.concat([Buffer.from('<title>Bomb</title>'), Buffer.alloc(20 * 1024 * 1024, 0x20)]));
    const b = await web((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/html', 'Content-Encoding': 'gzip' });
      res.end(bomb);
    });
    const f = fieldsOf(await grab(httpModule, b.port));
    expect(f).toMatchObject({ title: 'Bomb', bodyComplete: true });
    expect(f.body.length).toBe(8 * 1024);
  });

  it('keeps a title holding a <script> tag and entities as text', async () => {
    const { port } = await web((_req, res) => res.end('<title>Cam &lt;1&gt; &amp; <script>alert("x")</script></title>'));
    expect(fieldsOf(await grab(httpModule, port)).title).toBe('Cam <1> & <script>alert("x")</script>');
  });

  it('finds the login form of a login page', async () => {
    const { port } = await web((_req, res) =>
      res.end('<html><title>Login</title><form name="f" action="/cgi-bin/login.cgi" method="post"><input type="text" name="username"><input type="password" name="password"><input type="submit" value="Login"></form></html>'),
    );
    expect(fieldsOf(await grab(httpModule, port)).loginForm).toEqual({
      action: '/cgi-bin/login.cgi',
      method: 'post',
      fields: [
        { name: 'username', type: 'text' },
        { name: 'password', type: 'password' },
        { name: '', type: 'submit' },
      ],
    });
  });

  it('records Basic and Digest challenges: several headers, and several challenges in one header', async () => {
    const { port } = await web((_req, res) => {
      res.setHeader('WWW-Authenticate', ['Digest realm="IPCam", qop="auth", algorithm=SHA-256, nonce="abc", Digest realm="IPCam", qop="auth", algorithm=MD5, nonce="abc"', 'Basic realm="IPCam"']);
      res.writeHead(401);
      res.end('Unauthorized');
    });
    const f = fieldsOf(await grab(httpModule, port));
    expect(f.status).toBe(401);
    expect(f.wwwAuthenticate).toEqual([
      { scheme: 'digest', realm: 'IPCam', algorithm: 'SHA-256' },
      { scheme: 'digest', realm: 'IPCam', algorithm: 'MD5' },
      { scheme: 'basic', realm: 'IPCam', algorithm: null },
    ]);
  });
});

describe('http: redirects', () => {
  it('follows a 302, a meta refresh and a script redirect within the host', async () => {
    const { port, seen } = await web((req, res) => {
      if (req.url === '/') {
        res.writeHead(302, { Location: `http://${hostA}:${req.socket.localPort}/a` });
        return res.end();
      }
      if (req.url === '/a') return res.end('<meta http-equiv="refresh" content="0; url=b.htm">');
      if (req.url === '/b.htm') return res.end('<script>window.location.href = "/login.htm";</script>');
      if (req.url === '/login.htm') return res.end('<title>Final</title>');
      res.writeHead(404);
      res.end();
    });
    const f = fieldsOf(await grab(httpModule, port));
    expect(f).toMatchObject({ title: 'Final', path: '/login.htm', redirects: ['/a', '/b.htm', '/login.htm'], redirectNotFollowed: null });
    expect(seen.slice(0, 4)).toEqual(['/', '/a', '/b.htm', '/login.htm']);
  });

  it('records a redirect to another host without following it', async () => {
    const other = await web((_req, res) => res.end('other'), hostB);
    const { port } = await web((_req, res) => {
      res.writeHead(301, { Location: `http://${hostB}:${other.port}/` });
      res.end();
    });
    const f = fieldsOf(await grab(httpModule, port));
    expect(f).toMatchObject({ status: 301, path: '/', redirects: [], redirectNotFollowed: `http://${hostB}:${other.port}/` });
    expect(f.headers['location']).toBe(`http://${hostB}:${other.port}/`);
    expect(other.seen).toEqual([]);
  });

  it('stops a redirect loop and an endless chain after a bounded number of hops', async () => {
    const loop = await web((req, res) => {
      res.writeHead(302, { Location: req.url === '/' ? '/x' : '/' });
      res.end();
    });
    const f = fieldsOf(await grab(httpModule, loop.port));
    expect(f).toMatchObject({ redirects: ['/x'], redirectNotFollowed: '/' });
    expect(loop.seen.filter((p) => p !== '/favicon.ico')).toEqual(['/', '/x']);

    const chain = await web((req, res) => {
      res.writeHead(307, { Location: `/n${Number((req.url ?? '').replace(/\D/g, '') || 0) + 1}` });
      res.end();
    });
    const g = fieldsOf(await grab(httpModule, chain.port));
    expect(g.redirects).toEqual(['/n1', '/n2', '/n3']);
    expect(g.redirectNotFollowed).toBe('/n4');
    expect(chain.seen.filter((p) => p !== '/favicon.ico')).toHaveLength(4);
  });
});

describe('http: favicon', () => {
  const icon = Buffer.from(Array.from({ length: 300 }, (_, i) => (i * 37) & 0xff));
  it('fetches the <link rel=icon> target on the same host and hashes it as Shodan and Recog do', async () => {
    const { port, seen } = await web((req, res) => {
      if (req.url === '/img/logo.png') {
        res.writeHead(200, { 'Content-Type': 'image/png' });
        return res.end(icon);
      }
      res.end('<link rel="shortcut icon" href="img/logo.png"><title>x</title>');
    });
    const f = fieldsOf(await grab(httpModule, port));
    expect(f.favicon).toEqual({ path: '/img/logo.png', mmh3: shodanFaviconHash(icon), md5: createHash('md5').update(icon).digest('hex'), bytes: 300 });
    expect(seen).not.toContain('/favicon.ico');
  });

  it('falls back to /favicon.ico, and records none when every path answers with HTML', async () => {
    const { port } = await web((req, res) => {
      if (req.url === '/favicon.ico') {
        res.writeHead(200, { 'Content-Type': 'image/x-icon' });
        return res.end(icon);
      }
      res.end('<link rel="icon" href="http://example.invalid/f.ico"><title>x</title>');
    });
    expect(fieldsOf(await grab(httpModule, port)).favicon).toMatchObject({ path: '/favicon.ico', bytes: 300 });
    const htmlOnly = await web((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/html' });
      res.end('<title>index for every path</title>');
    });
    expect(fieldsOf(await grab(httpModule, htmlOnly.port)).favicon).toBeNull();
  });
});

/**
 * @peculiar/x509 needs the Reflect metadata API (tsyringe checks for it at import), and the
 * reflect-metadata package is not installed: this in-memory stand-in is enough for it.
 */
async function loadX509(): Promise<typeof import('@peculiar/x509')> {
  type Meta = { getOwnMetadata?: unknown; getMetadata?: unknown; defineMetadata?: unknown; metadata?: unknown };
  const r = Reflect as unknown as Meta;
  if (typeof r.getOwnMetadata !== 'function') {
    const store = new WeakMap<object, Map<unknown, unknown>>();
    const define = (k: unknown, v: unknown, t: object) => {
      const m = store.get(t) ?? new Map<unknown, unknown>();
      store.set(t, m.set(k, v));
    };
    r.defineMetadata = define;
    r.getOwnMetadata = (k: unknown, t: object) => store.get(t)?.get(k);
    r.getMetadata = r.getOwnMetadata;
    r.metadata = (k: unknown, v: unknown) => (t: object) => define(k, v, t);
  }
  const x509 = await import('@peculiar/x509');
  x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);
  return x509;
}

describe('https', () => {
  it('records the self-signed certificate and the TLS version', async () => {
    const x509 = await loadX509();
    const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
    const keys = (await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
    const cert = await x509.X509CertificateGenerator.createSelfSigned({
      serialNumber: '0a1b2c',
      name: 'CN=IPCAM-1234, O=Example Camera Co',
      notBefore: new Date('2020-01-01T00:00:00Z'),
      notAfter: new Date('2040-01-01T00:00:00Z'),
      signingAlgorithm: alg,
      keys: keys as unknown as Parameters<typeof x509.X509CertificateGenerator.createSelfSigned>[0]['keys'],
      extensions: [new x509.SubjectAlternativeNameExtension([{ type: 'ip', value: hostA }])],
    });
    const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey)).toString('base64');
    const key = `-----BEGIN PRIVATE KEY-----\n${pkcs8.replace(/(.{64})/g, '$1\n')}\n-----END PRIVATE KEY-----\n`;
    const pem = cert.toString('pem');
    const port = await listen(https.createServer({ key, cert: pem }, (_req, res) => res.end('<title>Secure Cam</title>')));
    const o = await grab(httpsModule, port);
    const f = fieldsOf(o);
    expect(f).toMatchObject({ scheme: 'https', status: 200, title: 'Secure Cam' });
    expect(f.tlsVersion).toMatch(/^TLSv1\.[23]$/);
    const expected = new X509Certificate(pem);
    expect(f.certificate).toMatchObject({ selfSigned: true, serialNumber: '0A1B2C', subjectAltName: `IP Address:${hostA}` });
    expect(f.certificate?.subject).toContain('CN=IPCAM-1234');
    expect(f.certificate?.subject).toBe(f.certificate?.issuer);
    expect(f.certificate?.sha256).toBe(expected.fingerprint256.replace(/:/g, '').toLowerCase());
    expect(new Date(f.certificate?.validTo ?? '').getUTCFullYear()).toBe(2040);
  });
});

describe('http: hostile peers end bounded, with a status', () => {
  it('garbage: protocol-error, not recognised', async () => {
    const port = await raw((s) => s.once('data', () => s.write(Buffer.from([0x16, 0x03, 0x01, 0xff, 0x00, 0x41]))));
    expect(await grab(httpModule, port)).toMatchObject({ status: 'protocol-error', recognised: false });
  });

  it('NUL bytes in headers and body never reach the stored text', async () => {
    const port = await raw((s) => s.once('data', () => s.end('HTTP/1.1 200 OK\r\nServer: ev\0il\r\nContent-Length: 22\r\n\r\n<title>a\0b</title>\0\0\0\0')));
    const o = await grab(httpModule, port);
    expect(o.status).toBe('success');
    expect(JSON.stringify(o.fields)).not.toContain('\\u0000');
    expect(fieldsOf(o)).toMatchObject({ server: 'ev\uFFFDil', title: 'a\uFFFDb' });
  });

  it('a head without line ends: protocol-error, recognised, nothing kept past the head bound', async () => {
    const port = await raw((s) => s.once('data', () => s.end(`HTTP/1.1 200 OK${'A'.repeat(200_000)}`)));
    const o = await grab(httpModule, port);
    expect(o).toMatchObject({ status: 'protocol-error', recognised: true });
    expect(JSON.stringify(o.fields).length).toBeLessThan(1000);
  });

  it('a 100 MB body: the page is recorded from the first 64 KiB and the rest is never read', async () => {
    let sent = 0;
    const port = await raw((s) =>
      s.once('data', () => {
        const chunk = Buffer.alloc(64 * 1024, 0x41);
        s.write(`HTTP/1.1 200 OK\r\nContent-Length: ${100 * 1024 * 1024}\r\n\r\n<title>Big</title>`);
        // At most 1,600 chunks (100 MB), and only as fast as the client reads.
        const pump = () => {
          while (sent < 100 * 1024 * 1024 && !s.destroyed) {
            sent += chunk.length;
            if (!s.write(chunk)) return void s.once('drain', pump);
          }
        };
        pump();
      }),
    );
    const o = await grab(httpModule, port);
    expect(o).toMatchObject({ status: 'success', recognised: true });
    const f = fieldsOf(o);
    expect(f).toMatchObject({ title: 'Big', bodyComplete: false, bodyBytes: 64 * 1024 });
    expect(f.body.length).toBe(8 * 1024);
    expect(sent).toBeLessThan(50 * 1024 * 1024);
  });

  it('10,000 headers: protocol-error with the status line and the first headers kept', async () => {
    const port = await raw((s) => s.once('data', () => s.end(`HTTP/1.1 200 OK\r\n${Array.from({ length: 10_000 }, (_, i) => `X-H${i}: ${i}\r\n`).join('')}\r\n`)));
    const o = await grab(httpModule, port);
    expect(o).toMatchObject({ status: 'protocol-error', recognised: true });
    expect(o.fields).toMatchObject({ status: 200 });
    expect(Object.keys((o.fields as { headers: object }).headers).length).toBeLessThanOrEqual(100);
  });

  it('endless chunks: success with the body cut at its bound', async () => {
    const port = await raw((s) =>
      s.once('data', () => {
        s.write('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n');
        let n = 0;
        const pump = () => {
          while (n < 100_000 && !s.destroyed) {
            n++;
            if (!s.write('400\r\n' + 'B'.repeat(1024) + '\r\n')) return void s.once('drain', pump);
          }
        };
        pump();
      }),
    );
    const o = await grab(httpModule, port);
    expect(o).toMatchObject({ status: 'success', recognised: true });
    expect(fieldsOf(o)).toMatchObject({ bodyComplete: false, bodyBytes: 64 * 1024 });
  });

  it('a trickled head ends at the deadline with io-timeout', async () => {
    const port = await raw((s) =>
      s.once('data', () => {
        s.write('HTTP/1.1 200 OK\r\n');
        let n = 0;
        const t = setInterval(() => (n++ < 200 && !s.destroyed ? s.write('X') : clearInterval(t)), 50);
        stops.push(() => clearInterval(t));
      }),
    );
    const o = await grab(httpModule, port, hostA, { ...limits, idleTimeoutMs: 1000, deadlineMs: 2500 });
    expect(o).toMatchObject({ status: 'io-timeout', recognised: true });
  });

  it('a silent peer: io-timeout, not recognised', async () => {
    const port = await raw(() => {});
    expect(await grab(httpModule, port, hostA, { ...limits, firstByteTimeoutMs: 500 })).toMatchObject({ status: 'io-timeout', recognised: false });
  });
});

describe('schema', () => {
  it('refuses fields a bug could let through: NUL, an over-long title, unknown keys', async () => {
    const { port } = await web((_req, res) => res.end('<title>ok</title>'));
    const good = (await grab(httpModule, port)).fields;
    expect(httpFieldsSchema.safeParse(good).success).toBe(true);
    expect(httpFieldsSchema.safeParse({ ...good, title: 'a\0b' }).success).toBe(false);
    expect(httpFieldsSchema.safeParse({ ...good, title: 'x'.repeat(300) }).success).toBe(false);
    expect(httpFieldsSchema.safeParse({ ...good, extra: 1 }).success).toBe(false);
  });
});

describe('recognise', () => {
  it('is true for HTTP/ only', () => {
    expect(httpModule.recognise?.(Buffer.from('HTTP/1.1 400 Bad Request'))).toBe(true);
    expect(httpsModule.recognise?.(Buffer.from('HTTP/1.0 200'))).toBe(true);
    expect(httpModule.recognise?.(Buffer.from('SSH-2.0-x'))).toBe(false);
    expect(httpModule.recognise?.(Buffer.from('HTT'))).toBe(false);
  });
});
