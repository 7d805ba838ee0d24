/**
 * rtsp grab module (default ports 554, 8554). Sends OPTIONS (CSeq 1) and records the status, the
 * Server header and the Public methods (RFC 2326 §10.1), then DESCRIBE of rtsp://ip:port/ with
 * Accept: application/sdp (§10.2) and records its status and, on 401 (of DESCRIBE, else of
 * OPTIONS), the WWW-Authenticate realm and schemes (cameras answer 401 Digest or Basic). DESCRIBE reuses the connection (RTSP keeps it
 * open) and takes a new one only when the server closed it. Framing is src/protocols/rtsp.ts.
 */
import { parseAuthHeader } from '../../protocols/http-auth.js';
import { nextRtspMessage, parseRtspResponse, rtspHeader, rtspHeaders, type RtspLimits, type RtspResponse } from '../../protocols/rtsp.js';
import type { Connection, ConnectionStatus } from '../../scope/connection.js';
import type { RtspFields } from '../fields.js';
import type { GrabContext, GrabModule, GrabTarget, ModuleOutcome } from '../module.js';
import { cleanText } from '../http/response.js';
import { userAgent } from '../http/client.js';

const limits: RtspLimits = { maxHeadBytes: 16 * 1024, maxBodyBytes: 16 * 1024 };
const prefix = Buffer.from('RTSP/');

/** An RTSP response, or why there was none. */
export type RtspRead =
  | { readonly kind: 'response'; readonly response: RtspResponse }
  | { readonly kind: 'failed'; readonly status: Exclude<ConnectionStatus, 'success'>; readonly error: string; readonly recognised: boolean; readonly bytes: number };

/** Whether the bytes can still become "RTSP/". */
function mayBeRtsp(b: Buffer): boolean {
  for (let i = 0; i < Math.min(b.length, prefix.length); i++) if (b[i] !== prefix[i]) return false;
  return true;
}

/**
 * Frame one response out of `buffered` bytes: a response (a too-long body is tolerated: the head
 * is what a survey needs), 'more' to read on, or a failure. Pure, so it is fuzzed directly.
 */
export function frameRtspResponse(buffered: Buffer): RtspRead | 'more' {
  if (!mayBeRtsp(buffered)) return { kind: 'failed', status: 'protocol-error', error: 'not an RTSP response', recognised: false, bytes: buffered.length };
  const frame = nextRtspMessage(buffered, limits);
  if (frame.kind === 'incomplete') return 'more';
  const head = frame.head;
  const response = head ? parseRtspResponse(head) : undefined;
  if (response) return { kind: 'response', response };
  return { kind: 'failed', status: 'protocol-error', error: frame.kind === 'error' ? `RTSP ${frame.reason}` : 'malformed status line', recognised: buffered.length >= prefix.length, bytes: buffered.length };
}

/** Read one response from the connection; never throws, bounded by the framing limits. */
export async function readRtspResponse(conn: Connection): Promise<RtspRead> {
  let buffered = Buffer.alloc(0);
  for (;;) {
    const r = await conn.read();
    // Heads are small (≤ 16 KiB + body), so concatenation stays cheap.
    buffered = Buffer.concat([buffered, r.data]);
    const framed = buffered.length > 0 ? frameRtspResponse(buffered) : 'more';
    if (framed !== 'more') return framed;
    if (r.status !== 'success') {
      return { kind: 'failed', status: r.status, error: r.error ?? r.status, recognised: buffered.length >= prefix.length && mayBeRtsp(buffered), bytes: buffered.length };
    }
  }
}

/** An RTSP request; the URI is built from a checked dotted quad and a port number only. */
export function rtspRequest(method: 'OPTIONS' | 'DESCRIBE', target: GrabTarget, cseq: number): string {
  const extra = method === 'DESCRIBE' ? 'Accept: application/sdp\r\n' : '';
  return `${method} rtsp://${target.ip}:${target.port}/ RTSP/1.0\r\nCSeq: ${cseq}\r\nUser-Agent: ${userAgent}\r\n${extra}\r\n`;
}

const text = (s: string | undefined, max = 512): string | null => (s === undefined ? null : cleanText(s).slice(0, max));

/** The fields of an OPTIONS response and, when there was one, a DESCRIBE response. */
export function rtspFieldsOf(options: RtspResponse, describe: RtspResponse | undefined): RtspFields {
  const methods = (rtspHeader(options.headers, 'public') ?? '')
    .split(',')
    .map((m) => cleanText(m.trim()).slice(0, 32))
    .filter((m) => m !== '')
    .slice(0, 32);
  let realm: string | null = null;
  const schemes: string[] = [];
  // DESCRIBE's challenge, else OPTIONS' when a server guards every method.
  const challenged = describe?.status === 401 ? describe : options.status === 401 ? options : undefined;
  if (challenged) {
    for (const value of rtspHeaders(challenged.headers, 'www-authenticate').slice(0, 8)) {
      for (const e of parseAuthHeader(value) ?? []) {
        if (!schemes.includes(e.scheme) && schemes.length < 8) schemes.push(cleanText(e.scheme).slice(0, 32));
        if (realm === null && e.params['realm'] !== undefined) realm = text(e.params['realm'], 256);
      }
    }
  }
  return {
    status: options.status,
    server: text(rtspHeader(options.headers, 'server') ?? (describe ? rtspHeader(describe.headers, 'server') : undefined)),
    methods,
    describeStatus: describe?.status ?? null,
    realm,
    authSchemes: schemes,
  };
}

async function exchange(conn: Connection, request: string): Promise<RtspRead> {
  const w = await conn.write(request);
  if (w.status !== 'success') return { kind: 'failed', status: w.status, error: w.error ?? 'write failed', recognised: false, bytes: 0 };
  return readRtspResponse(conn);
}

async function grabRtsp(conn: Connection, ctx: GrabContext): Promise<ModuleOutcome> {
  const options = await exchange(conn, rtspRequest('OPTIONS', ctx.target, 1));
  if (options.kind === 'failed') {
    conn.close();
    return { status: options.status, recognised: options.recognised, fields: {}, error: options.error };
  }
  let describe = await exchange(conn, rtspRequest('DESCRIBE', ctx.target, 2));
  conn.close();
  let error: string | undefined;
  if (describe.kind === 'failed' && describe.bytes === 0 && (describe.status === 'connection-closed' || describe.status === 'io-timeout')) {
    // Some servers close after each answer: DESCRIBE once more on a fresh connection.
    const again = await ctx.reconnect({ tls: false });
    if (again.status === 'success') {
      describe = await exchange(again.connection, rtspRequest('DESCRIBE', ctx.target, 1));
      again.connection.close();
    }
  }
  if (describe.kind === 'failed') error = `DESCRIBE: ${describe.error}`;
  const fields = rtspFieldsOf(options.response, describe.kind === 'response' ? describe.response : undefined);
  return { status: 'success', recognised: true, fields: { ...fields }, ...(error ? { error } : {}) };
}

/** RTSP (cameras, DVRs, NVRs). */
export const rtspModule: GrabModule = {
  name: 'rtsp',
  description: 'OPTIONS then DESCRIBE rtsp://ip:port/: status, Server, Public methods, DESCRIBE status, 401 realm and auth schemes',
  defaultPorts: [554, 8554],
  tls: false,
  recognise: (firstBytes) => firstBytes.subarray(0, prefix.length).equals(prefix),
  grab: grabRtsp,
};
