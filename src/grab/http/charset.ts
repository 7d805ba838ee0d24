/**
 * Decoding a page's bytes as text. Japanese devices serve Shift_JIS and EUC-JP pages, so the
 * charset comes from Content-Type (RFC 9110 §8.3.2), else a BOM, else a <meta charset> or
 * <meta http-equiv="Content-Type"> near the top (the HTML prescan looks at the first 1024 bytes;
 * devices put it later, so more is read), else UTF-8. Labels go through the WHATWG Encoding
 * Standard via TextDecoder, which maps "sjis", "x-sjis", "shift-jis" and friends.
 */
import { TextDecoder } from 'node:util';

/** Bytes of the body searched for a <meta> charset. */
const metaWindow = 4096;

function decoderFor(label: string | undefined): TextDecoder | undefined {
  if (!label) return undefined;
  try {
    return new TextDecoder(label.trim().toLowerCase());
  } catch {
    return undefined;
  }
}

/** The charset parameter of a Content-Type value, if any. */
export function charsetOfContentType(contentType: string | undefined): string | undefined {
  const m = /;\s*charset\s*=\s*"?([A-Za-z0-9_.:\-]{1,40})"?/i.exec(contentType ?? '');
  return m?.[1];
}

/** The charset a page declares in a <meta> tag within its first bytes. */
export function charsetOfMeta(body: Uint8Array): string | undefined {
  const head = Buffer.from(body.buffer, body.byteOffset, Math.min(body.byteLength, metaWindow)).toString('latin1');
  const m = /<meta\b[^>]{0,512}?\bcharset\s*=\s*["']?\s*([A-Za-z0-9_.:\-]{1,40})/i.exec(head);
  return m?.[1];
}

/** The encoding a byte-order mark names. */
function charsetOfBom(body: Uint8Array): string | undefined {
  if (body[0] === 0xef && body[1] === 0xbb && body[2] === 0xbf) return 'utf-8';
  if (body[0] === 0xff && body[1] === 0xfe) return 'utf-16le';
  if (body[0] === 0xfe && body[1] === 0xff) return 'utf-16be';
  return undefined;
}

/** Body text and the encoding it was decoded with. */
export interface DecodedText {
  readonly text: string;
  /** The WHATWG name of the encoding used ("shift_jis", "utf-8", ...). */
  readonly encoding: string;
}

/** Decode body bytes as text; invalid sequences become U+FFFD, never an exception. */
export function decodeBody(body: Uint8Array, contentType: string | undefined): DecodedText {
  const decoder =
    decoderFor(charsetOfContentType(contentType)) ?? decoderFor(charsetOfBom(body)) ?? decoderFor(charsetOfMeta(body)) ?? new TextDecoder('utf-8');
  return { text: decoder.decode(body), encoding: decoder.encoding };
}
