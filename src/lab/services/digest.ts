/**
 * The lab's side of HTTP Digest access authentication (RFC 7616), shared by the HTTP and RTSP
 * handlers: issuing challenges and nonces, and checking credentials against a device's login
 * rules. The protocol itself (header syntax, the digest computation) is src/protocols/http-auth.ts,
 * which the survey's clients use too. Devices offer MD5 and SHA-256, qop=auth, and the RFC 2069
 * form without qop that many RTSP clients and old cameras still use.
 *
 * Nonces are stateless (RFC 7616 §3.3 suggests time-stamp + H(time-stamp ":" secret)): the device
 * can tell a nonce it issued that has expired (answer stale=true, so the client retries without
 * asking the user again) from one it never issued.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { digestAlgorithm, digestResponse, quoteString, type DigestAlgorithm } from '../../protocols/http-auth.js';
import type { LabCredential } from '../types.js';

/** The algorithms a lab device may offer (a profile's `algorithms` banner). */
export type LabDigestAlgorithm = Extract<DigestAlgorithm, 'MD5' | 'SHA-256'>;

/** Per-process secret: nonces are only good on the process (shard) that issued them. */
const secret = randomBytes(32);

/** How long a nonce stays fresh; an older one is answered with stale=true. */
export const nonceLifetimeMs = 300_000;

function nonceMac(issued: string, realm: string): string {
  return createHmac('sha256', secret).update(`${issued}:${realm}`).digest('base64url').slice(0, 22);
}

/** A fresh nonce bound to a realm. */
export function makeNonce(realm: string, now = Date.now()): string {
  const issued = now.toString(16);
  return `${issued}${nonceMac(issued, realm)}`;
}

/** Classify a nonce presented by a client. */
export function checkNonce(nonce: string, realm: string, now = Date.now()): 'fresh' | 'stale' | 'invalid' {
  const m = /^([0-9a-f]{1,13})([A-Za-z0-9_-]{22})$/.exec(nonce);
  if (!m || !m[1] || !m[2]) return 'invalid';
  if (!safeEqual(m[2], nonceMac(m[1], realm))) return 'invalid';
  const issued = parseInt(m[1], 16);
  if (issued > now + 1000) return 'invalid';
  return now - issued > nonceLifetimeMs ? 'stale' : 'fresh';
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Parse the algorithm list of a profile ("SHA-256,MD5"); default MD5, as most devices offer. */
export function parseAlgorithms(text: string | undefined): readonly LabDigestAlgorithm[] {
  const list = (text ?? 'MD5').split(',').filter((a): a is LabDigestAlgorithm => a === 'MD5' || a === 'SHA-256');
  return list.length > 0 ? list : ['MD5'];
}

/**
 * WWW-Authenticate challenge values, one per algorithm, preferred first (RFC 7616 §3.7: a server
 * offering several algorithms sends one challenge for each).
 */
export function digestChallenges(
  realm: string,
  algorithms: readonly LabDigestAlgorithm[],
  opts: { readonly stale?: boolean; readonly qop?: boolean; readonly now?: number } = {},
): string[] {
  const nonce = makeNonce(realm, opts.now);
  return algorithms.map((alg) => {
    const parts = [`realm=${quoteString(realm)}`];
    if (opts.qop !== false) parts.push('qop="auth"');
    parts.push(`nonce="${nonce}"`, `algorithm=${alg}`);
    if (opts.stale) parts.push('stale=true');
    return `Digest ${parts.join(', ')}`;
  });
}

/** Outcome of checking a Digest Authorization header. */
export type DigestVerdict =
  | { readonly kind: 'ok'; readonly username: string }
  | { readonly kind: 'stale' }
  | { readonly kind: 'fail'; readonly username?: string };

/**
 * Check a Digest Authorization against the device's login rules. `login` is the device's
 * checkLoginWith, so lockout and honeypot apply and failures are counted. A stale nonce with a
 * correct response is not a failure: the client is told to retry with a fresh nonce.
 */
export function verifyDigest(
  params: Readonly<Record<string, string>>,
  req: {
    readonly method: string;
    readonly uri: string;
    readonly realm: string;
    readonly algorithms: readonly LabDigestAlgorithm[];
    readonly requireQop: boolean;
  },
  login: (username: string, matches: (c: LabCredential) => boolean) => boolean,
  credentials: readonly LabCredential[],
): DigestVerdict {
  const { username, nonce, uri, response } = params;
  const alg = digestAlgorithm(params['algorithm']);
  const qop = params['qop'];
  if (username === undefined || !nonce || !uri || !response) return { kind: 'fail' };
  if (alg === undefined || !req.algorithms.some((a) => a === alg)) return { kind: 'fail', username };
  if (params['realm'] !== req.realm) return { kind: 'fail', username };
  // RFC 7616 §3.4.6: the uri must name the request target, or a response could be replayed elsewhere.
  if (uri !== req.uri) return { kind: 'fail', username };
  if (qop !== undefined && qop !== 'auth') return { kind: 'fail', username };
  if (qop === undefined && req.requireQop) return { kind: 'fail', username };
  if (qop && (!params['nc'] || !/^[0-9a-fA-F]{8}$/.test(params['nc']) || !params['cnonce'])) return { kind: 'fail', username };
  const matches = (c: LabCredential): boolean =>
    safeEqual(
      digestResponse(alg, {
        username: c.username,
        realm: req.realm,
        password: c.password,
        method: req.method,
        uri,
        nonce,
        ...(params['nc'] !== undefined ? { nc: params['nc'] } : {}),
        ...(params['cnonce'] !== undefined ? { cnonce: params['cnonce'] } : {}),
        ...(qop !== undefined ? { qop } : {}),
      }),
      response.toLowerCase(),
    );
  const freshness = checkNonce(nonce, req.realm);
  if (freshness === 'invalid') return { kind: 'fail', username };
  if (freshness === 'stale') {
    if (credentials.some((c) => c.username === username && matches(c))) return { kind: 'stale' };
    login(username, () => false);
    return { kind: 'fail', username };
  }
  return login(username, matches) ? { kind: 'ok', username } : { kind: 'fail', username };
}
