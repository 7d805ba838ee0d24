/**
 * Guarded connections for the grab and access stages: the runner opens one here (scope check,
 * deadlines, byte cap, optional TLS) and hands the module a narrow object that can write, read and
 * close, and nothing else: no socket, so no second connect() to somewhere else. Every outcome is
 * one of a closed set of statuses, mapped from errors through the table in errno.ts.
 */
import type * as net from 'node:net';
import * as tls from 'node:tls';
import { isIotcleanError } from '../core/errors.js';
import { grabStatuses, type GrabStatus } from '../core/records.js';
import { classifyError, type ErrnoClass } from './errno.js';
import { requireCompiledScope } from './guard.js';
import { checkHost, type CompiledScope } from './scope.js';
import { dialTcp } from './socket.js';

/** Every status a connection, a read or a write can end with (zgrab2's set; one list in core/records). */
export const connectionStatuses = grabStatuses;
export type ConnectionStatus = GrabStatus;

/** Time and size limits; all required so a caller states them (see defaultLimits). */
export interface ConnectionLimits {
  /** TCP handshake, and the TLS handshake when asked for. */
  readonly connectTimeoutMs: number;
  /** A read waiting for the connection's first byte. */
  readonly firstByteTimeoutMs: number;
  /** A read waiting for more bytes once some have arrived. */
  readonly idleTimeoutMs: number;
  /** Whole life of the connection, from openConnection on; the socket is destroyed when it passes. */
  readonly deadlineMs: number;
  /** Bytes kept from the peer; once reached the socket is closed and reads end `protocol-error`. */
  readonly maxBytes: number;
}

export const defaultLimits: ConnectionLimits = Object.freeze({
  connectTimeoutMs: 5_000,
  firstByteTimeoutMs: 5_000,
  idleTimeoutMs: 3_000,
  deadlineMs: 20_000,
  maxBytes: 64 * 1024,
});

/** Which limit ended a read or the connection, when one did. */
export type LimitHit = 'connect-timeout' | 'first-byte-timeout' | 'idle-timeout' | 'deadline' | 'byte-cap';

export interface TlsRequest {
  /** SNI host name; never an address (RFC 6066 forbids literal addresses in SNI). */
  readonly servername?: string;
  readonly alpn?: readonly string[];
}

/** A peer certificate as plain data (devices are mostly self-signed: recorded, not trusted). */
export interface PeerCertificate {
  readonly subject: string;
  readonly issuer: string;
  readonly subjectAltName: string | undefined;
  readonly serialNumber: string;
  readonly validFrom: string;
  readonly validTo: string;
  readonly fingerprint256: string;
  /** DER, base64. */
  readonly der: string;
}

export interface TlsInfo {
  readonly protocol: string | undefined;
  readonly cipher: string | undefined;
  readonly alpn: string | undefined;
  /** Whether the chain verifies against Node's CA store (it is not required to). */
  readonly authorized: boolean;
  readonly authorizationError: string | undefined;
  readonly peerCertificate: PeerCertificate | undefined;
}

export interface ReadResult {
  readonly status: ConnectionStatus;
  /** The bytes this read consumed (on failure, whatever had arrived). */
  readonly data: Buffer;
  readonly limit?: LimitHit;
  readonly error?: string;
}

export interface WriteResult {
  readonly status: ConnectionStatus;
  readonly limit?: LimitHit;
  readonly error?: string;
}

/** The narrow connection a protocol module gets. Reads are one at a time. */
export interface Connection {
  readonly ip: string;
  readonly port: number;
  readonly tls: TlsInfo | undefined;
  /** Bytes received and kept so far (never more than maxBytes). */
  readonly bytesReceived: number;
  write(data: string | Uint8Array): Promise<WriteResult>;
  /** What is buffered, else the next chunk. */
  read(): Promise<ReadResult>;
  /**
   * Read until `take(buffered)` returns a length 1..buffered.length: that many bytes are consumed
   * and returned, the rest stays buffered. Any other value (e.g. -1) waits for more.
   */
  readUntil(take: (buffered: Buffer) => number): Promise<ReadResult>;
  /** Read exactly n bytes. */
  readBytes(n: number): Promise<ReadResult>;
  close(): void;
}

/** Every status but success. */
export type Failure = Exclude<ConnectionStatus, 'success'>;

export type OpenResult =
  | { readonly status: 'success'; readonly connection: Connection }
  | { readonly status: Exclude<ConnectionStatus, 'success'>; readonly error: string; readonly limit?: LimitHit };

/** Status of an error during the connect phase or after it. */
function statusOf(cls: ErrnoClass, connecting: boolean): Failure {
  switch (cls) {
    case 'refused':
    case 'unreachable': // an ICMP unreachable or a REJECT rule: the network refused us
      return 'connection-refused';
    case 'timeout':
      return connecting ? 'connection-timeout' : 'io-timeout';
    case 'closed':
      return 'connection-closed';
    case 'local':
    case 'unknown':
      return 'unknown-error';
  }
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function dn(fields: Record<string, unknown> | undefined): string {
  if (!fields) return '';
  return Object.entries(fields)
    .map(([k, v]) => `${k}=${Array.isArray(v) ? v.join('+') : String(v)}`)
    .join(', ');
}

function certificateOf(socket: tls.TLSSocket): PeerCertificate | undefined {
  const c = socket.getPeerCertificate(false);
  if (!c || Object.keys(c).length === 0) return undefined;
  return {
    subject: dn(c.subject as unknown as Record<string, unknown>),
    issuer: dn(c.issuer as unknown as Record<string, unknown>),
    subjectAltName: c.subjectaltname,
    serialNumber: c.serialNumber,
    validFrom: c.valid_from,
    validTo: c.valid_to,
    fingerprint256: c.fingerprint256,
    der: c.raw.toString('base64'),
  };
}

/**
 * Open a guarded connection to ip:port (a strict dotted quad). A target the scope refuses ends
 * `blocklisted-target` with nothing sent. The scope must come from src/scope/ (else it throws).
 */
export async function openConnection(
  scope: CompiledScope,
  ip: string,
  port: number,
  limits: ConnectionLimits = defaultLimits,
  options: { readonly tls?: boolean | TlsRequest } = {},
): Promise<OpenResult> {
  requireCompiledScope(scope);
  let address: number;
  try {
    address = checkHost(scope, ip);
  } catch (e) {
    if (isIotcleanError(e)) return { status: 'blocklisted-target', error: e.message };
    throw e;
  }
  const startedAt = performance.now();
  const dialled = dialTcp(scope, address, port);
  if ('refused' in dialled) return { status: 'blocklisted-target', error: dialled.refused };
  return establish(dialled, ip, port, limits, startedAt, options.tls === true ? {} : options.tls || undefined);
}

function establish(
  tcp: net.Socket,
  ip: string,
  port: number,
  limits: ConnectionLimits,
  startedAt: number,
  tlsRequest: TlsRequest | undefined,
): Promise<OpenResult> {
  return new Promise<OpenResult>((resolve) => {
    let stream: net.Socket = tcp;
    let settled = false;
    const connectTimer = setTimeout(() => fail('connection-timeout', 'connect timed out', 'connect-timeout'), limits.connectTimeoutMs);
    const deadlineTimer = setTimeout(() => fail('connection-timeout', 'deadline passed while connecting', 'deadline'), limits.deadlineMs);
    const onError = (e: unknown) => fail(tlsRequest && tcpUp ? tlsStatus(e) : statusOf(classifyError(e), true), errorText(e));
    let tcpUp = false;

    function fail(status: Exclude<ConnectionStatus, 'success'>, error: string, limit?: LimitHit): void {
      if (settled) return;
      settled = true;
      clearTimeout(connectTimer);
      clearTimeout(deadlineTimer);
      stream.destroy();
      tcp.destroy();
      resolve(limit ? { status, error, limit } : { status, error });
    }
    function up(info: TlsInfo | undefined): void {
      if (settled) return;
      settled = true;
      clearTimeout(connectTimer);
      clearTimeout(deadlineTimer);
      stream.off('error', onError);
      resolve({ status: 'success', connection: wrap(stream, ip, port, limits, info, startedAt) });
    }

    tcp.once('error', onError);
    tcp.once('connect', () => {
      tcpUp = true;
      if (!tlsRequest) return up(undefined);
      tcp.off('error', onError);
      // From here the TLS socket reports failures of the TCP one (and the deadline bounds the rest);
      // the listener only keeps an error on the inner socket from becoming an uncaught exception.
      tcp.on('error', () => {});
      const secure = tls.connect({
        socket: tcp,
        // Devices present self-signed certificates; a survey records them instead of trusting them.
        rejectUnauthorized: false,
        ...(tlsRequest.servername ? { servername: tlsRequest.servername } : {}),
        ...(tlsRequest.alpn ? { ALPNProtocols: [...tlsRequest.alpn] } : {}),
      });
      stream = secure;
      secure.once('error', onError);
      secure.once('secureConnect', () =>
        up({
          protocol: secure.getProtocol() ?? undefined,
          cipher: secure.getCipher()?.name,
          alpn: secure.alpnProtocol || undefined,
          authorized: secure.authorized,
          authorizationError: secure.authorizationError ? String(secure.authorizationError) : undefined,
          peerCertificate: certificateOf(secure),
        }),
      );
    });
  });
}

/** A TLS handshake failure: errno errors keep their meaning, anything else is the protocol. */
function tlsStatus(e: unknown): Failure {
  const cls = classifyError(e);
  return cls === 'unknown' ? 'protocol-error' : statusOf(cls, true);
}

interface Pending {
  readonly take: (buffered: Buffer) => number;
  readonly resolve: (r: ReadResult) => void;
}

function wrap(stream: net.Socket, ip: string, port: number, limits: ConnectionLimits, tlsInfo: TlsInfo | undefined, startedAt: number): Connection {
  let buffered: Buffer = Buffer.alloc(0);
  let received = 0;
  let everReceived = false;
  /** Set once the stream is over: why, and which limit if one. Reads drain the buffer first. */
  let ended: { status: ConnectionStatus; error: string; limit?: LimitHit } | undefined;
  let pending: Pending | undefined;
  let readTimer: NodeJS.Timeout | undefined;

  // The deadline counts from openConnection, so the connect phase spends part of it.
  const deadline = setTimeout(() => end('io-timeout', 'total deadline passed', 'deadline'), Math.max(0, limits.deadlineMs - (performance.now() - startedAt)));

  function end(status: ConnectionStatus, error: string, limit?: LimitHit): void {
    if (!ended) ended = limit ? { status, error, limit } : { status, error };
    clearTimeout(deadline);
    stream.destroy();
    serve();
  }

  stream.on('data', (chunk: Buffer) => {
    everReceived = true;
    const room = limits.maxBytes - received;
    const kept = chunk.length > room ? chunk.subarray(0, room) : chunk;
    received += kept.length;
    buffered = buffered.length === 0 ? kept : Buffer.concat([buffered, kept]);
    if (received >= limits.maxBytes) {
      end('protocol-error', `the peer reached the ${limits.maxBytes}-byte cap`, 'byte-cap');
      return;
    }
    serve();
  });
  stream.on('end', () => end('connection-closed', 'peer closed the connection'));
  stream.on('error', (e: unknown) => end(statusOf(classifyError(e), false), errorText(e)));
  stream.on('close', () => end('connection-closed', 'connection closed'));

  function finishRead(r: ReadResult): void {
    const p = pending;
    pending = undefined;
    clearTimeout(readTimer);
    readTimer = undefined;
    p?.resolve(r);
  }

  function armReadTimer(): void {
    clearTimeout(readTimer);
    const [ms, limit] = everReceived ? [limits.idleTimeoutMs, 'idle-timeout' as const] : [limits.firstByteTimeoutMs, 'first-byte-timeout' as const];
    // A read timeout ends this read, not the connection: a module may write and read again.
    readTimer = setTimeout(() => {
      const data = buffered;
      buffered = Buffer.alloc(0);
      finishRead({ status: 'io-timeout', data, limit, error: `no data for ${ms} ms` });
    }, ms);
  }

  function serve(): void {
    if (!pending) return;
    if (buffered.length > 0) {
      const n = pending.take(buffered);
      if (n > 0 && n <= buffered.length) {
        const data = buffered.subarray(0, n);
        buffered = buffered.subarray(data.length);
        finishRead({ status: 'success', data });
        return;
      }
    }
    if (ended) {
      const data = buffered;
      buffered = Buffer.alloc(0);
      finishRead({ status: ended.status, data, error: ended.error, ...(ended.limit ? { limit: ended.limit } : {}) });
      return;
    }
    armReadTimer();
  }

  function readWith(take: (b: Buffer) => number): Promise<ReadResult> {
    if (pending) throw new Error('a read is already pending on this connection');
    return new Promise<ReadResult>((resolve) => {
      pending = { take, resolve };
      serve();
    });
  }

  return {
    ip,
    port,
    tls: tlsInfo,
    get bytesReceived() {
      return received;
    },
    write(data) {
      if (ended) return Promise.resolve({ status: ended.status === 'success' ? 'connection-closed' : ended.status, error: ended.error });
      return new Promise<WriteResult>((resolve) => {
        stream.write(data, (e) => {
          if (!e) resolve({ status: 'success' });
          else if (ended) resolve({ status: ended.status, error: ended.error, ...(ended.limit ? { limit: ended.limit } : {}) });
          else resolve({ status: statusOf(classifyError(e), false), error: errorText(e) });
        });
      });
    },
    read: () => readWith((b) => b.length),
    readUntil: (take) => readWith(take),
    readBytes: (n) => readWith((b) => (b.length >= n ? n : -1)),
    close() {
      end('connection-closed', 'closed by us');
    },
  };
}
