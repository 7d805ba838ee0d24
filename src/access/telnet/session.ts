/**
 * One telnet client session over a guarded Connection: decodes RFC 854 commands, answers option
 * negotiation (RFC 1143 states from src/protocols/telnet.ts), collects the data as text and
 * writes lines. It never opens anything; the access module decides what to type.
 */
import { bannerText } from '../../grab/text.js';
import {
  OptionNegotiator,
  TTYPE_IS,
  TTYPE_SEND,
  TelnetDecoder,
  TelnetOption,
  encodeSubnegotiation,
  escapeIac,
} from '../../protocols/telnet.js';
import type { Connection, ConnectionStatus, LimitHit, ReadResult } from '../../scope/connection.js';
import { maxReplyChars } from './classify.js';

/** Negotiation replies sent per session; a peer toggling options forever gets no more. */
const maxReplies = 256;

/** How a wait for the device ended. */
export type WaitEnd = 'matched' | 'quiet' | 'closed' | 'limit' | 'error';

export interface WaitResult {
  readonly end: WaitEnd;
  /** Text received during this wait (bounded, tail kept). */
  readonly text: string;
  readonly status?: ConnectionStatus;
  readonly limit?: LimitHit;
  readonly error?: string;
}

/** A telnet session on one connection. */
export class TelnetClient {
  private readonly decoder = new TelnetDecoder();
  // We let the server echo and suppress go-ahead (what every login needs), and agree to send a
  // terminal type and a window size (RFC 1091, RFC 1073), which some consoles wait for.
  private readonly negotiator = new OptionNegotiator({
    local: new Set([TelnetOption.SGA, TelnetOption.TTYPE, TelnetOption.NAWS]),
    remote: new Set([TelnetOption.ECHO, TelnetOption.SGA]),
  });
  private inflight: Promise<ReadResult> | undefined;
  private pendingBytes: Buffer[] = [];
  private replies = 0;
  private ended: ReadResult | undefined;
  /** Everything seen since the session began, tail kept (for the banner). */
  private transcript = '';

  constructor(private readonly conn: Connection) {}

  /** Whether the connection has ended (closed, a limit, an error). */
  get closed(): boolean {
    return this.ended !== undefined;
  }

  /** Text received so far in this session (bounded). */
  get seen(): string {
    return bounded(this.transcript);
  }

  /** Send a line: the text with IAC doubled and CR LF (RFC 854's end of line). */
  async sendLine(text: string): Promise<boolean> {
    const w = await this.conn.write(Buffer.concat([escapeIac(Buffer.from(text, 'utf8')), Buffer.from('\r\n')]));
    return w.status === 'success';
  }

  close(): void {
    this.conn.close();
  }

  /**
   * Read until `done(text)` holds for the text of this wait, the connection ends, or `quietReads`
   * reads in a row time out (each bounded by the connection's idle timeout). `graceMs` > 0 caps a
   * single wait for more data at that many ms instead (used to let a reply settle).
   */
  async waitFor(done: (tail: string) => boolean, quietReads: number, graceMs = 0): Promise<WaitResult> {
    let text = '';
    // `done` sees only the last characters: a prompt is at the end, and a trickle of one-byte
    // chunks must not cost a pass over everything received for each byte.
    let tail = '';
    let quiet = 0;
    for (;;) {
      if (this.ended) return this.endOf(bounded(text));
      const r = await this.next(graceMs);
      if (r === undefined) return { end: 'quiet', text: bounded(text) };
      if (r.data.length > 0) {
        const piece = this.take(r.data);
        text = trimmed(text + piece);
        tail = tail.length + piece.length > 2 * tailChars ? (tail + piece).slice(-tailChars) : tail + piece;
        quiet = 0;
        if (done(tail)) return { end: 'matched', text: bounded(text) };
      }
      if (r.status === 'success') continue;
      if (r.status === 'io-timeout' && r.limit !== 'deadline') {
        if (++quiet >= quietReads) return { end: 'quiet', text: bounded(text) };
        continue;
      }
      this.ended = r;
      return this.endOf(bounded(text));
    }
  }

  private endOf(text: string): WaitResult {
    const r = this.ended;
    const end: WaitEnd = r?.status === 'connection-closed' ? 'closed' : r?.limit ? 'limit' : 'error';
    return { end, text, ...(r ? { status: r.status } : {}), ...(r?.limit ? { limit: r.limit } : {}), ...(r?.error ? { error: r.error } : {}) };
  }

  /** The next read, or undefined when `graceMs` passed first (the read stays pending for later). */
  private async next(graceMs: number): Promise<ReadResult | undefined> {
    this.inflight ??= this.conn.read();
    const read = this.inflight;
    if (graceMs <= 0) {
      const r = await read;
      this.inflight = undefined;
      return r;
    }
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), graceMs)));
    const r = await Promise.race([read, timeout]);
    clearTimeout(timer);
    if (r !== undefined) this.inflight = undefined;
    return r;
  }

  /** Decode a chunk: answer negotiation, return its data as text. */
  private take(chunk: Buffer): string {
    const out: Buffer[] = [];
    for (const ev of this.decoder.push(chunk)) {
      if (ev.kind === 'data') this.pendingBytes.push(ev.bytes);
      else if (ev.kind === 'negotiate') {
        const o = this.negotiator.receive(ev.verb, ev.option);
        if (o.reply) out.push(o.reply);
        // RFC 1073: once we agree to NAWS we send the size; 80x24 like a plain terminal.
        if (o.side === 'local' && o.option === TelnetOption.NAWS && o.after === 'yes' && o.before !== 'yes') {
          out.push(encodeSubnegotiation(TelnetOption.NAWS, Buffer.of(0, 80, 0, 24)));
        }
      } else if (ev.kind === 'subnegotiation' && ev.option === TelnetOption.TTYPE && ev.data[0] === TTYPE_SEND) {
        if (this.negotiator.state('local', TelnetOption.TTYPE) === 'yes') out.push(encodeSubnegotiation(TelnetOption.TTYPE, Buffer.concat([Buffer.of(TTYPE_IS), Buffer.from('VT100')])));
      }
    }
    if (out.length > 0 && this.replies < maxReplies) {
      this.replies += out.length;
      // Fire and forget: a failed write shows up as the connection ending on the next read.
      void this.conn.write(Buffer.concat(out));
    }
    // Decode only complete data so far; a multi-byte character split across chunks is rare and
    // costs one replacement at most, never a crash.
    const bytes = Buffer.concat(this.pendingBytes);
    this.pendingBytes = [];
    const piece = bannerText(bytes, maxReplyChars);
    this.transcript = trimmed(this.transcript + piece);
    return piece;
  }
}

/** Characters of the end of a wait's text that `done` is shown. */
export const tailChars = 2048;

/** Cut back to the last maxReplyChars only when twice that is passed (amortised O(1) per chunk). */
function trimmed(s: string): string {
  return s.length > 2 * maxReplyChars ? s.slice(-maxReplyChars) : s;
}

function bounded(s: string): string {
  return s.length > maxReplyChars ? s.slice(-maxReplyChars) : s;
}
