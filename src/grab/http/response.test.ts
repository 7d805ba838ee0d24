/** The response head parser, the chunked decoder and the body framing rules, plus a seeded fuzz of all three. */
import { describe, expect, it } from 'vitest';
import { createRng } from '../../core/rng.js';
import type { Connection, ConnectionStatus, ReadResult } from '../../scope/connection.js';
import { createChunkedDecoder, findHeadEnd, framingOf, headerRecord, mayBeHttp, parseHead, readResponse, type ResponseLimits } from './response.js';

/**
 * A Connection over a fixed list of chunks, ending with `end` — not a peer stand-in for behaviour
 * (the http tests use real servers) but the way to drive readResponse through millions of
 * random splits without sockets.
 */
function scripted(chunks: readonly Buffer[], end: Exclude<ConnectionStatus, 'success'> = 'connection-closed'): Connection {
  let i = 0;
  let received = 0;
  const read = async (): Promise<ReadResult> => {
    const c = chunks[i++];
    if (c === undefined) return { status: end, data: Buffer.alloc(0), error: end };
    received += c.length;
    return { status: 'success', data: c };
  };
  return {
    ip: '127.63.0.1',
    port: 80,
    tls: undefined,
    get bytesReceived() {
      return received;
    },
    write: async () => ({ status: 'success' }),
    read,
    readUntil: read,
    readBytes: read,
    close: () => {},
  };
}

/** Split bytes at random points. */
function splits(bytes: Buffer, rng: ReturnType<typeof createRng>): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0; at < bytes.length; ) {
    const n = 1 + rng.int(Math.max(1, Math.min(64, bytes.length - at)));
    out.push(bytes.subarray(at, at + n));
    at += n;
  }
  return out;
}

const small: ResponseLimits = { maxHeadBytes: 1024, maxHeaders: 10, maxBodyBytes: 256 };

const b = (s: string) => Buffer.from(s, 'latin1');

describe('parseHead', () => {
  it('reads a status line and headers, names lower-cased, repeats joined', () => {
    const h = parseHead(b('HTTP/1.1 401 Unauthorized\r\nServer: lighttpd/1.4.59\r\nWWW-Authenticate: Basic realm="a"\r\nwww-authenticate: Digest realm="b"\r\nSet-Cookie: a=1, b\r\nSet-Cookie: c=2\r\n\r\n'), 100)!;
    expect(h).toMatchObject({ version: '1.1', status: 401, reason: 'Unauthorized', statusLine: 'HTTP/1.1 401 Unauthorized' });
    const rec = headerRecord(h);
    expect(rec['server']).toBe('lighttpd/1.4.59');
    expect(rec['www-authenticate']).toBe('Basic realm="a", Digest realm="b"');
    expect(rec['set-cookie']).toBe('a=1, b\nc=2');
  });

  it('accepts bare LF, joins obs-fold with one space, drops malformed lines, and keeps NUL out', () => {
    const h = parseHead(b('HTTP/1.0 200\nServer: Boa/0.94\n  .13\nno colon here\nBad Name: x\nX-A: a\0b\n\n'), 100)!;
    expect(h.status).toBe(200);
    expect(h.reason).toBe('');
    expect(headerRecord(h)['server']).toBe('Boa/0.94 .13');
    expect(headerRecord(h)['x-a']).toBe('a\uFFFDb');
    expect(h.dropped).toBe(2);
  });

  it('keeps at most maxHeaders and counts the rest', () => {
    const many = Array.from({ length: 500 }, (_, i) => `X-${i}: ${i}\r\n`).join('');
    const h = parseHead(b(`HTTP/1.1 200 OK\r\n${many}\r\n`), 100)!;
    expect(h.headers.length).toBe(100);
    expect(h.dropped).toBe(400);
  });

  it('refuses what is not a status line', () => {
    expect(parseHead(b('HTTP/1.1 20 OK\r\n\r\n'), 10)).toBeUndefined();
    expect(parseHead(b('<html>\r\n\r\n'), 10)).toBeUndefined();
    expect(parseHead(b(''), 10)).toBeUndefined();
  });

  it('decodes UTF-8 header values and falls back to Latin-1', () => {
    const utf8 = Buffer.concat([b('HTTP/1.1 401 x\r\nWWW-Authenticate: Basic realm="'), Buffer.from('ルーター'), b('"\r\n\r\n')]);
    expect(headerRecord(parseHead(utf8, 10)!)['www-authenticate']).toBe('Basic realm="ルーター"');
    const latin = Buffer.concat([b('HTTP/1.1 200 x\r\nServer: caf'), Buffer.from([0xe9]), b('\r\n\r\n')]);
    expect(headerRecord(parseHead(latin, 10)!)['server']).toBe('café');
  });
});

describe('findHeadEnd and mayBeHttp', () => {
  it('finds CRLF CRLF, LF LF and mixed ends', () => {
    expect(findHeadEnd(b('HTTP/1.1 200 OK\r\n\r\nbody'))).toBe(19);
    expect(findHeadEnd(b('HTTP/1.1 200 OK\n\nbody'))).toBe(17);
    expect(findHeadEnd(b('HTTP/1.1 200 OK\r\n\nbody'))).toBe(18);
    expect(findHeadEnd(b('HTTP/1.1 200 OK\r\nA: b\r\n'))).toBe(-1);
  });
  it('tells garbage from a response that has not fully arrived', () => {
    expect(mayBeHttp(b('HT'))).toBe(true);
    expect(mayBeHttp(b('HTTP/1.1'))).toBe(true);
    expect(mayBeHttp(b('SSH-2.0'))).toBe(false);
  });
});

describe('framingOf (RFC 9112 §6.3)', () => {
  const f = (s: string) => framingOf(parseHead(b(`${s}\r\n\r\n`), 100)!);
  it('orders chunked over Content-Length, refuses conflicting lengths, and knows bodiless statuses', () => {
    expect(f('HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked')).toEqual({ kind: 'chunked' });
    expect(f('HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip')).toEqual({ kind: 'close' });
    expect(f('HTTP/1.1 200 OK\r\nContent-Length: 5')).toEqual({ kind: 'length', length: 5 });
    expect(f('HTTP/1.1 200 OK\r\nContent-Length: 5, 5')).toEqual({ kind: 'length', length: 5 });
    expect(f('HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6')).toEqual({ kind: 'close' });
    expect(f('HTTP/1.1 200 OK\r\nContent-Length: -1')).toEqual({ kind: 'close' });
    expect(f('HTTP/1.1 204 No Content')).toEqual({ kind: 'none' });
    expect(f('HTTP/1.1 304 Not Modified\r\nContent-Length: 9')).toEqual({ kind: 'none' });
    expect(f('HTTP/1.0 200 OK')).toEqual({ kind: 'close' });
  });
});

describe('chunked decoder (RFC 9112 §7.1)', () => {
  const decode = (parts: readonly string[]) => {
    const d = createChunkedDecoder();
    const out: Buffer[] = [];
    let last = { done: false } as { done: boolean; error?: string };
    for (const p of parts) {
      const step = d.push(b(p));
      out.push(...step.data);
      last = step;
    }
    return { text: Buffer.concat(out).toString('latin1'), ...last };
  };
  it('decodes chunks with extensions and trailers, split at any byte', () => {
    const wire = '4;ext=1\r\nWiki\r\n5\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\nX-Trailer: 1\r\n\r\n';
    expect(decode([wire])).toMatchObject({ text: 'Wikipedia in\r\n\r\nchunks.', done: true });
    expect(decode(wire.split(''))).toMatchObject({ text: 'Wikipedia in\r\n\r\nchunks.', done: true });
  });
  it('stops on a bad size, a missing CRLF or an endless size line', () => {
    expect(decode(['zz\r\n'])).toMatchObject({ error: 'bad chunk size' });
    expect(decode(['3\r\nabcX\r\n'])).toMatchObject({ error: 'chunk data not followed by CRLF' });
    expect(decode(['1'.repeat(2000)])).toMatchObject({ error: 'chunk line too long' });
  });
});

describe('readResponse', () => {
  it('skips interim 1xx responses, reads a Content-Length body split anywhere, and ignores bytes past it', async () => {
    const wire = b('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhelloEXTRA');
    const rng = createRng('split');
    for (let round = 0; round < 50; round++) {
      const r = await readResponse(scripted(splits(wire, rng)), small);
      expect(r.kind === 'response' && [r.response.head.status, r.response.body.toString(), r.response.complete]).toEqual([200, 'hello', true]);
    }
  });

  it('reports a cut-short length body, and a close-delimited one as complete', async () => {
    const cut = await readResponse(scripted([b('HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\nabc')]), small);
    expect(cut.kind === 'response' && cut.response).toMatchObject({ complete: false, framing: 'length' });
    const close = await readResponse(scripted([b('HTTP/1.0 200 OK\r\n\r\nabc'), b('def')]), small);
    expect(close.kind === 'response' && [close.response.body.toString(), close.response.complete]).toEqual(['abcdef', true]);
    const timeout = await readResponse(scripted([b('HTTP/1.0 200 OK\r\n\r\nabc')], 'io-timeout'), small);
    expect(timeout.kind === 'response' && timeout.response.complete).toBe(false);
  });

  it('fails fast on garbage and keeps the partial head of an over-long one', async () => {
    expect(await readResponse(scripted([b('SSH-2.0-dropbear\r\n')], 'io-timeout'), small)).toMatchObject({ kind: 'failed', status: 'protocol-error', recognised: false });
    const long = await readResponse(scripted([b(`HTTP/1.1 404 Not Found\r\nServer: x\r\n${'A: b\r\n'.repeat(1000)}`)]), small);
    expect(long).toMatchObject({ kind: 'failed', status: 'protocol-error', recognised: true, partial: { status: 404 } });
    expect(await readResponse(scripted([]), small)).toMatchObject({ kind: 'failed', status: 'connection-closed', recognised: false });
  });

  it('fuzz: random responses, split at random, always end within the bounds', async () => {
    const rng = createRng('read-response-fuzz');
    const pieces = ['HTTP/1.1 200 OK\r\n', 'HTTP/1.1 101 x\r\n\r\n', 'Transfer-Encoding: chunked\r\n', 'Content-Length: 7\r\n', '\r\n', '\n', '5\r\nhello\r\n', '0\r\n\r\n', 'zz\r\n', '\0', 'x', 'Content-Length: 99999\r\n'];
    const ends = ['connection-closed', 'io-timeout', 'protocol-error'] as const;
    for (let i = 0; i < 1500; i++) {
      let s = '';
      for (let j = rng.int(30); j > 0; j--) s += rng.next() < 0.1 ? String.fromCharCode(rng.int(256)) : rng.pick(pieces);
      if (rng.next() < 0.02) s = `HTTP/1.1 200 OK\r\n\r\n${'y'.repeat(5000)}`;
      const r = await readResponse(scripted(splits(b(s), rng), rng.pick(ends)), small);
      if (r.kind === 'response') expect(r.response.body.length).toBeLessThanOrEqual(small.maxBodyBytes);
      else expect(r.status).not.toBe('success');
    }
  });
});

describe('fuzz', () => {
  it('parseHead, findHeadEnd, framingOf and the chunked decoder return on seeded random input', () => {
    const rng = createRng('http-response-fuzz');
    const alphabet = ['HTTP/1.1 ', '200', ' OK', '\r\n', '\n', '\r', ':', ' ', '\t', '\0', 'Content-Length', 'Transfer-Encoding', 'chunked', '0', 'a', 'ff', ';', '\xff', '\x80', ','];
    for (let i = 0; i < 3000; i++) {
      let s = rng.next() < 0.5 ? 'HTTP/1.1 200 OK\r\n' : '';
      const n = rng.int(80);
      for (let j = 0; j < n; j++) s += rng.next() < 0.2 ? String.fromCharCode(rng.int(256)) : rng.pick(alphabet);
      const bytes = b(s);
      const end = findHeadEnd(bytes);
      expect(end === -1 || (end > 0 && end <= bytes.length)).toBe(true);
      const head = parseHead(bytes, 20);
      if (head) {
        expect(head.headers.length).toBeLessThanOrEqual(20);
        expect(['none', 'length', 'chunked', 'close']).toContain(framingOf(head).kind);
        expect(JSON.stringify(headerRecord(head))).not.toContain('\\u0000');
      }
      const d = createChunkedDecoder();
      const step = d.push(bytes);
      expect(Array.isArray(step.data)).toBe(true);
    }
  });
});
