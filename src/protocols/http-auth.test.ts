import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createRng } from '../core/rng.js';
import {
  digestAlgorithm,
  digestAuthorization,
  digestChallengesOf,
  digestResponse,
  parseAuthHeader,
  parseDigestCredentials,
  quoteString,
} from './http-auth.js';

const md5 = (s: string): string => createHash('md5').update(s).digest('hex');

describe('parseAuthHeader (RFC 9110 §11)', () => {
  it('splits several challenges joined in one value, as Node joins repeated headers', () => {
    const v = 'Digest realm="cam, 1", qop="auth", nonce="abc", algorithm=SHA-256, Digest realm="cam, 1", nonce="abc", algorithm=MD5, Basic realm="cam"';
    expect(parseAuthHeader(v)).toEqual([
      { scheme: 'digest', params: { realm: 'cam, 1', qop: 'auth', nonce: 'abc', algorithm: 'SHA-256' } },
      { scheme: 'digest', params: { realm: 'cam, 1', nonce: 'abc', algorithm: 'MD5' } },
      { scheme: 'basic', params: { realm: 'cam' } },
    ]);
  });

  it('reads token68 credentials, bare schemes, escapes and odd spacing', () => {
    expect(parseAuthHeader('Basic YWRtaW46YWRtaW4=')).toEqual([{ scheme: 'basic', params: {}, token68: 'YWRtaW46YWRtaW4=' }]);
    expect(parseAuthHeader('Negotiate, Basic realm=x')).toEqual([
      { scheme: 'negotiate', params: {} },
      { scheme: 'basic', params: { realm: 'x' } },
    ]);
    expect(parseAuthHeader('DIGEST  Username = "a\\"b\\\\" ,,realm=r')).toEqual([{ scheme: 'digest', params: { username: 'a"b\\', realm: 'r' } }]);
    expect(parseAuthHeader('')).toEqual([]);
  });

  it('refuses broken syntax without throwing', () => {
    for (const bad of ['Digest realm="unterminated', 'Digest =x', 'Digest realm="a" junk', 'Basic abc, realm=x', '"quoted"']) {
      expect(parseAuthHeader(bad), bad).toBeUndefined();
    }
    expect(parseAuthHeader(`Digest realm="${'a'.repeat(9000)}"`)).toBeUndefined();
    // Syntactically a token68, not an empty parameter: no Digest parameters come out of it.
    expect(parseAuthHeader('Digest realm=')).toEqual([{ scheme: 'digest', params: {}, token68: 'realm=' }]);
    expect(parseDigestCredentials('Digest realm=')).toBeUndefined();
  });

  it('never throws on random header text (seeded fuzz)', () => {
    const rng = createRng('auth-header-fuzz');
    const alphabet = 'Digest Basic usernamerealmnonceqop=",\\ \t*\'%UTF-8abc0123=+/';
    for (let i = 0; i < 5000; i++) {
      let text = i % 2 ? 'Digest ' : '';
      const len = rng.int(120);
      for (let k = 0; k < len; k++) text += alphabet[rng.int(alphabet.length)];
      const parsed = parseAuthHeader(text);
      if (parsed) for (const e of parsed) expect(e.scheme).toMatch(/^[!#$%&'*+\-.^_`|~0-9a-z]+$/);
    }
  });

  it('quotes so that parsing gives the text back', () => {
    for (const text of ['plain', 'with "quotes"', 'back\\slash', 'comma, and = sign', '']) {
      expect(parseAuthHeader(`Digest realm=${quoteString(text)}`)?.[0]?.params['realm']).toBe(text);
    }
  });
});

describe('Digest (RFC 7616)', () => {
  it('computes the RFC 7616 §3.9.1 example for MD5 and SHA-256', () => {
    const input = {
      username: 'Mufasa',
      password: 'Circle of Life',
      realm: 'http-auth@example.org',
      method: 'GET',
      uri: '/dir/index.html',
      nonce: '7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v',
      nc: '00000001',
      cnonce: 'f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ',
      qop: 'auth',
    };
    expect(digestResponse('MD5', input)).toBe('8ca523f5e9506fed4657c9700eebdbec');
    expect(digestResponse('SHA-256', input)).toBe('753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1');
  });

  it('computes the RFC 2617 §3.5 example, the RFC 2069 form and a -sess variant', () => {
    const base = { username: 'Mufasa', password: 'Circle Of Life', realm: 'testrealm@host.com', method: 'GET', uri: '/dir/index.html', nonce: 'dcd98b7102dd2f0e8b11d0f600bfb0c093' };
    expect(digestResponse('MD5', { ...base, qop: 'auth', nc: '00000001', cnonce: '0a4f113b' })).toBe('6629fae49393a05397450978507c4ef1');
    const ha1 = md5('Mufasa:testrealm@host.com:Circle Of Life');
    const ha2 = md5('GET:/dir/index.html');
    expect(digestResponse('MD5', base)).toBe(md5(`${ha1}:${base.nonce}:${ha2}`));
    const sess = md5(`${ha1}:${base.nonce}:c`);
    expect(digestResponse('MD5-sess', { ...base, qop: 'auth', nc: '00000002', cnonce: 'c' })).toBe(md5(`${sess}:${base.nonce}:00000002:c:auth:${ha2}`));
  });

  it('knows the algorithm names case-insensitively, MD5 when absent', () => {
    expect(digestAlgorithm(undefined)).toBe('MD5');
    expect(digestAlgorithm('sha-256')).toBe('SHA-256');
    expect(digestAlgorithm('SHA-512-256-sess')).toBe('SHA-512-256-sess');
    expect(digestAlgorithm('SHA-1')).toBeUndefined();
  });

  it('reads challenges as a client and answers them in the form the challenge asks for', () => {
    const value = 'Digest realm="r", qop="auth,auth-int", nonce="n1", opaque="o", algorithm=SHA-256, Digest realm="r", nonce="n2", stale=TRUE, Digest realm="r", nonce="n3", algorithm=SHA-1, Basic realm="r"';
    const [sha, plain, ...rest] = digestChallengesOf(value);
    expect(rest).toEqual([]); // SHA-1 is not an RFC 7616 algorithm; Basic is not Digest
    expect(sha).toEqual({ realm: 'r', nonce: 'n1', opaque: 'o', algorithm: 'SHA-256', qop: ['auth', 'auth-int'], stale: false });
    expect(plain).toEqual({ realm: 'r', nonce: 'n2', algorithm: 'MD5', qop: [], stale: true });
    if (!sha || !plain) return;

    const request = { username: 'ad"min', password: 'pw', method: 'GET', uri: '/a?b=c', cnonce: 'cn', nc: 2 };
    const withQop = parseDigestCredentials(digestAuthorization(sha, request));
    expect(withQop).toMatchObject({ username: 'ad"min', realm: 'r', nonce: 'n1', uri: '/a?b=c', algorithm: 'SHA-256', qop: 'auth', nc: '00000002', cnonce: 'cn', opaque: 'o' });
    expect(withQop?.['response']).toBe(
      digestResponse('SHA-256', { username: 'ad"min', realm: 'r', password: 'pw', method: 'GET', uri: '/a?b=c', nonce: 'n1', nc: '00000002', cnonce: 'cn', qop: 'auth' }),
    );
    const rfc2069 = parseDigestCredentials(digestAuthorization(plain, request));
    expect(rfc2069?.['qop']).toBeUndefined();
    expect(rfc2069?.['response']).toBe(md5(`${md5('ad"min:r:pw')}:n2:${md5('GET:/a?b=c')}`));
  });

  it('reads server-side credentials: one Digest element only, username* decoded', () => {
    const p = parseDigestCredentials('Digest username="a\\"b", realm="x, y", nc=00000001, qop=auth');
    expect(p).toEqual({ username: 'a"b', realm: 'x, y', nc: '00000001', qop: 'auth' });
    expect(parseDigestCredentials("Digest username*=UTF-8''%E7%AE%A1%E7%90%86, realm=\"r\"")?.['username']).toBe('管理');
    expect(parseDigestCredentials("Digest username*=UTF-8''%E7%AE, realm=\"r\"")).toBeUndefined();
    expect(parseDigestCredentials('Basic YWJj')).toBeUndefined();
    expect(parseDigestCredentials('Digest realm="a", Basic realm="b"')).toBeUndefined();
    expect(parseDigestCredentials('Digest realm="unterminated')).toBeUndefined();
  });
});
