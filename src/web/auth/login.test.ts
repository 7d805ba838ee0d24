import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore } from '../../store/open.js';
import type { Store } from '../../store/store.js';
import { storeBackends } from '../../store/test-support.js';
import { contentSecurityPolicy, sessionCookie, sessionLimits } from '../security.js';
import { createWebApp, webContext } from '../server.js';
import { addTestAccounts, testAccounts, testClient, testScryptLog2N } from '../test-support.js';
import type { WebApp } from '../types.js';
import { loginLimits } from './login.js';
import { hashPassword, verifyPassword } from './passwords.js';

const { backends, cleanup } = storeBackends('web-login', { fresh: true });
afterAll(cleanup);

describe('passwords', () => {
  it('verifies the right password only, and refuses short ones and foreign strings', async () => {
    const h = await hashPassword('correct horse battery', testScryptLog2N);
    expect(h).toMatch(/^scrypt\$10\$8\$1\$/);
    expect(await verifyPassword('correct horse battery', h)).toBe(true);
    expect(await verifyPassword('correct horse batterY', h)).toBe(false);
    expect(await verifyPassword('x', 'md5$abc')).toBe(false);
    await expect(hashPassword('short', testScryptLog2N)).rejects.toThrow(/12 characters/);
    // The same password hashes differently each time (a fresh salt).
    expect(await hashPassword('correct horse battery', testScryptLog2N)).not.toBe(h);
  });
});

describe.each(backends)('login, sessions, CSRF (%s)', (_name, locate) => {
  let store: Store;
  let app: WebApp;
  let clock = Date.parse('2026-12-01T00:00:00Z');
  beforeAll(async () => {
    store = await openStore(await locate());
    await addTestAccounts(store);
    app = createWebApp(webContext(store, { now: () => clock, scryptLog2N: testScryptLog2N }));
  });
  afterAll(async () => store?.close());

  it('sets the strict headers on every answer', async () => {
    const res = await app.request('http://127.0.0.1/login');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-security-policy')).toBe(contentSecurityPolicy);
    expect(contentSecurityPolicy).toContain("script-src 'self'");
    expect(contentSecurityPolicy).not.toContain('unsafe-inline');
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
  });

  it('logs in with the right password into a new HttpOnly SameSite=Strict session, and out again', async () => {
    const client = testClient(app);
    const res = await client.login(testAccounts.analyst.name, testAccounts.analyst.password);
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/ops');
    const cookie = res.headers.getSetCookie().find((c) => c.startsWith(`${sessionCookie}=`))!;
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Strict/);
    expect(client.csrf).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const log = await store.web.auditLog({ action: 'login' });
    expect(log[0]).toMatchObject({ accountName: 'analyst', target: 'analyst' });
    // Logging out ends the session in the store: the old cookie opens nothing.
    const out = await client.request('/logout', { method: 'POST', form: {} });
    expect(out.status).toBe(303);
    const { length } = await store.web.auditLog({ action: 'logout' });
    expect(length).toBe(1);
  });

  it('refuses a form without the session CSRF token, and one from another origin', async () => {
    const client = testClient(app);
    await client.login(testAccounts.admin.name, testAccounts.admin.password);
    const forged = await client.request('/logout', { method: 'POST', form: { _csrf: 'x'.repeat(43) } });
    expect(forged.status).toBe(403);
    const cross = await client.request('/logout', { method: 'POST', form: {}, headers: { origin: 'http://evil.example' } });
    expect(cross.status).toBe(403);
    // The session survived both.
    expect((await store.web.auditLog({ action: 'logout' })).filter((e) => e.accountName === 'admin')).toHaveLength(0);
  });

  it('behind a proxy, accepts the public URL as the origin of a form', async () => {
    const proxied = createWebApp(webContext(store, { now: () => clock, scryptLog2N: testScryptLog2N, publicUrl: 'https://notice.example.jp' }));
    const client = testClient(proxied);
    await client.login(testAccounts.analyst.name, testAccounts.analyst.password);
    const cross = await client.request('/logout', { method: 'POST', form: {}, headers: { origin: 'https://evil.example' } });
    expect(cross.status).toBe(403);
    const own = await client.request('/logout', { method: 'POST', form: {}, headers: { origin: 'https://notice.example.jp' } });
    expect(own.status).toBe(303);
  });

  it('says only "wrong name or password", and locks a name after too many failures', async () => {
    const client = testClient(app, { 'accept-language': 'en' });
    const unknown = await client.request('/login', { method: 'POST', form: { name: 'nobody', password: 'whatever-it-is' } });
    const wrong = await client.request('/login', { method: 'POST', form: { name: 'isp-a', password: 'not-the-password' } });
    const [u, w] = [await unknown.text(), await wrong.text()];
    expect(u).toContain('Wrong account name or password.');
    expect(w).toContain('Wrong account name or password.');
    for (let i = 1; i < loginLimits.perName; i++) await client.request('/login', { method: 'POST', form: { name: 'isp-a', password: 'not-the-password' } });
    const locked = await client.login(testAccounts.ispA.name, testAccounts.ispA.password);
    expect(locked.status).toBe(429);
    // After the window the right password works again.
    clock += loginLimits.windowMs + 1;
    const again = await client.login(testAccounts.ispA.name, testAccounts.ispA.password);
    expect(again.status).toBe(303);
    expect(again.headers.get('location')).toBe('/isp');
  });

  it('ends an idle session and never redirects off-site after login', async () => {
    const client = testClient(app);
    const res = await client.request('/login', { method: 'POST', form: { name: 'analyst', password: testAccounts.analyst.password, next: '//evil.example/x' } });
    expect(res.headers.get('location')).toBe('/ops');
    clock += sessionLimits.idleMs + 1;
    const page = await (await client.request('/login')).text();
    expect(page).not.toContain('id="logout"');
  });
});
