/**
 * RTSP/1.0 message codec (RFC 2326) shared by the lab's camera server and the survey's clients:
 * framing a byte stream into messages (head up to CRLF CRLF, then Content-Length bytes of body),
 * parsing request and status lines and headers, and writing messages. Limits on head and body size
 * are the caller's, so a peer that never ends its head cannot grow memory.
 */

/** One header line; names are lower-cased (header names are case-insensitive). */
export interface RtspHeader {
  readonly name: string;
  readonly value: string;
}

/** The head of a message: its first line and its headers in order. */
export interface RtspHead {
  readonly startLine: string;
  readonly headers: readonly RtspHeader[];
}

/** A request (client → server). */
export interface RtspRequest {
  readonly method: string;
  readonly uri: string;
  /** "1.0" for RTSP/1.0; other versions are parsed so a server can answer 505. */
  readonly version: string;
  readonly headers: readonly RtspHeader[];
}

/** A response (server → client). */
export interface RtspResponse {
  readonly version: string;
  readonly status: number;
  readonly reason: string;
  readonly headers: readonly RtspHeader[];
}

/** Size limits of {@link nextRtspMessage}. */
export interface RtspLimits {
  readonly maxHeadBytes: number;
  readonly maxBodyBytes: number;
}

/** What {@link nextRtspMessage} found at the start of a buffer. */
export type RtspFrame =
  | { readonly kind: 'incomplete' }
  | { readonly kind: 'message'; readonly head: RtspHead; readonly body: Buffer; readonly size: number }
  /** The stream cannot be read on; `head` is there when the head itself parsed. */
  | { readonly kind: 'error'; readonly reason: 'head-too-large' | 'bad-head' | 'bad-length'; readonly head?: RtspHead };

const headEnd = Buffer.from('\r\n\r\n');

/** The first header of that name, or undefined. */
export function rtspHeader(headers: readonly RtspHeader[], name: string): string | undefined {
  const lower = name.toLowerCase();
  return headers.find((h) => h.name === lower)?.value;
}

/** Every header of that name, in order (WWW-Authenticate may come once per scheme). */
export function rtspHeaders(headers: readonly RtspHeader[], name: string): string[] {
  const lower = name.toLowerCase();
  return headers.filter((h) => h.name === lower).map((h) => h.value);
}

/** Split a head (without its final CRLF CRLF) into start line and headers; undefined if malformed. */
export function parseRtspHead(text: string): RtspHead | undefined {
  const lines = text.split('\r\n');
  const startLine = lines[0] ?? '';
  if (startLine === '') return undefined;
  const headers: RtspHeader[] = [];
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon <= 0) return undefined;
    headers.push({ name: line.slice(0, colon).trim().toLowerCase(), value: line.slice(colon + 1).trim() });
  }
  return { startLine, headers };
}

/**
 * Frame the next message at the start of `buffer`. A message is complete once its head and its
 * Content-Length bytes of body have arrived; the caller drops `size` bytes and calls again.
 */
export function nextRtspMessage(buffer: Buffer, limits: RtspLimits): RtspFrame {
  const end = buffer.indexOf(headEnd);
  if (end < 0) return buffer.length > limits.maxHeadBytes ? { kind: 'error', reason: 'head-too-large' } : { kind: 'incomplete' };
  if (end > limits.maxHeadBytes) return { kind: 'error', reason: 'head-too-large' };
  const head = parseRtspHead(buffer.subarray(0, end).toString('latin1'));
  if (!head) return { kind: 'error', reason: 'bad-head' };
  const lengths = new Set(rtspHeaders(head.headers, 'content-length'));
  const [text = '0'] = lengths;
  // Two different lengths would let two readers disagree on where the next message starts.
  if (lengths.size > 1 || !/^\d{1,9}$/.test(text) || Number(text) > limits.maxBodyBytes) return { kind: 'error', reason: 'bad-length', head };
  const size = end + headEnd.length + Number(text);
  if (buffer.length < size) return { kind: 'incomplete' };
  return { kind: 'message', head, body: buffer.subarray(end + headEnd.length, size), size };
}

/** Read a head as a request: "METHOD uri RTSP/x.y". */
export function parseRtspRequest(head: RtspHead): RtspRequest | undefined {
  const m = /^([A-Z_]{1,32}) (\S{1,2048}) RTSP\/(\d\.\d)$/.exec(head.startLine);
  if (!m?.[1] || !m[2] || !m[3]) return undefined;
  return { method: m[1], uri: m[2], version: m[3], headers: head.headers };
}

/** Read a head as a response: "RTSP/x.y status reason". */
export function parseRtspResponse(head: RtspHead): RtspResponse | undefined {
  const m = /^RTSP\/(\d\.\d) (\d{3})(?: (.*))?$/.exec(head.startLine);
  if (!m?.[1] || !m[2]) return undefined;
  return { version: m[1], status: Number(m[2]), reason: m[3] ?? '', headers: head.headers };
}

/** Line breaks inside a header would start a new header (injection): they become spaces. */
const oneLine = (text: string): string => text.replace(/[\r\n]+/g, ' ');

/** Write one message; Content-Length is added when there is a body. */
export function encodeRtspMessage(startLine: string, headers: readonly (readonly [string, string])[], body: Uint8Array = new Uint8Array()): Buffer {
  const lines = [oneLine(startLine)];
  for (const [name, value] of headers) lines.push(`${oneLine(name)}: ${oneLine(value)}`);
  if (body.length > 0) lines.push(`Content-Length: ${body.length}`);
  return Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'), body]);
}
