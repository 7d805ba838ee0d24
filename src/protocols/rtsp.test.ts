import { describe, expect, it } from 'vitest';
import { createRng } from '../core/rng.js';
import { encodeRtspMessage, nextRtspMessage, parseRtspHead, parseRtspRequest, parseRtspResponse, rtspHeader, rtspHeaders, type RtspFrame } from './rtsp.js';

const limits = { maxHeadBytes: 1024, maxBodyBytes: 4096 };
const describeReq = Buffer.from('DESCRIBE rtsp://127.0.0.1/cam RTSP/1.0\r\nCSeq: 2\r\nAccept: application/sdp\r\n\r\n');
const reply = Buffer.from('RTSP/1.0 401 Unauthorized\r\nCSeq: 2\r\nWWW-Authenticate: Digest realm="c", nonce="n"\r\nWWW-Authenticate: Basic realm="c"\r\nContent-Length: 5\r\n\r\nhello');

/** Frame every message of a stream fed in the given chunks, as a reader on a socket does. */
function frameAll(chunks: readonly Buffer[]): (RtspFrame & { kind: 'message' | 'error' })[] {
  const out: (RtspFrame & { kind: 'message' | 'error' })[] = [];
  let buffer = Buffer.alloc(0);
  for (const chunk of chunks) {
    buffer = Buffer.concat([buffer, chunk]);
    for (;;) {
      const f = nextRtspMessage(buffer, limits);
      if (f.kind === 'incomplete') break;
      out.push(f);
      if (f.kind === 'error') return out;
      buffer = buffer.subarray(f.size);
    }
  }
  return out;
}

describe('RTSP framing', () => {
  it('frames pipelined messages with and without a body, whole or byte by byte', () => {
    const stream = Buffer.concat([describeReq, reply, describeReq]);
    const whole = frameAll([stream]);
    expect(whole.map((f) => f.kind === 'message' && f.head.startLine)).toEqual([
      'DESCRIBE rtsp://127.0.0.1/cam RTSP/1.0',
      'RTSP/1.0 401 Unauthorized',
      'DESCRIBE rtsp://127.0.0.1/cam RTSP/1.0',
    ]);
    expect(whole[1]?.kind === 'message' && whole[1].body.toString()).toBe('hello');
    expect(frameAll([...stream].map((b) => Buffer.of(b)))).toEqual(whole);
    const rand = createRng('rtsp-split').next;
    for (let round = 0; round < 50; round++) {
      const chunks: Buffer[] = [];
      for (let at = 0; at < stream.length; ) {
        const size = 1 + Math.floor(rand() * 40);
        chunks.push(stream.subarray(at, at + size));
        at += size;
      }
      expect(frameAll(chunks)).toEqual(whole);
    }
  });

  it('waits for the rest of a head or body, and stops a head that never ends', () => {
    expect(nextRtspMessage(describeReq.subarray(0, 20), limits).kind).toBe('incomplete');
    expect(nextRtspMessage(reply.subarray(0, reply.length - 1), limits).kind).toBe('incomplete');
    expect(nextRtspMessage(Buffer.alloc(2000, 0x41), limits)).toEqual({ kind: 'error', reason: 'head-too-large' });
  });

  it('refuses bad, too large and conflicting Content-Length, keeping the head for the CSeq', () => {
    for (const len of ['-1', '0x10', '1e3', '99999', 'abc']) {
      const f = nextRtspMessage(Buffer.from(`OPTIONS * RTSP/1.0\r\nCSeq: 9\r\nContent-Length: ${len}\r\n\r\n`), limits);
      expect(f.kind === 'error' && f.reason, len).toBe('bad-length');
      expect(f.kind === 'error' && f.head && rtspHeader(f.head.headers, 'CSeq')).toBe('9');
    }
    const twice = nextRtspMessage(Buffer.from('OPTIONS * RTSP/1.0\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab'), limits);
    expect(twice.kind === 'error' && twice.reason).toBe('bad-length');
    expect(nextRtspMessage(Buffer.from('OPTIONS * RTSP/1.0\r\nno colon here\r\n\r\n'), limits)).toEqual({ kind: 'error', reason: 'bad-head' });
  });
});

describe('RTSP heads', () => {
  it('reads requests and responses, keeping repeated headers', () => {
    const head = parseRtspHead(reply.subarray(0, reply.indexOf('\r\n\r\n')).toString('latin1'));
    expect(head).toBeDefined();
    if (!head) return;
    const res = parseRtspResponse(head);
    expect(res).toMatchObject({ version: '1.0', status: 401, reason: 'Unauthorized' });
    expect(rtspHeaders(head.headers, 'www-authenticate')).toEqual(['Digest realm="c", nonce="n"', 'Basic realm="c"']);
    expect(parseRtspRequest(head)).toBeUndefined();
    const req = parseRtspRequest({ startLine: 'SETUP rtsp://127.0.0.1/cam/trackID=1 RTSP/2.0', headers: [] });
    expect(req).toEqual({ method: 'SETUP', uri: 'rtsp://127.0.0.1/cam/trackID=1', version: '2.0', headers: [] });
    expect(parseRtspRequest({ startLine: 'GET / HTTP/1.1', headers: [] })).toBeUndefined();
    expect(parseRtspResponse({ startLine: 'HTTP/1.1 200 OK', headers: [] })).toBeUndefined();
  });

  it('writes messages that frame back to themselves, without header injection', () => {
    const msg = encodeRtspMessage('RTSP/1.0 200 OK', [['CSeq', '3'], ['Server', 'evil\r\nX-Injected: 1']], Buffer.from('v=0\r\n'));
    const f = nextRtspMessage(msg, limits);
    expect(f.kind).toBe('message');
    if (f.kind !== 'message') return;
    expect(f.size).toBe(msg.length);
    expect(f.body.toString()).toBe('v=0\r\n');
    expect(f.head.headers).toEqual([
      { name: 'cseq', value: '3' },
      { name: 'server', value: 'evil X-Injected: 1' },
      { name: 'content-length', value: '5' },
    ]);
  });

  it('never throws on random bytes (seeded fuzz)', () => {
    const rand = createRng('rtsp-fuzz').next;
    const pieces = ['RTSP/1.0 ', 'OPTIONS ', '* ', '\r\n', '\r\n\r\n', 'Content-Length: ', '12', ':', 'CSeq', ' '];
    for (let i = 0; i < 2000; i++) {
      let text = '';
      const n = Math.floor(rand() * 20);
      for (let k = 0; k < n; k++) text += rand() < 0.7 ? (pieces[Math.floor(rand() * pieces.length)] ?? '') : String.fromCharCode(Math.floor(rand() * 256));
      const f = nextRtspMessage(Buffer.from(text, 'latin1'), limits);
      if (f.kind === 'message') {
        expect(f.size).toBeLessThanOrEqual(text.length);
        parseRtspRequest(f.head);
        parseRtspResponse(f.head);
      }
    }
  });
});
