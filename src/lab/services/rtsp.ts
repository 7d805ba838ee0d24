/**
 * RTSP/1.0 (RFC 2326) as IP cameras present it: OPTIONS is open, DESCRIBE and the session methods
 * need Digest (RFC 7616 in its RFC 2069 form, which camera clients use) or, where the profile offers
 * it, Basic. A DESCRIBE that logs in gets a small SDP (RFC 8866) for one H.264 stream; nothing is
 * ever streamed.
 */
import type { Socket } from 'node:net';
import type { ConnectionHandler, ServiceContext } from '../types.js';
import { checkLoginWith, isLockedOut } from '../context.js';
import { currentCredentials } from '../owner-actions.js';
import { parseDigestCredentials } from '../../protocols/http-auth.js';
import { encodeRtspMessage, nextRtspMessage, parseRtspRequest, rtspHeader, type RtspRequest } from '../../protocols/rtsp.js';
import { digestChallenges, verifyDigest } from './digest.js';

const maxHeaderBytes = 8192;
const maxBodyBytes = 65_536;
const maxRequestsPerConnection = 100;
const idleMs = 60_000;

const publicMethods = 'OPTIONS, DESCRIBE, SETUP, TEARDOWN, PLAY, PAUSE, GET_PARAMETER, SET_PARAMETER';

const reasons: Readonly<Record<number, string>> = {
  200: 'OK',
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Stream Not Found',
  454: 'Session Not Found',
  461: 'Unsupported Transport',
  501: 'Not Implemented',
  505: 'RTSP Version Not Supported',
};

/** Handle one RTSP connection: parse requests one after another, answer each. */
export const rtspHandler: ConnectionHandler = (socket, ctx) => {
  let buffer = Buffer.alloc(0);
  let served = 0;
  socket.setTimeout(idleMs, () => socket.destroy());
  socket.on('data', (chunk: Buffer) => {
    buffer = Buffer.concat([buffer, chunk]);
    // Each round either consumes a whole request or waits for more bytes, so it ends.
    for (;;) {
      const frame = nextRtspMessage(buffer, { maxHeadBytes: maxHeaderBytes, maxBodyBytes });
      if (frame.kind === 'incomplete') return;
      if (frame.kind === 'error') {
        reply(socket, ctx, 400, (frame.head && rtspHeader(frame.head.headers, 'cseq')) ?? '0', {}, '', true);
        return;
      }
      const request = parseRtspRequest(frame.head);
      if (!request) {
        reply(socket, ctx, 400, '0', {}, '', true);
        return;
      }
      buffer = buffer.subarray(frame.size);
      served++;
      answer(socket, ctx, request, served >= maxRequestsPerConnection);
      if (socket.destroyed || served >= maxRequestsPerConnection) return;
    }
  });
};

function reply(
  socket: Socket,
  ctx: ServiceContext,
  status: number,
  cseq: string,
  headers: Record<string, string | readonly string[]>,
  body: string,
  close: boolean,
): void {
  if (socket.destroyed) return;
  const lines: [string, string][] = [['CSeq', cseq]];
  const server = ctx.service.banner?.['server'];
  if (server) lines.push(['Server', server]);
  lines.push(['Date', new Date().toUTCString()]);
  for (const [name, value] of Object.entries(headers)) {
    for (const v of typeof value === 'string' ? [value] : value) lines.push([name, v]);
  }
  const message = encodeRtspMessage(`RTSP/1.0 ${status} ${reasons[status] ?? 'Error'}`, lines, Buffer.from(body, 'utf8'));
  if (close) socket.end(message);
  else socket.write(message);
}

function uriPath(uri: string): string {
  const m = /^rtsp:\/\/[^/]*(\/[^?]*)?/i.exec(uri);
  return m ? (m[1] ?? '/') : uri.split('?')[0] ?? uri;
}

/** Check credentials on a request; honours Basic only when the profile offers it. */
function authorised(ctx: ServiceContext, req: RtspRequest, realm: string): 'ok' | 'stale' | 'fail' {
  if (ctx.service.auth === 'none') return 'ok';
  const header = rtspHeader(req.headers, 'authorization');
  const basic = /^\s*Basic\s+([A-Za-z0-9+/=]{1,1024})\s*$/i.exec(header ?? '');
  if (basic?.[1]) {
    if (ctx.service.banner?.['basic'] !== 'true') return 'fail';
    const decoded = Buffer.from(basic[1], 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    return colon >= 0 && ctx.checkLogin(decoded.slice(0, colon), decoded.slice(colon + 1)) ? 'ok' : 'fail';
  }
  const params = parseDigestCredentials(header);
  if (!params) return 'fail';
  // Camera clients hash either the absolute request URI or just its path; both name this request.
  const uri = params['uri'] === uriPath(req.uri) ? uriPath(req.uri) : req.uri;
  const verdict = verifyDigest(
    params,
    { method: req.method, uri, realm, algorithms: ['MD5'], requireQop: false },
    (username, matches) => checkLoginWith(ctx.device, ctx.state, username, matches),
    currentCredentials(ctx.device, ctx.state),
  );
  return verdict.kind === 'ok' ? 'ok' : verdict.kind === 'stale' ? 'stale' : 'fail';
}

function sdp(ctx: ServiceContext, ip: string): string {
  const p = ctx.device.profile;
  // RFC 8866 session description: one H.264 video stream (RFC 6184 payload format).
  return [
    'v=0',
    `o=- 1 1 IN IP4 ${ip}`,
    `s=${p.vendor} ${p.model}`,
    `c=IN IP4 0.0.0.0`,
    't=0 0',
    'a=control:*',
    'm=video 0 RTP/AVP 96',
    'a=rtpmap:96 H264/90000',
    'a=fmtp:96 packetization-mode=1',
    'a=control:trackID=1',
    '',
  ].join('\r\n');
}

function answer(socket: Socket, ctx: ServiceContext, req: RtspRequest, last: boolean): void {
  const cseq = rtspHeader(req.headers, 'cseq') ?? '0';
  if (req.version !== '1.0') return reply(socket, ctx, 505, cseq, {}, '', true);
  if (req.method === 'OPTIONS') return reply(socket, ctx, 200, cseq, { Public: publicMethods }, '', last);
  const known = ['DESCRIBE', 'SETUP', 'TEARDOWN', 'PLAY', 'PAUSE', 'GET_PARAMETER', 'SET_PARAMETER'];
  if (!known.includes(req.method)) return reply(socket, ctx, 501, cseq, {}, '', last);
  const realm = ctx.service.banner?.['realm'] ?? ctx.device.profile.model;
  const verdict = authorised(ctx, req, realm);
  if (verdict !== 'ok') {
    if (isLockedOut(ctx)) return reply(socket, ctx, 403, cseq, {}, '', last);
    const challenges: string[] = digestChallenges(realm, ['MD5'], { qop: false, stale: verdict === 'stale' });
    if (ctx.service.banner?.['basic'] === 'true') challenges.push(`Basic realm="${realm}"`);
    return reply(socket, ctx, 401, cseq, { 'WWW-Authenticate': challenges }, '', last);
  }
  const stream = ctx.service.banner?.['stream'] ?? '/';
  switch (req.method) {
    case 'DESCRIBE': {
      const path = uriPath(req.uri);
      if (path !== stream && path !== `${stream}/`) return reply(socket, ctx, 404, cseq, {}, '', last);
      const base = req.uri.endsWith('/') ? req.uri : `${req.uri}/`;
      return reply(
        socket,
        ctx,
        200,
        cseq,
        { 'Content-Type': 'application/sdp', 'Content-Base': base },
        sdp(ctx, ctx.device.ip),
        last,
      );
    }
    case 'SETUP':
      // The lab never streams: refusing the transport ends the exchange politely.
      return reply(socket, ctx, 461, cseq, {}, '', last);
    case 'PLAY':
    case 'PAUSE':
      return reply(socket, ctx, 454, cseq, {}, '', last);
    default:
      return reply(socket, ctx, 200, cseq, {}, '', last);
  }
}
