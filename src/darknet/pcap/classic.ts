/**
 * Classic libpcap files (tcpdump.org/manpages/pcap-savefile.5): a 24-byte global header, then
 * records of a 16-byte header and the captured bytes. Both byte orders, micro- and nanosecond
 * magic. A record header that cannot be right (length past any snapshot length, fraction past one
 * second) is counted and the parser scans forward to the next header that is plausible and is
 * followed by another plausible header, so one flipped byte costs a few records, not the file.
 */
import type { ContainerParser, RecordSink } from './container.js';

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

  constructor(private readonly sink: RecordSink) {}

  private u32(b: Uint8Array, o: number): number {
    return this.le
      ? ((b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0)
      : ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
  }

  /** Whether the 16 bytes at o can be a record header. */
  private plausible(b: Uint8Array, o: number): boolean {
    const frac = this.u32(b, o + 4);
    const incl = this.u32(b, o + 8);
    const orig = this.u32(b, o + 12);
    if (frac >= this.fracPerSec || incl > this.snapLimit || orig < incl) return false;
    if (!this.resyncing || this.lastTs < 0) return true;
    return Math.abs(this.u32(b, o) - this.lastTs) < YEAR_SECONDS;
  }

  feed(b: Uint8Array, start: number, end: number, eof: boolean): number {
    let p = start;
    if (!this.headerDone) {
      if (end - p < 24) {
        this.need = 24;
        if (eof && end > p) this.sink.skip('truncated-header', end - p);
        return eof ? end : p;
      }
      const magic = ((b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!) >>> 0;
      this.le = magic === 0xd4c3b2a1 || magic === 0x4d3cb2a1;
      this.fracPerSec = magic === 0xa1b23c4d || magic === 0x4d3cb2a1 ? 1e9 : 1e6;
      const snap = this.u32(b, p + 16);
      // A snapshot length of 0 or past the maximum is a writer's mistake: use our limit instead.
      this.snapLimit = snap > 0 && snap <= MAX_PCAP_RECORD ? Math.max(snap, 65535) : MAX_PCAP_RECORD;
      // The low 16 bits are the link type; bits 28-31 may carry FCS information.
      this.linkType = this.u32(b, p + 20) & 0xffff;
      this.headerDone = true;
      p += 24;
    }
    for (;;) {
      if (end - p < 16) {
        this.need = 16;
        if (eof && end > p) {
          this.sink.skip('truncated-record', end - p);
          return end;
        }
        return p;
      }
      if (!this.plausible(b, p)) {
        if (!this.resyncing) this.sink.skip('bad-record-header', 0);
        this.resyncing = true;
        p++;
        this.sink.skipBytes(1);
        continue;
      }
      const incl = this.u32(b, p + 8);
      if (this.resyncing) {
        // Accept a candidate only when the header after it is plausible too (or the file ends).
        const next = p + 16 + incl;
        if (next + 16 > end && !eof) {
          this.need = 32 + incl;
          return p;
        }
        if (!(next === end && eof) && !(next + 16 <= end && this.plausible(b, next))) {
          p++;
          this.sink.skipBytes(1);
          continue;
        }
        this.resyncing = false;
      }
      if (end - p < 16 + incl) {
        this.need = 16 + incl;
        if (eof) {
          this.sink.skip('truncated-record', end - p);
          return end;
        }
        return p;
      }
      const sec = this.u32(b, p);
      const frac = this.u32(b, p + 4);
      this.lastTs = sec;
      this.sink.record(this.linkType, b, p + 16, incl, sec, this.fracPerSec === 1e9 ? frac : frac * 1000, 0);
      p += 16 + incl;
    }
  }
}
