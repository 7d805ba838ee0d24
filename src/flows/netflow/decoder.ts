/**
 * NetFlow v5, NetFlow v9 (RFC 3954) and IPFIX (RFC 7011) export packets → FlowRecord.
 *
 * One FlowDecoder holds the state of every exporter: templates and options templates keyed by
 * (exporter address:port, source id / observation domain, template id), sampling announced in
 * options data, IPFIX system init times. Packets of different exporters never share state, so a
 * damaged or hostile exporter can only hurt itself.
 *
 * Every read is bounds-checked against the datagram (and the set, and the record). A packet that
 * breaks a rule is counted `malformed` for its exporter and its records are dropped; the decoder
 * never throws. Data sets that arrive before their template are buffered (bounded) and decoded
 * when the template comes; those never decoded are counted `missingTemplate`.
 */
import type { CollectStats, FlowRecord } from '../types.js';
import { ie, NTP_UNIX_OFFSET_S, VARLEN } from './fields.js';

/** A template field: element id (-1 for a v9 scope field, whose numbers are scope types, not elements), byte length or VARLEN. */
interface Field {
  readonly id: number;
  readonly length: number;
}

interface Template {
  readonly fields: readonly Field[];
  /** Sum of the fixed lengths plus one byte per variable-length field: the smallest record. */
  readonly minLength: number;
  readonly variable: boolean;
  readonly options: boolean;
}

/** Per observation domain: what options data told us. */
interface DomainState {
  /** Sampling interval for records that name no sampler (from options without a sampler id). */
  defaultSampling: number;
  /** samplerId / selectorId → interval. */
  readonly samplers: Map<number, number>;
  /** IPFIX systemInitTimeMilliseconds (flowStart/EndSysUpTime are relative to it). */
  initMs: number | undefined;
}

/** A data set waiting for its template. */
interface Pending {
  readonly key: string;
  readonly templateId: number;
  readonly bytes: Uint8Array;
  readonly ctx: HeaderContext;
}

/** What the packet header says about time, needed to make record times absolute. */
interface HeaderContext {
  readonly version: 9 | 10;
  readonly exporter: string;
  /** Export time, epoch ms. */
  readonly exportMs: number;
  /** v9 only: the exporter's uptime at export, ms. */
  readonly sysUptime: number;
  readonly domain: DomainState;
}

interface ExporterCounters {
  packets: number;
  records: number;
  malformed: number;
  missingTemplate: number;
}

export interface DecoderOptions {
  /** Data sets kept per exporter while their template is missing (default 64). */
  readonly maxPendingPerExporter?: number;
  /** Data sets kept in all (default 4096). */
  readonly maxPending?: number;
  /** Exporters tracked before new ones share one "other" counter (default 10,000). */
  readonly maxExporters?: number;
}

/** A decode failure inside one packet: caught at the packet, counted, never thrown further. */
class Malformed extends Error {}

const fail = (why: string): never => {
  throw new Malformed(why);
};

/** Unsigned big-endian integer of 1..8 bytes (IPFIX reduced-size encoding, RFC 7011 §6.2). */
function readUint(b: Uint8Array, o: number, len: number): number {
  switch (len) {
    case 1:
      return b[o]!;
    case 2:
      return (b[o]! << 8) | b[o + 1]!;
    case 4:
      return ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
    default: {
      let v = 0;
      for (let i = 0; i < len; i++) v = v * 256 + b[o + i]!;
      return v;
    }
  }
}

const u16 = (b: Uint8Array, o: number) => (b[o]! << 8) | b[o + 1]!;
const u32 = (b: Uint8Array, o: number) => ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
/** a - b on a 32-bit uptime clock that may have wrapped. */
const uptimeDiff = (a: number, b: number) => ((a - b) | 0);

/** One record's values as read from its fields (reused for every record: no allocation per field). */
class Scratch {
  bytes = 0; packets = 0; bytesTotal = -1; packetsTotal = -1; postBytes = -1; postPackets = -1;
  proto = 0; flags = 0; srcPort = 0; dstPort = 0; src = -1; dst = -1; v6 = false; icmp = -1; icmpType = -1; icmpCode = 0;
  upStart = -1; upEnd = -1; startMs = -1; endMs = -1; startDeltaUs = -1; endDeltaUs = -1;
  sampling = 0; samplerId = -1; samplingSpace = -1; samplingSize = -1; samplingPopulation = -1; samplingProbability = -1; initMs = -1;
  reset(): void {
    this.bytes = 0; this.packets = 0; this.bytesTotal = -1; this.packetsTotal = -1; this.postBytes = -1; this.postPackets = -1;
    this.proto = 0; this.flags = 0; this.srcPort = 0; this.dstPort = 0; this.src = -1; this.dst = -1; this.v6 = false; this.icmp = -1; this.icmpType = -1; this.icmpCode = 0;
    this.upStart = -1; this.upEnd = -1; this.startMs = -1; this.endMs = -1; this.startDeltaUs = -1; this.endDeltaUs = -1;
    this.sampling = 0; this.samplerId = -1; this.samplingSpace = -1; this.samplingSize = -1; this.samplingPopulation = -1; this.samplingProbability = -1; this.initMs = -1;
  }
}

/** NTP 64-bit timestamp (dateTimeMicroseconds/Nanoseconds, RFC 7011 §6.1.9) → epoch ms. */
function ntpMs(b: Uint8Array, o: number, len: number): number {
  if (len !== 8) return -1;
  const sec = u32(b, o);
  const frac = u32(b, o + 4);
  return (sec - NTP_UNIX_OFFSET_S) * 1000 + Math.floor((frac / 4294967296) * 1000);
}

function readField(s: Scratch, id: number, b: Uint8Array, o: number, len: number): void {
  // Every element read here is 1..8 bytes except the IPv6 addresses; a damaged length is ignored.
  if (len === 0 || (len > 8 && id !== ie.sourceIPv6Address && id !== ie.destinationIPv6Address)) return;
  switch (id) {
    case ie.octetDeltaCount: s.bytes = readUint(b, o, len); break;
    case ie.packetDeltaCount: s.packets = readUint(b, o, len); break;
    case ie.octetTotalCount: s.bytesTotal = readUint(b, o, len); break;
    case ie.packetTotalCount: s.packetsTotal = readUint(b, o, len); break;
    case ie.postOctetDeltaCount: s.postBytes = readUint(b, o, len); break;
    case ie.postPacketDeltaCount: s.postPackets = readUint(b, o, len); break;
    case ie.protocolIdentifier: s.proto = readUint(b, o, len) & 255; break;
    case ie.tcpControlBits: s.flags = readUint(b, o, len) & 255; break;
    case ie.sourceTransportPort: s.srcPort = readUint(b, o, len) & 0xffff; break;
    case ie.destinationTransportPort: s.dstPort = readUint(b, o, len) & 0xffff; break;
    case ie.sourceIPv4Address: if (len === 4) s.src = u32(b, o); break;
    case ie.destinationIPv4Address: if (len === 4) s.dst = u32(b, o); break;
    case ie.sourceIPv6Address:
    case ie.destinationIPv6Address: s.v6 = true; break;
    case ie.icmpTypeCodeIPv4: s.icmp = readUint(b, o, len) & 0xffff; break;
    case ie.icmpTypeIPv4: s.icmpType = readUint(b, o, len) & 255; break;
    case ie.icmpCodeIPv4: s.icmpCode = readUint(b, o, len) & 255; break;
    case ie.flowStartSysUpTime: s.upStart = readUint(b, o, len); break;
    case ie.flowEndSysUpTime: s.upEnd = readUint(b, o, len); break;
    case ie.flowStartSeconds: if (s.startMs < 0) s.startMs = readUint(b, o, len) * 1000; break;
    case ie.flowEndSeconds: if (s.endMs < 0) s.endMs = readUint(b, o, len) * 1000; break;
    // Milliseconds win over seconds whatever the field order.
    case ie.flowStartMilliseconds: s.startMs = readUint(b, o, len); break;
    case ie.flowEndMilliseconds: s.endMs = readUint(b, o, len); break;
    case ie.flowStartMicroseconds:
    case ie.flowStartNanoseconds: s.startMs = ntpMs(b, o, len); break;
    case ie.flowEndMicroseconds:
    case ie.flowEndNanoseconds: s.endMs = ntpMs(b, o, len); break;
    case ie.flowStartDeltaMicroseconds: s.startDeltaUs = readUint(b, o, len); break;
    case ie.flowEndDeltaMicroseconds: s.endDeltaUs = readUint(b, o, len); break;
    case ie.systemInitTimeMilliseconds: s.initMs = readUint(b, o, len); break;
    case ie.samplingInterval:
    case ie.samplerRandomInterval:
    case ie.samplingPacketInterval: s.sampling = readUint(b, o, len); break;
    case ie.samplingPacketSpace: s.samplingSpace = readUint(b, o, len); break;
    case ie.samplingSize: s.samplingSize = readUint(b, o, len); break;
    case ie.samplingPopulation: s.samplingPopulation = readUint(b, o, len); break;
    case ie.samplingProbability:
      if (len === 8) s.samplingProbability = new DataView(b.buffer, b.byteOffset + o, 8).getFloat64(0);
      else if (len === 4) s.samplingProbability = new DataView(b.buffer, b.byteOffset + o, 4).getFloat32(0);
      break;
    case ie.samplerId:
    case ie.selectorId: s.samplerId = readUint(b, o, len); break;
    default: break;
  }
}

/** The sampling interval an options record (or a data record) announces, 0 when none. */
function announcedInterval(s: Scratch): number {
  const v = rawInterval(s);
  // A whole number ≥ 1 (the `sampling` column is an integer); 0 means "none announced".
  return v > 0 ? Math.min(MAX_SAMPLING, Math.max(1, Math.round(v))) : 0;
}

const MAX_SAMPLING = 1 << 30;
/** Latest plausible flow time: 2200-01-01 (a damaged or hostile time must not break storage). */
const MAX_TIME_MS = 7_258_118_400_000;
const clampCount = (v: number) => (v > Number.MAX_SAFE_INTEGER ? Number.MAX_SAFE_INTEGER : v);

function rawInterval(s: Scratch): number {
  // samplingPacketInterval + samplingPacketSpace (RFC 5477 systematic count-based): 1 in (interval+space)/interval.
  if (s.sampling > 0 && s.samplingSpace >= 0) return (s.sampling + s.samplingSpace) / s.sampling;
  if (s.sampling > 0) return s.sampling;
  if (s.samplingSize > 0 && s.samplingPopulation > 0) return s.samplingPopulation / s.samplingSize;
  if (s.samplingProbability > 0 && s.samplingProbability <= 1) return 1 / s.samplingProbability;
  return 0;
}

const addrText = (a: string, port: number) => `${a}:${port}`;

/**
 * Decoder state for any number of exporters. `decode` appends the packet's flows to `out` and
 * returns how many it appended; it never throws on packet content.
 */
export class FlowDecoder {
  private readonly templates = new Map<string, Template>();
  private readonly domains = new Map<string, DomainState>();
  private readonly counters = new Map<string, ExporterCounters>();
  private readonly skipped: Record<string, number> = {};
  private readonly pending: Pending[] = [];
  private readonly pendingPer = new Map<string, number>();
  private readonly scratch = new Scratch();
  /** Sequence tracking per exporter: the last sequence number and the records (v5, IPFIX) or 1 (v9) it covered. */
  private readonly sequences = new Map<string, { seq: number; covered: number }>();
  private readonly lost = new Map<string, number>();
  /** Data records (flows, options, skipped) and held sets of the packet being decoded. */
  private packetRecords = 0;
  private packetHeld = 0;
  private packetsTotal = 0;
  private recordsTotal = 0;
  private readonly maxPendingPer: number;
  private readonly maxPending: number;
  private readonly maxExporters: number;

  constructor(options: DecoderOptions = {}) {
    this.maxPendingPer = options.maxPendingPerExporter ?? 64;
    this.maxPending = options.maxPending ?? 4096;
    this.maxExporters = options.maxExporters ?? 10_000;
  }

  /** Decode one datagram from `address:port`. */
  decode(msg: Uint8Array, address: string, port: number, out: FlowRecord[]): number {
    this.packetsTotal++;
    const start = out.length;
    const source = addrText(address, port);
    let exporter = `${source}/-`;
    try {
      if (msg.length < 4) fail('shorter than any header');
      const version = u16(msg, 0);
      if (version === 5) {
        if (msg.length < 24) fail('v5 header truncated');
        exporter = `${source}/${u16(msg, 20)}`;
        this.counter(exporter).packets++;
        this.decodeV5(msg, exporter, out);
        this.sequence(exporter, u32(msg, 16), u16(msg, 2), 5);
      } else if (version === 9 || version === 10) {
        if (msg.length < (version === 9 ? 20 : 16)) fail('header truncated');
        const domainId = u32(msg, version === 9 ? 16 : 12);
        exporter = `${source}/${domainId}`;
        this.counter(exporter).packets++;
        this.packetRecords = 0;
        this.packetHeld = 0;
        if (version === 9) this.decodeV9(msg, exporter, out);
        else this.decodeIpfix(msg, exporter, out);
        if (version === 9) this.sequence(exporter, u32(msg, 12), 1, 9);
        else if (this.packetHeld === 0) this.sequence(exporter, u32(msg, 8), this.packetRecords, 10);
        else this.sequences.delete(exporter); // records of held sets are unknown: restart the baseline
      } else {
        this.count('unknown-version');
        this.counter(exporter).packets++;
        this.counter(exporter).malformed++;
        return 0;
      }
    } catch (e) {
      if (!(e instanceof Malformed) && !(e instanceof RangeError)) throw e;
      out.length = start;
      const c = this.counter(exporter);
      if (exporter.endsWith('/-')) c.packets++;
      c.malformed++;
      return 0;
    }
    const n = out.length - start;
    this.recordsTotal += n;
    if (n) this.counter(exporter).records += n;
    return n;
  }

  /**
   * Gaps in the exporters' sequence numbers: flows lost before they reached us (v5 and IPFIX count
   * records, v9 counts export packets — so its figure is packets). IPFIX numbers the records before
   * a message (RFC 7011 §3.1); softflowd 1.1.0 numbers them after it, so a gap that equals either
   * reading is no loss.
   */
  sequenceLoss(): Record<string, number> {
    return Object.fromEntries(this.lost);
  }

  private sequence(exporter: string, seq: number, covered: number, version: 5 | 9 | 10): void {
    const last = this.sequences.get(exporter);
    if (this.sequences.size < this.maxExporters || last) this.sequences.set(exporter, { seq, covered });
    if (!last) return;
    const diff = (seq - last.seq) >>> 0;
    // Backwards or a huge jump: a restarted exporter or reordering, not loss.
    if (diff === 0 || diff > 0x7fffffff) return;
    let gap = diff - last.covered;
    if (version === 10) {
      const quirk = diff - covered;
      gap = gap === 0 || quirk === 0 ? 0 : Math.min(Math.max(gap, 0), Math.max(quirk, 0));
    }
    if (gap > 0) this.lost.set(exporter, (this.lost.get(exporter) ?? 0) + gap);
  }

  /** Counters so far (missingTemplate includes sets still waiting for their template). */
  stats(): CollectStats {
    const byExporter: Record<string, { packets: number; records: number; malformed: number; missingTemplate: number }> = {};
    for (const [k, c] of this.counters) byExporter[k] = { ...c, missingTemplate: c.missingTemplate + (this.pendingPer.get(k) ?? 0) };
    return { packets: this.packetsTotal, records: this.recordsTotal, skipped: { ...this.skipped, ...(this.pending.length ? { 'pending-template': this.pending.length } : {}) }, byExporter };
  }

  private count(reason: string, n = 1): void {
    this.skipped[reason] = (this.skipped[reason] ?? 0) + n;
  }

  private counter(exporter: string): ExporterCounters {
    let c = this.counters.get(exporter);
    if (!c) {
      // A flood of spoofed exporters must not grow memory without bound.
      if (this.counters.size >= this.maxExporters) return this.counter('other');
      c = { packets: 0, records: 0, malformed: 0, missingTemplate: 0 };
      this.counters.set(exporter, c);
    }
    return c;
  }

  private domain(exporter: string): DomainState {
    let d = this.domains.get(exporter);
    if (!d) {
      d = { defaultSampling: 1, samplers: new Map(), initMs: undefined };
      if (this.domains.size < this.maxExporters) this.domains.set(exporter, d);
    }
    return d;
  }

  // ---- NetFlow v5: 24-byte header, 48-byte records, at most 30 per packet.
  private decodeV5(b: Uint8Array, exporter: string, out: FlowRecord[]): void {
    const count = u16(b, 2);
    if (count === 0 || count > 30 || b.length < 24 + count * 48) fail('v5 record count does not fit the packet');
    const sysUptime = u32(b, 4);
    const unixMs = u32(b, 8) * 1000 + Math.floor(u32(b, 12) / 1e6);
    const sampleField = u16(b, 22);
    const interval = sampleField >>> 14 !== 0 && (sampleField & 0x3fff) > 1 ? sampleField & 0x3fff : 1;
    for (let i = 0, o = 24; i < count; i++, o += 48) {
      out.push({
        startMs: unixMs - uptimeDiff(sysUptime, u32(b, o + 24)),
        endMs: unixMs - uptimeDiff(sysUptime, u32(b, o + 28)),
        src: u32(b, o),
        srcPort: u16(b, o + 32),
        dst: u32(b, o + 4),
        dstPort: u16(b, o + 34),
        proto: b[o + 38]!,
        packets: u32(b, o + 16) * interval,
        bytes: u32(b, o + 20) * interval,
        tcpFlags: b[o + 37]!,
        exporter,
        sampling: interval,
      });
    }
  }

  // ---- NetFlow v9: 20-byte header (version, count, sysUptime, unix secs, sequence, source id), then flowsets.
  private decodeV9(b: Uint8Array, exporter: string, out: FlowRecord[]): void {
    const ctx: HeaderContext = { version: 9, exporter, sysUptime: u32(b, 4), exportMs: u32(b, 8) * 1000, domain: this.domain(exporter) };
    let o = 20;
    const learned: number[] = [];
    while (o + 4 <= b.length) {
      const setId = u16(b, o);
      const len = u16(b, o + 2);
      if (len < 4 || o + len > b.length) fail('flowset length');
      const end = o + len;
      if (setId === 0) this.v9Templates(b, o + 4, end, exporter, learned);
      else if (setId === 1) this.v9OptionsTemplates(b, o + 4, end, exporter, learned);
      else if (setId >= 256) this.dataSet(b, o + 4, end, setId, ctx, out);
      else this.count('reserved-set');
      o = end;
    }
    // Fewer than 4 trailing bytes are padding; more would have been read as a set.
    if (learned.length) this.replayPending(exporter, learned, out);
  }

  private v9Templates(b: Uint8Array, o: number, end: number, exporter: string, learned: number[]): void {
    while (o + 4 <= end) {
      const id = u16(b, o);
      const n = u16(b, o + 2);
      o += 4;
      if (id < 256) fail('template id below 256');
      if (n === 0 || o + n * 4 > end) fail('template field count');
      const fields: Field[] = [];
      for (let i = 0; i < n; i++, o += 4) fields.push({ id: u16(b, o), length: u16(b, o + 2) });
      this.setTemplate(exporter, id, fields, false, learned, 9);
    }
  }

  private v9OptionsTemplates(b: Uint8Array, o: number, end: number, exporter: string, learned: number[]): void {
    while (o + 6 <= end) {
      const id = u16(b, o);
      const scopeLen = u16(b, o + 2);
      const optLen = u16(b, o + 4);
      o += 6;
      if (id < 256) fail('options template id below 256');
      if (scopeLen % 4 || optLen % 4 || scopeLen + optLen === 0 || o + scopeLen + optLen > end) fail('options template lengths');
      const fields: Field[] = [];
      // Scope field types (1 system, 2 interface, ...) are not element ids: mark them unread.
      for (let i = 0; i < scopeLen; i += 4, o += 4) fields.push({ id: -1, length: u16(b, o + 2) });
      for (let i = 0; i < optLen; i += 4, o += 4) fields.push({ id: u16(b, o), length: u16(b, o + 2) });
      this.setTemplate(exporter, id, fields, true, learned, 9);
    }
  }

  // ---- IPFIX: 16-byte header (version, length, export time, sequence, observation domain), then sets.
  private decodeIpfix(b: Uint8Array, exporter: string, out: FlowRecord[]): void {
    const length = u16(b, 2);
    if (length < 16 || length > b.length) fail('message length');
    const ctx: HeaderContext = { version: 10, exporter, sysUptime: 0, exportMs: u32(b, 4) * 1000, domain: this.domain(exporter) };
    let o = 16;
    const learned: number[] = [];
    while (o < length) {
      if (o + 4 > length) fail('set header truncated');
      const setId = u16(b, o);
      const len = u16(b, o + 2);
      if (len < 4 || o + len > length) fail('set length');
      const end = o + len;
      if (setId === 2 || setId === 3) this.ipfixTemplates(b, o + 4, end, exporter, setId === 3, learned);
      else if (setId >= 256) this.dataSet(b, o + 4, end, setId, ctx, out);
      else this.count('reserved-set');
      o = end;
    }
    if (learned.length) this.replayPending(exporter, learned, out);
  }

  private ipfixTemplates(b: Uint8Array, o: number, end: number, exporter: string, options: boolean, learned: number[]): void {
    const head = options ? 6 : 4;
    while (o + 4 <= end) {
      const id = u16(b, o);
      const n = u16(b, o + 2);
      if (n === 0) {
        // Withdrawal (RFC 7011 §8.1); the set id as template id withdraws all of that kind.
        this.withdraw(exporter, id, options);
        o += 4;
        continue;
      }
      if (o + head > end) fail('template header truncated');
      const scopeCount = options ? u16(b, o + 4) : 0;
      o += head;
      if (id < 256) fail('template id below 256');
      if (options && (scopeCount === 0 || scopeCount > n)) fail('options template scope count');
      const fields: Field[] = [];
      for (let i = 0; i < n; i++) {
        if (o + 4 > end) fail('template field truncated');
        const raw = u16(b, o);
        const length = u16(b, o + 2);
        o += 4;
        if (raw & 0x8000) {
          // Enterprise-specific element: skip its 4-byte enterprise number and never read it.
          if (o + 4 > end) fail('enterprise number truncated');
          o += 4;
          fields.push({ id: -1, length });
        } else fields.push({ id: raw, length });
      }
      this.setTemplate(exporter, id, fields, options, learned, 10);
    }
  }

  private setTemplate(exporter: string, id: number, fields: Field[], options: boolean, learned: number[], version: 9 | 10): void {
    let minLength = 0;
    let variable = false;
    for (const f of fields) {
      if (f.length === VARLEN && version === 10) {
        variable = true;
        minLength += 1;
      } else minLength += f.length;
    }
    // A record of zero bytes would make the data-set loop spin forever.
    if (minLength === 0) fail('template with zero-length records');
    this.templates.set(`${exporter}#${id}`, { fields, minLength, variable, options });
    learned.push(id);
  }

  private withdraw(exporter: string, id: number, options: boolean): void {
    if (id === 2 || id === 3) {
      for (const [k, t] of this.templates) if (k.startsWith(`${exporter}#`) && t.options === options) this.templates.delete(k);
      this.count('template-withdrawn');
    } else if (id >= 256) {
      this.templates.delete(`${exporter}#${id}`);
      this.count('template-withdrawn');
    } else fail('withdrawal of a reserved template id');
  }

  private dataSet(b: Uint8Array, o: number, end: number, setId: number, ctx: HeaderContext, out: FlowRecord[]): void {
    const t = this.templates.get(`${ctx.exporter}#${setId}`);
    if (!t) {
      this.holdPending(ctx, setId, b.slice(o, end));
      this.packetHeld++;
      return;
    }
    this.decodeRecords(t, b, o, end, ctx, out);
  }

  private decodeRecords(t: Template, b: Uint8Array, o: number, end: number, ctx: HeaderContext, out: FlowRecord[]): void {
    const s = this.scratch;
    const fields = t.fields;
    // Trailing bytes shorter than one record are padding (RFC 3954 §5.3, RFC 7011 §3.3.1).
    while (end - o >= t.minLength) {
      s.reset();
      for (let i = 0; i < fields.length; i++) {
        const f = fields[i]!;
        let len = f.length;
        if (len === VARLEN && t.variable) {
          if (o + 1 > end) fail('variable length truncated');
          len = b[o]!;
          o += 1;
          if (len === 255) {
            if (o + 2 > end) fail('variable length truncated');
            len = u16(b, o);
            o += 2;
          }
        }
        if (o + len > end) fail('record overruns its set');
        if (f.id >= 0) readField(s, f.id, b, o, len);
        o += len;
      }
      this.packetRecords++;
      if (t.options) this.applyOptions(s, ctx);
      else this.pushRecord(s, ctx, out);
    }
  }

  private applyOptions(s: Scratch, ctx: HeaderContext): void {
    if (s.initMs >= 0) ctx.domain.initMs = s.initMs;
    const interval = announcedInterval(s);
    if (interval > 0) {
      if (s.samplerId >= 0) {
        if (ctx.domain.samplers.size < 65536) ctx.domain.samplers.set(s.samplerId, interval);
      } else ctx.domain.defaultSampling = interval;
      this.count('sampling-options');
    }
  }

  private pushRecord(s: Scratch, ctx: HeaderContext, out: FlowRecord[]): void {
    if (s.src < 0 || s.dst < 0) {
      this.count(s.v6 ? 'ipv6' : 'no-ipv4');
      return;
    }
    // The record's own interval, else its sampler's, else the domain's default.
    let sampling = announcedInterval(s);
    if (sampling <= 0) sampling = (s.samplerId >= 0 ? ctx.domain.samplers.get(s.samplerId) : undefined) ?? ctx.domain.defaultSampling;
    let packets = s.packets || (s.packetsTotal >= 0 ? s.packetsTotal : 0) || (s.postPackets >= 0 ? s.postPackets : 0);
    let bytes = s.bytes || (s.bytesTotal >= 0 ? s.bytesTotal : 0) || (s.postBytes >= 0 ? s.postBytes : 0);
    if (sampling !== 1) {
      packets = Math.round(packets * sampling);
      bytes = Math.round(bytes * sampling);
    }
    let startMs = s.startMs;
    let endMs = s.endMs;
    if (startMs < 0 || endMs < 0) {
      let st = -1;
      let en = -1;
      if (ctx.version === 9) {
        if (s.upStart >= 0) st = ctx.exportMs - uptimeDiff(ctx.sysUptime, s.upStart);
        if (s.upEnd >= 0) en = ctx.exportMs - uptimeDiff(ctx.sysUptime, s.upEnd);
      } else {
        const init = ctx.domain.initMs;
        if (init !== undefined) {
          if (s.upStart >= 0) st = init + s.upStart;
          if (s.upEnd >= 0) en = init + s.upEnd;
        }
        if (s.startDeltaUs >= 0) st = ctx.exportMs - Math.round(s.startDeltaUs / 1000);
        if (s.endDeltaUs >= 0) en = ctx.exportMs - Math.round(s.endDeltaUs / 1000);
      }
      if (startMs < 0) startMs = st >= 0 ? st : en >= 0 ? en : ctx.exportMs;
      if (endMs < 0) endMs = en >= 0 ? en : startMs;
    }
    if (!(startMs >= 0 && startMs <= MAX_TIME_MS) || !(endMs >= 0 && endMs <= MAX_TIME_MS)) {
      this.count('bad-time');
      startMs = endMs = ctx.exportMs;
    }
    let dstPort = s.dstPort;
    // ICMP has no ports: like nfdump, report type*256+code as the destination port.
    if (s.proto === 1 && dstPort === 0) dstPort = s.icmp >= 0 ? s.icmp : s.icmpType >= 0 ? s.icmpType * 256 + s.icmpCode : 0;
    out.push({
      startMs: Math.floor(startMs), endMs: Math.floor(endMs), src: s.src, srcPort: s.srcPort, dst: s.dst, dstPort, proto: s.proto,
      packets: clampCount(packets), bytes: clampCount(bytes),
      tcpFlags: s.proto === 6 ? s.flags : 0, exporter: ctx.exporter, sampling,
    });
  }

  private holdPending(ctx: HeaderContext, templateId: number, bytes: Uint8Array): void {
    const key = ctx.exporter;
    const per = this.pendingPer.get(key) ?? 0;
    if (per >= this.maxPendingPer || this.pending.length >= this.maxPending) {
      // Full: the oldest set of this exporter (or any, when the global bound is hit) is given up.
      const i = per >= this.maxPendingPer ? this.pending.findIndex((p) => p.key === key) : 0;
      const [dropped] = this.pending.splice(i, 1);
      if (dropped) {
        this.pendingPer.set(dropped.key, (this.pendingPer.get(dropped.key) ?? 1) - 1);
        this.counter(dropped.key).missingTemplate++;
      }
    }
    this.pending.push({ key, templateId, bytes, ctx });
    this.pendingPer.set(key, (this.pendingPer.get(key) ?? 0) + 1);
  }

  /** Decode the sets that were waiting for the templates this packet brought. */
  private replayPending(exporter: string, learned: readonly number[], out: FlowRecord[]): void {
    if (!this.pendingPer.get(exporter)) return;
    for (let i = 0; i < this.pending.length; ) {
      const p = this.pending[i]!;
      const t = p.key === exporter && learned.includes(p.templateId) ? this.templates.get(`${exporter}#${p.templateId}`) : undefined;
      if (!t) {
        i++;
        continue;
      }
      this.pending.splice(i, 1);
      this.pendingPer.set(exporter, (this.pendingPer.get(exporter) ?? 1) - 1);
      const before = out.length;
      try {
        this.decodeRecords(t, p.bytes, 0, p.bytes.length, p.ctx, out);
        this.count('late-template', 1);
      } catch (e) {
        if (!(e instanceof Malformed) && !(e instanceof RangeError)) throw e;
        out.length = before;
        this.counter(exporter).malformed++;
      }
    }
  }
}
