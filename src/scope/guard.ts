/**
 * The scope guard: the one place in iotclean where outbound sockets are opened. Discovery probes go
 * through createProber here; banner grabs and logins through openConnection (connection.ts). Both
 * take a CompiledScope and refuse anything this folder did not build, so the check against the
 * authorised scope cannot be forgotten or faked by a caller. test/imports.test.ts keeps socket
 * modules out of every other folder.
 */
import * as net from 'node:net';
import { constants as osConstants } from 'node:os';
import { IotcleanError } from '../core/errors.js';
import { formatIpv4 } from '../core/ip.js';
import { classifyErrno, classifyError, type ErrnoClass } from './errno.js';
import { isCompiledScope, type CompiledScope } from './scope.js';

/** Throw unless `scope` was built by src/scope/ (a look-alike object is refused at run time too). */
export function requireCompiledScope(scope: CompiledScope): void {
  if (!isCompiledScope(scope)) {
    throw new IotcleanError('E_SCOPE_DENIED', 'refusing to open sockets: the scope was not compiled by src/scope/', {
      hint: 'build scopes with compileScope, restrictScope or reviveScope; never by hand',
    });
  }
}

/** Outcome of one connect probe. */
export const ProbeOutcome = {
  Open: 0,
  /** The target answered with a reset, or failed in a way that is not ours. */
  Closed: 1,
  /** No route, network down, refused by a firewall: an outcome of the target, not retried. */
  Unreachable: 2,
  /** Local resource exhaustion (no ephemeral port, no fd, no buffer): worth a bounded retry. */
  LocalError: 3,
} as const;
export type ProbeOutcome = (typeof ProbeOutcome)[keyof typeof ProbeOutcome];

const outcomeOf: Record<ErrnoClass, ProbeOutcome> = {
  refused: ProbeOutcome.Closed,
  closed: ProbeOutcome.Closed,
  unknown: ProbeOutcome.Closed,
  unreachable: ProbeOutcome.Unreachable,
  timeout: ProbeOutcome.Unreachable,
  local: ProbeOutcome.LocalError,
};

/** The probe outcome for a failed connect's error code (libuv status number or code string). */
export function probeOutcomeOf(code: string | number | undefined): ProbeOutcome {
  return outcomeOf[classifyErrno(code)];
}

/**
 * Called once per probe with the slot it was issued on. `sent` is false when connect() failed
 * before any packet left this machine (no route, local firewall, no free port): not a probe sent.
 */
export type ProbeCallback = (slot: number, outcome: ProbeOutcome, sent: boolean) => void;

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

export type EngineRequest = 'auto' | 'raw' | 'net';

/** Which engine runs, and why (shown to the operator). */
export interface EngineChoice {
  readonly engine: 'raw' | 'net';
  readonly reason: string;
}

interface RawTcpBinding {
  TCP: new (type: number) => RawHandle;
  TCPConnectWrap: new () => RawConnectReq;
  constants: { SOCKET: number };
}
interface RawHandle {
  connect(req: RawConnectReq, address: string, port: number): number;
  /** 0 when connected (fills `out`), a negative errno (ENOTCONN) when not. */
  getpeername?(out: { address?: string; port?: number }): number;
  reset?(cb: () => void): number;
  close(cb?: () => void): void;
}
interface RawConnectReq {
  oncomplete: (status: number, handle: RawHandle) => void;
  address: string;
  port: number;
  slot: number;
}

/** The flags Node was started with, from the command line and NODE_OPTIONS alike. */
function nodeFlags(): string[] {
  return [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)].filter((f) => f !== '');
}

/**
 * Why the raw tcp_wrap handle cannot be used here without side effects, or undefined when it can.
 * Decided from flags alone, before touching process.binding: under --throw-deprecation (with
 * --pending-deprecation) its deprecation warning is thrown asynchronously and kills the process,
 * so trying it and catching is not enough.
 */
export function rawEngineUnavailable(): string | undefined {
  const p = process as NodeJS.Process & { permission?: unknown };
  if (p.permission !== undefined) return 'the permission model is on (process.binding is denied)';
  const flags = nodeFlags();
  const pending = flags.includes('--pending-deprecation') || process.env.NODE_PENDING_DEPRECATION === '1';
  if (pending && !process.noDeprecation) {
    return process.throwDeprecation
      ? '--pending-deprecation with --throw-deprecation would make process.binding throw'
      : '--pending-deprecation would print a deprecation warning for process.binding';
  }
  if (flags.some((f) => f.startsWith('--experimental-permission') || f.startsWith('--permission'))) {
    return 'the permission model is on (process.binding is denied)';
  }
  return loadRawBinding() ? undefined : 'this Node has no usable tcp_wrap binding';
}

let rawBinding: RawTcpBinding | null | undefined;

function loadRawBinding(): RawTcpBinding | undefined {
  if (rawBinding !== undefined) return rawBinding ?? undefined;
  try {
    // Node's own TCP handle without the net.Socket stream machinery: ~3x fewer CPU cycles per probe
    // on loopback. Present on Node 20, 22 and 24; we fall back to net.Socket when it is not.
    const b = (process as unknown as { binding(name: string): unknown }).binding('tcp_wrap') as RawTcpBinding;
    rawBinding = typeof b.TCP === 'function' && typeof b.TCPConnectWrap === 'function' ? b : null;
  } catch {
    rawBinding = null;
  }
  return rawBinding ?? undefined;
}

/**
 * Decide the engine once, at start-up. `auto` takes the raw handle only when it is usable without
 * warnings or errors; an explicit `raw` that is not usable is E_ARGS, raised before any probe.
 */
export function chooseEngine(requested: EngineRequest): EngineChoice {
  if (requested === 'net') return { engine: 'net', reason: 'requested with --engine net' };
  const why = rawEngineUnavailable();
  if (requested === 'raw') {
    if (why) {
      throw new IotcleanError('E_ARGS', `--engine raw is not available: ${why}`, {
        hint: 'use --engine auto or --engine net (net.Socket, slower but works everywhere)',
      });
    }
    return { engine: 'raw', reason: 'requested with --engine raw' };
  }
  return why ? { engine: 'net', reason: `auto: ${why}` } : { engine: 'raw', reason: 'auto: raw tcp_wrap handle available' };
}

/** Create a prober bound to a compiled scope, on the engine chooseEngine picks. */
export function createProber(scope: CompiledScope, onResult: ProbeCallback, engine: EngineRequest = 'auto'): Prober {
  requireCompiledScope(scope);
  const choice = chooseEngine(engine);
  const raw = choice.engine === 'raw' ? loadRawBinding() : undefined;
  return raw ? rawProber(raw, scope, onResult) : netProber(scope, onResult);
}

function rawProber(b: RawTcpBinding, scope: CompiledScope, onResult: ProbeCallback): Prober {
  const handles: (RawHandle | undefined)[] = [];
  // Sockets refused by the peer go back to a pool and connect again: Linux lets a TCP socket
  // reconnect after a refused connect (the first retry returns ECONNABORTED and resets it). This
  // saves socket(), close() and the epoll registration per probe: about half the CPU per probe.
  const idle: RawHandle[] = [];
  const refused = -osConstants.errno.ECONNREFUSED;
  const aborted = -osConstants.errno.ECONNABORTED;
  const noop = () => {};
  const reused = new WeakSet<RawHandle>();
  function oncomplete(this: RawConnectReq, status: number, h: RawHandle) {
    const slot = this.slot;
    if (handles[slot] !== h) return; // cancelled (timed out) earlier
    handles[slot] = undefined;
    if (status === refused) {
      idle.push(h);
      onResult(slot, ProbeOutcome.Closed, true);
      return;
    }
    if (status === 0 && reused.has(h) && h.getpeername && h.getpeername({}) !== 0) {
      // A reused socket can be reported connected while it is not: libuv takes EPOLLOUT|EPOLLHUP
      // of a socket that went back to CLOSE with no error for a finished connect. Seen on silent
      // targets (bench/discover --scenario internet: about one probe in 20,000 under load, every
      // time getpeername said ENOTCONN). Ask again on a fresh socket rather than report it open.
      h.close();
      start(slot, this.address, this.port, true);
      return;
    }
    if (status === 0 && h.reset) h.reset(noop);
    else h.close();
    onResult(slot, status === 0 ? ProbeOutcome.Open : probeOutcomeOf(status), true);
  }
  /** Issue the connect on a pooled socket (or a fresh one); the scope was checked by the caller. */
  function start(slot: number, address: string, port: number, fresh: boolean): void {
    const pooled = fresh ? undefined : idle.pop();
    const h = pooled ?? new b.TCP(b.constants.SOCKET);
    if (pooled) reused.add(h);
    const req = new b.TCPConnectWrap();
    req.oncomplete = oncomplete;
    req.address = address;
    req.port = port;
    req.slot = slot;
    handles[slot] = h;
    let err = h.connect(req, address, port);
    if (err === aborted) err = h.connect(req, address, port); // a reused socket resetting itself
    if (err !== 0) {
      handles[slot] = undefined;
      h.close();
      // connect() failed before sending anything: no route, firewall, or no local port/fd.
      const outcome = probeOutcomeOf(err);
      queueMicrotask(() => onResult(slot, outcome, false));
    }
  }
  return {
    engine: 'raw',
    probe(slot, ip, port) {
      if (!scope.allows(ip)) return false;
      start(slot, formatIpv4(ip), port, false);
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

function netProber(scope: CompiledScope, onResult: ProbeCallback): Prober {
  const sockets: (net.Socket | undefined)[] = [];
  // Slots whose connect() failed synchronously: net.connect() runs connect() on the next tick and
  // destroys the socket there at once, so a tick queued after it sees `destroyed` before the error.
  const unsent = new Uint8Array(1 << 16);
  const finish = (s: net.Socket, slot: number, outcome: ProbeOutcome) => {
    if (sockets[slot] !== s) return;
    sockets[slot] = undefined;
    if (outcome === ProbeOutcome.Open) s.resetAndDestroy();
    else s.destroy();
    onResult(slot, outcome, unsent[slot] !== 1);
  };
  const checkSent = (s: net.Socket, slot: number) => {
    if (sockets[slot] === s && s.destroyed) unsent[slot] = 1;
  };
  return {
    engine: 'net',
    probe(slot, ip, port) {
      if (!scope.allows(ip)) return false;
      if (slot >= unsent.length) throw new RangeError(`slot ${slot} beyond the net engine's ${unsent.length} slots`);
      const s = net.connect({ host: formatIpv4(ip), port });
      sockets[slot] = s;
      unsent[slot] = 0;
      process.nextTick(checkSent, s, slot);
      s.once('connect', () => finish(s, slot, ProbeOutcome.Open));
      s.once('error', (e: NodeJS.ErrnoException) => finish(s, slot, outcomeOf[classifyError(e)]));
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
