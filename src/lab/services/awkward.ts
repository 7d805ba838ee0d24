/**
 * Awkward devices a survey meets on the real Internet and must survive:
 * - tarpit:  accepts and never sends a byte (a scanner without read timeouts hangs on it);
 * - garbage: sends random binary, not a protocol (parsers must not choke or mis-fingerprint);
 * - endless: a banner that never ends (telnet lines, or HTTP headers that never reach the blank
 *            line, as endlessh-style tarpits do), so a reader without a byte limit never returns.
 * Every behaviour is bounded per connection (idle timeout, byte cap, backpressure), so a busy
 * scanner cannot make the lab eat the machine.
 */
import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import type { ConnectionHandler, ServiceContext } from '../types.js';

function num(ctx: ServiceContext, key: string, fallback: number): number {
  const v = Number(ctx.service.banner?.[key]);
  return Number.isFinite(v) && v > 0 ? v : fallback;
}

/** Bytes a tarpit reads before it drops a client that talks too much. */
const tarpitReadCap = 65_536;

/** Accept, read and discard, never answer; drop after an idle period. */
export const tarpitHandler: ConnectionHandler = (socket, ctx) => {
  let received = 0;
  socket.setTimeout(num(ctx, 'idleSeconds', 300) * 1000, () => socket.destroy());
  socket.on('data', (chunk: Buffer) => {
    received += chunk.length;
    if (received > tarpitReadCap) socket.destroy();
  });
};

/**
 * Write `next()` every `intervalMs` until `capBytes` have gone out, then end the connection.
 * A tick is skipped while the client is not reading (backpressure), so memory stays flat.
 */
function drip(socket: Socket, next: () => Buffer, intervalMs: number, capBytes: number): void {
  let sent = 0;
  const tick = (): void => {
    if (socket.destroyed || !socket.writable) return stop();
    if (socket.writableNeedDrain) return;
    const chunk = next();
    const room = capBytes - sent;
    const piece = chunk.length > room ? chunk.subarray(0, room) : chunk;
    sent += piece.length;
    if (sent >= capBytes) {
      stop();
      socket.end(piece);
      return;
    }
    socket.write(piece);
  };
  const timer = setInterval(tick, intervalMs);
  const stop = (): void => clearInterval(timer);
  socket.on('close', stop);
  socket.on('error', stop);
  // Drop a client that reads nothing for a minute, even before the cap.
  socket.setTimeout(60_000, () => socket.destroy());
  socket.on('data', () => undefined);
  tick();
}

/** Random bytes with no printable run, so nothing mistakes them for a banner. */
function garbageChunk(size: number): Buffer {
  const buf = randomBytes(size);
  for (let i = 0; i < buf.length; i += 3) buf[i] = (buf[i] ?? 0) | 0x80;
  return buf;
}

/** Send binary noise in small chunks up to a cap, then close. */
export const garbageHandler: ConnectionHandler = (socket, ctx) => {
  const chunkBytes = num(ctx, 'chunkBytes', 256);
  drip(socket, () => garbageChunk(chunkBytes), num(ctx, 'intervalMs', 100), num(ctx, 'capBytes', 16_384));
};

/** A banner that goes on until the client leaves or the per-connection cap is reached. */
export const endlessHandler: ConnectionHandler = (socket, ctx) => {
  const chunkBytes = num(ctx, 'chunkBytes', 4096);
  const line = ctx.service.banner?.['line'] ?? 'Please wait ...';
  const http = ctx.service.banner?.['mode'] === 'http';
  let n = 0;
  let first = true;
  const next = (): Buffer => {
    let text = '';
    if (first && http) {
      // A status line and then header lines forever: the blank line never comes (RFC 9112 §2.1).
      text = 'HTTP/1.1 200 OK\r\n';
    }
    first = false;
    while (text.length < chunkBytes) {
      n++;
      text += http ? `X-Line-${n}: ${line}\r\n` : `${line}\r\n`;
    }
    return Buffer.from(text, 'latin1');
  };
  const start = (): void => drip(socket, next, num(ctx, 'intervalMs', 50), num(ctx, 'capBytes', 4 * 1024 * 1024));
  if (!http) return start();
  // An HTTP server speaks second: wait for the request, but not forever.
  socket.setTimeout(30_000, () => socket.destroy());
  socket.once('data', start);
};
