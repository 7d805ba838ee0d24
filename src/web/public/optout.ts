/**
 * Opt-out verification: a request for a network counts only when it came from inside it, or when
 * the network's registered abuse contact confirms it through an unguessable link. The contact is
 * the ISP whose prefix holds the whole network (longest prefix, scope/isp.ts), its address from the
 * contacts file (notify/contacts.ts; a reseller without one falls back to the ISP notified for it).
 */
import { createHash, randomBytes } from 'node:crypto';
import nodemailer from 'nodemailer';
import type { Ipv4Range } from '../../core/ip.js';
import type { Contact } from '../../notify/contacts.js';
import { parseSmtpUrl } from '../../notify/mail.js';
import type { Isp, IspTable } from '../../scope/isp.js';
import { parseTarget } from '../../scope/target.js';
import { translate } from '../i18n.js';
import { optoutText } from './messages.js';

/** How long a confirmation link stays valid. */
export const confirmationMs = 7 * 86400_000;

export const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');

/** A fresh confirmation token (256 bits) and the hash that is stored. */
export function newToken(): { token: string; hash: string } {
  const token = randomBytes(32).toString('base64url');
  return { token, hash: sha256(token) };
}

const intersects = (a: Ipv4Range, b: Ipv4Range): boolean => a.start <= b.end && b.start <= a.end;
const contains = (outer: Ipv4Range, inner: Ipv4Range): boolean => outer.start <= inner.start && inner.end <= outer.end;

/**
 * The ISP holding all of `range`, or undefined when no prefix covers it, its ends belong to
 * different ISPs, or another ISP's prefix lies inside it (no single holder could confirm it).
 */
export function holderOf(range: Ipv4Range, table: IspTable): Isp | undefined {
  const a = table.lookup(range.start);
  const b = table.lookup(range.end);
  if (!a || !b || a.id !== b.id) return undefined;
  for (const row of table.rows) {
    if (row.ispId === a.id) continue;
    const p = parseTarget(row.prefix);
    if (p.ok && intersects(p.range, range) && !contains(p.range, range)) return undefined;
  }
  return a;
}

/** The holder and the contact who can confirm for it, when there is one. */
export function abuseContactFor(range: Ipv4Range, table: IspTable | undefined, contacts: ReadonlyMap<string, Contact> | undefined): { isp: Isp | undefined; contact: Contact | undefined } {
  const isp = table ? holderOf(range, table) : undefined;
  if (!isp || !contacts) return { isp, contact: undefined };
  const own = contacts.get(isp.id);
  if (own) return { isp, contact: own };
  const notified = table!.effectiveIsp(isp);
  return { isp, contact: notified ? contacts.get(notified.id) : undefined };
}

/** Send the confirmation mail (both languages, the contact's first); the server's reply, or the error, as text. */
export async function sendConfirmation(
  o: { readonly smtp: string; readonly from?: string; readonly contact: Contact; readonly ispName: string; readonly cidr: string; readonly email: string; readonly reason: string; readonly link: string },
): Promise<{ ok: boolean; status: string }> {
  const { host, port, secure } = parseSmtpUrl(o.smtp);
  const transport = nodemailer.createTransport({ host, port, secure, connectionTimeout: 10_000, greetingTimeout: 10_000, socketTimeout: 10_000, name: 'iotclean.localhost' });
  const vars = { isp: o.ispName, cidr: o.cidr, email: o.email, reason: o.reason || '-', link: o.link };
  const [first, second] = o.contact.language === 'en' ? (['en', 'ja'] as const) : (['ja', 'en'] as const);
  const t1 = translate(optoutText, first);
  const t2 = translate(optoutText, second);
  try {
    const info = await transport.sendMail({
      from: o.from ?? 'iotclean <iotclean@localhost>',
      to: o.contact.email,
      subject: t1('mailSubject', vars),
      text: `${t1('mailBody', vars)}\n\n----------------------------------------\n\n${t2('mailBody', vars)}\n`,
    });
    const accepted = (info.accepted as unknown[]).map(String).includes(o.contact.email);
    return { ok: accepted, status: `${accepted ? 'accepted' : 'rejected'}: ${String(info.response ?? '')}` };
  } catch (e) {
    const err = e as { response?: string; code?: string; message?: string };
    return { ok: false, status: `failed: ${err.response ?? `${err.code ?? 'error'} ${err.message ?? String(e)}`}` };
  } finally {
    transport.close();
  }
}
