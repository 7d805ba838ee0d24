/**
 * generic: the first-bytes grab (any port). Sends nothing; waits for what the peer says first (up
 * to a line end or a prompt, 1 KiB at most) and records it as printable text (GenericFields). It never claims a protocol (`recognised` is always
 * false): the runner uses it to see what a port speaks and as the last resort when no module
 * recognises the bytes, and identification can still match rules on the text.
 */
import type { Connection } from '../../scope/connection.js';
import type { GenericFields } from '../fields.js';
import type { GrabModule, ModuleOutcome } from '../module.js';
import { printable } from '../text.js';

/** Bytes of the first message kept as text. */
export const genericReadBytes = 1024;

/** A chunk that ends a line or a prompt ("220 ready\r\n", "login: ", "# "): the peer's first message is likely whole. */
function endsMessage(chunk: Buffer): boolean {
  const last = chunk[chunk.length - 1];
  const before = chunk[chunk.length - 2];
  return last === 0x0a || (last === 0x20 && before !== undefined && [0x3a, 0x3e, 0x23, 0x24].includes(before));
}

/**
 * Read what the peer sends first, up to `max` bytes, until a chunk ends a line or a prompt, the
 * peer pauses, or it closes. Stopping at a line end spares the idle timeout on every banner.
 */
export async function readFirstBytes(conn: Connection, max: number): Promise<{ data: Buffer; status: ModuleOutcome['status']; error?: string }> {
  const parts: Buffer[] = [];
  let total = 0;
  for (;;) {
    const r = await conn.readUntil((b) => Math.min(b.length, max - total));
    if (r.data.length > 0) {
      parts.push(r.data);
      total += r.data.length;
    }
    if (r.status !== 'success' || total >= max || endsMessage(r.data)) {
      const data = Buffer.concat(parts);
      // Bytes that arrived make the grab a success whatever ended it (idle, close, cap).
      if (data.length > 0) return { data, status: 'success' };
      return { data, status: r.status, ...(r.error ? { error: r.error } : {}) };
    }
  }
}

/** The generic grab module (registered in ../index.ts). */
export const genericModule: GrabModule = {
  name: 'generic',
  description: 'sends nothing; records the first bytes the peer sends as printable text',
  defaultPorts: [],
  tls: false,
  async grab(conn) {
    const first = await readFirstBytes(conn, genericReadBytes);
    const fields: GenericFields = { text: printable(first.data), bytes: first.data.length };
    return { status: first.status, recognised: false, fields: { ...fields }, ...(first.error ? { error: first.error } : {}) };
  },
};
