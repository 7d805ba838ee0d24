import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadProfiles } from '../profiles.js';
import { startLabInProcess, type LabHandle } from '../runtime.js';
import type { DeviceProfile, LabDevice } from '../types.js';

const net = '127.81';
const profiles = new Map(loadProfiles().map((p) => [p.id, p]));

function profile(id: string): DeviceProfile {
  const p = profiles.get(id);
  if (!p) throw new Error(id);
  return p;
}

function device(n: number, p: DeviceProfile): LabDevice {
  return { id: `t-${n}`, ip: `${net}.2.${n}`, ispId: 'test', profile: p, weak: false, credentials: [{ username: 'admin', password: 'Unguessable-1' }] };
}

const endless = profile('endless-banner');
/** The same device with a small cap, so a test can watch it stop. */
const smallEndless: DeviceProfile = {
  ...endless,
  id: 'endless-small',
  services: endless.services.map((s) => ({ ...s, banner: { ...s.banner, chunkBytes: '1000', intervalMs: '5', capBytes: '50000' } })),
};

const tarpit = device(10, profile('tarpit'));
const garbage = device(11, profile('garbage-sender'));
const endlessBig = device(12, endless);
const endlessSmall = device(13, smallEndless);
const honeypot = device(14, profile('honeypot-cowrie'));

let lab: LabHandle;
beforeAll(async () => {
  lab = await startLabInProcess({
    plan: { seed: 'awkward', network: `${net}.0.0/16`, weakShare: 0, isps: [], ispRows: [], devices: [tarpit, garbage, endlessBig, endlessSmall, honeypot] },
  });
});
afterAll(async () => lab?.close());
const port = (p: number): number => lab.portMap[String(p)] ?? p;

interface Capture {
  readonly socket: Socket;
  bytes: Buffer;
  closed: boolean;
  readonly done: Promise<void>;
}

function open(ip: string, p: number): Promise<Capture> {
  return new Promise((resolve, reject) => {
    const socket = connect(p, ip);
    let finish: () => void = () => undefined;
    const cap: Capture = { socket, bytes: Buffer.alloc(0), closed: false, done: new Promise((r) => (finish = r)) };
    socket.on('data', (b: Buffer) => (cap.bytes = Buffer.concat([cap.bytes, b])));
    socket.on('close', () => {
      cap.closed = true;
      finish();
    });
    socket.once('connect', () => resolve(cap));
    socket.once('error', reject);
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('awkward devices', () => {
  it('a tarpit accepts on 23 and 80 and never sends a byte within 1 s', async () => {
    const a = await open(tarpit.ip, port(23));
    const b = await open(tarpit.ip, port(80));
    b.socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    await sleep(1000);
    for (const c of [a, b]) {
      expect(c.bytes.length).toBe(0);
      expect(c.closed).toBe(false);
      c.socket.destroy();
    }
  });

  it('a garbage sender sends binary, not text, and stops at its cap', async () => {
    const c = await open(garbage.ip, port(23));
    await c.done;
    const cap = Number(garbage.profile.services[0]?.banner?.['capBytes']);
    expect(c.bytes.length).toBe(cap);
    const high = c.bytes.filter((b) => b >= 0x80).length;
    expect(high / c.bytes.length).toBeGreaterThan(0.3);
    expect(c.bytes.toString('latin1')).not.toMatch(/login|password/i);
  });

  it('an endless banner keeps sending', async () => {
    const c = await open(endlessBig.ip, port(23));
    // Polled with a generous bound rather than fixed sleeps: a busy machine may delay the sender.
    const grows = async (than: number): Promise<void> => {
      for (let i = 0; i < 300 && c.bytes.length <= than; i++) await sleep(100);
    };
    await grows(0);
    const early = c.bytes.length;
    expect(early).toBeGreaterThan(0);
    await grows(early);
    expect(c.bytes.length).toBeGreaterThan(early);
    expect(c.closed).toBe(false);
    expect(c.bytes.toString('latin1')).toContain('Please wait');
    c.socket.destroy();
  });

  it('an endless banner stops at its per-connection cap', async () => {
    const c = await open(endlessSmall.ip, port(23));
    await c.done;
    expect(c.bytes.length).toBe(50_000);
  });

  it('an endless HTTP server answers a request with headers that never end, up to its cap', async () => {
    const c = await open(endlessSmall.ip, port(8080));
    await sleep(100);
    expect(c.bytes.length).toBe(0);
    c.socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    await c.done;
    const text = c.bytes.toString('latin1');
    expect(text.startsWith('HTTP/1.1 200 OK\r\n')).toBe(true);
    expect(text).not.toContain('\r\n\r\n');
    expect(c.bytes.length).toBe(50_000);
  });

  it('a honeypot lets any telnet login in', async () => {
    const c = await open(honeypot.ip, port(23));
    const waitFor = async (re: RegExp): Promise<void> => {
      for (let i = 0; i < 300 && !re.test(c.bytes.toString('latin1')); i++) await sleep(100);
      expect(c.bytes.toString('latin1')).toMatch(re);
    };
    await waitFor(/login: $/);
    c.socket.write('nobody\r\n');
    await waitFor(/Password: $/);
    c.socket.write('not-a-real-password\r\n');
    await waitFor(/root@svr04:~# $/);
    c.socket.destroy();
  });
});
