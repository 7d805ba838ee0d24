/**
 * The scope guard: the one place in iotclean where outbound sockets are opened. Every caller
 * (discovery probes now, banner grabs and logins later) goes through here, so the check against
 * the authorised scope cannot be forgotten by a caller. A test greps the tree to keep it so.
 */
import * as net from 'node:net';
import { constants as osConstants } from 'node:os';
import { IotcleanError } from '../core/errors.js';
import { formatIpv4, parseIpv4 } from '../core/ip.js';

/** What the guard needs of a compiled scope. */
export interface ScopeCheck {
  allows(ip: number): boolean;
}

function deny(target: string): never {
  throw new IotcleanError('E_SCOPE_DENIED', `refusing to connect to ${target}: outside the authorised scope`, {
    hint: 'the default scope is 127.0.0.0/8; surveying other space needs an explicit --scope file',
  });
}

/** Open a stream connection to host:port if the scope allows host (a strict dotted quad). */
export function connectGuarded(
  scope: ScopeCheck,
  host: string,
  port: number,
  options: { timeoutMs?: number } = {},
): net.Socket {
  const ip = parseIpv4(host);
  if (ip === undefined || !scope.allows(ip)) deny(host);
  if (!Number.isInteger(port) || port < 1 || port > 65535) deny(`${host}:${port}`);
  const socket = net.connect({ host: formatIpv4(ip), port });
  if (options.timeoutMs) socket.setTimeout(options.timeoutMs, () => socket.destroy(new Error('io-timeout')));
  return socket;
}

/** Outcome of one connect probe. */
export const ProbeOutcome = {
  Open: 0,
  Closed: 1,
  /** Local failure (no ephemeral port, no fd): the probe should be retried later. */
  LocalError: 2,
} as const;
export type ProbeOutcome = (typeof ProbeOutcome)[keyof typeof ProbeOutcome];

/** Called once per probe with the slot it was issued on. */
export type ProbeCallback = (slot: number, outcome: ProbeOutcome) => void;

/**
 * A connect prober: issues TCP handshakes and reports open/closed per slot. Open connections are
 * reset at once (RST, no FIN/TIME_WAIT, nothing sent to the device).
 */
export interface Prober {
  /** Start a probe; returns false when the scope refuses the target (nothing was sent). */
  probe(slot: number, ip: number, port: number): boolean;
  /** Abandon the probe on a slot (timeout); no callback follows. */
  cancel(slot: number): void;
  /** Release pooled sockets once no probe is in flight. */
  close(): void;
  readonly engine: 'raw' | 'net';
}

interface RawTcpBinding {
  TCP: new (type: number) => RawHandle;
  TCPConnectWrap: new () => RawConnectReq;
  constants: { SOCKET: number };
}
interface RawHandle {
  connect(req: RawConnectReq, address: string, port: number): number;
  reset?(cb: () => void): number;
  close(cb?: () => void): void;
}
interface RawConnectReq {
  oncomplete: (status: number, handle: RawHandle) => void;
  address: string;
  port: number;
  slot: number;
}

function loadRawBinding(): RawTcpBinding | undefined {
  try {
    // Node's own TCP handle without the net.Socket stream machinery: ~3x fewer CPU cycles per probe
    // on loopback. Present on Node 20, 22 and 24; we fall back to net.Socket when it is not.
    const binding = (process as unknown as { binding(name: string): unknown }).binding('tcp_wrap') as RawTcpBinding;
    return typeof binding.TCP === 'function' && typeof binding.TCPConnectWrap === 'function' ? binding : undefined;
  } catch {
    return undefined;
  }
}

/** Errors that mean "we could not send", not "the port is closed". */
const LOCAL_ERRORS = new Set(['EADDRNOTAVAIL', 'EMFILE', 'ENFILE', 'ENOBUFS', 'ENOMEM']);

/** Create a prober bound to a scope. `engine: 'auto'` picks the raw handle when available. */
export function createProber(scope: ScopeCheck, onResult: ProbeCallback, engine: 'auto' | 'raw' | 'net' = 'auto'): Prober {
  const raw = engine === 'net' ? undefined : loadRawBinding();
  if (engine === 'raw' && !raw) throw new Error('raw TCP engine is not available on this Node version');
  return raw ? rawProber(raw, scope, onResult) : netProber(scope, onResult);
}

function rawProber(b: RawTcpBinding, scope: ScopeCheck, onResult: ProbeCallback): Prober {
  const handles: (RawHandle | undefined)[] = [];
  // Sockets refused by the peer go back to a pool and connect again: Linux lets a TCP socket
  // reconnect after a refused connect (the first retry returns ECONNABORTED and resets it). This
  // saves socket(), close() and the epoll registration per probe: about half the CPU per probe.
  const idle: RawHandle[] = [];
  const refused = -osConstants.errno.ECONNREFUSED;
  const aborted = -osConstants.errno.ECONNABORTED;
  const noAddress = -osConstants.errno.EADDRNOTAVAIL;
  const noop = () => {};
  function oncomplete(this: RawConnectReq, status: number, h: RawHandle) {
    const slot = this.slot;
    if (handles[slot] !== h) return; // cancelled (timed out) earlier
    handles[slot] = undefined;
    if (status === refused) idle.push(h);
    else if (status === 0 && h.reset) h.reset(noop);
    else h.close();
    onResult(slot, status === 0 ? ProbeOutcome.Open : status === noAddress ? ProbeOutcome.LocalError : ProbeOutcome.Closed);
  }
  return {
    engine: 'raw',
    probe(slot, ip, port) {
      if (!scope.allows(ip)) return false;
      const h = idle.pop() ?? new b.TCP(b.constants.SOCKET);
      const req = new b.TCPConnectWrap();
      req.oncomplete = oncomplete;
      const address = formatIpv4(ip);
      req.address = address;
      req.port = port;
      req.slot = slot;
      handles[slot] = h;
      let err = h.connect(req, address, port);
      if (err === aborted) err = h.connect(req, address, port); // a reused socket resetting itself
      if (err !== 0) {
        handles[slot] = undefined;
        h.close();
        // Synchronous failures are local (no ports, no fds): report them so the caller retries.
        queueMicrotask(() => onResult(slot, ProbeOutcome.LocalError));
      }
      return true;
    },
    cancel(slot) {
      const h = handles[slot];
      if (!h) return;
      handles[slot] = undefined;
      h.close();
    },
    close() {
      for (const h of idle.splice(0)) h.close();
    },
  };
}

function netProber(scope: ScopeCheck, onResult: ProbeCallback): Prober {
  const sockets: (net.Socket | undefined)[] = [];
  const finish = (s: net.Socket, slot: number, outcome: ProbeOutcome) => {
    if (sockets[slot] !== s) return;
    sockets[slot] = undefined;
    if (outcome === ProbeOutcome.Open) s.resetAndDestroy();
    else s.destroy();
    onResult(slot, outcome);
  };
  return {
    engine: 'net',
    probe(slot, ip, port) {
      if (!scope.allows(ip)) return false;
      const s = net.connect({ host: formatIpv4(ip), port });
      sockets[slot] = s;
      s.once('connect', () => finish(s, slot, ProbeOutcome.Open));
      s.once('error', (e: NodeJS.ErrnoException) =>
        finish(s, slot, e.code && LOCAL_ERRORS.has(e.code) ? ProbeOutcome.LocalError : ProbeOutcome.Closed),
      );
      return true;
    },
    cancel(slot) {
      const s = sockets[slot];
      if (!s) return;
      sockets[slot] = undefined;
      s.destroy();
    },
    close() {},
  };
}
