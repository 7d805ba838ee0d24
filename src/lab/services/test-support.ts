/**
 * Shared by the service handlers' tests: a hand-built device context and a loopback listener that
 * hands connections to a handler as the lab runtime does. Not used by the product.
 */
import * as net from 'node:net';
import type { ConnectionHandler, DeviceProfile, LabCredential, ServiceContext, ServiceProfile } from '../types.js';

export const ADMIN: LabCredential = { username: 'admin', password: 'admin' };

export interface FakeContext {
  readonly ctx: ServiceContext;
  /** Every login attempt, in order. */
  readonly attempts: [string, string][];
}

/** One device with fixed credentials and the given service; every attempt is recorded. */
export function fakeContext(
  service: ServiceProfile,
  credentials: readonly LabCredential[] = [ADMIN],
  profile: Partial<Pick<DeviceProfile, 'id' | 'type' | 'model'>> = {},
): FakeContext {
  const attempts: [string, string][] = [];
  const ctx: ServiceContext = {
    device: {
      id: 'dev-1',
      ip: '127.1.0.10',
      ispId: 'isp-a',
      weak: true,
      credentials,
      profile: {
        id: profile.id ?? 'test-device',
        type: profile.type ?? 'router',
        vendor: 'Test',
        model: profile.model ?? 'T1',
        firmware: '1.0',
        services: [service],
        weakCredentials: credentials,
      },
    },
    service,
    state: { failures: 0, lockedUntil: 0 },
    checkLogin(username, password) {
      attempts.push([username, password]);
      return credentials.some((c) => c.username === username && c.password === password);
    },
  };
  return { ctx, attempts };
}

/** Listeners and accepted sockets opened by `serve`, closed by `closeServed`. */
const servers: net.Server[] = [];
const sockets: net.Socket[] = [];

/** Listen on host:0 (default 127.0.0.1) and hand every connection to the handler; resolves with the port. */
export async function serve(handler: ConnectionHandler, ctx: ServiceContext, host = '127.0.0.1'): Promise<number> {
  const server = net.createServer((socket) => {
    sockets.push(socket);
    handler(socket, ctx);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

/** Have `closeServed` also destroy a client socket a test opened. */
export function track(socket: net.Socket): net.Socket {
  sockets.push(socket);
  return socket;
}

/** Close everything `serve` opened (call from afterEach). */
export async function closeServed(): Promise<void> {
  for (const s of sockets.splice(0)) s.destroy();
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
}
