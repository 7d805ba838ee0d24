/**
 * The raw socket behind a guarded connection. Internal to src/scope/: it hands out a net.Socket,
 * so test/imports.test.ts refuses imports of this file from anywhere else. Library adapters that
 * need a stream of their own (ssh2's Client `sock` option, undici's `connect` hook) are built in
 * src/scope/ on top of dialTcp and expose only their narrow result, never the socket.
 */
import * as net from 'node:net';
import { formatIpv4 } from '../core/ip.js';
import { requireCompiledScope } from './guard.js';
import { type CompiledScope } from './scope.js';

/** Why a dial was refused before anything was sent. */
export interface DialRefusal {
  readonly refused: string;
}

/**
 * Start a TCP connection to ip:port when the scope allows it, else say why not (nothing sent).
 * `ip` must be a strict dotted quad (checkHost rules: no hostnames, no other spellings).
 */
export function dialTcp(scope: CompiledScope, ip: number, port: number): net.Socket | DialRefusal {
  requireCompiledScope(scope);
  if (!scope.allows(ip)) return { refused: `${formatIpv4(ip >>> 0)} is not allowed by ${scope.source}` };
  if (!Number.isInteger(port) || port < 1 || port > 65535) return { refused: `port ${port} is not 1-65535` };
  return net.connect({ host: formatIpv4(ip), port });
}

// ssh2 and undici adapters go here: e.g. sshClient(scope, ip, port) passing dialTcp's socket as
// ssh2's `sock`, and an undici Agent whose `connect` hook calls dialTcp; callers get only the client.
