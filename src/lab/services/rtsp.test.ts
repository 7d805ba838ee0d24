import { createHash } from 'node:crypto';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadProfiles } from '../profiles.js';
import { startLabInProcess, type LabHandle } from '../runtime.js';
import type { LabDevice } from '../types.js';
import { createRng } from '../../core/rng.js';

const net = '127.80';
const profiles = new Map(loadProfiles().map((p) => [p.id, p]));

function device(n: number, profileId: string, username: string, password: string): LabDevice {
  const profile = profiles.get(profileId);
  if (!profile) throw new Error(profileId);
  return { id: `t-${n}`, ip: `${net}.1.${n}`, ispId: 'test', profile, weak: true, credentials: [{ username, password }] };
}

const hik = device(10, 'hikvision-ds-2cd2032', 'admin', '12345');
const dahua = device(11, 'dahua-ipc-hfw1320s', 'admin', 'admin');

interface RtspReply {
  readonly status: number;
  readonly headers: readonly [string, string][];
  readonly body: string;
}

/** Send one RTSP request on a fresh connection and read one reply. */
function rtsp(ip: string, port: number, lines: readonly string[]): Promise<RtspReply> {
  return new Promise((resolve, reject) => {
    const s = connect(port, ip);
    let buf = '';
    s.setTimeout(5000, () => s.destroy(new Error('timeout')));
    s.on('error', reject);
    s.on('connect', () => s.write(`${lines.join('\r\n')}\r\n\r\n`));
    s.on('data', (b: Buffer) => {
      buf += b.toString('latin1');
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      const head = buf.slice(0, end).split('\r\n');
      const headers = head.slice(1).map((l): [string, string] => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]);
      const len = Number(headers.find(([k]) => k === 'content-length')?.[1] ?? 0);
      if (buf.length < end + 4 + len) return;
      s.destroy();
      resolve({ status: Number(head[0]?.split(' ')[1]), headers, body: buf.slice(end + 4, end + 4 + len) });
    });
  });
}

const header = (r: RtspReply, name: string): string[] => r.headers.filter(([k]) => k === name).map(([, v]) => v);

let lab: LabHandle;
beforeAll(async () => {
  lab = await startLabInProcess({ plan: { seed: 'rtsp', network: `${net}.0.0/16`, weakShare: 1, isps: [], ispRows: [], devices: [hik, dahua] } });
});
afterAll(async () => lab?.close());
const port = (): number => lab.portMap['554'] ?? 554;

describe('RTSP (RFC 2326)', () => {
  it('answers OPTIONS without auth and echoes CSeq', async () => {
    const r = await rtsp(dahua.ip, port(), [`OPTIONS rtsp://${dahua.ip}/cam/realmonitor RTSP/1.0`, 'CSeq: 7']);
    expect(r.status).toBe(200);
    expect(header(r, 'cseq')).toEqual(['7']);
    expect(header(r, 'public')[0]).toContain('DESCRIBE');
    expect(header(r, 'server')).toEqual(['Rtsp Server/3.0']);
  });

  it('challenges DESCRIBE and returns an SDP for a correct Digest response', async () => {
    const uri = `rtsp://${dahua.ip}:${port()}/cam/realmonitor`;
    const first = await rtsp(dahua.ip, port(), [`DESCRIBE ${uri} RTSP/1.0`, 'CSeq: 2', 'Accept: application/sdp']);
    expect(first.status).toBe(401);
    const challenges = header(first, 'www-authenticate');
    expect(challenges).toHaveLength(1);
    const realm = /realm="([^"]+)"/.exec(challenges[0] ?? '')?.[1] ?? '';
    const nonce = /nonce="([^"]+)"/.exec(challenges[0] ?? '')?.[1] ?? '';
    // The unit's own serial number fills the profile's {{serial}} (context.ts unitService).
    expect(realm).toMatch(/^Login to [0-9A-Z]{15}$/);
    const md5 = (s: string): string => createHash('md5').update(s).digest('hex');
    const auth = (pass: string): string =>
      `Authorization: Digest username="admin", realm="${realm}", nonce="${nonce}", uri="${uri}", response="${md5(`${md5(`admin:${realm}:${pass}`)}:${nonce}:${md5(`DESCRIBE:${uri}`)}`)}"`;
    expect((await rtsp(dahua.ip, port(), [`DESCRIBE ${uri} RTSP/1.0`, 'CSeq: 3', auth('wrong')])).status).toBe(401);
    const ok = await rtsp(dahua.ip, port(), [`DESCRIBE ${uri} RTSP/1.0`, 'CSeq: 4', auth('admin')]);
    expect(ok.status).toBe(200);
    expect(header(ok, 'content-type')).toEqual(['application/sdp']);
    expect(ok.body).toMatch(/^v=0\r\n/);
    expect(ok.body).toContain('m=video 0 RTP/AVP 96');
    // Basic is not offered by this camera, so it is not accepted either.
    const basic = `Authorization: Basic ${Buffer.from('admin:admin').toString('base64')}`;
    expect((await rtsp(dahua.ip, port(), [`DESCRIBE ${uri} RTSP/1.0`, 'CSeq: 5', basic])).status).toBe(401);
  });

  it('offers and accepts Basic where the profile says so', async () => {
    const uri = `rtsp://${hik.ip}/Streaming/Channels/101`;
    const first = await rtsp(hik.ip, port(), [`DESCRIBE ${uri} RTSP/1.0`, 'CSeq: 1']);
    expect(header(first, 'www-authenticate').map((c) => c.split(' ')[0])).toEqual(['Digest', 'Basic']);
    const basic = (p: string): string => `Authorization: Basic ${Buffer.from(`admin:${p}`).toString('base64')}`;
    expect((await rtsp(hik.ip, port(), [`DESCRIBE ${uri} RTSP/1.0`, 'CSeq: 2', basic('nope')])).status).toBe(401);
    expect((await rtsp(hik.ip, port(), [`DESCRIBE ${uri} RTSP/1.0`, 'CSeq: 3', basic('12345')])).status).toBe(200);
  });

  it('answers garbage with 400 and closes', async () => {
    const r = await rtsp(hik.ip, port(), ['HELLO THERE']);
    expect(r.status).toBe(400);
  });

  it('survives seeded random bytes and still answers afterwards', async () => {
    const rng = createRng('rtsp-fuzz');
    for (let i = 0; i < 40; i++) {
      const junk = Buffer.alloc(1 + rng.int(3000));
      for (let k = 0; k < junk.length; k++) junk[k] = rng.int(256);
      if (i % 3 === 0) junk.write('DESCRIBE rtsp://x/ RTSP/1.0\r\nContent-Length: 99999999\r\n\r\n', 0, 'latin1');
      await new Promise<void>((resolve) => {
        const s = connect(port(), hik.ip);
        s.on('error', () => resolve());
        s.on('close', () => resolve());
        s.on('connect', () => {
          s.write(junk);
          setTimeout(() => s.destroy(), 20);
        });
      });
    }
    const r = await rtsp(hik.ip, port(), [`OPTIONS rtsp://${hik.ip}/ RTSP/1.0`, 'CSeq: 9']);
    expect(r.status).toBe(200);
  });
});
