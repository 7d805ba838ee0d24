/**
 * ssh (port 22, also 2222 and 2323 on some devices): reads the identification line (RFC 4253
 * §4.2, skipping the lines a server may send before it), parses the server's SSH_MSG_KEXINIT
 * (§7.1) from the first binary packet itself, then lets ssh2's client finish a key exchange over
 * the same guarded connection for the host key and tries only the "none" method (RFC 4252 §5.2)
 * to learn which auth methods are offered. Never tries a password or a key. Records SshFields.
 */
import type { Connection, ConnectionStatus } from '../../scope/connection.js';
import type { SshFields } from '../fields.js';
import type { GrabModule, ModuleOutcome } from '../module.js';
import { looksLikeText } from '../text.js';
import { findIdent, packetLength, parseIdent, parseKexInitPacket, type KexInit } from './wire.js';
import { runSession } from './ssh2-session.js';

/** Bytes of lines before the identification line tolerated (RFC 4253 §4.2 sets no bound; we do). */
export const maxPreIdentBytes = 8192;

/** Collects bytes after the identification line until the first binary packet (KEXINIT) is whole. */
class KexInitTap {
  private buf = Buffer.alloc(0);
  result: KexInit | null = null;
  private over = false;
  push(chunk: Buffer): void {
    if (this.over) return;
    this.buf = Buffer.concat([this.buf, chunk]);
    const n = packetLength(this.buf);
    if (n === -1) return;
    this.over = true;
    if (n > 0) this.result = parseKexInitPacket(this.buf.subarray(0, n));
    this.buf = Buffer.alloc(0);
  }
}

async function readIdent(conn: Connection): Promise<{ bytes: Buffer; found: ReturnType<typeof findIdent>; status: ConnectionStatus; error?: string }> {
  let bytes = Buffer.alloc(0);
  for (;;) {
    const r = await conn.read();
    bytes = Buffer.concat([bytes, r.data]);
    const found = r.data.includes(0x0a) ? findIdent(bytes) : null;
    if (found) return { bytes, found, status: 'success' };
    if (bytes.length > maxPreIdentBytes) return { bytes, found: null, status: 'protocol-error', error: 'no SSH identification line' };
    // Lines before the identification are text; telnet's IAC or binary is another protocol already.
    if (bytes[0] === 0xff || (bytes.length >= 64 && !looksLikeText(bytes))) return { bytes, found: null, status: 'protocol-error', error: 'binary data, not an SSH identification line' };
    if (r.status !== 'success') return { bytes, found: null, status: r.status, ...(r.error ? { error: r.error } : {}) };
  }
}

function looksSsh(first: Buffer): boolean {
  return findIdent(first.subarray(0, maxPreIdentBytes)) !== null || first.subarray(0, 4).toString('latin1') === 'SSH-';
}

/** The ssh grab module (registered in ../index.ts). */
export const sshModule: GrabModule = {
  name: 'ssh',
  description: 'reads the identification line and KEXINIT, finishes a key exchange for the host key, tries "none" for the auth methods',
  defaultPorts: [22, 2222],
  tls: false,
  recognise: looksSsh,
  async grab(conn, ctx): Promise<ModuleOutcome> {
    const got = await readIdent(conn);
    const ident = got.found ? parseIdent(got.found.line) : null;
    if (!got.found || !ident) {
      return { status: got.bytes.length > 0 ? 'protocol-error' : got.status, recognised: false, fields: {}, error: got.error ?? 'no SSH identification line' };
    }
    const tap = new KexInitTap();
    const afterIdent = got.bytes.subarray(got.found.end);
    if (afterIdent.length > 0) tap.push(afterIdent);
    // ssh2 reads the identification line itself: replay from it on (the pre-lines are ours alone).
    const session = await runSession(conn, got.bytes.subarray(got.found.lineStart), ctx.limits.deadlineMs, (c) => tap.push(c));
    const kex = tap.result;
    const fields: SshFields = {
      ...ident,
      kexAlgorithms: kex?.kexAlgorithms ?? [],
      hostKeyAlgorithms: kex?.hostKeyAlgorithms ?? [],
      ciphers: kex?.ciphers ?? [],
      macs: kex?.macs ?? [],
      compression: kex?.compression ?? [],
      hostKey: session.hostKey,
      authMethods: session.authMethods,
      noneAccepted: session.noneAccepted,
    };
    // The identification line alone identifies the software: a failed key exchange keeps it.
    const complete = kex !== null && (session.authMethods !== null || session.noneAccepted);
    return {
      status: complete || kex !== null ? 'success' : 'protocol-error',
      recognised: true,
      fields: { ...fields },
      ...(session.error ? { error: session.error } : !kex ? { error: 'no KEXINIT from the server' } : {}),
    };
  },
};
