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

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** UTF-8 when the bytes are valid UTF-8 (ASCII is), else latin1: every byte one character, nothing invented. */
export function decodeText(bytes: Uint8Array): string {
  try {
    return utf8.decode(bytes);
  } catch {
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
  }
}

/**
 * Text for banners: decoded by decodeText, NUL and other C0 controls but \n and \t dropped,
 * \r\n folded to \n, ANSI escape sequences removed (devices colour their prompts), cut at `max`
 * characters.
 */
export function bannerText(bytes: Uint8Array, max = maxTextChars): string {
  const s = decodeText(bytes)
    // ECMA-48 CSI sequences (ESC [ params final) and two-byte escapes.
    .replace(/\x1b\[[0-9;?]*[ -/]*[@-~]/g, '')
    .replace(/\x1b[@-_]/g, '')
    .replace(/\r\n?/g, '\n')
    .replace(/[\x00-\x08\x0b-\x1f\x7f]/g, '');
  return s.length > max ? s.slice(0, max) : s;
}

/** Control bytes text does hold: TAB, LF, CR, BEL, BS, ESC (colour sequences). */
const textControls = new Set([0x07, 0x08, 0x09, 0x0a, 0x0d, 0x1b]);

/**
 * Share of bytes that are control characters text does not hold (C0 but TAB/LF/CR/BEL/BS/ESC,
 * and DEL), NUL left out (RFC 854 sends CR NUL). Text in any encoding (ASCII, UTF-8, Shift_JIS,
 * EUC-JP) scores 0; random bytes about 0.1. 0 for no bytes.
 */
export function controlShare(bytes: Uint8Array): number {
  let counted = 0;
  let controls = 0;
  for (const b of bytes) {
    if (b === 0) continue;
    counted++;
    if ((b < 0x20 && !textControls.has(b)) || b === 0x7f) controls++;
  }
  return counted === 0 ? 0 : controls / counted;
}

/** Whether bytes read as text: at most 3% stray control bytes (random bytes have ~10%). */
export function looksLikeText(bytes: Uint8Array): boolean {
  return controlShare(bytes) <= 0.03;
}

/** Message of anything thrown. */
export function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
