/**
 * CGNAT port-block logs. Behind carrier-grade NAT (RFC 6888) one public address serves many
 * subscribers, each given a block of its ports; vendors log each block allocation and release
 * (bulk port allocation; RFC 6888 §4 asks for logging, and e.g. Juniper's
 * JSERVICES_NAT_PORT_BLOCK_ALLOC / _RELEASE, Cisco's and A10's equivalents carry the same facts).
 * iotclean reads one documented line format with those facts, whitespace separated:
 *
 *   TIME EVENT SUBSCRIBER PUBLIC_IP FIRST-LAST
 *   2026-12-01T03:00:00Z allocate 100.64.0.12 198.51.100.7 1024-2047
 *   2026-12-01T09:12:44Z release sub-00042 198.51.100.7 1024-2047
 *
 * TIME is ISO 8601 or Unix seconds; EVENT allocate|release (alloc, add / rel, del accepted);
 * SUBSCRIBER a subscriber id, or the subscriber's private (inside) address, which matching then
 * resolves through the sessions of that private address (stored as "@" + address). A vendor log
 * converts to this with one awk line. Lines starting with # are comments. EVENT may also be
 * interim (active, keepalive): the periodic re-log of a live block (vendors' interim logging,
 * since syslog over UDP loses lines), which opens the block if its allocation was lost.
 *
 * Juniper-style lines are read as they come, e.g.
 *   Dec  1 03:00:00 cgn1 … JSERVICES_NAT_PORT_BLOCK_ALLOC: 100.64.0.12 -> 198.51.100.7:1024-2047 0x692d0470
 * (ALLOC / RELEASE / ACTIVE; the time is an ISO time on the line, else the trailing hex Unix time).
 */
import { canonicalIp, own, parseLogTime } from './fields.js';
import type { LogLine, ParseItem, SessionLogParser } from './types.js';

/** Subscriber field of a block allocated to a private address, resolved at match time. */
export const privatePrefix = '@';

type BlockEvent = 'allocate' | 'release' | 'interim';
const events: Readonly<Record<string, BlockEvent>> = { allocate: 'allocate', alloc: 'allocate', add: 'allocate', release: 'release', rel: 'release', del: 'release', interim: 'interim', active: 'interim', keepalive: 'interim' };

const vendorLine = /(ALLOC|RELEASE|ACTIVE|INTERIM)\b[^\d]*?(\d{1,3}(?:\.\d{1,3}){3})\s*->\s*(\d{1,3}(?:\.\d{1,3}){3}):(\d{1,5})-(\d{1,5})(?:\s+0x([0-9a-fA-F]{8}))?/;
const isoOnLine = /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})?/;

/** A vendor (Juniper-style) line as the five fields of the documented format, or undefined. */
function fromVendorLine(text: string): string[] | undefined {
  const m = vendorLine.exec(text);
  if (!m) return undefined;
  const iso = isoOnLine.exec(text)?.[0];
  const time = iso ?? (m[6] !== undefined ? String(parseInt(m[6], 16)) : undefined);
  if (time === undefined) return undefined;
  const event = m[1] === 'ALLOC' ? 'allocate' : m[1] === 'RELEASE' ? 'release' : 'interim';
  return [time, event, m[2]!, m[3]!, `${m[4]}-${m[5]}`];
}

interface Open {
  start: number;
  line: number;
  subscriber: string;
}

/** Most blocks open at once (a large CGNAT has millions); beyond it a block is reported, not kept. */
export const maxOpenBlocks = 4_000_000;

async function* parse(lines: AsyncIterable<LogLine>): AsyncIterable<ParseItem> {
  const open = new Map<string, Open>();
  const emit = (key: string, o: Open, end: number | null): ParseItem => {
    const [ip, first, last] = key.split(' ') as [string, string, string];
    return { kind: 'session', session: { subscriber: o.subscriber, ip, portFirst: Number(first), portLast: Number(last), start: o.start, end: end === null ? null : Math.max(end, o.start), mac: null, clientId: null, line: o.line } };
  };
  for await (const l of lines) {
    const text = l.text.trim();
    if (text === '' || text.startsWith('#')) continue;
    const plain = text.split(/\s+/);
    const f = own(events, (plain[1] ?? '').toLowerCase()) === undefined ? (fromVendorLine(text) ?? plain) : plain;
    const time = parseLogTime(f[0] ?? '');
    const event = own(events, (f[1] ?? '').toLowerCase());
    const who = f[2] ?? '';
    const ip = canonicalIp(f[3] ?? '');
    const range = /^(\d{1,5})-(\d{1,5})$/.exec(f[4] ?? '');
    const first = Number(range?.[1]);
    const last = Number(range?.[2]);
    const problem = (what: string): ParseItem => ({ kind: 'problem', line: l.n, message: `${what} (expected TIME allocate|release|interim SUBSCRIBER PUBLIC_IP FIRST-LAST)` });
    if (l.truncated) yield { kind: 'problem', line: l.n, message: 'line too long; cut' };
    if (time === undefined) yield problem(`unreadable time "${(f[0] ?? '').slice(0, 40)}"`);
    else if (event === undefined) yield problem(`unknown event "${(f[1] ?? '').slice(0, 20)}"`);
    else if (who === '' || who.length > 200) yield problem('no subscriber');
    else if (ip === undefined) yield problem(`public address "${(f[3] ?? '').slice(0, 40)}" is not IPv4`);
    else if (!range || first > last || last > 65535) yield problem(`bad port range "${(f[4] ?? '').slice(0, 20)}"`);
    else {
      const priv = canonicalIp(who);
      const subscriber = priv !== undefined ? `${privatePrefix}${priv}` : who;
      const key = `${ip} ${first} ${last}`;
      const o = open.get(key);
      if (event === 'interim') {
        if (!o) {
          if (open.size >= maxOpenBlocks) yield problem(`more than ${maxOpenBlocks} blocks open at once; this one is not kept`);
          else open.set(key, { start: time, line: l.n, subscriber });
        } else if (o.subscriber !== subscriber) {
          // Another holder re-logged: the old allocation ended unlogged.
          yield emit(key, o, time);
          open.set(key, { start: time, line: l.n, subscriber });
        }
      } else if (event === 'allocate') {
        // A new allocation of a block still open: the old one was released unlogged, now at the latest.
        if (o) yield emit(key, o, time);
        if (open.size >= maxOpenBlocks) yield problem(`more than ${maxOpenBlocks} blocks open at once; this one is not kept`);
        else open.set(key, { start: time, line: l.n, subscriber });
      } else if (o) {
        open.delete(key);
        yield emit(key, o, time);
      } else {
        yield { kind: 'problem', line: l.n, message: `release of ${ip} ${first}-${last} without an allocation in this file; its start is unknown` };
      }
    }
  }
  for (const [key, o] of open) yield emit(key, o, null);
}

export const cgnatParser: SessionLogParser = {
  name: 'cgnat',
  detect: (head) => head.some((l) => /^\S+\s+(allocate|release|alloc|rel|interim|active)\s+\S+\s+\d{1,3}(\.\d{1,3}){3}\s+\d{1,5}-\d{1,5}\b/i.test(l.trim()) || fromVendorLine(l) !== undefined),
  parse,
};
