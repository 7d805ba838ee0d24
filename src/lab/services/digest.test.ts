import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { checkNonce, digestChallenges, makeNonce, nonceLifetimeMs, verifyDigest } from './digest.js';
import { digestAuthorization, digestChallengesOf, parseDigestCredentials } from '../../protocols/http-auth.js';
import type { LabCredential } from '../types.js';

const md5 = (s: string): string => createHash('md5').update(s).digest('hex');
const creds: readonly LabCredential[] = [{ username: 'admin', password: 'admin' }];
const login = (username: string, matches: (c: LabCredential) => boolean): boolean => creds.some((c) => c.username === username && matches(c));

describe('digest helpers', () => {
  it('tells fresh, stale and forged nonces apart', () => {
    const now = Date.now();
    expect(checkNonce(makeNonce('r', now), 'r', now)).toBe('fresh');
    expect(checkNonce(makeNonce('r', now - nonceLifetimeMs - 1000), 'r', now)).toBe('stale');
    expect(checkNonce(makeNonce('r', now), 'other realm', now)).toBe('invalid');
    expect(checkNonce('deadbeef', 'r', now)).toBe('invalid');
  });

  it('answers a correct response on a stale nonce with "stale", not as a failure', () => {
    const nonce = makeNonce('r', Date.now() - nonceLifetimeMs - 1000);
    const response = md5(`${md5('admin:r:admin')}:${nonce}:${md5('GET:/')}`);
    const params = { username: 'admin', realm: 'r', nonce, uri: '/', response };
    let failures = 0;
    const counting = (u: string, m: (c: LabCredential) => boolean): boolean => login(u, m) || (failures++, false);
    const req = { method: 'GET', uri: '/', realm: 'r', algorithms: ['MD5'] as const, requireQop: false };
    expect(verifyDigest(params, req, counting, creds).kind).toBe('stale');
    expect(failures).toBe(0);
    expect(verifyDigest({ ...params, response: '0'.repeat(32) }, req, counting, creds).kind).toBe('fail');
    expect(failures).toBe(1);
  });

  it('marks a stale challenge', () => {
    const [c] = digestChallenges('r', ['MD5'], { stale: true });
    expect(c).toMatch(/^Digest realm="r", qop="auth", nonce="[^"]+", algorithm=MD5, stale=true$/);
  });

  it('accepts what the shared client codec answers to its challenges, for each algorithm', () => {
    for (const alg of ['MD5', 'SHA-256'] as const) {
      for (const qop of [true, false]) {
        const [challenge] = digestChallengesOf(digestChallenges('r "q"', [alg], { qop }).join(', '));
        expect(challenge).toBeDefined();
        if (!challenge) continue;
        const header = digestAuthorization(challenge, { username: 'admin', password: 'admin', method: 'GET', uri: '/x', cnonce: 'c0ffee' });
        const params = parseDigestCredentials(header) ?? {};
        const req = { method: 'GET', uri: '/x', realm: 'r "q"', algorithms: [alg], requireQop: qop };
        expect(verifyDigest(params, req, login, creds).kind, `${alg} qop=${qop}`).toBe('ok');
        const wrong = parseDigestCredentials(digestAuthorization(challenge, { username: 'admin', password: 'nope', method: 'GET', uri: '/x', cnonce: 'c' })) ?? {};
        expect(verifyDigest(wrong, req, login, creds).kind).toBe('fail');
      }
    }
  });
});
