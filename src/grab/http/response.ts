/**
 * A strict, bounded HTTP/1.x response reader (RFC 9112) for the scanner's hot path. Devices send
 * anything, so every size is capped and every oddity has a defined outcome: bare LF line ends
 * (§2.2 lets a recipient accept them), obs-fold (§5.2: replaced by a space), repeated headers,
 * NUL and other control bytes (kept out of the text), interim 1xx responses (§4), and the three
 * body framings of §6.3: Content-Length, chunked (§7.1) and read-until-close. The pure pieces
 * (head scan, head parse, chunked decoder) are exported for tests and fuzzing; readResponse is the
 * one function that does I/O, over the guard's Connection.
 */
import { TextDecoder } from 'node:util';
import type { Connection, ConnectionStatus } from '../../scope/connection.js';

/** Size limits of one response. */
export interface ResponseLimits {
  /** Status line and headers together. */
  readonly maxHeadBytes: number;
  /** Header lines kept; later ones are counted and dropped. */
  readonly maxHeaders: number;
  /** Decoded body bytes kept; reading stops there (the rest of a 100 MB body is never read). */
  readonly maxBodyBytes: number;
}

/** Limits for a page: a 32 KiB head, 100 headers, 64 KiB of body. */
export const defaultResponseLimits: ResponseLimits = Object.freeze({ maxHeadBytes: 32 * 1024, maxHeaders: 100, maxBodyBytes: 64 * 1024 });

/** Longest header value kept, in characters. */
const maxValueChars = 4096;
/** Interim (1xx) responses skipped before the final one. */
const maxInterim = 4;

/** A parsed status line and its headers. */
export interface ResponseHead {
  /** "1.1" */
  readonly version: string;
  readonly status: number;
  readonly reason: string;
  readonly statusLine: string;
  /** In order, names lower-cased (header names are case-insensitive, RFC 9110 §5.1). */
  readonly headers: readonly (readonly [string, string])[];
  /** Header lines beyond maxHeaders, or malformed ones, that were not kept. */
  readonly dropped: number;
}

/** Index just past the blank line ending the head (CRLF CRLF, or LF LF with optional CRs), else -1. */
export function findHeadEnd(buf: Uint8Array, from = 0): number {
  for (let i = Math.max(0, from); i < buf.length; i++) {
    if (buf[i] !== 0x0a) continue;
    const next = buf[i + 1];
    if (next === 0x0a) return i + 2;
    if (next === 0x0d && buf[i + 2] === 0x0a) return i + 3;
  }
  return -1;
}

/** Control characters (but tab) from a device become U+FFFD: text stays text, and NUL never reaches storage. */
export function cleanText(s: string): string {
  return s.replace(/[\x00-\x08\x0a-\x1f\x7f]/g, '\uFFFD');
}

const utf8Strict = new TextDecoder('utf-8', { fatal: true });

/** Header bytes as text: UTF-8 when they are valid UTF-8 (realms of Japanese devices), else Latin-1 (obs-text). */
function headerText(bytes: Uint8Array): string {
  let ascii = true;
  for (const b of bytes) if (b >= 0x80) ascii = false;
  if (ascii) return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
  try {
    return utf8Strict.decode(bytes);
  } catch {
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
  }
}

const tokenName = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,256}$/;
const statusLinePattern = /^HTTP\/(\d)\.(\d) +(\d{3})(?:[ \t]+(.*))?$/;

/** Split head bytes into lines at LF, a trailing CR dropped from each. */
function lines(head: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  let start = 0;
  for (let i = 0; i <= head.length; i++) {
    if (i < head.length && head[i] !== 0x0a) continue;
    let end = i;
    if (end > start && head[end - 1] === 0x0d) end--;
    out.push(head.subarray(start, end));
    start = i + 1;
  }
  return out;
}

/**
 * Parse a head (status line and header lines; the blank line may be included). Undefined when the
 * status line is not "HTTP/x.y NNN reason". Lines without a colon or with a bad name are dropped,
 * as are lines past maxHeaders; never throws.
 */
export function parseHead(head: Uint8Array, maxHeaders: number): ResponseHead | undefined {
  const all = lines(head);
  const first = all[0];
  if (!first) return undefined;
  const statusLine = cleanText(headerText(first));
  const m = statusLinePattern.exec(statusLine);
  if (!m?.[1] || !m[2] || !m[3]) return undefined;
  const headers: [string, string][] = [];
  let dropped = 0;
  for (const bytes of all.slice(1)) {
    if (bytes.length === 0) break;
    const line = headerText(bytes);
    const last = headers[headers.length - 1];
    if (line[0] === ' ' || line[0] === '\t') {
      // obs-fold (RFC 9112 §5.2): a continuation of the previous value, joined with one space.
      if (last && last[1].length < maxValueChars) last[1] = `${last[1]} ${cleanText(line.trim())}`.slice(0, maxValueChars);
      else dropped++;
      continue;
    }
    const colon = line.indexOf(':');
    // Whitespace before the colon is forbidden (§5.1); a response is read anyway, without it.
    const name = colon > 0 ? line.slice(0, colon).trimEnd() : '';
    if (!tokenName.test(name) || headers.length >= maxHeaders) {
      dropped++;
      continue;
    }
    headers.push([name.toLowerCase(), cleanText(line.slice(colon + 1).trim()).slice(0, maxValueChars)]);
  }
  return { version: `${m[1]}.${m[2]}`, status: Number(m[3]), reason: m[4]?.trim() ?? '', statusLine: statusLine.slice(0, 512), headers, dropped };
}

/** Every value of a header, in order. */
export function headerValues(head: ResponseHead, name: string): string[] {
  return head.headers.filter(([n]) => n === name).map(([, v]) => v);
}

/** The headers as one record: repeated ones joined with ", ", set-cookie with "\n" (its values hold commas). */
export function headerRecord(head: ResponseHead): Record<string, string> {
  const out: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const [name, value] of head.headers) {
    const prior = out[name];
    out[name] = prior === undefined ? value : `${prior}${name === 'set-cookie' ? '\n' : ', '}${value}`;
  }
  return { ...out };
}

/** How a response body is delimited. */
export type BodyFraming = { readonly kind: 'none' } | { readonly kind: 'length'; readonly length: number } | { readonly kind: 'chunked' } | { readonly kind: 'close' };

/** How the body is delimited (RFC 9112 §6.3), for a response to GET. */
export function framingOf(head: ResponseHead): BodyFraming {
  if ((head.status >= 100 && head.status < 200) || head.status === 204 || head.status === 304) return { kind: 'none' };
  const te = headerValues(head, 'transfer-encoding');
  if (te.length > 0) {
    const codings = te.join(',').split(',').map((c) => c.trim().toLowerCase()).filter((c) => c !== '');
    // Chunked must be the final coding; otherwise the body runs to the close (§6.3 item 4).
    return codings[codings.length - 1] === 'chunked' ? { kind: 'chunked' } : { kind: 'close' };
  }
  const lengths = new Set(headerValues(head, 'content-length').flatMap((v) => v.split(',').map((x) => x.trim())));
  if (lengths.size === 0) return { kind: 'close' };
  const [only] = lengths;
  // Differing or malformed lengths are an error (§6.3 item 5); a survey still wants the page, so it reads to the close.
  if (lengths.size === 1 && only !== undefined && /^\d{1,15}$/.test(only)) return { kind: 'length', length: Number(only) };
  return { kind: 'close' };
}

/** What the chunked decoder made of the bytes pushed so far. */
export interface ChunkedStep {
  readonly data: readonly Buffer[];
  readonly done: boolean;
  readonly error?: string;
}

/** Feed it the bytes after the head, in any split; it returns the data of each push. */
export interface ChunkedDecoder {
  push(bytes: Buffer): ChunkedStep;
}

/** Longest chunk-size line (size, chunk-ext) or trailer line accepted. */
const maxChunkLine = 1024;

/**
 * An incremental decoder of the chunked transfer coding (RFC 9112 §7.1): chunk-size in hex, ignored
 * chunk extensions, data, CRLF, and after the last chunk trailer lines up to a blank line. Any
 * syntax error stops it with `error`; it never buffers more than one line.
 */
export function createChunkedDecoder(): ChunkedDecoder {
  let state: 'size' | 'data' | 'data-end' | 'trailer' | 'done' | 'error' = 'size';
  let line = '';
  let remaining = 0;
  let error: string | undefined;
  return {
    push(bytes) {
      const data: Buffer[] = [];
      let i = 0;
      while (i < bytes.length && state !== 'done' && state !== 'error') {
        if (state === 'data') {
          const take = Math.min(remaining, bytes.length - i);
          data.push(bytes.subarray(i, i + take));
          i += take;
          remaining -= take;
          if (remaining === 0) state = 'data-end';
          continue;
        }
        const b = bytes[i++] ?? 0;
        if (b !== 0x0a) {
          if (b !== 0x0d) line += String.fromCharCode(b);
          if (line.length > maxChunkLine) [state, error] = ['error', 'chunk line too long'];
          continue;
        }
        const text = line;
        line = '';
        if (state === 'data-end') {
          if (text !== '') [state, error] = ['error', 'chunk data not followed by CRLF'];
          else state = 'size';
        } else if (state === 'size') {
          const m = /^([0-9A-Fa-f]{1,15})[ \t]*(?:;.*)?$/.exec(text);
          if (!m?.[1]) [state, error] = ['error', 'bad chunk size'];
          else {
            remaining = parseInt(m[1], 16);
            state = remaining === 0 ? 'trailer' : 'data';
          }
        } else if (state === 'trailer' && text === '') {
          state = 'done';
        }
      }
      return error !== undefined ? { data, done: false, error } : { data, done: state === 'done' };
    },
  };
}

/** A growable byte buffer: appends cost amortised O(1), so a trickle of tiny reads stays linear. */
class Bytes {
  private store = Buffer.alloc(1024);
  length = 0;
  append(b: Buffer): void {
    if (this.length + b.length > this.store.length) {
      const bigger = Buffer.alloc(Math.max(this.store.length * 2, this.length + b.length));
      this.store.copy(bigger, 0, 0, this.length);
      this.store = bigger;
    }
    b.copy(this.store, this.length);
    this.length += b.length;
  }
  view(): Buffer {
    return this.store.subarray(0, this.length);
  }
}

/** One whole (or bounded) response. */
export interface HttpResponse {
  readonly head: ResponseHead;
  /** The decoded body, at most maxBodyBytes. */
  readonly body: Buffer;
  /** Whether the body ended as its framing says (false: cut short, capped, or malformed). */
  readonly complete: boolean;
  readonly framing: BodyFraming['kind'];
  /** Why the body is incomplete, when it is. */
  readonly bodyError?: string;
}

/** A response, or why there was none. */
export type ReadOutcome =
  | { readonly kind: 'response'; readonly response: HttpResponse }
  | {
      readonly kind: 'failed';
      readonly status: Exclude<ConnectionStatus, 'success'>;
      readonly error: string;
      /** Whether the bytes began like an HTTP response ("HTTP/"). */
      readonly recognised: boolean;
      /** The head as far as it parsed (a head too large, or cut off), when its status line did. */
      readonly partial?: ResponseHead;
    };

const httpName = Buffer.from('HTTP/');

/** Whether the first bytes can still become "HTTP/" (so garbage is refused at once, not after a timeout). */
export function mayBeHttp(first: Uint8Array): boolean {
  const n = Math.min(first.length, httpName.length);
  for (let i = 0; i < n; i++) if (first[i] !== httpName[i]) return false;
  return true;
}

/** The complete lines of a head that never ended, parsed as far as they go. */
function partialHead(buf: Buffer, limits: ResponseLimits): ResponseHead | undefined {
  const cut = buf.subarray(0, Math.min(buf.length, limits.maxHeadBytes));
  const lastLf = cut.lastIndexOf(0x0a);
  return parseHead(lastLf >= 0 ? cut.subarray(0, lastLf) : cut, limits.maxHeaders);
}

function failure(status: ConnectionStatus, error: string, buf: Buffer, limits: ResponseLimits): ReadOutcome {
  const recognised = buf.length >= httpName.length && mayBeHttp(buf);
  const partial = recognised ? partialHead(buf, limits) : undefined;
  return { kind: 'failed', status: status === 'success' ? 'protocol-error' : status, error, recognised, ...(partial ? { partial } : {}) };
}

/**
 * Read one response from `conn` (the request already written). Ends on the body's own end, on
 * maxBodyBytes, or when the connection ends or times out; it never throws and never holds more
 * than maxHeadBytes + maxBodyBytes (plus one read's chunk).
 */
export async function readResponse(conn: Connection, limits: ResponseLimits = defaultResponseLimits): Promise<ReadOutcome> {
  const buf = new Bytes();
  let scanned = 0;
  let interim = 0;
  let ended: { status: ConnectionStatus; error: string } | undefined;
  let head: ResponseHead | undefined;
  let rest = Buffer.alloc(0);
  // Head: read until the blank line; drop interim 1xx responses (RFC 9112 §4, 9110 §15.2).
  for (;;) {
    const view = buf.view();
    if (!mayBeHttp(view)) return failure('protocol-error', 'not an HTTP response', view, limits);
    const end = findHeadEnd(view, scanned);
    if (end > 0 && end <= limits.maxHeadBytes) {
      const parsed = parseHead(view.subarray(0, end), limits.maxHeaders);
      if (!parsed) return failure('protocol-error', 'malformed status line', view, limits);
      if (parsed.status >= 100 && parsed.status < 200 && interim < maxInterim) {
        interim++;
        const after = Buffer.from(view.subarray(end));
        buf.length = 0;
        buf.append(after);
        scanned = 0;
        continue;
      }
      head = parsed;
      rest = Buffer.from(view.subarray(end));
      break;
    }
    if (view.length > limits.maxHeadBytes) return failure('protocol-error', `response head longer than ${limits.maxHeadBytes} bytes`, view, limits);
    if (ended) return failure(ended.status, view.length === 0 ? ended.error : `head incomplete: ${ended.error}`, view, limits);
    scanned = Math.max(0, view.length - 2);
    const r = await conn.read();
    buf.append(r.data);
    if (r.status !== 'success') ended = { status: r.status, error: r.error ?? r.status };
  }
  return { kind: 'response', response: await readBody(conn, head, rest, ended, limits) };
}

async function readBody(
  conn: Connection,
  head: ResponseHead,
  first: Buffer,
  endedEarly: { status: ConnectionStatus; error: string } | undefined,
  limits: ResponseLimits,
): Promise<HttpResponse> {
  const framing = framingOf(head);
  const body = new Bytes();
  const chunked = framing.kind === 'chunked' ? createChunkedDecoder() : undefined;
  let done = framing.kind === 'none' || (framing.kind === 'length' && framing.length === 0);
  let bodyError: string | undefined;
  let ended = endedEarly;
  const want = framing.kind === 'length' ? Math.min(framing.length, limits.maxBodyBytes) : limits.maxBodyBytes;
  // Bytes past `want` are dropped, never buffered.
  const keep = (bytes: Buffer): void => body.append(bytes.subarray(0, Math.max(0, want - body.length)));
  let pending: Buffer = first;
  while (!done) {
    if (pending.length > 0) {
      if (chunked) {
        const step = chunked.push(pending);
        for (const p of step.data) keep(p);
        if (step.error) [done, bodyError] = [true, step.error];
        else if (step.done) done = true;
      } else keep(pending);
      pending = Buffer.alloc(0);
      if (framing.kind === 'length' && body.length >= framing.length) done = true;
      if (!done && body.length >= want) [done, bodyError] = [true, `body longer than ${want} bytes: the rest was not read`];
      if (done) break;
    }
    if (ended) {
      // Read-until-close ends normally at the close (RFC 9112 §6.3 item 8).
      if (!(framing.kind === 'close' && ended.status === 'connection-closed')) bodyError = `body cut short: ${ended.error}`;
      break;
    }
    const r = await conn.read();
    pending = r.data;
    if (r.status !== 'success') ended = { status: r.status, error: r.error ?? r.status };
  }
  return { head, body: Buffer.from(body.view()), complete: bodyError === undefined, framing: framing.kind, ...(bodyError ? { bodyError } : {}) };
}
