/**
 * Matching a finding's address + time (+ port behind CGNAT) to the subscriber who held it, at the
 * ISP. Sessions go into an in-memory interval index: columns in typed arrays, sorted by address
 * (then CGNAT port block) then start, so a lookup is a binary search plus a short backward scan
 * bounded by a running maximum of the ends. Times are whole seconds (every log format here is
 * second-precision), so 10 M sessions take about 30 bytes each. Open sessions (end null) extend to
 * the time their log was imported: the session was seen alive until then, not forever.
 */
import { parseIpv4 } from '../../core/ip.js';
import type { Finding } from '../../core/records.js';
import { privatePrefix } from './logs/cgnat.js';
import { noKeys, type SubscriberKeys } from './logs/index.js';
import type { SessionRecord, SubscriberMatch } from './types.js';

/** A match plus the MAC of the session it came from (routing by inventory MAC needs it). */
export type IspMatch = SubscriberMatch & { readonly mac: string | null };

/** Growable columns of one table (whole-address sessions, or CGNAT port blocks). */
class Columns {
  n = 0;
  ip = new Uint32Array(1024);
  port = new Uint16Array(1024);
  portLast = new Uint16Array(1024);
  start = new Uint32Array(1024);
  end = new Uint32Array(1024);
  sub = new Int32Array(1024);
  mac = new Int32Array(1024);

  push(ip: number, portFirst: number, portLast: number, start: number, end: number, sub: number, mac: number): void {
    if (this.n === this.ip.length) this.grow(this.n * 2);
    const i = this.n++;
    this.ip[i] = ip;
    this.port[i] = portFirst;
    this.portLast[i] = portLast;
    this.start[i] = start;
    this.end[i] = end;
    this.sub[i] = sub;
    this.mac[i] = mac;
  }

  grow(size: number): void {
    const g = <T extends Uint32Array | Uint16Array | Int32Array>(a: T, make: (n: number) => T): T => {
      const b = make(size);
      b.set(a.subarray(0, Math.min(a.length, size)) as never);
      return b;
    };
    this.ip = g(this.ip, (k) => new Uint32Array(k));
    this.port = g(this.port, (k) => new Uint16Array(k));
    this.portLast = g(this.portLast, (k) => new Uint16Array(k));
    this.start = g(this.start, (k) => new Uint32Array(k));
    this.end = g(this.end, (k) => new Uint32Array(k));
    this.sub = g(this.sub, (k) => new Int32Array(k));
    this.mac = g(this.mac, (k) => new Int32Array(k));
  }
}

/** One 16-bit digit of every key, as a column (a plain loop: no call per element). */
function digitColumn(src: Uint32Array | Uint16Array, n: number, shift: number): Uint16Array {
  const d = new Uint16Array(n);
  for (let i = 0; i < n; i++) d[i] = (src[i]! >>> shift) & 0xffff;
  return d;
}

/**
 * Stable LSD radix sort of a permutation by 16-bit digits, least significant first; each digit
 * column is made only for its pass, so the sort needs 2 + 2 bytes a row beyond the permutations.
 */
function radixSort(n: number, digits: readonly (() => Uint16Array)[]): Uint32Array {
  let perm = new Uint32Array(n);
  for (let i = 0; i < n; i++) perm[i] = i;
  let tmp = new Uint32Array(n);
  const count = new Uint32Array(65537);
  for (const make of digits) {
    const d = make();
    count.fill(0);
    for (let i = 0; i < n; i++) count[d[i]! + 1]!++;
    for (let k = 1; k <= 65536; k++) count[k]! += count[k - 1]!;
    for (let i = 0; i < n; i++) {
      const p = perm[i]!;
      tmp[count[d[p]!]!++] = p;
    }
    [perm, tmp] = [tmp, perm];
  }
  return perm;
}

function take32(a: Uint32Array, perm: Uint32Array): Uint32Array {
  const b = new Uint32Array(perm.length);
  for (let i = 0; i < perm.length; i++) b[i] = a[perm[i]!]!;
  return b;
}
function take16(a: Uint16Array, perm: Uint32Array): Uint16Array {
  const b = new Uint16Array(perm.length);
  for (let i = 0; i < perm.length; i++) b[i] = a[perm[i]!]!;
  return b;
}
function takeI32(a: Int32Array, perm: Uint32Array): Int32Array {
  const b = new Int32Array(perm.length);
  for (let i = 0; i < perm.length; i++) b[i] = a[perm[i]!]!;
  return b;
}

/** First index in [lo, hi) whose value is >= k (the values increase on that range). */
function lowerBound(a: Uint32Array | Uint16Array, lo: number, hi: number, k: number): number {
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid]! < k) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** A sorted table with the running maximum of `end` within each (address, port block) group. */
class Table {
  readonly n: number;
  readonly ip: Uint32Array;
  readonly port: Uint16Array;
  readonly portLast: Uint16Array;
  readonly start: Uint32Array;
  readonly end: Uint32Array;
  readonly maxEnd: Uint32Array;
  readonly sub: Int32Array;
  readonly mac: Int32Array;
  /** Widest port block, so a lookup knows how far below the port a block may begin. */
  readonly maxSpan: number;

  constructor(c: Columns, byPort: boolean) {
    const n = (this.n = c.n);
    const { ip, port, start } = c;
    const perm = radixSort(n, [() => digitColumn(start, n, 0), () => digitColumn(start, n, 16), ...(byPort ? [() => digitColumn(port, n, 0)] : []), () => digitColumn(ip, n, 0), () => digitColumn(ip, n, 16)]);
    this.ip = take32(c.ip, perm);
    this.port = take16(c.port, perm);
    this.portLast = take16(c.portLast, perm);
    this.start = take32(c.start, perm);
    this.end = take32(c.end, perm);
    this.sub = takeI32(c.sub, perm);
    this.mac = takeI32(c.mac, perm);
    this.maxEnd = new Uint32Array(n);
    let span = 0;
    for (let i = 0; i < n; i++) {
      const same = i > 0 && this.ip[i] === this.ip[i - 1] && this.port[i] === this.port[i - 1];
      this.maxEnd[i] = same ? Math.max(this.maxEnd[i - 1]!, this.end[i]!) : this.end[i]!;
      span = Math.max(span, this.portLast[i]! - this.port[i]!);
    }
    this.maxSpan = span;
  }

  /** Rows of [lo, hi) (one group, sorted by start) covering t, pushed to `out` (at most `cap`). */
  cover(lo: number, hi: number, t: number, port: number | null, out: number[], cap: number): void {
    let j = lowerBound(this.start, lo, hi, t + 1) - 1;
    for (; j >= lo && this.maxEnd[j]! > t && out.length < cap; j--) {
      if (this.end[j]! > t && (port === null || this.portLast[j]! >= port)) out.push(j);
    }
  }

  /** Index range of an address. */
  range(ipNum: number): [number, number] {
    const lo = lowerBound(this.ip, 0, this.n, ipNum);
    const hi = lowerBound(this.ip, lo, this.n, ipNum + 1);
    return [lo, hi];
  }
}

/** Most candidates a lookup collects (more than two already make a match ambiguous). */
const maxCandidates = 16;

/** A session as the index holds it: subscriber ('' unknown, '@ip' a CGNAT private address) and MAC. */
export interface IndexedSession {
  readonly subscriber: string;
  readonly mac: string | null;
}

/** The built index: look up who held an address (and port) at a time. */
export interface SessionIndex {
  /** Sessions indexed (whole-address and port-block). */
  readonly size: number;
  /** Whether the address appears in any session / any CGNAT port block. */
  knows(ipNum: number): { readonly address: boolean; readonly portBlocks: boolean };
  /** Sessions covering the time (epoch ms): port blocks when `port` is given, else whole addresses. */
  lookup(ipNum: number, timeMs: number, port: number | null): IndexedSession[];
}

/** Collects sessions; `build()` sorts them once (the builder is spent after it). */
export interface SessionIndexBuilder {
  add(s: SessionRecord, importedAtMs?: number): void;
  /** The fast path (bench, store scans): numbers already parsed; `endMs` null means open. */
  addRaw(ipNum: number, startMs: number, endMs: number | null, portFirst: number | null, portLast: number | null, subscriber: string, mac: string | null, importedAtMs?: number): void;
  build(): SessionIndex;
}

/**
 * A builder for an index; `openUntilMs` is the import time that open sessions extend to when a
 * row gives none of its own.
 */
export function createSessionIndexBuilder(openUntilMs: number): SessionIndexBuilder {
  const strings: string[] = [''];
  const ids = new Map<string, number>([['', 0]]);
  const intern = (s: string | null): number => {
    if (s === null) return -1;
    let id = ids.get(s);
    if (id === undefined) {
      id = strings.length;
      strings.push(s);
      ids.set(s, id);
    }
    return id;
  };
  let whole = new Columns();
  let blocks = new Columns();
  let built = false;
  const sec = (ms: number): number => Math.min(0xffffffff, Math.max(0, Math.floor(ms / 1000)));
  const builder: SessionIndexBuilder = {
    addRaw(ipNum, startMs, endMs, portFirst, portLast, subscriber, mac, importedAtMs) {
      if (built) throw new Error('session index builder used after build()');
      const end = sec(endMs ?? importedAtMs ?? openUntilMs);
      const start = sec(startMs);
      if (portFirst !== null && portLast !== null) blocks.push(ipNum, portFirst, portLast, start, end, intern(subscriber), intern(mac));
      else whole.push(ipNum, 0, 0, start, end, intern(subscriber), intern(mac));
    },
    add(s, importedAtMs) {
      const ipNum = parseIpv4(s.ip);
      const start = Date.parse(s.start);
      const end = s.end === null ? null : Date.parse(s.end);
      if (ipNum === undefined || !Number.isFinite(start) || (end !== null && !Number.isFinite(end))) return;
      builder.addRaw(ipNum, start, end, s.portFirst, s.portLast, s.subscriber, s.mac, importedAtMs);
    },
    build() {
      const a = new Table(whole, false);
      const b = new Table(blocks, true);
      // The unsorted columns and the interning map are garbage now (the index keeps only `strings`).
      built = true;
      whole = new Columns();
      blocks = new Columns();
      ids.clear();
      const one = (t: Table, j: number): IndexedSession => ({ subscriber: strings[t.sub[j]!] ?? '', mac: t.mac[j]! < 0 ? null : (strings[t.mac[j]!] ?? null) });
      return {
        size: a.n + b.n,
        knows(ipNum) {
          const [lo, hi] = a.range(ipNum);
          const [plo, phi] = b.range(ipNum);
          return { address: hi > lo, portBlocks: phi > plo };
        },
        lookup(ipNum, timeMs, port) {
          const t = sec(timeMs);
          const out: number[] = [];
          if (port === null) {
            const [lo, hi] = a.range(ipNum);
            a.cover(lo, hi, t, null, out, maxCandidates);
            return out.map((j) => one(a, j));
          }
          const [lo, hi] = b.range(ipNum);
          // Groups whose block begins within maxSpan below the port, in port order.
          let g = lowerBound(b.port, lo, hi, Math.max(0, port - b.maxSpan));
          while (g < hi && b.port[g]! <= port && out.length < maxCandidates) {
            const first = b.port[g]!;
            const gEnd = lowerBound(b.port, g, hi, first + 1);
            b.cover(g, gEnd, t, port, out, maxCandidates);
            g = gEnd;
          }
          return out.map((j) => one(b, j));
        },
      };
    },
  };
  return builder;
}

/** An index of the given sessions (stored or streamed); open ones extend to `openUntilMs`. */
export async function buildSessionIndex(sessions: AsyncIterable<SessionRecord> | Iterable<SessionRecord>, openUntilMs: number): Promise<SessionIndex> {
  const b = createSessionIndexBuilder(openUntilMs);
  for await (const s of sessions) b.add(s);
  return b.build();
}

/** The port that identifies the subscriber behind CGNAT: a darknet source port if given, else the finding's. */
function portOf(f: Finding): number | null {
  const sp = f.details['sourcePort'];
  if (typeof sp === 'number' && Number.isInteger(sp) && sp >= 0 && sp <= 65535) return sp;
  return f.port;
}

/**
 * Match one finding. Matched: every session covering it names one subscriber (several sessions
 * of the same subscriber are still one match). Ambiguous: two or more subscribers. Unmatched:
 * with the reason (no session at all, none at that time, CGNAT without a port, a lease whose MAC
 * is in no subscriber's row).
 */
export function matchFinding(index: SessionIndex, f: Finding, keys: SubscriberKeys = noKeys): IspMatch {
  const done = (status: IspMatch['status'], subscriber: string | null, candidates: readonly string[], reason: string | null, mac: string | null = null): IspMatch => ({
    finding: f,
    status,
    subscriber,
    candidates,
    reason,
    mac,
  });
  const ipNum = parseIpv4(f.ip);
  if (ipNum === undefined) return done('unmatched', null, [], `"${f.ip.slice(0, 60)}" is not an IPv4 address`);
  const t = Date.parse(f.observedAt);
  if (!Number.isFinite(t)) return done('unmatched', null, [], `observed-at "${String(f.observedAt).slice(0, 40)}" is not a time`);
  const known = index.knows(ipNum);
  const port = portOf(f);
  let found: IndexedSession[] = [];
  if (known.portBlocks) {
    if (port === null && !known.address) return done('unmatched', null, [], `CGNAT address ${f.ip}: the finding has no port, and the port is needed to tell its subscribers apart`);
    if (port !== null) found = index.lookup(ipNum, t, port);
  }
  if (found.length === 0 && known.address) found = index.lookup(ipNum, t, null);
  if (found.length === 0) {
    if (!known.address && !known.portBlocks) return done('unmatched', null, [], `no session for ${f.ip} in the imported logs`);
    if (known.portBlocks && !known.address) return done('unmatched', null, [], `no CGNAT port block of ${f.ip} held port ${port} at ${f.observedAt}`);
    return done('unmatched', null, [], `no session covers ${f.ip} at ${f.observedAt}`);
  }
  // Resolve: a lease's MAC through the subscriber file, a CGNAT private address through its own sessions.
  const subs = new Map<string, string | null>();
  const unresolved: string[] = [];
  for (const s of found) {
    if (s.subscriber.startsWith(privatePrefix)) {
      const inner = parseIpv4(s.subscriber.slice(privatePrefix.length));
      const held = inner === undefined ? [] : index.lookup(inner, t, null);
      for (const h of held) {
        const who = h.subscriber || (h.mac !== null ? keys.byMac.get(h.mac) : undefined);
        if (who && !who.startsWith(privatePrefix)) subs.set(who, subs.get(who) ?? h.mac);
      }
      if (held.length === 0) unresolved.push(`private address ${s.subscriber.slice(privatePrefix.length)} has no session then`);
      continue;
    }
    const who = s.subscriber || (s.mac !== null ? keys.byMac.get(s.mac) : undefined);
    if (who) subs.set(who, subs.get(who) ?? s.mac);
    else unresolved.push(s.mac !== null ? `the lease of MAC ${s.mac} is in no subscriber's row` : 'the session names no subscriber');
  }
  const names = [...subs.keys()].sort();
  if (names.length === 1) return done('matched', names[0]!, names, null, subs.get(names[0]!) ?? null);
  if (names.length > 1) return done('ambiguous', null, names, `${names.length} subscribers held ${f.ip}${port !== null && known.portBlocks ? `:${port}` : ''} at ${f.observedAt}: ${names.join(', ')}`);
  return done('unmatched', null, [], unresolved[0] ?? 'the session names no subscriber');
}

/** Match every finding of the given batches, in order. */
export function matchFindings(index: SessionIndex, findings: Iterable<Finding>, keys: SubscriberKeys = noKeys): IspMatch[] {
  const out: IspMatch[] = [];
  for (const f of findings) out.push(matchFinding(index, f, keys));
  return out;
}
