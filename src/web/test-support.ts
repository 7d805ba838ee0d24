/**
 * Test support for the web server's tests: demo accounts on a store, and a logged-in client over
 * app.request() (cookie and CSRF token carried as a browser would). Not used by the product.
 */
import { hashPassword } from './auth/passwords.js';
import type { Store } from '../store/store.js';
import type { Account, Role, WebApp } from './types.js';

/** Cheap scrypt for tests (2^10); the product's default is 2^17. */
export const testScryptLog2N = 10;

export interface TestAccount {
  readonly name: string;
  readonly password: string;
  readonly role: Role;
  readonly isp: string | null;
}

export const testAccounts = {
  admin: { name: 'admin', password: 'admin-passphrase-1', role: 'admin', isp: null },
  analyst: { name: 'analyst', password: 'analyst-passphrase-1', role: 'analyst', isp: null },
  ispA: { name: 'isp-a', password: 'isp-a-passphrase-1', role: 'isp', isp: 'isp-a' },
  ispB: { name: 'isp-b', password: 'isp-b-passphrase-1', role: 'isp', isp: 'isp-b' },
} as const satisfies Record<string, TestAccount>;

/** Create the accounts (with their ISP ids changed through `isps`, e.g. { ispA: 'isp-1' }). */
export async function addTestAccounts(store: Store, isps: Partial<Record<'ispA' | 'ispB', string>> = {}): Promise<Record<keyof typeof testAccounts, Account & { password: string }>> {
  const out = {} as Record<keyof typeof testAccounts, Account & { password: string }>;
  for (const [key, a] of Object.entries(testAccounts) as [keyof typeof testAccounts, TestAccount][]) {
    const isp = key === 'ispA' || key === 'ispB' ? (isps[key] ?? a.isp) : a.isp;
    const account = await store.web.createAccount({ name: a.name, role: a.role, isp, displayName: a.name, passwordHash: await hashPassword(a.password, testScryptLog2N) }, Date.now());
    out[key] = { ...account, password: a.password };
  }
  return out;
}

/** The origin tests reach the app at (app.request() URLs are http://127.0.0.1/...). */
export const testOrigin = 'http://127.0.0.1';

/**
 * Headers for an unsafe request as a browser sends them from the server's own page: its Origin
 * (the CSRF middleware refuses a POST that has neither Origin nor Sec-Fetch-Site). The one place
 * test clients get it; `origin` is the server's base URL for tests over real HTTP.
 */
export function withOwnOrigin(headers: Headers, method: string | undefined, origin = testOrigin): Headers {
  if (!['GET', 'HEAD', 'OPTIONS'].includes((method ?? 'GET').toUpperCase()) && !headers.has('origin')) headers.set('origin', new URL(origin).origin);
  return headers;
}

/** A client of `app` that keeps its cookies and sends the session's CSRF token on unsafe requests. */
export interface TestClient {
  request(path: string, init?: RequestInit & { form?: Record<string, string> }): Promise<Response>;
  readonly csrf: string | undefined;
}

export function testClient(app: WebApp, headers: Record<string, string> = {}): TestClient & { login(name: string, password: string): Promise<Response> } {
  const jar = new Map<string, string>();
  let csrf: string | undefined;
  const request = async (path: string, init: RequestInit & { form?: Record<string, string> } = {}): Promise<Response> => {
    const h = new Headers(init.headers);
    for (const [k, v] of Object.entries(headers)) if (!h.has(k)) h.set(k, v);
    withOwnOrigin(h, init.method);
    if (jar.size) h.set('cookie', [...jar].map(([k, v]) => `${k}=${v}`).join('; '));
    let body = init.body;
    if (init.form) {
      const form = new URLSearchParams(init.form);
      if (csrf !== undefined && !form.has('_csrf')) form.set('_csrf', csrf);
      body = form.toString();
      h.set('content-type', 'application/x-www-form-urlencoded');
    }
    const { form: _form, ...rest } = init;
    const res = await app.request(`${testOrigin}${path}`, { ...rest, headers: h, ...(body !== undefined ? { body } : {}) });
    for (const line of res.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq);
      const value = pair!.slice(eq + 1);
      if (value === '' || /max-age=0/i.test(line)) jar.delete(name);
      else jar.set(name, value);
    }
    return res;
  };
  return {
    request,
    get csrf() {
      return csrf;
    },
    async login(name, password) {
      const res = await request('/login', { method: 'POST', form: { name, password } });
      if (res.status === 303 && jar.size) {
        // The token is in every page's logout form; read it from the page logged in to.
        const page = await (await request(res.headers.get('location') ?? '/')).text();
        csrf = /name="_csrf" value="([^"]+)"/.exec(page)?.[1];
      }
      return res;
    },
  };
}
