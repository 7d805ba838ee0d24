/**
 * Lab MQTT broker (MQTT 3.1.1, OASIS 2014), enough for a survey: default port 1883.
 *
 * The first packet must be CONNECT (§3.1). An anonymous broker (auth 'none') accepts it with
 * CONNACK 0; a broker with auth 'mqtt-login' answers 5 "not authorised" when no user name is
 * given and 4 "bad user name or password" unless the credentials pass the device's login rules,
 * then closes (§3.2.2.3). A protocol level other than 3 or 4 gets 1. Once connected it answers
 * SUBSCRIBE with SUBACK and, for a filter matching `$SYS/broker/version`, the retained PUBLISH
 * of the profile's version string, as mosquitto does; PINGREQ → PINGRESP, QoS 1 PUBLISH →
 * PUBACK, UNSUBSCRIBE → UNSUBACK, DISCONNECT closes. Messages are not routed between clients.
 *
 * Bounded: a packet larger than maxPacketBytes, a malformed packet (mqtt-packet's parser errors)
 * or anything but CONNECT first ends the connection; so do the idle timeout and the keep-alive
 * (1.5 × the client's, §3.1.2.10) and a packet-count cap.
 *
 * Banner keys: version, idleTimeoutMs.
 */
import type { Socket } from 'node:net';
import mqtt from 'mqtt-packet';
import type { ConnectionHandler, ServiceContext } from '../types.js';

/** Tunables of the MQTT service. */
export interface MqttOptions {
  readonly idleTimeoutMs: number;
  /** Largest packet accepted; a survey's packets are tiny. */
  readonly maxPacketBytes: number;
  /** Packets handled per connection. */
  readonly maxPackets: number;
}

const defaultOptions: MqttOptions = { idleTimeoutMs: 30_000, maxPacketBytes: 16_384, maxPackets: 1024 };

const versionTopic = '$SYS/broker/version';

/**
 * Whether a topic filter matches a topic (§4.7). Filters starting with a wildcard never match
 * topics starting with "$" (§4.7.2), so "#" alone does not reveal $SYS.
 */
export function filterMatches(filter: string, topic: string): boolean {
  if (topic.startsWith('$') && (filter.startsWith('#') || filter.startsWith('+'))) return false;
  const f = filter.split('/');
  const t = topic.split('/');
  for (let i = 0; i < f.length; i++) {
    const level = f[i];
    if (level === '#') return i === f.length - 1;
    if (i >= t.length) return false;
    if (level !== '+' && level !== t[i]) return false;
  }
  return f.length === t.length;
}

function bannerInt(value: string | undefined, fallback: number, max: number): number {
  if (value === undefined || !/^\d{1,9}$/.test(value)) return fallback;
  const n = Number(value);
  return n <= max ? n : fallback;
}

class MqttSession {
  private readonly parser = mqtt.parser({ protocolVersion: 4 });
  private connected = false;
  private closed = false;
  private packets = 0;

  constructor(
    private readonly socket: Socket,
    private readonly ctx: ServiceContext,
    private readonly opts: MqttOptions,
  ) {}

  start(): void {
    const { socket, parser } = this;
    socket.setTimeout(this.opts.idleTimeoutMs, () => this.close());
    socket.on('error', () => socket.destroy());
    parser.on('packet', (packet: mqtt.Packet) => this.onPacket(packet));
    parser.on('error', () => this.close());
    socket.on('data', (chunk: Buffer) => {
      if (this.closed) return;
      // parse() returns what it still buffers: an incomplete packet. A declared length past the
      // cap is refused at once rather than buffered up to 256 MB.
      let left: number;
      try {
        left = parser.parse(chunk);
      } catch {
        return this.close();
      }
      const declared = (parser as unknown as { packet?: { length?: number } }).packet?.length ?? -1;
      if (left > this.opts.maxPacketBytes || declared > this.opts.maxPacketBytes) this.close();
    });
  }

  private send(packet: Record<string, unknown>): void {
    if (this.closed || this.socket.destroyed || !this.socket.writable) return;
    this.socket.write(mqtt.generate(packet as unknown as mqtt.Packet));
  }

  private close(): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.end();
    setTimeout(() => this.socket.destroy(), 2000).unref();
  }

  private onPacket(packet: mqtt.Packet): void {
    if (this.closed) return;
    if (++this.packets > this.opts.maxPackets) return this.close();
    if (!this.connected) {
      // §3.1: the first packet from the client MUST be CONNECT; anything else closes.
      if (packet.cmd !== 'connect') return this.close();
      return this.connect(packet);
    }
    switch (packet.cmd) {
      case 'connect':
        // §3.1: a second CONNECT is a protocol violation.
        return this.close();
      case 'subscribe':
        return this.subscribe(packet);
      case 'unsubscribe':
        return this.send({ cmd: 'unsuback', messageId: packet.messageId });
      case 'publish':
        if (packet.qos === 1) this.send({ cmd: 'puback', messageId: packet.messageId });
        if (packet.qos === 2) this.send({ cmd: 'pubrec', messageId: packet.messageId });
        return;
      case 'pubrel':
        return this.send({ cmd: 'pubcomp', messageId: packet.messageId });
      case 'pingreq':
        return this.send({ cmd: 'pingresp' });
      case 'disconnect':
        return this.close();
      default:
        return this.close();
    }
  }

  private connect(packet: mqtt.IConnectPacket): void {
    const level = packet.protocolVersion;
    if (level !== 3 && level !== 4) {
      this.send({ cmd: 'connack', returnCode: 1, sessionPresent: false });
      return this.close();
    }
    if (this.ctx.service.auth === 'mqtt-login') {
      if (packet.username === undefined) {
        this.send({ cmd: 'connack', returnCode: 5, sessionPresent: false });
        return this.close();
      }
      const password = packet.password ? Buffer.from(packet.password).toString('utf8') : '';
      if (!this.ctx.checkLogin(packet.username, password)) {
        this.send({ cmd: 'connack', returnCode: 4, sessionPresent: false });
        return this.close();
      }
    }
    this.connected = true;
    // §3.1.2.10: the server may close after 1.5 × keep-alive without a packet.
    const keepalive = packet.keepalive ?? 0;
    if (keepalive > 0) this.socket.setTimeout(Math.min(this.opts.idleTimeoutMs, keepalive * 1500));
    this.send({ cmd: 'connack', returnCode: 0, sessionPresent: false });
  }

  private subscribe(packet: mqtt.ISubscribePacket): void {
    const subscriptions = packet.subscriptions ?? [];
    this.send({ cmd: 'suback', messageId: packet.messageId, granted: subscriptions.map((s) => Math.min(s.qos, 1)) });
    const version = this.ctx.service.banner?.['version'];
    if (version === undefined) return;
    if (subscriptions.some((s) => filterMatches(s.topic, versionTopic))) {
      this.send({ cmd: 'publish', topic: versionTopic, payload: Buffer.from(version, 'utf8'), qos: 0, retain: true, dup: false });
    }
  }
}

/** Build an MQTT handler; a profile's banner key `idleTimeoutMs` overrides `options`. */
export function createMqttHandler(options: Partial<MqttOptions> = {}): ConnectionHandler {
  const base = { ...defaultOptions, ...options };
  return (socket, ctx) => {
    const idle = bannerInt(ctx.service.banner?.['idleTimeoutMs'], base.idleTimeoutMs, 600_000) || base.idleTimeoutMs;
    new MqttSession(socket, ctx, { ...base, idleTimeoutMs: idle }).start();
  };
}

/** The lab's MQTT handler with default options. */
export const mqttHandler: ConnectionHandler = createMqttHandler();
