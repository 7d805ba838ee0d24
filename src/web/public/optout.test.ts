import { describe, expect, it } from 'vitest';
import { parseContacts } from '../../notify/contacts.js';
import { parseIspTable } from '../../scope/isp.js';
import { parseTarget } from '../../scope/target.js';
import { abuseContactFor, holderOf, newToken, sha256 } from './optout.js';

const table = parseIspTable(
  [
    'prefix,isp_id,name,participating,parent',
    '127.70.0.0/16,whole,Wholesale,yes,',
    '127.70.8.0/24,resell,Reseller,no,whole',
    '127.71.0.0/16,other,Other,yes,',
  ].join('\n'),
  'isps.csv',
);
const contacts = parseContacts('isp_id,email,language\nwhole,abuse@whole.invalid,ja\nother,abuse@other.invalid,en\n', 'contacts.csv');
const range = (cidr: string) => {
  const t = parseTarget(cidr);
  if (!t.ok) throw new Error(cidr);
  return t.range;
};

describe('who can confirm an opt-out', () => {
  it('is the ISP holding the whole network, by longest prefix', () => {
    expect(holderOf(range('127.70.1.0/24'), table)?.id).toBe('whole');
    expect(holderOf(range('127.70.8.128/25'), table)?.id).toBe('resell');
  });

  it('is nobody when the network spans ISPs, holds another ISP\'s prefix, or no prefix covers it', () => {
    expect(holderOf(range('127.70.0.0/16'), table)).toBeUndefined(); // the reseller's /24 is inside
    expect(holderOf(range('127.70.0.0/15'), table)).toBeUndefined(); // two ISPs
    expect(holderOf(range('127.72.0.0/24'), table)).toBeUndefined();
  });

  it('falls back to the ISP notified for a reseller without a contact of its own', () => {
    expect(abuseContactFor(range('127.70.8.0/24'), table, contacts)).toMatchObject({ isp: { id: 'resell' }, contact: { email: 'abuse@whole.invalid' } });
    expect(abuseContactFor(range('127.71.3.0/24'), table, contacts).contact?.email).toBe('abuse@other.invalid');
    expect(abuseContactFor(range('127.71.3.0/24'), undefined, contacts).contact).toBeUndefined();
  });

  it('gets a fresh 256-bit token each time, stored only as its SHA-256', () => {
    const a = newToken();
    const b = newToken();
    expect(a.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(a.token).not.toBe(b.token);
    expect(a.hash).toBe(sha256(a.token));
    expect(a.hash).not.toContain(a.token);
  });
});
