/**
 * Classic libpcap files (tcpdump.org/manpages/pcap-savefile.5): a 24-byte global header, then
 * records of a 16-byte header and the captured bytes. Both byte orders, micro- and nanosecond
 * magic. A record header that cannot be right (length past any snapshot length, fraction past one
 * second) is counted and the parser scans forward to the next header that is plausible and is
 * followed by another plausible header, so one flipped byte costs a few records, not the file.
 */
import type { ContainerParser, FramePacker, RecordSink } from './container.js';
import { linkTypes } from './packet.js';

/** Largest record we accept: libpcap's MAXIMUM_SNAPLEN (262144) with room for odd writers. */
export const MAX_PCAP_RECORD = 1 << 20;
const YEAR_SECONDS = 366 * 86400;

export class ClassicPcapParser implements ContainerParser {
  need = 24;
  private le = true;
  private fracPerSec = 1e6;
  private linkType = 0;
  private snapLimit = MAX_PCAP_RECORD;
  private headerDone = false;
  private resyncing = false;
  private lastTs = -1;

  /** With `frames`, Ethernet records go to it first and only those it refuses to the sink. */
  constructor(private readonly sink: RecordSink, private readonly frames?: FramePacker) {}

  /** Whether the 16 bytes at o can be a record header. */
  private plausible(d: DataView, o: number): boolean {
    const le = this.le;
    const incl = d.getUint32(o + 8, le);
    if (d.getUint32(o + 4, le) >= this.fracPerSec || incl > this.snapLimit || d.getUint32(o + 12, le) < incl) return false;
    if (!this.resyncing || this.lastTs < 0) return true;
    return Math.abs(d.getUint32(o, le) - this.lastTs) < YEAR_SECONDS;
  }

  feed(b: Uint8Array, start: number, end: number, eof: boolean): number {
    let p = start;
    const d = new DataView(b.buffer, b.byteOffset, b.byteLength);
    if (!this.headerDone) {
      if (end - p < 24) {
        this.need = 24;
        if (eof && end > p) this.sink.skip('truncated-header', end - p);
        return eof ? end : p;
      }
      const magic = d.getUint32(p, false);
      this.le = magic === 0xd4c3b2a1 || magic === 0x4d3cb2a1;
      this.fracPerSec = magic === 0xa1b23c4d || magic === 0x4d3cb2a1 ? 1e9 : 1e6;
      const snap = d.getUint32(p + 16, this.le);
      // A snapshot length of 0 or past the maximum is a writer's mistake: use our limit instead.
      this.snapLimit = snap > 0 && snap <= MAX_PCAP_RECORD ? Math.max(snap, 65535) : MAX_PCAP_RECORD;
      // The low 16 bits are the link type; bits 28-31 may carry FCS information.
      this.linkType = d.getUint32(p + 20, this.le) & 0xffff;
      this.headerDone = true;
      p += 24;
    }
    for (;;) {
      if (!this.resyncing) p = this.run(b, d, p, end);
      if (end - p < 16) {
        this.need = 16;
        if (eof && end > p) {
          this.sink.skip('truncated-record', end - p);
          return end;
        }
        return p;
      }
      if (!this.plausible(d, p)) {
        if (!this.resyncing) this.sink.skip('bad-record-header', 0);
        this.resyncing = true;
        p++;
        this.sink.skipBytes(1);
        continue;
      }
      const incl = d.getUint32(p + 8, this.le);
      if (this.resyncing) {
        // Accept a candidate only when the header after it is plausible too (or the file ends).
        const next = p + 16 + incl;
        if (next + 16 > end && !eof) {
          this.need = 32 + incl;
          return p;
        }
        if (!(next === end && eof) && !(next + 16 <= end && this.plausible(d, next))) {
          p++;
          this.sink.skipBytes(1);
          continue;
        }
        this.resyncing = false;
        continue;
      }
      // A plausible header whose record is not all here yet.
      this.need = 16 + incl;
      if (eof) {
        this.sink.skip('truncated-record', end - p);
        return end;
      }
      return p;
    }
  }

  /**
   * Hand on the records at p for as long as their headers are plausible and their bytes are all
   * here; returns where it stopped. The loop every record of a sound capture takes, so its reads
   * are a DataView's and the frame packer is called directly.
   */
  private run(b: Uint8Array, d: DataView, p: number, end: number): number {
    const le = this.le;
    const nano = this.fracPerSec === 1e9;
    const fracLimit = this.fracPerSec;
    const snap = this.snapLimit;
    const link = this.linkType;
    const frames = link === linkTypes.ethernet ? this.frames : undefined;
    const sink = this.sink;
    let lastTs = this.lastTs;
    let packed = 0;
    while (end - p >= 16) {
      const frac = d.getUint32(p + 4, le);
      const incl = d.getUint32(p + 8, le);
      if (frac >= fracLimit || incl > snap || d.getUint32(p + 12, le) < incl || end - p - 16 < incl) break;
      const sec = d.getUint32(p, le);
      const o = p + 16;
      lastTs = sec;
      // frac is below 10^9 (checked above), so `| 0` floors the quotient as Math.floor would.
      if (frames !== undefined && frames.addFrame(b, d, o, incl, sec, nano ? (frac / 1e6) | 0 : (frac / 1000) | 0)) packed++;
      else sink.record(link, b, o, incl, sec, nano ? frac : frac * 1000, 0);
      p = o + incl;
    }
    this.lastTs = lastTs;
    if (packed > 0) sink.packed(packed);
    return p;
  }
}
