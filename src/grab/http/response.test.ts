/** The response head parser, the chunked decoder and the body framing rules, plus a seeded fuzz of all three. */
import { describe, expect, it } from 'vitest';
import { createRng } from '../../core/rng.js';
import { createChunkedDecoder, findHeadEnd, framingOf, headerRecord, mayBeHttp, parseHead } from './response.js';

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
