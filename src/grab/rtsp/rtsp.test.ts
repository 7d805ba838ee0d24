/**
 * The rtsp module against loopback RTSP servers written here with node:net: a camera that answers
 * OPTIONS and challenges DESCRIBE with Digest and Basic, one that closes after every answer, and
 * hostile ones (garbage, silence, an endless head); plus a seeded fuzz of the response framing.
 */
import * as net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createRng } from '../../core/rng.js';
import { openConnection, type ConnectionLimits } from '../../scope/connection.js';
import { compileScope, defaultScope } from '../../scope/scope.js';
import type { RtspFields } from '../fields.js';
import type { GrabContext, ModuleOutcome } from '../module.js';
import { frameRtspResponse, rtspModule } from './index.js';
import { userAgent } from '../http/client.js';
import { rtspFieldsSchema } from './schema.js';

const scope = compileScope(defaultScope());
const host = '127.64.23.1';
const limits: ConnectionLimits = { connectTimeoutMs: 3000, firstByteTimeoutMs: 1500, idleTimeoutMs: 1500, deadlineMs: 6000, maxBytes: 256 * 1024 };
const servers: net.Server[] = [];
const sockets = new Set<net.Socket>();

afterEach(async () => {
  for (const s of sockets) s.destroy();
  await Promise.all(servers.splice(0).map((s) => new Promise<void>((r) => s.close(() => r()))));
});

/** A server that answers each request (split at the blank line) with `answer(request)`; null closes. */
async function rtspServer(answer: (request: string, s: net.Socket) => string | null): Promise<{ port: number; requests: string[] }> {
  const requests: string[] = [];
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on('error', () => {});
    s.on('close', () => sockets.delete(s));
    let buf = '';
    s.on('data', (d: Buffer) => {
      buf += d.toString('latin1');
      for (let end = buf.indexOf('\r\n\r\n'); end >= 0; end = buf.indexOf('\r\n\r\n')) {
        const req = buf.slice(0, end);
        buf = buf.slice(end + 4);
        requests.push(req);
        const reply = answer(req, s);
        if (reply === null) return void s.end();
        s.write(reply);
      }
    });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, host, r));
  return { port: (server.address() as net.AddressInfo).port, requests };
}

async function grab(port: number): Promise<ModuleOutcome> {
  const ctx: GrabContext = { target: { ip: host, port }, limits, reconnect: () => openConnection(scope, host, port, limits) };
  const opened = await openConnection(scope, host, port, limits);
  if (opened.status !== 'success') throw new Error(opened.error);
  const outcome = await rtspModule.grab(opened.connection, ctx);
  if (outcome.status === 'success') rtspFieldsSchema.parse(outcome.fields);
  return outcome;
}

const cseq = (req: string) => /CSeq: (\d+)/.exec(req)?.[1] ?? '0';

function camera(req: string): string {
  if (req.startsWith('OPTIONS')) return `RTSP/1.0 200 OK\r\nCSeq: ${cseq(req)}\r\nServer: Hikvision-Webs\r\nPublic: OPTIONS, DESCRIBE, SETUP, TEARDOWN, PLAY\r\n\r\n`;
  return `RTSP/1.0 401 Unauthorized\r\nCSeq: ${cseq(req)}\r\nWWW-Authenticate: Digest realm="IP Camera(C1234)", nonce="abc", stale="FALSE"\r\nWWW-Authenticate: Basic realm="IP Camera(C1234)"\r\n\r\n`;
}

describe('rtsp module', () => {
  it('records OPTIONS status, Server and Public, and the DESCRIBE 401 realm and schemes', async () => {
    const { port, requests } = await rtspServer(camera);
    const o = await grab(port);
    expect(o).toMatchObject({ status: 'success', recognised: true });
    expect(o.fields as unknown as RtspFields).toEqual({
      status: 200,
      server: 'Hikvision-Webs',
      methods: ['OPTIONS', 'DESCRIBE', 'SETUP', 'TEARDOWN', 'PLAY'],
      describeStatus: 401,
      realm: 'IP Camera(C1234)',
      authSchemes: ['digest', 'basic'],
    });
    expect(requests[0]).toBe(`OPTIONS rtsp://${host}:${port}/ RTSP/1.0\r\nCSeq: 1\r\nUser-Agent: ${userAgent}`);
    // The User-Agent names the survey and the public page about it.
    expect(userAgent).toMatch(/^Mozilla\/5\.0 \(compatible; iotclean survey; \+https?:\/\/\S+\/about-survey\)$/);
    expect(requests[1]).toMatch(new RegExp(`^DESCRIBE rtsp://${host.replace(/\./g, '\\.')}:${port}/ RTSP/1\\.0\\r\\nCSeq: 2\\r\\n.*Accept: application/sdp`, 's'));
  });

  it('reconnects for DESCRIBE when the server closes after OPTIONS, and records an open DESCRIBE', async () => {
    let answered = 0;
    const { port } = await rtspServer((req, s) => {
      answered++;
      if (req.startsWith('OPTIONS')) {
        s.end(`RTSP/1.0 200 OK\r\nCSeq: 1\r\nPublic: OPTIONS, DESCRIBE\r\n\r\n`);
        return '';
      }
      const sdp = 'v=0\r\ns=cam\r\n';
      return `RTSP/1.0 200 OK\r\nCSeq: ${cseq(req)}\r\nServer: GStreamer RTSP server\r\nContent-Type: application/sdp\r\nContent-Length: ${sdp.length}\r\n\r\n${sdp}`;
    });
    const f = (await grab(port)).fields as unknown as RtspFields;
    expect(f).toMatchObject({ status: 200, describeStatus: 200, server: 'GStreamer RTSP server', realm: null, authSchemes: [] });
    expect(answered).toBe(2);
  });

  it('takes the challenge of OPTIONS when the server guards every method', async () => {
    const { port } = await rtspServer((req) => `RTSP/1.0 401 Unauthorized\r\nCSeq: ${cseq(req)}\r\nWWW-Authenticate: Basic realm="${req.startsWith('OPTIONS') ? 'all' : 'describe'}"\r\n\r\n`);
    expect((await grab(port)).fields).toMatchObject({ status: 401, describeStatus: 401, realm: 'describe', authSchemes: ['basic'] });
    const optionsOnly = await rtspServer((req) => (req.startsWith('OPTIONS') ? `RTSP/1.0 401 Unauthorized\r\nCSeq: 1\r\nWWW-Authenticate: Digest realm="all", nonce="n"\r\n\r\n` : null));
    expect((await grab(optionsOnly.port)).fields).toMatchObject({ status: 401, describeStatus: null, realm: 'all', authSchemes: ['digest'] });
  });

  it('garbage is protocol-error and not recognised; silence is io-timeout', async () => {
    const junk = await rtspServer(() => '\x00\x01\x02garbage\r\n\r\n');
    expect(await grab(junk.port)).toMatchObject({ status: 'protocol-error', recognised: false });
    const silent = await rtspServer(() => '');
    expect(await grab(silent.port)).toMatchObject({ status: 'io-timeout', recognised: false });
  });

  it('an endless head ends at the framing bound with protocol-error, recognised', async () => {
    const { port } = await rtspServer(() => `RTSP/1.0 200 OK\r\n${'X-Pad: y\r\n'.repeat(5000)}`);
    expect(await grab(port)).toMatchObject({ status: 'protocol-error', recognised: true });
  });

  it('recognises RTSP/ only', () => {
    expect(rtspModule.recognise?.(Buffer.from('RTSP/1.0 200 OK'))).toBe(true);
    expect(rtspModule.recognise?.(Buffer.from('HTTP/1.1 200 OK'))).toBe(false);
  });

  it('fuzz: framing seeded random responses always returns', () => {
    const rng = createRng('rtsp-grab-fuzz');
    const parts = ['RTSP/1.0 ', '200', ' OK', '\r\n', 'CSeq: 1', 'Content-Length: ', '5', '99999999', 'WWW-Authenticate: Digest realm="x"', ':', '\0', 'Public: OPTIONS'];
    for (let i = 0; i < 3000; i++) {
      let s = rng.next() < 0.7 ? 'RTSP/1.0 200 OK\r\n' : '';
      for (let j = rng.int(40); j > 0; j--) s += rng.next() < 0.2 ? String.fromCharCode(rng.int(256)) : rng.pick(parts);
      const r = frameRtspResponse(Buffer.from(s, 'latin1'));
      expect(r === 'more' || r.kind === 'response' || r.kind === 'failed').toBe(true);
    }
  });
});
