/**
 * FreeRADIUS accounting detail files (raddb/mods-available/detail): records separated by blank
 * lines, each a header line with the time the request arrived ("Tue Dec  1 03:00:00 2026"), then
 * tab-indented `Attr = value` lines. The event time is Event-Timestamp (RFC 2869 §5.3) when
 * present, else the `Timestamp` pseudo-attribute FreeRADIUS adds (Unix seconds) less
 * Acct-Delay-Time (RFC 2866 §5.2), else the header.
 */
import { canonicalIp, normaliseMac, parseLogTime } from './fields.js';
import { acctStatus, pairAccounting, type AcctEvent } from './radius-pairing.js';
import type { LogLine, ParseItem, SessionLogParser } from './types.js';

const attrLine = /^\s*([A-Za-z][\w.:-]{0,80})\s*(\+?=)\s*(.*)$/;
const unquote = (v: string): string => v.trim().replace(/^"(.*)"$/s, '$1');

type Attrs = Map<string, string>;

function eventOf(attrs: Attrs, header: number | undefined, line: number): AcctEvent | ParseItem {
  const rawStatus = attrs.get('acct-status-type');
  const status = rawStatus === undefined ? undefined : acctStatus(rawStatus);
  if (status === undefined) return { kind: 'problem', line, message: rawStatus === undefined ? 'record has no Acct-Status-Type' : `unknown Acct-Status-Type "${rawStatus.slice(0, 40)}"` };
  const delay = Number(attrs.get('acct-delay-time') ?? 0);
  const stamp = attrs.get('timestamp');
  const event = attrs.get('event-timestamp');
  const stamped = stamp === undefined ? undefined : parseLogTime(stamp);
  const time = (event === undefined ? undefined : parseLogTime(event)) ?? (stamped === undefined ? undefined : stamped - (Number.isFinite(delay) ? delay * 1000 : 0)) ?? header;
  if (time === undefined) return { kind: 'problem', line, message: 'record has no readable time' };
  const rawIp = attrs.get('framed-ip-address');
  const ip = rawIp === undefined ? null : (canonicalIp(unquote(rawIp)) ?? null);
  if (rawIp !== undefined && ip === null) return { kind: 'problem', line, message: `Framed-IP-Address "${rawIp.slice(0, 40)}" is not an IPv4 address` };
  const st = attrs.get('acct-session-time');
  const sessionTime = st !== undefined && /^\d{1,10}$/.test(unquote(st)) ? Number(unquote(st)) : null;
  const calling = attrs.get('calling-station-id');
  return {
    line,
    status,
    sessionId: attrs.has('acct-session-id') ? unquote(attrs.get('acct-session-id')!) : null,
    nas: unquote(attrs.get('nas-ip-address') ?? attrs.get('nas-identifier') ?? ''),
    user: attrs.has('user-name') ? unquote(attrs.get('user-name')!) : null,
    ip,
    mac: calling === undefined ? null : normaliseMac(unquote(calling)),
    time,
    sessionTime,
  };
}

async function* records(lines: AsyncIterable<LogLine>): AsyncIterable<AcctEvent | ParseItem> {
  let attrs: Attrs | undefined;
  let header: number | undefined;
  let first = 0;
  for await (const l of lines) {
    if (l.truncated) {
      yield { kind: 'problem', line: l.n, message: 'line too long; cut' };
    }
    const text = l.text;
    if (text.trim() === '') {
      if (attrs) yield eventOf(attrs, header, first);
      attrs = undefined;
      continue;
    }
    const m = /^\s/.test(text) || attrs ? attrLine.exec(text) : null;
    if (m && attrs) {
      // Bounded: a record is a few dozen attributes; a runaway record keeps its first 200.
      if (attrs.size < 200) attrs.set(m[1]!.toLowerCase(), m[3]!);
      continue;
    }
    const t = parseLogTime(text);
    if (t !== undefined && !/^\s/.test(text)) {
      // A header without a blank line before it still starts a new record.
      if (attrs) yield eventOf(attrs, header, first);
      attrs = new Map();
      header = t;
      first = l.n;
      continue;
    }
    if (m && !attrs) {
      // Attributes without a header: a record whose time comes from its attributes.
      attrs = new Map([[m[1]!.toLowerCase(), m[3]!]]);
      header = undefined;
      first = l.n;
      continue;
    }
    yield { kind: 'problem', line: l.n, message: `not an attribute line: "${text.slice(0, 60)}"` };
  }
  if (attrs) yield eventOf(attrs, header, first);
}

export const radiusDetailParser: SessionLogParser = {
  name: 'radius-detail',
  detect: (head) => head.some((l) => /^\s+Acct-Status-Type\s*=/.test(l)) || (head[0] !== undefined && parseLogTime(head[0]) !== undefined && head.some((l) => attrLine.test(l) && /^\s/.test(l))),
  parse: (lines) => pairAccounting(records(lines)),
};
