/** Page facts (title, login form, redirects, icon), charset and content decoding, redirect resolution, and seeded fuzz of each. */
import * as z from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { createRng } from '../../core/rng.js';
import { decodeBody } from './charset.js';
import { decodeContent } from './content-coding.js';
import { pageFacts, refreshUrl, scriptRedirectOf } from './html.js';
import { resolveLocation } from './redirect.js';

describe('pageFacts', () => {
  it('takes the first title as text: entities decoded, whitespace collapsed, a <script> inside kept as text', () => {
    const f = pageFacts('<html><head><title>\n  Aterm&nbsp;WG1200 &amp; <script>alert(1)</script>\t</title><title>second</title>');
    expect(f.title).toBe('Aterm WG1200 & <script>alert(1)</script>');
  });

  it('finds a login form with its action, method and fields', () => {
    const f = pageFacts('<form action="/login.cgi" METHOD="POST"><input name="user"><INPUT type="Password" name="pass"><input type=hidden name=token><select name=lang></select></form>');
    expect(f.loginForm).toEqual({
      action: '/login.cgi',
      method: 'post',
      fields: [
        { name: 'user', type: 'text' },
        { name: 'pass', type: 'password' },
        { name: 'token', type: 'hidden' },
        { name: 'lang', type: 'select' },
      ],
    });
  });

  it('ignores forms without a password field, and reports password inputs outside any form', () => {
    expect(pageFacts('<form action=/search><input name=q></form>').loginForm).toBeNull();
    expect(pageFacts('<div><input id=pw type=password></div>').loginForm).toEqual({ action: null, method: 'get', fields: [{ name: 'pw', type: 'password' }] });
  });

  it('reads meta refresh, script redirects and the icon link', () => {
    const f = pageFacts('<meta http-equiv="Refresh" content="0; URL=/cgi-bin/login.htm"><link rel="shortcut icon" href="/img/fav.ico"><script>window.location.href = "/x";</script>');
    expect(f.metaRefresh).toBe('/cgi-bin/login.htm');
    expect(f.iconHref).toBe('/img/fav.ico');
    expect(f.scriptRedirect).toBe('/x');
    expect(f.textChars).toBe(0);
  });

  it('parses refresh and script forms devices use, and nothing that only looks similar', () => {
    expect(refreshUrl("5;url='/a.htm'")).toBe('/a.htm');
    expect(refreshUrl('0')).toBeNull();
    expect(scriptRedirectOf("top.location.replace('/index.asp')")).toBe('/index.asp');
    expect(scriptRedirectOf('document.location = "/b"')).toBe('/b');
    expect(scriptRedirectOf('var mylocation = "/no"; x.location2 = "/no"')).toBeNull();
  });
});

describe('decodeBody', () => {
  const sjis = Buffer.from([0x83, 0x8d, 0x83, 0x4f, 0x83, 0x43, 0x83, 0x93]); // ログイン in Shift_JIS
  it('uses the Content-Type charset, then <meta>, then UTF-8', () => {
    expect(decodeBody(sjis, 'text/html; charset=Shift_JIS').text).toBe('ログイン');
    const meta = Buffer.concat([Buffer.from('<meta http-equiv="Content-Type" content="text/html; charset=x-sjis"><title>'), sjis]);
    expect(decodeBody(meta, 'text/html').text).toContain('ログイン');
    const eucjp = Buffer.concat([Buffer.from('<meta charset="EUC-JP">'), Buffer.from([0xa5, 0xed, 0xa5, 0xb0])]);
    expect(decodeBody(eucjp, undefined).text).toContain('ログ');
    expect(decodeBody(Buffer.from('ルーター'), undefined)).toEqual({ text: 'ルーター', encoding: 'utf-8' });
    expect(decodeBody(Buffer.from('x'), 'text/html; charset=no-such-charset').encoding).toBe('utf-8');
  });
});

describe('resolveLocation', () => {
  const t = { ip: '127.63.0.1', port: 8080 };
  it('follows only the same scheme, address and port', () => {
    expect(resolveLocation('/a?b=1', 'http', t, '/')).toEqual({ sameHost: true, path: '/a?b=1' });
    expect(resolveLocation('login.htm', 'http', t, '/cgi/index.htm')).toEqual({ sameHost: true, path: '/cgi/login.htm' });
    expect(resolveLocation('http://127.63.0.1:8080/x', 'http', t, '/')).toEqual({ sameHost: true, path: '/x' });
    for (const other of ['http://127.63.0.2:8080/', 'https://127.63.0.1:8080/', 'http://127.63.0.1:81/', '//example.com/', 'javascript:void(0)', 'http://u:p@127.63.0.1:8080/']) {
      expect(resolveLocation(other, 'http', t, '/').sameHost).toBe(false);
    }
  });
});

describe('fuzz', () => {
  it('pageFacts and decodeBody return bounded results on seeded random input', () => {
    const rng = createRng('http-html-fuzz');
    const parts = ['<title>', '</title>', '<form', '>', '<input type=password name=', '<script>', '</script>', 'location.href="/', '"', '<meta http-equiv=refresh content="0;url=', '&amp;', '&#x', ';', '<!--', '-->', '<', '\0', ' ', 'é', 'ロ', '<link rel=icon href=', '</form>'];
    for (let i = 0; i < 2000; i++) {
      let html = '';
      const n = rng.int(60);
      for (let j = 0; j < n; j++) html += rng.next() < 0.15 ? String.fromCharCode(rng.int(0x3100)) : rng.pick(parts);
      if (rng.next() < 0.01) html = `<title>${'x'.repeat(100_000)}`;
      const f = pageFacts(html);
      expect(f.title === null || (f.title.length <= 256 && !f.title.includes('\0'))).toBe(true);
      expect(f.loginForm === null || f.loginForm.fields.length <= 32).toBe(true);
      const bytes = Buffer.from(html, 'latin1');
      expect(typeof decodeBody(bytes, ['text/html; charset=shift_jis', undefined, 'text/html; charset=euc-jp', 'charset=utf-16'][rng.int(4)]).text).toBe('string');
    }
  });
});

describe('decodeContent', () => {
  it('undoes gzip, zlib and raw deflate, and brotli; leaves unknown codings and undecodable bytes alone', () => {
    const page = Buffer.from('<title>x</title>'.repeat(50));
    for (const [coding, packed] of [['gzip', z.gzipSync(page)], ['x-gzip', z.gzipSync(page)], ['deflate', z.deflateSync(page)], ['deflate', z.deflateRawSync(page)], ['br', z.brotliCompressSync(page)]] as const) {
      expect(decodeContent(packed, coding)).toEqual({ bytes: page, decoded: true });
    }
    expect(decodeContent(Buffer.from('plain'), 'compress')).toEqual({ bytes: Buffer.from('plain'), decoded: false });
    expect(decodeContent(Buffer.from('not gzip'), 'gzip').decoded).toBe(false);
    // Output is bounded, and a bomb still gives its first bytes.
    const bomb = decodeContent(z.gzipSync(Buffer.alloc(10 * 1024 * 1024, 0x61)), 'gzip', 4096);
    expect(bomb.bytes.length).toBeLessThanOrEqual(4096);
    expect(bomb.bytes.length).toBeGreaterThan(0);
  });

  it('fuzz: random bytes under every coding return', () => {
    const rng = createRng('content-coding-fuzz');
    for (let i = 0; i < 500; i++) {
      const bytes = Buffer.alloc(rng.int(300));
      for (let k = 0; k < bytes.length; k++) bytes[k] = rng.int(256);
      if (rng.next() < 0.5 && bytes.length > 2) [bytes[0], bytes[1]] = [0x1f, 0x8b];
      const r = decodeContent(bytes, rng.pick(['gzip', 'deflate', 'br', 'identity']), 1024);
      expect(r.bytes.length).toBeLessThanOrEqual(Math.max(1024, bytes.length));
    }
  });
});
