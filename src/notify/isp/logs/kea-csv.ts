/**
 * Kea's memfile lease file for DHCPv4 (kea-leases4.csv), header
 * `address,hwaddr,client_id,valid_lifetime,expire,subnet_id,fqdn_fwd,fqdn_rev,hostname,state,user_context`
 * (newer versions append pool_id). A row is written at every grant and renewal: the lease began
 * at expire − valid_lifetime. Kea never quotes; it escapes commas in text as "&#x2c". state 0 is
 * a lease in use, 1 declined, 2 expired-reclaimed; valid_lifetime 0 marks a released lease.
 */
import { IotcleanError } from '../../../core/errors.js';
import { canonicalIp, headerIndex, normaliseClientId, normaliseMac } from './fields.js';
import { mergeLeases, type LeaseEvent } from './lease-merge.js';
import type { LogLine, ParseItem, SessionLogParser } from './types.js';

export const keaHeader = ['address', 'hwaddr', 'client_id', 'valid_lifetime', 'expire', 'subnet_id', 'fqdn_fwd', 'fqdn_rev', 'hostname', 'state', 'user_context'] as const;

async function* events(lines: AsyncIterable<LogLine>): AsyncIterable<LeaseEvent | ParseItem> {
  let cols: Map<string, number> | undefined;
  for await (const l of lines) {
    if (l.text.trim() === '') continue;
    const cells = l.text.split(',');
    if (!cols) {
      const h = headerIndex(cells);
      const missing = ['address', 'hwaddr', 'valid_lifetime', 'expire'].filter((c) => !h.has(c));
      if (missing.length > 0) throw new IotcleanError('E_SESSION_LOG', `Kea lease file header lacks ${missing.join(', ')}`, { line: l.n, hint: `the first line must be ${keaHeader.join(',')}` });
      cols = h;
      continue;
    }
    const get = (name: string): string => (cols!.has(name) ? (cells[cols!.get(name)!] ?? '').trim() : '');
    const ip = canonicalIp(get('address'));
    const lifetime = get('valid_lifetime');
    const expire = get('expire');
    if (ip === undefined || !/^\d{1,10}$/.test(lifetime) || !/^\d{1,11}$/.test(expire)) {
      const what = ip === undefined ? `address "${get('address').slice(0, 40)}"` : !/^\d{1,10}$/.test(lifetime) ? `valid_lifetime "${lifetime.slice(0, 20)}"` : `expire "${expire.slice(0, 20)}"`;
      yield { kind: 'problem', line: l.n, message: `bad ${what}` };
      continue;
    }
    const end = Number(expire) * 1000;
    const start = end - Number(lifetime) * 1000;
    const state = get('state') === '' ? 0 : Number(get('state'));
    const mac = get('hwaddr') === '' ? null : normaliseMac(get('hwaddr'));
    if (get('hwaddr') !== '' && mac === null) {
      yield { kind: 'problem', line: l.n, message: `bad hwaddr "${get('hwaddr').slice(0, 40)}"` };
      continue;
    }
    const clientId = get('client_id') === '' ? null : normaliseClientId(get('client_id'));
    const grant = state === 0 && Number(lifetime) > 0;
    yield { line: l.n, ip, type: grant ? 'grant' : 'end', start, end, mac, clientId };
  }
}

export const keaCsvParser: SessionLogParser = {
  name: 'kea-csv',
  detect: (head) => {
    const h = head[0]?.toLowerCase() ?? '';
    return h.startsWith('address,hwaddr') || (h.includes('valid_lifetime') && h.includes('expire'));
  },
  parse: (lines) => mergeLeases(events(lines)),
};
