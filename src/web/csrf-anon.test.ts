import { describe, expect, it } from 'vitest';
import { openStore } from '../store/open.js';
import { createWebApp, webContext } from './server.js';

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
});
