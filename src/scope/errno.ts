/**
 * One classification of socket errors for every engine and every connection: the raw tcp_wrap
 * engine's negative errno numbers and net.Socket's `code` strings go through the same table, so a
 * discovery probe and a banner grab can never disagree about what an error means.
 */
import { constants as osConstants } from 'node:os';

/**
 * What an error says about the attempt:
 * - `refused`: the target answered with a reset (a closed port).
 * - `unreachable`: the network or the local routing/firewall says the target cannot be reached;
 *   an outcome of the target, never retried as a local failure.
 * - `timeout`: the kernel gave up waiting for the target.
 * - `closed`: an established connection was reset or closed under us.
 * - `local`: this machine ran out of something (fds, ephemeral ports, buffers, memory); the only
 *   class worth retrying, and only a bounded number of times.
 * - `unknown`: anything else.
 */
export type ErrnoClass = 'refused' | 'unreachable' | 'timeout' | 'closed' | 'local' | 'unknown';

/** The table. EADDRNOTAVAIL is local: on Linux a TCP connect() returns it when no ephemeral port is free. */
export const errnoTable: Readonly<Record<string, ErrnoClass>> = Object.freeze({
  ECONNREFUSED: 'refused',
  ENETUNREACH: 'unreachable',
  EHOSTUNREACH: 'unreachable',
  ENETDOWN: 'unreachable',
  EHOSTDOWN: 'unreachable',
  // A local firewall REJECT/DROP on OUTPUT (EPERM, EACCES), a broadcast or otherwise unusable
  // destination (EACCES, EINVAL), a family the socket cannot reach: the target, not a resource.
  EACCES: 'unreachable',
  EPERM: 'unreachable',
  EINVAL: 'unreachable',
  EAFNOSUPPORT: 'unreachable',
  EDESTADDRREQ: 'unreachable',
  ETIMEDOUT: 'timeout',
  ECONNRESET: 'closed',
  ECONNABORTED: 'closed',
  EPIPE: 'closed',
  EOF: 'closed',
  EMFILE: 'local',
  ENFILE: 'local',
  ENOBUFS: 'local',
  ENOMEM: 'local',
  EADDRNOTAVAIL: 'local',
  EAGAIN: 'local',
  EWOULDBLOCK: 'local', // the same number as EAGAIN on Linux
});

const byNumber = new Map<number, string>();
for (const [name, n] of Object.entries(osConstants.errno)) byNumber.set(-n, name);

/** The errno name for a libuv status (negative errno on Unix) or a Node error code string. */
export function errnoName(code: string | number | undefined): string | undefined {
  if (typeof code === 'number') return byNumber.get(code) ?? (code === -4095 ? 'EOF' : undefined);
  return code;
}

/** Classify a libuv status number or an error code string. */
export function classifyErrno(code: string | number | undefined): ErrnoClass {
  const name = errnoName(code);
  return (name !== undefined ? errnoTable[name] : undefined) ?? 'unknown';
}

/** Classify a thrown or emitted error by its `code`. */
export function classifyError(e: unknown): ErrnoClass {
  const code = (e as { code?: unknown } | undefined)?.code;
  return classifyErrno(typeof code === 'string' || typeof code === 'number' ? code : undefined);
}
