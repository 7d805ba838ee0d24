/** The web UI extras: HTTPS with the model's certificate, favicons, Shift_JIS pages, raw-markup titles. */
import { request as httpsRequest } from 'node:https';
import { request as httpRequest } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import { closeServed, fakeContext, serve } from './test-support.js';
import { httpHandler, httpsHandler } from './http.js';
import { faviconBytes, generatedIcon } from './favicon.js';
import { encodeShiftJis } from './shift-jis.js';
import type { LabAuth, ServiceProfile } from '../types.js';

const host = '127.65.3.1';

interface Reply {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: Buffer;
  readonly cert?: { subject: Record<string, unknown>; issuer: Record<string, unknown>; serialNumber: string };
}

function get(tls: boolean, port: number, path: string, headers: Record<string, string> = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const request = tls ? httpsRequest : httpRequest;
    const req = request({ host, port, path, headers, agent: false, rejectUnauthorized: false }, (res) => {
      const chunks: Buffer[] = [];
      const peer = tls ? (res.socket as TLSSocket).getPeerCertificate() : undefined;
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks),
          ...(peer ? { cert: { subject: { ...peer.subject }, issuer: { ...peer.issuer }, serialNumber: peer.serialNumber } } : {}),
        }),
      );
    });
    req.setTimeout(10_000, () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

function service(protocol: 'http' | 'https', auth: LabAuth, banner: Record<string, string>): ServiceProfile {
  return { port: protocol === 'https' ? 443 : 80, protocol, auth, banner };
}

afterEach(closeServed);

describe('lab HTTPS (TLS around the device web UI)', () => {
  it('serves the UI over TLS with the certificate subject and issuer the profile names, the same on every connection', async () => {
    const svc = service('https', 'http-basic', {
      server: 'httpd',
      title: 'Aterm',
      realm: 'Aterm',
      certSubject: 'CN=aterm.me, O=NEC Platforms, C=JP',
      certIssuer: 'CN=Aterm Root CA, O=NEC Platforms, C=JP',
    });
    const { ctx } = fakeContext(svc);
    const port = await serve(httpsHandler, ctx, host);
    const a = await get(true, port, '/');
    expect(a.status).toBe(401);
    expect(a.headers['www-authenticate']).toBe('Basic realm="Aterm"');
    expect(a.cert?.subject).toMatchObject({ CN: 'aterm.me', O: 'NEC Platforms', C: 'JP' });
    expect(a.cert?.issuer).toMatchObject({ CN: 'Aterm Root CA' });
    const b = await get(true, port, '/', { Authorization: `Basic ${Buffer.from('admin:admin').toString('base64')}` });
    expect(b.status).toBe(200);
    expect(b.body.toString()).toContain('<title>Aterm</title>');
    expect(b.cert?.serialNumber).toBe(a.cert?.serialNumber);
  }, 30_000);

  it('defaults to a self-issued certificate named after the model, with an EC key when asked', async () => {
    const { ctx } = fakeContext(service('https', 'none', { certKey: 'ec' }), undefined, { model: 'WN-AX1167GR' });
    const r = await get(true, await serve(httpsHandler, ctx, host), '/');
    expect(r.status).toBe(200);
    expect(r.cert?.subject.CN).toBe('WN-AX1167GR');
    expect(r.cert?.issuer.CN).toBe('WN-AX1167GR');
  }, 30_000);

  it('drops a client that sends garbage instead of a TLS handshake', async () => {
    const { ctx } = fakeContext(service('https', 'none', {}));
    const port = await serve(httpsHandler, ctx, host);
    await expect(get(false, port, '/')).rejects.toThrow();
  }, 30_000);
});

describe('favicons', () => {
  it('serves a stable generated icon per label, different between labels, without a login', async () => {
    const { ctx } = fakeContext(service('http', 'http-form', { title: 'Login', favicon: 'gen:buffalo-wsr-1166dhp' }));
    const port = await serve(httpHandler, ctx, host);
    const icon = await get(false, port, '/favicon.ico');
    expect(icon.status).toBe(200);
    expect(icon.headers['content-type']).toBe('image/x-icon');
    expect(icon.body.equals(generatedIcon('buffalo-wsr-1166dhp'))).toBe(true);
    // An ICO header: reserved 0, type 1, one image of 16×16.
    expect([...icon.body.subarray(0, 8)]).toEqual([0, 0, 1, 0, 1, 0, 16, 16]);
    expect(icon.body.length).toBe(1150);
    expect(faviconBytes('gen:nec-aterm').equals(faviconBytes('gen:buffalo-wsr-1166dhp'))).toBe(false);
    const login = await get(false, port, '/login.html');
    expect(login.body.toString()).toContain('<link rel="shortcut icon" href="/favicon.ico">');
  });

  it('has no /favicon.ico route when the profile names none', async () => {
    const { ctx } = fakeContext(service('http', 'http-form', { title: 'Login' }));
    const r = await get(false, await serve(httpHandler, ctx, host), '/favicon.ico');
    expect(r.status).toBe(404);
    expect(r.headers['content-type']).toMatch(/text\/html/);
  });
});

describe('Shift_JIS pages and hostile titles', () => {
  it('encodes a Japanese page as Shift_JIS, decodable back to the same title', async () => {
    const title = 'LAN DISK 設定画面 ログイン';
    const { ctx } = fakeContext(service('http', 'none', { title, charset: 'Shift_JIS' }));
    const r = await get(false, await serve(httpHandler, ctx, host), '/');
    expect(r.headers['content-type']).toBe('text/html; charset=Shift_JIS');
    // Not UTF-8 on the wire: 設 is 0x90 0xdd in Shift_JIS.
    expect(r.body.includes(Buffer.from([0x90, 0xdd]))).toBe(true);
    expect(r.body.includes(Buffer.from('設', 'utf8'))).toBe(false);
    const text = new TextDecoder('shift_jis').decode(r.body);
    expect(text).toContain(`<meta charset="Shift_JIS"><title>${title}</title>`);
    expect(Number(r.headers['content-length'])).toBe(r.body.length);
  });

  it('can leave the charset to <meta>, with a bare text/html Content-Type as old firmware sends', async () => {
    const { ctx } = fakeContext(service('http', 'none', { title: 'ネットワークカメラ', charset: 'Shift_JIS', contentType: 'text/html' }));
    const r = await get(false, await serve(httpHandler, ctx, host), '/');
    expect(r.headers['content-type']).toBe('text/html');
    expect(new TextDecoder('shift_jis').decode(r.body)).toContain('<meta charset="Shift_JIS"><title>ネットワークカメラ</title>');
  });

  it('encodes ASCII, kana, kanji and half-width kana, and marks what Shift_JIS lacks with "?"', () => {
    expect([...encodeShiftJis('Aア')]).toEqual([0x41, 0x83, 0x41]);
    expect([...encodeShiftJis('ｱ')]).toEqual([0xb1]);
    expect(new TextDecoder('shift_jis').decode(encodeShiftJis('無線LANルーター 管理'))).toBe('無線LANルーター 管理');
    expect(encodeShiftJis('😀').toString('latin1')).toBe('?');
  });

  it('puts titleHtml into <title> unescaped (a device whose title holds a script tag)', async () => {
    const titleHtml = '<script>alert(1)</script>IP Camera &amp; <b>DVR</b>';
    const { ctx } = fakeContext(service('http', 'none', { titleHtml, title: 'ignored' }));
    const r = await get(false, await serve(httpHandler, ctx, host), '/');
    expect(r.body.toString()).toContain(`<title>${titleHtml}</title>`);
  });
});
