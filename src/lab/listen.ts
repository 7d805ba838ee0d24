/**
 * Listening: one socket per device service, bound to (device ip, bound port) on loopback, each
 * accepted socket handed to the handler of the service's protocol (src/lab/services/index.ts).
 */
import { createServer, type Server, type Socket } from 'node:net';
import { IotcleanError } from '../core/errors.js';
import { assertLoopback, closeServer, listenOn } from './bind.js';
import { createDeviceState, createServiceContext, defaultLockoutSeconds } from './context.js';
import { lockoutsOf, type DeviceLockouts } from './lockouts.js';
import { applyOwnerActions, type OwnerAction } from './owner-actions.js';
import type { PortMap } from './port-map.js';
import { handlers } from './services/index.js';
import { certificatesOf } from './tls/certificates.js';
import type { DeviceState, LabDevice } from './types.js';

/** Devices being served; `close` stops listening and drops every open connection. */
export interface Listening {
  readonly listeners: number;
  close(): Promise<void>;
  /** The lock-out devices' lock periods so far (ground-truth side: for tests, never detection). */
  lockouts(): DeviceLockouts[];
  /** Apply owners' actions to the devices served here (src/lab/owner-actions.ts); returns how many changed. */
  applyOwnerActions(actions: readonly OwnerAction[], generation: number): number;
}

/** Connections one device service holds at once; more are dropped, as a small device would. */
const maxConnectionsPerListener = 512;
/** Concurrent listen() calls while starting. */
const listenConcurrency = 512;

/** Run `work` over items with at most `limit` promises in flight. */
async function pool<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let i = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (i < items.length) {
      const item = items[i++] as T;
      await work(item);
    }
  });
  await Promise.all(lanes);
}

/**
 * Bind every service of these devices and route connections to the protocol handlers. On any
 * failure everything already bound is closed and an E_LAB error names the address.
 */
export async function listenDevices(devices: readonly LabDevice[], portMap: PortMap): Promise<Listening> {
  const servers: Server[] = [];
  const sockets = new Set<Socket>();
  const jobs: { device: LabDevice; index: number; state: DeviceState }[] = [];
  const states: { device: LabDevice; state: DeviceState }[] = [];
  for (const device of devices) {
    assertLoopback(device.ip);
    // One state per device, so its services share the lockout counter.
    const state = createDeviceState();
    states.push({ device, state });
    device.profile.services.forEach((_s, index) => jobs.push({ device, index, state }));
  }
  const close = async (): Promise<void> => {
    for (const s of sockets) s.destroy();
    await Promise.all(servers.map(closeServer));
  };
  try {
    // Default certificates of the https services before any client can arrive (cached per model).
    await certificatesOf(devices).catch((e: unknown) => {
      throw new IotcleanError('E_LAB', `cannot make the lab's TLS certificates (${String(e)})`);
    });
    await pool(jobs, listenConcurrency, async ({ device, index, state }) => {
      const service = device.profile.services[index];
      if (!service) return;
      const bound = portMap[String(service.port)];
      if (bound === undefined) throw new IotcleanError('E_LAB', `port map has no entry for port ${service.port}`);
      const ctx = createServiceContext(device, service, state);
      const handler = handlers[service.protocol];
      const server = createServer((socket) => {
        sockets.add(socket);
        socket.on('close', () => sockets.delete(socket));
        // A reset from the client is normal on a scanned device; never let it reach the process.
        socket.on('error', () => socket.destroy());
        try {
          handler(socket, ctx);
        } catch {
          socket.destroy();
        }
      });
      server.maxConnections = maxConnectionsPerListener;
      server.on('error', () => undefined);
      try {
        await listenOn(server, device.ip, bound);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code ?? 'error';
        throw new IotcleanError('E_LAB', `cannot bind ${device.ip}:${bound} for ${device.id} (${code})`, {
          hint: code === 'EADDRINUSE' ? 'another lab or program holds this address; run `lab down` or pick another --network' : undefined,
        });
      }
      servers.push(server);
    });
  } catch (e) {
    await close();
    throw e;
  }
  return {
    listeners: servers.length,
    close,
    lockouts: () => lockoutsOf(states, defaultLockoutSeconds),
    applyOwnerActions: (actions, generation) => applyOwnerActions(states, actions, generation),
  };
}
