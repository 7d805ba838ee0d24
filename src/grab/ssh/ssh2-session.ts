/**
 * Drives ssh2's Client over the guarded Connection to get what needs a finished key exchange: the
 * host key (it arrives in the server's KEX reply) and the auth methods the server lists after a
 * "none" attempt (RFC 4252 §5.2). ssh2 never dials here: it is handed a Duplex whose reads come
 * from Connection.read and whose writes go to Connection.write, so the guard's scope check,
 * deadlines and byte cap hold. Only "none" is ever tried; no password, no key.
 */
import { Duplex } from 'node:stream';
import ssh2 from 'ssh2';
import type { ConnectConfig } from 'ssh2';
import type { Connection } from '../../scope/connection.js';
import type { SshHostKey } from '../fields.js';
import { errorText } from '../text.js';
import { hostKeyOf } from './wire.js';

const { Client } = ssh2;

/** User name sent with the "none" request (RFC 4252 §5.2); it names the survey in server logs. */
export const surveyUser = 'iotclean-survey';

export interface SessionResult {
  readonly hostKey: SshHostKey | null;
  readonly authMethods: readonly string[] | null;
  readonly noneAccepted: boolean;
  readonly error: string | null;
}

/** Old devices speak only old algorithms: offer them too (we verify nothing and send no secret). */
export const legacyAlgorithms: ConnectConfig['algorithms'] = {
  kex: { append: ['diffie-hellman-group14-sha1', 'diffie-hellman-group-exchange-sha1', 'diffie-hellman-group1-sha1'], prepend: [], remove: [] },
  cipher: { append: ['aes256-cbc', 'aes192-cbc', 'aes128-cbc', '3des-cbc'], prepend: [], remove: [] },
  serverHostKey: { append: ['ssh-dss'], prepend: [], remove: [] },
  hmac: { append: ['hmac-md5', 'hmac-sha1-96', 'hmac-md5-96'], prepend: [], remove: [] },
};

/** Options of connectionDuplex. */
export interface DuplexOptions {
  /** Bytes the caller already read from the connection, pushed first. */
  readonly replay?: Buffer;
  /** Sees every chunk read from the connection. */
  readonly tap?: (chunk: Buffer) => void;
  /** Called once when the connection ends (why, in a few words). */
  readonly onEnd?: (why: string) => void;
  /**
   * Keep reading after a read's idle or first-byte timeout (the connection stays up; only its
   * deadline or the peer ends it). Login attempts wait out servers' failure delays this way.
   */
  readonly continueOnReadTimeout?: boolean;
}

/**
 * A Duplex for ssh2's `sock` option over the guarded Connection: reads come from Connection.read,
 * writes go to Connection.write, so ssh2 never dials and the guard's limits hold. `stop()` ends
 * the pumping and destroys the stream (the caller closes the connection).
 */
export function connectionDuplex(conn: Connection, options: DuplexOptions = {}): { readonly sock: Duplex; stop(): void } {
  let stopped = false;
  let pumping = false;
  const sock = new Duplex({
    read() {
      if (pumping) return;
      pumping = true;
      void pump();
    },
    write(chunk: Buffer, _enc, cb) {
      conn.write(chunk).then(
        (w) => cb(w.status === 'success' ? null : new Error(w.error ?? w.status)),
        (e: unknown) => cb(e instanceof Error ? e : new Error(String(e))),
      );
    },
    final(cb) {
      cb();
    },
  });
  sock.on('error', () => {});

  async function pump(): Promise<void> {
    if (options.replay && options.replay.length > 0) sock.push(options.replay);
    for (;;) {
      if (stopped) return;
      const r = await conn.read();
      if (stopped) return;
      if (r.data.length > 0) {
        options.tap?.(r.data);
        sock.push(r.data);
      }
      if (r.status === 'success') continue;
      if (options.continueOnReadTimeout && r.status === 'io-timeout' && (r.limit === 'idle-timeout' || r.limit === 'first-byte-timeout')) continue;
      options.onEnd?.(r.error ?? r.status);
      sock.push(null);
      return;
    }
  }

  return {
    sock,
    stop() {
      stopped = true;
      sock.destroy();
    },
  };
}

/**
 * Run the session. `replay` is what the caller already read from the connection (from the
 * identification line on); `tap` sees every later chunk too (the KEXINIT parser).
 */
export function runSession(conn: Connection, replay: Buffer, timeoutMs: number, tap: (chunk: Buffer) => void): Promise<SessionResult> {
  return new Promise<SessionResult>((resolve) => {
    let hostKey: SshHostKey | null = null;
    let authMethods: string[] | null = null;
    let noneAccepted = false;
    let error: string | null = null;
    let done = false;
    const wire = connectionDuplex(conn, {
      replay,
      tap,
      onEnd: (why) => {
        if (!done) error ??= why;
      },
    });
    const sock = wire.sock;

    const client = new Client();
    const finish = () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      client.removeAllListeners();
      client.on('error', () => {});
      try {
        client.end();
      } catch {
        // ending a half-open client can throw inside ssh2; the connection is closed by the runner anyway
      }
      wire.stop();
      resolve({ hostKey, authMethods, noneAccepted, error });
    };
    const timer = setTimeout(() => {
      error ??= `no auth result within ${timeoutMs} ms`;
      finish();
    }, timeoutMs);

    client.on('ready', () => {
      noneAccepted = true;
      finish();
    });
    client.on('error', (e: unknown) => {
      // The failure we cause on purpose after reading the methods is not an error.
      if (authMethods === null) error ??= errorText(e);
      finish();
    });
    client.on('close', finish);
    try {
      client.connect({
        sock,
        username: surveyUser,
        readyTimeout: timeoutMs,
        keepaliveInterval: 0,
        algorithms: legacyAlgorithms,
        hostVerifier: (key: Buffer) => {
          hostKey = hostKeyOf(key);
          return true;
        },
        authHandler: (methodsLeft, _partial, next) => {
          // First call (methodsLeft null): try "none". Any later call carries the server's list.
          if (methodsLeft === null || methodsLeft === undefined) return next({ type: 'none', username: surveyUser });
          authMethods = methodsLeft.slice(0, 16).map((m) => String(m).slice(0, 64));
          next(false as never);
        },
      });
    } catch (e) {
      error ??= errorText(e);
      finish();
    }
  });
}
