/**
 * Turning device bytes into bounded, storable text. Devices send anything (NUL bytes, escape
 * sequences, binary); what the grab keeps is plain text that displays and stores safely, and
 * never longer than the caller's bound.
 */

/** Longest text field a module keeps (banner, prompt, body excerpts use their own smaller bounds). */
export const maxTextChars = 4096;

/** Printable ASCII kept, \r \n \t as escapes, every other byte as \xNN; at most `max` characters. */
export function printable(bytes: Uint8Array, max = maxTextChars): string {
  let out = '';
  for (const b of bytes) {
    let piece: string;
    if (b >= 0x20 && b < 0x7f) piece = b === 0x5c ? '\\\\' : String.fromCharCode(b);
    else if (b === 0x0a) piece = '\\n';
    else if (b === 0x0d) piece = '\\r';
    else if (b === 0x09) piece = '\\t';
    else piece = `\\x${b.toString(16).padStart(2, '0')}`;
    if (out.length + piece.length > max) break;
    out += piece;
  }
  return out;
}

/**
 * Text for banners: decoded as latin1 (every byte one character, so nothing is lost or invented),
 * NUL and other C0 controls but \n and \t dropped, \r\n folded to \n, ANSI escape sequences
 * removed (devices colour their prompts), cut at `max` characters.
 */
export function bannerText(bytes: Uint8Array, max = maxTextChars): string {
  const s = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    .toString('latin1')
    // ECMA-48 CSI sequences (ESC [ params final) and two-byte escapes.
    .replace(/\x1b\[[0-9;?]*[ -/]*[@-~]/g, '')
    .replace(/\x1b[@-_]/g, '')
    .replace(/\r\n?/g, '\n')
    .replace(/[\x00-\x08\x0b-\x1f\x7f]/g, '');
  return s.length > max ? s.slice(0, max) : s;
}

/** Share of bytes that are printable ASCII or common whitespace (0 for none). */
export function printableShare(bytes: Uint8Array): number {
  if (bytes.length === 0) return 0;
  let n = 0;
  for (const b of bytes) if ((b >= 0x20 && b < 0x7f) || b === 0x0a || b === 0x0d || b === 0x09) n++;
  return n / bytes.length;
}

/** Message of anything thrown. */
export function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
