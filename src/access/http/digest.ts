/**
 * HTTP Digest access module (RFC 7616): answer the strongest challenge offered (SHA-512-256, then
 * SHA-256, then MD5; -sess variants hash the client nonce into A1, §3.4.2) with qop=auth when
 * offered, else the RFC 2069 form. Each 401 brings a new nonce, which the next try uses (nc back
 * to 1); a reused nonce counts nc up (§3.4: the server may check it never repeats). A 401 with
 * stale=true (§3.3) means only the nonce was old: the same pair is sent again with the new one and
 * is not counted as a failure. Offering SHA-256 before MD5 is normal (§3.7), and must work.
 */
import { randomBytes } from 'node:crypto';
import type { AccessModule } from '../module.js';
import { headerValues } from '../../grab/http/response.js';
import { digestAuthorization, digestChallengesOf, type DigestAlgorithm, type DigestChallenge } from '../../protocols/http-auth.js';
import { runChallenge, type ChallengeScheme } from './challenge.js';
import type { HttpReply } from './client.js';
import { challengedPage } from './common.js';

/** Client nonces (§3.4: unpredictable) from a pool of random bytes, refilled as it runs out: one system call per 256 tries. */
const cnoncePool = { bytes: Buffer.alloc(0), at: 0 };
function cnonce(): string {
  if (cnoncePool.at + 12 > cnoncePool.bytes.length) [cnoncePool.bytes, cnoncePool.at] = [randomBytes(12 * 256), 0];
  const hex = cnoncePool.bytes.toString('hex', cnoncePool.at, cnoncePool.at + 12);
  cnoncePool.at += 12;
  return hex;
}

const strength: Readonly<Record<DigestAlgorithm, number>> = { MD5: 1, 'MD5-sess': 1, 'SHA-256': 2, 'SHA-256-sess': 2, 'SHA-512-256': 3, 'SHA-512-256-sess': 3 };

/** The Digest challenges of a response, in the server's order. */
export function challengesOfReply(reply: HttpReply): DigestChallenge[] {
  return headerValues(reply.head, 'www-authenticate').flatMap((v) => digestChallengesOf(v)).slice(0, 16);
}

/**
 * The challenge to answer: one this client can answer (qop "auth", or no qop at all: auth-int alone
 * needs the body), the strongest hash first, the server's order among equals.
 */
export function pickChallenge(challenges: readonly DigestChallenge[]): DigestChallenge | undefined {
  const usable = challenges.filter((c) => c.qop.length === 0 || c.qop.includes('auth'));
  let best: DigestChallenge | undefined;
  for (const c of usable) if (!best || strength[c.algorithm] > strength[best.algorithm]) best = c;
  return best;
}

/**
 * A Digest client state for one session: the current challenge and its nonce count. The sessions
 * of one run share `owners` (nonce → the session answering it): a nonce is answered by one session
 * only, since two counting nc on one nonce would repeat counts or send them out of order, and a
 * server checking them (§3.4, §5.12 replay) would refuse a right pair. A session handed a nonce
 * another holds (a server-wide nonce) is not `usable` and leaves the list to the holder.
 */
function digestScheme(owners: Map<string, object> = new Map()): ChallengeScheme {
  const me = {};
  let current: DigestChallenge | undefined;
  let nc = 0;
  // accept and stale read the same 401 in turn: it is parsed once.
  let parsedFor: HttpReply | undefined;
  let parsed: DigestChallenge[] = [];
  const challenges = (reply: HttpReply): DigestChallenge[] => {
    if (reply !== parsedFor) [parsedFor, parsed] = [reply, challengesOfReply(reply)];
    return parsed;
  };
  const release = (): void => {
    if (current && owners.get(current.nonce) === me) owners.delete(current.nonce);
  };
  return {
    name: 'Digest',
    accept(reply) {
      const all = challenges(reply);
      // Keep the algorithm chosen first when the server offers it again; its nonce is the new one.
      const next = (current && all.find((c) => c.algorithm === current?.algorithm && c.realm === current.realm)) ?? pickChallenge(all);
      if (!next) return false;
      if (!current || next.nonce !== current.nonce) {
        release();
        nc = 0;
      }
      current = next;
      if (!owners.has(next.nonce)) owners.set(next.nonce, me);
      return true;
    },
    authorization(pair, uri) {
      if (!current) throw new Error('digest: no challenge yet');
      nc++;
      return digestAuthorization(current, { username: pair.username, password: pair.password, method: 'GET', uri, cnonce: cnonce(), nc });
    },
    stale: (reply) => challenges(reply).some((c) => c.stale),
    usable() {
      if (!current) return false;
      // A nonce its holder let go of is free again.
      if (!owners.has(current.nonce)) owners.set(current.nonce, me);
      return owners.get(current.nonce) === me;
    },
    done: release,
    // Another session gets its own 401 and nonce (the owners map keeps two from sharing one).
    fork: () => ({ scheme: digestScheme(owners), needsChallenge: true }),
  };
}

/** HTTP Digest: applies where the grab saw a 401 with a Digest challenge. */
export const httpDigestAccess: AccessModule = {
  protocol: 'http-digest',
  description: 'HTTP Digest (RFC 7616: MD5, SHA-256, SHA-512-256 and -sess, qop=auth): the strongest challenge, fresh nonces, stale=true retried; a 2xx the control pair did not get is a login',
  applies: (target) => challengedPage(target, 'digest') !== undefined,
  async run(target, credentials, ctx) {
    const page = challengedPage(target, 'digest');
    if (!page) return { verdict: 'unsupported', entry: null, attempts: [], reason: 'no Digest challenge in the observations' };
    return runChallenge(digestScheme(), page, target, credentials, ctx);
  },
};
