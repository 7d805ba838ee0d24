/**
 * ftp (port 21): reads the server's greeting, the 220 reply, which RFC 959 §4.2 lets span lines
 * ("220-first line" … "220 last line"), then sends QUIT and reads the 221 before closing. Sends
 * nothing else: no USER, no PASS. Records the whole greeting text and its code (FtpFields).
 */
import type { Connection, ConnectionStatus } from '../../scope/connection.js';
import type { FtpFields } from '../fields.js';
import type { GrabModule } from '../module.js';
import { bannerText } from '../text.js';

/** Greeting bytes read at most: a multi-line 220 past this is cut (kept as far as read). */
export const ftpGreetingBytes = 8192;

/** One parsed FTP reply (RFC 959 §4.2). */
export interface FtpReply {
  readonly code: number;
  /** Every line's text, code prefixes kept as sent. */
  readonly lines: readonly string[];
  /** True when the reply's last line (code + space) arrived. */
  readonly complete: boolean;
}

/**
 * Parse the reply at the start of `text` (lines split on LF, CR dropped). A reply is a line "ddd
 * text" or a block "ddd-text" … "ddd text" with the same code; lines between may be anything
 * (RFC 959 §4.2). Returns null when the first line does not start with a 3-digit code 1xx–5xx.
 */
export function parseFtpReply(text: string): FtpReply | null {
  const raw = text.split('\n');
  // The last piece has no LF yet: it is not a finished line.
  const finished = raw.slice(0, -1).map((l) => l.replace(/\r$/, ''));
  const partial = raw[raw.length - 1] ?? '';
  const first = finished[0] ?? partial;
  const m = /^([1-5]\d\d)([ -]|$)/.exec(first);
  if (!m) return null;
  const code = Number(m[1]);
  if (m[2] !== '-') return { code, lines: [first], complete: finished.length > 0 };
  const lines: string[] = [];
  for (const line of finished) {
    lines.push(line);
    if (lines.length > 1 && line.startsWith(`${m[1]} `)) return { code, lines, complete: true };
  }
  if (partial) lines.push(partial);
  return { code, lines, complete: false };
}

/**
 * SMTP greets with "220" too (RFC 5321 §4.2); these words in the greeting say mail, not FTP, so
 * the FTP module does not claim a mail server found on an unplanned port.
 */
export function isSmtpGreeting(text: string): boolean {
  return /^220[ -][^\n]*\b(?:E?SMTP|Postfix|Sendmail|Exim|mail service)\b/i.test(text);
}

async function readReply(conn: Connection, max: number): Promise<{ reply: FtpReply | null; bytes: Buffer; status: ConnectionStatus; error?: string }> {
  let bytes = Buffer.alloc(0);
  for (;;) {
    const r = await conn.readUntil((b) => Math.min(b.length, max - bytes.length));
    bytes = Buffer.concat([bytes, r.data]);
    // Replies end at LF: parse again only when one arrived (a trickle stays linear), or at the end.
    if (r.status === 'success' && !r.data.includes(0x0a) && bytes.length < max && bytes.length > 3) continue;
    const reply = parseFtpReply(bytes.toString('latin1'));
    if (reply?.complete) return { reply, bytes, status: 'success' };
    if (bytes.length > 0 && reply === null) return { reply, bytes, status: 'protocol-error', error: 'not an FTP reply' };
    if (r.status !== 'success') return { reply, bytes, status: r.status, ...(r.error ? { error: r.error } : {}) };
    if (bytes.length >= max) return { reply, bytes, status: 'success' };
  }
}

/** The ftp grab module (registered in ../index.ts). */
export const ftpModule: GrabModule = {
  name: 'ftp',
  description: 'reads the (multi-line) 220 greeting, sends QUIT; records the greeting text and code',
  defaultPorts: [21, 2121],
  tls: false,
  recognise: (first) => /^220[ -]/.test(first.subarray(0, 4).toString('latin1')) && !isSmtpGreeting(first.subarray(0, 512).toString('latin1')),
  async grab(conn) {
    const got = await readReply(conn, ftpGreetingBytes);
    if (!got.reply) {
      return { status: got.status === 'success' ? 'protocol-error' : got.status, recognised: false, fields: {}, error: got.error ?? 'no FTP reply' };
    }
    const fields: FtpFields = { banner: bannerText(Buffer.from(got.reply.lines.join('\n'), 'latin1')), code: got.reply.code };
    if (isSmtpGreeting(got.reply.lines[0] ?? '')) return { status: 'protocol-error', recognised: false, fields: { ...fields }, error: 'an SMTP greeting, not FTP' };
    if (got.reply.complete) {
      // RFC 959 §4.1.1: QUIT ends the session; the 221 is read only to close politely.
      const w = await conn.write('QUIT\r\n');
      if (w.status === 'success') await conn.readUntil((b) => (b.includes(0x0a) ? b.indexOf(0x0a) + 1 : b.length >= 512 ? b.length : -1));
    }
    return { status: got.reply.complete ? 'success' : got.status, recognised: true, fields: { ...fields }, ...(got.error ? { error: got.error } : {}) };
  },
};
