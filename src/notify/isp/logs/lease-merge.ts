/**
 * DHCP lease files are journals: the server appends a new block (dhcpd.leases(5)) or row (Kea
 * memfile) at every grant, renewal, release and expiry, so a later entry for an address
 * supersedes the earlier one. Consecutive grants to the same client (MAC or client id) are one
 * holding, extended; a grant to another client ends the previous holder's at its start (the
 * reassignment the matching must get right); a release or expiry ends it.
 */
import type { ParseItem, RawSession } from './types.js';

export interface LeaseEvent {
  readonly line: number;
  readonly ip: string;
  /** `grant`: the client holds [start, end); `end`: the address was freed at `end`. */
  readonly type: 'grant' | 'end';
  readonly start: number;
  readonly end: number | null;
  readonly mac: string | null;
  readonly clientId: string | null;
}

interface Held {
  start: number;
  end: number | null;
  line: number;
  mac: string | null;
  clientId: string | null;
}

const sameClient = (a: Held, b: LeaseEvent): boolean => (a.mac !== null && a.mac === b.mac) || (a.clientId !== null && a.clientId === b.clientId);
const earlier = (a: number | null, b: number | null): number | null => (a === null ? b : b === null ? a : Math.min(a, b));

function session(ip: string, h: Held): ParseItem {
  const s: RawSession = { subscriber: null, ip, portFirst: null, portLast: null, start: h.start, end: h.end === null ? null : Math.max(h.start, h.end), mac: h.mac, clientId: h.clientId, line: h.line };
  return { kind: 'session', session: s };
}

/** Merges lease events into holdings; memory is one entry per address in the file. */
export async function* mergeLeases(events: AsyncIterable<LeaseEvent | ParseItem>): AsyncIterable<ParseItem> {
  const held = new Map<string, Held>();
  for await (const e of events) {
    if ('kind' in e) {
      yield e;
      continue;
    }
    const h = held.get(e.ip);
    if (e.type === 'end') {
      if (h) {
        h.end = earlier(h.end, e.end ?? e.start);
        held.delete(e.ip);
        yield session(e.ip, h);
      }
      continue;
    }
    if (h && sameClient(h, e) && (h.end === null || e.start <= h.end)) {
      // A renewal: the same holding, now ending later (or earlier, if the server shortened it).
      h.end = e.end;
      continue;
    }
    if (h) {
      h.end = earlier(h.end, e.start);
      yield session(e.ip, h);
    }
    held.set(e.ip, { start: e.start, end: e.end, line: e.line, mac: e.mac, clientId: e.clientId });
  }
  for (const [ip, h] of held) yield session(ip, h);
}
