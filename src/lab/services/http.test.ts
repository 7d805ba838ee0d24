import { createHash } from 'node:crypto';
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadProfiles } from '../profiles.js';
import { startLabInProcess, type LabHandle } from '../runtime.js';
import type { LabDevice } from '../types.js';

// Each test file uses its own /16 so parallel files and a running `lab up` never collide.
const net = '127.79';
const profiles = new Map(loadProfiles().map((p) => [p.id, p]));

function device(n: number, profileId: string, username: string, password: string): LabDevice {
  const profile = profiles.get(profileId);
  if (!profile) throw new Error(profileId);
  return { id: `t-${n}`, ip: `${net}.0.${n}`, ispId: 'test', profile, weak: true, credentials: [{ username, password }] };
}

const zte = device(10, 'zte-zxhn-h108n', 'admin', 'admin');
const huawei = device(11, 'huawei-hg8245h', 'root', 'admin');
const sercomm = device(12, 'sercomm-ad1018', 'admin', 'password');
const ubee = device(13, 'ubee-evw3226', 'user', 'user');
const tplink = device(14, 'tplink-td-w8960n', 'admin', 'admin');

interface Reply {
  readonly status: number;
  readonly headers: Readonly<Record<string, string[] | undefined>>;
  readonly body: string;
}

function http(ip: string, port: number, path: string, opts: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: ip, port, path, method: opts.method ?? 'GET', headers: opts.headers, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headersDistinct, body }));
    });
    req.setTimeout(5000, () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(opts.body);
  });
}

function basic(user: string, pass: string): string {
  return `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;
}

/** Parse one Digest challenge (test-side, independent of the lab's parser). */
function challenge(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of text.replace(/^Digest\s+/, '').matchAll(/(\w+)=(?:"([^"]*)"|([^,\s]*))/g)) out[(m[1] ?? '').toLowerCase()] = m[2] ?? m[3] ?? '';
  return out;
}

function digestHeader(ch: Record<string, string>, alg: 'MD5' | 'SHA-256', user: string, pass: string, method: string, uri: string): string {
  const H = (s: string): string => createHash(alg === 'MD5' ? 'md5' : 'sha256').update(s).digest('hex');
  const nc = '00000001';
  const cnonce = 'f2a3c4d5e6';
  const response = H(`${H(`${user}:${ch['realm']}:${pass}`)}:${ch['nonce']}:${nc}:${cnonce}:auth:${H(`${method}:${uri}`)}`);
  return `Digest username="${user}", realm="${ch['realm']}", nonce="${ch['nonce']}", uri="${uri}", algorithm=${alg}, qop=auth, nc=${nc}, cnonce="${cnonce}", response="${response}"`;
}

let lab: LabHandle;
beforeAll(async () => {
  lab = await startLabInProcess({
    plan: { seed: 'http', network: `${net}.0.0/16`, weakShare: 1, isps: [], ispRows: [], devices: [zte, huawei, sercomm, ubee, tplink] },
  });
});
afterAll(async () => lab?.close());

const port = (p: number): number => lab.portMap[String(p)] ?? p;

describe('HTTP Basic (RFC 7617)', () => {
  it('challenges, refuses a wrong password and serves the admin page for the right one', async () => {
    const none = await http(huawei.ip, port(80), '/');
    expect(none.status).toBe(401);
    expect(none.headers['www-authenticate']).toEqual(['Basic realm="HuaweiHomeGateway"']);
    expect(none.headers['server']).toEqual(['mini_httpd/1.19 19dec2003']);
    expect((await http(huawei.ip, port(80), '/', { headers: { Authorization: basic('root', 'wrong') } })).status).toBe(401);
    const ok = await http(huawei.ip, port(80), '/', { headers: { Authorization: basic('root', 'admin') } });
    expect(ok.status).toBe(200);
    expect(ok.body).toContain('<title>HG8245H</title>');
  });

  it('locks the device out after N failures, even for the right password', async () => {
    const after = tplink.profile.lockoutAfter ?? 5;
    for (let i = 0; i < after; i++) {
      const r = await http(tplink.ip, port(80), '/', { headers: { Authorization: basic('admin', `bad${i}`) } });
      // The failure that reaches the limit already answers "locked".
      expect(r.status).toBe(i < after - 1 ? 401 : 403);
    }
    const locked = await http(tplink.ip, port(80), '/', { headers: { Authorization: basic('admin', 'admin') } });
    expect(locked.status).toBe(403);
    expect(locked.body).toMatch(/Please login after \d+ seconds/);
  });
});

describe('HTTP Digest (RFC 7616)', () => {
  it('offers SHA-256 and MD5 and accepts a correct response with either', async () => {
    const first = await http(sercomm.ip, port(8080), '/');
    expect(first.status).toBe(401);
    const challenges = first.headers['www-authenticate'] ?? [];
    expect(challenges.map((c) => challenge(c)['algorithm'])).toEqual(['SHA-256', 'MD5']);
    for (const text of challenges) {
      const ch = challenge(text);
      expect(ch['realm']).toBe('SERCOMM CPE Authentication');
      expect(ch['qop']).toBe('auth');
      const alg = ch['algorithm'] as 'MD5' | 'SHA-256';
      const ok = await http(sercomm.ip, port(8080), '/status.html', {
        headers: { Authorization: digestHeader(ch, alg, 'admin', 'password', 'GET', '/status.html') },
      });
      expect(ok.status).toBe(200);
      expect(ok.body).toContain('<title>AD1018</title>');
    }
  });

  it('refuses a wrong password, a response for another URI and an algorithm it did not offer', async () => {
    const ch = challenge((await http(ubee.ip, port(80), '/')).headers['www-authenticate']?.[0] ?? '');
    expect(ch['algorithm']).toBe('MD5');
    const wrong = await http(ubee.ip, port(80), '/', { headers: { Authorization: digestHeader(ch, 'MD5', 'user', 'nope', 'GET', '/') } });
    expect(wrong.status).toBe(401);
    const otherUri = await http(ubee.ip, port(80), '/', { headers: { Authorization: digestHeader(ch, 'MD5', 'user', 'user', 'GET', '/other') } });
    expect(otherUri.status).toBe(401);
    const sha = await http(ubee.ip, port(80), '/', { headers: { Authorization: digestHeader(ch, 'SHA-256', 'user', 'user', 'GET', '/') } });
    expect(sha.status).toBe(401);
    const forged = await http(ubee.ip, port(80), '/', {
      headers: { Authorization: digestHeader({ ...ch, nonce: 'ffffffffAAAAAAAAAAAAAAAAAAAAAA' }, 'MD5', 'user', 'user', 'GET', '/') },
    });
    expect(forged.status).toBe(401);
    const ok = await http(ubee.ip, port(80), '/', { headers: { Authorization: digestHeader(ch, 'MD5', 'user', 'user', 'GET', '/') } });
    expect(ok.status).toBe(200);
  });

  it('guards the CWMP port (7547) with Digest too', async () => {
    const r = await http(zte.ip, port(7547), '/');
    expect(r.status).toBe(401);
    expect(challenge(r.headers['www-authenticate']?.[0] ?? '')['realm']).toBe('IGD');
  });
});

describe('HTTP form login', () => {
  it('redirects to the login form, refuses a wrong password, logs in with a cookie and logs out', async () => {
    const start = await http(zte.ip, port(80), '/');
    expect(start.status).toBe(302);
    expect(start.headers['location']).toEqual(['/login.html']);
    expect(start.headers['server']).toEqual(['Mini web server 1.0 ZTE corp 2005.']);

    const form = await http(zte.ip, port(80), '/login.html');
    expect(form.status).toBe(200);
    expect(form.body).toContain('<title>ZXHN H108N</title>');
    expect(form.body).toMatch(/<form method="post" action="\/login.cgi">/);

    const post = (user: string, pass: string): Promise<Reply> =>
      http(zte.ip, port(80), '/login.cgi', {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ username: user, password: pass }).toString(),
      });
    const bad = await post('admin', 'wrong');
    expect(bad.status).toBe(200);
    expect(bad.headers['set-cookie']).toBeUndefined();
    expect(bad.body).toContain('Invalid username or password');

    const good = await post('admin', 'admin');
    expect(good.status).toBe(302);
    expect(good.headers['location']).toEqual(['/index.html']);
    const cookie = (good.headers['set-cookie']?.[0] ?? '').split(';')[0] ?? '';
    expect(cookie).toMatch(/^SID=[0-9a-f]{32}$/);

    const inside = await http(zte.ip, port(80), '/index.html', { headers: { Cookie: cookie } });
    expect(inside.status).toBe(200);
    expect(inside.body).toContain('/logout.cgi');
    expect((await http(zte.ip, port(80), '/index.html', { headers: { Cookie: 'SID=forged' } })).status).toBe(302);

    const out = await http(zte.ip, port(80), '/logout.cgi', { headers: { Cookie: cookie } });
    expect(out.status).toBe(302);
    expect((await http(zte.ip, port(80), '/index.html', { headers: { Cookie: cookie } })).status).toBe(302);
  });
});
