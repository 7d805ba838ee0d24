/**
 * The demo's accounts: an operator admin, an analyst and one user per participating ISP, each with
 * a fresh random password every run (printed once by `iotclean demo`, never stored in clear).
 * An account left from an earlier run gets the new password and its old sessions are ended.
 */
import { randomBytes } from 'node:crypto';
import type { Store } from '../store/store.js';
import { hashPassword } from './auth/passwords.js';
import type { Role } from './types.js';

export interface DemoAccount {
  readonly name: string;
  readonly role: Role;
  readonly isp: string | null;
  readonly password: string;
}

/** Login names allow [a-z0-9._-]; ISP ids are already of that shape. */
const loginName = (s: string): string => s.toLowerCase().replace(/[^a-z0-9._-]+/g, '-').slice(0, 64);

export async function ensureDemoAccounts(store: Store, isps: readonly { readonly id: string; readonly name: string }[], log2N?: number): Promise<DemoAccount[]> {
  const wanted: Omit<DemoAccount, 'password'>[] = [
    { name: 'demo-admin', role: 'admin', isp: null },
    { name: 'demo-analyst', role: 'analyst', isp: null },
    ...isps.map((i) => ({ name: loginName(`demo-${i.id}`), role: 'isp' as const, isp: i.id })),
  ];
  const out: DemoAccount[] = [];
  const now = Date.now();
  for (const w of wanted) {
    const password = randomBytes(12).toString('base64url');
    const hash = await hashPassword(password, log2N);
    const found = await store.web.accountByName(w.name);
    if (found) {
      await store.web.setPassword(found.account.id, hash, now);
      await store.web.setDisabled(found.account.id, false);
      await store.web.deleteSessions(found.account.id);
    } else {
      const display = w.isp ? (isps.find((i) => i.id === w.isp)?.name ?? w.isp) : w.role === 'admin' ? 'Demo admin' : 'Demo analyst';
      await store.web.createAccount({ name: w.name, role: w.role, isp: w.isp, displayName: display, passwordHash: hash }, now);
    }
    out.push({ ...w, password });
  }
  return out;
}
