import { describe, expect, it } from 'vitest';
import { openStore } from '../store/open.js';
import { createWebApp, webContext } from './server.js';
import { addTestAccounts, testAccounts, testScryptLog2N } from './test-support.js';

// The CSRF middleware's one rule for anonymous forms: a post another site sent is refused with 403.
describe('anonymous forms refuse cross-site posts', () => {
  it('refuses /login, /support/new, /check and /optout from another origin or a cross-site fetch', async () => {
    const store = await openStore(':memory:');
    try {
      const app = createWebApp(webContext(store));
      const post = (path: string, headers: Record<string, string>) =>
        app.request(`http://127.0.0.1${path}?lang=en`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body: 'question=hi&name=x&password=y' });
      for (const path of ['/login', '/support/new', '/check', '/optout']) {
        const evil = await post(path, { origin: 'http://evil.example' });
        expect(evil.status).toBe(403);
        expect(await evil.text()).toMatch(/[Cc]ross-site request refused/);
        expect((await post(path, { 'sec-fetch-site': 'cross-site' })).status).toBe(403);
        expect((await post(path, { origin: 'http://127.0.0.1', 'sec-fetch-site': 'same-origin' })).status).not.toBe(403);
      }
    } finally {
      await store.close();
    }
  });

  it('refuses an unsafe request with neither Origin nor Sec-Fetch-Site, anonymous or logged in, and names why; bearer calls stay exempt', async () => {
    const store = await openStore(':memory:');
    try {
      await addTestAccounts(store);
      const app = createWebApp(webContext(store, { scryptLog2N: testScryptLog2N }));
      const form = { 'content-type': 'application/x-www-form-urlencoded' };
      for (const path of ['/login', '/support/new', '/check', '/optout']) {
        const bare = await app.request(`http://127.0.0.1${path}?lang=en`, { method: 'POST', headers: form, body: 'question=hi&name=x&password=y' });
        expect(bare.status).toBe(403);
        expect(await bare.text()).toContain('neither an Origin nor a Sec-Fetch-Site header');
        // Sec-Fetch-Site alone (a same-origin browser post that left Origin out) is enough.
        const fetchSite = await app.request(`http://127.0.0.1${path}?lang=en`, { method: 'POST', headers: { ...form, 'sec-fetch-site': 'same-origin' }, body: 'question=hi&name=x&password=y' });
        expect(fetchSite.status).not.toBe(403);
      }
      const ja = await app.request('http://127.0.0.1/login?lang=ja', { method: 'POST', headers: form, body: 'name=x&password=y' });
      expect(ja.status).toBe(403);
      expect(await ja.text()).toContain('Origin、Sec-Fetch-Site');

      // A logged-in browser session with the right CSRF token, but no Origin and no Sec-Fetch-Site.
      const login = await app.request('http://127.0.0.1/login', { method: 'POST', headers: { ...form, origin: 'http://127.0.0.1' }, body: new URLSearchParams({ name: testAccounts.admin.name, password: testAccounts.admin.password }).toString() });
      expect(login.status).toBe(303);
      const cookie = login.headers.getSetCookie()[0]!.split(';')[0]!;
      const csrf = /name="_csrf" value="([^"]+)"/.exec(await (await app.request('http://127.0.0.1/ops', { headers: { cookie } })).text())![1]!;
      const logout = (headers: Record<string, string>) => app.request('http://127.0.0.1/logout?lang=en', { method: 'POST', headers: { ...form, cookie, ...headers }, body: `_csrf=${encodeURIComponent(csrf)}` });
      const bareSession = await logout({});
      expect(bareSession.status).toBe(403);
      expect(await bareSession.text()).toContain('neither an Origin nor a Sec-Fetch-Site header');
      expect((await app.request('http://127.0.0.1/ops', { headers: { cookie } })).status).toBe(200);
      expect((await logout({ origin: 'http://127.0.0.1' })).status).toBe(303);
      expect((await app.request('http://127.0.0.1/ops', { headers: { cookie } })).status).toBe(303);

      // Bearer-token calls are not browser posts: no Origin needed (the route then answers as it will).
      const api = await app.request('http://127.0.0.1/api/v1/batches', { method: 'POST', headers: { authorization: 'Bearer nope' } });
      expect(api.status).not.toBe(403);
    } finally {
      await store.close();
    }
  });
});
