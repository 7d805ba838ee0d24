/**
 * HTTP authentication codecs shared by the lab's HTTP and RTSP servers and the survey's clients:
 * the challenge/credentials syntax of RFC 9110 §11 (which RTSP, RFC 2326, borrows), and the
 * Digest computation of RFC 7616 (which obsoletes RFC 2617), including the RFC 2069 form without
 * qop that cameras and RTSP clients still use. Pure functions over strings: no sockets, no state.
 */
import { createHash } from 'node:crypto';

/** One challenge (WWW-Authenticate) or credentials (Authorization) element. */
export interface AuthElement {
  /** The scheme, lower-cased ("digest", "basic"); schemes are case-insensitive. */
  readonly scheme: string;
  /** auth-params by lower-cased name; quoted values unquoted. */
  readonly params: Readonly<Record<string, string>>;
  /** The token68 form ("Basic YWRtaW46YWRtaW4="), when the element has one instead of params. */
  readonly token68?: string;
}

/** Longest header value parsed; a device's challenges fit in far less. */
const maxHeaderLength = 8192;

const tchar = /[!#$%&'*+\-.^_`|~0-9A-Za-z]/;
const token68char = /[A-Za-z0-9\-._~+/]/;
const isOws = (c: string | undefined): boolean => c === ' ' || c === '\t';

/**
 * Parse a WWW-Authenticate or Authorization value: a comma list of challenges, each a scheme
 * followed by a token68 or by auth-params (RFC 9110 §11.6.1). Several challenges may share one
 * value, as Node joins repeated WWW-Authenticate headers with ", ". Returns undefined on a syntax
 * error, never throws.
 */
export function parseAuthHeader(value: string | undefined): AuthElement[] | undefined {
  if (value === undefined || value.length > maxHeaderLength) return undefined;
  const s = value;
  const out: { scheme: string; params: Record<string, string>; token68?: string }[] = [];
  let i = 0;
  const token = (): string => {
    const start = i;
    while (i < s.length && tchar.test(s[i] ?? '')) i++;
    return s.slice(start, i);
  };
  const skipOws = (): void => {
    while (isOws(s[i])) i++;
  };
  // Each round consumes at least one character or returns, so the loop ends.
  while (i < s.length) {
    while (isOws(s[i]) || s[i] === ',') i++;
    if (i >= s.length) break;
    const name = token();
    if (!name) return undefined;
    skipOws();
    const current = out[out.length - 1];
    if (s[i] === '=' && current && current.token68 === undefined) {
      // An auth-param of the current challenge.
      i++;
      skipOws();
      let v: string;
      if (s[i] === '"') {
        i++;
        v = '';
        while (i < s.length && s[i] !== '"') {
          if (s[i] === '\\' && i + 1 < s.length) i++; // quoted-pair
          v += s[i];
          i++;
        }
        if (s[i] !== '"') return undefined;
        i++;
      } else {
        // RFC 9110 wants a token here; devices also send bare URIs and the like, so read up to the
        // next comma or space.
        const start = i;
        while (i < s.length && s[i] !== ',' && s[i] !== '"' && !isOws(s[i])) i++;
        v = s.slice(start, i);
        if (!v) return undefined;
      }
      current.params[name.toLowerCase()] = v;
    } else {
      // A new scheme; what follows is a token68, auth-params, or nothing.
      const element: { scheme: string; params: Record<string, string>; token68?: string } = { scheme: name.toLowerCase(), params: {} };
      out.push(element);
      const start = i;
      while (i < s.length && token68char.test(s[i] ?? '')) i++;
      while (s[i] === '=') i++;
      const end = i;
      skipOws();
      if (end > start && (i >= s.length || s[i] === ',')) {
        element.token68 = s.slice(start, end);
      } else {
        i = start; // not a token68: read it again as the first auth-param
        continue;
      }
    }
    skipOws();
    if (i < s.length && s[i] !== ',') return undefined;
  }
  return out;
}

/** Quote a value as an RFC 9110 quoted-string. */
export function quoteString(text: string): string {
  return `"${text.replace(/["\\]/g, (c) => `\\${c}`)}"`;
}

/** RFC 7616 §3.3 algorithms; a `-sess` variant hashes the client nonce into A1. */
export const digestAlgorithms = ['MD5', 'MD5-sess', 'SHA-256', 'SHA-256-sess', 'SHA-512-256', 'SHA-512-256-sess'] as const;
export type DigestAlgorithm = (typeof digestAlgorithms)[number];

const hashName: Readonly<Record<string, string>> = { MD5: 'md5', 'SHA-256': 'sha256', 'SHA-512-256': 'sha512-256' };

/** The algorithm a header names (case-insensitive; absent means MD5), or undefined if unknown. */
export function digestAlgorithm(text: string | undefined): DigestAlgorithm | undefined {
  if (text === undefined) return 'MD5';
  return digestAlgorithms.find((a) => a.toLowerCase() === text.toLowerCase());
}

function h(alg: DigestAlgorithm, text: string): string {
  const name = hashName[alg.replace(/-sess$/, '')] ?? 'md5';
  return createHash(name).update(text, 'utf8').digest('hex');
}

/** What a Digest request-digest is computed from. */
export interface DigestInput {
  readonly username: string;
  readonly realm: string;
  readonly password: string;
  readonly method: string;
  readonly uri: string;
  readonly nonce: string;
  readonly nc?: string;
  readonly cnonce?: string;
  /** 'auth', or undefined for the RFC 2069 form. */
  readonly qop?: string;
}

/** The request-digest a client with this password sends (RFC 7616 §3.4.1). */
export function digestResponse(alg: DigestAlgorithm, p: DigestInput): string {
  const base = h(alg, `${p.username}:${p.realm}:${p.password}`);
  // §3.4.2: a -sess algorithm binds A1 to this nonce and client nonce.
  const ha1 = alg.endsWith('-sess') ? h(alg, `${base}:${p.nonce}:${p.cnonce ?? ''}`) : base;
  const ha2 = h(alg, `${p.method}:${p.uri}`);
  // Without qop this is the RFC 2069 compatibility form.
  return p.qop ? h(alg, `${ha1}:${p.nonce}:${p.nc ?? ''}:${p.cnonce ?? ''}:${p.qop}:${ha2}`) : h(alg, `${ha1}:${p.nonce}:${ha2}`);
}

/** A Digest challenge as a client reads it (RFC 7616 §3.3). */
export interface DigestChallenge {
  readonly realm: string;
  readonly nonce: string;
  readonly opaque?: string;
  readonly algorithm: DigestAlgorithm;
  /** qop values offered ("auth", "auth-int"); empty for the RFC 2069 form. */
  readonly qop: readonly string[];
  readonly stale: boolean;
}

/**
 * The Digest challenges of a WWW-Authenticate value, in the server's order of preference. A
 * challenge without realm or nonce, or with an algorithm this codec does not know, is skipped.
 */
export function digestChallengesOf(value: string | undefined): DigestChallenge[] {
  const out: DigestChallenge[] = [];
  for (const e of parseAuthHeader(value) ?? []) {
    if (e.scheme !== 'digest') continue;
    const { realm, nonce, opaque } = e.params;
    const algorithm = digestAlgorithm(e.params['algorithm']);
    if (realm === undefined || !nonce || !algorithm) continue;
    const qop = (e.params['qop'] ?? '').split(',').map((q) => q.trim().toLowerCase()).filter((q) => q !== '');
    out.push({ realm, nonce, algorithm, qop, stale: e.params['stale']?.toLowerCase() === 'true', ...(opaque !== undefined ? { opaque } : {}) });
  }
  return out;
}

/**
 * The Authorization value answering a challenge: qop=auth when offered (auth-int is not
 * supported: it needs the body), the RFC 2069 form when no qop is offered.
 */
export function digestAuthorization(
  challenge: DigestChallenge,
  request: { readonly username: string; readonly password: string; readonly method: string; readonly uri: string; readonly cnonce: string; readonly nc?: number },
): string {
  const qop = challenge.qop.includes('auth') ? 'auth' : undefined;
  const nc = (request.nc ?? 1).toString(16).padStart(8, '0');
  const response = digestResponse(challenge.algorithm, {
    username: request.username,
    realm: challenge.realm,
    password: request.password,
    method: request.method,
    uri: request.uri,
    nonce: challenge.nonce,
    ...(qop ? { qop, nc, cnonce: request.cnonce } : {}),
  });
  const parts = [
    `username=${quoteString(request.username)}`,
    `realm=${quoteString(challenge.realm)}`,
    `nonce=${quoteString(challenge.nonce)}`,
    `uri=${quoteString(request.uri)}`,
    `algorithm=${challenge.algorithm}`,
    `response=${quoteString(response)}`,
  ];
  if (qop) parts.push(`qop=${qop}`, `nc=${nc}`, `cnonce=${quoteString(request.cnonce)}`);
  if (challenge.opaque !== undefined) parts.push(`opaque=${quoteString(challenge.opaque)}`);
  return `Digest ${parts.join(', ')}`;
}

/**
 * The parameters of an `Authorization: Digest ...` value, as a server reads them. Returns undefined
 * when it is not exactly one Digest credentials element. RFC 7616 §3.4.4: `username*` carries a
 * non-ASCII name in RFC 8187 encoding and is decoded into `username`.
 */
export function parseDigestCredentials(value: string | undefined): Readonly<Record<string, string>> | undefined {
  const list = parseAuthHeader(value);
  const [only] = list ?? [];
  if (list?.length !== 1 || !only || only.scheme !== 'digest' || only.token68 !== undefined) return undefined;
  const out: Record<string, string> = { ...only.params };
  const ext = out['username*'];
  if (out['username'] === undefined && ext) {
    const m = /^UTF-8'[^']*'(.*)$/i.exec(ext);
    if (m?.[1] !== undefined) {
      try {
        out['username'] = decodeURIComponent(m[1]);
      } catch {
        return undefined;
      }
    }
  }
  return out;
}
