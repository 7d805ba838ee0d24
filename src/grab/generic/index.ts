/**
 * generic: the first-bytes grab (any port). Sends nothing; waits for what the peer says first and
 * records it as printable text (GenericFields). It never claims a protocol (`recognised` is always
 * false): the runner uses it to see what a port speaks and as the last resort when no module
 * recognises the bytes, and identification can still match rules on the text.
 */
import type { Connection } from '../../scope/connection.js';
import type { GenericFields } from '../fields.js';
import type { GrabModule, ModuleOutcome } from '../module.js';
import { printable } from '../text.js';

/** Bytes of the first message kept as text. */
export const genericReadBytes = 1024;

/** Read what the peer sends first, up to `max` bytes, until it pauses or closes. */
export async function readFirstBytes(conn: Connection, max: number): Promise<{ data: Buffer; status: ModuleOutcome['status']; error?: string }> {
  const parts: Buffer[] = [];
  let total = 0;
  for (;;) {
    const r = await conn.readUntil((b) => Math.min(b.length, max - total));
    if (r.data.length > 0) {
      parts.push(r.data);
      total += r.data.length;
    }
    if (r.status !== 'success' || total >= max) {
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
