/**
 * Per-source, per-UTC-day classification of darknet traffic.
 *
 * Every packet is folded into its source's counters in a struct-of-arrays table (no object per
 * packet or per source): probes (SYN without ACK, UDP, ICMP echo request), backscatter (SYN-ACK,
 * RST, ICMP echo reply / unreachable / time exceeded, the answers victims of spoofed attacks send
 * to addresses that never asked), fingerprint hits, exact counts of telnet ports, distinct
 * destinations (exact up to 4, then a 256-register HyperLogLog) and a top-3 of destination ports.
 *
 * Memory bound: 128 bytes of counters per source (stored densely in an array that doubles, never
 * past `maxSources` entries) plus an open-addressing index of 8-byte slots at most half full (up
 * to 32 bytes per source), plus 256 bytes from a per-day pool for each source past 4 destinations,
 * at most `maxSources` sources per open day (default 1,000,000: at most about 150 MB of tables;
 * the earlier layout, a 256 MB table, measured 321 MB RSS with 5 M distinct sources streaming
 * through). Closing a day builds its summaries as JS
 * objects (about 0.9 KB each), freed once handed on. When a day's table
 * is full, its one-packet sources (never enough to label) are evicted; if it is still nine-tenths
 * full, packets of new sources are counted as dropped. A day is closed, summarised and freed once
 * packets two days later arrive (captures may be out of order by up to a day), or at the end; at
 * most four days are open at once, whatever the timestamps say.
 */
import { fingerprintRules, weighFingerprints } from './fingerprints.js';
import { ipv6Text, type PacketView } from './pcap/packet.js';
import { HIT_SHIFT, IPV6_BIT, KIND_SHIFT, kind, RowPacker, WORDS, type PacketRows } from './rows.js';
import { HLL_REGISTERS, hllAddHash, hllCount, mix32, unmix32 } from './sketch.js';
import type { AnalyserOptions, AnalysisLimits, SourceClass, SourceSummary } from './types.js';

export type { AnalyserOptions, AnalysisLimits, SourceClass, SourceSummary } from './types.js';

// Counter layout per source, stride S = 32 words (128 bytes): what every probe touches sits in the
// first 64 bytes (one cache line, with the key: the table is its own hash map), the rest in the
// second. The analysis is bound by memory misses on random sources, so lines are what count.
// KEY is the source address's hash as the rows carry it (rows.ts; unmix32 gives the address back).
const KEY = 0, PACKETS = 1, SYN = 2, HITS = 3; // one hit counter per fingerprint rule (three)
const NDEST = 6, LAST = 7, DEST = 8;
const EXACT = 4;
/** Top-3 ports, each word (port << 16 | count); counts halve together before they overflow. */
const TOPK = 3;
const PORTS = 12, P23 = 15;
const FIRST = 16, P2323 = 17, SYNACK = 18, RST = 19, UDP = 20, ECHO = 21, ICMPBACK = 22, OTHER = 23;
/** Set once the source was reported through onInfected. */
const ALERTED = 24;
const S = 32;
const INITIAL = 1 << 10;
/** NDEST value once a source's destinations moved to its HyperLogLog. */
const SKETCHED = 0xffffffff;

const DAY = 86400;
const DAY_MS = DAY * 1000;
/** Day tables open at once (today, yesterday, and a little room for captures out of order). */
const MAX_OPEN_DAYS = 4;
/** The counter each packet kind (rows.ts) moves on. */
const KIND_COUNTER = new Uint8Array(8);
KIND_COUNTER[kind.other] = OTHER;
KIND_COUNTER[kind.syn] = SYN;
KIND_COUNTER[kind.synAck] = SYNACK;
KIND_COUNTER[kind.rst] = RST;
KIND_COUNTER[kind.udp] = UDP;
KIND_COUNTER[kind.echo] = ECHO;
KIND_COUNTER[kind.icmpReply] = ICMPBACK;
KIND_COUNTER[kind.tcpOther] = OTHER;
const RULES = fingerprintRules;
if (RULES.length !== NDEST - HITS) throw new Error('classify.ts reserves three fingerprint counters');

class DayTable {
  /**
   * IPv4 sources: counters stored densely in arrival order (entry e at e*S), found through an
   * open-addressing index of (key, entry+1) pairs kept at most half full. Probing touches only the
   * 8-byte index slots (a few MB even for a million sources), so a lookup costs one miss into the
   * counters, and growing the index never moves them.
   */
  c4 = new Uint32Array(INITIAL * S);
  index4 = new Uint32Array(INITIAL * 4);
  mask4 = INITIAL * 2 - 1;
  size4 = 0;
  /** IPv6 sources (rare in darknets): sequential entries found by their text. */
  c6 = new Uint32Array(16 * S);
  readonly keys6 = new Map<string, number>();
  ips6: string[] = [];
  /** HyperLogLog registers of sources past EXACT destinations, HLL_REGISTERS bytes each. */
  pool = new Uint8Array(HLL_REGISTERS * 64);
  pooled = 0;
  evicted = 0;
  dropped = 0;

  constructor(readonly day: number, private readonly max: number, private readonly onInfected?: (s: SourceSummary) => void) {}

  get size(): number {
    return this.size4 + this.ips6.length;
  }

  /** Rebuild the index over the current entries with `slots` slots. */
  private reindex(slots: number): void {
    const index = this.index4.length === slots * 2 ? this.index4.fill(0) : new Uint32Array(slots * 2);
    const mask = slots - 1;
    const c = this.c4;
    for (let e = 0; e < this.size4; e++) {
      const key = c[e * S + KEY]!;
      let i = key & mask;
      while (index[i * 2 + 1] !== 0) i = (i + 1) & mask;
      index[i * 2] = key;
      index[i * 2 + 1] = e + 1;
    }
    this.index4 = index;
    this.mask4 = mask;
  }

  /** Evict one-packet sources (never enough to label): the bound on memory. */
  private compact(): void {
    const c = this.c4;
    let w = 0;
    for (let e = 0; e < this.size4; e++) {
      if (c[e * S + PACKETS]! <= 1) {
        this.evicted++;
        continue;
      }
      if (w !== e) c.copyWithin(w * S, e * S, e * S + S);
      w++;
    }
    c.fill(0, w * S, this.size4 * S);
    this.size4 = w;
    this.reindex(this.mask4 + 1);
    const ips6: string[] = [];
    w = 0;
    this.keys6.clear();
    for (let r = 0; r < this.ips6.length; r++) {
      if (this.c6[r * S + PACKETS]! <= 1) {
        this.evicted++;
        continue;
      }
      this.c6.copyWithin(w * S, r * S, r * S + S);
      this.keys6.set(this.ips6[r]!, w);
      ips6.push(this.ips6[r]!);
      w++;
    }
    this.c6.fill(0, w * S);
    this.ips6 = ips6;
  }

  /** Whether one more source fits (compacting when the bound is reached). */
  private room(): boolean {
    if (this.size >= this.max) {
      this.compact();
      if (this.size >= this.max * 0.9) return false;
    }
    return true;
  }

  /** Offset of the entry of the IPv4 source whose hash is h, which must be there. */
  private find4(h: number): number {
    const index = this.index4;
    let i = h & this.mask4;
    while (index[i * 2] !== h || index[i * 2 + 1] === 0) i = (i + 1) & this.mask4;
    return (index[i * 2 + 1]! - 1) * S;
  }

  /** Offset of the entry of the IPv4 source whose hash is h (inserting it), or -1 when the bound is reached. */
  private entry4(h: number): number {
    const index = this.index4;
    const mask = this.mask4;
    let i = h & mask;
    for (;;) {
      const e = index[i * 2 + 1]!;
      if (e === 0) break;
      if (index[i * 2] === h) return (e - 1) * S;
      i = (i + 1) & mask;
    }
    if (!this.room()) return -1;
    if ((this.size4 + 1) * 2 > this.mask4 + 1) this.reindex((this.mask4 + 1) * 2);
    const n = this.size4;
    if ((n + 1) * S > this.c4.length) {
      const bigger = new Uint32Array(Math.min(this.c4.length * 2, (this.max + 1) * S));
      bigger.set(this.c4);
      this.c4 = bigger;
    }
    // The index may have been rebuilt (or compacted) above: probe again for the free slot.
    const idx = this.index4;
    const m = this.mask4;
    let j = h & m;
    while (idx[j * 2 + 1] !== 0) j = (j + 1) & m;
    idx[j * 2] = h;
    idx[j * 2 + 1] = n + 1;
    this.c4[n * S + KEY] = h;
    this.size4 = n + 1;
    return n * S;
  }

  private entry6(ip: string): number {
    const slot = this.keys6.get(ip);
    if (slot !== undefined) return slot * S;
    if (!this.room()) return -1;
    const n = this.ips6.length;
    if ((n + 1) * S > this.c6.length) {
      const bigger = new Uint32Array(this.c6.length * 2);
      bigger.set(this.c6);
      this.c6 = bigger;
    }
    this.keys6.set(ip, n);
    this.ips6.push(ip);
    return n * S;
  }

  /**
   * Fold in rows [i, j) of a batch, all of this day; `lo` is this day's start in the batch's time
   * (milliseconds after its base).
   */
  fold(rows: PacketRows, i: number, j: number, lo: number): void {
    const w = rows.words;
    for (let k = i; k < j; k++) this.foldRow(w, k * WORDS, lo, this.entryOf(rows, k));
  }

  /** The row's entry offset (in c4, or c6 for IPv6), or -1 when the bound is reached. */
  private entryOf(rows: PacketRows, k: number): number {
    const w = rows.words;
    if ((w[k * WORDS + 3]! & IPV6_BIT) === 0) return this.entry4(w[k * WORDS]!);
    return this.entry6(ipv6Text(rows.six, w[k * WORDS]! * 16));
  }

  private foldRow(w: Uint32Array, r: number, lo: number, b: number): void {
    if (b < 0) {
      this.dropped++;
      return;
    }
    const word = w[r + 3]!;
    const four = (word & IPV6_BIT) === 0;
    const c = four ? this.c4 : this.c6;
    const ms = (w[r + 2]! | 0) - lo;
    if (c[b + PACKETS] === 0) {
      c[b + FIRST] = ms;
      c[b + LAST] = ms;
    }
    c[b + PACKETS]!++;
    // FIRST ≤ LAST, so FIRST (in the entry's second cache line) is read only for packets out of order.
    const last = c[b + LAST]!;
    if (ms > last) c[b + LAST] = ms;
    else if (ms < last && ms < c[b + FIRST]!) c[b + FIRST] = ms;
    const k = (word >>> KIND_SHIFT) & 7;
    const port = word & 0xffff;
    c[b + KIND_COUNTER[k]!]!++;
    if (k === kind.syn) {
      const hits = word >>> HIT_SHIFT;
      if (hits & 1) c[b + HITS]!++;
      if (hits & 2) c[b + HITS + 1]!++;
      if (hits & 4) c[b + HITS + 2]!++;
      if (port === 23) c[b + P23]!++;
      else if (port === 2323) c[b + P2323]!++;
    }
    if (k !== kind.other && k !== kind.echo && k !== kind.icmpReply) this.port(c, b, port);
    this.destination(c, b, w, r);
    // Rule 0 is Mirai's: the threshold is checked once this packet is folded in, once per source and day.
    if (this.onInfected && four && c[b + ALERTED] === 0 && c[b + HITS] !== 0) this.alert(c, b);
  }

  /** Report the source once it reads as Mirai-style scanning (its summary says infected). */
  private alert(c: Uint32Array, b: number): void {
    const r = RULES[0]!;
    const syn = c[b + SYN]!;
    if (syn < r.minPackets || c[b + HITS]! < r.minShare * syn) return;
    c[b + ALERTED] = 1;
    const s = this.summaryOf(c, b, undefined);
    if (s.infected) this.onInfected?.(s);
    else c[b + ALERTED] = 0;
  }

  /** Misra–Gries top-k: ports above n/(k+1) of the packets are always kept; counts are lower bounds. */
  private port(c: Uint32Array, b: number, port: number): void {
    let free = -1;
    for (let i = b + PORTS; i < b + PORTS + TOPK; i++) {
      const w = c[i]!;
      const n = w & 0xffff;
      if (n !== 0 && w >>> 16 === port) {
        if (n === 0xffff) for (let k = b + PORTS; k < b + PORTS + TOPK; k++) c[k] = (c[k]! & 0xffff0000) | ((c[k]! & 0xffff) >>> 1);
        c[i]!++;
        return;
      }
      if (n === 0 && free < 0) free = i;
    }
    if (free >= 0) c[free] = ((port << 16) | 1) >>> 0;
    else for (let i = b + PORTS; i < b + PORTS + TOPK; i++) c[i]!--;
  }


  /**
   * Count row r's destination (its hash: the exact set and the HyperLogLog both take that). It is
   * read here from the row, not passed in: a 32-bit value passed between functions V8 does not
   * inline is boxed, one allocation per packet.
   */
  private destination(c: Uint32Array, b: number, w: Uint32Array, r: number): void {
    const dst = w[r + 1]!;
    const n = c[b + NDEST]!;
    if (n === SKETCHED) {
      hllAddHash(this.pool, c[b + DEST]! * HLL_REGISTERS, dst);
      return;
    }
    for (let i = 0; i < n; i++) if (c[b + DEST + i] === dst) return;
    if (n < EXACT) {
      c[b + DEST + n] = dst;
      c[b + NDEST] = n + 1;
      return;
    }
    // Past EXACT: move the set into a fresh HyperLogLog from the pool (never freed within the day).
    if ((this.pooled + 1) * HLL_REGISTERS > this.pool.length) {
      const bigger = new Uint8Array(this.pool.length * 2);
      bigger.set(this.pool);
      this.pool = bigger;
    }
    const at = this.pooled++;
    for (let i = 0; i < EXACT; i++) hllAddHash(this.pool, at * HLL_REGISTERS, c[b + DEST + i]!);
    hllAddHash(this.pool, at * HLL_REGISTERS, dst);
    c[b + DEST] = at;
    c[b + NDEST] = SKETCHED;
  }

  summaries(): SourceSummary[] {
    const out: SourceSummary[] = [];
    const dayText = new Date(this.day * DAY * 1000).toISOString().slice(0, 10);
    const c4 = this.c4;
    for (const b of busiestFirst(c4, this.size4, (h) => this.find4(h))) out.push(this.summaryOf(c4, b, undefined, dayText));
    for (let slot = 0; slot < this.ips6.length; slot++) out.push(this.summaryOf(this.c6, slot * S, this.ips6[slot], dayText));
    return out;
  }

  /** The summary of one entry as it stands. */
  summaryOf(c: Uint32Array, b: number, six: string | undefined, dayText = new Date(this.day * DAY * 1000).toISOString().slice(0, 10)): SourceSummary {
    // Written out without closures or intermediate arrays: a day's summaries are built by the
    // hundred thousand, and every object here is garbage to collect once they are handed on.
    const packets = c[b + PACKETS]!;
    const syn = c[b + SYN]!;
    const udp = c[b + UDP]!;
    const echo = c[b + ECHO]!;
    const synAck = c[b + SYNACK]!;
    const rst = c[b + RST]!;
    const icmpReplies = c[b + ICMPBACK]!;
    const sketched = c[b + NDEST] === SKETCHED;
    const destinations = sketched ? Math.min(packets, Math.max(EXACT + 1, hllCount(this.pool, c[b + DEST]! * HLL_REGISTERS))) : c[b + NDEST]!;
    const verdict = weighFingerprints(syn, [c[b + HITS]!, c[b + HITS + 1]!, c[b + HITS + 2]!]);
    const cls: SourceClass = (syn + udp + echo) * 2 > packets && (destinations >= 2 || verdict.fingerprint !== 'unknown') ? 'scanning' : (synAck + rst + icmpReplies) * 2 > packets ? 'backscatter' : 'other';
    const fingerprint = cls === 'scanning' ? verdict.fingerprint : 'unknown';
    // The top ports, most packets first, then by port: the words (port << 16 | count) ordered by
    // count descending, port ascending, which is (count << 16 | 65535 - port) descending.
    let k0 = 0, k1 = 0, k2 = 0;
    for (let i = 0; i < TOPK; i++) {
      const w = c[b + PORTS + i]!;
      if ((w & 0xffff) === 0) continue;
      const x = (w & 0xffff) * 65536 + (65535 - (w >>> 16));
      if (x > k0) {
        k2 = k1;
        k1 = k0;
        k0 = x;
      } else if (x > k1) {
        k2 = k1;
        k1 = x;
      } else k2 = x;
    }
    const ports: number[] = [];
    const portPackets: number[] = [];
    for (const x of [k0, k1, k2]) {
      if (x === 0) break;
      ports.push(65535 - (x % 65536));
      portPackets.push(Math.floor(x / 65536));
    }
    const p23 = c[b + P23]!;
    const p2323 = c[b + P2323]!;
    const at = `${dayText}T`;
    return {
      kind: 'darknet-source',
      ip: six ?? formatV4(unmix32(c[b + KEY]!)),
      day: dayText,
      class: cls,
      fingerprint,
      confidence: cls === 'scanning' ? verdict.confidence : 0,
      packets,
      destinations,
      destinationsExact: !sketched,
      ports,
      portPackets,
      telnetShare: syn > 0 ? round3((p23 + p2323) / syn) : 0,
      port2323Share: syn > 0 ? round3(p2323 / syn) : 0,
      firstSeen: at + timeOfDay(c[b + FIRST]!),
      lastSeen: at + timeOfDay(c[b + LAST]!),
      counts: { synProbes: syn, udpProbes: udp, icmpEcho: echo, synAck, rst, icmpReplies, other: c[b + OTHER]! },
      infected: cls === 'scanning' && fingerprint === 'mirai',
    };
  }
}

/**
 * Entry offsets of the first n entries of c, busiest first, then by address. While every count
 * is below 2^21 one (count, address) number per entry fits a double exactly, and a typed array
 * sorts those natively, far faster than a comparator over the entries; `find` gives the entry of
 * a sorted address's hash back.
 */
function busiestFirst(c: Uint32Array, n: number, find: (hash: number) => number): ArrayLike<number> & Iterable<number> {
  let most = 0;
  for (let b = 0; b < n * S; b += S) most = Math.max(most, c[b + PACKETS]!);
  if (most >= 2 ** 21) {
    const order = Array.from({ length: n }, (_, e) => e * S);
    return order.sort((x, y) => c[y + PACKETS]! - c[x + PACKETS]! || unmix32(c[x + KEY]!) - unmix32(c[y + KEY]!));
  }
  const keys = new Float64Array(n);
  for (let e = 0; e < n; e++) keys[e] = (2 ** 21 - 1 - c[e * S + PACKETS]!) * 2 ** 32 + unmix32(c[e * S + KEY]!);
  keys.sort();
  const order = new Uint32Array(n);
  for (let e = 0; e < n; e++) order[e] = find(mix32(keys[e]! % 2 ** 32));
  return order;
}

const round3 = (x: number) => Math.round(x * 1000) / 1000;
/** Zero-padded numbers, made once: summaries write two times each, and every string is garbage to collect. */
const PAD2 = Array.from({ length: 100 }, (_, i) => String(i).padStart(2, '0'));
const PAD3 = Array.from({ length: 1000 }, (_, i) => String(i).padStart(3, '0'));
/** HH:MM:SS.mmm of a millisecond offset into a UTC day (as toISOString writes it, but cheaper). */
function timeOfDay(ms: number): string {
  const s = Math.floor(ms / 1000);
  const h = Math.floor(s / 3600);
  return `${h < 100 ? PAD2[h] : String(h)}:${PAD2[Math.floor(s / 60) % 60]}:${PAD2[s % 60]}.${PAD3[ms % 1000]}`;
}
const OCTETS = Array.from({ length: 256 }, (_, i) => String(i));
const formatV4 = (n: number) => `${OCTETS[n >>> 24]}.${OCTETS[(n >>> 16) & 255]}.${OCTETS[(n >>> 8) & 255]}.${OCTETS[n & 255]}`;

/** Folds packets into per-source, per-day state; `finish` closes every open day. */
export class DarknetAnalyser {
  private readonly tables = new Map<number, DayTable>();
  private current: DayTable | undefined;
  /** First second of the current table's day. */
  private from = 0;
  private maxDay = -Infinity;
  private evicted = 0;
  private dropped = 0;
  private readonly closed: SourceSummary[] = [];

  /** For add(): one packet at a time goes through the same fold as a batch. */
  private readonly single = new RowPacker(1, (rows) => {
    this.addRows(rows);
    return rows;
  });

  constructor(private readonly options: AnalyserOptions = {}) {}

  /** Fold one packet in (the view is not kept). */
  add(v: PacketView): void {
    this.single.add(v);
    this.single.flush();
  }

  /** Fold a batch of packet rows in (rows.ts), in their order. The batch is not kept. */
  addRows(rows: PacketRows): void {
    const w = rows.words;
    const n = rows.count;
    const base = rows.baseSec;
    for (let i = 0; i < n; ) {
      // The current day's bounds in the batch's milliseconds: two comparisons per row, no division.
      let lo = (this.from - base) * 1000;
      let x = (w[i * WORDS + 2]! | 0) - lo;
      if (this.current === undefined || x < 0 || x >= DAY_MS) {
        this.table(Math.floor((base + Math.floor((w[i * WORDS + 2]! | 0) / 1000)) / DAY));
        lo = (this.from - base) * 1000;
      }
      let j = i + 1;
      for (; j < n; j++) {
        x = (w[j * WORDS + 2]! | 0) - lo;
        if (x < 0 || x >= DAY_MS) break;
      }
      this.current!.fold(rows, i, j, lo);
      i = j;
    }
  }

  private table(day: number): DayTable {
    let t = this.tables.get(day);
    if (!t) {
      t = new DayTable(day, this.options.maxSources ?? 1_000_000, this.options.onInfected);
      this.tables.set(day, t);
    }
    if (day > this.maxDay) {
      this.maxDay = day;
      for (const [d, old] of [...this.tables].sort((x, y) => x[0] - y[0])) if (d < day - 1) this.close(d, old);
    }
    // Packets far out of order (or garbage timestamps) must not open days without end: past
    // MAX_OPEN_DAYS the oldest other day is closed, and a later packet for it opens it afresh
    // (its sources are then summarised twice for that day; memory stays bounded).
    if (this.tables.size > MAX_OPEN_DAYS) {
      const oldest = Math.min(...[...this.tables.keys()].filter((d) => d !== day));
      this.close(oldest, this.tables.get(oldest)!);
    }
    this.current = t;
    this.from = day * DAY;
    return t;
  }

  private close(day: number, t: DayTable): void {
    this.tables.delete(day);
    this.evicted += t.evicted;
    this.dropped += t.dropped;
    const sources = t.summaries();
    if (this.options.onDay) this.options.onDay(sources);
    else for (const s of sources) this.closed.push(s);
  }

  /** Close every open day; returns the sources not already given to `onDay`, by day, busiest first (IPv6 last). */
  finish(): { sources: SourceSummary[]; limits: AnalysisLimits } {
    for (const [d, t] of [...this.tables].sort((a, b) => a[0] - b[0])) this.close(d, t);
    this.current = undefined;
    const sources = this.closed.splice(0);
    return { sources, limits: { evictedSources: this.evicted, droppedPackets: this.dropped } };
  }
}
