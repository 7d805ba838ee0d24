/**
 * RADIUS accounting (RFC 2866) → sessions, shared by the detail-file and CSV parsers. A session is
 * keyed by NAS + Acct-Session-Id (unique per NAS, RFC 2866 §5.5): Start opens it, Stop closes it;
 * an Interim-Update (RFC 2869 §2.1) without a Start still opens one (the Start was lost or is in
 * an older file), dated back by its Acct-Session-Time; a Stop without a Start is dated back the
 * same way; Accounting-On/Off (the NAS restarted) closes every open session of that NAS.
 */
import { own } from './fields.js';
import type { ParseItem } from './types.js';

export type AcctStatus = 'start' | 'interim' | 'stop' | 'on' | 'off';

/** One accounting request as the log states it. */
export interface AcctEvent {
  readonly line: number;
  readonly status: AcctStatus;
  readonly sessionId: string | null;
  readonly nas: string;
  readonly user: string | null;
  readonly ip: string | null;
  readonly mac: string | null;
  /** Epoch ms of the event. */
  readonly time: number;
  /** Acct-Session-Time in seconds, if given. */
  readonly sessionTime: number | null;
}

/** Acct-Status-Type by name or number (RFC 2866 §5.1; Interim-Update is RFC 2869 §2.1). */
const statusTable: Readonly<Record<string, AcctStatus>> = {
  start: 'start',
  '1': 'start',
  stop: 'stop',
  '2': 'stop',
  'interim-update': 'interim',
  alive: 'interim',
  '3': 'interim',
  'accounting-on': 'on',
  '7': 'on',
  'accounting-off': 'off',
  '8': 'off',
};

/** Acct-Status-Type by name or number. */
export function acctStatus(raw: string): AcctStatus | undefined {
  const v = raw.trim().replace(/^"|"$/g, '').toLowerCase();
  return own(statusTable, v);
}

interface Open {
  start: number;
  line: number;
  user: string | null;
  ip: string | null;
  mac: string | null;
  nas: string;
}

/** Most sessions held open at once; beyond it a Start is reported, not kept (bounded memory). */
export const maxOpenSessions = 2_000_000;

/** Pairs a stream of accounting events into sessions; yields sessions and problems. */
export async function* pairAccounting(events: AsyncIterable<AcctEvent | ParseItem>): AsyncIterable<ParseItem> {
  const open = new Map<string, Open>();
  const close = (o: Open, end: number | null, line: number): ParseItem =>
    o.ip === null
      ? { kind: 'problem', line: o.line, message: 'accounting session has no Framed-IP-Address' }
      : {
          kind: 'session',
          session: { subscriber: o.user, ip: o.ip, portFirst: null, portLast: null, start: o.start, end: end === null ? null : Math.max(end, o.start), mac: o.mac, clientId: null, line: Math.min(o.line, line) },
        };
  for await (const e of events) {
    if ('kind' in e) {
      yield e;
      continue;
    }
    if (e.status === 'on' || e.status === 'off') {
      for (const [k, o] of open) {
        if (o.nas !== e.nas) continue;
        open.delete(k);
        yield close(o, e.time, o.line);
      }
      continue;
    }
    if (e.sessionId === null) {
      yield { kind: 'problem', line: e.line, message: 'accounting record has no Acct-Session-Id' };
      continue;
    }
    const key = `${e.nas}\u0000${e.sessionId}`;
    const o = open.get(key);
    const back = e.sessionTime !== null ? e.time - e.sessionTime * 1000 : e.time;
    if (o) {
      o.ip ??= e.ip;
      o.user ??= e.user;
      o.mac ??= e.mac;
      if (e.status === 'stop') {
        open.delete(key);
        yield close(o, e.time, o.line);
      }
      continue;
    }
    const fresh: Open = { start: e.status === 'start' ? e.time : back, line: e.line, user: e.user, ip: e.ip, mac: e.mac, nas: e.nas };
    if (e.status === 'stop') {
      yield close(fresh, e.time, e.line);
      continue;
    }
    if (open.size >= maxOpenSessions) {
      yield { kind: 'problem', line: e.line, message: `more than ${maxOpenSessions} sessions open at once; this one is not kept` };
      continue;
    }
    open.set(key, fresh);
  }
  for (const o of open.values()) yield close(o, null, o.line);
}
