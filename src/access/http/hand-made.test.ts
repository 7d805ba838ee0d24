/**
 * The HTTP access modules against hand-made loopback servers that behave as awkward devices do:
 * Basic answering 200 with an error page for every wrong pair, Digest with stale nonces, a fixed
 * nonce (nc must count up) and an opaque value, SHA-256 offered before MD5, a form with a CSRF
 * token that changes on every GET, a JavaScript-only login, a redirect back to the login page on
 * failure, Set-Cookie on failure too, and peers that send garbage or never answer. Each server is
 * node:http on its own 127.73.2xx address, closed in afterAll.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTcpServer, type Server as TcpServer } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { createRng } from '../../core/rng.js';
import { parseDigestCredentials } from '../../protocols/http-auth.js';
import type { AccessModule, AccessTarget } from '../module.js';
import { createCookieJar, createHttpClient, requestBytes } from './client.js';
import { normalise, signatureOf } from './common.js';
import { challengesOfReply, pickChallenge } from './digest.js';
import { formBody, parseLoginPage } from './form-page.js';
import { httpBasicAccess, httpDigestAccess, httpFormAccess } from './index.js';
import { accessContext, dictionary, grabbedTarget } from './test-support.js';
import { parseHead } from '../../grab/http/response.js';

const ip = `127.73.${200 + (process.pid % 50)}.1`;
const servers: (Server | TcpServer)[] = [];
const rawSockets: import('node:net').Socket[] = [];
let nextPort = 30_000 + (process.pid % 10_000);

afterAll(async () => {
  for (const s of rawSockets) s.destroy();
  await Promise.all(servers.map((s) => new Promise<void>((r) => {
    if ('closeAllConnections' in s) s.closeAllConnections();
    s.close(() => r());
  })));
});

async function serve(handler: (req: IncomingMessage, body: string, res: ServerResponse) => unknown): Promise<number> {
  const server = createServer({ keepAliveTimeout: 5000 }, (req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => handler(req, body, res));
  });
  servers.push(server);
  const port = nextPort++;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, ip, () => resolve());
  });
  return port;
}

async function serveRaw(onConnection: (socket: import('node:net').Socket) => void): Promise<number> {
  const server = createTcpServer((socket) => {
    rawSockets.push(socket);
    onConnection(socket);
  });
  servers.push(server);
  const port = nextPort++;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, ip, () => resolve());
  });
  return port;
}

const html = (title: string, body: string): string => `<!DOCTYPE html><html><head><title>${title}</title></head><body>${body}</body></html>`;

function basicPair(req: IncomingMessage): { user: string; pass: string } | undefined {
  const m = /^Basic (.+)$/.exec(req.headers.authorization ?? '');
  if (!m?.[1]) return undefined;
  const text = Buffer.from(m[1], 'base64').toString('utf8');
  const i = text.indexOf(':');
  return i < 0 ? undefined : { user: text.slice(0, i), pass: text.slice(i + 1) };
}

async function runOn(module: AccessModule, port: number, list: Parameters<AccessModule['run']>[1]) {
  const target = await grabbedTarget(ip, port, 'http');
  expect(module.applies(target)).toBe(true);
  return module.run(target, list, accessContext(ip, port));
}

const right = { username: 'admin', password: 'admin' };

describe('Basic that answers 200 with an error page for every wrong pair', () => {
  const handler = (pass: string) => (req: IncomingMessage, _b: string, res: ServerResponse) => {
    const p = basicPair(req);
    if (!p) {
      res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="cam"', 'Content-Type': 'text/html' });
      return res.end(html('401', 'login'));
    }
    res.writeHead(200, { 'Content-Type': 'text/html' });
    if (p.user === 'admin' && p.pass === pass) return res.end(html('Camera', '<h1>Live view</h1><a href="/setup">Setup</a>'));
    res.end(html('Camera', `<p>Authentication failed for ${p.user} at ${Date.now()}</p>`));
  };

  it('finds the weak pair at #5 of 8 (its page differs from the control pair\'s)', async () => {
    const v = await runOn(httpBasicAccess, await serve(handler('admin')), dictionary(8, 5, right));
    expect(v).toMatchObject({ verdict: 'weak-credential', entry: 'e5' });
    expect(v.attempts.slice(0, 4).every((a) => a.outcome === 'failure')).toBe(true);
  });

  it('does not report a strong pair, nor mistake the error page for a honeypot', async () => {
    const v = await runOn(httpBasicAccess, await serve(handler('S7r0ng!pass')), dictionary(8, 5, right));
    expect(v).toMatchObject({ verdict: 'no-weak-credential', entry: null });
    expect(v.controlAccepted).toBeUndefined();
  });
});

describe('Basic that answers every pair with the same 200 page (a broken device)', () => {
  it('reports no pair and says the control pair was accepted', async () => {
    const port = await serve((req, _b, res) => {
      if (!basicPair(req)) {
        res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="x"' });
        return res.end();
      }
      res.writeHead(200, { 'Content-Type': 'text/html' });
      res.end(html('Router', '<h1>Status</h1>'));
    });
    const v = await runOn(httpBasicAccess, port, dictionary(6, 3, right));
    expect(v).toMatchObject({ verdict: 'no-weak-credential', controlAccepted: true });
  });
});

describe('politeness', () => {
  it('stops when the run is aborted between tries', async () => {
    const controller = new AbortController();
    let requests = 0;
    const port = await serve((_req, _b, res) => {
      if (++requests === 4) controller.abort(); // the challenge, the control, two tries
      res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="x"' });
      res.end();
    });
    const target = await grabbedTarget(ip, port, 'http');
    requests = 0; // what the grab asked is not counted
    const v = await httpBasicAccess.run(target, dictionary(50, 0, right), { ...accessContext(ip, port, 20), signal: controller.signal });
    expect(v).toMatchObject({ verdict: 'error', reason: 'aborted' });
    expect(v.attempts.length).toBe(3); // the control and two entries
    expect(requests).toBe(4);
  });
});

describe('Basic without a 401', () => {
  it('is unsupported when the page no longer challenges', async () => {
    let calls = 0;
    const port = await serve((_req, _b, res) => {
      // The grab sees a challenge; the module's own first request does not.
      res.writeHead(calls++ === 0 ? 401 : 200, { 'WWW-Authenticate': 'Basic realm="x"' });
      res.end();
    });
    const v = await runOn(httpBasicAccess, port, dictionary(3, 1, right));
    expect(v.verdict).toBe('unsupported');
    expect(v.attempts).toHaveLength(0);
  });
});

/** A Digest server (RFC 7616, SHA-256 and MD5) with knobs for stale nonces, a fixed nonce and opaque. */
function digestServer(pass: string, opts: { staleFirst?: boolean; fixedNonce?: boolean; opaque?: string; algorithms?: string[] } = {}) {
  // -sess algorithms hash the nonce and client nonce into A1 (RFC 7616 §3.4.2).
  const nonces = new Set<string>();
  const lastNc = new Map<string, number>();
  let staleSent = false;
  const algorithms = opts.algorithms ?? ['SHA-256', 'MD5'];
  const fixed = randomBytes(8).toString('hex');
  const log: string[] = [];
  const challenge = (stale: boolean): string[] => {
    const nonce = opts.fixedNonce ? fixed : randomBytes(8).toString('hex');
    nonces.add(nonce);
    return algorithms.map((a) => `Digest realm="dev", qop="auth", nonce="${nonce}", algorithm=${a}${opts.opaque ? `, opaque="${opts.opaque}"` : ''}${stale ? ', stale=true' : ''}`);
  };
  const handler = (req: IncomingMessage, _b: string, res: ServerResponse): unknown => {
    const p = parseDigestCredentials(req.headers.authorization);
    const refuse = (stale = false): void => {
      res.writeHead(401, { 'WWW-Authenticate': challenge(stale) });
      res.end(html('401', 'Unauthorized'));
    };
    if (!p || !p['nonce'] || !nonces.has(p['nonce'])) return refuse();
    const alg = p['algorithm'] ?? 'MD5';
    log.push(`${alg} nc=${p['nc']}`);
    if (opts.opaque !== undefined && p['opaque'] !== opts.opaque) return refuse();
    const nc = parseInt(p['nc'] ?? '0', 16);
    if (nc <= (lastNc.get(p['nonce']) ?? 0)) return refuse(); // a replayed count
    lastNc.set(p['nonce'], nc);
    const H = (s: string): string => createHash(alg.startsWith('SHA-256') ? 'sha256' : 'md5').update(s).digest('hex');
    const a1 = alg.endsWith('-sess') ? H(`${H(`admin:dev:${pass}`)}:${p['nonce']}:${p['cnonce']}`) : H(`admin:dev:${pass}`);
    const expected = H(`${a1}:${p['nonce']}:${p['nc']}:${p['cnonce']}:auth:${H(`GET:${p['uri']}`)}`);
    if (p['username'] !== 'admin' || p['response'] !== expected) return refuse();
    if (opts.staleFirst && !staleSent) {
      staleSent = true;
      return refuse(true);
    }
    res.writeHead(200, { 'Content-Type': 'text/html' });
    res.end(html('Device', 'ok'));
  };
  return { handler, log };
}

describe('Digest', () => {
  it('picks SHA-256 when it is offered first, and MD5-only servers still work', async () => {
    const sha = digestServer('1234');
    const v = await runOn(httpDigestAccess, await serve(sha.handler), dictionary(6, 4, { username: 'admin', password: '1234' }));
    expect(v).toMatchObject({ verdict: 'weak-credential', entry: 'e4' });
    expect(sha.log.every((l) => l.startsWith('SHA-256'))).toBe(true);
    const md5 = digestServer('1234', { algorithms: ['MD5'] });
    expect(await runOn(httpDigestAccess, await serve(md5.handler), dictionary(6, 4, { username: 'admin', password: '1234' }))).toMatchObject({ verdict: 'weak-credential', entry: 'e4' });
    expect(md5.log.every((l) => l.startsWith('MD5'))).toBe(true);
  });

  it('retries a stale nonce with the new one, not counting it as a failure', async () => {
    const s = digestServer('1234', { staleFirst: true });
    const v = await runOn(httpDigestAccess, await serve(s.handler), dictionary(5, 3, { username: 'admin', password: '1234' }));
    expect(v).toMatchObject({ verdict: 'weak-credential', entry: 'e3' });
    expect(v.attempts.map((a) => a.outcome)).toEqual(['failure', 'failure', 'failure', 'success']);
  });

  it('counts nc up on a server that keeps one nonce, and echoes opaque', async () => {
    const s = digestServer('1234', { fixedNonce: true, opaque: 'op4que' });
    const v = await runOn(httpDigestAccess, await serve(s.handler), dictionary(6, 6, { username: 'admin', password: '1234' }));
    expect(v).toMatchObject({ verdict: 'weak-credential', entry: 'e6' });
    const counts = s.log.map((l) => parseInt(/nc=(\w+)/.exec(l)?.[1] ?? '0', 16));
    expect(counts).toEqual(counts.map((_, i) => i + 1));
  });

  it('answers SHA-256-sess and MD5-sess challenges', async () => {
    for (const alg of ['SHA-256-sess', 'MD5-sess']) {
      const s = digestServer('1234', { algorithms: [alg] });
      expect(await runOn(httpDigestAccess, await serve(s.handler), dictionary(4, 3, { username: 'admin', password: '1234' }))).toMatchObject({ verdict: 'weak-credential', entry: 'e3' });
      expect(s.log.every((l) => l.startsWith(alg))).toBe(true);
    }
  });

  it('does not find a strong pair', async () => {
    const s = digestServer('Str0ng-and-long');
    expect(await runOn(httpDigestAccess, await serve(s.handler), dictionary(6, 0, right))).toMatchObject({ verdict: 'no-weak-credential', entry: null });
  });

  it('prefers the strongest usable challenge', () => {
    const c = (algorithm: 'MD5' | 'SHA-256' | 'SHA-512-256-sess', qop: string[]) => ({ realm: 'r', nonce: 'n', algorithm, qop, stale: false });
    expect(pickChallenge([c('MD5', ['auth']), c('SHA-256', ['auth'])])?.algorithm).toBe('SHA-256');
    expect(pickChallenge([c('SHA-512-256-sess', ['auth-int']), c('MD5', [])])?.algorithm).toBe('MD5');
    expect(pickChallenge([])).toBeUndefined();
  });
});

/** A form login with a per-GET CSRF token bound to a pre-session cookie. */
function csrfForm(pass: string) {
  const tokens = new Map<string, string>(); // pre-session → token
  return (req: IncomingMessage, body: string, res: ServerResponse): unknown => {
    const cookie = /pre=(\w+)/.exec(req.headers.cookie ?? '')?.[1];
    if (req.method === 'GET' && req.url === '/login') {
      const pre = randomBytes(6).toString('hex');
      const token = randomBytes(10).toString('hex');
      tokens.set(pre, token);
      res.writeHead(200, { 'Content-Type': 'text/html', 'Set-Cookie': `pre=${pre}; Path=/` });
      return res.end(html('Login', `<form method="post" action="/do_login"><input type="hidden" name="csrf" value="${token}"><input name="user"><input type="password" name="pw"><input type="submit" name="go" value="Login"></form>`));
    }
    if (req.method === 'POST' && req.url === '/do_login') {
      const f = new URLSearchParams(body);
      if (!cookie || tokens.get(cookie) !== f.get('csrf') || f.get('go') !== 'Login') {
        res.writeHead(403, { 'Content-Type': 'text/html' });
        return res.end(html('Forbidden', 'bad token'));
      }
      tokens.delete(cookie); // one use
      if (f.get('user') === 'admin' && f.get('pw') === pass) {
        res.writeHead(302, { Location: '/home', 'Set-Cookie': 'sid=s3cr3t; Path=/' });
        return res.end();
      }
      res.writeHead(200, { 'Content-Type': 'text/html' });
      return res.end(html('Login', '<p>Wrong password</p><form method="post" action="/do_login"><input name="user"><input type="password" name="pw"><input type="submit"></form>'));
    }
    if (req.url === '/home' && /sid=s3cr3t/.test(req.headers.cookie ?? '')) {
      res.writeHead(200, { 'Content-Type': 'text/html' });
      return res.end(html('Home', '<a href="/logout">Log out</a>'));
    }
    if (req.url === '/logout') {
      loggedOut++;
      res.writeHead(302, { Location: '/login' });
      return res.end();
    }
    res.writeHead(302, { Location: '/login' });
    res.end();
  };
}
let loggedOut = 0;

describe('form login', () => {
  it('fetches a fresh CSRF token per try, finds the weak pair and logs out', async () => {
    const before = loggedOut;
    const v = await runOn(httpFormAccess, await serve(csrfForm('admin')), dictionary(8, 5, right));
    expect(v).toMatchObject({ verdict: 'weak-credential', entry: 'e5' });
    expect(v.attempts.at(-1)?.detail).toMatch(/redirect away to \/home/);
    expect(loggedOut).toBe(before + 1);
  });

  it('does not find a strong pair behind a CSRF token', async () => {
    const v = await runOn(httpFormAccess, await serve(csrfForm('Strong#Pass1')), dictionary(8, 0, right));
    expect(v).toMatchObject({ verdict: 'no-weak-credential', entry: null });
    expect(v.attempts.every((a) => a.outcome === 'failure')).toBe(true);
  });

  it('calls a JavaScript-only login unsupported, not "no weak credential"', async () => {
    const port = await serve((_req, _b, res) => {
      res.writeHead(200, { 'Content-Type': 'text/html' });
      res.end(html('Login', '<input id="u"><input type="password" id="p" name="p"><button type="button" onclick="doLogin()">Login</button><script>function doLogin(){fetch("/api/login",{method:"POST"})}</script>'));
    });
    const v = await runOn(httpFormAccess, port, dictionary(4, 2, right));
    expect(v.verdict).toBe('unsupported');
    expect(v.reason).toMatch(/JavaScript/);
  });

  /** Failure: 302 back to the login page, with a cookie set either way. */
  const redirecting = (pass: string) => (req: IncomingMessage, body: string, res: ServerResponse): unknown => {
    if (req.method === 'POST') {
      const f = new URLSearchParams(body);
      const ok = f.get('username') === 'admin' && f.get('password') === pass;
      res.writeHead(302, { Location: ok ? '/main.htm' : '/login.htm?err=1', 'Set-Cookie': `SID=${randomBytes(4).toString('hex')}; Path=/` });
      return res.end();
    }
    res.writeHead(200, { 'Content-Type': 'text/html' });
    if (req.url === '/main.htm') return res.end(html('Main', '<p>Welcome</p>'));
    res.end(html('Login', '<form method="post" action="login.cgi"><input name="username"><input type="password" name="password"><input type="submit"></form>'));
  };

  /** Failure: a page without the form ("Login failed", a link back); success: 302 to the main page. */
  const failPage = (pass: string) => (req: IncomingMessage, body: string, res: ServerResponse): unknown => {
    if (req.method === 'POST') {
      const f = new URLSearchParams(body);
      if (f.get('username') === 'admin' && f.get('password') === pass) {
        res.writeHead(302, { Location: '/main.htm' });
        return res.end();
      }
      res.writeHead(200, { 'Content-Type': 'text/html' });
      return res.end(html('Login', '<p>Login failed.</p><a href="/">Back</a>'));
    }
    res.writeHead(200, { 'Content-Type': 'text/html' });
    if (req.url === '/main.htm') return res.end(html('Main', '<p>System status</p>'));
    res.end(html('Login', '<form method="post" action="/login.cgi"><input name="username"><input type="password" name="password"><input type="submit"></form>'));
  };

  it('takes a failure page without the form for a refusal, not for a honeypot', async () => {
    expect(await runOn(httpFormAccess, await serve(failPage('admin')), dictionary(8, 3, right))).toMatchObject({ verdict: 'weak-credential', entry: 'e3' });
    const v = await runOn(httpFormAccess, await serve(failPage('N0t-guessable')), dictionary(8, 0, right));
    expect(v).toMatchObject({ verdict: 'no-weak-credential', entry: null });
    expect(v.controlAccepted).toBeUndefined();
  });

  it('does not take a redirect back to the login page or a cookie set on failure for a login', async () => {
    const weak = await runOn(httpFormAccess, await serve(redirecting('admin')), dictionary(8, 6, right));
    expect(weak).toMatchObject({ verdict: 'weak-credential', entry: 'e6' });
    const strongV = await runOn(httpFormAccess, await serve(redirecting('N0t-guessable')), dictionary(8, 0, right));
    expect(strongV).toMatchObject({ verdict: 'no-weak-credential', entry: null });
    expect(strongV.controlAccepted).toBeUndefined();
  });
});

describe('keep-alive', () => {
  it('sends a try again on a new connection when a kept-alive one is closed without an answer', async () => {
    let connections = 0;
    const port = await serveRaw((sock) => {
      sock.on('error', () => {});
      const n = ++connections;
      let buffered = '';
      let answered = 0;
      sock.on('data', (d: Buffer) => {
        buffered += d.toString('latin1');
        while (buffered.includes('\r\n\r\n')) {
          const end = buffered.indexOf('\r\n\r\n') + 4;
          const head = buffered.slice(0, end);
          buffered = buffered.slice(end);
          // Each connection answers two requests, then closes silently on the third (an idle reaper).
          if (answered === 2) return sock.destroy();
          answered++;
          const auth = /Authorization: Basic (\S+)/.exec(head)?.[1];
          const ok = auth !== undefined && Buffer.from(auth, 'base64').toString() === 'admin:admin';
          const body = ok ? 'welcome' : 'denied';
          sock.write(`HTTP/1.1 ${ok ? '200 OK' : `401 Unauthorized\r\nWWW-Authenticate: Basic realm="c${n}"`}\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
        }
      });
    });
    // The client alone: the third request meets the silent close and is sent again on a new connection.
    const client = createHttpClient(accessContext(ip, port), { ip, port }, 'http');
    const statuses: (number | string)[] = [];
    for (let i = 0; i < 5; i++) {
      const r = await client.request({ method: 'GET', path: '/' });
      statuses.push(r.kind === 'reply' ? r.status : r.status);
    }
    client.close();
    expect(statuses).toEqual([401, 401, 401, 401, 401]);
    expect(client.connections).toBe(3);
    const v = await runOn(httpBasicAccess, port, dictionary(9, 8, right));
    expect(v).toMatchObject({ verdict: 'weak-credential', entry: 'e8' });
    expect(v.attempts.filter((a) => a.outcome === 'error')).toHaveLength(0);
  });
});

describe('hostile peers', () => {
  it('ends with error, not a hang, on garbage and on silence', async () => {
    const garbage = await serveRaw((s) => {
      s.on('error', () => {});
      s.end(Buffer.from('\x00\xff garbage\r\n\r\n'));
    });
    const silent = await serveRaw((s) => s.on('error', () => {}));
    const target: AccessTarget = {
      ip,
      port: garbage,
      observations: [{ kind: 'observation', surveyId: null, endpointId: null, ip, port: garbage, module: 'http', status: 'success', recognised: true, fields: { scheme: 'http', path: '/', wwwAuthenticate: [{ scheme: 'basic', realm: 'x', algorithm: null }], loginForm: { action: '/l', method: 'post', fields: [{ name: 'p', type: 'password' }] } }, raw: '', bytesReceived: 0, observedAt: new Date().toISOString(), durationMs: 1, source: 'grab' }],
    };
    for (const port of [garbage, silent]) {
      const ctx = accessContext(ip, port, 0, { connectTimeoutMs: 1000, firstByteTimeoutMs: 300, idleTimeoutMs: 300, deadlineMs: 3000, maxBytes: 4096 });
      for (const m of [httpBasicAccess, httpDigestAccess, httpFormAccess]) {
        const t = { ...target, port, observations: target.observations.map((o) => ({ ...o, port, fields: { ...o.fields, wwwAuthenticate: [{ scheme: m === httpDigestAccess ? 'digest' : 'basic', realm: 'x', algorithm: null }] } })) };
        const v = await m.run(t, dictionary(3, 0, right), ctx);
        expect(v.verdict).toBe('error');
      }
    }
  }, 30_000);
});

describe('requests built from device input', () => {
  it('refuses a path or header that would split the request, sending nothing', async () => {
    let connections = 0;
    const port = await serveRaw((sock) => {
      connections++;
      sock.on('error', () => {});
    });
    const client = createHttpClient(accessContext(ip, port), { ip, port }, 'http');
    expect(await client.request({ method: 'GET', path: '/a b' })).toMatchObject({ kind: 'failed', status: 'protocol-error' });
    expect(await client.request({ method: 'GET', path: '/', headers: { Cookie: 'a=b\r\nX-Evil: 1' } })).toMatchObject({ kind: 'failed', status: 'protocol-error' });
    expect(requestBytes('http', ip, 80, { method: 'POST', path: '/l', body: 'a=é' })).toMatch(new RegExp(`^POST /l HTTP/1.1\r\nHost: ${ip.replace(/\./g, '\\.')}\r\n[^]*Content-Length: 4\r\n\r\na=é$`));
    client.close();
    expect(connections).toBe(0);
  });
});

describe('fuzz: the client over seeded random responses', () => {
  it('returns a reply or a failure for every response, never throws or hangs', async () => {
    const rng = createRng('access-http-client-fuzz');
    const parts = ['HTTP/1.1 200 OK\r\n', 'HTTP/1.1 401 X\r\n', 'HTTP/1.0 302 Found\r\n', 'HTTP/1.1 100 Continue\r\n\r\n', 'Content-Length: 5\r\n', 'Content-Length: 99999\r\n', 'Transfer-Encoding: chunked\r\n', 'Connection: close\r\n', 'WWW-Authenticate: Digest realm="a", nonce="b", qop="auth,auth-int", algorithm=SHA-256-sess, stale=TRUE\r\n', 'WWW-Authenticate: Basic\r\n', 'Set-Cookie: a=b; Max-Age=0\r\n', 'Location: //evil/\r\n', '\r\n', '5\r\nhello\r\n0\r\n\r\n', 'zz\r\n', '\x00\xff', '<form><input type=password name=p></form>'];
    const responses: string[] = [];
    for (let i = 0; i < 60; i++) {
      let r = '';
      for (let j = 0, n = 1 + rng.int(8); j < n; j++) r += rng.pick(parts);
      responses.push(r);
    }
    let k = 0;
    const port = await serveRaw((sock) => {
      sock.on('error', () => {});
      sock.once('data', () => sock.end(Buffer.from(responses[k++ % responses.length] ?? '', 'latin1')));
    });
    const ctx = accessContext(ip, port, 0, { connectTimeoutMs: 1000, firstByteTimeoutMs: 300, idleTimeoutMs: 300, deadlineMs: 2000, maxBytes: 8192 });
    const client = createHttpClient(ctx, { ip, port }, 'http');
    for (let i = 0; i < responses.length; i++) {
      const r = await client.request({ method: 'GET', path: '/' });
      expect(['reply', 'failed']).toContain(r.kind);
      if (r.kind === 'reply') {
        expect(typeof signatureOf(r).text).toBe('string');
        pickChallenge(challengesOfReply(r));
      }
    }
    client.close();
  }, 60_000);
});

describe('fuzz: the parsers of device bytes never throw', () => {
  it('parseLoginPage, formBody, the cookie jar and normalise on seeded random input', () => {
    const rng = createRng('access-http-fuzz');
    const pieces = ['<form', ' action="', 'javascript:', '<input', ' type="password"', ' type=hidden', ' name="', ' value="', '>', '</form>', '<select name=s><option value=1 selected>', '</select>', '<a href="/logout">', 'Log out</a>', '"', "'", '\x00', '\uFFFD', '<!--', '<script>', '</script>', 'Set-Cookie', '=', ';', ' Max-Age=0', '\r\n', 'é', '<button>'];
    for (let i = 0; i < 2000; i++) {
      let s = '';
      const n = rng.int(40);
      for (let j = 0; j < n; j++) s += rng.next() < 0.7 ? rng.pick(pieces) : String.fromCharCode(rng.int(0x3000));
      const page = parseLoginPage(s);
      if (page.form) expect(typeof formBody(page.form, 'a', 'b')).toBe('string');
      expect(typeof normalise(s, ['a'])).toBe('string');
      const head = parseHead(Buffer.from(`HTTP/1.1 200 OK\r\nSet-Cookie: ${s.replace(/[\r\n]/g, '')}\r\n\r\n`, 'latin1'), 10);
      if (head) {
        const jar = createCookieJar();
        jar.take(head);
        const h = jar.header();
        if (h !== undefined) expect(h).not.toMatch(/[\r\n\0]/);
      }
    }
  });
});

/** A node:http server that also counts the connections open at once (and can refuse those past `maxOpen`). */
async function serveCounting(handler: (req: IncomingMessage, res: ServerResponse) => unknown, opts: { maxOpen?: number; onTurnAway?: (count: number) => void } = {}) {
  /** `armed`: the limit applies (set once the grab's own connection is gone). */
  const stats = { open: 0, peak: 0, turnedAway: 0, armed: false };
  const server = createServer({ keepAliveTimeout: 5000 }, (req, res) => {
    req.resume();
    req.on('end', () => handler(req, res));
  });
  server.on('connection', (socket) => {
    if (opts.maxOpen !== undefined && stats.armed && stats.open >= opts.maxOpen) {
      socket.destroy();
      opts.onTurnAway?.(++stats.turnedAway);
      return;
    }
    stats.open++;
    stats.peak = Math.max(stats.peak, stats.open);
    socket.on('close', () => stats.open--);
  });
  servers.push(server);
  const port = nextPort++;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, ip, () => resolve());
  });
  return { port, stats };
}

/** Basic for admin/`pass`; `seen` gets the password of every try, in the order the server read them. */
function basicLogin(pass: string, seen: string[]) {
  return (req: IncomingMessage, res: ServerResponse): unknown => {
    const p = basicPair(req);
    if (p) seen.push(p.pass);
    if (p?.user === 'admin' && p.pass === pass) {
      res.writeHead(200, { 'Content-Type': 'text/html' });
      return res.end(html('Camera', 'live view'));
    }
    res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="cam"', 'Content-Type': 'text/html' });
    res.end(html('401', 'Unauthorized'));
  };
}

/** The list index (0-based) of a password `dictionary` made ("wrong-N" or the right one at `at`). */
const indexOf = (pass: string, at: number): number => (pass === right.password ? at - 1 : Number(/^wrong-(\d+)$/.exec(pass)?.[1] ?? NaN) - 1);

describe('several sessions on one host (AccessContext.sessions)', () => {
  const withSessions = async (port: number, sessions: number, list: Parameters<AccessModule['run']>[1], module: AccessModule = httpBasicAccess, signal?: AbortSignal) => {
    const target = await grabbedTarget(ip, port, 'http');
    expect(module.applies(target)).toBe(true);
    return module.run(target, list, { ...accessContext(ip, port), sessions, ...(signal ? { signal } : {}) });
  };

  it('share the list in order on as many connections: each entry tried once, none far ahead of its turn', async () => {
    const seen: string[] = [];
    const { port, stats } = await serveCounting(basicLogin('S7r0ng!pass', seen));
    const v = await withSessions(port, 4, dictionary(40, 0, right));
    expect(v).toMatchObject({ verdict: 'no-weak-credential', entry: null });
    expect(stats.peak).toBe(4);
    const entries = v.attempts.map((a) => a.entry);
    expect(entries).toEqual(['control:0', ...Array.from({ length: 40 }, (_, i) => `e${i + 1}`)]);
    // The tries as the server read them: the control first, then the list, each at most 3 places (4 sessions) early.
    const tries = seen.slice(seen.length - 40).map((p) => indexOf(p, 0));
    expect(new Set(tries).size).toBe(40);
    tries.forEach((index, position) => expect(index).toBeLessThanOrEqual(position + 3));
  });

  it('stop every session at the first success, which is the real pair', async () => {
    const seen: string[] = [];
    const { port } = await serveCounting(basicLogin(right.password, seen));
    const v = await withSessions(port, 4, dictionary(40, 10, right));
    expect(v).toMatchObject({ verdict: 'weak-credential', entry: 'e10' });
    expect(v.attempts.filter((a) => a.outcome === 'success').map((a) => a.entry)).toEqual(['e10']);
    // Only the tries in flight beside it were still sent: nothing past entry 10 + 3.
    const tried = seen.filter((p) => p.startsWith('wrong-') || p === right.password).map((p) => indexOf(p, 10));
    expect(Math.max(...tried)).toBeLessThanOrEqual(12);
  });

  it('stop every session at a lock-out: only the tries in flight meet it', async () => {
    let failures = 0;
    let lockedAnswers = 0;
    const { port } = await serveCounting((req, res) => {
      const p = basicPair(req);
      if (p && failures >= 8) {
        lockedAnswers++;
        res.writeHead(429, { 'Content-Type': 'text/html' });
        return res.end(html('Locked', 'Too many failed logins, try again later'));
      }
      if (p) failures++;
      res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="cam"' });
      res.end(html('401', 'Unauthorized'));
    });
    const v = await withSessions(port, 4, dictionary(40, 0, right));
    expect(v.verdict).toBe('locked-out');
    expect(lockedAnswers).toBeGreaterThan(0);
    expect(lockedAnswers).toBeLessThanOrEqual(4);
    expect(v.attempts.some((a) => a.outcome === 'locked-out')).toBe(true);
    // Tries cut off by the lock-out say so (a runner backing off tries those entries again).
    expect(v.attempts.filter((a) => a.outcome !== 'failure' && a.outcome !== 'locked-out')).toEqual([]);
  });

  it('fall back to fewer sessions on a device that turns away connections past two (not a lock-out)', async () => {
    // The device answers no entry until the two sessions past its limit were turned away twice
    // each (a first try and its retry): without the fall-back they would call that a lock-out.
    const held: (() => void)[] = [];
    let released = false;
    const login = basicLogin(right.password, []);
    const { port, stats } = await serveCounting(
      (req, res) => {
        const p = basicPair(req);
        if (!released && p && (p.pass.startsWith('wrong-') || p.pass === right.password)) held.push(() => login(req, res));
        else login(req, res);
      },
      {
        maxOpen: 2,
        onTurnAway: (n) => {
          if (n < 4) return;
          released = true;
          for (const answer of held.splice(0)) answer();
        },
      },
    );
    const target = await grabbedTarget(ip, port, 'http');
    for (let i = 0; i < 100 && stats.open > 0; i++) await new Promise((r) => setTimeout(r, 10)); // the grab's connection closes
    stats.armed = true;
    const v = await httpBasicAccess.run(target, dictionary(30, 25, right), { ...accessContext(ip, port), sessions: 4 });
    expect(stats.turnedAway).toBeGreaterThanOrEqual(4);
    expect(v).toMatchObject({ verdict: 'weak-credential', entry: 'e25' });
    // Every entry before the right one was answered by the device (a turned-away try was redone).
    const answered = new Set(v.attempts.filter((a) => a.outcome === 'failure').map((a) => a.entry));
    for (let i = 1; i < 25; i++) expect(answered.has(`e${i}`)).toBe(true);
  }, 30_000);

  it('stop when the run is aborted, sending nothing new after it', async () => {
    const controller = new AbortController();
    let tries = 0;
    let afterAbort = 0;
    const { port } = await serveCounting((req, res) => {
      if (basicPair(req)) {
        if (controller.signal.aborted) afterAbort++;
        if (++tries === 10) controller.abort();
      }
      res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="x"' });
      res.end();
    });
    const v = await withSessions(port, 4, dictionary(200, 0, right), httpBasicAccess, controller.signal);
    expect(v).toMatchObject({ verdict: 'error', reason: 'aborted' });
    // At most the other sessions' tries already on the wire arrive after the abort.
    expect(afterAbort).toBeLessThanOrEqual(3);
    expect(v.attempts.length).toBeLessThan(20);
  });

  it('Digest: each session answers its own nonce; one server-wide nonce with strict counts still finds the pair', async () => {
    const pair = { username: 'admin', password: '1234' };
    const fresh = digestServer('1234');
    expect(await withSessions(await serve(fresh.handler), 3, dictionary(12, 9, pair), httpDigestAccess)).toMatchObject({ verdict: 'weak-credential', entry: 'e9' });
    // Every nonce count the server read was new for its nonce (a repeat would have been refused).
    const fixed = digestServer('1234', { fixedNonce: true });
    const v = await withSessions(await serve(fixed.handler), 3, dictionary(12, 9, pair), httpDigestAccess);
    expect(v).toMatchObject({ verdict: 'weak-credential', entry: 'e9' });
    const counts = fixed.log.map((l) => parseInt(/nc=(\w+)/.exec(l)?.[1] ?? '0', 16));
    expect(counts).toEqual(counts.map((_, i) => i + 1));
  });
});
