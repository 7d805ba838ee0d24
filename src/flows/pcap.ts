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
}

export interface FlowBuilderStats {
  packets: number;
  flows: number;
  /** Why flows ended. */
  readonly ended: { inactive: number; active: number; fin: number; rst: number; evicted: number; end: number };
  /** Packets not made into flows, by reason. */
  readonly skipped: Record<string, number>;
}

interface Flow {
  /** Hash of the key (its home slot before masking), kept for the table's deletes and growth. */
  hash: number;
  /** Still in the table (the creation-order queue keeps ended flows until they reach its head). */
  live: boolean;
  startMs: number;
  endMs: number;
  src: number;
  srcPort: number;
  dst: number;
  dstPort: number;
  proto: number;
  packets: number;
  bytes: number;
  tcpFlags: number;
}

/** Mix the 5-tuple into 32 bits (murmur3's finaliser steps). */
function tupleHash(src: number, dst: number, ports: number, proto: number): number {
  let h = Math.imul(src ^ 0x9e3779b9, 0x85ebca6b) ^ dst;
  h = Math.imul(h ^ (h >>> 16), 0xc2b2ae35) ^ ports;
  h = Math.imul(h ^ (h >>> 13), 0x85ebca6b) ^ proto;
  return (h ^ (h >>> 16)) >>> 0;
}

/**
 * The live flows by 5-tuple: open addressing with linear probing over the numeric key, so a packet
 * costs no key string and no Map hashing of one. Deletes shift the following run back (no
 * tombstones); the table doubles past half full, so probes stay short and memory follows the flows.
 */
class FlowTable {
  private slots: (Flow | undefined)[] = new Array<Flow | undefined>(1024).fill(undefined);
  private mask = 1023;
  size = 0;

  get(src: number, dst: number, srcPort: number, dstPort: number, proto: number, hash: number): Flow | undefined {
    const slots = this.slots;
    for (let i = hash & this.mask; ; i = (i + 1) & this.mask) {
      const f = slots[i];
      if (f === undefined) return undefined;
      if (f.hash === hash && f.src === src && f.dst === dst && f.srcPort === srcPort && f.dstPort === dstPort && f.proto === proto) return f;
    }
  }

  add(f: Flow): void {
    if (2 * (this.size + 1) > this.slots.length) this.grow();
    this.place(f);
    this.size++;
  }

  private place(f: Flow): void {
    let i = f.hash & this.mask;
    while (this.slots[i] !== undefined) i = (i + 1) & this.mask;
    this.slots[i] = f;
  }

  private grow(): void {
    const old = this.slots;
    this.slots = new Array<Flow | undefined>(old.length * 2).fill(undefined);
    this.mask = this.slots.length - 1;
    for (const f of old) if (f !== undefined) this.place(f);
  }

  delete(f: Flow): void {
    const slots = this.slots;
    const mask = this.mask;
    let i = f.hash & mask;
    while (slots[i] !== f) {
      if (slots[i] === undefined) return;
      i = (i + 1) & mask;
    }
    // Backward-shift: move up each later entry of the run whose home slot is not in (i, j].
    for (let j = (i + 1) & mask; ; j = (j + 1) & mask) {
      const g = slots[j];
      if (g === undefined) break;
      const home = g.hash & mask;
      const stays = i <= j ? i < home && home <= j : i < home || home <= j;
      if (!stays) {
        slots[i] = g;
        i = j;
      }
    }
    slots[i] = undefined;
    this.size--;
  }
}

/** Builds flows from packets fed in capture order; `emit` gets every finished flow. */
export class FlowBuilder {
  private readonly flows = new FlowTable();
  /** Flows in creation order, for evicting the oldest: a Map's first entry is slow to find after many deletes. */
  private queue: Flow[] = [];
  private head = 0;
  private readonly t: FlowTimeouts;
  private readonly maxFlows: number;
  private readonly exporter: string;
  private nextCheckMs = -Infinity;
  readonly stats: FlowBuilderStats = { packets: 0, flows: 0, ended: { inactive: 0, active: 0, fin: 0, rst: 0, evicted: 0, end: 0 }, skipped: {} };

  constructor(private readonly emit: (f: FlowRecord) => void, o: FlowBuilderOptions = {}) {
    this.t = { ...softflowdTimeouts, ...o.timeouts };
    this.maxFlows = Math.max(1, o.maxFlows ?? 8192);
    this.exporter = o.exporter ?? 'pcap';
  }

  private skip(reason: string): void {
    this.stats.skipped[reason] = (this.stats.skipped[reason] ?? 0) + 1;
  }

  private inactiveMs(proto: number): number {
    return 1000 * (proto === 6 ? this.t.tcp : proto === 17 ? this.t.udp : proto === 1 ? this.t.icmp : this.t.general);
  }

  private finish(f: Flow, why: keyof FlowBuilderStats['ended']): void {
    this.flows.delete(f);
    f.live = false;
    this.stats.ended[why]++;
    this.stats.flows++;
    this.emit({ startMs: f.startMs, endMs: f.endMs, src: f.src, srcPort: f.srcPort, dst: f.dst, dstPort: f.dstPort, proto: f.proto, packets: f.packets, bytes: f.bytes, tcpFlags: f.tcpFlags, exporter: this.exporter, sampling: 1 });
  }

  /** Expire what is idle or too old at capture time `nowMs`. */
  private expire(nowMs: number): void {
    const maxlife = this.t.maxlife * 1000;
    // The queue holds every live flow in creation order (the order a Map of them would iterate in).
    for (let i = this.head; i < this.queue.length; i++) {
      const f = this.queue[i]!;
      if (!f.live) continue;
      if (nowMs - f.endMs > this.inactiveMs(f.proto)) this.finish(f, 'inactive');
      else if (maxlife > 0 && nowMs - f.startMs >= maxlife) this.finish(f, 'active');
    }
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
    const hash = tupleHash(v.src, v.dst, (srcPort << 16) | dstPort, proto);
    let f = this.flows.get(v.src, v.dst, srcPort, dstPort, proto, hash);
    if (f) {
      const maxlife = this.t.maxlife * 1000;
      if (ms - f.endMs > this.inactiveMs(proto)) {
        this.finish(f, 'inactive');
        f = undefined;
      } else if (maxlife > 0 && ms - f.startMs >= maxlife) {
        this.finish(f, 'active');
        f = undefined;
      }
    }
    if (!f) {
      if (this.flows.size >= this.maxFlows) {
        while (!this.queue[this.head]!.live) this.head++;
        const oldest = this.queue[this.head++]!;
        this.finish(oldest, 'evicted');
      }
      // Drop ended flows from the queue now and then, so it stays within a few times the table.
      if (this.queue.length - this.head > 2 * this.maxFlows + 65536) {
        this.queue = this.queue.slice(this.head).filter((q) => q.live);
        this.head = 0;
      }
      f = { hash, live: true, startMs: ms, endMs: ms, src: v.src, srcPort, dst: v.dst, dstPort, proto, packets: 0, bytes: 0, tcpFlags: 0 };
      this.flows.add(f);
      this.queue.push(f);
    }
    f.packets++;
    f.bytes += total;
    if (ms > f.endMs) f.endMs = ms;
    if (proto === 6) {
      f.tcpFlags |= v.tcpFlags;
      if (v.tcpFlags & 4) this.finish(f, 'rst');
      else if (v.tcpFlags & 1) this.finish(f, 'fin');
    }
  }

  /** End of capture: every flow still held is exported. */
  end(): void {
    for (let i = this.head; i < this.queue.length; i++) if (this.queue[i]!.live) this.finish(this.queue[i]!, 'end');
    this.queue = [];
    this.head = 0;
  }

  get active(): number {
    return this.flows.size;
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

/** Read a capture into flows, handed to `onBatch` in batches (awaited, so memory stays bounded). */
export async function importPcap(input: CaptureInput, onBatch: (flows: FlowRecord[]) => Promise<void>, o: FlowBuilderOptions & { batchSize?: number } = {}): Promise<PcapImportStats> {
  const name = typeof input === 'string' ? input : input.name;
  const batchSize = o.batchSize ?? 65536;
  let batch: FlowRecord[] = [];
  const full: FlowRecord[][] = [];
  const builder = new FlowBuilder(
    (f) => {
      batch.push(f);
      if (batch.length >= batchSize) {
        full.push(batch);
        batch = [];
      }
    },
    { exporter: `file:${basename(name)}`, ...o },
  );
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
  drain();
  if (batch.length) {
    const b = batch;
    writing = writing.then(() => onBatch(b));
  }
  await writing;
  const skipped: Record<string, number> = { ...(cs.skipped as Record<string, number>) };
  for (const [k, n] of Object.entries(builder.stats.skipped)) skipped[k] = (skipped[k] ?? 0) + n;
  return { format: cs.format, records: cs.records, packets: builder.stats.packets, flows: builder.stats.flows, ended: builder.stats.ended, skipped };
}
