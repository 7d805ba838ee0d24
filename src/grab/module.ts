/**
 * The one shape every grab module has (zgrab2's Module + Scanner, without the inheritance): a
 * name, the ports it is usually found on, what it sends, and `grab(conn, ctx)`. The runner
 * (runner.ts) owns the connection: scope guard, deadlines and byte caps come from
 * src/scope/connection.ts; a module only speaks its protocol over the narrow Connection it is
 * handed and never opens sockets itself.
 */
import type { Connection, ConnectionLimits, ConnectionStatus, OpenResult, TlsRequest } from '../scope/connection.js';

/** Where the runner is grabbing. */
export interface GrabTarget {
  readonly ip: string;
  readonly port: number;
}

export interface GrabContext {
  readonly target: GrabTarget;
  readonly limits: ConnectionLimits;
  /**
   * Another connection to the same ip:port (an HTTP redirect within the host, the favicon), still
   * through the guard. The runner bounds how many a module may open and closes them afterwards.
   */
  reconnect(options?: { readonly tls?: boolean | TlsRequest }): Promise<OpenResult>;
}

/** What a module reports; the runner adds the envelope (ids, times, raw bytes). */
export interface ModuleOutcome {
  readonly status: ConnectionStatus;
  /** Whether the peer spoke this module's protocol; false lets the runner try another module. */
  readonly recognised: boolean;
  /** The module's parsed fields, shaped as in fields.ts; JSON-serialisable. */
  readonly fields: Readonly<Record<string, unknown>>;
  readonly error?: string;
}

export interface GrabModule {
  readonly name: string;
  /** One line: what it sends and what it records. */
  readonly description: string;
  readonly defaultPorts: readonly number[];
  /** Whether the runner opens the connection with TLS (https). */
  readonly tls: boolean;
  /**
   * For protocols where the server speaks first: whether these first bytes are this protocol.
   * The runner uses it to pick the next module after a mismatch (telnet on 8080, LZR-style).
   */
  recognise?(firstBytes: Buffer): boolean;
  /** Speak the protocol. Must not throw on anything the peer does; a bug may throw (counted). */
  grab(conn: Connection, ctx: GrabContext): Promise<ModuleOutcome>;
}
