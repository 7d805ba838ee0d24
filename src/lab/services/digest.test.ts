import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { checkNonce, digestChallenges, makeNonce, nonceLifetimeMs, parseDigestAuthorization, verifyDigest } from './digest.js';
import type { LabCredential } from '../types.js';
import { createRng } from '../../core/rng.js';

const md5 = (s: string): string => createHash('md5').update(s).digest('hex');
const creds: readonly LabCredential[] = [{ username: 'admin', password: 'admin' }];
const login = (username: string, matches: (c: LabCredential) => boolean): boolean => creds.some((c) => c.username === username && matches(c));

describe('digest helpers', () => {
  it('parses quoted strings with commas and escapes, and username*', () => {
    const p = parseDigestAuthorization('Digest username="a\\"b", realm="x, y", nc=00000001, qop=auth');
    expect(p).toEqual({ username: 'a"b', realm: 'x, y', nc: '00000001', qop: 'auth' });
    expect(parseDigestAuthorization("Digest username*=UTF-8''%E7%AE%A1%E7%90%86, realm=\"r\"")?.['username']).toBe('管理');
    expect(parseDigestAuthorization('Basic YWJj')).toBeUndefined();
    expect(parseDigestAuthorization('Digest realm="unterminated')).toBeUndefined();
  });

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

  it('never throws on random header text (seeded fuzz)', () => {
    const rng = createRng('digest-fuzz');
    const alphabet = 'Digest usernamerealmnoncequri=",\\ \t*\'%UTF-8abc0123';
    for (let i = 0; i < 5000; i++) {
      let text = i % 2 ? 'Digest ' : '';
      const len = rng.int(120);
      for (let k = 0; k < len; k++) text += alphabet[rng.int(alphabet.length)];
      const parsed = parseDigestAuthorization(text);
      if (parsed) expect(typeof parsed).toBe('object');
    }
  });
});
