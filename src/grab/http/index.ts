/**
 * http and https grab modules (default ports 80, 8080, 8000, 8081, 81, 88 / 443, 8443).
 * Sends `GET / HTTP/1.1` (Host, a neutral User-Agent, Connection: close) and records the status
 * line, headers, the page title, a bounded body excerpt, WWW-Authenticate challenges (RFC 9110
 * §11.6.1), a login form, the favicon hashes (Shodan's mmh3 and MD5), and for https the peer
 * certificate and TLS version. Redirects (3xx Location, meta refresh, a trivial script redirect)
 * are followed at most maxRedirects times and only within the same scheme, address and port;
 * a location elsewhere is recorded, not followed. The fields describe the last page reached.
 */
import type { Connection } from '../../scope/connection.js';
import type { HttpAuthChallenge, HttpFields } from '../fields.js';
import type { GrabContext, GrabModule, ModuleOutcome } from '../module.js';
import { parseAuthHeader } from '../../protocols/http-auth.js';
import { certificateFields } from './certificate.js';
import { decodeBody } from './charset.js';
import { decodeContent } from './content-coding.js';
import { fetchPath } from './client.js';
import { grabFavicon } from './favicon.js';
import { collapse, pageFacts, type PageFacts } from './html.js';
import { redirectStatuses, resolveLocation } from './redirect.js';
import { cleanText, headerRecord, headerValues, type HttpResponse, type ResponseHead } from './response.js';

/** Redirect hops followed at most. */
export const maxRedirects = 3;
/** Characters of body text kept in the observation. */
export const maxBodyExcerpt = 8 * 1024;
/** A page with less visible text than this and a script redirect is a redirect stub. */
const stubTextChars = 256;

type Scheme = 'http' | 'https';

/** One page as read: the response and what its HTML says. */
interface Page {
  readonly path: string;
  readonly response: HttpResponse;
  readonly text: string;
  readonly facts: PageFacts;
}

function pageOf(path: string, response: HttpResponse): Page {
  const { bytes } = decodeContent(response.body, headerValues(response.head, 'content-encoding').join(','));
  const { text } = decodeBody(bytes, headerValues(response.head, 'content-type')[0]);
  return { path, response, text, facts: pageFacts(text) };
}

/** The challenges of every WWW-Authenticate header (several headers, several challenges in one). */
export function challengesOf(head: ResponseHead): HttpAuthChallenge[] {
  const out: HttpAuthChallenge[] = [];
  for (const value of headerValues(head, 'www-authenticate')) {
    const parsed = parseAuthHeader(value);
    if (!parsed) {
      // Unparseable: keep at least the scheme word, which is what identification keys on.
      const scheme = /^\s*([A-Za-z][\w-]{0,31})/.exec(value)?.[1];
      if (scheme) out.push({ scheme: scheme.toLowerCase(), realm: /realm="([^"]{0,256})"/i.exec(value)?.[1] ?? null, algorithm: null });
      continue;
    }
    for (const e of parsed.slice(0, 16)) {
      out.push({ scheme: e.scheme.slice(0, 32), realm: e.params['realm'] !== undefined ? cleanText(e.params['realm']).slice(0, 256) : null, algorithm: e.params['algorithm']?.slice(0, 32) ?? null });
    }
  }
  return out;
}

/** Where the page sends the client next, if it does, as written. */
function nextLocation(page: Page): string | null {
  const { head } = page.response;
  if (redirectStatuses.has(head.status)) return headerValues(head, 'location')[0] ?? null;
  if (head.status < 200 || head.status >= 300 || page.facts.loginForm) return null;
  if (page.facts.metaRefresh) return page.facts.metaRefresh;
  return page.facts.textChars < stubTextChars ? page.facts.scriptRedirect : null;
}

/** The observation fields of the final page. */
function fieldsOf(scheme: Scheme, conn: Connection, page: Page, redirects: readonly string[], extra: { favicon: HttpFields['favicon']; notFollowed: string | null }): HttpFields {
  const { head, body, complete } = page.response;
  const headers = headerRecord(head);
  const peer = conn.tls?.peerCertificate;
  return {
    scheme,
    status: head.status,
    statusLine: head.statusLine,
    headers,
    server: headers['server'] ?? null,
    title: page.facts.title,
    body: cleanBody(page.text),
    bodyBytes: body.length,
    bodyComplete: complete,
    wwwAuthenticate: challengesOf(head),
    loginForm: page.facts.loginForm,
    favicon: extra.favicon,
    certificate: peer ? certificateFields(peer) : null,
    tlsVersion: conn.tls?.protocol ?? null,
    redirects,
    redirectNotFollowed: extra.notFollowed === null ? null : collapse(extra.notFollowed, 1024),
    path: page.path,
  };
}

/** The excerpt: bounded, NUL and other controls but tab, CR and LF replaced, a split surrogate pair dropped. */
function cleanBody(text: string): string {
  let s = text.slice(0, maxBodyExcerpt).replace(/[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]/g, '\uFFFD');
  const last = s.charCodeAt(s.length - 1);
  if (last >= 0xd800 && last <= 0xdbff) s = s.slice(0, -1);
  return s;
}

async function grabHttp(scheme: Scheme, conn: Connection, ctx: GrabContext): Promise<ModuleOutcome> {
  const first = await fetchPath(conn, scheme, ctx.target, '/');
  if (first.kind === 'failed') {
    const fields = first.partial ? { scheme, status: first.partial.status, statusLine: first.partial.statusLine, headers: headerRecord(first.partial), server: headerValues(first.partial, 'server')[0] ?? null, path: '/' } : {};
    return { status: first.status, recognised: first.recognised, fields, error: first.error };
  }
  let page = pageOf('/', first.response);
  const redirects: string[] = [];
  const visited = new Set(['/']);
  let notFollowed: string | null = null;
  const errors: string[] = page.response.bodyError ? [page.response.bodyError] : [];
  for (let hop = 0; ; hop++) {
    const location = nextLocation(page);
    if (location === null) break;
    const resolved = resolveLocation(location, scheme, ctx.target, page.path);
    if (!resolved.sameHost || visited.has(resolved.path) || hop >= maxRedirects) {
      notFollowed = location;
      break;
    }
    visited.add(resolved.path);
    const opened = await ctx.reconnect({ tls: scheme === 'https' });
    if (opened.status !== 'success') {
      errors.push(`redirect to ${resolved.path}: ${opened.error}`);
      break;
    }
    const r = await fetchPath(opened.connection, scheme, ctx.target, resolved.path);
    if (r.kind === 'failed') {
      errors.push(`redirect to ${resolved.path}: ${r.error}`);
      break;
    }
    redirects.push(resolved.path);
    page = pageOf(resolved.path, r.response);
  }
  const favicon = await grabFavicon(scheme, ctx, page.path, page.facts.iconHref);
  const fields = fieldsOf(scheme, conn, page, redirects, { favicon, notFollowed });
  // The peer answered in HTTP: the grab succeeded even when the body was cut (noted in error and bodyComplete).
  return { status: 'success', recognised: true, fields: { ...fields }, ...(errors.length > 0 ? { error: errors.join('; ') } : {}) };
}

const startsWith = (prefix: string) => (firstBytes: Buffer) => firstBytes.subarray(0, prefix.length).toString('latin1') === prefix;

/** Plain HTTP. */
export const httpModule: GrabModule = {
  name: 'http',
  description: 'GET / (redirects within the host, favicon): status, headers, title, body excerpt, auth challenges, login form, favicon hashes',
  defaultPorts: [80, 8080, 8000, 8081, 81, 88],
  tls: false,
  recognise: startsWith('HTTP/'),
  grab: (conn, ctx) => grabHttp('http', conn, ctx),
};

/** HTTP over TLS: the same fields, plus the certificate and TLS version. */
export const httpsModule: GrabModule = {
  name: 'https',
  description: 'TLS, then GET / as http does: the same fields plus certificate (subject, issuer, SAN, validity, self-signed, SHA-256) and TLS version',
  defaultPorts: [443, 8443],
  tls: true,
  recognise: startsWith('HTTP/'),
  grab: (conn, ctx) => grabHttp('https', conn, ctx),
};
