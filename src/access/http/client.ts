/**
 * A small HTTP/1.1 client for the access modules, over guarded connections from the access
 * context: one request at a time, keep-alive where the server allows it (RFC 9112 §9.3: several
 * tries per connection save handshakes), and a fresh connection when it does not, when the old one
 * was closed under us, or when it nears the guard's deadline or byte cap. Responses come from the
 * grab stage's bounded reader (src/grab/http/response.ts), so every size stays capped. A cookie
 * jar (RFC 6265, the few rules a login needs) is separate so a form module can start one per try.
 */
import { randomBytes } from 'node:crypto';
import type { Connection, ConnectionStatus } from '../../scope/connection.js';
import type { AccessContext } from '../module.js';
import { userAgent } from '../../grab/http/client.js';
import { decodeBody } from '../../grab/http/charset.js';
import { decodeContent } from '../../grab/http/content-coding.js';
import { headerValues, readResponse, type HttpResponse, type ResponseHead, type ResponseLimits } from '../../grab/http/response.js';

export type Scheme = 'http' | 'https';

/** One request; `path` is checked printable ASCII (it goes on the request line). */
export interface HttpRequest {
  readonly method: 'GET' | 'POST';
  readonly path: string;
  readonly headers?: Readonly<Record<string, string>>;
  /** A body (form posts), sent with Content-Length. */
  readonly body?: string;
}

/** A response with its body decoded to text. */
export interface HttpReply {
  readonly kind: 'reply';
  readonly status: number;
  readonly head: ResponseHead;
  readonly text: string;
  readonly complete: boolean;
}

/** No response: why. */
export interface HttpFailure {
  readonly kind: 'failed';
  readonly status: Exclude<ConnectionStatus, 'success'>;
  readonly error: string;
}

export type HttpOutcome = HttpReply | HttpFailure;

/** The client a module holds for one endpoint. */
export interface HttpClient {
  request(req: HttpRequest): Promise<HttpOutcome>;
  /** Connections opened so far (a fresh one per handshake). */
  readonly connections: number;
  /** Close for good: a request in flight ends failed, later ones fail at once. */
  close(): void;
}

/** Bounds of one response read by an access module: logins and their pages are small. */
export const accessResponseLimits: ResponseLimits = Object.freeze({ maxHeadBytes: 16 * 1024, maxHeaders: 100, maxBodyBytes: 32 * 1024 });

/** Requests sent on one connection at most. */
const maxRequestsPerConnection = 100;

const requestPath = /^\/[\x21-\x7e]{0,2047}$/;

/** The request bytes (RFC 9112 §3): Host without the scheme's default port, as browsers send it. */
export function requestBytes(scheme: Scheme, ip: string, port: number, req: HttpRequest): string {
  return requestWith(fixedHeaders(scheme, ip, port), req);
}

/** The header lines every request to one endpoint carries, each ending CRLF (built once per client). */
function fixedHeaders(scheme: Scheme, ip: string, port: number): string {
  const host = port === (scheme === 'https' ? 443 : 80) ? ip : `${ip}:${port}`;
  return `Host: ${host}\r\nUser-Agent: ${userAgent}\r\nAccept: */*\r\nAccept-Encoding: identity\r\nConnection: keep-alive\r\n`;
}

const lineBreak = /[\r\n\0]/;

function requestWith(fixed: string, req: HttpRequest): string {
  if (!requestPath.test(req.path)) throw new Error(`not a request path: ${JSON.stringify(req.path.slice(0, 64))}`);
  let out = `${req.method} ${req.path} HTTP/1.1\r\n${fixed}`;
  if (req.headers) {
    for (const name in req.headers) {
      const value = req.headers[name]!;
      // Header values built from device input (cookies, nonces) must not split the request.
      if (lineBreak.test(name) || lineBreak.test(value)) throw new Error(`header ${name} holds a line break`);
      out += `${name}: ${value}\r\n`;
    }
  }
  if (req.body !== undefined) out += `Content-Length: ${Buffer.byteLength(req.body)}\r\n`;
  return `${out}\r\n${req.body ?? ''}`;
}

/** Whether the connection may carry another request after this response (RFC 9112 §9.3). */
function reusable(response: HttpResponse): boolean {
  const tokens = headerValues(response.head, 'connection').join(',').toLowerCase().split(',').map((t) => t.trim());
  if (tokens.includes('close')) return false;
  if (response.head.version === '1.0' && !tokens.includes('keep-alive')) return false;
  return response.complete && response.framing !== 'close';
}

/** The body of a response as text (content coding undone, charset applied). */
export function replyText(response: HttpResponse): string {
  const { bytes } = decodeContent(response.body, headerValues(response.head, 'content-encoding').join(','));
  return decodeBody(bytes, headerValues(response.head, 'content-type')[0]).text;
}

/** A client to the target of `ctx`, speaking `scheme` (https: TLS on every connection). */
export function createHttpClient(ctx: AccessContext, target: { readonly ip: string; readonly port: number }, scheme: Scheme, limits: ResponseLimits = accessResponseLimits): HttpClient {
  let conn: Connection | undefined;
  let openedAt = 0;
  let sent = 0;
  let connections = 0;
  /** Set by close(): nothing more is sent, not even the resend of a request it cut off. */
  let closed = false;
  const fixed = fixedHeaders(scheme, target.ip, target.port);

  const drop = (): void => {
    conn?.close();
    conn = undefined;
  };
  /** Whether the current connection is still worth a request: far from the guard's deadline and byte cap. */
  const fresh = (c: Connection): boolean =>
    sent < maxRequestsPerConnection && performance.now() - openedAt < ctx.limits.deadlineMs / 2 && c.bytesReceived < ctx.limits.maxBytes / 2;

  async function connection(): Promise<{ conn: Connection; reused: boolean } | HttpFailure> {
    if (conn && fresh(conn)) return { conn, reused: true };
    drop();
    const opened = await ctx.open({ tls: scheme === 'https' });
    if (opened.status !== 'success') return { kind: 'failed', status: opened.status, error: opened.error };
    connections++;
    conn = opened.connection;
    openedAt = performance.now();
    sent = 0;
    return { conn, reused: false };
  }

  async function once(bytes: string): Promise<{ outcome: HttpOutcome; retry: boolean }> {
    const got = await connection();
    if ('kind' in got) return { outcome: got, retry: false };
    const before = got.conn.bytesReceived;
    sent++;
    const w = await got.conn.write(bytes);
    if (w.status !== 'success') {
      drop();
      return { outcome: { kind: 'failed', status: w.status, error: w.error ?? 'write failed' }, retry: got.reused };
    }
    const r = await readResponse(got.conn, limits);
    if (r.kind === 'failed') {
      drop();
      // A kept-alive connection the server closed before answering: send again on a new one (RFC 9112 §9.3.1).
      const silentClose = got.reused && got.conn.bytesReceived === before && r.status === 'connection-closed';
      return { outcome: { kind: 'failed', status: r.status, error: r.error }, retry: silentClose };
    }
    if (!reusable(r.response)) drop();
    return { outcome: { kind: 'reply', status: r.response.head.status, head: r.response.head, text: replyText(r.response), complete: r.response.complete }, retry: false };
  }

  return {
    async request(req) {
      let bytes: string;
      try {
        bytes = requestWith(fixed, req);
      } catch (e) {
        // A path or header from device input that cannot go on the wire: nothing is sent.
        return { kind: 'failed', status: 'protocol-error', error: e instanceof Error ? e.message : String(e) };
      }
      // A closed client or an aborted run sends nothing more, not even the resend of a try cut off.
      const stopped = (): HttpFailure | undefined =>
        closed ? { kind: 'failed', status: 'connection-closed', error: 'client closed' } : ctx.signal?.aborted ? { kind: 'failed', status: 'connection-closed', error: 'aborted' } : undefined;
      const before = stopped();
      if (before) return before;
      const first = await once(bytes);
      if (!first.retry) return first.outcome;
      return stopped() ?? (await once(bytes)).outcome;
    },
    get connections() {
      return connections;
    },
    close() {
      closed = true;
      drop();
    },
  };
}

/** Cookies a login collects (RFC 6265 §5.2, as far as one host and one path need). */
export interface CookieJar {
  /** Take the Set-Cookie headers of a response; returns the names set (not deleted) by it. */
  take(head: ResponseHead): string[];
  /** The Cookie header value, or undefined when the jar is empty. */
  header(): string | undefined;
  readonly names: readonly string[];
}

const maxCookies = 32;
const maxCookieChars = 4096;

/** An empty jar. */
export function createCookieJar(): CookieJar {
  const jar = new Map<string, string>();
  return {
    take(head) {
      const set: string[] = [];
      for (const line of headerValues(head, 'set-cookie')) {
        const [pair = '', ...attrs] = line.split(';');
        const eq = pair.indexOf('=');
        if (eq <= 0) continue;
        const name = pair.slice(0, eq).trim();
        const value = pair.slice(eq + 1).trim();
        if (!/^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,128}$/.test(name) || value.length > maxCookieChars || /[\r\n\0;]/.test(value)) continue;
        // Max-Age <= 0 or an Expires in the past deletes the cookie (§5.2.1, §5.2.2).
        const expired = attrs.some((a) => {
          const [k = '', v = ''] = a.split('=').map((x) => x.trim());
          if (k.toLowerCase() === 'max-age') return /^-?\d+$/.test(v) && Number(v) <= 0;
          if (k.toLowerCase() === 'expires') return Date.parse(v) < Date.now();
          return false;
        });
        if (expired || value === '') {
          jar.delete(name);
          continue;
        }
        if (!jar.has(name) && jar.size >= maxCookies) continue;
        jar.set(name, value);
        set.push(name);
      }
      return set;
    },
    header() {
      return jar.size === 0 ? undefined : [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
    },
    get names() {
      return [...jar.keys()];
    },
  };
}

/** A random control pair: a device is very unlikely to accept it unless it accepts anything. */
export function randomPair(): { readonly username: string; readonly password: string } {
  return { username: `u${randomBytes(5).toString('hex')}`, password: `p${randomBytes(9).toString('base64url')}` };
}
