/**
 * One web server, three audiences: the operators' dashboard (/ops), the ISP portal (/isp, and the
 * ISP API under /api/v1) and the public site (/). Each part is a WebModule listed in `modules`;
 * the shared middleware (./security.ts) sets headers, language, client address and session, and
 * checks CSRF, before any of them runs.
 */
import { serveFetch, type RunningServer } from '../core/http-server.js';
import { Hono } from 'hono';
import type { Store } from '../store/store.js';
import { loginModule } from './auth/login.js';
import { governanceModule } from './governance/index.js';
import { dashboardModule } from './dashboard/index.js';
import { problemPage } from './html.js';
import { publicModule } from './public/index.js';
import { portalModule } from './portal/index.js';
import { baseMiddleware, csrfMiddleware } from './security.js';
import { staticModule } from './static.js';
import { supportModule } from './support/index.js';
import type { WebApp, WebContext, WebEnv, WebModule, WebOptions } from './types.js';

/** The site's parts, in mounting order (a part's routes win over later parts' for the same path). */
export const modules: readonly WebModule[] = [staticModule, loginModule, dashboardModule, governanceModule, supportModule, publicModule, portalModule];

export function webContext(store: Store, options: WebOptions = {}): WebContext {
  const now = options.now ?? Date.now;
  return {
    store,
    options,
    now,
    async audit(c, action, target, detail = {}) {
      const a = c.get('session')?.account ?? null;
      await store.web.audit({ accountId: a?.id ?? null, accountName: a?.name ?? null, ip: c.get('clientIp'), action, target, detail }, now());
    },
  };
}

/** The whole site as a hono app (tests call app.request(); serveWeb serves it). */
export function createWebApp(ctx: WebContext, parts: readonly WebModule[] = modules): WebApp {
  const app = new Hono<WebEnv>();
  app.onError((e, c) => {
    console.error(`web: ${c.req.method} ${c.req.path}: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    return c.text('internal error', 500);
  });
  app.use('*', baseMiddleware(ctx));
  app.use('*', csrfMiddleware(ctx));
  for (const part of parts) part.mount(app, ctx);
  app.notFound((c) => (c.req.path.startsWith('/api/') ? c.json({ error: 'not found' }, 404) : problemPage(c, 404, c.get('lang') === 'ja' ? 'このページはありません。' : 'There is no such page.')));
  return app;
}

export type RunningWeb = RunningServer;

/** Serve on host:port (127.0.0.1 by default; port 0 picks a free one). */
export function serveWeb(app: WebApp, options: { readonly host?: string; readonly port?: number } = {}): Promise<RunningWeb> {
  return serveFetch(app.fetch, options);
}
