/**
 * The lab's port map. A device's real port (23, 80, ...) is used when it can be bound. When it
 * cannot (EACCES without root, EADDRINUSE when something on this machine holds it on 0.0.0.0), that
 * port number is moved for the whole lab to a free high port, so one small map (device port → bound
 * port) says where every service listens and can be published with the lab.
 *
 * This module uses node builtins and src/core only: a test runs it as an unprivileged user from a
 * copy outside the checkout (src/lab/portable-copy.ts).
 */
import { createServer } from 'node:net';
import { IotcleanError } from '../core/errors.js';
import { assertLoopback, closeServer, listenOn } from './bind.js';
import type { LabDevice } from './types.js';

/** Device port → port it is bound on, for the whole lab. Keys are port numbers as text (JSON). */
export type PortMap = Readonly<Record<string, number>>;

/** How ports are chosen. */
export interface PortOptions {
  /** First high port used for a port that cannot be bound (default 40000). */
  readonly portBase?: number;
  /** Ports to move to high ports even when they could be bound (tests, rehearsals). */
  readonly remap?: readonly number[];
}

const defaultPortBase = 40_000;

/** Distinct device ports of a plan, ascending. */
export function labPorts(devices: readonly LabDevice[]): number[] {
  const set = new Set<number>();
  for (const d of devices) for (const s of d.profile.services) set.add(s.port);
  return [...set].sort((a, b) => a - b);
}

/** Try binding (host, port) once; returns the error code, or undefined when it is free. */
async function probe(host: string, port: number): Promise<string | undefined> {
  const server = createServer();
  try {
    await listenOn(server, host, port);
    await closeServer(server);
    return undefined;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code ?? 'EUNKNOWN';
  }
}

/**
 * Decide the lab's port map by probing one bind per distinct port on the first lab address. A
 * port that cannot be bound (EACCES, EADDRINUSE) or is listed in `remap` moves to the first free
 * port from `portBase` on.
 */
export async function decidePortMap(probeIp: string, ports: readonly number[], opts: PortOptions = {}): Promise<PortMap> {
  assertLoopback(probeIp);
  const base = opts.portBase ?? defaultPortBase;
  const remap = new Set(opts.remap ?? []);
  const map: Record<string, number> = {};
  const taken = new Set<number>(ports);
  let next = base;
  for (const port of ports) {
    if (!remap.has(port)) {
      const code = await probe(probeIp, port);
      if (code === undefined) {
        map[String(port)] = port;
        continue;
      }
      if (code !== 'EACCES' && code !== 'EADDRINUSE') {
        throw new IotcleanError('E_LAB', `cannot bind ${probeIp}:${port} (${code})`, { hint: 'check that loopback is up' });
      }
    }
    let chosen: number | undefined;
    // Bounded search for a free high port that no other lab port uses.
    for (let attempt = 0; attempt < 1000 && chosen === undefined; attempt++, next++) {
      if (next > 65535) break;
      if (taken.has(next)) continue;
      if ((await probe(probeIp, next)) === undefined) chosen = next;
    }
    if (chosen === undefined) {
      throw new IotcleanError('E_LAB', `no free high port for device port ${port}`, { hint: `try another --port-base than ${base}` });
    }
    taken.add(chosen);
    map[String(port)] = chosen;
    next = chosen + 1;
  }
  return map;
}
