import * as mqttPacket from 'mqtt-packet';
import { afterAll, describe, expect, it } from 'vitest';
import { grabConformance, conformanceLimits } from '../../../test/grab-conformance.js';
import { mqttHandler, serveRaw, type TestServer } from '../../../test/grab-servers.js';
import { createRng } from '../../core/rng.js';
import type { Connection } from '../../scope/connection.js';
import { compileScope, defaultScope } from '../../scope/scope.js';
import { grabWith } from '../runner.js';
import { MqttReader, mqttModule } from './index.js';

grabConformance(mqttModule);

describe('mqtt', () => {
  const scope = compileScope(defaultScope());
  const servers: TestServer[] = [];
  afterAll(async () => void (await Promise.all(servers.map((s) => s.close()))));

  it('an anonymous broker: CONNACK 0, the $SYS version, and no credentials in the CONNECT', async () => {
    const connects: mqttPacket.Packet[] = [];
    const s = await serveRaw((sock) => {
      const p = mqttPacket.parser({ protocolVersion: 4 });
      p.on('packet', (pk: mqttPacket.Packet) => connects.push(pk));
      sock.on('data', (d: Buffer) => p.parse(d));
      mqttHandler(0, 'mosquitto version 2.0.11')(sock);
    });
    servers.push(s);
    const obs = await grabWith({ scope, ip: s.ip, port: s.port, limits: conformanceLimits }, mqttModule);
    expect(obs.status).toBe('success');
    expect(obs.recognised).toBe(true);
    expect(obs.fields).toEqual({ returnCode: 0, anonymous: true, brokerVersion: 'mosquitto version 2.0.11' });
    const connect = connects.find((p) => p.cmd === 'connect');
    expect(connect).toMatchObject({ cmd: 'connect', protocolVersion: 4 });
    expect(connect && 'username' in connect ? connect.username : undefined).toBeUndefined();
    expect(connect && 'password' in connect ? connect.password : undefined).toBeUndefined();
    // DISCONNECT is sent but may be lost to our close's reset; nothing else is ever sent.
    expect(connects.map((p) => p.cmd).slice(0, 2)).toEqual(['connect', 'subscribe']);
    expect(connects.slice(2).every((p) => p.cmd === 'disconnect')).toBe(true);
  });

  it('a broker that wants a login: CONNACK 5, no subscribe', async () => {
    const s = await serveRaw(mqttHandler(5));
    servers.push(s);
    const obs = await grabWith({ scope, ip: s.ip, port: s.port, limits: conformanceLimits }, mqttModule);
    expect(obs.recognised).toBe(true);
    expect(obs.fields).toEqual({ returnCode: 5, anonymous: false, brokerVersion: null });
  });

  it('an anonymous broker without $SYS: the version stays null (bounded wait)', async () => {
    const s = await serveRaw(mqttHandler(0, null));
    servers.push(s);
    const obs = await grabWith({ scope, ip: s.ip, port: s.port, limits: conformanceLimits }, mqttModule);
    expect(obs.fields).toEqual({ returnCode: 0, anonymous: true, brokerVersion: null });
  });

  it('MqttReader never throws on random bytes (fuzz)', () => {
    const rnd = createRng('fuzz-mqtt');
    const none = {} as Connection;
    for (let i = 0; i < 3000; i++) {
      const reader = new MqttReader(none);
      const first = rnd.int(256);
      // Start like a real packet some of the time so the parser's deeper paths are reached.
      const bytes = Buffer.from([rnd.int(2) ? 0x20 : first, rnd.int(8), ...Array.from({ length: rnd.int(64) }, () => rnd.int(256))]);
      expect(() => reader.feed(bytes)).not.toThrow();
    }
  });
});
