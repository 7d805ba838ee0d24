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
import { fingerprintRules, weighFingerprints, type FingerprintRule } from './fingerprints.js';
import { addressText, type PacketView } from './pcap/packet.js';
import { HLL_REGISTERS, hllAdd, hllCount, mix32 } from './sketch.js';
import type { AnalyserOptions, AnalysisLimits, DayRows, SourceClass, SourceSummary } from './types.js';

export type { AnalyserOptions, AnalysisLimits, DayRows, SourceClass, SourceSummary } from './types.js';

// Counter layout per source, stride S = 32 words (128 bytes): what every probe touches sits in the
// first 64 bytes (one cache line, with the key: the table is its own hash map), the rest in the
// second. The analysis is bound by memory misses on random sources, so lines are what count.
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
/** Day tables open at once (today, yesterday, and a little room for captures out of order). */
const MAX_OPEN_DAYS = 4;
const RULES = fingerprintRules;
if (RULES.length !== NDEST - HITS) throw new Error('classify.ts reserves three fingerprint counters');
const [RULE0, RULE1, RULE2] = RULES as readonly [FingerprintRule, FingerprintRule, FingerprintRule];

/** ICMP(v6) types that answer something: echo reply, unreachable, time exceeded (RFC 792, 4443). */
function icmpIsReply(v: PacketView): boolean {
  const t = v.icmpType;
  return v.proto === 1 ? t === 0 || t === 3 || t === 11 : t === 129 || t === 1 || t === 3;
}

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
      let i = mix32(key) & mask;
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

  /** Offset of the IPv4 source's entry (inserting it), or -1 when the bound is reached. */
  private entry4(ip: number): number {
    const index = this.index4;
    const mask = this.mask4;
    let i = mix32(ip) & mask;
    for (;;) {
      const e = index[i * 2 + 1]!;
      if (e === 0) break;
      if (index[i * 2] === ip) return (e - 1) * S;
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
    let j = mix32(ip) & m;
    while (idx[j * 2 + 1] !== 0) j = (j + 1) & m;
    idx[j * 2] = ip;
    idx[j * 2 + 1] = n + 1;
    this.c4[n * S + KEY] = ip;
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

  /** Fold in a packet seen `ms` milliseconds after this day's start. */
  add(v: PacketView, ms: number): void {
    const four = v.ipVersion === 4;
    const b = four ? this.entry4(v.src) : this.entry6(addressText(v, 'src'));
    if (b < 0) {
      this.dropped++;
      return;
    }
    const c = four ? this.c4 : this.c6;
    if (c[b + PACKETS] === 0) {
      c[b + FIRST] = ms;
      c[b + LAST] = ms;
    }
    c[b + PACKETS]!++;
    // FIRST ≤ LAST, so FIRST (in the entry's second cache line) is read only for packets out of order.
    const last = c[b + LAST]!;
    if (ms > last) c[b + LAST] = ms;
    else if (ms < last && ms < c[b + FIRST]!) c[b + FIRST] = ms;
    const proto = v.proto;
    if (!v.l4) c[b + OTHER]!++;
    else if (proto === 6) {
      const f = v.tcpFlags;
      if ((f & 0x12) === 0x02) {
        c[b + SYN]!++;
        // Three call sites, one rule each: each stays monomorphic and is inlined.
        if (four) {
          if (RULE0.match(v)) c[b + HITS]!++;
          if (RULE1.match(v)) c[b + HITS + 1]!++;
          if (RULE2.match(v)) c[b + HITS + 2]!++;
        }
        if (v.dport === 23) c[b + P23]!++;
        else if (v.dport === 2323) c[b + P2323]!++;
      } else if ((f & 0x12) === 0x12) c[b + SYNACK]!++;
      else if (f & 0x04) c[b + RST]!++;
      else c[b + OTHER]!++;
    } else if (proto === 17) c[b + UDP]!++;
    else if (proto === 1 || proto === 58) {
      if ((proto === 1 && v.icmpType === 8) || (proto === 58 && v.icmpType === 128)) c[b + ECHO]!++;
      else if (icmpIsReply(v)) c[b + ICMPBACK]!++;
      else c[b + OTHER]!++;
    } else c[b + OTHER]!++;
    if (v.l4 && (proto === 6 || proto === 17)) this.port(c, b, v.dport);
    this.destination(c, b, v, four);
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
   * Count the packet's destination. The address is read here from the view, not passed in: a
   * 32-bit value passed between functions V8 does not inline is boxed, one allocation per packet.
   * IPv6 destinations are counted by their low 32 bits (the host part a darknet varies).
   */
  private destination(c: Uint32Array, b: number, v: PacketView, four: boolean): void {
    const o = v.dstOffset;
    const dst = four ? v.dst : ((v.buf[o + 12]! << 24) | (v.buf[o + 13]! << 16) | (v.buf[o + 14]! << 8) | v.buf[o + 15]!) >>> 0;
    const n = c[b + NDEST]!;
    if (n === SKETCHED) {
      hllAdd(this.pool, c[b + DEST]! * HLL_REGISTERS, dst);
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
    for (let i = 0; i < EXACT; i++) hllAdd(this.pool, at * HLL_REGISTERS, c[b + DEST + i]!);
    hllAdd(this.pool, at * HLL_REGISTERS, dst);
    c[b + DEST] = at;
    c[b + NDEST] = SKETCHED;
  }

  /** The table's counters, copied out compactly. */
  rows(): DayRows {
    return {
      day: this.day,
      c4: this.c4.slice(0, this.size4 * S),
      pool: this.pool.slice(0, this.pooled * HLL_REGISTERS),
      c6: this.c6.slice(0, this.ips6.length * S),
      ips6: this.ips6,
      evicted: this.evicted,
      dropped: this.dropped,
    };
  }

  /**
   * One table holding the entries of disjoint parts of a day (shards), for summaries(): each
   * part's sketched entries are moved to point into the joined pool. No index: only summarised.
   */
  static joined(parts: readonly DayRows[]): DayTable {
    const t = new DayTable(parts[0]!.day, Number.MAX_SAFE_INTEGER);
    const c4 = new Uint32Array(parts.reduce((a, p) => a + p.c4.length, 0));
    const c6 = new Uint32Array(parts.reduce((a, p) => a + p.c6.length, 0) + S);
    const pool = new Uint8Array(parts.reduce((a, p) => a + p.pool.length, 0) + HLL_REGISTERS);
    let at4 = 0;
    let at6 = 0;
    let pooled = 0;
    for (const p of parts) {
      c4.set(p.c4, at4);
      c6.set(p.c6, at6);
      pool.set(p.pool, pooled * HLL_REGISTERS);
      for (const [c, from, to] of [[c4, at4, at4 + p.c4.length], [c6, at6, at6 + p.c6.length]] as const) {
        for (let b = from; b < to; b += S) if (c[b + NDEST] === SKETCHED) c[b + DEST]! += pooled;
      }
      at4 += p.c4.length;
      at6 += p.c6.length;
      pooled += p.pool.length / HLL_REGISTERS;
    }
    t.c4 = c4;
    t.size4 = at4 / S;
    t.c6 = c6;
    t.ips6 = parts.flatMap((p) => p.ips6);
    t.pool = pool;
    t.pooled = pooled;
    return t;
  }

  summaries(): SourceSummary[] {
    const out: SourceSummary[] = [];
    const dayText = new Date(this.day * DAY * 1000).toISOString().slice(0, 10);
    const c4 = this.c4;
    for (const b of busiestFirst(c4, this.size4)) out.push(this.summaryOf(c4, b, undefined, dayText));
    for (let slot = 0; slot < this.ips6.length; slot++) out.push(this.summaryOf(this.c6, slot * S, this.ips6[slot], dayText));
    return out;
  }

  /** The summary of one entry as it stands. */
  summaryOf(c: Uint32Array, b: number, six: string | undefined, dayText = new Date(this.day * DAY * 1000).toISOString().slice(0, 10)): SourceSummary {
    {
      const at = (i: number) => c[b + i]!;
      const ip = six ?? formatV4(at(KEY));
      const packets = at(PACKETS);
      const syn = at(SYN);
      const probes = syn + at(UDP) + at(ECHO);
      const back = at(SYNACK) + at(RST) + at(ICMPBACK);
      const sketched = at(NDEST) === SKETCHED;
      const destinations = sketched ? Math.min(packets, Math.max(EXACT + 1, hllCount(this.pool, at(DEST) * HLL_REGISTERS))) : at(NDEST);
      const verdict = weighFingerprints(syn, [at(HITS), at(HITS + 1), at(HITS + 2)]);
      const cls: SourceClass = probes * 2 > packets && (destinations >= 2 || verdict.fingerprint !== 'unknown') ? 'scanning' : back * 2 > packets ? 'backscatter' : 'other';
      const fingerprint = cls === 'scanning' ? verdict.fingerprint : 'unknown';
      // The top ports, most packets first, then by port: the words (port << 16 | count) sorted by
      // count descending, port ascending, which is (count << 16 | 65535 - port) descending.
      const top: number[] = [];
      for (let i = 0; i < TOPK; i++) {
        const w = at(PORTS + i);
        if ((w & 0xffff) > 0) top.push((w & 0xffff) * 65536 + (65535 - (w >>> 16)));
      }
      top.sort((x, y) => y - x);
      return {
        kind: 'darknet-source',
        ip,
        day: dayText,
        class: cls,
        fingerprint,
        confidence: cls === 'scanning' ? verdict.confidence : 0,
        packets,
        destinations,
        destinationsExact: !sketched,
        ports: top.map((x) => 65535 - (x % 65536)),
        portPackets: top.map((x) => Math.floor(x / 65536)),
        telnetShare: syn > 0 ? round3((at(P23) + at(P2323)) / syn) : 0,
        port2323Share: syn > 0 ? round3(at(P2323) / syn) : 0,
        firstSeen: `${dayText}T${timeOfDay(at(FIRST))}Z`,
        lastSeen: `${dayText}T${timeOfDay(at(LAST))}Z`,
        counts: { synProbes: syn, udpProbes: at(UDP), icmpEcho: at(ECHO), synAck: at(SYNACK), rst: at(RST), icmpReplies: at(ICMPBACK), other: at(OTHER) },
        infected: cls === 'scanning' && fingerprint === 'mirai',
      };
    }
  }
}

/**
 * Entry offsets of the first n entries of c, busiest first, then by address. While every count
 * is below 2^21 one (count, address) number per entry fits a double exactly, and a typed array
 * sorts those natively, far faster than a comparator over the entries.
 */
function busiestFirst(c: Uint32Array, n: number): ArrayLike<number> & Iterable<number> {
  let most = 0;
  for (let b = 0; b < n * S; b += S) most = Math.max(most, c[b + PACKETS]!);
  if (most >= 2 ** 21) {
    const order = Array.from({ length: n }, (_, e) => e * S);
    return order.sort((x, y) => c[y + PACKETS]! - c[x + PACKETS]! || c[x + KEY]! - c[y + KEY]!);
  }
  const keys = new Float64Array(n);
  const entryOf = new Map<number, number>();
  for (let e = 0; e < n; e++) {
    const b = e * S;
    keys[e] = (2 ** 21 - 1 - c[b + PACKETS]!) * 2 ** 32 + c[b + KEY]!;
    entryOf.set(c[b + KEY]!, b);
  }
  keys.sort();
  const order = new Uint32Array(n);
  for (let e = 0; e < n; e++) order[e] = entryOf.get(keys[e]! % 2 ** 32)!;
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
const formatV4 = (n: number) => `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;

/**
 * The shard (0 ≤ shard < count) that owns a packet's source: by the top bits of the source's hash
 * (the index uses the low bits, so a shard's keys still spread over all its slots). IPv6 sources,
 * rare and kept in arrival order, all belong to shard 0.
 */
export function shardOf(v: PacketView, count: number): number {
  return v.ipVersion === 4 ? shardOfV4(v.src, count) : 0;
}
const shardOfV4 = (src: number, count: number) => Math.floor((mix32(src) / 2 ** 32) * count);

/**
 * The summaries one analyser would give (by day, each busiest first, IPv6 last), from the days of
 * shards that read the same packets; undefined when a day table was full somewhere, since a full
 * table evicts by what it holds, and the shards' evictions are not the whole's.
 */
export function summariseShards(shards: readonly (readonly DayRows[])[], maxSources: number): SourceSummary[] | undefined {
  const n = shards[0]?.length ?? 0;
  if (shards.some((days) => days.length !== n || days.some((d) => d.evicted > 0 || d.dropped > 0))) return undefined;
  const out: SourceSummary[] = [];
  for (let d = 0; d < n; d++) {
    const parts = shards.map((days) => days[d]!);
    // No shard's table was full, and all of them together held at most maxSources at the end
    // (entries are never removed without eviction): one analyser never compacted either.
    if (parts.reduce((a, p) => a + (p.c4.length + p.c6.length) / S, 0) > maxSources) return undefined;
    for (const s of DayTable.joined(parts).summaries()) out.push(s);
  }
  return out;
}

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

  private readonly shard: number;
  private readonly shards: number;

  constructor(private readonly options: AnalyserOptions = {}) {
    this.shard = options.shard?.index ?? 0;
    this.shards = options.shard?.count ?? 1;
  }

  /** Fold one packet in (the view is not kept). */
  add(v: PacketView): void {
    const sec = v.tsSec;
    let t = this.current;
    // The current day's bounds in seconds: a comparison per packet instead of a division.
    if (t === undefined || sec < this.from || sec >= this.from + DAY) t = this.table(Math.floor(sec / DAY));
    // A shard keeps the day bookkeeping of every packet (days open and close exactly as in one
    // analyser) but the counters of its own sources only.
    if (this.shards > 1 && shardOf(v, this.shards) !== this.shard) return;
    t.add(v, (sec - this.from) * 1000 + Math.floor(v.tsNsec / 1e6));
  }

  /**
   * Whether add() would do nothing with an IPv4 packet from `src` at `tsSec`: another shard's
   * source, on the day of the packet before (so no day opens or closes). For readCapture's skip.
   */
  passes(src: number, tsSec: number): boolean {
    return this.shards > 1 && this.current !== undefined && tsSec >= this.from && tsSec < this.from + DAY && shardOfV4(src, this.shards) !== this.shard;
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
    if (this.options.onDayRows) {
      this.options.onDayRows(t.rows());
      return;
    }
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
