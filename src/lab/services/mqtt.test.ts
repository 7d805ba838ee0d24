import * as net from 'node:net';
import mqtt from 'mqtt-packet';
import { afterEach, describe, expect, it } from 'vitest';
import { createRng } from '../../core/rng.js';
import { closeServed, fakeContext, serve, track } from './test-support.js';
import { createMqttHandler, filterMatches } from './mqtt.js';
import type { LabAuth, ServiceProfile } from '../types.js';

const host = '127.65.2.1';
const handler = createMqttHandler({ idleTimeoutMs: 5000 });

function service(auth: LabAuth, banner: Record<string, string> = { version: 'mosquitto version 1.4.15' }): ServiceProfile {
  return { port: 1883, protocol: 'mqtt', auth, banner };
}

/** An MQTT client that parses what the broker sends with mqtt-packet (an independent parser). */
class Client {
  readonly packets: mqtt.Packet[] = [];
  readonly closed: Promise<void>;
  private readonly socket: net.Socket;
  constructor(port: number) {
    this.socket = track(net.connect(port, host));
    this.socket.setTimeout(10_000, () => this.socket.destroy());
    const parser = mqtt.parser({ protocolVersion: 4 });
    parser.on('packet', (p: mqtt.Packet) => this.packets.push(p));
    this.socket.on('data', (b: Buffer) => parser.parse(b));
    this.socket.on('error', () => undefined);
    this.closed = new Promise((r) => this.socket.on('close', () => r()));
  }
  send(packet: Record<string, unknown> | Buffer): void {
    this.socket.write(Buffer.isBuffer(packet) ? packet : mqtt.generate(packet as unknown as mqtt.Packet));
  }
  async next(cmd: string): Promise<mqtt.Packet> {
    for (let i = 0; i < 400; i++) {
      const p = this.packets.find((x) => x.cmd === cmd);
      if (p) return p;
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error(`no ${cmd}; got ${this.packets.map((p) => p.cmd).join(',')}`);
  }
}

const connect = (extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  cmd: 'connect',
  protocolId: 'MQTT',
  protocolVersion: 4,
  clean: true,
  clientId: 'iotclean-test',
  keepalive: 30,
  ...extra,
});

afterEach(closeServed);

describe('lab MQTT broker (MQTT 3.1.1)', () => {
  it('matches topic filters as §4.7 says, never exposing $SYS to a bare wildcard', () => {
    expect(filterMatches('$SYS/broker/version', '$SYS/broker/version')).toBe(true);
    expect(filterMatches('$SYS/#', '$SYS/broker/version')).toBe(true);
    expect(filterMatches('$SYS/+/version', '$SYS/broker/version')).toBe(true);
    expect(filterMatches('#', '$SYS/broker/version')).toBe(false);
    expect(filterMatches('+/broker/version', '$SYS/broker/version')).toBe(false);
    expect(filterMatches('$SYS/broker', '$SYS/broker/version')).toBe(false);
  });

  it('anonymous broker: CONNACK 0, the retained $SYS version on subscribe, PINGRESP, close on DISCONNECT', async () => {
    const { ctx } = fakeContext(service('none'));
    const c = new Client(await serve(handler, ctx, host));
    c.send(connect());
    expect(await c.next('connack')).toMatchObject({ returnCode: 0 });
    c.send({ cmd: 'subscribe', messageId: 7, subscriptions: [{ topic: '$SYS/broker/version', qos: 0 }] });
    expect(await c.next('suback')).toMatchObject({ messageId: 7, granted: [0] });
    const pub = (await c.next('publish')) as mqtt.IPublishPacket;
    expect(pub.topic).toBe('$SYS/broker/version');
    expect(pub.retain).toBe(true);
    expect(Buffer.from(pub.payload).toString()).toBe('mosquitto version 1.4.15');
    c.send({ cmd: 'pingreq' });
    await c.next('pingresp');
    c.send({ cmd: 'disconnect' });
    await c.closed;
  });

  it('broker with auth: 5 without a user name, 4 with a bad password, 0 with the right one', async () => {
    const { ctx, attempts } = fakeContext(service('mqtt-login'));
    const port = await serve(handler, ctx, host);
    const anon = new Client(port);
    anon.send(connect());
    expect(await anon.next('connack')).toMatchObject({ returnCode: 5 });
    await anon.closed;
    const bad = new Client(port);
    bad.send(connect({ username: 'admin', password: Buffer.from('nope') }));
    expect(await bad.next('connack')).toMatchObject({ returnCode: 4 });
    await bad.closed;
    const good = new Client(port);
    good.send(connect({ username: 'admin', password: Buffer.from('admin') }));
    expect(await good.next('connack')).toMatchObject({ returnCode: 0 });
    expect(attempts).toEqual([
      ['admin', 'nope'],
      ['admin', 'admin'],
    ]);
  });

  it('refuses an unknown protocol level with 1, and closes when the first packet is not CONNECT', async () => {
    const { ctx } = fakeContext(service('none'));
    const port = await serve(handler, ctx, host);
    const v5 = new Client(port);
    // MQTT 5 CONNECT, hand-built: fixed header, "MQTT", level 5, flags, keep-alive, no properties, client id "a".
    v5.send(Buffer.from([0x10, 0x0e, 0, 4, 0x4d, 0x51, 0x54, 0x54, 5, 2, 0, 30, 0, 0, 1, 0x61]));
    expect(await v5.next('connack')).toMatchObject({ returnCode: 1 });
    await v5.closed;
    const ping = new Client(port);
    ping.send({ cmd: 'pingreq' });
    await ping.closed;
    expect(ping.packets).toEqual([]);
  });

  it('closes on a malformed packet and on a declared length past the cap, without buffering it', async () => {
    const { ctx } = fakeContext(service('none'));
    const port = await serve(handler, ctx, host);
    const bad = new Client(port);
    bad.send(Buffer.from([0x10, 0x02, 0xff, 0xff]));
    await bad.closed;
    const huge = new Client(port);
    // PUBLISH claiming 268 MB (the largest remaining length), then a little of it.
    huge.send(Buffer.concat([Buffer.from([0x30, 0xff, 0xff, 0xff, 0x7f]), Buffer.alloc(1024)]));
    await huge.closed;
    expect(huge.packets).toEqual([]);
  });

  it('survives seeded random bytes before and after CONNECT', async () => {
    const rng = createRng('mqtt-fuzz');
    const { ctx } = fakeContext(service('none'));
    // A random prefix of a packet is waited for until the idle timeout: keep that short here.
    const port = await serve(createMqttHandler({ idleTimeoutMs: 300 }), ctx, host);
    for (let round = 0; round < 30; round++) {
      const c = new Client(port);
      if (round % 2 === 0) c.send(connect());
      const bytes = Buffer.alloc(1 + rng.int(2000));
      for (let i = 0; i < bytes.length; i++) bytes[i] = rng.int(256);
      c.send(bytes);
      c.send({ cmd: 'disconnect' });
      await c.closed;
    }
  }, 60_000);
});
