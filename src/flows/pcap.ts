/**
 * Flows from packets: a capture (classic pcap or pcapng, read by the darknet reader) is turned into
 * unidirectional flow records keyed by the 5-tuple and protocol, as a NetFlow exporter would.
 *
 * Timeouts follow softflowd 1.1.0's defaults (softflowd(8), "Timeouts"): a flow idle for longer
 * than its inactive timeout (TCP 3600 s, UDP 300 s, ICMP 300 s, others 3600 s) is expired, one
 * older than maxlife (604800 s) is cut, and expiry is checked every expint (60 s) of capture time,
 * so memory follows the live flows, not the file. A TCP FIN or RST ends its flow at once (the
 * NetFlow-cache rule; softflowd waits tcp.fin/tcp.rst, which gives the same count unless the
 * 5-tuple is reused). At most `maxFlows` flows are held: past that the oldest is expired and counted.
 * Bytes are the IP total length, as NetFlow counts them. IPv6 is counted as skipped (FlowRecord is
 * IPv4 only).
 *
 * The lab has no packet → flow step (its flows are made directly as records in SQL,
 * src/lab/flows/generate.ts), so this builder is the only one; the lab's captures
 * (src/flows/netflow/burst-pcap.ts) go through it and through softflowd alike.
 */
import { basename } from 'node:path';
import type { PacketView } from '../darknet/pcap/packet.js';
import { readCapture, type CaptureInput, type CaptureStats } from '../darknet/pcap/reader.js';
import type { FlowBatch } from './storage.js';
import type { FlowRecord } from './types.js';

export interface FlowTimeouts {
  /** Inactive timeouts, seconds. */
  readonly tcp: number;
  readonly udp: number;
  readonly icmp: number;
  readonly general: number;
  /** Active timeout: a flow is cut once it is this old (0: never). */
  readonly maxlife: number;
  /** How often (capture seconds) idle flows are looked for. */
  readonly expint: number;
}

/** softflowd 1.1.0's defaults. */
export const softflowdTimeouts: FlowTimeouts = { tcp: 3600, udp: 300, icmp: 300, general: 3600, maxlife: 604800, expint: 60 };

export interface FlowBuilderOptions {
  readonly timeouts?: Partial<FlowTimeouts>;
  /** Concurrent flows held at most (softflowd's -m; default 8192 like it). */
  readonly maxFlows?: number;
  /** The `exporter` column of the records. */
  readonly exporter?: string;
  /** Finished flows per batch handed out (default 262144, ~16 MB: fewer, larger Parquet parts cost less to write). */
  readonly batchSize?: number;
}

export interface FlowBuilderStats {
  packets: number;
  flows: number;
  /** Why flows ended. */
  readonly ended: { inactive: number; active: number; fin: number; rst: number; evicted: number; end: number };
  /** Packets not made into flows, by reason. */
  readonly skipped: Record<string, number>;
}

/** Mix the 5-tuple into 32 bits (murmur3's finaliser steps). */
function tupleHash(src: number, dst: number, ports: number, proto: number): number {
  let h = Math.imul(src ^ 0x9e3779b9, 0x85ebca6b) ^ dst;
  h = Math.imul(h ^ (h >>> 16), 0xc2b2ae35) ^ ports;
  h = Math.imul(h ^ (h >>> 13), 0x85ebca6b) ^ proto;
  return (h ^ (h >>> 16)) >>> 0;
}

const EMPTY = -1;

/**
 * Builds flows from packets fed in capture order; `emit` gets the finished flows in columnar
 * batches (each with arrays of its own, so it may keep or transfer them).
 *
 * The live flows are rows of typed arrays (a free list reuses ended rows) found through an
 * open-addressing table over the numeric 5-tuple: no key string and no object per packet or per
 * flow. Objects per flow were most of the cost: a flow lives long enough to be promoted out of the
 * young generation, so each one was copied by the garbage collector.
 */
export class FlowBuilder {
  // Flow rows.
  private cap = 0;
  private startMs = new Float64Array(0);
  private endMs = new Float64Array(0);
  private src = new Uint32Array(0);
  private dst = new Uint32Array(0);
  private srcPort = new Uint16Array(0);
  private dstPort = new Uint16Array(0);
  private proto = new Uint8Array(0);
  private tcpFlags = new Uint8Array(0);
  private packets = new Float64Array(0);
  private bytes = new Float64Array(0);
  private hash = new Uint32Array(0);
  /** Bumped when a row is freed, so the queue can tell a reused row from the flow it listed. */
  private gen = new Uint32Array(0);
  private free: number[] = [];
  private size = 0;
  // Linear-probing table of row numbers (EMPTY when unused); at most half full.
  private slots = new Int32Array(1024).fill(EMPTY);
  private mask = 1023;
  /** Rows in creation order with their generation, for evicting the oldest and for ordered expiry. */
  private queueRow: number[] = [];
  private queueGen: number[] = [];
  private head = 0;
  private readonly t: FlowTimeouts;
  private readonly maxFlows: number;
  private readonly exporter: string;
  private readonly batchSize: number;
  private out: FlowBatch;
  private outN = 0;
  private nextCheckMs = -Infinity;
  readonly stats: FlowBuilderStats = { packets: 0, flows: 0, ended: { inactive: 0, active: 0, fin: 0, rst: 0, evicted: 0, end: 0 }, skipped: {} };

  constructor(private readonly emit: (b: FlowBatch) => void, o: FlowBuilderOptions = {}) {
    this.t = { ...softflowdTimeouts, ...o.timeouts };
    this.maxFlows = Math.max(1, o.maxFlows ?? 8192);
    this.exporter = o.exporter ?? 'pcap';
    this.batchSize = Math.max(1, o.batchSize ?? 262144);
    this.out = this.newBatch();
  }

  private newBatch(): FlowBatch {
    const n = this.batchSize;
    return {
      length: 0, startMs: new Float64Array(n), endMs: new Float64Array(n), src: new Uint32Array(n), srcPort: new Uint16Array(n), dst: new Uint32Array(n), dstPort: new Uint16Array(n),
      proto: new Uint8Array(n), packets: new Float64Array(n), bytes: new Float64Array(n), tcpFlags: new Uint8Array(n), exporter: new Uint32Array(n), exporters: [this.exporter],
      sampling: new Uint32Array(n).fill(1),
    };
  }

  /** Hand out the finished flows gathered so far. */
  private emitOut(): void {
    if (this.outN === 0) return;
    const b = { ...this.out, length: this.outN };
    this.out = this.newBatch();
    this.outN = 0;
    this.emit(b);
  }

  private skip(reason: string): void {
    this.stats.skipped[reason] = (this.stats.skipped[reason] ?? 0) + 1;
  }

  private inactiveMs(proto: number): number {
    return 1000 * (proto === 6 ? this.t.tcp : proto === 17 ? this.t.udp : proto === 1 ? this.t.icmp : this.t.general);
  }

  /** More rows: the arrays double (memory follows the live flows, up to maxFlows). */
  private growRows(): void {
    const cap = Math.max(1024, this.cap * 2);
    const grow = <T extends Float64Array | Uint32Array | Uint16Array | Uint8Array>(a: T): T => {
      const b = new (a.constructor as new (n: number) => T)(cap);
      b.set(a);
      return b;
    };
    this.startMs = grow(this.startMs);
    this.endMs = grow(this.endMs);
    this.src = grow(this.src);
    this.dst = grow(this.dst);
    this.srcPort = grow(this.srcPort);
    this.dstPort = grow(this.dstPort);
    this.proto = grow(this.proto);
    this.tcpFlags = grow(this.tcpFlags);
    this.packets = grow(this.packets);
    this.bytes = grow(this.bytes);
    this.hash = grow(this.hash);
    this.gen = grow(this.gen);
    for (let r = cap - 1; r >= this.cap; r--) this.free.push(r);
    this.cap = cap;
  }

  private placeSlot(row: number): void {
    let i = this.hash[row]! & this.mask;
    while (this.slots[i] !== EMPTY) i = (i + 1) & this.mask;
    this.slots[i] = row;
  }

  private growSlots(): void {
    const old = this.slots;
    this.slots = new Int32Array(old.length * 2).fill(EMPTY);
    this.mask = this.slots.length - 1;
    for (let i = 0; i < old.length; i++) if (old[i] !== EMPTY) this.placeSlot(old[i]!);
  }

  /** The row of a live flow, or EMPTY. */
  private find(src: number, dst: number, srcPort: number, dstPort: number, proto: number, h: number): number {
    const slots = this.slots;
    for (let i = h & this.mask; ; i = (i + 1) & this.mask) {
      const r = slots[i]!;
      if (r === EMPTY) return EMPTY;
      if (this.hash[r] === h && this.src[r] === src && this.dst[r] === dst && this.srcPort[r] === srcPort && this.dstPort[r] === dstPort && this.proto[r] === proto) return r;
    }
  }

  /** Take the row out of the table: the following run is shifted back (no tombstones). */
  private unslot(row: number): void {
    const slots = this.slots;
    const mask = this.mask;
    let i = this.hash[row]! & mask;
    while (slots[i] !== row) i = (i + 1) & mask;
    for (let j = (i + 1) & mask; ; j = (j + 1) & mask) {
      const g = slots[j]!;
      if (g === EMPTY) break;
      const home = this.hash[g]! & mask;
      // g may fill the hole at i unless its home slot lies cyclically in (i, j].
      const stays = i <= j ? i < home && home <= j : i < home || home <= j;
      if (!stays) {
        slots[i] = g;
        i = j;
      }
    }
    slots[i] = EMPTY;
  }

  private finish(r: number, why: keyof FlowBuilderStats['ended']): void {
    this.unslot(r);
    this.gen[r] = (this.gen[r]! + 1) >>> 0;
    this.free.push(r);
    this.size--;
    this.stats.ended[why]++;
    this.stats.flows++;
    const o = this.out;
    const i = this.outN++;
    o.startMs[i] = this.startMs[r]!;
    o.endMs[i] = this.endMs[r]!;
    o.src[i] = this.src[r]!;
    o.srcPort[i] = this.srcPort[r]!;
    o.dst[i] = this.dst[r]!;
    o.dstPort[i] = this.dstPort[r]!;
    o.proto[i] = this.proto[r]!;
    o.packets[i] = this.packets[r]!;
    o.bytes[i] = this.bytes[r]!;
    o.tcpFlags[i] = this.tcpFlags[r]!;
    if (this.outN === this.batchSize) this.emitOut();
  }

  /** Whether queue entry q still names a live flow. */
  private queued(q: number): boolean {
    return this.gen[this.queueRow[q]!] === this.queueGen[q];
  }

  /** Expire what is idle or too old at capture time `nowMs`, in creation order. */
  private expire(nowMs: number): void {
    const maxlife = this.t.maxlife * 1000;
    for (let q = this.head; q < this.queueRow.length; q++) {
      if (!this.queued(q)) continue;
      const r = this.queueRow[q]!;
      if (nowMs - this.endMs[r]! > this.inactiveMs(this.proto[r]!)) this.finish(r, 'inactive');
      else if (maxlife > 0 && nowMs - this.startMs[r]! >= maxlife) this.finish(r, 'active');
    }
  }

  /** A new flow's row, in the table and the queue. */
  private open(src: number, dst: number, srcPort: number, dstPort: number, proto: number, h: number, ms: number): number {
    if (this.size >= this.maxFlows) {
      while (!this.queued(this.head)) this.head++;
      this.finish(this.queueRow[this.head++]!, 'evicted');
    }
    // Drop ended flows from the queue now and then, so it stays within a few times the table.
    if (this.queueRow.length - this.head > 2 * this.maxFlows + 65536) {
      const rows: number[] = [];
      const gens: number[] = [];
      for (let q = this.head; q < this.queueRow.length; q++) {
        if (!this.queued(q)) continue;
        rows.push(this.queueRow[q]!);
        gens.push(this.queueGen[q]!);
      }
      this.queueRow = rows;
      this.queueGen = gens;
      this.head = 0;
    }
    if (this.free.length === 0) this.growRows();
    if (2 * (this.size + 1) > this.slots.length) this.growSlots();
    const r = this.free.pop()!;
    this.startMs[r] = ms;
    this.endMs[r] = ms;
    this.src[r] = src;
    this.dst[r] = dst;
    this.srcPort[r] = srcPort;
    this.dstPort[r] = dstPort;
    this.proto[r] = proto;
    this.packets[r] = 0;
    this.bytes[r] = 0;
    this.tcpFlags[r] = 0;
    this.hash[r] = h;
    this.placeSlot(r);
    this.size++;
    this.queueRow.push(r);
    this.queueGen.push(this.gen[r]!);
    return r;
  }

  /** One decoded packet (the reader's reused view). */
  packet(v: PacketView): void {
    if (v.ipVersion !== 4) return this.skip('ipv6');
    const b = v.buf;
    const total = (b[v.ipOffset + 2]! << 8) | b[v.ipOffset + 3]!;
    const proto = v.proto;
    // A first fragment or whole TCP/UDP packet without a full transport header has no ports to key on.
    if ((proto === 6 || proto === 17) && v.fragOffset === 0 && !v.l4) return this.skip('short-transport');
    const ms = v.tsSec * 1000 + Math.floor(v.tsNsec / 1e6);
    this.stats.packets++;
    if (ms >= this.nextCheckMs) {
      if (this.t.expint > 0 && this.nextCheckMs !== -Infinity) this.expire(ms);
      this.nextCheckMs = ms + Math.max(1, this.t.expint) * 1000;
    }
    const srcPort = proto === 1 ? 0 : v.sport;
    // NetFlow's ICMP convention: type and code in the destination port.
    const dstPort = proto === 1 ? (v.l4 ? v.icmpType * 256 + v.icmpCode : 0) : v.dport;
    const h = tupleHash(v.src, v.dst, (srcPort << 16) | dstPort, proto);
    let r = this.find(v.src, v.dst, srcPort, dstPort, proto, h);
    if (r !== EMPTY) {
      const maxlife = this.t.maxlife * 1000;
      if (ms - this.endMs[r]! > this.inactiveMs(proto)) {
        this.finish(r, 'inactive');
        r = EMPTY;
      } else if (maxlife > 0 && ms - this.startMs[r]! >= maxlife) {
        this.finish(r, 'active');
        r = EMPTY;
      }
    }
    if (r === EMPTY) r = this.open(v.src, v.dst, srcPort, dstPort, proto, h, ms);
    this.packets[r] = this.packets[r]! + 1;
    this.bytes[r] = this.bytes[r]! + total;
    if (ms > this.endMs[r]!) this.endMs[r] = ms;
    if (proto === 6) {
      this.tcpFlags[r] = this.tcpFlags[r]! | v.tcpFlags;
      if (v.tcpFlags & 4) this.finish(r, 'rst');
      else if (v.tcpFlags & 1) this.finish(r, 'fin');
    }
  }

  /** End of capture: every flow still held is exported, in creation order. */
  end(): void {
    for (let q = this.head; q < this.queueRow.length; q++) if (this.queued(q)) this.finish(this.queueRow[q]!, 'end');
    this.queueRow = [];
    this.queueGen = [];
    this.head = 0;
    this.emitOut();
  }

  get active(): number {
    return this.size;
  }
}

export interface PcapImportStats {
  readonly format: CaptureStats['format'];
  /** Records in the capture. */
  readonly records: number;
  /** Packets made into flows. */
  readonly packets: number;
  readonly flows: number;
  readonly ended: FlowBuilderStats['ended'];
  /** Records or packets not made into flows: the reader's reasons (truncated, undecodable) and the builder's. */
  readonly skipped: Readonly<Record<string, number>>;
}

/** Read a capture into flows, handed to `onBatch` in columnar batches (awaited, so memory stays bounded). */
export async function importPcapBatches(input: CaptureInput, onBatch: (flows: FlowBatch) => Promise<void>, o: FlowBuilderOptions = {}): Promise<PcapImportStats> {
  const name = typeof input === 'string' ? input : input.name;
  const full: FlowBatch[] = [];
  const builder = new FlowBuilder((b) => void full.push(b), { exporter: `file:${basename(name)}`, ...o });
  // The reader's callback is synchronous: full batches are written after each chunk (onProgress),
  // and the reader waits for them, so at most a chunk's worth of flows waits in memory.
  let writing: Promise<void> = Promise.resolve();
  const drain = (): Promise<void> => {
    while (full.length) {
      const b = full.shift()!;
      writing = writing.then(() => onBatch(b));
    }
    return writing;
  };
  const cs = await readCapture(input, (v) => builder.packet(v), { onProgress: drain });
  builder.end();
  await drain();
  const skipped: Record<string, number> = { ...(cs.skipped as Record<string, number>) };
  for (const [k, n] of Object.entries(builder.stats.skipped)) skipped[k] = (skipped[k] ?? 0) + n;
  return { format: cs.format, records: cs.records, packets: builder.stats.packets, flows: builder.stats.flows, ended: builder.stats.ended, skipped };
}

/** The records of a batch (the inverse of toBatch). */
export function recordsOf(b: FlowBatch): FlowRecord[] {
  const out: FlowRecord[] = new Array(b.length);
  for (let i = 0; i < b.length; i++) {
    out[i] = {
      startMs: b.startMs[i]!, endMs: b.endMs[i]!, src: b.src[i]!, srcPort: b.srcPort[i]!, dst: b.dst[i]!, dstPort: b.dstPort[i]!, proto: b.proto[i]!,
      packets: b.packets[i]!, bytes: b.bytes[i]!, tcpFlags: b.tcpFlags[i]!, exporter: b.exporters[b.exporter[i]!]!, sampling: b.sampling[i]!,
    };
  }
  return out;
}

/** importPcapBatches with the flows as records (tests, small uses). */
export function importPcap(input: CaptureInput, onBatch: (flows: FlowRecord[]) => Promise<void>, o: FlowBuilderOptions = {}): Promise<PcapImportStats> {
  return importPcapBatches(input, (b) => onBatch(recordsOf(b)), o);
}
