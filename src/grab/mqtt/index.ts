/**
 * mqtt (port 1883): sends an MQTT 3.1.1 CONNECT with no user name and no password (OASIS MQTT
 * 3.1.1 §3.1), reads the CONNACK's return code (§3.2.2.3: 0 accepted, 4 bad user name or password,
 * 5 not authorised); when the broker accepts anonymous clients it subscribes to
 * `$SYS/broker/version` (Mosquitto and others publish it retained) and waits briefly for that
 * PUBLISH, then sends DISCONNECT. Records the code, whether anonymous access was allowed and the
 * broker version (MqttFields). An open broker is a finding later.
 */
import { randomBytes } from 'node:crypto';
import * as mqttPacket from 'mqtt-packet';
import type { Connection, ConnectionStatus } from '../../scope/connection.js';
import type { MqttFields } from '../fields.js';
import type { GrabModule } from '../module.js';
import { bannerText, errorText } from '../text.js';

export const brokerVersionTopic = '$SYS/broker/version';
/** Packets read at most while waiting for CONNACK / the version (a broker flooding us is cut). */
const maxPackets = 32;

/** Reads MQTT packets off a connection, one at a time, never throwing on bad bytes. */
export class MqttReader {
  private readonly parser = mqttPacket.parser({ protocolVersion: 4 });
  private readonly queue: mqttPacket.Packet[] = [];
  error: string | undefined;

  constructor(private readonly conn: Connection) {
    this.parser.on('packet', (p: mqttPacket.Packet) => this.queue.push(p));
    this.parser.on('error', (e: unknown) => {
      this.error ??= errorText(e);
    });
  }

  /** Feed bytes directly (the fuzz test uses this). */
  feed(bytes: Buffer): void {
    try {
      this.parser.parse(bytes);
    } catch (e) {
      this.error ??= errorText(e);
    }
  }

  /** The next packet, or the status that ended reading. */
  async next(): Promise<{ packet: mqttPacket.Packet } | { status: ConnectionStatus; error?: string }> {
    for (;;) {
      const p = this.queue.shift();
      if (p) return { packet: p };
      if (this.error) return { status: 'protocol-error', error: this.error };
      const r = await this.conn.read();
      if (r.data.length > 0) this.feed(r.data);
      if (r.status !== 'success' && this.queue.length === 0) return this.error ? { status: 'protocol-error', error: this.error } : { status: r.status, ...(r.error ? { error: r.error } : {}) };
    }
  }
}

/** The mqtt grab module (registered in ../index.ts). */
export const mqttModule: GrabModule = {
  name: 'mqtt',
  description: 'MQTT 3.1.1 CONNECT without credentials; records the CONNACK code and $SYS/broker/version when anonymous',
  defaultPorts: [1883],
  tls: false,
  async grab(conn) {
    const connect = mqttPacket.generate({
      cmd: 'connect',
      protocolId: 'MQTT',
      protocolVersion: 4,
      clean: true,
      keepalive: 30,
      clientId: `iotclean-${randomBytes(4).toString('hex')}`,
    });
    const w = await conn.write(connect);
    if (w.status !== 'success') return { status: w.status, recognised: false, fields: {}, ...(w.error ? { error: w.error } : {}) };
    const reader = new MqttReader(conn);
    const first = await reader.next();
    if (!('packet' in first)) return { status: first.status, recognised: false, fields: {}, ...(first.error ? { error: first.error } : {}) };
    if (first.packet.cmd !== 'connack') return { status: 'protocol-error', recognised: false, fields: {}, error: `expected CONNACK, got ${first.packet.cmd}` };
    const returnCode = first.packet.returnCode ?? first.packet.reasonCode ?? 0;
    const anonymous = returnCode === 0;
    let brokerVersion: string | null = null;
    if (anonymous) {
      const sub = await conn.write(mqttPacket.generate({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: brokerVersionTopic, qos: 0 }] }));
      for (let i = 0; sub.status === 'success' && i < maxPackets; i++) {
        // Bounded by the connection's idle timeout: a broker without $SYS just stays quiet.
        const got = await reader.next();
        if (!('packet' in got)) break;
        if (got.packet.cmd === 'publish' && got.packet.topic === brokerVersionTopic) {
          brokerVersion = bannerText(Buffer.from(got.packet.payload), 256).trim() || null;
          break;
        }
      }
      await conn.write(mqttPacket.generate({ cmd: 'disconnect' }));
    }
    const fields: MqttFields = { returnCode, anonymous, brokerVersion };
    return { status: 'success', recognised: true, fields: { ...fields } };
  },
};
