/**
 * The issue-6 devices served by a real in-process lab: every new protocol answers on its port
 * (or on the unexpected port the profile puts it), and the ground truth says what each is.
 */
import * as net from 'node:net';
import { request as httpsRequest } from 'node:https';
import type { TLSSocket } from 'node:tls';
import mqtt from 'mqtt-packet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { groundTruth } from './ground-truth.js';
import { loadProfiles } from './profiles.js';
import { startLabInProcess, type LabHandle } from './runtime.js';
import type { LabDevice } from './types.js';

const prefix = '127.66';
const profiles = new Map(loadProfiles().map((p) => [p.id, p]));

function device(n: number, profileId: string): LabDevice {
  const profile = profiles.get(profileId);
  if (!profile) throw new Error(profileId);
  return { id: `n-${n}`, ip: `${prefix}.3.${n}`, ispId: 'test', profile, weak: true, credentials: [{ username: 'admin', password: 'admin' }] };
}

const ids = [
  'iodata-landisk-hdl2-a',
  'mosquitto-open-broker',
  'mqtt-broker-auth',
  'synology-ds216j',
  'tplink-tl-wr841n-http-on-23',
  'zte-zxhn-f660-odd-ports',
  'unknown-device',
  'lighttpd-box',
  'script-title-camera',
  'trickle-banner',
  'huge-banner',
  'nul-banner',
];
const devices = ids.map((id, i) => device(10 + i, id));
const byProfile = (id: string): LabDevice => devices.find((d) => d.profile.id === id) as LabDevice;

let lab: LabHandle;
beforeAll(async () => {
  lab = await startLabInProcess({ plan: { seed: 'new', network: `${prefix}.0.0/16`, weakShare: 1, isps: [], ispRows: [], devices } });
}, 60_000);
afterAll(async () => lab?.close());
const port = (p: number): number => lab.portMap[String(p)] ?? p;

/** Connect, optionally write, and collect what arrives for `ms` or until the peer closes. */
function exchange(ip: string, p: number, send?: Buffer | string, until?: (got: Buffer) => boolean): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const s = net.connect(p, ip);
    const done = (): void => {
      s.destroy();
      resolve(Buffer.concat(chunks));
    };
    s.setTimeout(5000, done);
    s.on('error', reject);
    s.on('connect', () => send !== undefined && s.write(send));
    s.on('data', (b: Buffer) => {
      chunks.push(b);
      if (until?.(Buffer.concat(chunks))) done();
    });
    s.on('close', done);
  });
}

describe('issue-6 devices in a running lab', () => {
  it('LANDISK: FTP greeting on 21 and a Shift_JIS settings page on 80', async () => {
    const d = byProfile('iodata-landisk-hdl2-a');
    const ftp = await exchange(d.ip, port(21), undefined, (b) => b.includes('\r\n'));
    expect(ftp.toString()).toBe('220 LANDISK FTP server ready.\r\n');
    const page = await exchange(d.ip, port(80), `GET /login.html HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    expect(page.toString('latin1')).toContain('charset=Shift_JIS');
    expect(new TextDecoder('shift_jis').decode(page)).toContain('<title>LAN DISK 設定画面 HDL2-A</title>');
  });

  it('MQTT: the open broker gives its version, the other refuses an anonymous CONNECT', async () => {
    const connect = mqtt.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, clientId: 'survey', keepalive: 10 } as mqtt.Packet);
    const subscribe = mqtt.generate({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: '$SYS/broker/version', qos: 0 }] } as mqtt.Packet);
    const parse = (b: Buffer): mqtt.Packet[] => {
      const out: mqtt.Packet[] = [];
      const parser = mqtt.parser({ protocolVersion: 4 });
      parser.on('packet', (p: mqtt.Packet) => out.push(p));
      parser.parse(b);
      return out;
    };
    const open = parse(await exchange(byProfile('mosquitto-open-broker').ip, port(1883), Buffer.concat([connect, subscribe]), (b) => parse(b).some((p) => p.cmd === 'publish')));
    expect(open.find((p) => p.cmd === 'connack')).toMatchObject({ returnCode: 0 });
    const pub = open.find((p) => p.cmd === 'publish') as mqtt.IPublishPacket;
    expect(Buffer.from(pub.payload).toString()).toBe('mosquitto version 1.4.15');
    const closed = parse(await exchange(byProfile('mqtt-broker-auth').ip, port(1883), connect));
    expect(closed.map((p) => p.cmd)).toEqual(['connack']);
    expect(closed[0]).toMatchObject({ returnCode: 5 });
  });

  it('HTTPS: Synology DSM on 5001 with the vendor-named default certificate, the same on every device of the model', async () => {
    const d = byProfile('synology-ds216j');
    const cert = await new Promise<Record<string, unknown>>((resolve, reject) => {
      const req = httpsRequest({ host: d.ip, port: port(5001), path: '/login.html', agent: false, rejectUnauthorized: false }, (res) => {
        const peer = (res.socket as TLSSocket).getPeerCertificate();
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode, subject: peer.subject, issuer: peer.issuer }));
      });
      req.on('error', reject);
      req.end();
    });
    expect(cert).toMatchObject({ status: 200, subject: { CN: 'synology', O: 'Synology Inc.' }, issuer: { CN: 'Synology Inc. CA' } });
  });

  it('protocols on unexpected ports: HTTP on 23, telnet on 8080, SSH on 2323', async () => {
    const tp = await exchange(byProfile('tplink-tl-wr841n-http-on-23').ip, port(23), 'GET / HTTP/1.0\r\n\r\n');
    expect(tp.toString()).toMatch(/^HTTP\/1\.1 401 /);
    expect(tp.toString()).toContain('WWW-Authenticate: Basic realm="TP-LINK Wireless N Router WR841N"');
    const zte = byProfile('zte-zxhn-f660-odd-ports');
    const telnet = await exchange(zte.ip, port(8080), undefined, (b) => b.includes('Login: '));
    expect(telnet[0]).toBe(255); // IAC: option negotiation first (RFC 854)
    expect(telnet.toString('latin1')).toContain('F660');
    const ssh = await exchange(zte.ip, port(2323), undefined, (b) => b.includes('\n'));
    expect(ssh.toString().split('\r\n')[0]).toBe('SSH-2.0-dropbear_2012.55');
  });

  it('ambiguous, unknown and hostile-title web pages', async () => {
    const get = 'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n';
    const unknown = (await exchange(byProfile('unknown-device').ip, port(8000), get)).toString();
    expect(unknown).not.toMatch(/^Server:/im);
    expect(unknown).toContain('<title></title>');
    expect(unknown).not.toContain('(unknown)');
    const box = (await exchange(byProfile('lighttpd-box').ip, port(80), get)).toString();
    expect(box).toMatch(/^Server: lighttpd\/1\.4\.45\r$/m);
    expect(box).toContain('<title></title>');
    const hostile = (await exchange(byProfile('script-title-camera').ip, port(80), get)).toString();
    expect(hostile).toContain('<title><script>alert(1)</script><b>IP Camera</b>');
  });

  it('hostile banners: a trickle, a 100 MB banner a client may leave early, NUL bytes', async () => {
    const trickle = await exchange(byProfile('trickle-banner').ip, port(2323), undefined, (b) => b.length >= 6);
    expect(trickle.toString()).toBe('.\r\n.\r\n');
    // Read the first MiB of the huge banner and leave: the device stops when the client goes.
    const huge = await exchange(byProfile('huge-banner').ip, port(23), undefined, (b) => b.length >= 1024 * 1024);
    expect(huge.length).toBeGreaterThanOrEqual(1024 * 1024);
    expect(huge.subarray(0, 8).toString()).toBe('Booting ');
    const nul = await exchange(byProfile('nul-banner').ip, port(23), undefined, (b) => b.includes('login'));
    const text = nul.subarray(nul.indexOf(0x0d) - 2);
    expect([...text.subarray(0, 5)]).toEqual([0, 0, 0x0d, 0, 0]);
  });

  it('writes identity and service software into the ground truth', () => {
    const truth = groundTruth(lab.plan, lab.portMap);
    const of = (id: string) => truth.devices.find((d) => d.profile === id);
    expect(of('iodata-landisk-hdl2-a')?.identity).toBe('known');
    expect(of('lighttpd-box')?.identity).toBe('ambiguous');
    expect(of('unknown-device')?.identity).toBe('unknown');
    expect(of('zte-zxhn-f660-odd-ports')?.services.find((s) => s.port === 2323)?.software).toEqual({ product: 'Dropbear SSH', version: '2012.55' });
    expect(of('mosquitto-open-broker')?.services[0]?.software).toMatchObject({ product: 'mosquitto', version: '1.4.15' });
    expect(of('tplink-tl-wr841n-http-on-23')?.services[0]).toMatchObject({ port: 23, protocol: 'http', software: null });
  });
});
