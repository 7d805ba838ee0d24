/**
 * HTTP admin UI of an emulated device (RFC 9110/9112). The lab owns the listening socket; each
 * accepted socket is handed to one shared node:http Server with `emit('connection')`, and the
 * device it belongs to is looked up per socket. Auth styles, as on real firmware:
 * - none:        the status page is open;
 * - http-basic:  RFC 7617, 401 + `WWW-Authenticate: Basic realm=...`;
 * - http-digest: RFC 7616, MD5 and/or SHA-256, qop=auth, stale nonces;
 * - http-form:   GET /login.html form, POST /login.cgi (urlencoded) → 302 + Set-Cookie session,
 *                pages behind the cookie, GET /logout.cgi ends the session.
 * Presentation (Server header, <title>, realm, cookie name, extra headers, favicon, Shift_JIS pages)
 * comes from the profile. `httpsHandler` is the same UI inside TLS (RFC 8446) with the model's
 * default certificate (../tls/certificates.ts).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import type { ConnectionHandler, DeviceState, ServiceContext } from '../types.js';
import { certificateSpec, secureContextFor } from '../tls/certificates.js';
import { faviconBytes } from './favicon.js';
import { encodeShiftJis } from './shift-jis.js';
import { checkLoginWith, isLockedOut } from '../context.js';
import { currentCredentials } from '../owner-actions.js';
import { parseDigestCredentials } from '../../protocols/http-auth.js';
import { digestChallenges, parseAlgorithms, verifyDigest } from './digest.js';

/** Largest form body accepted; a login form is tiny. */
const maxBodyBytes = 8192;
/** Sessions a device remembers; older ones are dropped first, as on small embedded servers. */
const maxSessionsPerDevice = 32;
const sessionLifetimeMs = 600_000;

/** Form-login sessions per device (token → expiry), shared by every HTTP port of the device. */
const sessions = new WeakMap<DeviceState, Map<string, number>>();
/** Which device service an accepted socket belongs to. */
const contexts = new WeakMap<Socket, ServiceContext>();
/** How long a TLS client may take to finish its handshake. */
const handshakeTimeoutMs = 10_000;

let shared: Server | undefined;

function httpServer(): Server {
  if (shared) return shared;
  const server = createServer({ maxHeaderSize: 16_384, keepAliveTimeout: 5000 }, (req, res) => {
    const ctx = contexts.get(req.socket);
    if (!ctx) {
      res.destroy();
      return;
    }
    handleRequest(req, res, ctx);
  });
  // The server never listens, so per-socket idle timeouts are what bound a silent client.
  server.timeout = 30_000;
  server.on('clientError', (_err, socket) => socket.destroy());
  shared = server;
  return server;
}

/** Hand an accepted socket to the shared HTTP server. */
export const httpHandler: ConnectionHandler = (socket, ctx) => {
  contexts.set(socket, ctx);
  httpServer().emit('connection', socket);
};

/**
 * HTTPS: wrap the accepted socket in TLS with the model's certificate, then serve the same UI.
 * The socket has no data listener until it is wrapped, so nothing the client sends early is lost.
 */
export const httpsHandler: ConnectionHandler = (socket, ctx) => {
  const spec = certificateSpec(ctx.service, ctx.device.profile.model);
  socket.setTimeout(handshakeTimeoutMs, () => socket.destroy());
  secureContextFor(spec).then(
    (secureContext) => {
      if (socket.destroyed) return;
      const tls = new TLSSocket(socket, { isServer: true, secureContext });
      tls.on('error', () => socket.destroy());
      tls.once('secure', () => {
        socket.setTimeout(0);
        contexts.set(tls, ctx);
        httpServer().emit('connection', tls);
      });
    },
    () => socket.destroy(),
  );
};

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function banner(ctx: ServiceContext, key: string, fallback: string): string {
  return ctx.service.banner?.[key] ?? fallback;
}

function baseHeaders(ctx: ServiceContext): Record<string, string> {
  const headers: Record<string, string> = {};
  const server = ctx.service.banner?.['server'];
  if (server) headers['Server'] = server;
  for (const [key, value] of Object.entries(ctx.service.banner ?? {})) {
    if (key.startsWith('header:')) headers[key.slice(7)] = value;
  }
  return headers;
}

function send(
  res: ServerResponse,
  ctx: ServiceContext,
  status: number,
  body: string,
  extra: Record<string, string | string[]> = {},
): void {
  const sjis = isShiftJis(ctx);
  const payload = sjis ? encodeShiftJis(body) : Buffer.from(body, 'utf8');
  res.writeHead(status, {
    ...baseHeaders(ctx),
    // contentType: old firmware often sends a bare "text/html" and leaves the charset to <meta>.
    'Content-Type': ctx.service.banner?.['contentType'] ?? `text/html; charset=${sjis ? 'Shift_JIS' : 'utf-8'}`,
    'Content-Length': String(payload.length),
    'Cache-Control': 'no-cache',
    ...extra,
  });
  res.end(payload);
}

function isShiftJis(ctx: ServiceContext): boolean {
  return ctx.service.banner?.['charset'] === 'Shift_JIS';
}

function page(ctx: ServiceContext, content: string): string {
  // titleHtml is markup from the profile, kept as is: it models devices whose title holds tags.
  const title = ctx.service.banner?.['titleHtml'] ?? escapeHtml(banner(ctx, 'title', ctx.device.profile.model));
  const charset = isShiftJis(ctx) ? 'Shift_JIS' : 'utf-8';
  const icon = ctx.service.banner?.['favicon'] ? '<link rel="shortcut icon" href="/favicon.ico">' : '';
  const footerText = ctx.service.banner?.['footer'];
  const footer = footerText ? `\n<div class="footer">${escapeHtml(footerText)}</div>` : '';
  return `<!DOCTYPE html>\n<html><head><meta charset="${charset}"><title>${title}</title>${icon}</head>\n<body>\n${content}${footer}\n</body></html>\n`;
}

/** GET /favicon.ico, served without a login as real admin UIs do (their login page shows it). */
function serveFavicon(req: IncomingMessage, res: ServerResponse, ctx: ServiceContext, spec: string): void {
  req.resume();
  let icon: Buffer;
  try {
    icon = faviconBytes(spec, ctx.device.profile.assetsDir);
  } catch {
    // The file went away after the lab loaded its profiles: answer as a device without one.
    return send(res, ctx, 404, page(ctx, '<h1>404 Not Found</h1>'));
  }
  res.writeHead(200, {
    ...baseHeaders(ctx),
    'Content-Type': 'image/x-icon',
    'Content-Length': String(icon.length),
    'Cache-Control': 'max-age=86400',
  });
  res.end(req.method === 'HEAD' ? undefined : icon);
}

function statusPage(ctx: ServiceContext, logout: boolean): string {
  const p = ctx.device.profile;
  // A profile's own body (markup it owns) replaces the table, for boxes that name nothing.
  const body = ctx.service.banner?.['body'];
  if (body !== undefined) return page(ctx, body + (logout ? '\n<p><a href="/logout.cgi">Logout</a></p>' : ''));
  const heading = escapeHtml(banner(ctx, 'heading', p.model));
  return page(
    ctx,
    `<h1>${heading}</h1>\n<table>\n<tr><td>Device</td><td>${escapeHtml(`${p.vendor} ${p.model}`)}</td></tr>\n` +
      `<tr><td>Firmware</td><td>${escapeHtml(p.firmware)}</td></tr>\n</table>` +
      (logout ? '\n<p><a href="/logout.cgi">Logout</a></p>' : ''),
  );
}

function loginPage(ctx: ServiceContext, message?: string): string {
  const heading = escapeHtml(banner(ctx, 'heading', ctx.device.profile.model));
  return page(
    ctx,
    `<h1>${heading}</h1>\n` +
      (message ? `<p class="error">${escapeHtml(message)}</p>\n` : '') +
      '<form method="post" action="/login.cgi">\n' +
      '<label>Username <input type="text" name="username"></label>\n' +
      '<label>Password <input type="password" name="password"></label>\n' +
      '<input type="submit" value="Login">\n</form>',
  );
}

function lockedMessage(ctx: ServiceContext): string {
  const seconds = Math.max(1, Math.ceil((ctx.state.lockedUntil - Date.now()) / 1000));
  return `Too many failed login attempts. Please login after ${seconds} seconds.`;
}

function handleRequest(req: IncomingMessage, res: ServerResponse, ctx: ServiceContext): void {
  const favicon = ctx.service.banner?.['favicon'];
  if (favicon && (req.method === 'GET' || req.method === 'HEAD') && (req.url ?? '/').split('?')[0] === '/favicon.ico') {
    return serveFavicon(req, res, ctx, favicon);
  }
  switch (ctx.service.auth) {
    case 'http-basic':
      return basicAuth(req, res, ctx);
    case 'http-digest':
      return digestAuth(req, res, ctx);
    case 'http-form':
      return formAuth(req, res, ctx);
    default: {
      req.resume();
      const status = Number(ctx.service.banner?.['status'] ?? 200);
      return send(res, ctx, status, status === 200 ? statusPage(ctx, false) : page(ctx, ctx.service.banner?.['body'] ?? `<h1>${status}</h1>`));
    }
  }
}

/** RFC 7617 Basic: credentials in base64, checked on every request. */
function basicAuth(req: IncomingMessage, res: ServerResponse, ctx: ServiceContext): void {
  req.resume();
  const realm = banner(ctx, 'realm', ctx.device.profile.model);
  const m = /^\s*Basic\s+([A-Za-z0-9+/=]{1,1024})\s*$/i.exec(req.headers.authorization ?? '');
  if (m?.[1]) {
    const decoded = Buffer.from(m[1], 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon >= 0 && ctx.checkLogin(decoded.slice(0, colon), decoded.slice(colon + 1))) {
      return send(res, ctx, 200, statusPage(ctx, false));
    }
    if (isLockedOut(ctx)) return send(res, ctx, 403, page(ctx, `<p>${escapeHtml(lockedMessage(ctx))}</p>`));
  }
  send(res, ctx, 401, page(ctx, '<h1>401 Unauthorized</h1>'), { 'WWW-Authenticate': `Basic realm="${realm}"` });
}

/** RFC 7616 Digest. */
function digestAuth(req: IncomingMessage, res: ServerResponse, ctx: ServiceContext): void {
  req.resume();
  const realm = banner(ctx, 'realm', ctx.device.profile.model);
  const algorithms = parseAlgorithms(ctx.service.banner?.['algorithms']);
  const params = parseDigestCredentials(req.headers.authorization);
  let stale = false;
  if (params) {
    const verdict = verifyDigest(
      params,
      { method: req.method ?? 'GET', uri: req.url ?? '/', realm, algorithms, requireQop: true },
      (username, matches) => checkLoginWith(ctx.device, ctx.state, username, matches),
      currentCredentials(ctx.device, ctx.state),
    );
    if (verdict.kind === 'ok') return send(res, ctx, 200, statusPage(ctx, false));
    if (isLockedOut(ctx)) return send(res, ctx, 403, page(ctx, `<p>${escapeHtml(lockedMessage(ctx))}</p>`));
    stale = verdict.kind === 'stale';
  }
  send(res, ctx, 401, page(ctx, '<h1>401 Unauthorized</h1>'), {
    'WWW-Authenticate': digestChallenges(realm, algorithms, { stale }),
  });
}

function deviceSessions(ctx: ServiceContext): Map<string, number> {
  let map = sessions.get(ctx.state);
  if (!map) {
    map = new Map();
    sessions.set(ctx.state, map);
  }
  return map;
}

function cookieValue(req: IncomingMessage, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

function hasSession(req: IncomingMessage, ctx: ServiceContext, cookie: string): string | undefined {
  const token = cookieValue(req, cookie);
  if (!token) return undefined;
  const map = deviceSessions(ctx);
  const expiry = map.get(token);
  if (expiry === undefined) return undefined;
  if (expiry < Date.now()) {
    map.delete(token);
    return undefined;
  }
  return token;
}

/** Form login with a session cookie, the style of most camera and router web UIs. */
function formAuth(req: IncomingMessage, res: ServerResponse, ctx: ServiceContext): void {
  const cookie = banner(ctx, 'cookie', 'SESSIONID');
  const path = (req.url ?? '/').split('?')[0] ?? '/';
  const method = req.method ?? 'GET';
  if (method === 'POST' && path === '/login.cgi') return formLogin(req, res, ctx, cookie);
  req.resume();
  if (method !== 'GET' && method !== 'HEAD') return send(res, ctx, 405, page(ctx, '<h1>405 Method Not Allowed</h1>'), { Allow: 'GET, HEAD, POST' });
  if (path === '/login.html') return send(res, ctx, 200, loginPage(ctx));
  const token = hasSession(req, ctx, cookie);
  if (path === '/logout.cgi') {
    if (token) deviceSessions(ctx).delete(token);
    return send(res, ctx, 302, page(ctx, ''), {
      Location: '/login.html',
      'Set-Cookie': `${cookie}=; Path=/; Max-Age=0; HttpOnly`,
    });
  }
  if (path !== '/' && path !== '/index.html') return send(res, ctx, 404, page(ctx, '<h1>404 Not Found</h1>'));
  if (!token) return send(res, ctx, 302, page(ctx, ''), { Location: '/login.html' });
  send(res, ctx, 200, statusPage(ctx, true));
}

function formLogin(req: IncomingMessage, res: ServerResponse, ctx: ServiceContext, cookie: string): void {
  const chunks: Buffer[] = [];
  let size = 0;
  req.on('data', (chunk: Buffer) => {
    size += chunk.length;
    if (size > maxBodyBytes) {
      send(res, ctx, 413, page(ctx, '<h1>413 Payload Too Large</h1>'), { Connection: 'close' });
      req.destroy();
      return;
    }
    chunks.push(chunk);
  });
  req.on('end', () => {
    if (size > maxBodyBytes) return;
    const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
    const username = form.get('username') ?? '';
    const password = form.get('password') ?? '';
    if (!ctx.checkLogin(username, password)) {
      const message = isLockedOut(ctx) ? lockedMessage(ctx) : 'Invalid username or password.';
      return send(res, ctx, 200, loginPage(ctx, message));
    }
    const token = randomBytes(16).toString('hex');
    const map = deviceSessions(ctx);
    if (map.size >= maxSessionsPerDevice) {
      const oldest = map.keys().next().value;
      if (oldest !== undefined) map.delete(oldest);
    }
    map.set(token, Date.now() + sessionLifetimeMs);
    send(res, ctx, 302, page(ctx, ''), {
      Location: '/index.html',
      'Set-Cookie': `${cookie}=${token}; Path=/; HttpOnly`,
    });
  });
}
