/**
 * The web server's shared types: accounts and roles, the request variables every page module
 * reads, and the one interface a page module implements. Pages are rendered on the server
 * (./html.ts escapes every interpolated value); the browser runs only the files in ./static/,
 * so the Content-Security-Policy can forbid inline script entirely.
 */
import type { Hono } from 'hono';
import type { Store } from '../store/store.js';

export const langs = ['ja', 'en'] as const;
export type Lang = (typeof langs)[number];

/**
 * admin: operator who manages accounts and approves plans; analyst: operator who reads everything
 * and answers the support desk; isp: one ISP's user, who sees only that ISP's data.
 */
export const roles = ['admin', 'analyst', 'isp'] as const;
export type Role = (typeof roles)[number];

/** The operator roles (see everything the centre holds). */
export const operatorRoles: readonly Role[] = ['admin', 'analyst'];

export interface Account {
  readonly id: number;
  /** Login name: 3–64 of [a-z0-9._-]. */
  readonly name: string;
  readonly role: Role;
  /** The ISP an `isp` account belongs to; null for operators. */
  readonly isp: string | null;
  readonly displayName: string;
  readonly disabled: boolean;
  readonly createdAt: string;
}

/** The logged-in session of a request. */
export interface WebSession {
  readonly account: Account;
  /** This session's CSRF token: every form carries it, every unsafe request must send it back. */
  readonly csrf: string;
}

/** What middleware sets on every request (hono `c.get(...)`). */
export interface WebVariables {
  readonly lang: Lang;
  /** The request's session, or null when not logged in. */
  readonly session: WebSession | null;
  /** The client's address: the socket's, or a trusted proxy's X-Forwarded-For (WebOptions.trustProxy). */
  readonly clientIp: string;
}

export type WebEnv = { Variables: WebVariables };
export type WebApp = Hono<WebEnv>;

export interface WebOptions {
  /** Addresses of reverse proxies whose X-Forwarded-For is believed (default: none). */
  readonly trustProxy?: readonly string[];
  /** Mark cookies Secure (default: when the request came over https). */
  readonly secureCookies?: boolean;
  /** The public address the server is reached at, e.g. https://notice.example.jp (for links in mails). */
  readonly publicUrl?: string;
  /** Scrypt cost as log2(N) (default 17, OWASP's recommendation; tests may lower it). */
  readonly scryptLog2N?: number;
  /** The clock (tests move it). */
  readonly now?: () => number;
  /** The public survey page (/about-survey): the addresses surveys are sent from, and whom to contact. */
  readonly survey?: { readonly sourceAddresses: readonly string[]; readonly contact: string; readonly operator?: string };
  /** SMTP relay for opt-out confirmation mails (smtp://host:port); without one, such requests stay pending. */
  readonly smtp?: string;
  /** From address of the site's mails. */
  readonly mailFrom?: string;
  /** Prefix → ISP table and the ISPs' abuse contacts: who confirms an opt-out for a network. */
  readonly ispTable?: import('../scope/isp.js').IspTable;
  readonly contacts?: ReadonlyMap<string, import('../notify/contacts.js').Contact>;
  /** The self-check's live probe: the scope it may reach (default: loopback only), its ports, and the limit per address. */
  readonly selfCheck?: { readonly scope?: import('../scope/scope.js').CompiledScope; readonly ports?: readonly number[]; readonly timeoutMs?: number; readonly perHour?: number };
}

/** What every page module gets: the store, the options and the audit log. */
export interface WebContext {
  readonly store: Store;
  readonly options: WebOptions;
  readonly now: () => number;
  /** Append to the audit log: who (the request's session, or anonymous), what, on what. */
  audit(c: import('hono').Context<WebEnv>, action: string, target: string, detail?: Record<string, unknown>): Promise<void>;
}

/** A part of the site: mounts its routes; adding one is one file and one line in ./server.ts. */
export interface WebModule {
  readonly name: string;
  mount(app: WebApp, ctx: WebContext): void;
}
