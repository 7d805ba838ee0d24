/**
 * The lab's socket primitives: bind a listener on loopback and close it. The lab binds 127.0.0.0/8
 * only, so a typo in --network can never put emulated devices on a real interface.
 */
import type { Server } from 'node:net';
import { IotcleanError } from '../core/errors.js';
import { parseIpv4 } from '../core/ip.js';

const listenBacklog = 1024;

/** Listen on (host, port); rejects with the bind error (EACCES, EADDRINUSE, ...). */
export function listenOn(server: Server, host: string, port: number): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    const onError = (err: Error): void => reject(err);
    server.once('error', onError);
    server.listen({ host, port, backlog: listenBacklog }, () => {
      server.off('error', onError);
      resolvePromise();
    });
  });
}

/** Stop listening; resolves once the server is closed. */
export function closeServer(server: Server): Promise<void> {
  return new Promise((r) => server.close(() => r()));
}

/** Refuse any address outside 127.0.0.0/8. */
export function assertLoopback(ip: string): void {
  const n = parseIpv4(ip);
  if (n === undefined || n >>> 24 !== 127) {
    throw new IotcleanError('E_LAB', `refusing to bind ${ip}: the lab binds loopback (127.0.0.0/8) only`, {
      hint: 'give --network a range inside 127.0.0.0/8',
    });
  }
}
